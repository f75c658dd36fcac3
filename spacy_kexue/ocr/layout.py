"""Layout analysis for printed horizontal text: image -> text lines -> character boxes.

The method follows kexue.fm's "OCR技术浅探" (METHODS.md, section 5): projections of a binary
ink image find text lines (rows with ink) and character candidates (columns with ink); the
candidates are then grouped into characters. :class:`ProjectionLayout`, registered as
``spacy_kexue.ProjectionLayout.v1``, runs the steps; each step is a public function in a module
of its own (pure numpy), and the two stages are registered and replaceable on their own
(:class:`ProjectionLines`, :class:`ProjectionChars`):

1. :func:`~spacy_kexue.ocr.ink.to_grey` (:mod:`~spacy_kexue.ocr.ink`) - an image array to
   float grey in [0, 1] (the colour channel with the most contrast, so red on green stays
   readable).
2. :func:`~spacy_kexue.ocr.ink.binarize` - Otsu threshold; polarity from the image border
   (dark text on a light background or light text on a dark/coloured one); a local-mean
   threshold when the global one cannot separate the classes (strong shading).
3. :func:`~spacy_kexue.ocr.ink.despeckle` - isolated ink pixels and pairs (salt noise) are
   removed.
4. :func:`~spacy_kexue.ocr.lines.find_lines` (:mod:`~spacy_kexue.ocr.lines`) - horizontal
   projection: row runs with ink are lines; small runs (i-dots, the strokes of 一二三) join
   their line, touching lines are cut apart.
5. :func:`~spacy_kexue.ocr.chars.split_chars` (:mod:`~spacy_kexue.ocr.chars`) - vertical
   projection inside a line: runs of ink columns ("atoms") are grouped into characters by
   dynamic programming. The pieces of a CJK character with an inner white column (川, 小, 儿,
   外, 北, 你, 们, 忄 ...) merge back when they form a full-size ideograph box standing on the
   ideographs' bottom row; Latin letters and digits (narrower, on a baseline above that row)
   and punctuation (，。、 narrow and low) stay single; over-wide runs (touching characters)
   are cut at near-empty columns into near-square pieces. Word-space candidates are flagged.

The results are :class:`~spacy_kexue.ocr.boxes.Line` objects, each holding its
:class:`~spacy_kexue.ocr.boxes.Box` objects (:mod:`~spacy_kexue.ocr.boxes`); the runs and cuts
both stages share are in :mod:`~spacy_kexue.ocr.profiles`. This module re-exports the public names
of those modules, so ``from spacy_kexue.ocr.layout import Box, find_lines`` keeps working.

Sizes are relative to ``h``, the ideograph height of the line
(:func:`~spacy_kexue.ocr.chars.estimate_char_height`). Measured on synthetic lines drawn with
Noto Sans CJK SC, WenQuanYi Micro Hei and AR PL UMing at 24-48 px: 99.3-100% of true character
boxes matched by a box with IoU >= 0.5 on mixed Chinese/Latin/digit sentences, 99.9-100% on
Chinese review sentences, all 3,755 GB2312 level-1 characters boxed alone; lines counted right
with 0.15 em leading, on coloured and inverted backgrounds, under 1% salt noise, blur and
shading. Weak spots: glyphs touching over long stretches (tracking -0.08 em: 89-94%), Latin
letters whose projections overlap (``yt``, ``ft``, ``TA``), text below 20 px, Latin-only lines
without any x-height letter (``ill``, ``Hi``), which look like the pieces of 川 or 儿.

All boxes are half-open pixel boxes ``[x0, x1) x [y0, y1)``.

The three builders are registered in spaCy's ``misc`` registry twice over, by their decorators
here and by the ``spacy_misc`` entry points in setup.cfg, so importing this module imports spaCy
(and with it thinc and torch); the step modules above stay pure numpy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from spacy.util import registry

from .boxes import Box, LayoutError, Line
from .chars import estimate_char_height, split_chars
from .ink import BINARIZE_METHODS, GREY_METHODS, binarize, despeckle, to_grey
from .lines import find_lines

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


@registry.misc("spacy_kexue.ProjectionLines.v1")
def build_projection_lines(
    *, min_height: int = 4, row_fraction: float = 0.002, merge_gap: float = 0.4
) -> ProjectionLines:
    """``spacy_kexue.ProjectionLines.v1`` (misc registry): :class:`ProjectionLines`."""
    return ProjectionLines(min_height=min_height, row_fraction=row_fraction, merge_gap=merge_gap)


@registry.misc("spacy_kexue.ProjectionChars.v1")
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
        if grey_method not in GREY_METHODS:
            raise LayoutError(
                f"ProjectionLayout: grey_method must be one of {GREY_METHODS}, got {grey_method!r}."
            )
        if binarize_method not in BINARIZE_METHODS:
            raise LayoutError(
                f"ProjectionLayout: binarize_method must be one of {BINARIZE_METHODS}, "
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


@registry.misc("spacy_kexue.ProjectionLayout.v1")
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
