import numpy as np
import pytest

from spacy_kexue.ocr.fonts import FontSpec, ReservedFontError
from spacy_kexue.ocr.glyph import GlyphError, normalize_glyph
from spacy_kexue.ocr.render import glyph_crop, render_glyph, render_line


@pytest.fixture(scope="module")
def font(fonts):
    return fonts[0]


def ink_bbox(img, bg=0):
    ink = np.abs(img.astype(int) - bg) > 0
    if ink.ndim == 3:
        ink = ink.any(axis=2)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return cols[0], rows[0], cols[-1] + 1, rows[-1] + 1


# --- normalize_glyph (pure numpy/PIL, no fonts) ------------------------------------------------


def test_normalize_glyph_crops_pads_to_square_and_fits_inner():
    canvas = np.zeros((100, 120), dtype=np.uint8)
    canvas[40:50, 20:50] = 255  # a 30 x 10 bar
    out = normalize_glyph(canvas)
    assert out.shape == (48, 48) and out.dtype == np.uint8
    x0, y0, x1, y1 = ink_bbox(out)
    assert (x0, x1) == (1, 47)  # the long side spans exactly the inner 46 pixels
    assert 13 <= y1 - y0 <= 18  # 10 * 46 / 30 ~ 15, aspect kept
    assert abs((y0 + y1) / 2 - 24) <= 1  # centred


def test_normalize_glyph_ignores_where_the_ink_is():
    glyph = np.zeros((20, 12), dtype=np.uint8)
    glyph[2:18, 3:5] = 255
    glyph[9:11, 0:12] = 200
    a = np.zeros((60, 60), dtype=np.uint8)
    b = np.zeros((90, 40), dtype=np.uint8)
    a[5:25, 40:52] = glyph
    b[60:80, 1:13] = glyph
    assert np.array_equal(normalize_glyph(a), normalize_glyph(b))
    assert not np.array_equal(normalize_glyph(a), normalize_glyph(a.T))


def test_normalize_glyph_options_and_edge_cases():
    empty = normalize_glyph(np.zeros((30, 30), dtype=np.uint8))
    assert empty.shape == (48, 48) and not empty.any()
    dot = np.zeros((9, 9), dtype=bool)
    dot[4, 4] = True
    out = normalize_glyph(dot, size=32, inner=28)
    assert out.shape == (32, 32) and ink_bbox(out) == (2, 2, 30, 30)
    grey = np.zeros((20, 20), dtype=np.uint8)
    grey[5:15, 8:12] = 180
    binary = normalize_glyph(grey, binary=True)
    assert set(np.unique(binary)) <= {0, 255} and binary.any()
    faint = grey.copy()
    faint[0, 0] = 3
    assert not np.array_equal(normalize_glyph(faint), normalize_glyph(grey))
    assert np.array_equal(normalize_glyph(faint, threshold=3), normalize_glyph(grey))
    with pytest.raises(GlyphError, match="2-D"):
        normalize_glyph(np.zeros((10, 10, 3), dtype=np.uint8))
    with pytest.raises(GlyphError, match="uint8"):
        normalize_glyph(np.zeros((10, 10), dtype=np.float32))
    with pytest.raises(GlyphError, match="inner"):
        normalize_glyph(grey, size=32, inner=40)


# --- glyphs --------------------------------------------------------------------------------------


def test_render_glyph_is_nonempty_centred_and_fits_inner(fonts):
    for spec in fonts:
        for ch in "的国A，":
            img = render_glyph(ch, spec)
            assert img.shape == (48, 48) and img.dtype == np.uint8
            assert (img > 127).sum() > 40, (spec.name, ch)
            x0, y0, x1, y1 = ink_bbox(img)
            assert 1 <= x0 and 1 <= y0 and x1 <= 47 and y1 <= 47  # inside the inner 46 x 46
            assert max(x1 - x0, y1 - y0) >= 44  # the longer side fills it
            assert abs((x0 + x1) / 2 - 24) <= 1 and abs((y0 + y1) / 2 - 24) <= 1


def test_render_glyph_is_deterministic(font):
    a = render_glyph("的", font)
    assert np.array_equal(a, render_glyph("的", font))
    assert not np.array_equal(a, render_glyph("白", font))
    r1 = render_glyph("的", font, rng=np.random.default_rng(7))
    r2 = render_glyph("的", font, rng=np.random.default_rng(7))
    assert np.array_equal(r1, r2)
    draws = {render_glyph("的", font, rng=np.random.default_rng(s)).tobytes() for s in range(8)}
    assert len(draws) > 1  # size and offset are drawn from the generator


def test_render_glyph_offset_shifts_the_ink(font):
    base = render_glyph("国", font)
    moved = render_glyph("国", font, offset=(1, -1))
    assert np.array_equal(moved[:-1, 1:], base[1:, :-1])
    assert not moved[:, 0].any() and not moved[-1, :].any()


def test_glyph_crop_keeps_size_and_position(font):
    hanzi = glyph_crop("国", font)
    comma_full, comma_ascii = glyph_crop("，", font), glyph_crop(",", font)
    assert hanzi.ink.dtype == np.uint8 and hanzi.ink.shape[0] > 30
    assert abs(hanzi.advance - 1.0) < 0.05 and abs(comma_full.advance - 1.0) < 0.05
    assert comma_ascii.advance < 0.7
    x0, y0, x1, y1 = hanzi.box
    assert -0.1 < x0 < x1 < 1.1 and -0.1 < y0 < y1 < 1.2
    assert comma_full.box[1] > 0.4 and comma_ascii.box[1] > 0.4  # both sit low in the em box
    assert (comma_full.box[3] - comma_full.box[1]) < 0.5 * (y1 - y0)
    # ... which the normalised glyphs no longer show
    assert (
        ink_bbox(normalize_glyph(comma_full.ink))[3] - ink_bbox(normalize_glyph(comma_full.ink))[1]
        >= 44
    )


def test_rendering_refuses_reserved_fonts():
    fake = FontSpec("/nonexistent/ukai.ttc", 0, "AR PL UKai CN")
    with pytest.raises(ReservedFontError):
        render_glyph("的", fake)
    with pytest.raises(ReservedFontError):
        render_line("的", FontSpec("/nonexistent/a.ttf", 0, "AR PL KaitiM GB"))
    # with allow_reserved the guard is skipped and loading the missing file fails instead
    with pytest.raises(GlyphError, match="cannot open"):
        render_glyph("的", fake, allow_reserved=True)


def test_missing_glyphs_and_blanks_are_refused(font):
    with pytest.raises(GlyphError, match="no glyph"):
        render_glyph("\U0010fffd", font)
    with pytest.raises(GlyphError):
        render_glyph(" ", font)
    with pytest.raises(GlyphError, match="one character"):
        glyph_crop("的的", font)


# --- lines ---------------------------------------------------------------------------------------

TEXT = "OCR技术浅探，第3篇: Hello, 世界！"


def test_render_line_cell_boxes(font):
    img, boxes = render_line(TEXT, font, font_px=32, padding=5)
    assert img.dtype == np.uint8 and img.ndim == 2
    h, w = img.shape
    assert len(boxes) == sum(not ch.isspace() for ch in TEXT)
    for (x0, y0, x1, y1), nxt in zip(boxes, [*boxes[1:], None], strict=True):
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert (img[y0:y1, x0:x1] < 128).any()  # dark ink on light paper by default
        if nxt is not None:
            assert x1 <= nxt[0]  # left to right, no overlap
    # cells tile the line: a cell ends where the next begins, except across the spaces
    gaps = [b[0] - a[2] for a, b in zip(boxes, boxes[1:], strict=False)]
    assert sum(g > 0 for g in gaps) == TEXT.count(" ")
    assert boxes[0][0] == 5 and boxes[0][1] == 5


def test_render_line_ink_boxes_account_for_all_ink(font):
    img, boxes = render_line(TEXT, font, font_px=28, fg=255, bg=0, box="ink")
    cells = render_line(TEXT, font, font_px=28, fg=255, bg=0)[1]
    covered = np.zeros(img.shape, dtype=bool)
    for (x0, y0, x1, y1), cell in zip(boxes, cells, strict=True):
        assert x1 > x0 and y1 > y0
        assert img[y0:y1, x0:x1].any()
        assert img[y0, x0:x1].any() and img[y1 - 1, x0:x1].any()  # tight
        assert img[y0:y1, x0].any() and img[y0:y1, x1 - 1].any()
        assert abs((x0 + x1) / 2 - (cell[0] + cell[2]) / 2) < (cell[2] - cell[0])  # near its cell
        covered[y0:y1, x0:x1] = True
    assert not img[~covered].any()


def test_render_line_options(font):
    plain, boxes = render_line("数据", font, font_px=30)
    spaced, spaced_boxes = render_line("数据", font, font_px=30, letter_spacing=7)
    assert spaced.shape[1] == plain.shape[1] + 7
    assert spaced_boxes[1][0] == boxes[1][0] + 7
    rgb, rgb_boxes = render_line("数据", font, font_px=30, fg=(20, 20, 120), bg=(250, 240, 220))
    assert rgb.shape == (*plain.shape, 3) and rgb_boxes == boxes
    assert tuple(rgb[0, 0]) == (250, 240, 220)
    assert np.array_equal(plain, render_line("数据", font, font_px=30)[0])
    empty, none = render_line("", font, font_px=30, padding=3)
    assert none == [] and empty.shape[1] == 6 and (empty == 255).all()
    with pytest.raises(GlyphError, match="single line"):
        render_line("第一行\n第二行", font)
    with pytest.raises(GlyphError, match="no glyph"):
        render_line("ok\U0010fffd", font)


def test_render_reexports_the_glyph_normalisations():
    """They moved to spacy_kexue.ocr.glyph (the runtime reader's module); the old names work."""
    from spacy_kexue.ocr import glyph, render

    for name in ("EM_WINDOW", "GlyphError", "normalize_em", "normalize_glyph"):
        assert name in render.__all__
        assert getattr(render, name) is getattr(glyph, name)
