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
from spacy.tokens import Doc

__all__ = ["UNITS", "build_vocab", "doc_units"]

UNITS = ("char", "word")


def doc_units(doc: Doc, unit: str) -> tuple[list[str], np.ndarray]:
    """The doc's units and, for each, the index of the token it belongs to."""
    if unit == "word":
        return [t.text for t in doc], np.arange(len(doc), dtype=np.int64)
    text = doc.text
    starts = np.asarray([t.idx for t in doc], dtype=np.int64)
    owners = np.searchsorted(starts, np.arange(len(text)), side="right") - 1
    return list(text), np.maximum(owners, 0)


def build_vocab(docs: Iterable[Doc], unit: str, size: int, min_count: int = 1) -> dict[str, int]:
    """The ``size`` most frequent units (ties broken by first appearance), numbered from 1."""
    counts: Counter[str] = Counter()
    for doc in docs:
        units, _ = doc_units(doc, unit)
        counts.update(u for u in units if not u.isspace())
    frequent = [u for u, n in counts.most_common(size) if n >= min_count]
    return {u: i + 1 for i, u in enumerate(frequent)}
