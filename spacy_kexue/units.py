"""Text units shared by the sentiment encoders and the text VAE: a *unit* is a character
(``"char"``) or a token's text (``"word"``, the segmenter's words).

:func:`doc_units` lists a doc's units with the token each belongs to; :func:`build_vocab` ranks
the most frequent units of a corpus. Each model numbers its vocabulary its own way on top
(:mod:`spacy_kexue.textcat.featurize` from 1, :mod:`spacy_kexue.vae.vocab` after its special
symbols). numpy and spaCy only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc

__all__ = ["UNITS", "build_vocab", "doc_units", "unit_texts"]

UNITS = ("char", "word")


def _spans(doc: Doc) -> np.ndarray:
    """(n_tokens, 2) start offsets and lengths, read from the doc's arrays: no Token objects,
    which cost more than the rest of the featurisation on short reviews."""
    return doc.to_array([IDX, LENGTH]).astype(np.int64, copy=False).reshape(-1, 2)


def unit_texts(doc: Doc, unit: str) -> list[str]:
    """The doc's units, without their tokens (what a model that needs no owners reads)."""
    if unit == "word":
        text = doc.text
        return [text[i : i + n] for i, n in _spans(doc).tolist()]
    return list(doc.text)


def doc_units(doc: Doc, unit: str) -> tuple[list[str], np.ndarray]:
    """The doc's units and, for each, the index of the token it belongs to."""
    if unit == "word":
        return unit_texts(doc, unit), np.arange(len(doc), dtype=np.int64)
    text = doc.text
    starts = _spans(doc)[:, 0]
    owners = np.searchsorted(starts, np.arange(len(text)), side="right") - 1
    return list(text), np.maximum(owners, 0)


def build_vocab(docs: Iterable[Doc], unit: str, size: int, min_count: int = 1) -> dict[str, int]:
    """The ``size`` most frequent units (ties broken by first appearance), numbered from 1."""
    return vocab_of_units((unit_texts(doc, unit) for doc in docs), size, min_count)


def vocab_of_units(
    unit_lists: Iterable[list[str]], size: int, min_count: int = 1
) -> dict[str, int]:
    """:func:`build_vocab` over texts already split into units (whitespace units skipped)."""
    counts: Counter[str] = Counter()
    for units in unit_lists:
        counts.update(u for u in units if not u.isspace())
    frequent = [u for u, n in counts.most_common(size) if n >= min_count]
    return {u: i + 1 for i, u in enumerate(frequent)}
