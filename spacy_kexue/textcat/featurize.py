"""Docs -> padded unit ids for the sentiment encoders, and the map from tokens to steps.

A *unit* is a character (``"char"``) or a token's text (``"word"``). Units outside the
encoder's vocabulary are dropped, as in the kexue.fm posts, so the RNN state does not move on
them. Texts longer than ``max_length`` kept units keep their first and last ``max_length / 2``
units. For each token, :func:`featurize` also records the index of the last step at or before
the token's end (-1 when no step precedes it): the step whose hidden state is the state after
the token, which ``kexue_saliency`` needs. :func:`featurize_deletions` gives the rows of one
doc with sets of tokens deleted (leave-one-out occlusion and the deletion benchmark).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from spacy.tokens import Doc

from ..units import UNITS, build_vocab, doc_units

__all__ = [
    "UNITS",
    "Batch",
    "build_vocab",
    "doc_units",
    "featurize",
    "featurize_deletions",
    "known_ids",
    "unit_ids",
]

PAD_ID = 0


@dataclass
class Batch:
    ids: np.ndarray  # (n_rows, max(1, longest)), int64, 0 = padding
    lengths: np.ndarray  # (n_rows,), int64
    owners: list[np.ndarray]  # per row, per kept step: the index of the token it belongs to
    token_steps: list[np.ndarray]  # per row, per token: last step index at or before it, or -1

    def next_steps(self, row: int, n_tokens: int) -> np.ndarray:
        """Per token: the first step at or after its start (the row's length when none), the
        step whose state a backward LSTM holds after reading the token."""
        return np.searchsorted(self.owners[row], np.arange(n_tokens), side="left")


def known_ids(units: Sequence[str], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the in-vocabulary ``units`` and their positions in ``units``
    (out-of-vocabulary units are dropped)."""
    ids = np.fromiter((vocab.get(u, 0) for u in units), dtype=np.int64, count=len(units))
    kept = np.flatnonzero(ids)
    return ids[kept], kept


def unit_ids(doc: Doc, vocab: dict[str, int], unit: str) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the doc's in-vocabulary units and the token each belongs to, before any
    truncation (out-of-vocabulary units are dropped)."""
    units, owners = doc_units(doc, unit)
    ids, kept = known_ids(units, vocab)
    return ids, owners[kept]


def _truncate(ids: np.ndarray, owners: np.ndarray, max_length: int):
    if len(ids) <= max_length:
        return ids, owners
    head = max_length // 2
    kept = np.r_[0:head, len(ids) - (max_length - head) : len(ids)]
    return ids[kept], owners[kept]


def _batch(rows: list[tuple[np.ndarray, np.ndarray, int]], max_length: int) -> Batch:
    """Pad (ids, owners, n_tokens) rows, each truncated to ``max_length`` units."""
    rows = [(*_truncate(ids, owners, max_length), n_tokens) for ids, owners, n_tokens in rows]
    lengths = np.asarray([len(ids) for ids, _, _ in rows], dtype=np.int64)
    padded = np.zeros((len(rows), max(1, int(lengths.max(initial=0)))), dtype=np.int64)
    for i, (ids, _, _) in enumerate(rows):
        padded[i, : len(ids)] = ids
    token_steps = [
        np.searchsorted(owners, np.arange(n), side="right").astype(np.int64) - 1
        for _, owners, n in rows
    ]
    return Batch(padded, lengths, [owners for _, owners, _ in rows], token_steps)


def featurize(docs: Sequence[Doc], vocab: dict[str, int], unit: str, max_length: int) -> Batch:
    return _batch([(*unit_ids(doc, vocab, unit), len(doc)) for doc in docs], max_length)


def featurize_deletions(
    doc: Doc,
    vocab: dict[str, int],
    unit: str,
    max_length: int,
    deletions: Iterable[Iterable[int]],
) -> Batch:
    """One row per set of token indices: the doc with those tokens' units removed (then
    truncated as usual), exactly what featurizing the doc without those tokens gives."""
    ids, owners = unit_ids(doc, vocab, unit)
    rows = []
    for tokens in deletions:
        keep = ~np.isin(owners, np.fromiter(tokens, dtype=np.int64))
        rows.append((ids[keep], owners[keep], len(doc)))
    return _batch(rows, max_length)
