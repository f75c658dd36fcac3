"""A character's pixels -> the recogniser's input: the glyph normalisations.

Glyph images are 2-D ``uint8`` arrays with **ink = 255 on a 0 background** (the model's input
polarity); whatever the polarity of a page, the reader turns a character's cut into this form
before normalising it.

:func:`normalize_em` is the one function both training (:class:`~spacy_kexue.ocr.train.GlyphBank`)
and inference (:class:`~spacy_kexue.ocr.reader.OCRReader`) use to turn a character's pixels into
the model's input: it scales by the em (the font size) and keeps the ink's size and place in the
em box, using the em box position that :func:`~spacy_kexue.ocr.render.glyph_crop` returns (the
reader estimates it from the line). :data:`EM_WINDOW` is the part of the em box it keeps; the
recogniser records it with its weights. :func:`normalize_glyph` is the method's own rule
(METHODS.md, section 5: crop, pad to square, resize to 46, pad to 48), kept with
:func:`~spacy_kexue.ocr.render.render_glyph` for comparison: it throws away size and position, so
``，`` and ``,``, ``。`` and ``o``, ``一`` and ``-`` become near-identical images.

Runtime code: the reader and the model import this module, the training renderer
(:mod:`spacy_kexue.ocr.render`) builds on it. PIL is imported lazily, inside the functions.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import KexueError

__all__ = ["EM_WINDOW", "GlyphError", "normalize_em", "normalize_glyph"]

#: Rows of the em box that :func:`normalize_em` maps onto the glyph's height, in em from the em
#: box's top: room above for accents and below for descenders and low commas (``g``, ``，``).
EM_WINDOW: tuple[float, float] = (-0.05, 1.10)


class GlyphError(KexueError, ValueError):
    """A character cannot be rendered (no glyph, no ink, line break...) or a glyph array cannot be
    normalised (wrong shape or dtype)."""


def ink_bbox(mask: np.ndarray, threshold: int = 0) -> tuple[int, int, int, int] | None:
    """Half-open ``(x0, y0, x1, y1)`` of the pixels above ``threshold``; None when there are none."""
    rows = np.flatnonzero((mask > threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((mask > threshold).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _as_ink_image(crop: np.ndarray, name: str = "crop") -> np.ndarray:
    crop = np.asarray(crop)
    if crop.ndim != 2:
        raise GlyphError(
            f"{name} must be a 2-D greyscale array (ink = 255 on 0), got shape {crop.shape}; "
            "convert colour images to grey first."
        )
    if crop.dtype == np.bool_:
        return crop.astype(np.uint8) * 255
    if crop.dtype != np.uint8:
        raise GlyphError(
            f"{name} must be uint8 (or bool), got {crop.dtype}; scale to 0..255 and cast first."
        )
    return crop


def _tight_ink(crop: np.ndarray, threshold: int) -> tuple[np.ndarray, int] | None:
    """``crop`` (checked) cut to the box of its pixels above ``threshold``, and the box's first
    row in ``crop``; None when there is no ink."""
    arr = _as_ink_image(crop)
    bbox = ink_bbox(arr, threshold)
    if bbox is None:
        return None
    x0, y0, x1, y1 = bbox
    return arr[y0:y1, x0:x1], y0


def normalize_glyph(
    crop: np.ndarray,
    size: int = 48,
    inner: int = 46,
    *,
    threshold: int = 0,
    binary: bool = False,
) -> np.ndarray:
    """The method's input normalisation: crop to the ink, pad to a square, resize to ``inner``,
    pad to ``size`` (METHODS.md section 5). Use it at training *and* inference time.

    ``crop``: 2-D uint8 (or bool) array, ink = 255 on 0; pixels above ``threshold`` are ink for
    the crop step. The ink box is scaled, aspect kept, until its longer side is ``inner``
    (bilinear, antialiased when shrinking) and centred in a ``size`` x ``size`` zero canvas. That
    is the method's pad-to-square-then-resize, with the padding done after scaling: padding
    first would put an odd pixel of a small crop (a 3 x 2 dot) off centre by half a *source*
    pixel, i.e. by several output pixels. ``binary=True`` thresholds the result at 128 to
    {0, 255} (the method's binary inputs). No ink gives an all-zero image. Returns uint8
    ``(size, size)``.
    """
    from PIL import Image

    if not 1 <= inner <= size:
        raise GlyphError(f"Need 1 <= inner <= size, got inner={inner}, size={size}.")
    out = np.zeros((size, size), dtype=np.uint8)
    tight = _tight_ink(crop, threshold)
    if tight is None:
        return out
    ink, _ = tight
    h, w = ink.shape
    scale = inner / max(h, w)
    new_w, new_h = max(1, min(inner, round(w * scale))), max(1, min(inner, round(h * scale)))
    resized = np.asarray(
        Image.fromarray(ink).resize((new_w, new_h), Image.Resampling.BILINEAR), dtype=np.uint8
    )
    top = (size - inner) // 2 + (inner - new_h) // 2
    left = (size - inner) // 2 + (inner - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    if binary:
        out = np.where(out >= 128, 255, 0).astype(np.uint8)
    return out


def normalize_em(
    crop: np.ndarray,
    *,
    em_px: float,
    top_em: float,
    size: int = 48,
    window: tuple[float, float] = EM_WINDOW,
    threshold: int = 0,
) -> np.ndarray:
    """Normalise a character by its font size instead of its own ink box: the recogniser's input.

    :func:`normalize_glyph` scales every glyph to fill the square, so ``，`` and ``,``, ``。`` and
    ``o``, ``一`` and ``-`` come out alike. Here the scale is fixed by the em (the font size):
    rows ``window`` (em units from the top of the character's em box) fill the ``size`` rows,
    the ink keeps its height and its vertical position in the em box, and it is centred
    horizontally (ink wider than the window is shrunk to fit, its vertical centre kept). Ink
    outside the window is clipped.

    crop: 2-D uint8 (or bool) array, ink = 255 on 0; pixels above ``threshold`` are ink.
    em_px: the font size in pixels of ``crop`` (the em box's side).
    top_em: where ``crop``'s first row lies, in em below the top of the em box. Training glyphs
        know it (:class:`GlyphCrop`'s ``box``); the reader estimates it from the line.
    RETURNS: uint8 ``(size, size)``; no ink gives zeros.
    """
    from PIL import Image

    if not em_px > 0 or not math.isfinite(em_px) or not math.isfinite(top_em):
        raise GlyphError(f"Need a finite em_px > 0 and top_em, got {em_px!r} and {top_em!r}.")
    lo, hi = window
    if not hi > lo:
        raise GlyphError(f"window must be (top, bottom) with bottom > top, got {window!r}.")
    out = np.zeros((size, size), dtype=np.uint8)
    tight = _tight_ink(crop, threshold)
    if tight is None:
        return out
    ink, y0 = tight
    h, w = ink.shape
    scale = size / ((hi - lo) * em_px)  # output pixels per input pixel
    top = (top_em + y0 / em_px - lo) * em_px * scale
    if w * scale > size:  # wider than the window: shrink, keep the vertical centre
        centre = top + h * scale / 2
        scale = size / w
        top = centre - h * scale / 2
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = np.asarray(
        Image.fromarray(ink).resize((new_w, new_h), Image.Resampling.BILINEAR), dtype=np.uint8
    )
    top = int(round(top))
    left = (size - new_w) // 2
    src_top, dst_top = max(0, -top), max(0, top)
    rows = min(new_h - src_top, size - dst_top)
    if rows > 0:
        out[dst_top : dst_top + rows, left : left + new_w] = resized[src_top : src_top + rows]
    return out
