"""Layout analysis for printed horizontal text: ink, text lines, character boxes.

Pure numpy. The method follows kexue.fm's "OCR技术浅探" (METHODS.md, section 5):
projections of a binary ink image find text lines (rows with ink) and character
candidates (columns with ink); the candidates are then grouped into characters.

Pipeline (:class:`ProjectionLayout` runs it; every step is a public function):

1. :func:`to_grey` - an image array to float grey in [0, 1] (the colour channel with the
   most contrast, so red on green stays readable).
2. :func:`binarize` - Otsu threshold; polarity from the image border (dark text on a light
   background or light text on a dark/coloured one); a local-mean threshold when the
   global one cannot separate the classes (strong shading).
3. :func:`despeckle` - isolated ink pixels and pairs (salt noise) are removed.
4. :func:`find_lines` - horizontal projection: row runs with ink are lines; small runs
   (i-dots, the strokes of 一二三) join their line, touching lines are cut apart.
5. :func:`split_chars` - vertical projection inside a line: runs of ink columns
   ("atoms") are grouped into characters by dynamic programming. The pieces of a CJK
   character with an inner white column (川, 小, 儿, 外, 北, 你, 们, 忄 ...) merge back
   when they form a full-size ideograph box standing on the ideographs' bottom row;
   Latin letters and digits (narrower, on a baseline above that row) and punctuation
   (，。、 narrow and low) stay single; over-wide runs (touching characters) are cut
   at near-empty columns into near-square pieces. Word-space candidates are flagged.

Sizes are relative to ``h``, the ideograph height of the line (:func:`estimate_char_height`).
Measured on synthetic lines drawn with Noto Sans CJK SC, WenQuanYi Micro Hei and AR PL UMing
at 24-48 px: 99.3-100% of true character boxes matched by a box with IoU >= 0.5 on mixed
Chinese/Latin/digit sentences, 99.9-100% on Chinese review sentences, all 3,755 GB2312
level-1 characters boxed alone; lines counted right with 0.15 em leading, on coloured and
inverted backgrounds, under 1% salt noise, blur and shading. Weak spots: glyphs touching
over long stretches (tracking -0.08 em: 89-94%), Latin letters whose projections overlap
(``yt``, ``ft``, ``TA``), text below 20 px, Latin-only lines without any x-height letter
(``ill``, ``Hi``), which look like the pieces of 川 or 儿.

All boxes are half-open pixel boxes ``[x0, x1) x [y0, y1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import KexueError

__all__ = [
    "Box",
    "LayoutError",
    "Line",
    "ProjectionChars",
    "ProjectionLayout",
    "ProjectionLines",
    "binarize",
    "build_projection_chars",
    "build_projection_layout",
    "build_projection_lines",
    "despeckle",
    "estimate_char_height",
    "find_lines",
    "split_chars",
    "to_grey",
]


class LayoutError(KexueError, ValueError):
    """An image array or a setting the layout cannot use."""


# ---------------------------------------------------------------------------
# boxes


@dataclass(frozen=True)
class Box:
    """A half-open pixel box: columns ``x0 <= x < x1``, rows ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        """``x1 - x0``."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """``y1 - y0``."""
        return self.y1 - self.y0

    def to_list(self) -> list[int]:
        """``[x0, y0, x1, y1]`` as plain ints (JSON friendly)."""
        return [int(self.x0), int(self.y0), int(self.x1), int(self.y1)]

    def shift(self, dx: int, dy: int) -> Box:
        """The same box moved by ``(dx, dy)``."""
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)


@dataclass
class Line:
    """One text line: its ink box and its character boxes, left to right.

    ``space_before[i]`` is True when the white gap in front of ``chars[i]`` is wide
    enough to be a word space (see :func:`split_chars`). A flag is only a candidate:
    CJK text has wide gaps after full-width punctuation and none is a space, so the
    reader inserts a space only where both neighbours were recognised as Latin letters
    or digits. ``char_height`` is the reference character height (the ideograph height,
    :func:`estimate_char_height`) in pixels: a character's box relative to it and to the
    line's box tells ， from ' and 。 from o after the boxes are normalised.
    """

    box: Box
    chars: list[Box]
    space_before: list[bool] = field(default_factory=list)
    char_height: float = 0.0

    def __post_init__(self) -> None:
        if not self.space_before:
            self.space_before = [False] * len(self.chars)
        if len(self.space_before) != len(self.chars):
            raise LayoutError(
                f"Line.space_before has {len(self.space_before)} flags for "
                f"{len(self.chars)} character boxes; give one flag per box."
            )

    def to_dict(self) -> dict:
        """Plain JSON-friendly form: ``box``, ``chars`` (lists of 4 ints), flags, height."""
        return {
            "box": self.box.to_list(),
            "chars": [c.to_list() for c in self.chars],
            "space_before": [bool(f) for f in self.space_before],
            "char_height": float(self.char_height),
        }


# ---------------------------------------------------------------------------
# grey and ink


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GREY_METHODS = ("luma", "contrast")
_BINARIZE_METHODS = ("auto", "otsu", "local")


def to_grey(image: np.ndarray, *, method: str = "luma") -> np.ndarray:
    """Convert an image array to float32 grey values in ``[0, 1]``.

    ``image`` is H x W (grey), H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA, composited
    over white). Integer arrays are scaled by their dtype's maximum (uint8: 255); float
    arrays are taken to be in ``[0, 1]``, or in ``[0, 255]`` when their maximum is above 1.

    ``method="luma"`` uses ITU-R 601 luma weights. ``method="contrast"`` returns, among
    luma and the three colour channels, the one whose Otsu split has the largest
    between-class variance (the two classes furthest apart): text stays readable on a
    coloured background of the same brightness (red on green), where luma has almost no
    contrast.
    """
    if method not in _GREY_METHODS:
        raise LayoutError(f"to_grey: method must be one of {_GREY_METHODS}, got {method!r}.")
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise LayoutError(
            f"to_grey expects an H x W, H x W x 3 or H x W x 4 image array, got shape "
            f"{arr.shape}. Load the file first (spacy_kexue.ocr.imageio.load_image)."
        )
    if arr.dtype == np.bool_:
        img = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        img = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    elif np.issubdtype(arr.dtype, np.floating):
        img = arr.astype(np.float32)
        if img.size and float(np.nanmax(img)) > 1.0:
            img = img / 255.0
        img = np.clip(np.nan_to_num(img, nan=1.0), 0.0, 1.0)
    else:
        raise LayoutError(f"to_grey expects a numeric image array, got dtype {arr.dtype}.")
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[:, :, 0]
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4]
        img = img[:, :, :3] * alpha + (1.0 - alpha)
    luma = (img @ _LUMA).astype(np.float32)
    if method == "luma":
        return luma
    candidates = [luma, img[:, :, 0], img[:, :, 1], img[:, :, 2]]
    scores = [_otsu(c)[2] for c in candidates]
    return np.ascontiguousarray(candidates[int(np.argmax(scores))], dtype=np.float32)


def _otsu(grey: np.ndarray, bins: int = 256) -> tuple[float, float, float]:
    """Otsu's threshold of ``grey`` (values in [0, 1]), its separability and contrast.

    Separability is the between-class variance over the total variance (0..1): close to
    1 for two clean grey levels, low for noise or shading. Contrast is the between-class
    variance itself (how far apart the two classes are, weighted by their sizes).
    """
    if grey.size == 0:
        return 0.5, 0.0, 0.0
    hist, edges = np.histogram(grey, bins=bins, range=(0.0, 1.0))
    p = hist.astype(np.float64) / grey.size
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    mu = np.cumsum(p * centres)
    mu_t = mu[-1]
    total_var = float(np.sum(p * (centres - mu_t) ** 2))
    if total_var <= 0:
        return 0.5, 0.0, 0.0
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - mu) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0.0
    k = int(np.argmax(between))
    return float(edges[k + 1]), float(between[k] / total_var), float(between[k])


def _border(grey: np.ndarray) -> np.ndarray:
    """The pixels of the image's outer frame (about 2% of the shorter side, >= 1 px)."""
    h, w = grey.shape
    b = max(1, min(h, w) // 50)
    return np.concatenate(
        [grey[:b].ravel(), grey[-b:].ravel(), grey[:, :b].ravel(), grey[:, -b:].ravel()]
    )


def _box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window clipped at the edges (separable running sums)."""

    def running(v: np.ndarray, axis: int) -> np.ndarray:
        n = v.shape[axis]
        c = np.cumsum(v, axis=axis, dtype=np.float64)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        idx = np.arange(n)
        hi = np.minimum(idx + radius + 1, n)
        lo = np.maximum(idx - radius, 0)
        total = np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)
        shape = [1, 1]
        shape[axis] = n
        return total / (hi - lo).reshape(shape)

    return running(running(values, 0), 1)


def binarize(
    grey: np.ndarray,
    *,
    method: str = "auto",
    min_contrast: float = 0.15,
    min_separability: float = 0.75,
    window: int | None = None,
    local_margin: float = 0.15,
) -> np.ndarray:
    """Ink mask of a grey image (values in [0, 1]): a bool array, True where there is ink.

    Threshold: ``method="otsu"`` uses Otsu's global threshold; ``method="local"``
    compares each pixel with the mean of its ``window`` x ``window`` neighbourhood
    (default: an eighth of the shorter side, at least 15 px) and calls it ink when it is
    ``local_margin`` x the image's grey range darker (lighter, for light ink);
    ``method="auto"`` (default) uses Otsu unless its separability (between-class over
    total variance) is below ``min_separability``, which measured 0.87-0.95 on clean,
    noisy, blurred and coloured synthetic lines but 0.59-0.74 under background shading
    strong enough to defeat a global threshold, and then the local rule.

    Polarity: the image border is background. If most border pixels fall on the dark
    side of the threshold, ink is the light class (white text on a dark or coloured
    background), otherwise the dark class. When the border is split almost evenly
    (35-65% dark, e.g. a tight crop), ink is the minority class of the whole image.

    An image whose grey range (1st to 99th percentile, or min to max when that is
    wider) is below ``min_contrast`` has no ink: a blank page gives an all-False mask
    rather than thresholded noise. So does an image with fewer than 2 rows or columns.
    """
    if method not in _BINARIZE_METHODS:
        raise LayoutError(f"binarize: method must be one of {_BINARIZE_METHODS}, got {method!r}.")
    g = np.asarray(grey, dtype=np.float32)
    if g.ndim != 2:
        raise LayoutError(
            f"binarize expects a 2-D grey image, got shape {g.shape}; call to_grey first."
        )
    empty = np.zeros(g.shape, dtype=bool)
    if min(g.shape) < 2:
        return empty
    lo, hi = (float(v) for v in np.percentile(g, [1, 99]))
    if hi - lo < min_contrast:
        # percentiles ignore a few extreme pixels; a small mark on a blank page is ink
        lo, hi = float(g.min()), float(g.max())
        if hi - lo < min_contrast:
            return empty
    threshold, separability, _ = _otsu(g)
    dark_border = float(np.mean(_border(g) < threshold))
    if 0.35 <= dark_border <= 0.65:
        light_ink = float(np.mean(g >= threshold)) < 0.5
    else:
        light_ink = dark_border > 0.5
    if method == "otsu" or (method == "auto" and separability >= min_separability):
        return g > threshold if light_ink else g < threshold
    radius = max(7, (window or min(g.shape) // 8) // 2)
    mean = _box_mean(g, radius)
    margin = local_margin * (hi - lo)
    return g > mean + margin if light_ink else g < mean - margin


def despeckle(ink: np.ndarray) -> np.ndarray:
    """Remove isolated ink pixels and isolated pairs (salt noise); returns a new mask.

    A pixel is removed when none of its 8 neighbours is ink, or when it and its only
    ink neighbour have no other neighbours. Strokes of printed text at 16 px and above
    are larger than that, so only noise goes.
    """
    a = np.asarray(ink, dtype=bool)
    if a.ndim != 2 or a.size == 0:
        return a.copy()
    n = _neighbour_count(a)
    single = a & (n == 1)
    pair = single & (_neighbour_count(single) == 1)
    return a & (n > 0) & ~pair


def _neighbour_count(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1).astype(np.uint8)
    h, w = a.shape
    total = np.zeros((h, w), dtype=np.uint8)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            total += p[dy : dy + h, dx : dx + w]
    return total


# ---------------------------------------------------------------------------
# runs


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` runs of True in a 1-D bool array."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=False)]


# ---------------------------------------------------------------------------
# lines


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
    runs = [cut for s, e in _runs(rows >= need) for cut in _cut_valley(rows[s:e], s, valley=valley)]
    if not runs:
        return []
    heights = np.array([e - s for s, e in runs])
    ref = float(np.median(heights[heights >= 0.5 * heights.max()]))
    widths = [e - s for r0, r1 in runs for s, e in _runs(a[r0:r1].any(axis=0))]
    if ref < 0.5 * float(np.median(widths)):
        # rows of flat strokes only (一二三 on its own): characters are about as high as
        # they are wide
        ref = float(np.median(widths))
    runs = _merge_small_runs(runs, ref, merge_gap=merge_gap, small=small_line)
    split: list[tuple[int, int]] = []
    for s, e in runs:
        if e - s > split_factor * ref:
            split.extend(_cut_profile(rows[s:e], s, ref))
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
        kept = [(c0, c1) for c0, c1 in _runs(cols > 0) if int(cols[c0:c1].sum()) >= 3]
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


def _cut_profile(profile: np.ndarray, offset: int, ref: float) -> list[tuple[int, int]]:
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


# ---------------------------------------------------------------------------
# characters


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
    for s, e in _runs(cols > 0):
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

    ``ink_line`` is the bool ink mask of one text line (a :func:`find_lines` box);
    ``line_height`` is the reference character height ``h`` in pixels (default:
    :func:`estimate_char_height` of the crop, the ideograph height). The caller adds the
    crop's offset to the boxes (:class:`ProjectionLayout` does). A blank crop gives [].

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
    touch, and the cuts of :func:`_cut_profile` at a 1.05 h
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
    candidates += [s - atom.x0 for s, _ in _cut_profile(cols, atom.x0, 1.05 * h)[1:]]
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


# ---------------------------------------------------------------------------
# the two stages, each registered and replaceable


def _settings_repr(obj: object) -> str:
    """``Name(setting=value, ...)`` from the object's attributes (equal settings, equal repr)."""
    args = ", ".join(f"{k}={v!r}" for k, v in vars(obj).items())
    return f"{type(obj).__name__}({args})"


class ProjectionLines:
    """Stage 1: text lines of an ink mask by row projections (:func:`find_lines`).

    Call it with a bool ink mask; it returns line boxes top to bottom. Registered as
    ``spacy_kexue.ProjectionLines.v1``; any callable ``mask -> list[Box]`` can replace it
    (``ProjectionLayout(line_finder=...)``).
    """

    def __init__(
        self, *, min_height: int = 4, row_fraction: float = 0.002, merge_gap: float = 0.4
    ) -> None:
        self.min_height = min_height
        self.row_fraction = row_fraction
        self.merge_gap = merge_gap

    def __repr__(self) -> str:
        return _settings_repr(self)

    def __call__(self, ink: np.ndarray) -> list[Box]:
        return find_lines(
            ink,
            min_height=self.min_height,
            row_fraction=self.row_fraction,
            merge_gap=self.merge_gap,
            denoise=False,
        )


class ProjectionChars:
    """Stage 2: character boxes of one line's ink mask by column projections, with the CJK /
    Latin width rules (:func:`estimate_char_height`, :func:`split_chars`).

    Call it with the bool ink mask of one line; it returns ``(boxes, space_before,
    char_height)`` with boxes relative to the crop. Registered as
    ``spacy_kexue.ProjectionChars.v1``; any callable with that contract can replace it
    (``ProjectionLayout(char_splitter=...)``).
    """

    def __init__(
        self,
        *,
        cjk_min_width: float = 0.75,
        cjk_max_width: float = 1.1,
        cjk_min_height: float = 0.85,
        bottom_tolerance: float = 0.1,
        wide: float = 1.15,
        space_gap: float = 0.25,
        space_ratio: float = 2.0,
    ) -> None:
        if not 0 < cjk_min_width <= cjk_max_width:
            raise LayoutError(
                f"ProjectionChars: need 0 < cjk_min_width <= cjk_max_width, got "
                f"{cjk_min_width} and {cjk_max_width}."
            )
        self.cjk_min_width = cjk_min_width
        self.cjk_max_width = cjk_max_width
        self.cjk_min_height = cjk_min_height
        self.bottom_tolerance = bottom_tolerance
        self.wide = wide
        self.space_gap = space_gap
        self.space_ratio = space_ratio

    def __repr__(self) -> str:
        return _settings_repr(self)

    def __call__(self, ink_line: np.ndarray) -> tuple[list[Box], list[bool], float]:
        h = estimate_char_height(ink_line)
        flags: list[bool] = []
        boxes = split_chars(ink_line, line_height=h, spaces=flags, **vars(self))
        return boxes, flags, h


def build_projection_lines(
    *, min_height: int = 4, row_fraction: float = 0.002, merge_gap: float = 0.4
) -> ProjectionLines:
    """``spacy_kexue.ProjectionLines.v1`` (misc registry): :class:`ProjectionLines`."""
    return ProjectionLines(min_height=min_height, row_fraction=row_fraction, merge_gap=merge_gap)


def build_projection_chars(
    *,
    cjk_min_width: float = 0.75,
    cjk_max_width: float = 1.1,
    cjk_min_height: float = 0.85,
    bottom_tolerance: float = 0.1,
    wide: float = 1.15,
    space_gap: float = 0.25,
    space_ratio: float = 2.0,
) -> ProjectionChars:
    """``spacy_kexue.ProjectionChars.v1`` (misc registry): :class:`ProjectionChars`."""
    return ProjectionChars(
        cjk_min_width=cjk_min_width,
        cjk_max_width=cjk_max_width,
        cjk_min_height=cjk_min_height,
        bottom_tolerance=bottom_tolerance,
        wide=wide,
        space_gap=space_gap,
        space_ratio=space_ratio,
    )


# ---------------------------------------------------------------------------
# the registered layout


class ProjectionLayout:
    """Projection-based layout: image array -> text lines -> character boxes.

    Call it with an H x W grey or H x W x 3/4 colour array (or a bool ink mask); it
    returns :class:`Line` objects top to bottom, characters left to right, in absolute
    pixel coordinates. A blank, flat or too small image gives ``[]``.

    The keyword arguments are the thresholds of :func:`to_grey` (``grey_method``),
    :func:`binarize`, :func:`find_lines` and :func:`split_chars`; the defaults are the
    tuned values. Registered as ``spacy_kexue.ProjectionLayout.v1`` (misc registry,
    :func:`build_projection_layout`); another layout is any callable with the same
    call signature. Its two stages are replaceable on their own: ``line_finder`` (default
    :class:`ProjectionLines` with ``min_line_height``, ``row_fraction``, ``merge_gap``) and
    ``char_splitter`` (default :class:`ProjectionChars` with the width-rule thresholds),
    registered as ``spacy_kexue.ProjectionLines.v1`` and ``spacy_kexue.ProjectionChars.v1``;
    a given stage replaces the thresholds of the built-in one.
    """

    def __init__(
        self,
        *,
        grey_method: str = "contrast",
        binarize_method: str = "auto",
        min_contrast: float = 0.15,
        min_separability: float = 0.75,
        denoise: bool = True,
        min_line_height: int = 4,
        row_fraction: float = 0.002,
        merge_gap: float = 0.4,
        cjk_min_width: float = 0.75,
        cjk_max_width: float = 1.1,
        cjk_min_height: float = 0.85,
        bottom_tolerance: float = 0.1,
        wide: float = 1.15,
        space_gap: float = 0.25,
        space_ratio: float = 2.0,
        line_finder: Callable[[np.ndarray], list[Box]] | None = None,
        char_splitter: Callable[[np.ndarray], tuple[list[Box], list[bool], float]] | None = None,
    ) -> None:
        if grey_method not in _GREY_METHODS:
            raise LayoutError(
                f"ProjectionLayout: grey_method must be one of {_GREY_METHODS}, got {grey_method!r}."
            )
        if binarize_method not in _BINARIZE_METHODS:
            raise LayoutError(
                f"ProjectionLayout: binarize_method must be one of {_BINARIZE_METHODS}, "
                f"got {binarize_method!r}."
            )
        if not 0 < cjk_min_width <= cjk_max_width:
            raise LayoutError(
                f"ProjectionLayout: need 0 < cjk_min_width <= cjk_max_width, got "
                f"{cjk_min_width} and {cjk_max_width}."
            )
        self.grey_method = grey_method
        self.binarize_method = binarize_method
        self.min_contrast = min_contrast
        self.min_separability = min_separability
        self.denoise = denoise
        self.min_line_height = min_line_height
        self.row_fraction = row_fraction
        self.merge_gap = merge_gap
        self.cjk_min_width = cjk_min_width
        self.cjk_max_width = cjk_max_width
        self.cjk_min_height = cjk_min_height
        self.bottom_tolerance = bottom_tolerance
        self.wide = wide
        self.space_gap = space_gap
        self.space_ratio = space_ratio
        # the two stages: given, or built from the thresholds above
        self.line_finder = line_finder or ProjectionLines(
            min_height=min_line_height, row_fraction=row_fraction, merge_gap=merge_gap
        )
        self.char_splitter = char_splitter or ProjectionChars(
            cjk_min_width=cjk_min_width,
            cjk_max_width=cjk_max_width,
            cjk_min_height=cjk_min_height,
            bottom_tolerance=bottom_tolerance,
            wide=wide,
            space_gap=space_gap,
            space_ratio=space_ratio,
        )

    def __repr__(self) -> str:
        return _settings_repr(self)

    def ink(self, image: np.ndarray) -> np.ndarray:
        """The ink mask the layout works on (grey, binarised, despeckled)."""
        arr = np.asarray(image)
        if arr.ndim == 2 and arr.dtype == np.bool_:
            ink = arr
        else:
            grey = to_grey(arr, method=self.grey_method)
            ink = binarize(
                grey,
                method=self.binarize_method,
                min_contrast=self.min_contrast,
                min_separability=self.min_separability,
            )
        return despeckle(ink) if self.denoise else ink

    def __call__(self, image: np.ndarray) -> list[Line]:
        """Lines (top to bottom) with character boxes (left to right) of an image array."""
        ink = self.ink(image)
        out: list[Line] = []
        for lbox in self.line_finder(ink):
            crop = ink[lbox.y0 : lbox.y1, lbox.x0 : lbox.x1]
            chars, flags, h = self.char_splitter(crop)
            if not chars:
                continue
            chars = [c.shift(lbox.x0, lbox.y0) for c in chars]
            box = Box(
                min(c.x0 for c in chars),
                min(c.y0 for c in chars),
                max(c.x1 for c in chars),
                max(c.y1 for c in chars),
            )
            out.append(Line(box=box, chars=chars, space_before=flags, char_height=h))
        return out


def build_projection_layout(
    *,
    grey_method: str = "contrast",
    binarize_method: str = "auto",
    min_contrast: float = 0.15,
    min_separability: float = 0.75,
    denoise: bool = True,
    min_line_height: int = 4,
    row_fraction: float = 0.002,
    merge_gap: float = 0.4,
    cjk_min_width: float = 0.75,
    cjk_max_width: float = 1.1,
    cjk_min_height: float = 0.85,
    bottom_tolerance: float = 0.1,
    wide: float = 1.15,
    space_gap: float = 0.25,
    space_ratio: float = 2.0,
    line_finder: Callable[[np.ndarray], list[Box]] | None = None,
    char_splitter: Callable[[np.ndarray], tuple[list[Box], list[bool], float]] | None = None,
) -> ProjectionLayout:
    """Build a :class:`ProjectionLayout`: ``spacy_kexue.ProjectionLayout.v1`` in the
    ``misc`` registry (entry point group ``spacy_misc``). The keyword arguments and their
    tuned defaults are :class:`ProjectionLayout`'s."""
    return ProjectionLayout(
        grey_method=grey_method,
        binarize_method=binarize_method,
        min_contrast=min_contrast,
        min_separability=min_separability,
        denoise=denoise,
        min_line_height=min_line_height,
        row_fraction=row_fraction,
        merge_gap=merge_gap,
        cjk_min_width=cjk_min_width,
        cjk_max_width=cjk_max_width,
        cjk_min_height=cjk_min_height,
        bottom_tolerance=bottom_tolerance,
        wide=wide,
        space_gap=space_gap,
        space_ratio=space_ratio,
        line_finder=line_finder,
        char_splitter=char_splitter,
    )
