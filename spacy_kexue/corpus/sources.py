"""Stream the records of a corpus, one :class:`Record` or :class:`Reject` per input record.

Formats (chosen by the name; ``.gz`` compressed variants of the files too):

- ``.txt``: one document a line (empty lines are empty documents, so line numbers stay exact);
- ``.jsonl``: one JSON object a line, the text under ``text_key``; the other fields are carried
  through as ``context``; blank lines are skipped;
- ``.csv`` / ``.tsv``: a header row, the text in the column named ``text_key``, the other
  columns carried through as ``context``; blank lines are skipped;
- a directory: its ``.txt`` files (each file one document) or its images (``.png``, ``.jpg``,
  ``.jpeg``, ``.tif``, ``.tiff``, ``.bmp``; each image one document, read by OCR later, in
  :func:`spacy_kexue.corpus.pipe.process_chunk`), sorted by name; other files are ignored;
- ``-``: standard input, one document a line.

Everything streams: a file is read a line at a time. Records that cannot be used never stop the
stream: each becomes a :class:`Reject` with a reason code (:data:`REASONS`). Lone surrogates
(JSON ``\\ud800`` escapes) are rejected, never repaired, following spacy-kexue's one text policy
(:mod:`spacy_kexue.text`): repairing them silently would change the text. Problems with the
whole input (missing file, unknown format, bad gzip, a CSV without the text column) raise
:class:`~spacy_kexue.errors.DataFileError`.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataFileError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
FILE_KINDS = ("txt", "jsonl", "csv", "tsv")

#: Reject reason codes and what they mean.
REASONS = {
    "invalid-utf8": "the bytes are not valid UTF-8",
    "lone-surrogate": "the text holds a lone surrogate (e.g. a JSON \\ud800 escape)",
    "invalid-json": "the line is not valid JSON",
    "not-an-object": "the JSON line is not an object",
    "bad-field-count": "the CSV/TSV row has a different number of fields than the header",
    "bad-csv": "the CSV/TSV row cannot be parsed",
    "missing-text": "the record has no text field",
    "text-not-a-string": "the text field is not a string",
    "too-long": "the text is longer than max_chars",
    "unreadable-image": "the image cannot be read",
    "pipeline-error": "the pipeline raised an error on this text",
}

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


@dataclass
class Record:
    """One input record. ``index`` counts every record of the input (rejects included) from 0;
    ``line`` is 1-based (None for whole files); ``image`` is set instead of ``text`` for images."""

    index: int
    source: str
    line: int | None
    text: str | None
    context: dict | None = None
    image: str | None = None


@dataclass
class Reject:
    """A record that cannot be used, with its reason code (:data:`REASONS`) and a detail."""

    index: int
    source: str
    line: int | None
    reason: str
    detail: str = ""

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "source": self.source,
            "line": self.line,
            "reason": self.reason,
            "detail": self.detail,
        }


Item = Record | Reject


def input_kind(path: str) -> str:
    """``stdin``, ``dir``, or the file kind (``txt``, ``jsonl``, ``csv``, ``tsv``)."""
    if path == "-":
        return "stdin"
    p = Path(path)
    if p.is_dir():
        return "dir"
    kind = p.name.lower().removesuffix(".gz").rsplit(".", 1)[-1]
    if kind not in FILE_KINDS:
        raise DataFileError(
            "has an unknown format: use .txt, .jsonl, .csv or .tsv (optionally .gz), "
            "a directory of .txt files or images, or - for stdin.",
            path=path,
        )
    if not p.exists():
        raise DataFileError("does not exist.", path=path)
    return kind


def count_records(path: str) -> int | None:
    """The number of records when it is cheap to know (directories), else None."""
    if input_kind(path) == "dir":
        return len(_dir_files(Path(path))[1])
    return None


def iter_items(path: str, *, text_key: str = "text", max_chars: int = 0) -> Iterator[Item]:
    """Yield a :class:`Record` or :class:`Reject` for every record of ``path`` in order, with
    running indices. ``max_chars`` > 0 rejects longer texts (``too-long``)."""
    kind = input_kind(path)
    if kind == "stdin":
        raw = _txt(_lines(sys.stdin.buffer, "<stdin>"), "<stdin>")
    elif kind == "dir":
        raw = _directory(Path(path))
    else:
        lines = _file_lines(Path(path))
        if kind == "txt":
            raw = _txt(lines, str(path))
        elif kind == "jsonl":
            raw = _jsonl(lines, str(path), text_key)
        else:
            raw = _csv(lines, str(path), text_key, "\t" if kind == "tsv" else ",")
    for index, item in enumerate(raw):
        item.index = index
        if isinstance(item, Record) and item.text is not None:
            item = check_length(item, max_chars)
        yield item


def check_length(record: Record, max_chars: int) -> Item:
    """``record``, or a ``too-long`` :class:`Reject` when its text exceeds ``max_chars`` (> 0)."""
    if max_chars > 0 and record.text is not None and len(record.text) > max_chars:
        return Reject(
            record.index,
            record.source,
            record.line,
            "too-long",
            f"{len(record.text)} characters, more than max_chars={max_chars}",
        )
    return record


# ----------------------------------------------------------------------------- files


def _lines(stream, name: str) -> Iterator[tuple[int, bytes]]:
    try:
        yield from enumerate(stream, start=1)
    except (gzip.BadGzipFile, EOFError, OSError, zlib.error) as err:  # zlib: damaged .gz
        raise DataFileError(f"cannot be read ({err}).", path=name) from None


def _file_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        stream = opener(path, "rb")
    except OSError as err:
        raise DataFileError(f"cannot be opened ({err.strerror or err}).", path=path) from None
    with stream:
        yield from _lines(stream, str(path))


def _decode(raw: bytes, lineno: int) -> str:
    """A line without its line break (a BOM allowed on line 1); raises UnicodeDecodeError."""
    return raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")


def _bad_utf8(source: str, line: int | None, err: UnicodeDecodeError) -> Reject:
    return Reject(0, source, line, "invalid-utf8", f"{err.reason} at byte {err.start}")


def _surrogate(source: str, line: int | None, text: str, where: str = "text") -> Reject | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return Reject(
            0,
            source,
            line,
            "lone-surrogate",
            f"U+{ord(text[err.start]):04X} at position {err.start} of the {where}",
        )
    return None


def _txt(lines: Iterator[tuple[int, bytes]], source: str) -> Iterator[Item]:
    for lineno, raw in lines:
        try:
            yield Record(0, source, lineno, _decode(raw, lineno))
        except UnicodeDecodeError as err:
            yield _bad_utf8(source, lineno, err)


def _jsonl(lines: Iterator[tuple[int, bytes]], source: str, text_key: str) -> Iterator[Item]:
    for lineno, raw in lines:
        try:
            line = _decode(raw, lineno)
        except UnicodeDecodeError as err:
            yield _bad_utf8(source, lineno, err)
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            yield Reject(0, source, lineno, "invalid-json", err.msg)
            continue
        except (ValueError, RecursionError) as err:  # a huge integer, too deeply nested
            yield Reject(0, source, lineno, "invalid-json", f"{type(err).__name__}: {err}")
            continue
        if not isinstance(obj, dict):
            yield Reject(0, source, lineno, "not-an-object", type(obj).__name__)
            continue
        if text_key not in obj:
            yield Reject(0, source, lineno, "missing-text", f"no field {text_key!r}")
            continue
        text = obj.pop(text_key)
        if not isinstance(text, str):
            yield Reject(
                0, source, lineno, "text-not-a-string", f"{text_key!r} is {type(text).__name__}"
            )
            continue
        if _SURROGATE_ESCAPE.search(raw):  # only then can a lone surrogate be in the object
            try:
                others = json.dumps(obj, ensure_ascii=False)
            except (ValueError, RecursionError) as err:
                yield Reject(0, source, lineno, "invalid-json", f"{type(err).__name__}: {err}")
                continue
            bad = _surrogate(source, lineno, text) or _surrogate(
                source, lineno, others, "other fields"
            )
            if bad is not None:
                yield bad
                continue
        yield Record(0, source, lineno, text, obj)


class _LineFeed:
    """Feeds decoded lines (line breaks kept) to csv.reader, remembering the physical line
    number where the current row began and the lines that are not UTF-8 (skipped)."""

    def __init__(self, lines: Iterator[tuple[int, bytes]], source: str):
        self.lines = lines
        self.source = source
        self.first: int | None = None
        self.bad: list[Reject] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while True:
            lineno, raw = next(self.lines)
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                self.bad.append(_bad_utf8(self.source, lineno, err))
                continue
            if self.first is None:
                self.first = lineno
            return text

    def take(self) -> tuple[list[Reject], int | None]:
        bad, first = self.bad, self.first
        self.bad, self.first = [], None
        return bad, first


def _csv(
    lines: Iterator[tuple[int, bytes]], source: str, text_key: str, delimiter: str
) -> Iterator[Item]:
    csv.field_size_limit(2**31 - 1)
    feed = _LineFeed(lines, source)
    reader = csv.reader(feed, delimiter=delimiter)
    header: list[str] | None = None
    text_col = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            yield from feed.take()[0]
            return
        except csv.Error as err:
            bad, line = feed.take()
            yield from bad
            yield Reject(0, source, line, "bad-csv", str(err))
            continue
        bad, line = feed.take()
        yield from bad
        if not row:
            continue
        if header is None:
            header = row
            if text_key not in header:
                raise DataFileError(
                    f"has no column {text_key!r} in its header ({', '.join(header)}); "
                    "pass the right --text-key.",
                    path=source,
                    line=line,
                )
            text_col = header.index(text_key)
            continue
        if len(row) != len(header):
            yield Reject(
                0,
                source,
                line,
                "bad-field-count",
                f"{len(row)} fields, the header has {len(header)}",
            )
            continue
        context = {k: v for i, (k, v) in enumerate(zip(header, row, strict=True)) if i != text_col}
        yield Record(0, source, line, row[text_col], context)


# ----------------------------------------------------------------------------- directories


def _dir_files(path: Path) -> tuple[str, list[Path]]:
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    texts = [p for p in files if p.suffix.lower() == ".txt"]
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if texts and images:
        raise DataFileError(
            "holds both .txt files and images: give a directory of one kind.", path=path
        )
    return ("images", images) if images else ("texts", texts)


def _directory(path: Path) -> Iterator[Item]:
    kind, files = _dir_files(path)
    for file in files:
        source = str(file)
        if kind == "images":
            yield Record(0, source, None, None, image=source)
            continue
        try:
            data = file.read_bytes()
        except OSError as err:
            raise DataFileError(f"cannot be read ({err.strerror or err}).", path=file) from None
        try:
            yield Record(0, source, None, data.decode("utf-8-sig"))
        except UnicodeDecodeError as err:
            yield _bad_utf8(source, None, err)


__all__ = [
    "IMAGE_SUFFIXES",
    "REASONS",
    "Item",
    "Record",
    "Reject",
    "check_length",
    "count_records",
    "input_kind",
    "iter_items",
]
