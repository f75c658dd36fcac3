"""Docs -> padded unit ids for the sentiment encoders, and the map from tokens to steps.

A *unit* is a character (``"char"``) or a token's text (``"word"``). Units outside the
encoder's vocabulary are dropped, as in the kexue.fm posts, so the RNN state does not move on
them. Texts longer than ``max_length`` kept units keep their first and last ``max_length / 2``
units. For each token, :func:`featurize` also records the index of the last step at or before
the token's end (-1 when no step precedes it): the step whose hidden state is the state after
the token, which ``kexue_saliency`` needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from spacy.tokens import Doc

UNITS = ("char", "word")
PAD_ID = 0


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


@dataclass
class Batch:
    ids: np.ndarray  # (n_docs, max(1, longest)), int64, 0 = padding
    lengths: np.ndarray  # (n_docs,), int64
    token_steps: list[np.ndarray]  # per doc, per token: last step index at or before it, or -1


def featurize(docs: Sequence[Doc], vocab: dict[str, int], unit: str, max_length: int) -> Batch:
    rows: list[np.ndarray] = []
    token_steps: list[np.ndarray] = []
    for doc in docs:
        units, owners = doc_units(doc, unit)
        ids = np.fromiter((vocab.get(u, 0) for u in units), dtype=np.int64, count=len(units))
        kept = np.flatnonzero(ids)
        if len(kept) > max_length:
            head = max_length // 2
            kept = np.concatenate([kept[:head], kept[len(kept) - (max_length - head) :]])
        rows.append(ids[kept])
        kept_owners = owners[kept]
        token_steps.append(
            np.searchsorted(kept_owners, np.arange(len(doc)), side="right").astype(np.int64) - 1
        )
    lengths = np.asarray([len(r) for r in rows], dtype=np.int64)
    ids = np.zeros((len(rows), max(1, int(lengths.max(initial=0)))), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return Batch(ids, lengths, token_steps)
