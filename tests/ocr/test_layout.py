"""Tests of the projection layout (spacy_kexue.ocr.layout).

Test images are drawn here with PIL directly, one character at a time at integer pen
positions, so that each character's true ink box is known exactly: the same glyph drawn
alone on a small canvas, thresholded at half coverage. Fonts: the allowed Noto Sans CJK SC,
WenQuanYi Micro Hei and AR PL UMing (never the families reserved for evaluation).
"""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path

import numpy as np
import pytest

from spacy_kexue.ocr.layout import (
    Box,
    LayoutError,
    Line,
    ProjectionLayout,
    binarize,
    build_projection_layout,
    despeckle,
    estimate_char_height,
    find_lines,
    split_chars,
    to_grey,
)

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")
ImageFont = pytest.importorskip("PIL.ImageFont")

FONT_FILES = {
    "noto": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC"),
    "wqy": ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "WenQuanYi Micro Hei"),
    "uming": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "AR PL UMing CN"),
}
RESERVED = ("AR PL UKai", "AR PL KaitiM GB", "AR PL SungtiL GB")

MIXED = [
    "我们在北京川菜馆吃饭",
    "小儿外科",
    "Hello World 2024年",
    "价格：128元，很好。",
    "这家酒店服务很好，就是隔音太差。",
    "今天是2016年5月12日，星期四。",
    "他说：“明天再来。”",
    "河北省的小麦产量增长了3.5%。",
    "请把iPhone和iPad放在桌子上。",
    "北京时间上午10点，会议开始。",
    "川江号子是四川的民间音乐。",
    "小明的儿子今年八岁了。",
    "外面下着大雨，路上行人很少。",
    "心想事成，万事如意！",
    "你的电话号码是多少？",
    "兆瓦级风电场已经建成投产。",
    "这本书的作者是John Smith。",
    "价格从99元降到了79元。",
    "州长宣布进入紧急状态。",
    "他跑了100米，用时12.5秒。",
    "《红楼梦》是中国古典小说。",
    "下午3点在A座会议室开会。",
    "Google和Microsoft都发布了新产品。",
    "神速啊……超赞，很满意",
    "学习外语需要每天坚持。",
    "会议于2023年10月8日举行。",
    "数据集包含5000张图片。",
    "性格、快乐、小心、灯火",
]
PURE_CJK = [
    "我们在北京川菜馆吃饭",
    "小儿外科",
    "川江号子是四川的民间音乐",
    "北方的冬天非常寒冷",
    "州长宣布进入紧急状态",
    "兆瓦级风电场已经建成投产",
    "以人为本科学发展",
    "江河湖海都是水",
    "非常感谢您的支持与帮助",
    "小心地滑注意安全",
    "外面下着大雨路上行人很少",
    "们你他她它值得信赖",
]


# --- drawing -------------------------------------------------------------------------------


_fonts: dict = {}


def get_font(key: str, size: int):
    if (key, size) not in _fonts:
        path, index, family = FONT_FILES[key]
        if not Path(path).exists():
            pytest.skip(f"font file {path} not installed")
        font = ImageFont.truetype(path, size, index=index)
        name = font.getname()[0]
        assert name == family and not name.startswith(RESERVED), name
        _fonts[key, size] = font
    return _fonts[key, size]


def draw(lines, key="noto", size=32, *, fg=(0, 0, 0), bg=(255, 255, 255), spacing=0.6):
    """An RGB image of ``lines`` and, per line, the (char, true ink box) of each character."""
    font = get_font(key, size)
    margin = size
    pens = [[margin + round(font.getlength(t[:i])) for i in range(len(t))] for t in lines]
    width = max(p[-1] for p in pens) + 2 * size + margin
    pitch = round(size * (1 + spacing))
    height = 2 * margin + pitch * (len(lines) - 1) + round(size * 1.3)
    img = Image.new("RGB", (width, height), bg)
    canvas = ImageDraw.Draw(img)
    truth = []
    for row, (text, xs) in enumerate(zip(lines, pens, strict=True)):
        y = margin + row * pitch
        boxes = []
        for x, ch in zip(xs, text, strict=True):
            canvas.text((x, y), ch, font=font, fill=fg)
            box = _glyph_box(font, ch)
            if box is not None:
                boxes.append((ch, (box[0] + x, box[1] + y, box[2] + x, box[3] + y)))
        truth.append(boxes)
    return np.asarray(img), truth


def _glyph_box(font, ch):
    left, top, right, bottom = font.getbbox(ch)
    if right <= left or bottom <= top:
        return None
    mask = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(mask).text((2 - left, 2 - top), ch, font=font, fill=255)
    ys, xs = np.nonzero(np.asarray(mask) > 127)
    if xs.size == 0:
        return None
    return (
        left - 2 + xs.min(),
        top - 2 + ys.min(),
        left - 2 + xs.max() + 1,
        top - 2 + ys.max() + 1,
    )


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def matched(truth, predicted, threshold=0.5):
    """How many true boxes some predicted box overlaps with IoU >= threshold."""
    boxes = [p.to_list() for p in predicted]
    return sum(max((iou(t, b) for b in boxes), default=0.0) >= threshold for _, t in truth)


def all_chars(lines):
    return [c for line in lines for c in line.chars]


@pytest.fixture(scope="module")
def layout():
    return ProjectionLayout()


# --- boxes ---------------------------------------------------------------------------------


def test_box_basics():
    box = Box(3, 4, 10, 20)
    assert (box.width, box.height) == (7, 16)
    assert box.to_list() == [3, 4, 10, 20]
    assert all(type(v) is int for v in Box(*np.array([1, 2, 3, 4])).to_list())
    assert box.shift(5, -4) == Box(8, 0, 15, 16)


def test_line_flags_default_and_mismatch():
    line = Line(Box(0, 0, 10, 10), [Box(0, 0, 4, 10), Box(6, 0, 10, 10)])
    assert line.space_before == [False, False]
    assert line.to_dict()["chars"] == [[0, 0, 4, 10], [6, 0, 10, 10]]
    with pytest.raises(LayoutError, match="one flag per box"):
        Line(Box(0, 0, 1, 1), [Box(0, 0, 1, 1)], space_before=[True, False])


# --- grey and ink --------------------------------------------------------------------------


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


# --- lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize(
    "fg,bg",
    [
        ((0, 0, 0), (255, 255, 255)),
        ((255, 255, 255), (30, 30, 30)),
        ((250, 250, 250), (200, 30, 30)),
    ],
    ids=["plain", "white-on-dark", "white-on-red"],
)
def test_number_of_lines(layout, n, fg, bg):
    text = MIXED[:n]
    img, truth = draw(text, fg=fg, bg=bg)
    lines = layout(img)
    assert len(lines) == n
    tops = [line.box.y0 for line in lines]
    assert tops == sorted(tops)
    for line, boxes in zip(lines, truth, strict=True):
        for _, (_, y0, _, y1) in boxes:  # every character inside its own line
            assert line.box.y0 <= (y0 + y1) / 2 <= line.box.y1


def test_lines_with_tight_leading_and_small_marks(layout):
    img, _ = draw(
        ["川江号子是四川的民间音乐。", "一二三", "小明的儿子今年八岁了。", "iiii jjj"], spacing=0.15
    )
    assert len(layout(img)) == 4  # 一二三 is one line, the i-dots stay with their stems


def test_salt_noise_adds_no_lines(layout):
    img, truth = draw(MIXED[4:7])
    rng = np.random.default_rng(7)
    noisy = img.copy()
    noisy[rng.random(img.shape[:2]) < 0.005] = 0  # ink-coloured specks
    noisy[rng.random(img.shape[:2]) < 0.005] = 255
    lines = layout(noisy)
    assert len(lines) == 3
    boxes = all_chars(lines)
    chars = [c for line in truth for c in line]
    assert matched(chars, boxes) >= 0.95 * len(chars)
    assert len(boxes) <= len(chars) + 2
    # find_lines itself despeckles the mask it is given
    ink = binarize(to_grey(noisy))
    assert len(find_lines(ink)) == 3


def test_blank_and_degenerate_images(layout):
    assert layout(np.full((100, 300, 3), 255, dtype=np.uint8)) == []
    assert layout(np.zeros((60, 60), dtype=np.uint8)) == []
    assert layout(np.zeros((1, 1, 3), dtype=np.uint8)) == []
    assert layout(np.zeros((0, 0), dtype=np.uint8)) == []
    assert find_lines(np.zeros((30, 30), dtype=bool)) == []
    assert split_chars(np.zeros((10, 40), dtype=bool)) == []
    with pytest.raises(LayoutError):
        find_lines(np.zeros((3, 3, 3), dtype=bool))


# --- characters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["我们在北京川菜馆吃饭", "小儿外科", "Hello World 2024年", "价格：128元，很好。"],
)
def test_named_examples_split_exactly(layout, text):
    img, truth = draw([text])
    lines = layout(img)
    assert len(lines) == 1
    chars = lines[0].chars
    assert len(chars) == len(truth[0]), [c.to_list() for c in chars]
    assert matched(truth[0], chars) == len(truth[0])
    xs = [c.x0 for c in chars]
    assert xs == sorted(xs)


def test_cjk_with_inner_gaps_is_one_box_each(layout):
    text = "川小儿外北八心州非兆们"
    img, truth = draw([text])
    ink = layout.ink(img)
    line = find_lines(ink)[0]
    crop = ink[line.y0 : line.y1, line.x0 : line.x1]
    cols = crop.any(axis=0)
    runs = int(np.sum(cols[1:] & ~cols[:-1])) + 1
    assert runs > 2 * len(text)  # the projection alone would cut them into pieces
    boxes = split_chars(crop)
    assert len(boxes) == len(text)


def test_latin_letters_and_digits_stay_single(layout):
    # narrow letters side by side are as wide as 川; the Latin baseline (or, in a Latin
    # line, an x-height letter) tells them apart
    img, truth = draw(["It will fill all 1111 jugs.", "在ill 1111中", "little ill 2011"])
    for line, boxes in zip(layout(img), truth, strict=True):
        assert len(line.chars) == len(boxes)
        assert matched(boxes, line.chars) == len(boxes)


@pytest.mark.parametrize("key", ["noto", "wqy", "uming"])
def test_match_rate_on_mixed_sentences(layout, key):
    total = hit = n_predicted = hit_predicted = 0
    for start in range(0, len(MIXED), 7):
        img, truth = draw(MIXED[start : start + 7], key)
        predicted = all_chars(layout(img))
        chars = [c for boxes in truth for c in boxes]
        total += len(chars)
        hit += matched(chars, predicted)
        # and the other way round: few boxes that are no character (pieces, merges)
        n_predicted += len(predicted)
        hit_predicted += matched(
            [(None, p.to_list()) for p in predicted], [Box(*b) for _, b in chars]
        )
    assert hit / total >= 0.95, f"{key}: recall {hit}/{total}"
    assert hit_predicted / n_predicted >= 0.95, f"{key}: precision {hit_predicted}/{n_predicted}"


def test_pure_cjk_lines_in_sans_at_32px_are_perfect(layout):
    img, truth = draw(PURE_CJK, "noto", 32, spacing=0.4)
    lines = layout(img)
    assert len(lines) == len(PURE_CJK)
    for line, boxes in zip(lines, truth, strict=True):
        assert len(line.chars) == len(boxes)
        assert matched(boxes, line.chars) == len(boxes)


def test_punctuation_is_separate_and_low(layout):
    img, truth = draw(["好，很好。对、"])
    chars = layout(img)[0].chars
    assert len(chars) == 7 and matched(truth[0], chars) == 7
    line_mid = (chars[0].y0 + chars[0].y1) / 2
    for i in (1, 4, 6):  # ，。、 are narrow and sit low
        assert chars[i].width < 0.5 * chars[0].width
        assert chars[i].y0 > line_mid


@pytest.mark.parametrize("pitch", [24, 25, 26])
def test_touching_characters_are_cut(layout, pitch):
    font = get_font("noto", 32)
    text = "国国国国国"  # a 32 px font at a 24-26 px pitch: the glyphs touch
    img = Image.new("L", (40 + pitch * len(text) + 40, 80), 255)
    canvas = ImageDraw.Draw(img)
    truth = []
    for i, ch in enumerate(text):
        canvas.text((40 + pitch * i, 20), ch, font=font, fill=0)
        x0, y0, x1, y1 = _glyph_box(font, ch)
        truth.append((ch, (x0 + 40 + pitch * i, y0 + 20, x1 + 40 + pitch * i, y1 + 20)))
    arr = np.asarray(img)
    cols = np.flatnonzero(layout.ink(arr).any(axis=0))
    assert cols[-1] - cols[0] + 1 == len(cols)  # a single run of ink columns
    lines = layout(arr)
    assert len(lines) == 1 and len(lines[0].chars) == len(text)
    assert matched(truth, lines[0].chars) == len(text)


def test_spaces_between_latin_words(layout):
    text = "Hello World 2024年"
    img, truth = draw([text])
    line = layout(img)[0]
    flagged = [ch for (ch, _), flag in zip(truth[0], line.space_before, strict=True) if flag]
    assert flagged == ["W", "2"]
    for text in ["The quick brown dog runs", "We sold 110 units in 2011"]:
        img, truth = draw([text])
        line = layout(img)[0]
        expected = [text[i - 1] == " " for i, ch in enumerate(text) if ch != " "]
        assert line.space_before == expected, text


def test_no_spaces_inside_cjk_text(layout):
    img, _ = draw(["我们在北京川菜馆吃饭"])
    assert not any(layout(img)[0].space_before)


def test_split_chars_spaces_list_and_char_height():
    img, _ = draw(["ab cd"])
    ink = binarize(to_grey(img))
    box = find_lines(ink)[0]
    crop = ink[box.y0 : box.y1, box.x0 : box.x1]
    flags = [True, True, True]
    boxes = split_chars(crop, spaces=flags)
    assert len(boxes) == 4 and flags == [False, False, True, False]
    assert 0 < estimate_char_height(crop) <= crop.shape[0]
    assert all(b.x1 <= crop.shape[1] and b.y1 <= crop.shape[0] for b in boxes)


# --- registration and round trips ----------------------------------------------------------


def test_builder_defaults_are_the_layout_defaults():
    built = build_projection_layout()
    assert isinstance(built, ProjectionLayout)
    builder = inspect.signature(build_projection_layout).parameters
    cls = inspect.signature(ProjectionLayout).parameters
    assert list(builder) == list(cls)
    for name, param in builder.items():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        assert param.default == cls[name].default, name
        assert param.annotation != inspect.Parameter.empty, name
    assert vars(build_projection_layout(cjk_max_width=1.05))["cjk_max_width"] == 1.05
    with pytest.raises(LayoutError, match="grey_method"):
        ProjectionLayout(grey_method="sepia")


def test_registered_builder_resolves_from_a_config():
    from spacy.util import registry
    from thinc.api import Config

    name = "spacy_kexue.ProjectionLayout.v1"
    if name not in registry.misc:  # entry point not installed yet: register for the test
        name = "spacy_kexue.test_layout.ProjectionLayout.v1"
        registry.misc.register(name, func=build_projection_layout)
    cfg = Config().from_str(f'[layout]\n@misc = "{name}"\nspace_gap = 0.3\n')
    layout = registry.resolve(cfg)["layout"]
    assert isinstance(layout, ProjectionLayout) and layout.space_gap == 0.3


def test_layout_and_lines_pickle(layout):
    img, _ = draw(["北京"])
    lines = layout(img)
    clone = pickle.loads(pickle.dumps(layout))
    assert repr(clone) == repr(layout)
    assert clone(img) == lines
    assert pickle.loads(pickle.dumps(lines)) == lines


def test_both_stages_are_registered_and_replaceable():
    from spacy.util import registry
    from thinc.api import Config

    from spacy_kexue.ocr.layout import (
        ProjectionChars,
        ProjectionLines,
        build_projection_chars,
        build_projection_lines,
    )

    ink = np.zeros((40, 120), dtype=bool)
    ink[5:15, 10:20] = ink[5:15, 30:40] = ink[25:35, 10:20] = True
    default = ProjectionLayout()(ink)
    assert len(default) == 2 and [len(line.chars) for line in default] == [2, 1]
    # a line finder that sees one line only, a splitter that keeps each line whole
    one_line = ProjectionLayout(line_finder=lambda mask: [Box(0, 0, 120, 20)])
    assert len(one_line(ink)) == 1
    whole = ProjectionLayout(
        char_splitter=lambda crop: ([Box(0, 0, crop.shape[1], crop.shape[0])], [False], 10.0)
    )
    assert [len(line.chars) for line in whole(ink)] == [1, 1]
    # the built-in stages are the registered ones, with the same defaults
    assert isinstance(ProjectionLayout().line_finder, ProjectionLines)
    assert vars(build_projection_chars()) == vars(ProjectionLayout().char_splitter)
    assert vars(build_projection_lines(merge_gap=0.5)) == vars(
        ProjectionLayout(merge_gap=0.5).line_finder
    )
    names = {
        "spacy_kexue.ProjectionLayout.v1": build_projection_layout,
        "spacy_kexue.ProjectionLines.v1": build_projection_lines,
        "spacy_kexue.ProjectionChars.v1": build_projection_chars,
    }
    for name, func in names.items():
        if name not in registry.misc:  # entry points not installed yet: register for the test
            registry.misc.register(name, func=func)
    cfg = Config().from_str(
        '[layout]\n@misc = "spacy_kexue.ProjectionLayout.v1"\n\n'
        '[layout.char_splitter]\n@misc = "spacy_kexue.ProjectionChars.v1"\nspace_gap = 0.4\n\n'
        '[layout.line_finder]\n@misc = "spacy_kexue.ProjectionLines.v1"\nmin_height = 3\n'
    )
    layout = registry.resolve(cfg)["layout"]
    assert layout.char_splitter.space_gap == 0.4 and layout.line_finder.min_height == 3
    assert [len(line.chars) for line in layout(ink)] == [2, 1]
    with pytest.raises(LayoutError, match="cjk_min_width"):
        ProjectionChars(cjk_min_width=2.0, cjk_max_width=1.0)
