"""Tests of the layout's boxes and lines (spacy_kexue.ocr.boxes)."""

from __future__ import annotations

import numpy as np
import pytest

from spacy_kexue.ocr.boxes import Box, LayoutError, Line


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
