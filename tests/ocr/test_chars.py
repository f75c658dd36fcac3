"""Tests of the character splitter (spacy_kexue.ocr.chars), alone and inside the projection layout.

The text images come from tests/ocr/drawing.py (PIL, allowed fonts only); each character's
true ink box is known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from spacy_kexue.ocr.boxes import Box
from spacy_kexue.ocr.chars import estimate_char_height, split_chars
from spacy_kexue.ocr.ink import binarize, to_grey
from spacy_kexue.ocr.lines import find_lines
from tests.ocr.drawing import (
    MIXED,
    PURE_CJK,
    Image,
    ImageDraw,
    all_chars,
    draw,
    get_font,
    glyph_box,
    matched,
)


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
        x0, y0, x1, y1 = glyph_box(font, ch)
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
