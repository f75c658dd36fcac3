"""OCR metrics (spacy_kexue.ocr.metrics)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.ocr.metrics import (
    _edit_distance_numpy,
    _edit_distance_python,
    character_error_rate,
    edit_distance,
    line_exact_match,
    strip_whitespace,
)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("kitten", "sitting", 3),
        ("sitting", "kitten", 3),
        ("flaw", "lawn", 2),
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("abc", "abc", 0),
        ("电柳", "电视", 1),
        ("我爱北京天安门", "我爱天安门", 2),
        ("ab", "ba", 2),
        ("intention", "execution", 5),
        (["我", "爱", "北京"], ["我", "北京"], 1),  # token sequences
    ],
)
def test_edit_distance_hand_computed(a, b, expected):
    assert edit_distance(a, b) == expected


def test_edit_distance_long_inputs_use_numpy_path():
    a = "电视" * 100 + "节目"
    b = "电视" * 100 + "结木"
    assert edit_distance(a, b) == 2  # common prefix skipped
    x = ("abcde" * 60)[::-1] + "kitten" * 30
    y = ("abcde" * 60) + "sitting" * 30
    assert edit_distance(x, y) == _edit_distance_python(x, y)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abc电视 ", max_size=12), st.text(alphabet="abc电视 ", max_size=12))
def test_edit_distance_implementations_agree(a, b):
    d = _edit_distance_python(a, b)
    assert _edit_distance_numpy(a, b) == d
    assert _edit_distance_numpy(list(a), list(b)) == d
    assert edit_distance(a, b) == d == edit_distance(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))


def test_strip_whitespace():
    assert strip_whitespace(" 电\t视\n机\u3000 ") == "电视机"


def test_cer_hand_computed():
    # 1 substitution over 2 reference characters + 3 edits over 7
    assert character_error_rate(["电柳", "kitten"], ["电视", "sitting"]) == pytest.approx(4 / 9)
    assert character_error_rate("电柳", "电视") == pytest.approx(0.5)
    assert character_error_rate(["abc"], ["abc"]) == 0.0
    assert isinstance(character_error_rate(["abc"], ["abd"]), float)


def test_cer_ignores_all_whitespace():
    assert character_error_rate(["电 视\t机"], ["电视机"]) == 0.0
    assert character_error_rate(["电视机"], [" 电\u3000视\n机 "]) == 0.0
    # the reference length counts non-whitespace characters only: 1 error / 3
    assert character_error_rate(["电 视"], ["电 视 机"]) == pytest.approx(1 / 3)


def test_cer_can_exceed_one():
    assert character_error_rate(["abcdef"], ["a"]) == pytest.approx(5.0)


def test_cer_empty_references():
    assert character_error_rate([], []) == 0.0
    assert character_error_rate([""], [""]) == 0.0
    assert character_error_rate([" "], ["\n"]) == 0.0
    assert character_error_rate(["abc"], [""]) == 1.0
    assert character_error_rate(["abc", ""], [" ", ""]) == 1.0
    # an empty reference among others just adds its insertions
    assert character_error_rate(["xy", "ab"], ["", "ab"]) == pytest.approx(2 / 2)


def test_line_exact_match():
    assert line_exact_match(["电 视", "电柳", ""], ["电视", "电视", " "]) == pytest.approx(2 / 3)
    assert line_exact_match("ab", "a b") == 1.0
    assert line_exact_match([], []) == 1.0
    assert isinstance(line_exact_match(["a"], ["b"]), float)
    assert line_exact_match(["a"], ["b"]) == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="2 predictions and 1 references"):
        character_error_rate(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="1 predictions and 0 references"):
        line_exact_match(["a"], [])
    with pytest.raises(TypeError, match="two strings"):
        character_error_rate("abc", ["abc"])
    with pytest.raises(TypeError, match=r"references\[1\]"):
        character_error_rate(["a", "b"], ["a", None])
