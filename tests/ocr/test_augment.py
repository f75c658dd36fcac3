import hashlib
import json

import numpy as np
import pytest

from spacy_kexue.ocr.augment import PRESETS, Augmenter, AugmentError, BatchAugmenter

OFF = PRESETS["Augmenter"]["off"]


def glyph() -> np.ndarray:
    """A 48 x 48 synthetic glyph, ink = 255 on 0: a box with a cross and a diagonal."""
    img = np.zeros((48, 48), dtype=np.uint8)
    img[6:9, 6:42] = 255
    img[39:42, 6:42] = 255
    img[6:42, 6:9] = 255
    img[6:42, 39:42] = 255
    img[22:25, 6:42] = 255
    img[6:42, 22:25] = 255
    for i in range(10, 38):
        img[i, i - 1 : i + 1] = 255
    return img


def page_line() -> np.ndarray:
    """A light 'line of text': dark strokes on paper."""
    img = np.full((40, 200), 245, dtype=np.uint8)
    for x in range(8, 190, 24):
        img[8:32, x : x + 3] = 20
        img[18:21, x : x + 18] = 20
    return img


def seeds(n):
    return [np.random.default_rng(s) for s in range(n)]


@pytest.mark.parametrize("make", [glyph, page_line])
def test_same_seed_same_image_and_seeds_differ(make):
    img = make()
    aug = Augmenter()
    a = [aug(img, rng) for rng in seeds(12)]
    b = [aug(img, rng) for rng in seeds(12)]
    for x, y in zip(a, b, strict=True):
        assert x.dtype == np.uint8 and x.shape == img.shape
        assert np.array_equal(x, y)
    assert len({x.tobytes() for x in a}) >= 10


def test_rgb_images_keep_their_shape():
    rgb = np.dstack([page_line(), page_line() // 2, page_line()])
    aug = Augmenter(p_affine=1, p_stroke=1, p_blur=1, p_contrast=1, p_noise=1, p_jpeg=1, p_flip=1)
    out = aug(rgb, np.random.default_rng(0))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out, aug(rgb, np.random.default_rng(0)))


def test_input_is_not_modified_and_no_op_is_identity():
    img = glyph()
    before = img.copy()
    out = Augmenter(**OFF)(img, np.random.default_rng(0))
    assert np.array_equal(out, img) and out is not img
    Augmenter()(img, np.random.default_rng(1))
    assert np.array_equal(img, before)


@pytest.mark.parametrize(
    "step",
    [
        dict(p_affine=1.0),
        dict(p_stroke=1.0),
        dict(p_blur=1.0),
        dict(p_contrast=1.0, contrast=(0.6, 0.6)),
        dict(p_noise=1.0),
        dict(p_jpeg=1.0, jpeg_quality=(20, 20)),
        dict(p_flip=1.0, flip_rate=(0.02, 0.02)),
    ],
)
def test_each_step_changes_the_image_but_keeps_polarity(step):
    img = glyph()
    aug = Augmenter(**{**OFF, **step})
    for rng in seeds(5):
        out = aug(img, rng)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert not np.array_equal(out, img), step
        assert out.mean() < 128  # never inverted: still light ink on a dark background
        if "p_affine" not in step:  # a 2-px shift of 3-px strokes decorrelates; see below
            assert np.corrcoef(out.ravel(), img.ravel())[0, 1] > 0.5  # still the same glyph


def test_stroke_step_thickens_or_thins():
    img = glyph()
    aug = Augmenter(**{**OFF, "p_stroke": 1.0})
    ink = sorted(int(aug(img, rng).astype(int).sum()) for rng in seeds(20))
    assert ink[0] < img.astype(int).sum() < ink[-1]


def test_method_preset_flips_five_percent_of_pixels():
    img = glyph()
    aug = Augmenter.method()
    changed = [(aug(img, rng) != img).mean() for rng in seeds(5)]
    assert all(0.035 < c < 0.065 for c in changed), changed


def test_affine_stays_small():
    img = glyph()
    aug = Augmenter(**{**OFF, "p_affine": 1.0})
    for rng in seeds(10):
        out = aug(img, rng)
        rows = np.flatnonzero((out > 127).any(axis=1))
        cols = np.flatnonzero((out > 127).any(axis=0))
        # ink box of the glyph is 6..42; rotation +-3 deg, scale 0.9-1.1, shift 4% keep it near
        assert 0 <= rows[0] <= 11 and 37 <= rows[-1] <= 47
        assert 0 <= cols[0] <= 11 and 37 <= cols[-1] <= 47


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(p_blur=1.5), "probability"),
        (dict(scale=(1.1, 0.9)), "low <= high"),
        (dict(jpeg_quality=(10, 100)), "out of range"),
        (dict(rotate_deg=-1), "out of range"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(AugmentError, match=match):
        Augmenter(**kwargs)


def test_bad_images_are_refused():
    aug = Augmenter()
    with pytest.raises(AugmentError, match="uint8"):
        aug(glyph().astype(np.float32), np.random.default_rng(0))
    with pytest.raises(AugmentError, match="shape"):
        aug(np.zeros((4, 4, 4), dtype=np.uint8), np.random.default_rng(0))


def test_settings_round_trip():
    aug = Augmenter(p_blur=0.9, scale=(0.95, 1.05))
    assert Augmenter(**aug.to_dict()) == aug


#: SHA-256 (first 16 hex digits) of ``json.dumps(preset.to_dict(), sort_keys=True)``, recorded
#: from the settings the code had before the presets became one table (issue 19): the
#: classes' defaults, this file's OFF, ``Augmenter.method()``, the ``_degrade`` augmenter of
#: benchmarks/ocr.py, ``BatchAugmenter.method()``/``strong()`` and test_em_and_batch.py's
#: all-off BatchAugmenter. A preset that changes changes the benchmark and the training data.
PRESET_DIGESTS = {
    ("Augmenter", "default"): "53ea63d6f03b3250",
    ("Augmenter", "off"): "cc579fd2955ded85",
    ("Augmenter", "method"): "6a11fc7086e60fdd",
    ("Augmenter", "degraded"): "acfe32b19ef88a89",
    ("BatchAugmenter", "default"): "9099bf8aa70d67cb",
    ("BatchAugmenter", "off"): "91573f44fdab11af",
    ("BatchAugmenter", "method"): "699042a1ca0d2c97",
    ("BatchAugmenter", "strong"): "6b12195d0d45d0d7",
}


@pytest.mark.parametrize("cls,name", sorted(PRESET_DIGESTS))
def test_presets_keep_their_settings(cls, name):
    aug = {"Augmenter": Augmenter, "BatchAugmenter": BatchAugmenter}[cls].preset(name)
    settings = json.dumps(aug.to_dict(), sort_keys=True)
    assert hashlib.sha256(settings.encode()).hexdigest()[:16] == PRESET_DIGESTS[cls, name], settings


def test_preset_table_and_shortcuts():
    assert {(cls, name) for cls, table in PRESETS.items() for name in table} == set(PRESET_DIGESTS)
    assert Augmenter.preset("default") == Augmenter()
    assert Augmenter.method() == Augmenter.preset("method")
    assert BatchAugmenter.method() == BatchAugmenter.preset("method")
    assert BatchAugmenter.strong() == BatchAugmenter.preset("strong")
    with pytest.raises(AugmentError, match="no preset 'strong'"):
        Augmenter.preset("strong")
