"""The one way a part saves a weight file with its SHA-256 and reads it back verified, and reads
the JSON beside it so that every failure names the file.

Every weight file spacy-kexue writes goes through :func:`write_checked`, which returns its
SHA-256 for the part to record beside it. Where the digest is recorded is the part's saved
format and never changes:

========================================  ============================  ==================
weight file                               recorded in                   under
========================================  ============================  ==================
``model`` of a trainable pipe             ``checksum.json``             ``"model"``
the tokenizer's ``model.safetensors``     ``cfg.json``                  ``"sha256"``
the recogniser's ``weights.safetensors``  ``config.json``               ``"sha256"``
the OCR reader's ``lm.npz``               ``reader.json``               ``"lm_sha256"``
========================================  ============================  ==================

Loading takes the record with :func:`recorded_digest` and the weights with :func:`read_checked`
(or :func:`check_digest` for bytes already in memory), which refuses a mismatch with a
:class:`~spacy_kexue.errors.DataFileError` naming the file; a part passes its own subclass as
``error`` (the OCR's ``ModelFileError``, ``ReaderError``). A file saved before its part recorded
a digest loads unchecked (the record is None). JSON files are read with :func:`read_json_file`.
Nothing here, or in the loaders that use it, ever unpickles: weights are safetensors (inside
thinc's msgpack for trainable pipes) or an ``.npz`` of plain arrays, everything else JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import srsly
from spacy.util import ensure_path

from .errors import DataFileError

CHECKSUM_FILE = "checksum.json"
MODEL_FILE = "model"
CFG_FILE = "cfg"

_INCOMPLETE = "the model directory is incomplete"


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lowercase hex digits (the form every record holds)."""
    return hashlib.sha256(data).hexdigest()


def read_file_bytes(
    path: Path,
    what: str = "the file",
    *,
    hint: str = _INCOMPLETE,
    error: type[DataFileError] = DataFileError,
) -> bytes:
    """The bytes of ``path``; a missing or unreadable file raises ``error`` naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} is missing; {hint}.", path=path) from None
    except OSError as err:
        raise error(f"cannot read {what} ({err.strerror or err}).", path=path) from None


def parse_json(
    data: str | bytes,
    *,
    path: Any,
    expect: type | None = dict,
    error: type[DataFileError] = DataFileError,
) -> Any:
    """The JSON value in ``data`` (of type ``expect`` unless None); anything else raises
    ``error`` naming ``path`` (a file, or a description such as ``"<bytes>"``)."""
    try:
        value = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, a huge number, nesting
        raise error(f"is not valid JSON ({type(err).__name__}: {err}).", path=path) from None
    if expect is not None and not isinstance(value, expect):
        raise error(
            f"must hold a JSON {'object' if expect is dict else expect.__name__}, found "
            f"{type(value).__name__}; the model directory is damaged.",
            path=path,
        )
    return value


def read_json_file(
    path: Path,
    *,
    expect: type | None = dict,
    hint: str = _INCOMPLETE,
    error: type[DataFileError] = DataFileError,
) -> Any:
    """The JSON in ``path`` (of type ``expect`` unless None), or ``error`` naming it."""
    data = read_file_bytes(path, hint=hint, error=error)
    return parse_json(data, path=path, expect=expect, error=error)


def write_checked(path: Path, data: bytes) -> str:
    """Write the weights ``data`` to ``path``; return their SHA-256, for the caller to record
    where its format keeps it (see the module docstring)."""
    path.write_bytes(data)
    return sha256_bytes(data)


def recorded_digest(
    record: dict,
    key: str,
    *,
    path: Any,
    required: bool = False,
    error: type[DataFileError] = DataFileError,
) -> str | None:
    """The SHA-256 that ``record`` (the JSON object read from ``path``) keeps under ``key``:
    None when it records none and ``required`` is false (a file from before the checksums);
    otherwise anything but a string raises ``error`` naming ``path``."""
    value = record.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        found = "nothing" if value is None else repr(value)
        raise error(
            f'must record the SHA-256 of the weights as a string under "{key}", found {found}; '
            "the model directory is damaged.",
            path=path,
        )
    return value


def check_digest(
    path: Any, data: bytes, recorded: str | None, *, error: type[DataFileError] = DataFileError
) -> str:
    """``data``'s SHA-256; ``error`` naming ``path`` unless it is ``recorded`` (None: nothing
    was recorded, and ``data`` is taken unchecked)."""
    actual = sha256_bytes(data)
    if recorded is not None and recorded != actual:
        raise error(
            f"SHA-256 checksum mismatch (recorded {recorded}, the file hashes to {actual}): "
            "the file is damaged or was changed. Re-install the pipeline or re-train it.",
            path=path,
        )
    return actual


def read_checked(
    path: Path,
    recorded: str | None,
    what: str = "the weights",
    *,
    hint: str = _INCOMPLETE,
    error: type[DataFileError] = DataFileError,
) -> bytes:
    """The bytes of the weight file ``path``, verified against the ``recorded`` SHA-256 (None:
    unchecked); a missing, unreadable or changed file raises ``error`` naming it."""
    data = read_file_bytes(path, what, hint=hint, error=error)
    check_digest(path, data, recorded, error=error)
    return data


class ChecksummedPipe:
    """Mixin for a spaCy ``TrainablePipe``: ``to_disk`` writes ``model`` with
    :func:`write_checked` and its SHA-256 to ``checksum.json``; ``from_disk`` verifies it when
    present (pipelines saved before it existed load unchecked) and turns every failure to read
    ``cfg`` or ``model`` into a DataFileError naming the file."""

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        exclude = tuple(exclude)
        super().to_disk(path, exclude=(*exclude, MODEL_FILE))  # cfg and vocab
        path = ensure_path(path)
        if MODEL_FILE not in exclude:
            digest = write_checked(path / MODEL_FILE, self.model.to_bytes())
            srsly.write_json(path / CHECKSUM_FILE, {MODEL_FILE: digest})

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()):
        self._validate_serialization_attrs()
        path = ensure_path(path)
        if "vocab" not in exclude and (path / "vocab").exists():
            self.vocab.from_disk(path / "vocab", exclude=exclude)
        if CFG_FILE not in exclude and (path / CFG_FILE).exists():
            self.cfg.update(read_json_file(path / CFG_FILE))
        if MODEL_FILE not in exclude:
            model_path, checksums = path / MODEL_FILE, path / CHECKSUM_FILE
            recorded = (
                recorded_digest(
                    read_json_file(checksums), MODEL_FILE, path=checksums, required=True
                )
                if checksums.exists()
                else None
            )
            data = read_checked(model_path, recorded)
            try:
                self.model.from_bytes(data)
            except Exception as err:  # msgpack, thinc and safetensors each raise their own
                raise DataFileError(
                    f"cannot be loaded into {self.name}'s model ({type(err).__name__}: {err}). "
                    "Was it written by another version or architecture?",
                    path=model_path,
                ) from err
        return self
