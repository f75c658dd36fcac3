"""Test lines for the layout tests (tests/ocr/test_ink.py, test_lines.py, test_chars.py).

Test images are drawn here with PIL directly, one character at a time at integer pen
positions, so that each character's true ink box is known exactly: the same glyph drawn
alone on a small canvas, thresholded at half coverage. Fonts: the allowed Noto Sans CJK SC,
WenQuanYi Micro Hei and AR PL UMing (never the families reserved for evaluation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import skip_missing_fonts

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


_fonts: dict = {}


def get_font(key: str, size: int):
    if (key, size) not in _fonts:
        path, index, family = FONT_FILES[key]
        if not Path(path).exists():
            skip_missing_fonts(f"font file {path} not installed")
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
            box = glyph_box(font, ch)
            if box is not None:
                boxes.append((ch, (box[0] + x, box[1] + y, box[2] + x, box[3] + y)))
        truth.append(boxes)
    return np.asarray(img), truth


def glyph_box(font, ch):
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
