"""Projection profiles: runs of inked rows or columns, and cuts at a profile's emptiest places.

A projection profile counts the ink pixels of each row (the line finder,
:mod:`spacy_kexue.ocr.lines`) or of each column (the character splitter,
:mod:`spacy_kexue.ocr.chars`). Both stages cut their runs with the same two helpers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cut_profile", "true_runs"]


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` runs of True in a 1-D bool array."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=False)]


def cut_profile(profile: np.ndarray, offset: int, ref: float) -> list[tuple[int, int]]:
    """Cut a run of ``len(profile)`` rows/columns into ``round(len / ref)`` pieces at
    the emptiest positions near the even cuts (half-open, shifted by ``offset``)."""
    length = len(profile)
    n = max(2, round(length / ref))
    step = length / n
    search = max(1, int(0.25 * step))
    cuts = [0]
    for k in range(1, n):
        centre = int(round(k * step))
        lo = max(cuts[-1] + 1, centre - search)
        hi = min(length - 1, centre + search + 1)
        if hi <= lo:
            cut = min(max(centre, cuts[-1] + 1), length - 1)
        else:
            window = profile[lo:hi].astype(float)
            # emptiest position, nearest the even cut on ties
            order = np.lexsort((np.abs(np.arange(lo, hi) - centre), window))
            cut = lo + int(order[0])
        cuts.append(cut)
    cuts.append(length)
    return [(offset + s, offset + e) for s, e in zip(cuts, cuts[1:], strict=False) if e > s]
