"""Fuzzing the OCR image loader (issue 10): :func:`spacy_kexue.ocr.imageio.load_image`.

Inputs: random bytes; real PNG/JPEG/BMP/GIF/TIFF/WEBP files of many modes (palette,
transparency, 16-bit, float, 1-bit, CMYK, animated) made with PIL, then truncated, bit-flipped,
spliced or overwritten; image headers that claim huge or zero sizes (decompression bombs).
Property: an H×W×3 uint8 array within ``max_pixels``, or :class:`ImageError` naming the source;
any other exception (PIL internals, struct.error, MemoryError, ...) or a hang is a bug.
"""

from __future__ import annotations

import io
import struct
import tempfile
import warnings
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, features

from spacy_kexue.errors import KexueError
from spacy_kexue.ocr.imageio import DEFAULT_MAX_PIXELS, ImageError, load_image

from .conftest import budget, time_limit


def run_load(data: bytes, how: str, max_pixels: int | None):
    """load_image on ``data`` given as bytes, a path or a file object; checks the property."""
    with tempfile.TemporaryDirectory(prefix="kexue-fuzz-") as tmp:
        path = Path(tmp) / "image.png"
        path.write_bytes(data)
        source = {"bytes": data, "path": path, "str": str(path)}.get(how)
        try:
            with time_limit(what="load_image"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. "EXIF orientation ignored"
                if how == "file":
                    with open(path, "rb") as f:
                        out = load_image(f, max_pixels=max_pixels)
                else:
                    out = load_image(source, max_pixels=max_pixels)
        except ImageError as err:
            message = str(err)
            assert isinstance(err, KexueError)
            if how in ("path", "str", "file"):
                assert str(path) in message, message
            else:
                assert f"Image bytes ({len(data)} bytes)" in message, message
            return None
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert out.ndim == 3 and out.shape[2] == 3 and out.shape[0] > 0 and out.shape[1] > 0
    if max_pixels is not None:
        assert out.shape[0] * out.shape[1] <= max_pixels
    return out


# --------------------------------------------------------------------------- seeds


def _encode(image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@cache
def seeds() -> tuple[bytes, ...]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (7, 9, 3), dtype=np.uint8))
    grey = rgb.convert("L")
    out = [
        _encode(rgb, "PNG"),
        _encode(rgb.convert("RGBA"), "PNG"),
        _encode(grey, "PNG"),
        _encode(grey.convert("LA"), "PNG"),
        _encode(rgb.convert("P"), "PNG", transparency=3),
        _encode(rgb.convert("1"), "PNG"),
        _encode(Image.fromarray((rng.integers(0, 65536, (5, 6))).astype(np.uint16)), "PNG"),
        _encode(rgb, "JPEG", quality=80),
        _encode(grey, "JPEG"),
        _encode(rgb.convert("CMYK"), "JPEG"),
        _encode(rgb, "BMP"),
        _encode(rgb.convert("P"), "BMP"),
        _encode(rgb.convert("P"), "GIF", transparency=0),
        _encode(
            rgb.convert("P"), "GIF", save_all=True, append_images=[grey.convert("P")], duration=10
        ),
        _encode(rgb, "TIFF"),
        _encode(rgb, "TIFF", compression="tiff_lzw"),
        _encode(Image.fromarray(rng.random((4, 5), dtype=np.float32), mode="F"), "TIFF"),
        _encode(Image.fromarray(rng.integers(0, 65536, (4, 5)).astype(np.uint16)), "TIFF"),
        _encode(rgb.convert("CMYK"), "TIFF"),
    ]
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: exercises exif_transpose
    out.append(_encode(rgb, "JPEG", exif=exif.tobytes()))
    out.append(_encode(rgb, "PNG", exif=exif.tobytes()))
    if features.check("webp"):
        out.append(_encode(rgb, "WEBP", lossless=True))
    return tuple(out)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_header(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A tiny PNG whose IHDR claims ``width``×``height`` (the pixels are not there)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def bmp_with_header(width: int, height: int) -> bytes:
    """A BMP whose header claims ``width``×``height`` (height may be negative: top-down)."""
    data = bytearray(seeds()[10])
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


def gif_with_header(width: int, height: int) -> bytes:
    data = bytearray(seeds()[12])
    struct.pack_into("<HH", data, 6, width, height)
    return bytes(data)


# --------------------------------------------------------------------------- strategies


@st.composite
def mutated_image(draw):
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "overwrite", "splice"]))
        if not data:
            break
        if op == "truncate":
            data = data[: draw(st.integers(0, len(data) - 1))]
        elif op == "flip":
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        elif op == "insert":
            k = draw(st.integers(0, len(data)))
            data[k:k] = draw(st.binary(min_size=1, max_size=16))
        elif op == "overwrite":
            k = draw(st.integers(0, len(data) - 1))
            patch = draw(st.binary(min_size=1, max_size=8))
            data[k : k + len(patch)] = patch
        else:  # the head of one image on the tail of another
            other = draw(st.sampled_from(seeds()))
            data = (
                data[: draw(st.integers(0, len(data)))] + other[draw(st.integers(0, len(other))) :]
            )
    return bytes(data)


sources = st.sampled_from(["bytes", "path", "str", "file"])
limits = st.sampled_from([DEFAULT_MAX_PIXELS, 40, 10_000])


@budget(120)
@given(data=st.binary(max_size=300), how=sources, max_pixels=limits)
def test_random_bytes(data, how, max_pixels):
    run_load(data, how, max_pixels)


@budget(60)
@given(
    magic=st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF89a", b"II*\x00", b"MM\x00*", b"RIFF"]
    ),
    tail=st.binary(max_size=200),
    how=sources,
)
def test_random_bytes_behind_a_magic_number(magic, tail, how):
    run_load(magic + tail, how, DEFAULT_MAX_PIXELS)


@budget(300)
@given(data=mutated_image(), how=sources, max_pixels=limits)
def test_mutated_images(data, how, max_pixels):
    run_load(data, how, max_pixels)


dimension = st.sampled_from([0, 1, 7, 65535, 100_000, 2**31 - 1]) | st.integers(0, 2**31 - 1)


@budget(80)
@given(
    kind=st.sampled_from(["png", "bmp", "gif"]),
    width=dimension,
    height=dimension,
    colour=st.sampled_from([(8, 2), (8, 6), (16, 0), (1, 0), (8, 3)]),
    max_pixels=st.sampled_from([DEFAULT_MAX_PIXELS, 10_000]),
)
def test_declared_sizes(kind, width, height, colour, max_pixels):
    """Headers claiming huge (bombs), zero or odd sizes: refused before any decoding."""
    if kind == "png":
        data = png_with_header(width, height, *colour)
    elif kind == "bmp":
        data = bmp_with_header(min(width, 2**31 - 1), -min(height, 2**31 - 1))
    else:  # GIF: the logical screen size; PIL reads the frame's own size
        data = gif_with_header(width % 65536, height % 65536)
    out = run_load(data, "bytes", max_pixels)
    if kind != "gif" and width * height > max_pixels:
        assert out is None


def test_png_bomb_is_refused_before_decoding():
    """A ~100-byte PNG claiming 100000×100000 pixels: refused, under any limit."""
    data = png_with_header(100_000, 100_000)
    assert len(data) < 200
    for max_pixels in (DEFAULT_MAX_PIXELS, None):
        with pytest.raises(ImageError, match="too many pixels"):
            load_image(data, max_pixels=max_pixels)
    with pytest.raises(ImageError, match="no pixels"):
        load_image(Image.new("RGB", (0, 5)))
