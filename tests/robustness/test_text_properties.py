"""Property-based tests over the public text surface: the tokenizer and the whole default pipeline.

Issue 10: any valid Unicode string (NUL, control characters, combining marks, RTL text with bidi
controls, emoji sequences, full-width forms, private use, noncharacters, BOM, ...) gives a Doc
with ``doc.text == text`` and sane annotations, whether it goes through ``nlp.tokenizer``,
``nlp.make_doc``, ``nlp(text)``, ``nlp.tokenizer.pipe`` or ``nlp.pipe`` (any batch size, any batch
companions). Strings with lone surrogates have one documented behaviour everywhere:
:class:`spacy_kexue.text.LoneSurrogateError` (a ``ValueError``) naming the first position;
``replace_surrogates`` repairs them; ``kexue pipe`` sends such records to the rejects file.

The strategies mix pools of characters deliberately instead of relying on ``st.text()``, which
rarely produces emoji sequences, stacked marks or long Han runs. Example counts are fixed
(``budget``; ``KEXUE_FUZZ_SCALE`` multiplies them for a longer local run).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from spacy_kexue.text import REPLACEMENT_CHARACTER, LoneSurrogateError, replace_surrogates
from spacy_kexue.tokenizer.pretok import is_attached

from .conftest import budget

LABELS = {"POSITIVE", "NEGATIVE"}

# --- character pools -------------------------------------------------------------------------


def code_points(lo: int, hi: int) -> st.SearchStrategy[str]:
    """One character from the range ``lo..hi`` (assigned or not: every code point is valid)."""
    return st.integers(lo, hi).map(chr)


HAN_WORDS = [
    "今天", "天气", "很好", "我们", "中国", "北京", "喜欢", "这部", "电影", "服务", "态度",
    "酒店", "手机", "质量", "不错", "太差", "非常", "了", "的", "是", "不", "很", "年", "月",
]  # fmt: skip
HAN_CHAR = st.one_of(
    code_points(0x4E00, 0x9FFF),  # URO
    code_points(0x3400, 0x4DBF),  # extension A
    code_points(0x20000, 0x2A6DF),  # extension B (supplementary plane)
    code_points(0x30000, 0x3134A),  # extension G
    code_points(0xF900, 0xFAFF),  # compatibility ideographs
    st.sampled_from("々〇○"),
)
HAN = st.lists(st.one_of(st.sampled_from(HAN_WORDS), HAN_CHAR), min_size=1, max_size=20).map(
    "".join
)
# Longer than the segmenter's max_chunk (128): the run is tagged in pieces.
LONG_HAN = st.lists(st.one_of(st.sampled_from(HAN_WORDS), HAN_CHAR), min_size=70, max_size=160).map(
    "".join
)
ASCII = st.text(code_points(0x20, 0x7E), min_size=1, max_size=12)
DIGITS = st.text(st.sampled_from("0123456789０１２３４５６７８９.,:%％．‰"), min_size=1, max_size=8)
FULL_WIDTH = st.text(code_points(0xFF01, 0xFF5E), min_size=1, max_size=6)
WHITESPACE_CHARS = [
    " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
    "\u2028", "\u2029", "\u00a0", "\u200b", "\u3000", "\u2003", "\u202f", "\u1680",
]  # fmt: skip
WHITESPACE = st.lists(st.sampled_from(WHITESPACE_CHARS), min_size=1, max_size=4).map("".join)
CONTROLS = st.text(
    st.one_of(code_points(0x00, 0x1F), code_points(0x7F, 0x9F), st.just("\x00")),
    min_size=1,
    max_size=3,
)
MARK = st.one_of(
    code_points(0x0300, 0x036F),  # combining diacritics
    code_points(0x20D0, 0x20F0),  # combining marks for symbols (incl. the keycap U+20E3)
    st.sampled_from(["\ufe0e", "\ufe0f", "\U000e0100", "\u200c", "\u200d", "\u0e48", "\u093f"]),
)
# Several marks stacked on one base, or on none (a piece may start the text).
COMBINING = st.tuples(
    st.sampled_from(["", "", "a", "e", "好", "中", "1", "。", " ", "😀", "Ω"]),
    st.lists(MARK, min_size=1, max_size=6),
).map(lambda t: t[0] + "".join(t[1]))
BIDI_CONTROLS = ["\u200e", "\u200f", "\u061c", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]  # fmt: skip
RTL = st.text(
    st.one_of(
        code_points(0x0590, 0x05FF),  # Hebrew
        code_points(0x0600, 0x06FF),  # Arabic (incl. Arabic-Indic digits)
        code_points(0xFB50, 0xFDFF),  # Arabic presentation forms
        st.sampled_from(BIDI_CONTROLS),
        st.just(" "),
    ),
    min_size=1,
    max_size=12,
)
EMOJI_SEQUENCES = [
    "👨\u200d👩\u200d👧\u200d👦",  # ZWJ family
    "👩\u200d💻",
    "🏳\ufe0f\u200d🌈",
    "👍🏽",  # skin tone
    "🧑🏿\u200d🤝\u200d🧑🏻",
    "🇨🇳",  # flag: regional indicator pair
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # tag sequence (England)
    "1\ufe0f\u20e3",  # keycaps
    "#\u20e3",
    "*\ufe0f\u20e3",
    "☺\ufe0e",  # VS15 / VS16
    "☺\ufe0f",
    "‼\ufe0f",
    "❤\ufe0f",
    "\u200d",  # a dangling ZWJ
    "👨\u200d",
]
EMOJI = st.one_of(
    st.sampled_from(EMOJI_SEQUENCES),
    st.tuples(code_points(0x1F300, 0x1FAFF), st.sampled_from(["", "\ufe0f", "\ufe0e"])).map(
        "".join
    ),
    st.tuples(code_points(0x1F466, 0x1F469), code_points(0x1F3FB, 0x1F3FF)).map("".join),
    st.lists(code_points(0x1F1E6, 0x1F1FF), min_size=1, max_size=5).map("".join),  # flags, odd too
    st.tuples(st.sampled_from("0123456789#*"), st.sampled_from(["", "\ufe0f"])).map(
        lambda t: t[0] + t[1] + "\u20e3"
    ),
    st.lists(code_points(0x1F600, 0x1F64F), min_size=2, max_size=4).map("\u200d".join),
)
PRIVATE_USE = st.one_of(
    code_points(0xE000, 0xF8FF), code_points(0xF0000, 0xFFFFD), code_points(0x100000, 0x10FFFD)
)
NONCHARACTERS = st.sampled_from(
    ["\ufffe", "\uffff", "\U0010ffff", "\U0010fffe", "\ufdd0", "\ufdef", "\U0001fffe", "\ufeff"]
)
PUNCT = st.sampled_from(
    [
        *"，。！？、；：“”‘’（）《》【】「」…—·!?.,;:()[]{}\"'$+<=>^`|~",
        "……",
        "——",
        "...",
        "!!!",
        "。”",
    ]
)
ANY = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)

PIECES = st.one_of(
    HAN,
    HAN,  # Chinese is the common case: weigh it up
    LONG_HAN,
    ASCII,
    DIGITS,
    FULL_WIDTH,
    WHITESPACE,
    CONTROLS,
    COMBINING,
    RTL,
    EMOJI,
    PRIVATE_USE,
    NONCHARACTERS,
    PUNCT,
    ANY,
)
TEXTS = st.lists(PIECES, max_size=12).map("".join)
SHORT_TEXTS = st.lists(PIECES, max_size=5).map("".join)


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


# --- checks ----------------------------------------------------------------------------------


def assert_tiles(doc, text: str) -> None:
    """The doc's tokens tile ``text`` exactly: consecutive (token.idx increasing without gaps),
    non-empty, each followed by nothing or one space."""
    assert doc.text == text
    assert "".join(t.text_with_ws for t in doc) == text
    pos = 0
    for token in doc:
        assert token.idx == pos, (token.i, token.idx, pos)
        assert token.text, token.i
        assert text[token.idx : token.idx + len(token.text)] == token.text
        pos += len(token.text_with_ws)
    assert pos == len(text)


def assert_annotations(doc) -> None:
    """What the default pipeline promises on every doc."""
    assert set(doc.cats) == LABELS
    assert all(0.0 <= doc.cats[label] <= 1.0 for label in LABELS), doc.cats
    assert math.isclose(sum(doc.cats.values()), 1.0, abs_tol=1e-4), doc.cats
    saliency = doc._.saliency
    assert saliency is not None and len(saliency) == len(doc)
    for token in doc:
        assert isinstance(token._.saliency, float) and math.isfinite(token._.saliency)
    assert isinstance(doc._.sentiment_uncertain, bool)
    vector = doc._.vae_vector
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float32
    assert vector.ndim == 1 and vector.size > 0 and np.isfinite(vector).all()


def tokens(doc) -> list[tuple[str, str]]:
    return [(t.text, t.whitespace_) for t in doc]


def assert_same_doc(got, expected) -> None:
    """Same tokens; the same scores up to float rounding (batched matrix products differ)."""
    assert tokens(got) == tokens(expected)
    for label in LABELS:
        assert got.cats[label] == pytest.approx(expected.cats[label], abs=1e-5)
    np.testing.assert_allclose(got._.saliency, expected._.saliency, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got._.vae_vector, expected._.vae_vector, rtol=1e-4, atol=1e-5)


# --- the tokenizer alone ---------------------------------------------------------------------


@budget(100)
@given(text=TEXTS)
def test_tokenizer_tiles_any_text(default_nlp, text):
    for doc in (default_nlp.tokenizer(text), default_nlp.make_doc(text)):
        assert_tiles(doc, text)


@budget(30)
@given(texts=st.lists(TEXTS, max_size=8), batch_size=st.integers(1, 9))
def test_tokenizer_pipe_matches_call(default_nlp, texts, batch_size):
    """Batching Han runs of several texts into one tagger pass changes nothing."""
    docs = list(default_nlp.tokenizer.pipe(texts, batch_size=batch_size))
    assert len(docs) == len(texts)
    for doc, text in zip(docs, texts, strict=True):
        assert_tiles(doc, text)
        assert tokens(doc) == tokens(default_nlp.tokenizer(text))


def assert_no_token_starts_inside_a_grapheme(doc, text: str) -> None:
    for token in doc[1:]:
        if is_attached(token.text[0]):
            before = text[token.idx - 1]
            assert before.isspace(), (text, token.i, token.text, before)


@budget(100)
@given(text=TEXTS)
def test_no_token_starts_inside_a_grapheme(default_nlp, text):
    """A combining mark, variation selector, ZWJ, skin tone or tag character belongs to the
    character before it (pretok's module docstring): it can start a token only where it has
    no base, at the start of the text or after whitespace. ("‼\ufe0f", "。\u0301", "C#\u0301",
    "好\u200d" were split before the fix in pretok.)"""
    assert_no_token_starts_inside_a_grapheme(default_nlp.tokenizer(text), text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("‼\ufe0f好", ["‼\ufe0f", "好"]),  # an emoji whose base is punctuation (U+203C)
        ("好。\u0301", ["好", "。\u0301"]),
        ("C#\u0301", ["C#\u0301"]),
        ("5%\u0301", ["5%\u0301"]),
        ("U.S.\u0301", ["U.S.\u0301"]),
        ("1\ufe0f\u20e3\u0301", ["1\ufe0f\u20e3\u0301"]),
        ("😀\u200d\u0301", ["😀\u200d\u0301"]),
        ("好\u200d", ["好\u200d"]),
        ("a\u200d", ["a\u200d"]),
        ("7\u200d", ["7\u200d"]),
        (" \u0301", [" ", "\u0301"]),  # after whitespace a mark has no base: its own token
    ],
)
def test_attached_characters_stay_with_their_base(default_nlp, text, expected):
    """Regressions found by test_no_token_starts_inside_a_grapheme (fixed in pretok)."""
    assert [t.text_with_ws for t in default_nlp.tokenizer(text)] == expected


@budget(30)
@example(before=["好"] * 128, marks=["\u0301"], after="好")
@given(
    before=st.lists(HAN_CHAR, min_size=1, max_size=2).flatmap(
        # a run ending within a few characters of one or two max_chunk (128) boundaries
        lambda head: st.sampled_from([125, 126, 127, 128, 129, 253, 254, 255, 256, 257]).map(
            lambda n: (head * n)[:n]
        )
    ),
    marks=st.lists(MARK, min_size=1, max_size=4),
    after=HAN,
)
def test_no_token_starts_inside_a_grapheme_in_long_han_runs(default_nlp, before, marks, after):
    """Han runs longer than the segmenter's max_chunk are tagged in pieces; a piece never
    starts with an attached character, even where the marks sit right at a piece boundary
    (before the fix, '好' * 128 + '\u0301好' gave [..., '\u0301', '好'])."""
    text = "".join(before) + "".join(marks) + after
    assert_no_token_starts_inside_a_grapheme(default_nlp.tokenizer(text), text)


# --- the whole default pipeline --------------------------------------------------------------


@budget(75)
@given(text=TEXTS)
def test_pipeline_on_any_text(default_nlp, text):
    doc = default_nlp(text)
    assert_tiles(doc, text)
    assert_annotations(doc)


@budget(30)
@given(texts=st.lists(SHORT_TEXTS, min_size=1, max_size=6), batch_size=st.integers(1, 7))
def test_nlp_pipe_matches_nlp_call(default_nlp, texts, batch_size):
    docs = list(default_nlp.pipe(texts, batch_size=batch_size))
    assert len(docs) == len(texts)
    for doc, text in zip(docs, texts, strict=True):
        assert_tiles(doc, text)
        assert_annotations(doc)
        assert_same_doc(doc, default_nlp(text))


@budget(15)
@given(
    text=TEXTS,
    before=st.lists(SHORT_TEXTS, max_size=3),
    after=st.lists(SHORT_TEXTS, max_size=3),
    companion=st.one_of(LONG_HAN, TEXTS),
)
def test_results_do_not_depend_on_the_batch(default_nlp, text, before, after, companion):
    """The same text in two batches with other companions (a long one among them, so the text
    is padded in one batch and not in the other) gets the same tokens and scores."""
    alone = list(default_nlp.pipe([text], batch_size=1))[0]
    batch = [*before, text, companion, *after]
    in_batch = list(default_nlp.pipe(batch, batch_size=len(batch)))[len(before)]
    assert_same_doc(in_batch, alone)
    assert_annotations(in_batch)


# --- lone surrogates -------------------------------------------------------------------------

SURROGATE = st.one_of(
    code_points(0xD800, 0xDFFF),
    st.sampled_from([0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00]).map(chr),
    # what json.loads makes of a lone \\uXXXX escape
    st.integers(0xD800, 0xDFFF).map(lambda cp: json.loads(f'"\\u{cp:04x}"')),
)


@st.composite
def with_surrogates(draw) -> str:
    """A valid text with 1..3 lone surrogates inserted at random positions."""
    text = draw(TEXTS)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(SURROGATE) + text[at:]
    return text


def first_surrogate(text: str) -> int:
    return next(i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF)


def assert_names_first_surrogate(info, text: str) -> None:
    position = first_surrogate(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.position == position
    assert f"position {position}" in str(err)
    assert f"U+{ord(text[position]):04X}" in str(err)


@budget(60)
@given(text=with_surrogates())
def test_lone_surrogates_raise_everywhere(default_nlp, text):
    with pytest.raises(LoneSurrogateError) as info:
        default_nlp.tokenizer(text)
    assert_names_first_surrogate(info, text)
    with pytest.raises(LoneSurrogateError) as info:
        default_nlp.make_doc(text)
    assert_names_first_surrogate(info, text)
    with pytest.raises(LoneSurrogateError) as info:
        default_nlp(text)
    assert_names_first_surrogate(info, text)


@budget(25)
@given(
    bad=with_surrogates(),
    good=st.lists(SHORT_TEXTS, max_size=4),
    where=st.integers(0, 4),
    batch_size=st.integers(1, 5),
)
def test_lone_surrogates_raise_in_pipe(default_nlp, bad, good, where, batch_size):
    texts = [*good[:where], bad, *good[where:]]
    for pipe in (default_nlp.pipe, default_nlp.tokenizer.pipe):
        with pytest.raises(LoneSurrogateError) as info:
            list(pipe(texts, batch_size=batch_size))
        assert_names_first_surrogate(info, bad)


def test_surrogate_pair_escapes_are_two_lone_surrogates(default_nlp):
    """A Python str holds code points: "\\ud83d\\ude00" typed in Python is two lone surrogates,
    not 😀 (only a JSON or UTF-16 decoder joins a pair)."""
    text = "好" + "\ud83d\ude00" + "好"
    assert len(text) == 4 and text != "好😀好"
    with pytest.raises(LoneSurrogateError) as info:
        default_nlp(text)
    assert info.value.position == 1 and "U+D83D at position 1" in str(info.value)
    joined = json.loads('"好\\ud83d\\ude00好"')
    assert joined == "好😀好"
    assert default_nlp(joined).text == joined
    repaired = replace_surrogates(text)
    assert repaired == "好\ufffd\ufffd好"
    assert default_nlp(repaired).text == repaired


@budget(40)
@given(text=with_surrogates())
def test_replace_surrogates_repairs_in_place(default_nlp, text):
    repaired = replace_surrogates(text)
    assert len(repaired) == len(text)
    for original, new in zip(text, repaired, strict=True):
        if 0xD800 <= ord(original) <= 0xDFFF:
            assert new == REPLACEMENT_CHARACTER
        else:
            assert new == original
    assert not has_surrogate(repaired)
    doc = default_nlp(repaired)
    assert_tiles(doc, repaired)
    assert_annotations(doc)


@budget(60)
@given(text=TEXTS)
def test_replace_surrogates_keeps_valid_text(text):
    assert replace_surrogates(text) == text


# --- kexue pipe: lone surrogates go to the rejects file --------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    # Iterating a text file splits at \n only (json.dumps escapes \r and \n in strings), so
    # texts holding U+2028 or U+0085 stay on their line.
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


RECORD_TEXTS = st.one_of(SHORT_TEXTS, with_surrogates())


@budget(10)
@given(texts=st.lists(RECORD_TEXTS, min_size=1, max_size=8), chunk_size=st.integers(1, 4))
def test_kexue_pipe_rejects_lone_surrogates(texts, chunk_size):
    """``run`` on JSONL whose records hold \\udXXX escapes: those with a lone surrogate after
    JSON decoding go to OUTPUT.rejects.jsonl with reason lone-surrogate naming the position;
    all the others are in the output, in order, with their text unchanged. (An escaped high
    surrogate followed by an escaped low one is a valid pair in JSON: it decodes to one
    character and the record is good.)"""
    from spacy_kexue.corpus.pipe import run

    lines = [json.dumps({"text": t, "id": i}) for i, t in enumerate(texts)]  # ASCII escapes
    decoded = [json.loads(line)["text"] for line in lines]
    bad = [i for i, t in enumerate(decoded) if has_surrogate(t)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("".join(line + "\n" for line in lines), encoding="ascii")
        out = Path(tmp) / "out.jsonl"
        summary = run(src, out, model="zh_kexue_sm", chunk_size=chunk_size, batch_size=3)
        records = read_jsonl(out)
        rejects_path = Path(tmp) / "out.jsonl.rejects.jsonl"
        rejects = read_jsonl(rejects_path) if rejects_path.exists() else []
    assert [r["index"] for r in records] == [i for i in range(len(texts)) if i not in bad]
    for record in records:
        assert record["text"] == decoded[record["index"]]
        assert record["context"] == {"id": record["index"]}
        assert set(record["cats"]) == LABELS
    assert [(r["index"], r["line"], r["reason"]) for r in rejects] == [
        (i, i + 1, "lone-surrogate") for i in bad
    ]
    for reject in rejects:
        text = decoded[reject["index"]]
        position = first_surrogate(text)
        assert f"U+{ord(text[position]):04X} at position {position}" in reject["detail"]
    assert summary.rejected == ({"lone-surrogate": len(bad)} if bad else {})
    assert (summary.read, summary.written) == (len(texts), len(texts) - len(bad))


def test_kexue_pipe_cli_exit_code_with_surrogates(tmp_path):
    """The CLI: rejected records make the exit status 2 (documented in ``kexue pipe --help``),
    and the summary line says why."""
    from spacy_kexue.cli import app

    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"text": "好的"}\n{"text": "坏\\ud800"}\n{"text": "\\ud83d\\ude00"}\n'
        '{"text": "\\udfff\\ud800"}\n{"text": "再见"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["pipe", str(src), str(out)])
    assert result.exit_code == 2, result.output
    assert "rejected 2 (lone-surrogate 2)" in result.output
    assert [r["text"] for r in read_jsonl(out)] == ["好的", "😀", "再见"]
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [(r["line"], r["reason"], r["detail"]) for r in rejects] == [
        (2, "lone-surrogate", "U+D800 at position 1 of the text"),
        (4, "lone-surrogate", "U+DFFF at position 0 of the text"),
    ]
    # Repaired beforehand, the same records all go through (exit status 0).
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(
        "".join(
            json.dumps({"text": replace_surrogates(json.loads(line)["text"])}) + "\n"
            for line in src.read_text(encoding="utf-8").splitlines()
        ),
        encoding="ascii",
    )
    result = CliRunner().invoke(app, ["pipe", str(fixed), str(tmp_path / "fixed_out.jsonl")])
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(tmp_path / "fixed_out.jsonl")) == 5


def test_pipeline_error_is_not_how_surrogates_are_rejected(tmp_path):
    """Lone surrogates are caught by the reader (reason lone-surrogate), before the pipeline
    could raise (reason pipeline-error): the reader is the documented place."""
    from spacy_kexue.corpus.pipe import run

    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "\\ud800"}\n{"text": "ok", "note": "\\udc00"}\n', encoding="ascii")
    summary = run(src, tmp_path / "out.jsonl", model="zh_kexue_sm")
    assert summary.rejected == {"lone-surrogate": 2}
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [r["detail"] for r in rejects] == [
        "U+D800 at position 0 of the text",
        "U+DC00 at position 10 of the other fields",
    ]


@pytest.mark.parametrize("text", ["", " ", "\x00", "\u0301", "\ufeff", "\U0010ffff", "\u200d"])
def test_tiny_texts(default_nlp, text):
    doc = default_nlp(text)
    assert_tiles(doc, text)
    assert_annotations(doc)
