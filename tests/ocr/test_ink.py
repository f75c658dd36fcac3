"""Tests of grey conversion, binarisation and despeckling (spacy_kexue.ocr.ink).

The text images come from tests/ocr/drawing.py (PIL, allowed fonts only).
"""

from __future__ import annotations

import numpy as np
import pytest

from spacy_kexue.ocr.boxes import LayoutError
from spacy_kexue.ocr.ink import binarize, despeckle, to_grey
from tests.ocr.drawing import draw


def test_to_grey_shapes_and_scaling():
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    grey = to_grey(rgb)
    assert grey.shape == (4, 5) and grey.dtype == np.float32
    assert np.allclose(grey, 0.299, atol=1e-3)
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)  # fully transparent -> white
    assert np.allclose(to_grey(rgba), 1.0)
    assert np.allclose(to_grey(np.full((3, 3), 65535, dtype=np.uint16)), 1.0)
    assert np.allclose(to_grey(np.full((3, 3), 128.0)), 128 / 255)  # 0..255 floats
    assert to_grey(np.zeros((3, 3, 1), dtype=np.uint8)).shape == (3, 3)
    with pytest.raises(LayoutError, match="image array"):
        to_grey(np.zeros((3, 3, 2)))
    with pytest.raises(LayoutError, match="method"):
        to_grey(rgb, method="nope")


def test_to_grey_contrast_keeps_isoluminant_colours_apart():
    img = np.zeros((20, 20, 3), dtype=np.uint8)
    img[...] = (0, 112, 0)  # green
    img[5:15, 5:15] = (220, 0, 0)  # red of the same luma
    assert np.ptp(to_grey(img)) < 0.02
    grey = to_grey(img, method="contrast")
    assert np.ptp(grey) > 0.8


@pytest.mark.parametrize(
    "fg,bg",
    [
        ((0, 0, 0), (255, 255, 255)),
        ((255, 255, 255), (20, 40, 120)),
        ((10, 20, 90), (250, 230, 120)),
    ],
    ids=["black-on-white", "white-on-blue", "navy-on-yellow"],
)
def test_binarize_finds_the_text_whatever_the_polarity(fg, bg):
    img, truth = draw(["北京"], fg=fg, bg=bg)
    ink = binarize(to_grey(img))
    for _, (x0, y0, x1, y1) in truth[0]:
        assert ink[y0:y1, x0:x1].mean() > 0.15  # strokes are ink
    assert ink.mean() < 0.1  # background is not
    assert not ink[0].any() and not ink[:, 0].any()


def test_binarize_blank_and_tiny_images_have_no_ink():
    assert not binarize(np.full((50, 80), 0.7, dtype=np.float32)).any()
    rng = np.random.default_rng(0)
    faint = 0.9 + rng.normal(0, 0.01, (50, 80)).astype(np.float32)
    assert not binarize(faint).any()
    assert binarize(np.zeros((1, 1), dtype=np.float32)).shape == (1, 1)
    assert not binarize(np.zeros((1, 1), dtype=np.float32)).any()
    with pytest.raises(LayoutError):
        binarize(np.zeros((4, 4, 3)))


def test_binarize_falls_back_to_local_threshold_under_shading():
    img, truth = draw(["会议于下午三点开始"])
    shade = np.linspace(1.0, 0.35, img.shape[1])[None, :, None]
    shaded = (img * shade).astype(np.uint8)  # paper from white to dark grey
    grey = to_grey(shaded)
    assert binarize(grey, method="otsu").mean() > 0.2  # the dark side turns to "ink"
    ink = binarize(grey)
    assert ink.mean() < 0.1
    assert all(ink[y0:y1, x0:x1].any() for _, (x0, y0, x1, y1) in truth[0])


def test_despeckle_removes_isolated_pixels_only():
    ink = np.zeros((10, 10), dtype=bool)
    ink[1, 1] = True  # single
    ink[5, 5] = ink[5, 6] = True  # pair
    ink[8, 2:5] = True  # three in a row stay
    out = despeckle(ink)
    assert not out[1, 1] and not out[5, 5:7].any()
    assert out[8, 2:5].all()
