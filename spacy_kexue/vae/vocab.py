"""Units (characters or the segmenter's words) -> ids for the text VAE.

Id 0 is padding, 1 the end-of-text symbol, 2 stands for any unit outside the vocabulary (kept,
unlike the sentiment encoders, which drop them: a language model must account for every unit),
and 3... the ``size`` most frequent units. Texts longer than ``max_length`` units keep their
first ``max_length``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from spacy.tokens import Doc

from ..units import build_vocab, unit_texts

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
N_SPECIAL = 3


def build_unit_vocab(docs: Iterable[Doc], unit: str, size: int) -> dict[str, int]:
    """The ``size`` most frequent units, numbered from 3."""
    ranked = build_vocab(docs, unit, size)
    return {u: i - 1 + N_SPECIAL for u, i in ranked.items()}


def encode(
    docs: Sequence[Doc], vocab: dict[str, int], unit: str, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Padded ids (n_docs, max(1, longest)) and lengths; whitespace units are skipped."""
    rows = []
    for doc in docs:
        ids = [vocab.get(u, UNK_ID) for u in unit_texts(doc, unit) if not u.isspace()][:max_length]
        rows.append(ids)
    lengths = np.asarray([len(r) for r in rows], dtype=np.int64)
    padded = np.zeros((len(rows), max(1, int(lengths.max(initial=0)))), dtype=np.int64)
    for i, row in enumerate(rows):
        padded[i, : len(row)] = row
    return padded, lengths


def decode(ids: Iterable[int], vocab: dict[str, int], unit: str) -> str:
    """Ids back to text, up to the first end-of-text symbol (unknown units as '□')."""
    units = {i: u for u, i in vocab.items()}
    out = []
    for i in ids:
        if i == EOS_ID:
            break
        if i != PAD_ID:
            out.append(units.get(int(i), "□"))
    return ("" if unit == "char" else " ").join(out)
