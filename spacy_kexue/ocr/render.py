"""Render characters and lines from fonts: the recogniser's synthetic training images.

Conventions:

- Glyph images (:func:`render_glyph`, :func:`glyph_crop`) are 2-D ``uint8`` arrays with **ink =
  255 on a 0 background** (the model's input polarity), as the normalisations of
  :mod:`spacy_kexue.ocr.glyph` take and give them.
- Line images (:func:`render_line`) imitate a page: dark ink on light paper by default
  (``fg=0, bg=255``); pass other colours for screenshots (tuples give an RGB image).
- Boxes are half-open pixel boxes ``(x0, y0, x1, y1)``: columns ``x0 <= x < x1``, rows
  ``y0 <= y < y1`` (as in :mod:`spacy_kexue.ocr.boxes`).

:func:`glyph_crop` gives a character's ink and its place in the em box, which
:func:`~spacy_kexue.ocr.glyph.normalize_em` (the normalisation training and the reader share)
needs; :func:`render_glyph` is the method's own glyph
(:func:`~spacy_kexue.ocr.glyph.normalize_glyph`), kept for comparison. Both normalisations,
:data:`~spacy_kexue.ocr.glyph.EM_WINDOW` and :class:`~spacy_kexue.ocr.glyph.GlyphError` live in
:mod:`spacy_kexue.ocr.glyph`, which the runtime reader imports instead of this training module
(they are re-exported here, where they used to live).

Fonts are loaded through :func:`load_font`, which refuses fonts reserved for evaluation
(:func:`spacy_kexue.ocr.fonts.check_allowed`) unless the caller passes ``allow_reserved=True``
(evaluation code only). PIL is imported lazily, inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .fonts import FontSpec, check_allowed, coverage
from .glyph import EM_WINDOW, GlyphError, ink_bbox, normalize_em, normalize_glyph

if TYPE_CHECKING:  # pragma: no cover
    from PIL import ImageFont

__all__ = [
    "EM_TOP",
    "FONT_PX_RANGE",
    "GlyphCrop",
    "EM_WINDOW",
    "GlyphError",
    "normalize_em",
    "glyph_crop",
    "load_font",
    "normalize_glyph",
    "render_glyph",
    "render_line",
]

#: Font sizes of the method's synthetic glyphs (46-50 px), used when ``font_px`` is drawn at random.
FONT_PX_RANGE: tuple[int, int] = (46, 50)

#: Top of the ideographic em box above the baseline, in em (the OpenType default for CJK fonts:
#: the em box spans 0.88 em above to 0.12 em below the baseline).
EM_TOP: float = 0.88

# Line breaks cannot be rendered on one line; every other whitespace must be ' ' or U+3000.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class GlyphCrop(NamedTuple):
    """A rendered character before normalisation.

    ``ink``: the tight crop of its ink (uint8, ink = 255 on 0). ``box``: the ink box
    ``(x0, y0, x1, y1)`` in em units (the font size in pixels), with the origin at the top-left
    corner of the character's ideographic em box: the pen position, :data:`EM_TOP` em above the
    baseline. A hanzi fills about (0.05, 0.05, 0.95, 0.95); ``，`` sits low (y0 > 0.5), ``一`` in
    the middle (y0 ~ 0.45). ``advance``: the pen advance in em (1.0 for hanzi and full-width
    punctuation, about 0.2-0.7 for Latin letters, digits and ASCII punctuation).
    """

    ink: np.ndarray
    box: tuple[float, float, float, float]
    advance: float


@lru_cache(maxsize=64)
def _freetype(path: str, index: int, px: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(path, size=px, index=index, layout_engine=ImageFont.Layout.BASIC)
    except OSError as err:
        raise GlyphError(
            f"{path} (face {index}): cannot open the font at {px} px ({err}). Run "
            "spacy_kexue.ocr.fonts.find_fonts() to list the installed fonts."
        ) from None


def load_font(
    font: FontSpec, font_px: int, *, allow_reserved: bool = False
) -> ImageFont.FreeTypeFont:
    """The PIL font of ``font`` at ``font_px`` pixels (cached, up to 64 faces and sizes).

    Raises :class:`~spacy_kexue.ocr.fonts.ReservedFontError` for a font reserved for evaluation
    unless ``allow_reserved=True`` (evaluation code only: never train or tune on those fonts).
    """
    if not allow_reserved:
        check_allowed(font)
    if int(font_px) != font_px or font_px < 1:
        raise GlyphError(f"font_px must be a positive integer, got {font_px!r}.")
    return _freetype(str(font.path), int(font.index), int(font_px))


def _check_glyphs(text: str, font: FontSpec) -> None:
    chars = {ch for ch in text if not ch.isspace()}
    missing = chars - coverage(font, chars)
    if missing:
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in sorted(missing)[:10])
        raise GlyphError(
            f"{font.path} ({font.name}) has no glyph for {shown}"
            f"{' ...' if len(missing) > 10 else ''}. Use spacy_kexue.ocr.fonts.coverage() to "
            "keep only the characters a font covers, or render them with another font."
        )


def glyph_crop(
    ch: str, font: FontSpec, *, font_px: int = 48, allow_reserved: bool = False
) -> GlyphCrop:
    """Render ``ch`` at ``font_px`` pixels and return its ink crop and box (see :class:`GlyphCrop`).

    Raises :class:`GlyphError` when ``ch`` is not one character, when the font has no glyph for it
    (a font would otherwise draw a ``.notdef`` box) or when the glyph has no ink (whitespace).
    """
    from PIL import Image, ImageDraw

    if not isinstance(ch, str) or len(ch) != 1:
        raise GlyphError(f"glyph_crop renders one character, got {ch!r}.")
    pil_font = load_font(font, font_px, allow_reserved=allow_reserved)
    _check_glyphs(ch, font)
    ascent, descent = pil_font.getmetrics()
    line_h = ascent + descent
    advance = pil_font.getlength(ch)
    margin = int(font_px)  # room for ink outside the cell (overhangs, odd metrics)
    canvas = Image.new("L", (math.ceil(advance) + 2 * margin, line_h + 2 * margin), 0)
    ImageDraw.Draw(canvas).text((margin, margin + ascent), ch, font=pil_font, fill=255, anchor="ls")
    arr = np.asarray(canvas, dtype=np.uint8)
    bbox = ink_bbox(arr)
    if bbox is None:
        raise GlyphError(
            f"{ch!r} (U+{ord(ch):04X}) has no ink in {font.name} ({font.path}); whitespace and "
            "empty glyphs cannot be recogniser classes."
        )
    x0, y0, x1, y1 = bbox
    em = float(font_px)
    top = margin + ascent - EM_TOP * em  # the em box's top row on the canvas
    box = ((x0 - margin) / em, (y0 - top) / em, (x1 - margin) / em, (y1 - top) / em)
    return GlyphCrop(arr[y0:y1, x0:x1].copy(), box, advance / em)


def _shift(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``img`` moved by ``(dx, dy)`` pixels, zero filled; ink pushed past the edge is lost."""
    out = np.zeros_like(img)
    h, w = img.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src = img[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def render_glyph(
    ch: str,
    font: FontSpec,
    *,
    size: int = 48,
    inner: int = 46,
    font_px: int | None = None,
    offset: tuple[int, int] | None = None,
    rng: np.random.Generator | None = None,
    binary: bool = False,
    allow_reserved: bool = False,
) -> np.ndarray:
    """One synthetic training glyph: uint8 ``(size, size)``, ink = 255 on 0.

    ``ch`` is rendered at ``font_px`` pixels (:func:`glyph_crop`), normalised by
    :func:`normalize_glyph` (the method's normalisation) and moved by ``offset = (dx, dy)``
    pixels (zero filled), which imitates an imperfect character cut. Defaults without ``rng``:
    ``font_px=48``, no offset. With ``rng``, a ``None`` ``font_px`` is drawn from 46-50 (the
    method's sizes) and a ``None`` offset from {-1, 0, 1}^2 (keeps the ink inside the 48 x 48
    canvas). Identical arguments and generator state give identical images.
    """
    if font_px is None:
        font_px = (
            int(rng.integers(FONT_PX_RANGE[0], FONT_PX_RANGE[1] + 1)) if rng is not None else 48
        )
    if offset is None:
        offset = tuple(int(v) for v in rng.integers(-1, 2, size=2)) if rng is not None else (0, 0)
    crop = glyph_crop(ch, font, font_px=font_px, allow_reserved=allow_reserved)
    img = normalize_glyph(crop.ink, size, inner, binary=binary)
    dx, dy = offset
    return _shift(img, int(dx), int(dy)) if dx or dy else img


Colour = int | Sequence[int]


def render_line(
    text: str,
    font: FontSpec,
    *,
    font_px: int = 32,
    padding: int = 4,
    fg: Colour = 0,
    bg: Colour = 255,
    letter_spacing: float = 0.0,
    box: str = "cell",
    allow_reserved: bool = False,
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Render one line of text; return ``(image, boxes)`` with one box per non-space character.

    Characters are drawn one by one at their pen positions (advance = ``font.getlength``, plus
    ``letter_spacing`` pixels after each character; no kerning), so the boxes are exact:

    - ``box="cell"``: the character's layout cell, from its pen position to the next
      (``x1`` of one box = ``x0`` of the next when ``letter_spacing == 0``), rows from the top of
      the ascent to the bottom of the descent;
    - ``box="ink"``: the tight box of the character's own ink (clipped to the image).

    The image is ``padding`` pixels wider than the text on every side: uint8 ``(H, W)`` when
    ``fg`` and ``bg`` are grey levels, ``(H, W, 3)`` when either is an RGB tuple. Spaces
    (``' '``, U+3000) advance the pen and get no box; line breaks, tabs and characters the font
    has no glyph for raise :class:`GlyphError`. Negative ``letter_spacing`` may make cells overlap.
    """
    from PIL import Image, ImageDraw

    if box not in ("cell", "ink"):
        raise GlyphError(f"box must be 'cell' or 'ink', got {box!r}.")
    if padding < 0:
        raise GlyphError(f"padding must be >= 0, got {padding}.")
    for pos, ch in enumerate(text):
        if ch in _LINE_BREAKS or (ch.isspace() and ch not in " \u3000"):
            raise GlyphError(
                f"{ch!r} at position {pos}: render_line draws a single line; split the text at "
                "line breaks and replace tabs and other whitespace by spaces."
            )
    pil_font = load_font(font, font_px, allow_reserved=allow_reserved)
    _check_glyphs(text, font)
    ascent, descent = pil_font.getmetrics()
    line_h = ascent + descent

    pens: list[tuple[str, float, float]] = []  # (char, pen x, advance)
    pen = 0.0
    for ch in text:
        advance = float(font_px) if ch == "\u3000" else pil_font.getlength(ch)
        pens.append((ch, pen, advance))
        pen += advance + letter_spacing
    extent = max((x + advance for _, x, advance in pens), default=0.0)
    width = max(0, math.ceil(extent)) + 2 * padding
    height = line_h + 2 * padding

    rgb = not (isinstance(fg, int) and isinstance(bg, int))
    mode = "RGB" if rgb else "L"

    def colour(c: Colour) -> int | tuple[int, ...]:
        if not rgb:
            return int(c)  # type: ignore[arg-type]
        return (int(c),) * 3 if isinstance(c, int) else tuple(int(v) for v in c)

    image = Image.new(mode, (width, height), colour(bg))
    draw = ImageDraw.Draw(image)
    baseline = padding + ascent
    boxes: list[tuple[int, int, int, int]] = []
    for ch, x, advance in pens:
        if ch.isspace():
            continue
        x0 = padding + round(x)
        draw.text((x0, baseline), ch, font=pil_font, fill=colour(fg), anchor="ls")
        if box == "cell":
            boxes.append((x0, padding, padding + round(x + advance), padding + line_h))
        else:
            boxes.append(_ink_box(ch, pil_font, x0, baseline, width, height))
    return np.asarray(image, dtype=np.uint8), boxes


def _ink_box(
    ch: str, pil_font: ImageFont.FreeTypeFont, x: int, baseline: int, width: int, height: int
) -> tuple[int, int, int, int]:
    """The ink box of ``ch`` drawn at ``(x, baseline)`` in a ``width`` x ``height`` image."""
    from PIL import Image, ImageDraw

    size = pil_font.size
    ascent, descent = pil_font.getmetrics()
    margin = int(size)
    scratch = Image.new(
        "L", (math.ceil(pil_font.getlength(ch)) + 2 * margin, ascent + descent + 2 * margin), 0
    )
    ImageDraw.Draw(scratch).text(
        (margin, margin + ascent), ch, font=pil_font, fill=255, anchor="ls"
    )
    bbox = ink_bbox(np.asarray(scratch))
    if bbox is None:  # an empty glyph: a zero-width box at the pen position
        return (x, baseline, x, baseline)
    dx, dy = x - margin, baseline - margin - ascent
    x0, y0, x1, y1 = bbox
    return (
        min(max(x0 + dx, 0), width),
        min(max(y0 + dy, 0), height),
        min(max(x1 + dx, 0), width),
        min(max(y1 + dy, 0), height),
    )
