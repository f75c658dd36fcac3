"""normalize_em (em-box normalisation), BatchAugmenter (torch batch degradations) and GlyphBank."""

import math

import numpy as np
import pytest

from spacy_kexue.ocr.augment import AugmentError, BatchAugmenter
from spacy_kexue.ocr.charset import Charset
from spacy_kexue.ocr.fonts import FontSpec, ReservedFontError, coverage
from spacy_kexue.ocr.glyph import EM_WINDOW, GlyphError, normalize_em
from spacy_kexue.ocr.render import glyph_crop
from spacy_kexue.ocr.train import GlyphBank, GlyphDataset


def ink_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """Half-open (x0, y0, x1, y1) of the non-zero pixels; fails on an empty image."""
    rows = np.flatnonzero(img.any(axis=1))
    cols = np.flatnonzero(img.any(axis=0))
    assert rows.size, "no ink"
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def em_glyph(ch: str, font: FontSpec, px: int) -> np.ndarray:
    crop = glyph_crop(ch, font, font_px=px)
    return normalize_em(crop.ink, em_px=px, top_em=crop.box[1])


# --- normalize_em with a real font ---------------------------------------------------------


@pytest.fixture(scope="module")
def em30(fonts):
    return {ch: em_glyph(ch, fonts[0], 30) for ch in "国，,一-。o"}


def test_normalize_em_keeps_size_and_position(em30):
    for ch, img in em30.items():
        assert img.shape == (48, 48) and img.dtype == np.uint8, ch
    boxes = {ch: ink_box(img) for ch, img in em30.items()}
    height = {ch: y1 - y0 for ch, (_, y0, _, y1) in boxes.items()}
    width = {ch: x1 - x0 for ch, (x0, _, x1, _) in boxes.items()}
    assert boxes["，"][1] > 24  # the full-width comma sits low in the em box
    assert boxes[","][1] > 24
    assert height["国"] >= 36  # a hanzi fills most of the em box
    assert height["一"] < 10 and width["一"] > 30  # wide and thin
    assert width["一"] > 2 * width["-"]
    assert height["。"] < height["o"]
    # the two pairs normalize_glyph would confuse stay distinct
    assert not np.array_equal(em30["一"], em30["-"])
    assert not np.array_equal(em30["。"], em30["o"])


@pytest.mark.parametrize("ch", ["国", "，", "一", "-", "。", "o"])
def test_normalize_em_does_not_depend_on_font_size(fonts, ch):
    small = ink_box(em_glyph(ch, fonts[0], 30))
    large = ink_box(em_glyph(ch, fonts[0], 60))
    assert max(abs(a - b) for a, b in zip(small, large, strict=True)) <= 2, (small, large)


# --- normalize_em on synthetic arrays ------------------------------------------------------


def test_normalize_em_places_bar_by_top_em():
    bar = np.full((10, 20), 255, dtype=np.uint8)
    out = normalize_em(bar, em_px=100, top_em=0.5)
    x0, y0, x1, y1 = ink_box(out)
    lo, hi = EM_WINDOW
    expected = (0.5 - lo) / (hi - lo) * 48  # (0.5 + 0.05) / 1.15 * 48 ~ 22.96
    assert abs(y0 - expected) <= 1
    assert 3 <= y1 - y0 <= 5  # 10 px at 48 / 115 output px per input px
    assert 7 <= x1 - x0 <= 9 and abs((x0 + x1) / 2 - 24) <= 1  # centred horizontally
    # a lower top_em moves the same ink down
    lower = ink_box(normalize_em(bar, em_px=100, top_em=0.8))
    assert lower[1] - y0 == pytest.approx(0.3 / 1.15 * 48, abs=1)


def test_normalize_em_ignores_blank_margin_of_crop():
    """top_em is the crop's first row; blank rows above the ink move it down accordingly."""
    bar = np.zeros((30, 20), dtype=np.uint8)
    bar[20:30] = 255
    shifted = normalize_em(bar, em_px=100, top_em=0.3)
    direct = normalize_em(bar[20:], em_px=100, top_em=0.5)
    assert np.array_equal(shifted, direct)


def test_normalize_em_shrinks_wide_ink_to_fit():
    wide = np.full((10, 300), 255, dtype=np.uint8)  # 3 em wide: 125 output px before shrinking
    out = normalize_em(wide, em_px=100, top_em=0.5)
    x0, y0, x1, y1 = ink_box(out)
    assert (x0, x1) == (0, 48)
    assert y1 - y0 <= 3  # shrunk by the same factor as the width
    # the vertical centre is kept: the unshrunk bar's centre is (0.55 em + 0.05 em) / 1.15 em
    centre = (0.55 + 0.05) / 1.15 * 48
    assert abs((y0 + y1) / 2 - centre) <= 1.5


def test_normalize_em_empty_and_clipped():
    assert not normalize_em(np.zeros((20, 20), np.uint8), em_px=20, top_em=0.0).any()
    assert not normalize_em(np.zeros((0, 0), np.uint8), em_px=20, top_em=0.0).any()
    # ink entirely below the window is clipped away, not wrapped or raised
    bar = np.full((5, 5), 255, dtype=np.uint8)
    assert not normalize_em(bar, em_px=20, top_em=3.0).any()
    out = normalize_em(bar, em_px=20, top_em=0.0, size=32)
    assert out.shape == (32, 32) and out.any()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"em_px": 0},
        {"em_px": -5},
        {"em_px": math.nan},
        {"em_px": math.inf},
        {"top_em": math.nan},
        {"window": (1.0, 1.0)},
        {"window": (1.1, -0.05)},
    ],
)
def test_normalize_em_rejects_bad_settings(kwargs):
    args = {"em_px": 20, "top_em": 0.0, **kwargs}
    with pytest.raises(GlyphError):
        normalize_em(np.full((5, 5), 255, np.uint8), **args)


def test_normalize_em_accepts_bool_rejects_other_dtypes():
    mask = np.zeros((20, 20), dtype=bool)
    mask[5:15, 8:12] = True
    as_bool = normalize_em(mask, em_px=20, top_em=0.0)
    as_uint8 = normalize_em(mask.astype(np.uint8) * 255, em_px=20, top_em=0.0)
    assert as_bool.any() and np.array_equal(as_bool, as_uint8)
    with pytest.raises(GlyphError, match="uint8"):
        normalize_em(mask.astype(np.float32), em_px=20, top_em=0.0)
    with pytest.raises(GlyphError, match="2-D"):
        normalize_em(np.zeros((20, 20, 3), np.uint8), em_px=20, top_em=0.0)


# --- BatchAugmenter --------------------------------------------------------------------------


def glyph_batch(torch, n=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 48, 48)
    x[:, :, 10:38, 20:26] = 1.0
    x[:, :, 20:24, 8:40] = 1.0
    return x + 0.2 * torch.rand(x.shape, generator=gen) * (x == 0)


def test_batch_augmenter_deterministic_by_seed():
    torch = pytest.importorskip("torch")
    x = glyph_batch(torch)
    before = x.clone()
    aug = BatchAugmenter()
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    c = aug(x, torch.Generator().manual_seed(2))
    assert torch.equal(x, before)  # the input is not modified
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)
    for out in (a, c):
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_batch_augmenter_every_step_stays_in_range():
    """All steps at once, strong settings: output still a valid (N, 1, H, W) batch in [0, 1]."""
    torch = pytest.importorskip("torch")
    x = glyph_batch(torch, n=8)
    aug = BatchAugmenter(
        p_affine=1.0,
        p_stroke=1.0,
        p_lowres=1.0,
        p_blur=1.0,
        p_contrast=1.0,
        p_noise=1.0,
        noise_sigma=(0.2, 0.3),
        p_flip=1.0,
    )
    out = aug(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.isfinite(out).all()
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, x)


def test_batch_augmenter_off_is_identity():
    torch = pytest.importorskip("torch")
    x = glyph_batch(torch, n=4)
    off = BatchAugmenter.preset("off")
    out = off(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, x) and out is not x


def test_batch_augmenter_empty_batch():
    torch = pytest.importorskip("torch")
    x = torch.zeros(0, 1, 48, 48)
    out = BatchAugmenter()(x, torch.Generator().manual_seed(0))
    assert out.shape == (0, 1, 48, 48)


def test_batch_augmenter_method_flips_five_percent():
    torch = pytest.importorskip("torch")
    x = torch.zeros(32, 1, 48, 48)
    out = BatchAugmenter.method()(x, torch.Generator().manual_seed(0))
    assert set(torch.unique(out).tolist()) <= {0.0, 1.0}  # flips only, nothing else
    frac = float(out.mean())
    assert 0.03 < frac < 0.07
    assert not torch.equal(out[0], out[1])  # flips drawn per glyph


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p_flip": 1.5},
        {"p_affine": -0.1},
        {"scale": (1.1, 0.9)},
        {"blur_sigma": (-0.5, 1.0)},
        {"lowres": (1, 8)},
        {"flip_rate": (0.0, 1.5)},
        {"background": 2.0},
        {"contrast": (0.5, 1.0, 2.0)},
    ],
)
def test_batch_augmenter_rejects_bad_settings(kwargs):
    with pytest.raises(AugmentError):
        BatchAugmenter(**kwargs)


@pytest.mark.parametrize("shape", [(2, 48, 48), (2, 3, 48, 48), (48, 48)])
def test_batch_augmenter_rejects_bad_shape(shape):
    torch = pytest.importorskip("torch")
    with pytest.raises(AugmentError, match=r"\(N, 1, H, W\)"):
        BatchAugmenter()(torch.zeros(shape), torch.Generator().manual_seed(0))


@pytest.mark.parametrize("aug", [BatchAugmenter(), BatchAugmenter.method()])
def test_batch_augmenter_to_dict_round_trips(aug):
    import json

    d = aug.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert BatchAugmenter(**d) == aug
    assert BatchAugmenter(**json.loads(json.dumps(d))) == aug
    assert d["flip_rate"] == list(aug.flip_rate)


def test_batch_augmenter_method_setting():
    aug = BatchAugmenter.method()
    assert aug.p_flip == 1.0 and aug.flip_rate == (0.05, 0.05)
    assert aug.p_affine == aug.p_stroke == aug.p_lowres == aug.p_blur == 0.0
    assert aug.p_contrast == aug.p_noise == 0.0
    assert aug != BatchAugmenter()


# --- GlyphBank -------------------------------------------------------------------------------

BANK_CHARS = "国一。"
BANK_PX = (20, 30)


@pytest.fixture(scope="module")
def bank(fonts):
    if any(set(BANK_CHARS) - coverage(f, BANK_CHARS) for f in fonts[:2]):
        pytest.skip("the first two fonts do not cover the test characters")
    return GlyphBank(BANK_CHARS, fonts[:2], font_px=BANK_PX)


def test_glyph_bank_size(bank, fonts):
    assert bank.chars == list(BANK_CHARS)
    assert len(bank) == len(BANK_CHARS) * len(fonts[:2]) * len(BANK_PX)
    for renderings in bank.renderings:
        assert sorted(px for _, _, px in renderings) == sorted(BANK_PX * len(fonts[:2]))


def test_glyph_bank_sample_deterministic(bank):
    a, la = bank.sample(np.random.default_rng(5), 20)
    b, lb = bank.sample(np.random.default_rng(5), 20)
    c, lc = bank.sample(np.random.default_rng(6), 20)
    assert a.shape == (20, 48, 48) and a.dtype == np.uint8
    assert la.dtype == np.int64 and la.shape == (20,)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert not (np.array_equal(a, c) and np.array_equal(la, lc))
    assert la.min() >= 0 and la.max() < len(BANK_CHARS)
    assert all(img.any() for img in a)  # every glyph has ink


def test_glyph_bank_classes_pins_labels(bank):
    classes = np.array([1, 1, 0, 2, 1])
    imgs, labels = bank.sample(np.random.default_rng(0), 5, classes=classes)
    assert labels.tolist() == [1, 1, 0, 2, 1]
    heights = [ink_box(img)[3] - ink_box(img)[1] for img in imgs]
    assert max(heights[i] for i in (0, 1, 4)) < 10  # '一' is thin
    assert heights[2] >= 30  # '国' is tall


def test_glyph_bank_without_jitter_matches_normalize_em(bank, fonts):
    imgs, _ = bank.sample(
        np.random.default_rng(0), 8, em_jitter=0.0, top_jitter=0.0, classes=np.zeros(8, int)
    )
    expected = {em_glyph("国", f, px).tobytes() for f in fonts[:2] for px in BANK_PX}
    assert all(img.tobytes() in expected for img in imgs)


def test_glyph_dataset_with_bank(bank, fonts):
    ds = GlyphDataset(Charset(BANK_CHARS), fonts[:2], batch_size=6, seed=3, bank=bank)
    assert ds.bank is bank
    x1, y1 = ds.batch(4)
    x2, y2 = ds.batch(4)
    assert x1.shape == (6, 48, 48) and np.array_equal(x1, x2) and np.array_equal(y1, y2)
    with pytest.raises(ValueError, match="another character set"):
        GlyphDataset(Charset("国一人"), fonts[:2], bank=bank)
    with pytest.raises(ValueError, match="another character set"):
        GlyphDataset(Charset("一国。"), fonts[:2], bank=bank)  # same set, other order


@pytest.mark.parametrize("missing", ["\ue000", "\U0001f600"])
def test_glyph_bank_uncovered_character(fonts, missing):
    if any(missing in coverage(f, missing) for f in fonts[:2]):
        pytest.skip(f"a font covers U+{ord(missing):04X}")
    with pytest.raises(GlyphError, match=f"U\\+{ord(missing):04X}"):
        GlyphBank(["国", missing], fonts[:2], font_px=(20,))
    with pytest.raises(GlyphError):
        glyph_crop(missing, fonts[0], font_px=20)


def test_glyph_bank_reserved_font(fonts):
    reserved = FontSpec(path="/nonexistent/x.ttf", family="AR PL UKai")
    with pytest.raises(ReservedFontError):
        GlyphBank(["国"], [reserved], font_px=(20,))
    with pytest.raises(ReservedFontError):
        GlyphBank(["国"], [fonts[0], reserved], font_px=(20,))
    with pytest.raises(ReservedFontError):
        GlyphDataset(Charset("国"), [reserved], font_px=(20,))


def test_glyph_bank_bad_arguments(fonts):
    with pytest.raises(ValueError, match="No fonts"):
        GlyphBank(["国"], [])
    with pytest.raises(ValueError, match="No characters"):
        GlyphBank([], fonts[:1])
    with pytest.raises(ValueError, match="font_px"):
        GlyphBank(["国"], fonts[:1], font_px=(4,))
    with pytest.raises(TypeError):
        GlyphBank(["国"], ["/usr/share/fonts/x.ttf"])
