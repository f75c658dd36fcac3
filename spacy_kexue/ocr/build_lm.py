"""Building the OCR reader's bigram language model from a corpus (``kexue ocr build-lm``):
count the recogniser's character bigrams over corpus files and dictionary words, prune, save
the model and its model card (each source with its SHA-256)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataFileError
from ..integrity import sha256_bytes

__all__ = ["count_bigrams", "write_lm"]


def count_bigrams(inputs: Iterable[Path], *, text_key: str = "text", dictionaries=()):
    """A :class:`~spacy_kexue.ocr.lm.BigramCounter` over the recogniser's characters, fed the
    texts of ``inputs`` (.txt or .jsonl(.gz), ``text_key`` the field of .jsonl lines) and each
    word of the word-frequency ``dictionaries`` once ('jieba': jieba's dict.txt), and the list of
    its sources (for the model card)."""
    from ..tokenizer.dictionary import load_dictionary
    from ..tokenizer.train import default_dictionary_path
    from .charset import default_charset
    from .lm import BigramCounter

    counter = BigramCounter(charset=default_charset().chars)
    sources = []
    for path in inputs:
        counter.update_files(path, text_key=text_key)
        sources.append({"file": str(path), "kind": "corpus"})
    for name in dictionaries:
        path = default_dictionary_path() if name == "jieba" else Path(name)
        counter.update(load_dictionary(path).words)
        label = "jieba dict.txt (PyPI package jieba, MIT)" if name == "jieba" else name
        sources.append({"file": str(path), "name": label, "kind": "dictionary words, each once"})
    return counter, sources


def write_lm(counter, sources: list[dict], output: Path, *, min_count: int = 2, max_bigrams=None):
    """Build the language model of ``counter``, keep the bigrams seen ``min_count`` times or more
    (at most ``max_bigrams``), write it to ``output`` and its model card (``sources`` with their
    sha256, the sizes, ``min_count``, alpha) to OUTPUT.json. Returns the model."""
    lm = counter.build().prune(min_count, max_bigrams=max_bigrams)
    if lm.n_bigrams == 0:
        raise DataFileError(
            f"no character bigram of the recogniser's characters is seen {min_count} times or "
            "more: the corpus is empty or too small. Give more text (or a lower --min-count).",
            path=", ".join(src["file"] for src in sources) or None,
        )
    lm.to_disk(output)
    card = {
        "sources": [
            {
                "name": src.get("name", Path(src["file"]).name),
                "kind": src["kind"],
                "sha256": sha256_bytes(Path(src["file"]).read_bytes()),
            }
            for src in sources
        ],
        "vocab_size": lm.vocab_size,
        "n_bigrams": lm.n_bigrams,
        "min_count": min_count,
        "alpha": lm.alpha,
    }
    Path(f"{output}.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), "utf-8")
    return lm
