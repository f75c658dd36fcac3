"""spacy_kexue.integrity: the one way every part writes a weight file with its SHA-256 and reads
it back verified, and reads the JSON beside it naming the file on every failure."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from spacy_kexue.errors import DataFileError, KexueError
from spacy_kexue.integrity import (
    check_digest,
    parse_json,
    read_checked,
    read_file_bytes,
    read_json_file,
    recorded_digest,
    sha256_bytes,
    write_checked,
)

REPO = Path(__file__).resolve().parent.parent
DATA = b"\x00weights\xff" * 100


class PartError(DataFileError):
    """A part's own subclass, as the OCR's ModelFileError and ReaderError are."""


def test_write_checked_writes_the_bytes_and_returns_their_sha256(tmp_path):
    path = tmp_path / "weights.bin"
    digest = write_checked(path, DATA)
    assert path.read_bytes() == DATA
    assert digest == hashlib.sha256(DATA).hexdigest() == sha256_bytes(DATA)
    assert len(digest) == 64 and digest == digest.lower()


def test_read_checked_returns_verified_bytes(tmp_path):
    path = tmp_path / "weights.bin"
    digest = write_checked(path, DATA)
    assert read_checked(path, digest) == DATA
    assert read_checked(path, None) == DATA  # nothing recorded: read unchecked


@pytest.mark.parametrize("error", [DataFileError, PartError])
def test_a_changed_file_is_refused_naming_it(tmp_path, error):
    path = tmp_path / "weights.bin"
    digest = write_checked(path, DATA)
    path.write_bytes(DATA[:-1] + b"\xfe")
    with pytest.raises(error) as excinfo:
        read_checked(path, digest, error=error)
    err = excinfo.value
    assert isinstance(err, KexueError) and isinstance(err, ValueError)
    assert err.path == path and str(err).startswith(f"{path}: ")
    assert "SHA-256 checksum mismatch" in str(err) and digest in str(err)
    assert sha256_bytes(path.read_bytes()) in str(err)


def test_check_digest_is_the_one_comparison(tmp_path):
    digest = sha256_bytes(DATA)
    assert check_digest("<bytes>", DATA, digest) == digest
    assert check_digest("<bytes>", DATA, None) == digest  # unchecked, digest still returned
    with pytest.raises(PartError, match=r"^<bytes>: SHA-256 checksum mismatch"):
        check_digest("<bytes>", DATA + b"!", digest, error=PartError)


@pytest.mark.parametrize("error", [DataFileError, PartError])
def test_a_missing_or_unreadable_file_is_refused_naming_it(tmp_path, error):
    missing = tmp_path / "gone.bin"
    with pytest.raises(error, match="gone.bin: the weights is missing; restore it") as excinfo:
        read_checked(missing, "0" * 64, hint="restore it", error=error)
    assert excinfo.value.path == missing
    with pytest.raises(error, match="cannot read the file") as excinfo:
        read_file_bytes(tmp_path, error=error)  # a directory
    assert excinfo.value.path == tmp_path


@pytest.mark.parametrize(
    ("record", "required", "expected"),
    [
        ({"sha256": "ab" * 32}, False, "ab" * 32),
        ({"sha256": "ab" * 32}, True, "ab" * 32),
        ({}, False, None),
        ({"sha256": None}, False, None),
    ],
)
def test_recorded_digest(record, required, expected):
    assert recorded_digest(record, "sha256", path="cfg.json", required=required) == expected


@pytest.mark.parametrize(
    ("record", "required", "found"),
    [({}, True, "nothing"), ({"sha256": 5}, False, "5"), ({"sha256": ["x"]}, True, "['x']")],
)
def test_a_bad_record_is_refused_naming_the_record(tmp_path, record, required, found):
    path = tmp_path / "cfg.json"
    with pytest.raises(PartError, match=re.escape(f'under "sha256", found {found}')) as excinfo:
        recorded_digest(record, "sha256", path=path, required=required, error=PartError)
    assert excinfo.value.path == path


def test_read_json_file(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"a": [1, 2]}), encoding="utf-8")
    assert read_json_file(path) == {"a": [1, 2]}
    path.write_text("[1]", encoding="utf-8")
    assert read_json_file(path, expect=list) == [1]
    assert read_json_file(path, expect=None) == [1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x80{", "is not valid JSON"),
        (b"{", "is not valid JSON"),
        (b"[" * 100_000, "is not valid JSON"),  # RecursionError inside json.loads
        (b'{"a": ' + b"9" * 5_000 + b"}", "is not valid JSON"),  # int digits limit
        (b"[]", "must hold a JSON object, found list"),
    ],
)
@pytest.mark.parametrize("error", [DataFileError, PartError])
def test_bad_json_is_refused_naming_the_file(tmp_path, content, message, error):
    path = tmp_path / "cfg.json"
    path.write_bytes(content)
    with pytest.raises(error, match=message) as excinfo:
        read_json_file(path, error=error)
    assert excinfo.value.path == path and str(excinfo.value).startswith(f"{path}: ")


def test_parse_json_names_what_it_parses():
    assert parse_json('{"a": 1}', path="<bytes>") == {"a": 1}
    assert parse_json(b'["x"]', path="<bytes>", expect=list) == ["x"]
    with pytest.raises(PartError, match=r"^recogniser bytes: must hold a JSON list, found dict"):
        parse_json("{}", path="recogniser bytes", expect=list, error=PartError)


# The modules that save or load weights compute no digest and parse no JSON of their own.
WEIGHT_MODULES = [
    "spacy_kexue/tokenizer/segmenter.py",
    "spacy_kexue/textcat/component.py",
    "spacy_kexue/vae/component.py",
    "spacy_kexue/saliency/component.py",
    "spacy_kexue/ocr/model.py",
    "spacy_kexue/ocr/reader.py",
]


@pytest.mark.parametrize("module", WEIGHT_MODULES)
def test_weight_modules_go_through_integrity(module):
    source = (REPO / module).read_text(encoding="utf-8")
    assert "hashlib" not in source
    assert "json.loads" not in source
    assert "mismatch (" not in source  # the one mismatch message is integrity.check_digest's
