"""Rule pre-tokenisation into runs, and chunking (spacy_kexue.tokenizer.pretok)."""

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.tokenizer import pretok
from spacy_kexue.tokenizer.pretok import (
    KINDS,
    attached_positions,
    chunk_spans,
    is_attached,
    split_runs,
)

TRICKY = [
    "\x00",
    "a\u0301",
    "👨\u200d👩\u200d👧",
    "🇨🇳",
    "\u202e",
    "ｆｕｌｌ１２３",
    "\u0301",
    "\u200d",
    "中\ufe00文",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "👍🏽",
    "1\ufe0f\u20e3",
    "\r\n\t\u3000\xa0",
    "\u200b",
    "مرحبا",
    "नमस्ते",
    "こんにちは",
    "한국어",
    "𠀀𪜀",
    "\U0010ffff",
    "\ufeff",
]


def kinds(text):
    return [(text[s:e], k) for s, e, k in split_runs(text)]


def assert_partition(text, spans):
    pos = 0
    for span in spans:
        start, end = span[:2]
        assert start == pos and end > start
        pos = end
    assert pos == len(text)


def test_example_sentence():
    assert kinds("我在2001年买了iPhone12，价格3.5万元……真的!!!") == [
        ("我在", "han"),
        ("2001", "num"),
        ("年买了", "han"),
        ("iPhone12", "latin"),
        ("，", "punct"),
        ("价格", "han"),
        ("3.5", "num"),
        ("万元", "han"),
        ("……", "punct"),
        ("真的", "han"),
        ("!!!", "punct"),
    ]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1,000", [("1,000", "num")]),
        ("50%的人", [("50%", "num"), ("的人", "han")]),
        ("１２３４", [("１２３４", "num")]),
        ("10:30", [("10:30", "num")]),
        ("3.14。", [("3.14", "num"), ("。", "punct")]),
        ("1.", [("1", "num"), (".", "punct")]),
        ("二〇〇八年", [("二〇〇八年", "han")]),
        ("二○○八年", [("二○○八年", "han")]),
        ("COVID-19疫情", [("COVID-19", "latin"), ("疫情", "han")]),
        ("U.S.政府", [("U.S.", "latin"), ("政府", "han")]),
        ("5G网络", [("5G", "latin"), ("网络", "han")]),
        ("3.5GHz", [("3.5", "num"), ("GHz", "latin")]),
        ("C++和C#", [("C++", "latin"), ("和", "han"), ("C#", "latin")]),
        ("nǐ hǎo", [("nǐ", "latin"), (" ", "space"), ("hǎo", "latin")]),
        ("Москва", [("Москва", "latin")]),
        ("a-", [("a", "latin"), ("-", "punct")]),
        ("——", [("——", "punct")]),
        ("...", [("...", "punct")]),
        ("!?", [("!", "punct"), ("?", "punct")]),
        ("《书》", [("《", "punct"), ("书", "han"), ("》", "punct")]),
        ("a+b=c", [("a", "latin"), ("+", "punct"), ("b", "latin"), ("=", "punct"), ("c", "latin")]),
        ("￥100", [("￥", "other"), ("100", "num")]),
        ("\n\n  ", [("\n\n  ", "space")]),
        ("\x00", [("\x00", "other")]),
        ("a\u0301", [("a\u0301", "latin")]),
        ("👨\u200d👩\u200d👧", [("👨\u200d👩\u200d👧", "other")]),
        ("🇨🇳🇺🇸", [("🇨🇳", "other"), ("🇺🇸", "other")]),
        ("\u202e", [("\u202e", "other")]),
        ("ｆｕｌｌ１２３", [("ｆｕｌｌ１２３", "latin")]),
        ("1\ufe0f\u20e3", [("1\ufe0f\u20e3", "other")]),
        ("中\ufe00文", [("中\ufe00文", "han")]),
        ("👍🏽好", [("👍🏽", "other"), ("好", "han")]),
        (" \u0301", [(" ", "space"), ("\u0301", "other")]),
        ("こんにちは", [(c, "other") for c in "こんにちは"]),
        ("\ud800x", [("\ud800", "other"), ("x", "latin")]),
    ],
)
def test_kinds(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_are_covered(text):
    spans = split_runs(text)
    assert_partition(text, spans)
    assert all(kind in KINDS for _, _, kind in spans)
    assert_partition("前" + text + "后", split_runs("前" + text + "后"))


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=60))
def test_split_runs_covers_any_text(text):
    spans = split_runs(text)
    assert_partition(text, spans)
    assert all(kind in KINDS for _, _, kind in spans)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(TRICKY + ["中文", "abc", "123", "，", " ", "3.5", "!!!"]), max_size=12)
)
def test_split_runs_covers_mixed_tricky_text(parts):
    text = "".join(parts)
    assert_partition(text, split_runs(text))


def test_attached_characters():
    assert is_attached("\u0301") and is_attached("\u200d") and is_attached("\ufe0f")
    assert not is_attached("a") and not is_attached("中")
    assert attached_positions("中\ufe00文\u0301") == [1, 3]
    assert attached_positions("\u0301a") == []  # position 0 attaches to nothing


@pytest.mark.skipif(unicodedata.unidata_version != "14.0.0", reason="tables are Unicode 14.0")
def test_generated_tables_match_unicodedata():
    marks = re.compile(f"[{pretok._MARKS}]")
    punct = re.compile(f"[{pretok._PUNCT}]")
    for cp in range(0x110000):
        char = chr(cp)
        category = unicodedata.category(char)
        assert (marks.match(char) is not None) == (category[0] == "M"), hex(cp)
        assert (punct.match(char) is not None) == (category[0] == "P"), hex(cp)


# --- chunking ------------------------------------------------------------------------------------


def test_chunks_cut_after_sentences_and_lines():
    text = "他说：“好。”然后走了！\n第二行"
    chunks = chunk_spans(text, 100)
    assert [text[s:e] for s, e in chunks] == ["他说：“好。”", "然后走了！", "\n", "第二行"]
    assert chunk_spans("", 10) == []
    with pytest.raises(ValueError):
        chunk_spans("abc", 0)


def test_long_sentences_prefer_punctuation_then_runs_then_balanced_cuts():
    text = "一二三四五，六七八九十"
    assert [text[s:e] for s, e in chunk_spans(text, 8)] == ["一二三四五，", "六七八九十"]
    text = "一二三四abc五六七八"
    assert [text[s:e] for s, e in chunk_spans(text, 8)] == ["一二三四abc", "五六七八"]
    text = "字" * 25
    assert [e - s for s, e in chunk_spans(text, 10)] == [9, 8, 8]
    text = "字\u0301" * 6  # never cut before a combining mark
    for s, e in chunk_spans(text, 5):
        assert e - s <= 5 and not is_attached(text[s])


def test_protected_spans_are_not_cut():
    text = "字" * 20
    chunks = chunk_spans(text, 10, protect=[(8, 12)])
    assert chunks == [(0, 8), (8, 14), (14, 20)]
    text = "北京大学。生"
    assert chunk_spans(text, 10, protect=[(3, 6)]) == [(0, 6)]


@settings(max_examples=150, deadline=None)
@given(
    st.text(st.sampled_from("中文字词。，！？\n ab1”\u0301"), max_size=80),
    st.integers(1, 12),
    st.lists(st.tuples(st.integers(0, 80), st.integers(1, 6)), max_size=4),
)
def test_chunks_cover_and_respect_max_len(text, max_len, protect):
    protect = [(s, min(s + w, len(text))) for s, w in protect if s < len(text)]
    chunks = chunk_spans(text, max_len, protect=protect)
    assert_partition(text, chunks)
    long_protected = any(e - s > max_len for s, e in protect)
    if not long_protected:
        assert all(e - s <= max_len for s, e in chunks)
    longest_marks = max(map(len, re.findall("\u0301+", text)), default=0)
    if not protect and longest_marks < max_len:
        assert not any(is_attached(text[s]) for s, _ in chunks[1:])


@settings(max_examples=150, deadline=None)
@given(
    st.text(st.sampled_from("中文字词。，！？\n ab1"), max_size=60),
    st.text(st.sampled_from("中文字词，\n ab1"), max_size=60),
    st.integers(1, 12),
)
def test_chunks_do_not_depend_on_where_the_user_cut(first, second, max_len):
    """Cutting the text after 。 (a mandatory cut) gives the same chunks, shifted."""
    first, second = first + "。", "字" + second
    whole = chunk_spans(first + second, max_len)
    offset = len(first)
    parts = chunk_spans(first, max_len) + [
        (s + offset, e + offset) for s, e in chunk_spans(second, max_len)
    ]
    assert whole == parts
