"""Text lines of an ink mask, by the horizontal projection (:func:`find_lines`).

Row runs with ink are lines; small runs (i-dots, the strokes of 一二三) join their line and
touching lines are cut apart. Step 4 of the projection layout (:mod:`spacy_kexue.ocr.layout`);
pure numpy. Boxes are half-open pixel boxes (:class:`~spacy_kexue.ocr.boxes.Box`).
"""

from __future__ import annotations

import math

import numpy as np

from .boxes import Box, LayoutError
from .ink import despeckle
from .profiles import cut_profile, true_runs

__all__ = ["find_lines"]


def find_lines(
    ink: np.ndarray,
    *,
    min_height: int = 4,
    row_fraction: float = 0.002,
    merge_gap: float = 0.4,
    small_line: float = 0.5,
    split_factor: float = 1.6,
    valley: float = 0.05,
    min_ink: int = 6,
    denoise: bool = True,
) -> list[Box]:
    """Text lines of a binary ink image, top to bottom, as boxes cropped to their ink.

    Horizontal text in one column is assumed: a line is a run of rows with ink.

    - With ``denoise`` the mask goes through :func:`despeckle` first (salt noise); pass False
      for a mask that already is.
    - A row counts as inked when it holds at least ``max(2, row_fraction * width)`` ink
      pixels, so the odd noise pixel left cannot bridge two lines or make one.
    - The reference height ``H`` is the median height of the runs at least half as high
      as the highest run (or the median width of the runs' ink column runs, when that is
      over twice as large: a page of 一二三, whose row runs are single strokes).
    - Runs lower than ``small_line * H`` (an i-dot, the strokes of 一二三, a detached
      punctuation mark) join the nearest run across a gap of at most ``merge_gap * H``
      when the joined run stays within 1.6 H (i-dot over x-height letters: 1.4 H);
      full-height runs never join each other.
    - Two lines can touch (tight leading, a low comma). A run higher than
      ``split_factor * H`` is cut into ``round(height / H)`` lines at the emptiest rows;
      a lower run is cut in two at its emptiest row when that row holds at most
      ``valley`` x the run's median row count and both parts are at least 35% of it.
    - A run with fewer than ``min_ink`` ink pixels is dropped, and so is one lower than
      ``min_height`` px unless its fullest row is a stroke (>= 0.3 H pixels, as in a
      line of 一 or ——).

    Each line's box spans its ink's rows and columns (column runs with fewer than 3 ink
    pixels at the ends, i.e. noise, are left out).
    """
    a = np.asarray(ink, dtype=bool)
    if a.ndim != 2:
        raise LayoutError(f"find_lines expects a 2-D ink mask, got shape {a.shape}.")
    if denoise:
        a = despeckle(a)
    if a.size == 0 or not a.any():
        return []
    h, w = a.shape
    rows = a.sum(axis=1)
    need = max(2, math.ceil(row_fraction * w))
    runs = [
        cut for s, e in true_runs(rows >= need) for cut in _cut_valley(rows[s:e], s, valley=valley)
    ]
    if not runs:
        return []
    heights = np.array([e - s for s, e in runs])
    ref = float(np.median(heights[heights >= 0.5 * heights.max()]))
    widths = [e - s for r0, r1 in runs for s, e in true_runs(a[r0:r1].any(axis=0))]
    if ref < 0.5 * float(np.median(widths)):
        # rows of flat strokes only (一二三 on its own): characters are about as high as
        # they are wide
        ref = float(np.median(widths))
    runs = _merge_small_runs(runs, ref, merge_gap=merge_gap, small=small_line)
    split: list[tuple[int, int]] = []
    for s, e in runs:
        if e - s > split_factor * ref:
            split.extend(cut_profile(rows[s:e], s, ref))
        else:
            split.append((s, e))
    # the row threshold trims faint rows (a stroke's anti-aliased tip, a lone pixel of a
    # serif): give each line back the adjacent rows whose ink touches its ink, up to 0.15 H
    reach = max(1, int(0.15 * ref))
    grown: list[tuple[int, int]] = []
    for k, (s, e) in enumerate(split):
        floor = grown[-1][1] if grown else 0
        ceiling = split[k + 1][0] if k + 1 < len(split) else h
        while s > floor and s > split[k][0] - reach and _touches(a[s - 1], a[s]):
            s -= 1
        while e < ceiling and e < split[k][1] + reach and _touches(a[e], a[e - 1]):
            e += 1
        grown.append((s, e))
    lines: list[Box] = []
    for s, e in grown:
        band = a[s:e]
        cols = band.sum(axis=0)
        if int(cols.sum()) < min_ink:
            continue
        if e - s < min_height and rows[s:e].max() < 0.3 * ref:
            continue
        kept = [(c0, c1) for c0, c1 in true_runs(cols > 0) if int(cols[c0:c1].sum()) >= 3]
        if not kept:
            continue
        x0, x1 = kept[0][0], kept[-1][1]
        ys = np.flatnonzero(band[:, x0:x1].any(axis=1))
        lines.append(Box(x0, s + int(ys[0]), x1, s + int(ys[-1]) + 1))
    return lines


def _touches(row: np.ndarray, neighbour: np.ndarray) -> bool:
    """Whether any ink pixel of ``row`` is 8-adjacent to ink in the ``neighbour`` row."""
    if not row.any():
        return False
    near = neighbour.copy()
    near[1:] |= neighbour[:-1]
    near[:-1] |= neighbour[1:]
    return bool((row & near).any())


def _merge_small_runs(
    runs: list[tuple[int, int]], ref: float, *, merge_gap: float, small: float
) -> list[tuple[int, int]]:
    """Join short row runs to the nearest neighbour run across a small gap."""
    runs = list(runs)
    max_gap = merge_gap * ref
    changed = True
    while changed and len(runs) > 1:
        changed = False
        order = sorted(range(len(runs)), key=lambda i: runs[i][1] - runs[i][0])
        for i in order:
            s, e = runs[i]
            if e - s >= small * ref:
                break
            options = []
            for j in (i - 1, i + 1):
                if 0 <= j < len(runs):
                    lo, hi = min(i, j), max(i, j)
                    gap = runs[hi][0] - runs[lo][1]
                    if gap <= max_gap and runs[hi][1] - runs[lo][0] <= 1.6 * ref:
                        options.append((gap, j))
            if not options:
                continue
            _, j = min(options)
            lo, hi = min(i, j), max(i, j)
            runs[lo : hi + 1] = [(runs[lo][0], runs[hi][1])]
            changed = True
            break
    return runs


def _cut_valley(profile: np.ndarray, offset: int, *, valley: float) -> list[tuple[int, int]]:
    """Cut a run of rows in two at a near-empty row well inside it (or keep it whole)."""
    length = len(profile)
    lo, hi = int(math.ceil(0.35 * length)), int(0.65 * length)
    if hi <= lo:
        return [(offset, offset + length)]
    k = lo + int(np.argmin(profile[lo : hi + 1]))
    if profile[k] > valley * float(np.median(profile)):
        return [(offset, offset + length)]
    return [(offset, offset + k), (offset + k + (1 if profile[k] else 0), offset + length)]
