"""Character boxes of one text line, by the vertical projection (:func:`split_chars`).

Runs of ink columns ("atoms") inside a line crop are grouped into characters by dynamic
programming. The pieces of a CJK character with an inner white column (川, 小, 儿, 外, 北, 你,
们, 忄 ...) merge back when they form a full-size ideograph box standing on the ideographs' bottom
row; Latin letters and digits (narrower, on a baseline above that row) and punctuation (，。、
narrow and low) stay single; over-wide runs (touching characters) are cut at near-empty columns
into near-square pieces. Word-space candidates are flagged. Sizes are relative to ``h``, the
ideograph height of the line (:func:`estimate_char_height`). Step 5 of the projection layout
(:mod:`spacy_kexue.ocr.layout`); pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .boxes import Box, LayoutError
from .profiles import cut_profile, true_runs

__all__ = ["estimate_char_height", "split_chars"]


@dataclass
class _Atom:
    """A run of ink columns in a line crop (or a piece of a cut run)."""

    x0: int
    x1: int
    y0: int
    y1: int
    joined: bool = False  # a piece of a cut run that touches the piece before it
    cut_cost: float = 0.0  # paid when a character boundary is put before this piece

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def _atoms(ink_line: np.ndarray, min_ink: int) -> list[_Atom]:
    """Runs of columns with ink; runs with fewer than ``min_ink`` pixels are noise."""
    cols = ink_line.sum(axis=0)
    atoms = []
    for s, e in true_runs(cols > 0):
        if int(cols[s:e].sum()) < min_ink:
            continue
        ys = np.flatnonzero(ink_line[:, s:e].any(axis=1))
        atoms.append(_Atom(s, e, int(ys[0]), int(ys[-1]) + 1))
    return atoms


def estimate_char_height(ink_line: np.ndarray, *, min_ink: int = 3) -> float:
    """The height of a full-size character in a line crop (the CJK ideograph height).

    The height of the tallest ink run. Ideographs fill their em box (about 0.92 em),
    Latin capitals and ascenders reach about 0.8 em, so in a mixed line the tallest run
    is an ideograph (or a bracket or j, a few percent taller); in a Latin-only line it
    is an ascender, which keeps Latin letters from looking like narrow ideographs. A
    line of flat strokes only (一, ——: runs lower than 0.3 x their width with a single
    ink run in 85% of their columns, unlike touching characters) gets the median run
    width instead, so that nothing is cut into slivers.
    """
    a = np.asarray(ink_line, dtype=bool)
    if a.ndim != 2 or a.size == 0:
        return 1.0
    atoms = _atoms(a, min_ink)
    if not atoms:
        return float(max(1, a.shape[0]))
    tallest = float(max(t.height for t in atoms))

    def flat(t: _Atom) -> bool:
        # a single stroke: low, and one run of ink in (nearly) every column
        if t.height >= 0.3 * t.width:
            return False
        block = a[t.y0 : t.y1, t.x0 : t.x1].astype(np.int8)
        starts = (np.diff(block, axis=0, prepend=0) == 1).sum(axis=0)
        return float(np.mean(starts <= 1)) >= 0.85

    if all(flat(t) for t in atoms):
        return max(tallest, float(np.median([t.width for t in atoms])))
    return tallest


def split_chars(
    ink_line: np.ndarray,
    *,
    line_height: float | None = None,
    cjk_min_width: float = 0.75,
    cjk_max_width: float = 1.1,
    cjk_min_height: float = 0.85,
    bottom_tolerance: float = 0.1,
    wide: float = 1.15,
    space_gap: float = 0.25,
    space_ratio: float = 2.0,
    min_ink: int = 3,
    spaces: list[bool] | None = None,
) -> list[Box]:
    """Character boxes of one line crop, left to right, relative to the crop.

    ``ink_line`` is the bool ink mask of one text line (a
    :func:`~spacy_kexue.ocr.lines.find_lines` box); ``line_height`` is the reference
    character height ``h`` in pixels (default: :func:`estimate_char_height` of the crop, the
    ideograph height). The caller adds the crop's offset to the boxes
    (:class:`~spacy_kexue.ocr.layout.ProjectionLayout` does). A blank crop gives [].

    1. Runs of columns with ink ("atoms") are the candidates; runs with fewer than
       ``min_ink`` ink pixels are noise and dropped.
    2. An atom wider than ``wide * h`` is several touching characters: it is cut at the
       near-empty columns inside it and at the emptiest columns near the even
       ``round(width / 1.05 h)`` division; step 3 decides which cuts to keep (each kept
       cut costs in proportion to the ink it goes through).
    3. Atoms are grouped into characters by dynamic programming (best total score):
       neighbouring atoms merge into one character when the merged box looks like a
       full CJK ideograph: width in ``[cjk_min_width, cjk_max_width] * h``, height at
       least ``cjk_min_height * h``, a tall piece ending at the ideographs' bottom row
       (within ``bottom_tolerance * h``) and nothing that looks like a Latin letter on
       the baseline or punctuation at its end. That rebuilds 川, 小, 儿, 外, 北, 你,
       们, 忄 ... from their pieces, while Latin letters and digits, which are narrower
       (width/height well under 1; several narrow letters side by side would still be
       narrower than an ideograph or sit on the Latin baseline above the ideographs'
       bottom), and punctuation (，。、 narrow and low) stay single. Quotes (two small
       marks side by side at the top) and the dots of … merge too. A line with Latin
       letters on its bottom row and no (or fewer) ideograph-shaped runs is Latin text:
       nothing merges.
    4. Each box is cropped to its ink rows.

    Spaces: when ``spaces`` is a list it is filled with one flag per returned box, True
    when the white gap before that box is wider than ``space_gap * h``; when the wide
    gaps between letter-sized boxes fall into two clusters (ratio >= ``space_ratio``:
    a monospaced font's narrow "1" or "." next to real word spaces) only the upper
    cluster counts. A flag is a candidate: CJK text is written without spaces (and has
    wide gaps after ，。), so the reader keeps a flag only between two characters it
    recognised as Latin letters/digits.
    """
    a = np.asarray(ink_line, dtype=bool)
    if spaces is not None:
        spaces.clear()
    if a.ndim != 2:
        raise LayoutError(f"split_chars expects a 2-D ink mask of one line, got shape {a.shape}.")
    if a.size == 0 or not a.any():
        return []
    atoms = _atoms(a, min_ink)
    if not atoms:
        return []
    h = float(line_height) if line_height else estimate_char_height(a, min_ink=min_ink)
    h = max(h, 1.0)
    model = _line_model(atoms, h, bottom_tolerance)
    # Latin-only lines measure h at the ascenders: W, M and % are wider than that
    limit = (wide if model.gate is not None else max(wide, 1.4)) * h
    pieces: list[_Atom] = []
    for atom in atoms:
        pieces.extend(_split_wide(a, atom, h) if atom.width > limit else [atom])
    groups = _group_atoms(
        pieces, model, min_w=cjk_min_width, max_w=cjk_max_width, min_h=cjk_min_height
    )
    boxes: list[Box] = []
    letters: list[bool] = []  # could be a Latin letter/digit (for the space rule)
    for group in groups:
        x0, x1 = group[0].x0, group[-1].x1
        ys = np.flatnonzero(a[:, x0:x1].any(axis=1))
        box = Box(x0, int(ys[0]), x1, int(ys[-1]) + 1)
        boxes.append(box)
        letters.append(
            len(group) == 1
            and not (box.height >= 0.9 * h and box.width >= 0.75 * h)
            and not model.mark_like(group[0])
        )
    if spaces is not None:
        spaces.extend(_space_flags(boxes, letters, h, space_gap=space_gap, space_ratio=space_ratio))
    return boxes


def _split_wide(a: np.ndarray, atom: _Atom, h: float) -> list[_Atom]:
    """Cut an over-wide atom (touching characters) into pieces at candidate columns.

    Candidates are the local minima (and the ends of low plateaus: a dash meeting a
    glyph) of the column profile holding at most 0.2 h ink pixels, where two glyphs
    touch, and the cuts of :func:`~spacy_kexue.ocr.profiles.cut_profile` at a 1.05 h
    pitch (for glyphs fused over a longer stretch); candidates closer than 0.15 h to
    a better one or to the atom's ends are dropped. Every piece after the first is
    ``joined`` and carries the cost of a boundary there: 0.5 x its column's ink / h.
    """
    cols = a[:, atom.x0 : atom.x1].sum(axis=0).astype(float)
    w = len(cols)
    candidates: list[int] = []
    for c in range(1, w - 1):
        left, mid, right = cols[c - 1], cols[c], cols[c + 1]
        # a local minimum, or the end of a low plateau (where a dash meets a glyph)
        if mid <= 0.2 * h and mid <= left and mid <= right and (mid < left or mid < right):
            candidates.append(c)
    candidates += [s - atom.x0 for s, _ in cut_profile(cols, atom.x0, 1.05 * h)[1:]]
    spacing = max(2.0, 0.15 * h)
    chosen: list[int] = []
    for c in sorted(set(candidates), key=lambda c: (cols[c], c)):
        if spacing <= c <= w - spacing and all(abs(c - k) >= spacing for k in chosen):
            chosen.append(c)
    bounds = [0, *sorted(chosen), w]
    pieces = []
    for k, (s, e) in enumerate(zip(bounds, bounds[1:], strict=False)):
        ys = np.flatnonzero(a[:, atom.x0 + s : atom.x0 + e].any(axis=1))
        pieces.append(
            _Atom(
                atom.x0 + s,
                atom.x0 + e,
                int(ys[0]),
                int(ys[-1]) + 1,
                joined=k > 0,
                cut_cost=0.5 * cols[s] / h if k > 0 else 0.0,
            )
        )
    return pieces


def _space_flags(
    boxes: list[Box], letters: list[bool], h: float, *, space_gap: float, space_ratio: float
) -> list[bool]:
    """True before each box whose left gap is a word space (see :func:`split_chars`)."""
    gaps = [0] + [b.x0 - a.x1 for a, b in zip(boxes, boxes[1:], strict=False)]
    threshold = space_gap * h
    wide = sorted(
        gaps[i]
        for i in range(1, len(boxes))
        if letters[i - 1] and letters[i] and gaps[i] > threshold
    )
    if len(wide) >= 2:
        # wide letter gaps in two clusters (a monospaced font's narrow "1" or "." and its
        # real word spaces): only the upper cluster are spaces
        ratios = [q / max(p, 1) for p, q in zip(wide, wide[1:], strict=False)]
        k = int(np.argmax(ratios))
        if ratios[k] >= space_ratio:
            threshold = wide[k]
    return [i > 0 and gaps[i] > threshold for i in range(len(boxes))]


@dataclass
class _LineModel:
    """What :func:`split_chars` knows about a line: sizes and reference rows."""

    h: float  # full character (ideograph) height
    top: int  # top row of the line's ink
    floor: float  # the ideographs' bottom row (exclusive)
    bottom: float  # the lowest bottom row a merged CJK group may have (floor + tolerance)
    gate: float | None  # the highest bottom row a merged CJK group may have; None: no merges
    baseline: tuple[int, int] | None  # (most common, lowest) bottom row of Latin letters

    def latin_like(self, t: _Atom) -> bool:
        """A letter or digit on the Latin baseline (not a full-height ideograph piece)."""
        return self.baseline is not None and t.y1 == self.baseline[0] and t.height <= 0.9 * self.h

    def mark_like(self, t: _Atom) -> bool:
        """A small mark: punctuation (，。、 , . “ ”) or a dot."""
        return t.height <= 0.45 * self.h and t.width <= 0.45 * self.h

    def punct_like(self, t: _Atom) -> bool:
        """A small mark in the top or bottom 30% of the line: quotes, ，。、 , .

        (The dots of 忄, 小, 心, 州 sit in the middle band.)
        """
        centre = (t.y0 + t.y1) / 2 - self.top
        return self.mark_like(t) and (centre <= 0.3 * self.h or centre >= 0.7 * self.h)


def _line_model(atoms: list[_Atom], h: float, tol: float) -> _LineModel:
    """Reference rows of a line.

    Ideographs in a line share a bottom row (``floor``: the median bottom of the atoms
    at least 0.9 h tall). Latin letters and digits sit on a baseline above it: the most
    common bottom (+-1 px) of the mid-height atoms (x-height letters, digits and
    capitals, 0.45..0.82 h), when three atoms, or two making a quarter of all, share it.
    A merged group must end at ``floor`` (within ``tol * h``, >= 1 px) and below that
    baseline.

    When the baseline is the floor, the line is Latin text (nothing merges) if more
    mid-height atoms sit on it than there are atoms shaped like a whole ideograph
    (>= 0.9 h tall, >= 0.75 h wide; a Latin W or M can be); otherwise the common bottom
    is the ideographs' own and there is no baseline.

    A line without any ideograph-shaped atom is Latin text when it has a baseline or a
    mid-height atom at least 0.6 times as wide as high sharing its bottom row (+-1 px)
    with another atom at least 0.45 h tall (an x-height letter next to an ascender).
    Lines made only of the pieces of split ideographs (川北小儿) rarely show that: 5-10
    of the 440-860 split characters of GB2312 level 1 per font have a mid-height piece
    on the bottom row at all.
    """
    top = min(t.y0 for t in atoms)
    tall = [t.y1 for t in atoms if t.height >= 0.9 * h]
    floor = float(np.median(tall)) if tall else float(max(t.y1 for t in atoms))
    margin = max(1.0, tol * h)
    gate: float | None = floor - margin
    baseline = None
    ideographs = sum(1 for t in atoms if t.height >= 0.9 * h and t.width >= 0.75 * h)
    mids = [t for t in atoms if 0.45 * h <= t.height <= 0.82 * h]
    on_baseline = 0
    if len(mids) >= 2:
        values, counts = np.unique(np.array([t.y1 for t in mids]), return_counts=True)
        near = [int(counts[np.abs(values - v) <= 1].sum()) for v in values]
        k = int(np.argmax(near))
        if near[k] >= 3 or (near[k] >= 2 and near[k] >= 0.25 * len(atoms)):
            members = np.abs(values - values[k]) <= 1
            mode = int(values[np.argmax(counts * members)])
            baseline = (mode, int(values[members].max()))
            on_baseline = near[k]
    if not ideographs:
        latin = baseline is not None or any(
            abs(m.y1 - t.y1) <= 1 and t.height >= 0.45 * h and t is not m
            for m in mids
            if m.width >= 0.6 * m.height
            for t in atoms
        )
        if latin:
            gate = None
    elif baseline is not None:
        if baseline[1] < floor - 1:
            gate = max(floor - margin, baseline[1] + 1.0)
        elif on_baseline > ideographs:
            # Latin text whose W or M looks like an ideograph: nothing merges
            gate = None
        else:
            # the common bottom is the ideographs' own, not a Latin baseline
            baseline = None
    return _LineModel(
        h=h, top=top, floor=floor, bottom=floor + margin, gate=gate, baseline=baseline
    )


def _group_atoms(
    atoms: list[_Atom],
    model: _LineModel,
    *,
    min_w: float,
    max_w: float,
    min_h: float,
) -> list[list[_Atom]]:
    """Best grouping of consecutive atoms into characters (dynamic programming)."""
    n = len(atoms)
    h = model.h
    best = [0.0] + [-math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):  # the group atoms[i:j]
            if j - i > 1 and atoms[j - 1].x1 - atoms[i].x0 > max_w * h:
                break
            if j - i == 1:
                score = _single_score(atoms[i], model)
            else:
                score = _merge_score(atoms[i:j], model, min_w, max_w, min_h)
            if score == -math.inf:
                continue
            total = best[i] + score - atoms[i].cut_cost
            if total > best[j]:
                best[j] = total
                back[j] = i
    groups = []
    j = n
    while j > 0:
        i = back[j]
        groups.append(atoms[i:j])
        j = i
    return groups[::-1]


def _single_score(atom: _Atom, model: _LineModel) -> float:
    """Score of keeping one atom as a character: 0, or -0.1 for a lone stroke.

    In a line where CJK pieces may merge, a narrow tall atom standing on the ideographs'
    bottom row that is not a Latin letter on the baseline is most likely a piece of an
    ideograph (the strokes of 川, the 亻 of 们, 刂; ！ and ？ float above that row):
    leaving it alone costs a little, so that of two groupings with one merge each the
    one leaving fewer such strokes alone wins.
    """
    h = model.h
    if (
        model.gate is not None
        and atom.width < 0.5 * h
        and atom.height >= 0.5 * h
        and atom.y1 >= model.floor - max(1.0, 0.04 * h)
        and not model.latin_like(atom)
    ):
        return -0.1
    return 0.0


def _merge_score(
    group: list[_Atom], model: _LineModel, min_w: float, max_w: float, min_h: float
) -> float:
    """Score of merging ``group`` (>= 2 atoms) into one character; -inf: not allowed.

    - Pieces of one cut run put back together into a CJK-wide box: up to 1 (best at
      width 0.95 h).
    - A full CJK box: up to 1 (best at width 0.95 h), less half its inner white columns
      (in h: of two overlapping candidates the one cut at the wider gaps wins), less 0.6
      when a member looks like a Latin letter on the baseline or a small mark in the top
      or bottom band (punctuation, a quote, a low dot of 灬); never ending in a low mark.
    - Quotation marks (small marks side by side in the upper half): 0.5.
    - The dots of …: 0.3 per dot after the first.
    - A speck split off a Latin letter by a 1 px gap (the arm of a Ming-style r): 0.3.
    """
    h = model.h
    x0, x1 = group[0].x0, group[-1].x1
    width = (x1 - x0) / h
    if all(t.joined for t in group[1:]):
        return 1.0 - abs(width - 0.95) if min_w <= width <= max_w else -math.inf
    height = (max(t.y1 for t in group) - min(t.y0 for t in group)) / h
    gate = model.gate
    if (
        gate is not None
        and min_w <= width <= max_w
        and height >= min_h
        # the main stroke (a tall atom) ends at the ideographs' bottom row, not above it
        # like a Latin letter nor below it like a descender
        and any(gate <= t.y1 <= model.bottom and t.height >= 0.6 * h for t in group)
        # a whole ideograph (>= 0.8 h wide) takes on dots and strokes, not Latin letters
        and not (any(t.width >= 0.8 * h for t in group) and any(model.latin_like(t) for t in group))
    ):
        last = group[-1]
        if model.punct_like(last) and (last.y0 + last.y1) / 2 - model.top >= 0.5 * h:
            # ，。、 , . follow the character they punctuate: never its last piece
            return -math.inf
        odd = any(model.latin_like(t) or model.punct_like(t) for t in group)
        inner = sum(max(0, b.x0 - a.x1) for a, b in zip(group, group[1:], strict=False)) / h
        return 1.0 - abs(width - 0.95) - 0.5 * inner - (0.6 if odd else 0.0)
    if width <= 0.5 and all(t.height <= 0.4 * h and t.y1 <= model.top + 0.5 * h for t in group):
        return 0.5
    if width <= 1.05 and _ellipsis(group, model):
        # more dots per group is better, so …… is 3 + 3
        return 0.3 * (len(group) - 1)
    if len(group) == 2 and width <= 0.7:
        a, b = group
        tiny = [t for t in group if t.height <= 0.25 * h and t.width <= 0.25 * h]
        big = a if tiny and tiny[0] is b else b
        if (
            len(tiny) == 1
            and model.latin_like(big)
            and b.x0 - a.x1 <= max(1.0, 0.06 * h)
            and tiny[0].y1 <= model.top + 0.6 * h
        ):
            return 0.3
    return -math.inf


def _ellipsis(group: list[_Atom], model: _LineModel) -> bool:
    """Whether ``group`` is a row of dots at mid height, evenly spaced (the CJK …)."""
    h = model.h
    if len(group) > 3 or not all(t.height <= 0.2 * h and t.width <= 0.2 * h for t in group):
        return False
    centres = [(t.y0 + t.y1) / 2 - model.top for t in group]
    if max(centres) - min(centres) > 0.1 * h or not 0.3 * h <= centres[0] <= 0.7 * h:
        return False
    gaps = [b.x0 - a.x1 for a, b in zip(group, group[1:], strict=False)]
    return max(gaps) <= 0.35 * h and max(gaps) - min(gaps) <= max(2.0, 0.05 * h)
