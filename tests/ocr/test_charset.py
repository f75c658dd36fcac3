import json
import pickle
import string
from collections import Counter

import pytest

from spacy_kexue.errors import KexueError
from spacy_kexue.ocr.charset import (
    ASCII_PUNCT,
    FULLWIDTH_PUNCT,
    KINDS,
    Charset,
    CharsetError,
    UnknownCharError,
    char_kind,
    default_charset,
    gb2312_level1,
)
from tests.imports import loaded_after

FULL_ASCII_PAIRS = [
    ("，", ","),
    ("。", "."),
    ("（", "("),
    ("）", ")"),
    ("：", ":"),
    ("；", ";"),
    ("？", "?"),
    ("！", "!"),
    ("“", '"'),
    ("‘", "'"),
    ("～", "~"),
    ("％", "%"),
    ("—", "-"),
]


def test_gb2312_level1_is_the_3755_common_hanzi():
    chars = gb2312_level1()
    assert len(chars) == 3755
    assert len(set(chars)) == 3755
    assert chars[0] == "啊" and chars[-1] == "座"
    assert all("\u4e00" <= ch <= "\u9fff" for ch in chars)
    for (
        common
    ) in "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会":
        assert common in chars
    assert "乂" not in chars  # level 2


def test_default_charset_layout():
    cs = default_charset()
    assert len(cs) == 3755 + 10 + 52 + 32 + len(FULLWIDTH_PUNCT)
    assert len(set(cs.chars)) == len(cs)
    assert list(cs.chars[:3755]) == gb2312_level1()
    for ch in string.digits + string.ascii_letters + ASCII_PUNCT + FULLWIDTH_PUNCT:
        assert ch in cs
    assert " " not in cs and "\u3000" not in cs
    kinds = Counter(cs.kind(ch) for ch in cs)
    assert kinds == {
        "cjk": 3755,
        "digit": 10,
        "latin": 52,
        "punct_ascii": 32,
        "punct_full": len(FULLWIDTH_PUNCT),
    }


@pytest.mark.parametrize("full,ascii_", FULL_ASCII_PAIRS)
def test_fullwidth_and_ascii_punctuation_are_different_classes(full, ascii_):
    cs = default_charset()
    assert cs.index(full) != cs.index(ascii_)
    assert cs.kind(full) == "punct_full"
    assert cs.kind(ascii_) == "punct_ascii"


def test_index_char_ids_round_trip():
    cs = default_charset()
    for i, ch in enumerate(cs):
        assert cs.index(ch) == i
        assert cs.char(i) == ch
    text = "你好,世界！OCR 2016。"
    ids = cs.ids(text.replace(" ", ""))
    assert "".join(cs.char(i) for i in ids) == text.replace(" ", "")
    assert ids[2] == cs.index(",") and ids[5] == cs.index("！")


def test_unknown_characters_raise_a_clear_error():
    cs = default_charset()
    with pytest.raises(UnknownCharError, match=r"U\+20AC.*position 2") as info:
        cs.ids("价格€10")
    assert isinstance(info.value, KexueError) and isinstance(info.value, ValueError)
    assert not isinstance(info.value, KeyError)
    with pytest.raises(UnknownCharError, match="not in the charset"):
        cs.index("€")
    assert cs.ids("价格€10", strict=False) == [cs.index("价"), cs.index("格"), -1, 1 + 3755, 3755]
    for bad in (-1, len(cs), 10**6):
        with pytest.raises(UnknownCharError, match="outside"):
            cs.char(bad)


def test_json_round_trip_is_a_plain_list():
    cs = default_charset()
    data = cs.to_json()
    assert json.loads(data) == list(cs.chars)
    assert "的" in data  # not ASCII-escaped
    back = Charset.from_json(data)
    assert back == cs and back.chars == cs.chars
    assert Charset.from_json(data.encode("utf-8")) == cs
    small = Charset("abc，,")
    assert Charset.from_json(small.to_json()).chars == ("a", "b", "c", "，", ",")


@pytest.mark.parametrize(
    "data,match",
    [
        ("{not json", "not valid JSON"),
        ('{"chars": ["a"]}', "expected a list"),
        ('["a", "b", "a"]', "repeats entry 0"),
        ('["a", "bc"]', "single character"),
        ('["a", " "]', "whitespace"),
        ("[]", "at least one"),
    ],
)
def test_from_json_rejects_bad_input(data, match):
    with pytest.raises(CharsetError, match=match):
        Charset.from_json(data)


def test_charset_is_immutable_hashable_and_picklable():
    cs = default_charset()
    assert pickle.loads(pickle.dumps(cs)) == cs
    assert hash(Charset("ab")) == hash(Charset(["a", "b"]))
    assert Charset("ab") != Charset("ba")
    with pytest.raises(AttributeError):
        cs.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "ch,kind",
    [
        ("的", "cjk"),
        ("Ａ", "cjk"),  # full-width Latin occupies a square cell
        ("あ", "cjk"),
        ("A", "latin"),
        ("é", "latin"),
        ("7", "digit"),
        ("，", "punct_full"),
        ("“", "punct_full"),
        ("·", "punct_full"),
        ("…", "punct_full"),
        ("《", "punct_full"),
        (",", "punct_ascii"),
        ('"', "punct_ascii"),
        ("«", "punct_ascii"),
    ],
)
def test_char_kind(ch, kind):
    assert kind in KINDS
    assert char_kind(ch) == kind


@pytest.mark.parametrize("bad", [" ", "\t", "\u3000", "\u0301", "ab", ""])
def test_char_kind_rejects_non_glyphs(bad):
    with pytest.raises(CharsetError):
        char_kind(bad)


@pytest.mark.parametrize(
    "module",
    [
        "spacy_kexue.ocr.charset",
        "spacy_kexue.ocr.fonts",
        "spacy_kexue.ocr.render",
        "spacy_kexue.ocr.augment",
    ],
)
def test_import_is_light(module):
    heavy = loaded_after(module, ("PIL", "torch", "fontTools"))
    assert heavy == [], f"{module} imports {heavy} at import time"
