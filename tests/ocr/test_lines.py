"""Tests of the line finder (spacy_kexue.ocr.lines), alone and inside the projection layout.

The text images come from tests/ocr/drawing.py (PIL, allowed fonts only).
"""

from __future__ import annotations

import numpy as np
import pytest

from spacy_kexue.ocr.boxes import LayoutError
from spacy_kexue.ocr.chars import split_chars
from spacy_kexue.ocr.ink import binarize, to_grey
from spacy_kexue.ocr.lines import find_lines
from tests.ocr.drawing import MIXED, all_chars, draw, matched


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
