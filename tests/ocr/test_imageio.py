"""Safe image loading (spacy_kexue.ocr.imageio)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile, features

from spacy_kexue.errors import KexueError
from spacy_kexue.ocr.imageio import ImageError, load_image
from tests.imports import loaded_after

ORIENTATION = 0x0112


def noise(h=48, w=64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def check_rgb(out: np.ndarray, h: int, w: int) -> None:
    assert out.dtype == np.uint8
    assert out.shape == (h, w, 3)


# -- formats and modes --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF"])
def test_lossless_formats_round_trip(tmp_path, fmt):
    a = noise()
    path = tmp_path / f"img.{fmt.lower()}"
    Image.fromarray(a).save(path, format=fmt)
    assert np.array_equal(load_image(path), a)
    assert np.array_equal(load_image(str(path)), a)


def test_jpeg(tmp_path):
    a = np.full((32, 40, 3), (200, 30, 60), dtype=np.uint8)
    path = tmp_path / "img.jpg"
    Image.fromarray(a).save(path, quality=95)
    out = load_image(path)
    check_rgb(out, 32, 40)
    assert np.abs(out.astype(int) - a).max() <= 4


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WEBP")
def test_webp_lossless(tmp_path):
    a = noise()
    path = tmp_path / "img.webp"
    Image.fromarray(a).save(path, lossless=True)
    assert np.array_equal(load_image(path), a)


def test_rgba_composited_on_white(tmp_path):
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (10, 20, 30, 0)  # fully transparent
    rgba[0, 1] = (10, 20, 30, 255)  # opaque
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    out = load_image(path)
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [10, 20, 30]
    assert out[0, 2].tolist() == [127, 127, 127]
    assert np.array_equal(load_image(rgba), out)  # the same from an array


def test_la_composited_on_white(tmp_path):
    path = tmp_path / "la.png"
    Image.new("LA", (2, 1), (0, 0)).save(path)
    assert load_image(path).tolist() == [[[255, 255, 255], [255, 255, 255]]]


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (2, 1), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.putpixel((1, 0), 1)
    path = tmp_path / "p.png"
    im.save(path, transparency=0)
    reopened = Image.open(path)
    assert reopened.mode == "P" and "transparency" in reopened.info
    assert load_image(path).tolist() == [[[255, 255, 255], [0, 0, 255]]]


def test_palette_without_transparency(tmp_path):
    im = Image.new("P", (1, 1), 1)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    path = tmp_path / "p.gif"
    im.save(path)
    assert load_image(path).tolist() == [[[0, 0, 255]]]


def test_16bit_greyscale_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode in ("I;16", "I")
    out = load_image(path)
    assert out[..., 0].tolist() == [[0, 1, 128, 255]]
    assert (out[..., 0] == out[..., 2]).all()
    assert np.array_equal(load_image(values), out)  # uint16 arrays scale the same way


def test_mode_I_treated_as_16bit():
    im = Image.fromarray(np.array([[0, 65535, 70000, -5]], dtype=np.int32))
    assert im.mode == "I"
    assert load_image(im)[..., 0].tolist() == [[0, 255, 255, 0]]


def test_1bit(tmp_path):
    im = Image.new("1", (2, 1), 0)
    im.putpixel((1, 0), 1)
    path = tmp_path / "bw.png"
    im.save(path)
    assert load_image(path).tolist() == [[[0, 0, 0], [255, 255, 255]]]


def test_cmyk(tmp_path):
    im = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # red
    assert load_image(im)[0, 0].tolist() == [255, 0, 0]
    path = tmp_path / "cmyk.tif"
    im.save(path)
    assert load_image(path)[0, 0].tolist() == [255, 0, 0]
    jpg = tmp_path / "cmyk.jpg"
    im.save(jpg, quality=95)
    r, g, b = load_image(jpg)[0, 0].tolist()
    assert r > 200 and g < 50 and b < 50


def test_L(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = tmp_path / "l.png"
    Image.fromarray(a).save(path)
    out = load_image(path)
    check_rgb(out, 3, 4)
    assert all(np.array_equal(out[..., c], a) for c in range(3))


def test_float_pil_image():
    im = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert im.mode == "F"
    assert load_image(im)[..., 0].tolist() == [[0, 128, 255]]


def test_exif_orientation_applied(tmp_path):
    a = np.zeros((2, 3, 3), dtype=np.uint8)
    a[0, 0] = 255  # top-left marker in a 3-wide, 2-high image
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[ORIENTATION] = 6  # stored rotated: display needs a 90° clockwise turn
    path = tmp_path / "rotated.png"
    im.save(path, exif=exif.tobytes())
    out = load_image(path)
    assert out.shape == (3, 2, 3)
    assert np.array_equal(out, np.rot90(a, k=-1))
    assert out[0, 1].tolist() == [255, 255, 255]


def test_exif_orientation_jpeg_180(tmp_path):
    a = np.zeros((16, 24, 3), dtype=np.uint8)
    a[:8, :8] = 255  # white top-left block
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[ORIENTATION] = 3
    path = tmp_path / "rot180.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    out = load_image(path)
    assert out.shape == (16, 24, 3)
    assert out[12, 20].mean() > 200 and out[2, 2].mean() < 50


def test_one_pixel_image(tmp_path):
    path = tmp_path / "one.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(path)
    assert load_image(path).tolist() == [[[1, 2, 3]]]


def test_first_frame_of_animation(tmp_path):
    frames = [Image.new("L", (4, 4), v) for v in (0, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert load_image(path)[0, 0].tolist() == [0, 0, 0]


# -- other sources ------------------------------------------------------------------


def test_bytes_and_file_objects(tmp_path):
    a = noise()
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    data = buf.getvalue()
    assert np.array_equal(load_image(data), a)
    assert np.array_equal(load_image(bytearray(data)), a)
    assert np.array_equal(load_image(io.BytesIO(data)), a)
    path = tmp_path / "a.png"
    path.write_bytes(data)
    with path.open("rb") as f:
        assert np.array_equal(load_image(f), a)

    class ReadOnly:
        def __init__(self, payload):
            self._f = io.BytesIO(payload)

        def read(self, n=-1):
            return self._f.read(n)

    assert np.array_equal(load_image(ReadOnly(data)), a)


def test_arrays():
    a = noise(5, 7)
    out = load_image(a)
    assert np.array_equal(out, a)
    assert out is not a and not np.shares_memory(out, a)
    grey = a[..., 0]
    assert np.array_equal(load_image(grey)[..., 1], grey)
    assert np.array_equal(load_image(grey[..., None]), load_image(grey))
    assert load_image(np.array([[True, False]]))[..., 0].tolist() == [[255, 0]]
    assert load_image(np.array([[0.0, 1.0]]))[..., 0].tolist() == [[0, 255]]
    assert load_image(np.array([[0, 200]], dtype=np.int64))[..., 0].tolist() == [[0, 200]]
    assert load_image(np.array([[0, 65535]], dtype=np.uint16))[..., 0].tolist() == [[0, 255]]


@pytest.mark.parametrize(
    "array, match",
    [
        (np.array([[0.0, 1.5]]), "0..1"),
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0, 300]]), "0..255"),
        (np.zeros((2, 2, 2), dtype=np.uint8), "H×W"),
        (np.zeros((2, 2, 3, 1), dtype=np.uint8), "H×W"),
        (np.zeros((2, 2), dtype=np.complex64), "dtype"),
        (np.zeros((0, 5), dtype=np.uint8), "no pixels"),
        (np.zeros((5, 0, 3), dtype=np.uint8), "no pixels"),
    ],
)
def test_bad_arrays(array, match):
    with pytest.raises(ImageError, match=match):
        load_image(array)


def test_unsupported_source_type():
    with pytest.raises(TypeError, match="path, bytes"):
        load_image(42)


def test_zero_size_pil_image():
    with pytest.raises(ImageError, match="no pixels"):
        load_image(Image.new("RGB", (0, 0)))


# -- errors -------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(ImageError, match="nope.png.*does not exist") as info:
        load_image(path)
    assert info.value.source == path
    assert isinstance(info.value, KexueError) and isinstance(info.value, ValueError)


def test_directory(tmp_path):
    with pytest.raises(ImageError, match="is a directory"):
        load_image(tmp_path)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("this is not an image\n", encoding="utf-8")
    with pytest.raises(ImageError, match=r"x\.png.*not an image") as info:
        load_image(str(path))
    assert info.value.source == str(path)


def test_garbage_bytes():
    with pytest.raises(ImageError, match="bytes.*not an image"):
        load_image(b"\x00\x01garbage")


@pytest.mark.parametrize("fmt, suffix", [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_file(tmp_path, fmt, suffix):
    full = tmp_path / f"full.{suffix}"
    Image.fromarray(noise(120, 160)).save(full, format=fmt)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(ImageError, match=rf"cut\.{suffix}.*truncated"):
        load_image(cut)
    with pytest.raises(ImageError, match="truncated"):
        load_image(data[: len(data) // 2])


def test_pixel_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(noise(40, 50)).save(path)
    with pytest.raises(ImageError, match=r"big\.png.*too many pixels.*50×40") as info:
        load_image(path, max_pixels=1999)
    assert "max_pixels" in str(info.value)
    assert load_image(path, max_pixels=2000).shape == (40, 50, 3)
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(noise(40, 50), max_pixels=1999)


def test_pixel_limit_checked_before_decoding(tmp_path, monkeypatch):
    # a file whose header claims 400×300 pixels but holds almost no data: had we decoded
    # first, this would be a truncation error
    full = tmp_path / "full.png"
    Image.fromarray(noise(300, 400)).save(full)
    header_only = tmp_path / "header.png"
    header_only.write_bytes(full.read_bytes()[:100])

    def no_decoding(self):
        raise AssertionError("pixels decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(header_only, max_pixels=10_000)
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(full, max_pixels=10_000)


@pytest.mark.parametrize("side", [12, 20])  # 144 px: PIL's warning; 400 px: PIL's error
def test_pil_decompression_bomb_becomes_image_error(tmp_path, monkeypatch, side):
    path = tmp_path / "bomb.png"
    Image.new("L", (side, side)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageError, match=r"bomb\.png.*too many pixels"):
        load_image(path, max_pixels=None)


def test_bad_max_pixels():
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(noise(2, 2), max_pixels=0)


def test_import_is_light():
    imports = "spacy_kexue, spacy_kexue.ocr.imageio, spacy_kexue.ocr.lm, spacy_kexue.ocr.metrics"
    assert loaded_after(imports, ("PIL", "torch")) == []
