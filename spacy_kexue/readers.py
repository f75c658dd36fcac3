"""Read the texts of a corpus file: ``.txt`` (a document a line) or ``.jsonl`` (one JSON
object a line, text under ``text_key``), optionally gzip-compressed (``.gz``)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from .errors import DataFileError


def _open_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            yield from enumerate(f, start=1)
    except FileNotFoundError:
        raise DataFileError("does not exist.", path=path) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DataFileError(
            f"is not a valid gzip file, or is truncated ({err}).", path=path
        ) from None
    except OSError as err:
        raise DataFileError(f"cannot be read ({err.strerror or err}).", path=path) from None


def decode_file(data: bytes, path, fix: str) -> str:
    """A whole file's bytes as text (a leading BOM dropped), or a DataFileError naming the
    line of the first byte that is not UTF-8 and saying how to ``fix`` it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(
            f"is not valid UTF-8 (byte {data[err.start]:#04x} at offset {err.start}: "
            f"{err.reason}); {fix}",
            path=path,
            line=data.count(b"\n", 0, err.start) + 1,
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def decode_line(raw: bytes, lineno: int, path) -> str:
    """One line of a UTF-8 file (a BOM allowed on line 1), without its line break.

    Raises DataFileError naming ``path`` and ``lineno`` for bytes that are not UTF-8.
    """
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise DataFileError(
            f"is not valid UTF-8 ({err.reason} at byte {err.start} of the line); convert the file to UTF-8.",
            path=path,
            line=lineno,
        ) from None


def read_texts(path: str | Path, *, text_key: str = "text") -> Iterator[str]:
    """Yield every text of a .txt/.jsonl(.gz) file; bad lines raise DataFileError naming the line."""
    path = Path(path)
    kind = path.name.removesuffix(".gz").rsplit(".", 1)[-1].lower()
    if kind not in ("txt", "jsonl"):
        raise DataFileError(
            "has an unknown format: use .txt (a document a line) or .jsonl.", path=path
        )
    if kind == "txt":
        for lineno, raw in _open_lines(path):
            yield decode_line(raw, lineno, path)
        return
    for lineno, record in read_records(path):
        if not isinstance(record.get(text_key), str):
            raise DataFileError(
                f"has no string field {text_key!r}; pass the right text key.",
                path=path,
                line=lineno,
            )
        yield record[text_key]


def read_records(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every non-blank line of a .jsonl(.gz) file; a line
    that is not a JSON object raises DataFileError naming the line."""
    path = Path(path)
    for lineno, raw in _open_lines(path):
        line = decode_line(raw, lineno, path)
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFileError(f"is not valid JSON ({err.msg}).", path=path, line=lineno) from None
        except (ValueError, RecursionError) as err:  # a huge integer, too deeply nested
            raise DataFileError(
                f"is not valid JSON ({type(err).__name__}: {err}).", path=path, line=lineno
            ) from None
        if not isinstance(record, dict):
            raise DataFileError("is not a JSON object.", path=path, line=lineno)
        yield lineno, record
