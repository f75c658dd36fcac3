"""Evaluate an OCR engine on a labelled set: a folder of images and ``labels.jsonl``.

``labels.jsonl`` has one JSON object a line, ``{"image": "relative/path.png", "text": "..."}``
(``text`` may hold ``\\n`` between lines). :func:`read_labels` checks every line and names the
file and line of a problem; :func:`evaluate_engine` runs any ``image path -> text`` function over
the set and reports the character error rate (edit distance / reference length, whitespace
ignored: :mod:`~spacy_kexue.ocr.metrics`), the line exact-match rate (images whose whole text is
right), and characters per second (reference characters over the engine's wall time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataFileError
from .metrics import edit_distance, strip_whitespace

__all__ = ["LabelledImage", "evaluate_engine", "read_labels"]

LABELS = "labels.jsonl"


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    text: str
    line: int  # line of labels.jsonl


def read_labels(folder: str | Path, *, limit: int = 0) -> list[LabelledImage]:
    """The labelled images of ``folder`` (its ``labels.jsonl``), first ``limit`` only when > 0.

    Raises :class:`~spacy_kexue.errors.DataFileError` naming the file and line for a missing
    file, bad JSON, a missing or non-string ``image``/``text`` field, an image path that leaves
    the folder, or an image that does not exist.
    """
    folder = Path(folder)
    labels = folder / LABELS
    if not labels.is_file():
        raise DataFileError(
            f"missing. A labelled OCR set is a folder with {LABELS}: one "
            '{"image": ..., "text": ...} object a line.',
            path=labels,
        )
    out: list[LabelledImage] = []
    root = folder.resolve()
    with open(labels, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataFileError(
                    f"not UTF-8 ({err.reason}).", path=labels, line=lineno
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFileError(
                    f"not valid JSON ({err.msg}).", path=labels, line=lineno
                ) from None
            except (ValueError, RecursionError) as err:  # a huge integer, too deeply nested
                raise DataFileError(
                    f"not valid JSON ({type(err).__name__}: {err}).", path=labels, line=lineno
                ) from None
            if not isinstance(record, dict):
                raise DataFileError("expected a JSON object.", path=labels, line=lineno)
            for key in ("image", "text"):
                if not isinstance(record.get(key), str):
                    raise DataFileError(
                        f'the field "{key}" is missing or not a string.', path=labels, line=lineno
                    )
            try:
                path = (folder / record["image"]).resolve()
                is_file = path.is_file()
            except (ValueError, OSError) as err:  # NUL in the name, a name too long, ...
                raise DataFileError(
                    f"the image path {record['image']!r} cannot be used ({err}); give the path "
                    "of an image file inside the folder.",
                    path=labels,
                    line=lineno,
                ) from None
            if root not in path.parents:
                raise DataFileError(
                    f"the image {record['image']!r} is outside the folder {folder}.",
                    path=labels,
                    line=lineno,
                )
            if not is_file:
                raise DataFileError(
                    f"the image {record['image']!r} does not exist.", path=labels, line=lineno
                )
            out.append(LabelledImage(path, record["text"], lineno))
            if limit and len(out) >= limit:
                break
    return out


def evaluate_engine(
    read: Callable[[Path], str], items: Sequence[LabelledImage], *, keep_outputs: bool = False
) -> dict:
    """Run ``read`` over ``items`` and score it.

    Returns ``cer`` (total edit distance over total reference characters, whitespace removed),
    ``exact`` (share of images read exactly), ``chars_per_s`` (reference characters over the
    total time spent in ``read``), ``n_images``, ``n_chars``, ``seconds`` and, with
    ``keep_outputs``, ``outputs`` (one dict per image: image, reference, prediction, errors).
    """
    errors = chars = exact = 0
    seconds = 0.0
    outputs = []
    for item in items:
        start = time.perf_counter()
        predicted = read(item.path)
        seconds += time.perf_counter() - start
        ref, hyp = strip_whitespace(item.text), strip_whitespace(predicted)
        dist = edit_distance(hyp, ref)
        errors += dist
        chars += len(ref)
        exact += dist == 0
        if keep_outputs:
            outputs.append(
                {
                    "image": item.path.name,
                    "reference": item.text,
                    "prediction": predicted,
                    "errors": dist,
                }
            )
    n = len(items)
    result = {
        "cer": errors / chars if chars else 0.0,
        "exact": exact / n if n else 0.0,
        "chars_per_s": chars / seconds if seconds > 0 else 0.0,
        "n_images": n,
        "n_chars": chars,
        "seconds": seconds,
    }
    if keep_outputs:
        result["outputs"] = outputs
    return result
