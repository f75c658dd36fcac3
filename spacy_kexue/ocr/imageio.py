"""Safe image loading for the OCR front end: anything image-like to an H×W×3 uint8 RGB array.

PIL is imported inside the functions, so ``import spacy_kexue`` never imports it.

What :func:`load_image` does with each kind of input:

- paths (``str`` / ``os.PathLike``), ``bytes``, binary file objects: opened with PIL; the
  pixel count is checked from the header *before* any pixel is decoded; the file is then
  decoded in full, so a truncated file is an error (``ImageFile.LOAD_TRUNCATED_IMAGES`` is
  never set); the EXIF orientation is applied; multi-frame files give their first frame.
- PIL images: as above (orientation applied, pixels checked, decoded).
- numpy arrays: H×W, H×W×1, H×W×3 or H×W×4; uint8 as is, uint16 scaled from 0..65535,
  bool (True = white), floats in 0..1, other integer types when their values lie in 0..255.

Modes: transparency (RGBA, LA, PA, palette images with a transparent index or alpha
palette, 4-channel arrays) is composited on white; 16-bit greyscale (I;16*, and I, which
PIL uses for 16-bit PNG/TIFF) is scaled from 0..65535 to 0..255 instead of clipped; F
(float) images are read as 0..1; 1-bit, L, CMYK, YCbCr, ... are converted by PIL.

Every problem raises :class:`ImageError` naming the source and saying what to do.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KexueError

__all__ = ["DEFAULT_MAX_PIXELS", "ImageError", "describe_source", "load_image"]

DEFAULT_MAX_PIXELS = 50_000_000
"""Default limit on width × height (a 7000×7000 page scan is 49 M pixels)."""


class ImageError(KexueError, ValueError):
    """An image cannot be read. ``source`` is what was given (a path, bytes, ...)."""

    def __init__(self, message: str, *, source: Any = None):
        super().__init__(f"{describe_source(source)}: {message}")
        self.source = source


def describe_source(source: Any) -> str:
    """A short human-readable name for an image source, for messages."""
    if isinstance(source, (str, os.PathLike)):
        return f"Image file {os.fspath(source)}"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"Image bytes ({len(source)} bytes)"
    if isinstance(source, np.ndarray):
        return f"Image array (shape {source.shape}, dtype {source.dtype})"
    name = getattr(source, "filename", None) or getattr(source, "name", None)
    if type(source).__module__.startswith("PIL."):
        return f"PIL image {name}" if name else "PIL image"
    if hasattr(source, "read"):
        return f"Image file object {name}" if isinstance(name, str) else "Image file object"
    return f"Image source of type {type(source).__name__}"


def load_image(source: Any, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read ``source`` as an H×W×3 uint8 RGB array (a new array, never a view of the input).

    ``source``: a path (``str`` / ``Path``), ``bytes``, a binary file object, a PIL image,
    or a numpy array (see the module docstring for the accepted modes and dtypes).
    ``max_pixels``: refuse images with more than this many pixels (width × height), checked
    from the file header before decoding; ``None`` turns this check off. PIL's own limit
    (``PIL.Image.MAX_IMAGE_PIXELS``) still applies, and its decompression-bomb error and
    warning are raised as :class:`ImageError` too.

    Raises :class:`ImageError` for a missing or unreadable file, data that is not an image,
    a truncated file, too many pixels, an image with no pixels, or an unsupported mode
    or dtype; ``TypeError`` for a source of another type.
    """
    if max_pixels is not None and max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1 or None, got {max_pixels}.")
    if isinstance(source, np.ndarray):
        return _from_array(source, source, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source), source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_stream(io.BytesIO(bytes(source)), source, max_pixels)
    if _is_pil_image(source):
        return _decode(source, source, max_pixels)
    if hasattr(source, "read"):
        stream = source
        seekable = getattr(source, "seekable", None)
        if not (callable(seekable) and seekable()):
            stream = io.BytesIO(source.read())
        return _from_stream(stream, source, max_pixels)
    raise TypeError(
        f"Cannot read an image from a {type(source).__name__}: pass a path, bytes, a binary "
        "file object, a PIL image or a numpy array."
    )


# -- files ------------------------------------------------------------------------


def _is_pil_image(obj: Any) -> bool:
    if not type(obj).__module__.startswith("PIL."):
        return False
    from PIL import Image

    return isinstance(obj, Image.Image)


def _from_path(path: Path, source: Any, max_pixels: int | None) -> np.ndarray:
    if not path.exists():
        raise ImageError("does not exist; check the path.", source=source)
    if path.is_dir():
        raise ImageError(
            "is a directory, not an image file; pass the image files in it.", source=source
        )
    try:
        stream = open(path, "rb")  # closed by the with below
    except OSError as err:
        raise ImageError(f"cannot be opened ({err.strerror}).", source=source) from None
    with stream:
        return _from_stream(stream, source, max_pixels)


def _from_stream(stream: Any, source: Any, max_pixels: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream)
        except UnidentifiedImageError:
            raise ImageError(
                "is not an image PIL can read (or its format is not supported); pass a PNG, "
                "JPEG, TIFF, BMP, GIF or WEBP file.",
                source=source,
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise _too_many_pixels(source, str(err)) from None
        except Exception as err:  # malformed headers raise all sorts of things
            raise ImageError(
                f"cannot be read ({type(err).__name__}: {err}).", source=source
            ) from None
        with image:
            return _decode(image, source, max_pixels)


def _too_many_pixels(source: Any, detail: str) -> ImageError:
    return ImageError(
        f"has too many pixels ({detail}). Downscale the image, or raise max_pixels "
        "(and PIL.Image.MAX_IMAGE_PIXELS) if you trust it.",
        source=source,
    )


def _check_size(width: int, height: int, source: Any, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"has no pixels (size {width}×{height}).", source=source)
    if max_pixels is not None and width * height > max_pixels:
        raise _too_many_pixels(
            source, f"{width}×{height} = {width * height} pixels, more than max_pixels={max_pixels}"
        )


def _decode(image: Any, source: Any, max_pixels: int | None) -> np.ndarray:
    """Check the size from the header, decode fully, orient, convert to RGB uint8."""
    from PIL import Image, ImageOps

    width, height = image.size
    _check_size(width, height, source, max_pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise _too_many_pixels(source, str(err)) from None
        except (
            OSError,
            SyntaxError,
            ValueError,
            EOFError,
            struct.error,
            zlib.error,
            IndexError,
        ) as err:
            raise ImageError(
                f"cannot be decoded; the file is probably truncated or damaged ({err}). "
                "Copy or download it again.",
                source=source,
            ) from None
    try:
        oriented = ImageOps.exif_transpose(image)
    except Exception as err:  # broken EXIF must not make a readable image unreadable
        warnings.warn(f"{describe_source(source)}: EXIF orientation ignored ({err}).", stacklevel=3)
        oriented = image
    _check_size(oriented.size[0], oriented.size[1], source, max_pixels)
    return _pil_to_rgb(oriented, source)


def _pil_to_rgb(image: Any, source: Any) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.asarray(image).astype(np.int64)
        return _grey_to_rgb(_scale_16bit(np.clip(grey, 0, 65535)))
    if mode == "F":
        return _from_array(np.asarray(image, dtype=np.float32), source, None)
    palette = getattr(image, "palette", None)
    has_alpha = (
        mode in ("RGBA", "LA", "PA", "RGBa", "La")
        or "transparency" in image.info
        or (mode == "P" and palette is not None and palette.mode == "RGBA")
    )
    try:
        if has_alpha:
            return _composite_on_white(np.asarray(image.convert("RGBA"), dtype=np.uint8))
        if mode == "RGB":
            return np.array(image, dtype=np.uint8)
        return np.array(image.convert("RGB"), dtype=np.uint8)
    except (ValueError, OSError) as err:
        raise ImageError(
            f"has mode {mode}, which cannot be converted to RGB ({err}); save it as an RGB or "
            "greyscale PNG.",
            source=source,
        ) from None


# -- arrays -----------------------------------------------------------------------


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    """0..65535 integers to 0..255 uint8, rounded (65535 → 255, 257·k → k)."""
    return ((values.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """H×W×4 uint8 → H×W×3 uint8, the colour over a white background."""
    rgb = rgba[:, :, :3].astype(np.int64)
    alpha = rgba[:, :, 3:4].astype(np.int64)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def _from_array(array: np.ndarray, source: Any, max_pixels: int | None) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError("must be H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA).", source=source)
    _check_size(array.shape[1], array.shape[0], source, max_pixels)
    kind = array.dtype.kind
    if kind == "b":
        values = np.where(array, 255, 0).astype(np.uint8)
    elif array.dtype == np.uint8:
        values = array.astype(np.uint8, copy=True)
    elif array.dtype == np.uint16:
        values = _scale_16bit(array)
    elif kind == "f":
        if not np.isfinite(array).all():
            raise ImageError("holds NaN or infinite values.", source=source)
        lo, hi = float(array.min()), float(array.max())
        if lo < 0.0 or hi > 1.0:
            raise ImageError(
                f"is a float array with values in [{lo:g}, {hi:g}]; float images must lie in "
                "0..1. Divide by 255 (for 0..255 data), or convert to uint8.",
                source=source,
            )
        values = np.rint(array.astype(np.float64) * 255.0).astype(np.uint8)
    elif kind in "iu":
        lo, hi = int(array.min()), int(array.max())
        if lo < 0 or hi > 255:
            raise ImageError(
                f"is a {array.dtype} array with values in [{lo}, {hi}]; integer images other "
                "than uint16 must lie in 0..255. Convert it to uint8 or uint16.",
                source=source,
            )
        values = array.astype(np.uint8)
    else:
        raise ImageError(
            f"has dtype {array.dtype}; use uint8, uint16, bool or float (0..1).", source=source
        )
    if values.ndim == 2:
        return _grey_to_rgb(values)
    if values.shape[2] == 4:
        return _composite_on_white(values)
    return np.ascontiguousarray(values)
