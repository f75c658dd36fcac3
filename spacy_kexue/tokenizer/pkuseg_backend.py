"""Second backend: a spacy-pkuseg CRF trained on the same data as the neural tagger.

The training sentences are the segmenter's own: pseudo-sentences sampled from the adapted
dictionary, plus the raw text's lines segmented by rules and the dictionary's
maximum-probability path (whole lines, so the CRF also sees punctuation, digits and Latin
text as the rules cut them). The result is a directory that spaCy's stock zh tokenizer
loads offline::

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
    nlp.tokenizer.initialize(pkuseg_model="DIR")

which gives spaCy users a pkuseg model without the download, and us an ablation (CRF vs
neural tagger on identical data).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from thinc.api import Config

from .pseudo_sentences import PseudoCorpus
from .train import han_runs, prepare_dictionary
from .unigram import UnigramSegmenter


def teacher_segmenter(words: list[str], counts) -> Any:
    """A KexueSegmenter without a tagger: rules + the lexicon's max-probability path."""
    import spacy

    from .segmenter import KexueSegmenter

    seg = KexueSegmenter(spacy.blank("zh").vocab)
    seg.lexicon = UnigramSegmenter(words, counts)
    return seg


def training_lines(config: Config, dictionary, raw_texts: list[str], log: Callable) -> list[str]:
    """Space-separated training sentences: teacher-segmented raw lines, then pseudo-sentences."""
    pcfg = config["pkuseg"]
    ccfg = config["corpus"]
    wdict = prepare_dictionary(config, dictionary, han_runs(raw_texts), log)
    teacher = teacher_segmenter(wdict.words, wdict.counts)
    lines = []
    for doc in teacher.pipe(t for t in raw_texts if t.strip()):
        words = [t.text for t in doc if not t.is_space]
        if words:
            lines.append(" ".join(words))
    pseudo = PseudoCorpus(
        wdict,
        seed=int(config["training"]["seed"]),
        max_words=ccfg["max_words"],
        max_chars=ccfg["max_chars"],
        smoothing=ccfg["smoothing"],
    )
    n_pseudo = int(pcfg["pseudo_sentences"])
    while n_pseudo > 0:
        texts, tags = pseudo.batch(min(n_pseudo, 10000))
        for text, t in zip(texts, tags, strict=True):
            cuts = [i + 1 for i, tag in enumerate(t.tolist()) if tag >= 2]
            lines.append(" ".join(text[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)))
        n_pseudo -= len(texts)
    log(f"pkuseg training lines: {len(lines)} ({pcfg['pseudo_sentences']} pseudo-sentences)")
    return lines


def train_pkuseg(
    config: Config,
    output: str | Path,
    *,
    dictionary: str | Path | None = None,
    raw_texts: Iterable[str] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train a spacy-pkuseg model on the segmenter's training data; write it to ``output``."""
    import random

    import spacy_pkuseg

    start = time.time()
    lines = training_lines(config, dictionary, list(raw_texts), log)
    random.Random(int(config["training"]["seed"])).shuffle(lines)
    heldout = int(config["pkuseg"]["heldout"])
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        test_file = Path(tmp) / "test.txt"
        train_file.write_text("\n".join(lines[heldout:]) + "\n", encoding="utf8")
        test_file.write_text("\n".join(lines[:heldout]) + "\n", encoding="utf8")
        spacy_pkuseg.train(
            str(train_file),
            str(test_file),
            str(output),
            train_iter=int(config["pkuseg"]["iterations"]),
        )
    summary = {"lines": len(lines), "seconds": round(time.time() - start, 1)}
    log(f"pkuseg model written to {output} ({summary['seconds']} s)")
    return summary
