"""Reading a saved component safely: SHA-256 checksums of weight files, and JSON read so that
every failure names its file.

A component directory written by spacy-kexue records the SHA-256 of each weight file (the
``checksum.json`` that :class:`ChecksummedPipe` writes beside a trainable pipe's ``model``;
``cfg.json``'s ``sha256`` for the tokenizer; ``config.json``'s for the OCR recogniser). Loading
recomputes it first and refuses a mismatch with a :class:`~spacy_kexue.errors.DataFileError`
naming the file. Nothing here, or in the loaders that use it, ever unpickles: weights are
safetensors (inside thinc's msgpack for trainable pipes), everything else JSON.
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


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file_bytes(
    path: Path, what: str = "the file", *, hint: str = "the model directory is incomplete"
) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{what} is missing; {hint}.", path=path) from None
    except OSError as err:
        raise DataFileError(f"cannot read {what} ({err.strerror or err}).", path=path) from None


def read_json_file(path: Path, *, expect: type | None = dict) -> Any:
    """The JSON in ``path`` (of type ``expect`` unless None), or a DataFileError naming it."""
    data = read_file_bytes(path)
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, a huge number, nesting
        raise DataFileError(
            f"is not valid JSON ({type(err).__name__}: {err}).", path=path
        ) from None
    if expect is not None and not isinstance(value, expect):
        raise DataFileError(
            f"must hold a JSON {'object' if expect is dict else expect.__name__}, found "
            f"{type(value).__name__}; the model directory is damaged.",
            path=path,
        )
    return value


def check_digest(path: Path, data: bytes, expected: Any) -> str:
    """``data``'s SHA-256; a DataFileError naming ``path`` unless it is ``expected``."""
    actual = sha256_bytes(data)
    if expected != actual:
        raise DataFileError(
            f"SHA-256 checksum mismatch (recorded {expected}, the file hashes to {actual}): "
            "the file is damaged or was changed. Re-install the pipeline or re-train it.",
            path=path,
        )
    return actual


class ChecksummedPipe:
    """Mixin for a spaCy ``TrainablePipe``: ``to_disk`` also writes ``checksum.json`` (the
    SHA-256 of ``model``); ``from_disk`` verifies it when present (pipelines saved before it
    existed load unchecked) and turns every failure to read ``cfg`` or ``model`` into a
    DataFileError naming the file."""

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        super().to_disk(path, exclude=exclude)
        path = ensure_path(path)
        if MODEL_FILE not in exclude:
            digest = sha256_bytes((path / MODEL_FILE).read_bytes())
            srsly.write_json(path / CHECKSUM_FILE, {MODEL_FILE: digest})

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()):
        self._validate_serialization_attrs()
        path = ensure_path(path)
        if "vocab" not in exclude and (path / "vocab").exists():
            self.vocab.from_disk(path / "vocab", exclude=exclude)
        if CFG_FILE not in exclude and (path / CFG_FILE).exists():
            self.cfg.update(read_json_file(path / CFG_FILE))
        if MODEL_FILE not in exclude:
            model_path = path / MODEL_FILE
            data = read_file_bytes(model_path, "the weights")
            if (path / CHECKSUM_FILE).exists():
                recorded = read_json_file(path / CHECKSUM_FILE).get(MODEL_FILE)
                if not isinstance(recorded, str):
                    raise DataFileError(
                        f'records no SHA-256 for "{MODEL_FILE}"; the model directory is damaged.',
                        path=path / CHECKSUM_FILE,
                    )
                check_digest(model_path, data, recorded)
            try:
                self.model.from_bytes(data)
            except Exception as err:  # msgpack, thinc and safetensors each raise their own
                raise DataFileError(
                    f"cannot be loaded into {self.name}'s model ({type(err).__name__}: {err}). "
                    "Was it written by another version or architecture?",
                    path=model_path,
                ) from err
        return self
