"""Fuzzing every parser of outside data (issue 10, "Robustness and security").

Each parser gets two kinds of input: (a) raw random bytes or text, and (b) structure-aware
mutations of a valid file (lines dropped, duplicated, swapped; random or hostile bytes inserted;
the file truncated; BOMs, CRLF, NUL, invalid UTF-8, lone-surrogate JSON escapes, huge and
negative numbers, NaN, wrong JSON types, deep nesting). The property is always the same: the
parser returns a valid result, or raises its documented error type (a
:class:`~spacy_kexue.errors.KexueError`) whose message names the file and, for line-based
formats, the line. Anything else (KeyError, TypeError, UnicodeDecodeError, a bare ValueError,
RecursionError, zlib.error, a hang, ...) is a bug. ``kexue pipe``'s reader
(:func:`~spacy_kexue.corpus.sources.iter_items`) must instead turn every bad record into a
``Reject`` and never lose a good record.

Budgets are small enough for CI (see conftest.py; ``KEXUE_FUZZ_SCALE`` multiplies them).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import struct
import tempfile
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacy.vocab import Vocab

from spacy_kexue.corpus.sources import REASONS, Record, Reject, iter_items
from spacy_kexue.errors import DataFileError, KexueError
from spacy_kexue.ocr.charset import Charset, CharsetError, default_charset
from spacy_kexue.ocr.evaluate import read_labels
from spacy_kexue.ocr.lm import BigramLM
from spacy_kexue.readers import read_records, read_texts
from spacy_kexue.textcat.labelled import read_labelled
from spacy_kexue.tokenizer.decode import UserDictionary
from spacy_kexue.tokenizer.dictionary import load_dictionary
from spacy_kexue.tokenizer.evaluate import (
    read_char_tag,
    read_conllu,
    read_conllu_words,
    read_raw_lines,
    read_segmented,
    read_wordlist,
)
from spacy_kexue.tokenizer.segmenter import KexueSegmenter
from spacy_kexue.vae.curves import read_curve

from .conftest import budget, time_limit

# --------------------------------------------------------------------------- helpers


def parse(fn, path, *, types=(DataFileError,), line_based=True, whole_file=()):
    """Run ``fn()``: return its result, or None when it raised one of ``types`` with a message
    naming ``path`` (and the line, for line-based formats, unless the message is one of the
    ``whole_file`` problems). Any other exception propagates: that is the bug."""
    try:
        with time_limit():
            return fn()
    except types as err:
        check_message(err, path, line_based=line_based, whole_file=whole_file)
        return None


def check_message(err, path, *, line_based=True, whole_file=()):
    message = str(err)
    assert isinstance(err, KexueError), f"{type(err).__name__} is not a KexueError: {message}"
    if path is not None:
        assert str(path) in message, f"the message does not name the file {path}: {message}"
    line = getattr(err, "line", None)
    if line is not None:
        assert f"line {line}" in message, message
    elif line_based and not any(part in message for part in whole_file):
        raise AssertionError(f"a line-based format, but the message names no line: {message}")


@contextmanager
def temp_file(name: str, data: bytes):
    with tempfile.TemporaryDirectory(prefix="kexue-fuzz-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        yield path


# Hostile snippets every mutation may insert, on top of random bytes.
HOSTILE = [
    b"\x00",
    b"\xff",
    b"\xc3",  # a truncated two-byte sequence
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate (invalid)
    b"\xef\xbb\xbf",  # a BOM in the middle of the file
    b"\r",
    b"\r\n",
    b"\n",
    b"\t",
    b" ",
    "\u3000".encode(),
    "\u2028".encode(),
    b"\xc2\x85",  # NEL
    b"\x1c",
    b"#",
    b'"',
    b"\\",
    b"\\ud800",
    b'"\\udfff"',
    "²".encode(),
    "１".encode(),
]

JSON_HOSTILE = [
    b"null",
    b"[]",
    b"{}",
    b"NaN",
    b"-Infinity",
    b"1e999",
    b"-1",
    b"0",
    b"1" * 5000,  # more digits than int() converts
    b"[" * 3000,  # deeper than json's recursion limit
    b'{"a":' * 3000,
    b'"\\ud800"',
    b'"a\\udc00b"',
    b'"\\ud83d\\ude00"',
    b'{"text": "x"}',
    b"true",
    b'"text"',
]

NUMBER_HOSTILE = [b"-1", b"0", b"nan", b"inf", b"-inf", b"1e999", b"1e308", b"1e-400", b"0x10"]


@st.composite
def mutated(draw, lines: list[bytes], hostile=()):
    """``lines`` joined into a file after a few random edits (see the module docstring)."""
    lines = list(lines)
    snippets = HOSTILE + list(hostile)
    snippet = st.sampled_from(snippets) | st.binary(min_size=1, max_size=12)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(
            st.sampled_from(
                ["drop", "duplicate", "swap", "insert", "replace", "new", "cut", "empty"]
            )
        )
        if op == "empty":
            if draw(st.integers(0, 9)) == 0:
                lines = []
            continue
        if op == "new":
            lines.insert(draw(st.integers(0, len(lines))), draw(snippet))
            continue
        if not lines:
            continue
        i = draw(st.integers(0, len(lines) - 1))
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(snippet) + lines[i][k:]
        elif op == "replace":
            lines[i] = draw(snippet)
        elif op == "cut":
            k = draw(st.integers(0, len(lines[i])))
            m = draw(st.integers(k, len(lines[i])))
            lines[i] = lines[i][:k] + lines[i][m:]
    data = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\n\n"]))
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


random_bytes = st.binary(max_size=400)
random_text_bytes = st.text(max_size=200).map(lambda t: t.encode("utf-8"))
any_bytes = random_bytes | random_text_bytes

HAN = "中国人民学生老师电脑苹果天气朋友医院飞机汽车的了是在和尚未结婚"
word = st.text(alphabet=HAN + "abZ09·-", min_size=1, max_size=4)
clean_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(["\ud800", "a\udfff", "\U0001f600", "\x00", "\u2028"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def json_line(draw, record: dict) -> bytes:
    """``record`` after record-level edits (fields dropped, retyped, added), as one line."""
    record = dict(record)
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["retype", "drop", "add", "wrap"]))
        keys = list(record)
        if op == "add" or not keys:
            record[draw(st.text(max_size=5))] = draw(json_values)
        elif op == "retype":
            record[draw(st.sampled_from(keys))] = draw(json_values)
        elif op == "drop":
            del record[draw(st.sampled_from(keys))]
        else:
            return json.dumps([record]).encode()
    text = json.dumps(record, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")  # a raw surrogate is invalid UTF-8


# --------------------------------------------------------------------------- 1. dictionaries

DICT_WHOLE_FILE = ("is empty", "has no words", "plain word list", "does not exist")


def check_word_dict(wdict):
    assert len(wdict) > 0 and len(wdict.counts) == len(wdict.words)
    assert np.all(np.isfinite(wdict.counts)) and np.all(wdict.counts > 0), wdict.counts
    for w in wdict.words:
        assert w and w == w.strip() and not any(ch in w for ch in "\t\n\r\x00"), repr(w)


def run_load_dictionary(data: bytes, uniform: bool):
    with temp_file("dict.txt", data) as path:
        result = parse(
            lambda: load_dictionary(path, uniform_if_no_counts=uniform),
            path,
            whole_file=DICT_WHOLE_FILE,
        )
    if result is not None:
        check_word_dict(result)


@budget(120)
@given(data=any_bytes, uniform=st.booleans())
def test_dictionary_random_bytes(data, uniform):
    run_load_dictionary(data, uniform)


@st.composite
def dictionary_file(draw):
    fmt = draw(st.sampled_from(["jieba", "tab", "plain"]))
    entries = draw(
        st.lists(
            st.tuples(
                word,
                st.integers(1, 10**6).map(str) | st.floats(1e-3, 1e6).map(repr),
                st.sampled_from(["", "n", "v", "nr"]),
            ),
            min_size=1,
            max_size=8,
        )
    )
    if fmt == "jieba":
        lines = [f"{w} {c} {t}".strip() for w, c, t in entries]
    elif fmt == "tab":
        lines = [f"{w}\t{c}\t{t}".rstrip("\t") for w, c, t in entries]
    else:
        lines = [w for w, _, _ in entries]
    return draw(mutated([line.encode() for line in lines], NUMBER_HOSTILE))


@budget(250)
@given(data=dictionary_file(), uniform=st.booleans())
def test_dictionary_mutated(data, uniform):
    run_load_dictionary(data, uniform)


# --------------------------------------------------------------------------- 2. user dictionaries


def run_user_dict(data: bytes) -> list[str]:
    seg = KexueSegmenter(Vocab())
    with temp_file("user.dict", data) as path:
        parse(lambda: seg.load_user_dict(path), path)
    words = seg.user_words.to_list()
    for w in words:
        assert isinstance(w, str) and w and not any(ch.isspace() for ch in w), repr(w)
        w.encode("utf-8")  # no lone surrogates
    return words


@st.composite
def user_dict_file(draw):
    lines = draw(
        st.lists(
            st.tuples(word, st.sampled_from(["", " 3", " 10 n", "\tnr", "  "])).map("".join)
            | st.just("# a comment")
            | st.just(""),
            max_size=8,
        )
    )
    return draw(mutated([line.encode() for line in lines]))


@budget(120)
@given(data=any_bytes)
def test_user_dict_random_bytes(data):
    run_user_dict(data)


@budget(150)
@given(data=user_dict_file())
def test_user_dict_mutated(data):
    run_user_dict(data)


@budget(30)
@given(data=user_dict_file(), extra=clean_text)
def test_user_dict_then_segment(default_nlp, data, extra):
    """Whatever a user dictionary loads, the trained segmenter still segments with it."""
    tokenizer = default_nlp.tokenizer
    saved = tokenizer.user_words
    tokenizer.user_words = UserDictionary(saved)
    try:
        with temp_file("user.dict", data) as path:
            parse(lambda: tokenizer.load_user_dict(path), path)
        text = extra + "".join(tokenizer.user_words.to_list()[len(saved) :]) + "的中国人民"
        doc = tokenizer(text)
        assert doc.text == text
    finally:
        tokenizer.user_words = saved


@budget(100)
@given(
    data=any_bytes
    | st.builds(json.dumps, st.fixed_dictionaries({"words": json_values})).map(str.encode)
)
def test_user_dictionary_from_bytes(data):
    try:
        with time_limit():
            words = UserDictionary.from_bytes(data)
    except DataFileError as err:
        check_message(err, None, line_based=False)
        return
    assert all(isinstance(w, str) and w for w in words)


# --------------------------------------------------------------------------- 3. corpus readers


def check_items(items):
    """Running indices, known reasons, records holding storable text and dict contexts."""
    for i, item in enumerate(items):
        assert item.index == i
        assert isinstance(item, (Record, Reject))
        if isinstance(item, Reject):
            assert item.reason in REASONS
            json.dumps(item.to_dict()).encode("utf-8")
        else:
            assert isinstance(item.text, str)
            item.text.encode("utf-8")
            assert item.context is None or isinstance(item.context, dict)


def run_iter_items(name: str, data: bytes, **kwargs):
    """Items of ``data`` written as ``name``; only whole-input problems may raise."""
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with temp_file(name, data) as path:
        try:
            with time_limit():
                items = list(iter_items(str(path), **kwargs))
        except DataFileError as err:
            check_message(err, path, line_based=False)
            assert "no column" in str(err), f"only a CSV header may stop the stream: {err}"
            return None
    check_items(items)
    return items


CORPUS_NAMES = ["a.txt", "a.jsonl", "a.csv", "a.tsv", "a.jsonl.gz", "a.csv.gz"]


@budget(150)
@given(name=st.sampled_from(CORPUS_NAMES), data=any_bytes)
def test_iter_items_random_bytes(name, data):
    run_iter_items(name, data)


@budget(60)
@given(
    name=st.sampled_from(["a.txt.gz", "a.jsonl.gz", "a.csv.gz"]),
    data=random_bytes,
    cut=st.integers(0, 60),
)
def test_iter_items_damaged_gzip(name, data, cut):
    """A truncated or corrupted .gz is a whole-input problem: DataFileError naming the file."""
    packed = bytearray(gzip.compress(data, mtime=0))
    if cut % 2 and len(packed) > 12:
        packed[10 + cut % (len(packed) - 10)] ^= 0xFF  # corrupt the deflate stream
    else:
        packed = packed[: max(0, len(packed) - 1 - cut)]
    with temp_file(name, bytes(packed)) as path:
        try:
            with time_limit():
                items = list(iter_items(str(path)))
        except DataFileError as err:
            check_message(err, path, line_based=False)
            return
    check_items(items)


good_jsonl_record = st.fixed_dictionaries(
    {"text": clean_text},
    optional={
        "id": st.integers(-(10**30), 10**30),
        "meta": st.recursive(
            st.none() | st.floats() | clean_text | st.integers(),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(clean_text, inner, max_size=2)
            ),
            max_leaves=5,
        ),
    },
)
bad_jsonl_line = (
    st.sampled_from(JSON_HOSTILE)
    | st.sampled_from(
        [b'{"text": "\\ud800"}', b'{"text": 3}', b'{"text": ["a"]}', b'{"body": "x"}']
    )
    | st.sampled_from(
        [
            b'{"text": "ok", "n": ' + b"9" * 5000 + b"}",
            b'{"text": "ok", "d": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        ]
    )
    | st.sampled_from(
        [b'{"text": "ok", "x": "\\udfff"}', b'{"text": "\xff"}', b'{"text": "\xed\xa0\x80"}']
    )
    | st.binary(max_size=30).filter(lambda b: b"\n" not in b)
)


@budget(120)
@given(
    lines=st.lists(
        st.tuples(st.just("good"), good_jsonl_record) | st.tuples(st.just("bad"), bad_jsonl_line),
        max_size=10,
    ),
    crlf=st.booleans(),
    bom=st.booleans(),
    gz=st.booleans(),
)
def test_iter_items_jsonl_keeps_every_good_record(lines, crlf, bom, gz):
    raw = []
    good = {}
    for lineno, (kind, value) in enumerate(lines, start=1):
        if kind == "good":
            raw.append(json.dumps(value, ensure_ascii=lineno % 2 == 0).encode())
            good[lineno] = value
        else:
            raw.append(value)
    end = b"\r\n" if crlf else b"\n"
    data = (b"\xef\xbb\xbf" if bom else b"") + end.join(raw) + end
    items = run_iter_items("a.jsonl.gz" if gz else "a.jsonl", data)
    by_line = {it.line: it for it in items}
    assert len(by_line) == len(items), "one item per line at most"
    for lineno, value in good.items():
        item = by_line.get(lineno)
        assert isinstance(item, Record), f"good record on line {lineno} lost: {item}"
        expected = dict(value)
        assert item.text == expected.pop("text")
        assert json.dumps(item.context, sort_keys=True) == json.dumps(expected, sort_keys=True)


good_txt_line = st.text(st.characters(exclude_categories=("Cs",)), max_size=20).filter(
    lambda t: "\n" not in t and not t.endswith("\r") and not t.startswith("\ufeff")
)
bad_txt_line = st.sampled_from([b"\xff", b"\xc3", b"a\xed\xa0\x80b", b"\xfe\xff\x00a"]) | st.binary(
    max_size=20
).filter(lambda b: b"\n" not in b)


@budget(100)
@given(
    lines=st.lists(
        st.tuples(st.just("good"), good_txt_line) | st.tuples(st.just("bad"), bad_txt_line),
        max_size=10,
    )
)
def test_iter_items_txt_keeps_every_good_line(lines):
    raw = [v.encode() if kind == "good" else v for kind, v in lines]
    items = run_iter_items("a.txt", b"".join(line + b"\n" for line in raw))
    assert len(items) == len(lines)  # one item a line, blank lines included
    for lineno, (kind, value) in enumerate(lines, start=1):
        if kind == "good":
            item = items[lineno - 1]
            assert isinstance(item, Record) and item.line == lineno and item.text == value


@budget(120)
@given(
    rows=st.lists(
        st.tuples(st.just("good"), st.tuples(st.integers(0, 99).map(str), clean_text, clean_text))
        | st.tuples(st.just("extra"), st.lists(clean_text, min_size=4, max_size=5))
        | st.tuples(st.just("short"), st.lists(clean_text, min_size=1, max_size=2))
        | st.tuples(st.just("utf8"), st.sampled_from([b"\xff,a,b", b"1,\xc3,x", b"\xed\xa0\x80"])),
        max_size=8,
    ),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_iter_items_csv_keeps_every_good_row(rows, delimiter):
    out = io.BytesIO()
    for kind, value in [("good", ("id", "text", "label"))] + rows:
        if kind == "utf8":
            out.write(value.replace(b",", delimiter.encode()) + b"\n")
            continue
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerow(value)
        out.write(buf.getvalue().encode("utf-8", "surrogatepass"))
    items = run_iter_items("a.csv" if delimiter == "," else "a.tsv", out.getvalue())
    records = [(it.text, it.context) for it in items if isinstance(it, Record)]
    expected = [(v[1], {"id": v[0], "label": v[2]}) for kind, v in rows if kind == "good"]
    assert records == expected


@budget(40)
@given(files=st.lists(st.tuples(word, any_bytes), max_size=4, unique_by=lambda f: f[0]))
def test_iter_items_folder_of_txt(files):
    with tempfile.TemporaryDirectory(prefix="kexue-fuzz-") as tmp:
        for name, data in files:
            (Path(tmp) / f"{name}.txt").write_bytes(data)
        with time_limit():
            items = list(iter_items(tmp))
    check_items(items)
    assert len(items) == len(files)
    for item in items:
        data = dict(files)[Path(item.source).stem]
        if isinstance(item, Record):
            assert item.text == data.decode("utf-8-sig")
        else:
            assert item.reason == "invalid-utf8"


@st.composite
def jsonl_file(draw, record=good_jsonl_record):
    records = draw(st.lists(record, max_size=6))
    lines = [draw(json_line(r)) for r in records]
    return draw(mutated(lines, JSON_HOSTILE))


@budget(100)
@given(name=st.sampled_from(["a.txt", "a.jsonl", "a.jsonl.gz"]), data=any_bytes | jsonl_file())
def test_read_texts(name, data):
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with temp_file(name, data) as path:
        texts = parse(lambda: list(read_texts(path)), path)
        records = parse(lambda: list(read_records(path)), path) if "jsonl" in name else None
    for text in texts or []:
        assert isinstance(text, str)
    for lineno, record in records or []:
        assert isinstance(lineno, int) and isinstance(record, dict)


# --------------------------------------------------------------------------- 4. gold readers

READERS = {
    "raw": read_raw_lines,
    "segmented": read_segmented,
    "wordlist": read_wordlist,
    "conllu": read_conllu,
    "conllu_words": read_conllu_words,
    "char_tag": read_char_tag,
}


def run_gold_reader(kind: str, data: bytes):
    with temp_file("gold.utf8", data) as path:
        result = parse(lambda: READERS[kind](path), path)
    if result is None:
        return
    if kind == "wordlist":
        assert all(isinstance(w, str) and w and w == w.strip() for w in result)
    elif kind == "raw":
        assert all(isinstance(line, str) and "\n" not in line for line in result)
    elif kind == "conllu":
        for text, words in result:
            assert isinstance(text, str) and all(isinstance(w, str) for w in words)
    elif kind == "conllu_words":
        assert all(isinstance(w, str) for sentence in result for w in sentence)
    else:
        for sentence in result:
            assert all(isinstance(w, str) and w for w in sentence)


@budget(150)
@given(kind=st.sampled_from(sorted(READERS)), data=any_bytes)
def test_gold_readers_random_bytes(kind, data):
    run_gold_reader(kind, data)


@st.composite
def gold_file(draw, kind):
    if kind == "char_tag":
        sentences = draw(st.lists(st.lists(word, max_size=5), max_size=5))
        lines = []
        for words in sentences:
            items = []
            for w in words:
                tags = "s" if len(w) == 1 else "b" + "m" * (len(w) - 2) + "e"
                items += [f"{c}/{t}" for c, t in zip(w, tags, strict=True)]
            lines.append(" ".join(items))
        hostile = [b"/b", b"x/q", b"//", b"ab/s", b"/"]
    elif kind.startswith("conllu"):
        sentences = draw(st.lists(st.lists(word, min_size=1, max_size=4), max_size=3))
        lines = []
        for words in sentences:
            lines.append("# text = " + "".join(words))
            if len(words) > 1 and draw(st.booleans()):
                lines.append(f"1-2\t{words[0]}{words[1]}" + "\t_" * 8)
            for i, w in enumerate(words, start=1):
                misc = draw(st.sampled_from(["_", "SpaceAfter=No"]))
                lines.append(f"{i}\t{w}\t_\t_\t_\t_\t0\troot\t_\t{misc}")
            lines.append("")
        hostile = [
            b"\t",
            b"1.1",
            b"2-",
            b"-",
            b"x",
            "²".encode(),
            "٣".encode(),
            b"1-\xc2\xb2",
            b"9" * 5000,
        ]
    else:
        sentences = draw(st.lists(st.lists(word, max_size=5), max_size=5))
        lines = [draw(st.sampled_from([" ", "  ", "\u3000"])).join(ws) for ws in sentences]
        hostile = []
    return draw(mutated([line.encode() for line in lines], hostile))


@budget(200)
@given(data=st.data(), kind=st.sampled_from(sorted(READERS)))
def test_gold_readers_mutated(data, kind):
    run_gold_reader(kind, data.draw(gold_file(kind)))


# --------------------------------------------------------------------------- 5. labels files

labelled_record = st.fixed_dictionaries(
    {"text": clean_text, "label": st.sampled_from([0, 1])}, optional={"id": st.integers()}
)


@budget(150)
@given(data=any_bytes | jsonl_file(labelled_record), gz=st.booleans())
def test_read_labelled(data, gz):
    if gz:
        data = gzip.compress(data, mtime=0)
    with temp_file("labelled.jsonl.gz" if gz else "labelled.jsonl", data) as path:
        result = parse(lambda: list(read_labelled(path)), path)
    for text, label in result or []:
        assert isinstance(text, str) and label in (0, 1)
        text.encode("utf-8")


IMAGE_NAMES = [
    "a.png",
    "sub/b.png",
    "missing.png",
    "sub",
    "",
    ".",
    "../outside.png",
    "/etc/passwd",
    "a.png\x00x",
    "x" * 300 + ".png",
    "sub/" + "y/" * 50 + "z.png",
    "~/a.png",
    "a.png/",
]
labels_record = st.fixed_dictionaries(
    {"image": st.sampled_from(IMAGE_NAMES) | st.text(max_size=10), "text": clean_text}
)


@budget(150)
@given(data=any_bytes | jsonl_file(labels_record), limit=st.sampled_from([0, 0, 1, 3]))
def test_read_labels(data, limit):
    with tempfile.TemporaryDirectory(prefix="kexue-fuzz-") as tmp:
        folder = Path(tmp) / "set"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.png").write_bytes(b"not read here")
        (folder / "sub" / "b.png").write_bytes(b"not read here")
        (Path(tmp) / "outside.png").write_bytes(b"")
        labels = folder / "labels.jsonl"
        labels.write_bytes(data)
        result = parse(lambda: read_labels(folder, limit=limit), labels)
        root = folder.resolve()
        for item in result or []:
            assert root in item.path.parents and item.path.is_file()
            assert isinstance(item.text, str)
    if limit and result is not None:
        assert len(result) <= limit


# --------------------------------------------------------------------------- 7. OCR model files

charset_json = st.lists(
    st.sampled_from(default_charset().chars[:200]), min_size=1, max_size=12, unique=True
).map(lambda chars: [json.dumps(c, ensure_ascii=False).encode() for c in chars])


@st.composite
def charset_file(draw):
    items = draw(charset_json)
    hostile = [
        b'"\\ud800"',
        b'"ab"',
        b'""',
        b'" "',
        b'"\\n"',
        b"null",
        b"1",
        b"[",
        b"]",
        b'"\\u0301"',
    ]
    body = draw(mutated(items, JSON_HOSTILE + hostile)).replace(b"\r\n", b"\n")
    return b"[" + body.replace(b"\n", b", ") + b"]" if draw(st.booleans()) else body


@budget(150)
@given(data=any_bytes | charset_file(), as_str=st.booleans())
def test_charset_from_json(data, as_str):
    if as_str:
        data = data.decode("utf-8", "replace")
    try:
        with time_limit():
            charset = Charset.from_json(data)
    except CharsetError as err:
        check_message(err, None, line_based=False)
        return
    assert len(charset) > 0
    assert Charset.from_json(charset.to_json()) == charset


@cache
def lm_arrays(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    chars = default_charset().chars[:30]
    texts = ["".join(rng.choice(chars, size=rng.integers(0, 12))) for _ in range(20)]
    lm = BigramLM.build(texts)
    with np.load(io.BytesIO(lm.to_bytes()), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def npz_bytes(arrays: dict, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


array_mutation = st.sampled_from(
    [
        "drop",
        "float",
        "negative",
        "huge",
        "2d",
        "empty",
        "bool",
        "unsorted",
        "string",
        "scalar",
        "object",
        "nan",
    ]
)


def mutate_array(value: np.ndarray, op: str) -> np.ndarray:
    """``value`` with a wrong dtype, shape or content (see ``array_mutation``)."""
    return {
        "float": lambda: value.astype(np.float64),
        "negative": lambda: -np.abs(value.astype(np.int64)) - 1,
        "huge": lambda: np.full(value.shape, 2**62, dtype=np.int64),
        "2d": lambda: np.stack([value, value]),
        "empty": lambda: np.atleast_1d(value)[:0],
        "bool": lambda: value.astype(bool),
        "unsorted": lambda: np.atleast_1d(value)[::-1].copy(),
        "string": lambda: value.astype(str),
        "scalar": lambda: np.asarray(7, dtype=value.dtype),
        "object": lambda: np.asarray([None, "x"], dtype=object),
        "nan": lambda: np.full(value.shape, np.nan),
    }[op]()


@st.composite
def lm_file(draw):
    original = lm_arrays(draw(st.integers(0, 2)))
    arrays = dict(original)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(original) + ["extra"]))
        value = original.get(name, np.zeros(1))
        op = draw(array_mutation)
        if op == "drop":
            arrays.pop(name, None)
            continue
        arrays[name] = mutate_array(value, op)
    data = bytearray(npz_bytes(arrays, draw(st.booleans())))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "npy-prefix", "prefix"]))
        if op == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "insert":
            k = draw(st.integers(0, len(data)))
            data[k:k] = draw(st.binary(min_size=1, max_size=8))
        elif op == "npy-prefix":
            buf = io.BytesIO()
            np.save(buf, np.arange(3))
            data = bytearray(buf.getvalue()) + data
        else:
            data = bytearray(draw(st.binary(min_size=1, max_size=16))) + data
    return bytes(data)


@budget(200)
@given(data=random_bytes | lm_file())
def test_bigram_lm_from_disk(data):
    with temp_file("lm.npz", data) as path:
        lm = parse(lambda: BigramLM.from_disk(path), path, line_based=False)
    if lm is not None:
        assert np.isfinite(lm.score("中国人民"))
        assert BigramLM.from_bytes(lm.to_bytes()) == lm


# --------------------------------------------------------------------------- 8. VAE training logs


@st.composite
def curve_file(draw):
    records = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "step": st.integers(0, 10**6),
                    "scores": st.fixed_dictionaries(
                        {"vae_kl": st.floats(0, 1e4), "vae_au": st.floats(0, 100)},
                        optional={"textcat": st.floats(0, 100)},
                    ),
                },
                optional={
                    "epoch": st.integers(0, 9),
                    "losses": st.dictionaries(clean_text, st.floats()),
                },
            ),
            max_size=5,
        )
    )
    return draw(mutated([draw(json_line(r)) for r in records], JSON_HOSTILE))


@budget(150)
@given(data=any_bytes | curve_file())
def test_read_curve(data):
    with temp_file("train.jsonl", data) as path:
        curve = parse(lambda: read_curve(path), path, whole_file=("no evaluation",))
    if curve is not None:
        assert len(curve["step"]) == len(curve["kl"]) == len(curve["au"]) > 0
        assert all(isinstance(x, float) for x in curve["kl"] + curve["au"])


@pytest.mark.parametrize(
    "value", [b"[" * 5000 + b"]" * 5000, b"9" * 5000], ids=["deep-nesting", "huge-integer"]
)
def test_json_bombs_are_clear_errors_everywhere(tmp_path, value):
    """A deeply nested value (RecursionError inside json.loads) or an integer past Python's
    4,300-digit limit (a bare ValueError) is a bad line: a DataFileError naming the file and the
    line, or a rejected record for kexue pipe, never an escaped exception."""
    line = b'{"text": "x", "image": "a.png", "label": 1, "step": 1, "scores": ' + value + b"}\n"
    (tmp_path / "a.png").write_bytes(b"")
    jsonl, labels = tmp_path / "a.jsonl", tmp_path / "labels.jsonl"
    jsonl.write_bytes(b'{"text": "good", "label": 1, "step": 1, "scores": {}}\n' + line)
    labels.write_bytes(line)
    items = list(iter_items(str(jsonl)))
    assert [type(item) for item in items] == [Record, Reject]
    assert (items[1].line, items[1].reason) == (2, "invalid-json")
    for path, fn in (
        (jsonl, lambda: list(read_records(jsonl))),
        (jsonl, lambda: list(read_labelled(jsonl))),
        (labels, lambda: read_labels(tmp_path)),
        (jsonl, lambda: read_curve(jsonl)),
    ):
        with pytest.raises(DataFileError) as excinfo:
            with time_limit():
                fn()
        check_message(excinfo.value, path)
        assert excinfo.value.line == (1 if path == labels else 2)


# --------------------------------------------------------------------------- regressions
# The inputs with which the fuzzing above first found each bug, kept as plain tests.


def _bad_gzip() -> bytes:
    packed = bytearray(gzip.compress(b"hello world\n" * 50, mtime=0))
    packed[10] ^= 0xFF  # a damaged deflate stream: zlib.error
    return bytes(packed)


def _lm_npz(damage: str = "", npy_prefix: bool = False) -> bytes:
    data = bytearray(BigramLM.build(["中国人民", "人民中国"]).to_bytes())
    central = data.find(b"PK\x01\x02")  # the first central-directory entry
    if damage == "deflate":  # the first member's compressed data
        name_len, extra_len = struct.unpack_from("<HH", data, 26)
        data[30 + name_len + extra_len] ^= 0xFF
    elif damage == "version":  # "needs zip version 25.5": NotImplementedError in zipfile
        data[central + 6] = 0xFF
    elif damage == "encrypted":  # the encryption flag: RuntimeError in zipfile
        data[central + 8] |= 1
    if npy_prefix:
        buf = io.BytesIO()
        np.save(buf, np.arange(3))
        data = bytearray(buf.getvalue()) + data
    return bytes(data)


REGRESSIONS = [
    # (parser, file name, content, words in the message)
    ("dictionary", "d.txt", b"a\rb\t3\n", "line 1: holds a carriage return"),
    ("dictionary", "d.txt", "中 1e308\n中 1e308\n".encode(), "line 1: the counts of '中'"),
    ("iter_items", "a.jsonl.gz", _bad_gzip(), "cannot be read"),
    ("read_texts", "a.txt.gz", gzip.compress(b"x\n" * 100)[:-12], "truncated"),
    ("read_texts", "a.jsonl", b'{"text": ' + b"1" * 5000 + b"}\n", "line 1: is not valid JSON"),
    ("read_labelled", "a.jsonl", b"[" * 5000 + b"\n", "line 1: is not valid JSON"),
    (
        "read_labels",
        "labels.jsonl",
        b'{"image": "a\\u0000.png", "text": ""}\n',
        "line 1: the image",
    ),
    ("read_labels", "labels.jsonl", b'{"image": "' + b"x" * 5000 + b'", "text": ""}', "line 1:"),
    ("read_segmented", "g.utf8", "中国\n人民 ".encode() + b"\xff", "line 2: is not valid UTF-8"),
    (
        "read_conllu",
        "g.conllu",
        "²\t中\t_\t_\t_\t_\t0\troot\t_\t_\n".encode(),
        "line 1: bad token ID",
    ),
    ("read_curve", "log.jsonl", b"[1]\n", "line 1: not a spacy.ConsoleLogger.v3"),
    ("read_curve", "log.jsonl", b'{"step": 1, "scores": "vae_kl vae_au"}', "line 1: not a"),
    ("read_curve", "log.jsonl", b'{"step": 1, "scores": {"vae_kl": null, "vae_au": 1}}', "line 1"),
    (
        "read_curve",
        "log.jsonl",
        b'{"step": 1, "scores": {"vae_kl": 1' + b"0" * 400 + b', "vae_au": 1}}',
        "line 1",
    ),
    ("read_curve", "log.jsonl", b'{"step": 1}\n\xff', "line 2: is not valid UTF-8"),
    ("lm", "lm.npz", _lm_npz(npy_prefix=True), "not an .npz archive"),
    ("lm", "lm.npz", _lm_npz("deflate"), "is damaged"),  # zlib.error or BadZipFile
    ("lm", "lm.npz", _lm_npz("version"), "is damaged"),
    ("lm", "lm.npz", _lm_npz("encrypted"), "is damaged"),
]


@pytest.mark.parametrize("parser, name, data, words", REGRESSIONS)
def test_regressions(tmp_path, parser, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    (tmp_path / "a.png").write_bytes(b"")
    call = {
        "dictionary": lambda: load_dictionary(path),
        "iter_items": lambda: list(iter_items(str(path))),
        "read_texts": lambda: list(read_texts(path)),
        "read_labelled": lambda: list(read_labelled(path)),
        "read_labels": lambda: read_labels(tmp_path),
        "read_segmented": lambda: read_segmented(path),
        "read_conllu": lambda: read_conllu(path),
        "read_curve": lambda: read_curve(path),
        "lm": lambda: BigramLM.from_disk(path),
    }[parser]
    with pytest.raises(DataFileError) as err:
        call()
    assert str(path) in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(
    "data",
    [
        b"\x80",
        b"",
        b'""',
        b'{"words": null}',
        b'{"": []}',
        b'{"words": [null]}',
        b'{"words": [""]}',
    ],
)
def test_user_dictionary_from_bytes_regressions(data):
    with pytest.raises(DataFileError, match="user dictionary"):
        UserDictionary.from_bytes(data)


@pytest.mark.parametrize("data", [b"[" * 5000, b"[" + b"1" * 5000 + b"]", b'["a"]\xff'])
def test_charset_from_json_regressions(data):
    with pytest.raises(CharsetError):
        Charset.from_json(data)


def test_jsonl_reader_rejects_huge_numbers_and_keeps_going(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"text": "a", "n": ' + b"1" * 5000 + b'}\n{"text": "b"}\n')
    items = list(iter_items(str(path)))
    assert [type(i).__name__ for i in items] == ["Reject", "Record"]
    assert items[0].reason == "invalid-json" and items[1].text == "b"
