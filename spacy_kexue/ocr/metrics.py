"""OCR evaluation metrics: edit distance, character error rate, line exact match.

Both rates compare texts with *all* whitespace removed (``"".join(text.split())``: spaces,
tabs, line breaks, U+3000 ideographic spaces, ...), since whether a reader puts a space
between two Chinese characters is a layout guess, not a recognition error.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["character_error_rate", "edit_distance", "line_exact_match", "strip_whitespace"]

_NUMPY_MIN_CELLS = 4096  # below this many DP cells, plain Python is faster


def strip_whitespace(text: str) -> str:
    """``text`` without any whitespace character."""
    return "".join(text.split())


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4").astype(np.int64)


def _as_ints(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, str) and isinstance(b, str):
        return _codepoints(a), _codepoints(b)
    table: dict[Hashable, int] = {}
    ids_a = [table.setdefault(x, len(table)) for x in a]
    ids_b = [table.setdefault(x, len(table)) for x in b]
    return np.asarray(ids_a, dtype=np.int64), np.asarray(ids_b, dtype=np.int64)


def _edit_distance_python(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _edit_distance_numpy(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Row by row; within a row the insertion chain d[j] = min(t[j], d[j-1] + 1) is
    ``j + cummin(t[k] - k)``, so each row is a few vectorised operations."""
    xa, xb = _as_ints(a, b)
    m = len(xb)
    offsets = np.arange(m + 1, dtype=np.int64)
    prev = offsets.copy()
    for i, x in enumerate(xa, start=1):
        t = np.empty(m + 1, dtype=np.int64)
        t[0] = i
        np.minimum(prev[1:] + 1, prev[:-1] + (xb != x), out=t[1:])
        prev = np.minimum.accumulate(t - offsets) + offsets
    return int(prev[-1])


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions, each costing 1) between
    two strings or sequences of hashable items (e.g. lists of tokens).

    Common prefixes and suffixes are skipped first; long inputs use a row-vectorised numpy
    dynamic programme, short ones plain Python. O(len(a)·len(b)) time, O(len(b)) memory.
    """
    if a == b:
        return 0
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return max(len(a), len(b))
    if len(a) < len(b):
        a, b = b, a  # the inner (vectorised) dimension is the longer one
    if len(a) * len(b) < _NUMPY_MIN_CELLS:
        return _edit_distance_python(a, b)
    return _edit_distance_numpy(b, a)


def _pairs(
    predictions: Sequence[str] | str, references: Sequence[str] | str
) -> list[tuple[str, str]]:
    if isinstance(predictions, str) != isinstance(references, str):
        raise TypeError(
            "Pass two strings (one line each) or two sequences of strings, not one of each."
        )
    if isinstance(predictions, str):
        predictions, references = [predictions], [references]
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(
            f"Got {len(predictions)} predictions and {len(references)} references; "
            "pass one prediction for each reference, in the same order."
        )
    for name, texts in (("predictions", predictions), ("references", references)):
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"{name}[{i}] is a {type(text).__name__}, not a str.")
    return [
        (strip_whitespace(p), strip_whitespace(r))
        for p, r in zip(predictions, references, strict=True)
    ]


def character_error_rate(
    predictions: Sequence[str] | str, references: Sequence[str] | str
) -> float:
    """Total edit distance over total reference length, whitespace removed from both sides.

    ``predictions[i]`` is compared with ``references[i]``; two plain strings are one pair.
    The rate is micro-averaged (long lines weigh more) and can exceed 1 when a prediction
    has many extra characters. When the references hold no characters at all (no pairs, or
    only empty/whitespace references) it is 0.0 if the predictions are empty as well and
    1.0 otherwise (everything predicted is spurious), never a division by zero.
    """
    pairs = _pairs(predictions, references)
    ref_chars = sum(len(r) for _, r in pairs)
    if ref_chars == 0:
        return 0.0 if all(not p for p, _ in pairs) else 1.0
    errors = sum(edit_distance(p, r) for p, r in pairs)
    return errors / ref_chars


def line_exact_match(predictions: Sequence[str] | str, references: Sequence[str] | str) -> float:
    """Fraction of lines read exactly right, whitespace removed from both sides.

    An empty reference matches an empty (or all-whitespace) prediction. With no lines at
    all the result is 1.0 (vacuously every line matches, as the error rate is then 0.0).
    """
    pairs = _pairs(predictions, references)
    if not pairs:
        return 1.0
    return sum(p == r for p, r in pairs) / len(pairs)
