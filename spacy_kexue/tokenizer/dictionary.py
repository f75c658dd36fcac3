"""Word-frequency dictionaries: load, validate, normalise, adapt, estimate frequencies.

The segmenter is trained from a dictionary of words *with frequencies* (METHODS.md section 1).
:func:`load_dictionary` reads the common formats and detects which one a file uses:

- jieba's ``dict.txt``: ``word count [tag]``, separated by spaces (a word may itself contain
  spaces: the count is the last field, or the second-to-last when a tag follows it);
- ``word<TAB>count[<TAB>tag]`` (what :meth:`WordDict.write` produces);
- a plain word list, one word a line (the SIGHAN ``*_training_words.utf8`` files): the counts are
  then estimated from raw text by :func:`estimate_counts`.

Files are UTF-8, with or without a byte-order mark, with ``\\n`` or ``\\r\\n`` line ends; blank
lines are skipped. Every problem raises :class:`~spacy_kexue.errors.DataFileError` naming the
file, the (1-based) line and what to do.

:func:`estimate_counts` re-estimates counts on raw text by hard EM with the unigram model of
:mod:`.unigram`; :func:`adapt_dictionary` filters a dictionary towards a segmentation standard
by word length, part-of-speech tag and script.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from ..readers import decode_file
from .pretok import split_runs
from .unigram import UnigramSegmenter

__all__ = [
    "WordDict",
    "adapt_dictionary",
    "estimate_counts",
    "load_dictionary",
]

_FORBIDDEN = ("\t", "\n", "\r", "\x00")


def _format_count(count: float) -> str:
    if count.is_integer() and abs(count) < 2**53:
        return str(int(count))
    return repr(count)


@dataclass
class WordDict:
    """A word-frequency dictionary: parallel ``words``, ``counts`` and optional POS ``tags``.

    On construction words are stripped of surrounding whitespace and duplicates are merged (counts
    summed, the first tag kept). Words must be non-empty and free of tabs, line breaks and NUL; counts
    become a float64 array and must be finite and positive. Violations raise ``ValueError``.
    """

    words: list[str]
    counts: np.ndarray
    tags: list[str] | None = None

    def __post_init__(self) -> None:
        words = list(self.words)
        counts = np.asarray(self.counts, dtype=np.float64).reshape(-1)
        tags = None if self.tags is None else [str(t) for t in self.tags]
        if len(counts) != len(words):
            raise ValueError(
                f"{len(words)} words but {len(counts)} counts: give one count per word."
            )
        if tags is not None and len(tags) != len(words):
            raise ValueError(
                f"{len(words)} words but {len(tags)} tags: give one tag per word (or none)."
            )
        bad = ~np.isfinite(counts) | (counts <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"the count of {words[i]!r} (index {i}) is {counts[i]}: counts must be finite and "
                "positive; drop the word or give it a positive count."
            )
        try:
            words = [w.strip() for w in words]
        except AttributeError:
            i = next(i for i, w in enumerate(words) if not isinstance(w, str))
            raise ValueError(f"word {i} is {words[i]!r}, not a str.") from None
        if not all(words):
            i = words.index("")
            raise ValueError(
                f"word {i} is empty or only whitespace ({self.words[i]!r}): remove it."
            )
        joined = "".join(words)
        if any(ch in joined for ch in _FORBIDDEN):
            i = next(i for i, w in enumerate(words) if any(ch in w for ch in _FORBIDDEN))
            raise ValueError(
                f"word {i} ({words[i]!r}) contains a tab, a line break or NUL: remove them."
            )
        if len(set(words)) != len(words):
            words, counts, tags = _merge_duplicates(words, counts, tags)
        self.words = words
        self.counts = counts
        self.tags = tags

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple]) -> WordDict:
        """Build from ``(word, count)`` or ``(word, count, tag)`` tuples; duplicates are merged."""
        words: list[str] = []
        counts: list[float] = []
        tags: list[str] = []
        tagged = False
        for pair in pairs:
            if len(pair) not in (2, 3):
                raise ValueError(f"expected (word, count) or (word, count, tag), got {pair!r}.")
            words.append(pair[0])
            counts.append(float(pair[1]))
            tags.append(str(pair[2]) if len(pair) == 3 else "")
            tagged = tagged or len(pair) == 3
        return cls(words, np.asarray(counts, dtype=np.float64), tags if tagged else None)

    def probabilities(self) -> np.ndarray:
        """Each word's share of the total count (float64, sums to 1)."""
        return self.counts / self.counts.sum()

    def to_dict(self) -> dict[str, float]:
        """``{word: count}``."""
        return dict(zip(self.words, self.counts.tolist(), strict=True))

    def select(self, rows: np.ndarray | Sequence[int]) -> WordDict:
        """The sub-dictionary of the given rows (a boolean mask or integer indices)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64)
        tags = None if self.tags is None else [self.tags[i] for i in rows]
        return WordDict([self.words[i] for i in rows], self.counts[rows], tags)

    def to_lines(self) -> list[str]:
        """``word<TAB>count[<TAB>tag]`` lines (no line ends), readable by :func:`load_dictionary`."""
        counts = [_format_count(c) for c in self.counts.tolist()]
        if self.tags is None or not any(self.tags):
            return [f"{w}\t{c}" for w, c in zip(self.words, counts, strict=True)]
        return [f"{w}\t{c}\t{t}" for w, c, t in zip(self.words, counts, self.tags, strict=True)]

    def write(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_lines` to ``path`` as UTF-8 with ``\\n`` line ends."""
        lines = self.to_lines()
        text = "\n".join(lines) + ("\n" if lines else "")
        if text.startswith("\ufeff"):  # a word starting with U+FEFF: keep it from reading as a BOM
            text = "\ufeff" + text
        Path(path).write_text(text, encoding="utf-8")


def _merge_duplicates(
    words: list[str], counts: np.ndarray, tags: list[str] | None
) -> tuple[list[str], np.ndarray, list[str] | None]:
    """Merge repeated words: counts summed, first position and first tag kept."""
    first: dict[str, int] = {}
    inverse = np.fromiter(
        (first.setdefault(w, len(first)) for w in words), dtype=np.int64, count=len(words)
    )
    merged = np.bincount(inverse, weights=counts, minlength=len(first))
    keep = np.full(len(first), -1, dtype=np.int64)
    keep[inverse[::-1]] = np.arange(len(words) - 1, -1, -1)  # first occurrence of each word
    out_words = [words[i] for i in keep]
    out_tags = None if tags is None else [tags[i] for i in keep]
    return out_words, merged, out_tags


# --- reading --------------------------------------------------------------------------------


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.I)


def _is_number(field: str) -> bool:
    return _NUMBER.fullmatch(field) is not None


def _parse_line(line: str) -> tuple[str, str | None, str | None]:
    """(word, count field or None, tag or None) of one stripped, non-empty line."""
    if "\t" in line:
        fields = line.split("\t")
        word = fields[0].strip()
        count = fields[1].strip() if len(fields) > 1 else ""
        tag = fields[2].strip() if len(fields) > 2 else None
        return word, (count or None), (tag or None)
    fields = line.split()
    if len(fields) == 3 and fields[1].isdigit() and not fields[2].isdigit():  # fast path
        return fields[0], fields[1], fields[2]
    if len(fields) == 2 and fields[1].isdigit():
        return fields[0], fields[1], None
    if len(fields) == 1:
        return line, None, None
    fields = line.rsplit(None, 2)
    if len(fields) >= 2 and _is_number(fields[-1]):
        word, count = line.rsplit(None, 1)
        return word.strip(), count, None
    if len(fields) == 3 and _is_number(fields[1]):
        return fields[0].strip(), fields[1], fields[2]
    return line, None, None


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DataFileError(
            "the dictionary file does not exist; check the path (jieba's dictionary is "
            "jieba/dict.txt inside the installed jieba package).",
            path=path,
        )
    if path.is_dir():
        raise DataFileError(
            "is a directory, not a dictionary file; pass the file inside it.", path=path
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataFileError(f"cannot be read ({err.strerror}).", path=path) from None
    if not data.strip():
        raise DataFileError(
            "the dictionary file is empty; expected one word a line ('word count [tag]', "
            "'word<TAB>count', or a plain word list).",
            path=path,
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataFileError(
            "contains NUL bytes: this looks like a binary file (or UTF-16 text), not a UTF-8 "
            "dictionary; save it as UTF-8 text, one word a line.",
            path=path,
            line=data.count(b"\n", 0, nul) + 1,
        )
    return decode_file(
        data, path, "save the dictionary as UTF-8 text (e.g. `iconv -f GBK -t UTF-8`)."
    )


def _parse_count(field: str, path: Path, lineno: int) -> float:
    try:
        value = float(field)
    except ValueError:
        raise DataFileError(
            f"the count {field!r} is not a number; write 'word<TAB>count' with a positive number.",
            path=path,
            line=lineno,
        ) from None
    if not math.isfinite(value):
        raise DataFileError(
            f"the count {field!r} is not finite; give the word a positive finite count.",
            path=path,
            line=lineno,
        )
    if value < 0:
        raise DataFileError(
            f"the count {field!r} is negative; counts must be positive (fix it or drop the line).",
            path=path,
            line=lineno,
        )
    if value == 0:
        raise DataFileError(
            f"the count {field!r} is zero; counts must be positive (drop the line, or give the "
            "word a small count).",
            path=path,
            line=lineno,
        )
    return value


def load_dictionary(
    path: str | os.PathLike,
    *,
    raw_texts: Iterable[str] | None = None,
    em_iterations: int = 5,
    uniform_if_no_counts: bool = False,
) -> WordDict:
    """Read a dictionary file, detecting its format (see the module docstring).

    raw_texts: only used for a plain word list (no counts): its counts are estimated on this
        text by :func:`estimate_counts` with ``em_iterations`` iterations. Files with counts
        keep theirs (adapt them to a domain with :func:`estimate_counts` and ``prior_counts``).
    uniform_if_no_counts: give a plain word list count 1 per word when no ``raw_texts`` are
        passed, instead of raising.

    Raises DataFileError (file and line named) for a missing, empty, binary or non-UTF-8 file,
    a file without words, lines missing the count column that the other lines have, and
    non-numeric, non-finite, negative or zero counts.
    """
    path = Path(path)
    text = _read_text(path)
    entries: list[tuple[int, str, str | None, str | None]] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if "\r" in line:
            raise DataFileError(
                "holds a carriage return (\\r) inside the line; end lines with \\n or \\r\\n "
                "only (e.g. `dos2unix`, or remove the stray \\r).",
                path=path,
                line=lineno,
            )
        if line:
            word, count, tag = _parse_line(line)
            entries.append((lineno, word, count, tag))
    if not entries:
        raise DataFileError("has no words (only blank lines); expected one word a line.", path=path)
    with_count = sum(1 for e in entries if e[2] is not None)
    if with_count and with_count < len(entries):
        if 2 * with_count >= len(entries):
            lineno, word = next((e[0], e[1]) for e in entries if e[2] is None)
            raise DataFileError(
                f"the count column is missing or not a number in {word!r}, but {with_count} of "
                f"{len(entries)} lines have one; write 'word count [tag]' or 'word<TAB>count' on "
                "every line.",
                path=path,
                line=lineno,
            )
        lineno, word = next((e[0], e[1]) for e in entries if e[2] is not None)
        raise DataFileError(
            f"this line ({word!r}) has a count column but {len(entries) - with_count} of "
            f"{len(entries)} lines have none: give every word a count, or none (a plain word "
            "list, whose counts are then estimated from raw text).",
            path=path,
            line=lineno,
        )
    for lineno, word, _, _ in entries:
        if not word:
            raise DataFileError("the word is empty; remove the line.", path=path, line=lineno)
    words = [e[1] for e in entries]
    if with_count:
        try:
            counts = np.array([e[2] for e in entries], dtype=np.float64)
            valid = bool(np.all(np.isfinite(counts) & (counts > 0)))
        except ValueError:
            valid = False
        if not valid:  # find and name the first bad line
            for lineno, _, count, _ in entries:
                _parse_count(count, path, lineno)
        tagged = any(e[3] for e in entries)
        tags = [e[3] or "" for e in entries] if tagged else None
        wdict = WordDict(words, counts, tags)
        if not np.all(np.isfinite(wdict.counts)):  # duplicates whose counts add up to inf
            bad = wdict.words[int(np.flatnonzero(~np.isfinite(wdict.counts))[0])]
            lineno = next(e[0] for e in entries if e[1] == bad)
            raise DataFileError(
                f"the counts of {bad!r}, which is listed more than once, add up to more than a "
                "float can hold; give it one line with a smaller count.",
                path=path,
                line=lineno,
            )
        return wdict
    wdict = WordDict(words, np.ones(len(words), dtype=np.float64))
    if raw_texts is None:
        if uniform_if_no_counts:
            return wdict
        raise DataFileError(
            "is a plain word list without counts; pass raw text (raw_texts=...) to estimate the "
            "counts by EM, or uniform_if_no_counts=True to give every word count 1.",
            path=path,
        )
    counts = estimate_counts(wdict.words, raw_texts, iterations=em_iterations)
    return WordDict(wdict.words, counts)


# --- estimating and adapting ----------------------------------------------------------------


def estimate_counts(
    words: Sequence[str],
    raw_texts: Iterable[str],
    *,
    iterations: int = 5,
    prior_counts: Sequence[float] | np.ndarray | None = None,
    mix: float = 0.5,
    smoothing: float = 0.5,
    unknown_logprob: float | None = None,
) -> np.ndarray:
    """Word counts re-estimated on ``raw_texts`` by hard EM with a unigram model.

    Start from ``prior_counts`` (uniform if None); each iteration segments the raw text by
    maximum probability (:class:`~.unigram.UnigramSegmenter`) and recounts the words, adding
    ``smoothing`` so that every word keeps a positive count. With ``prior_counts`` the new
    counts are ``mix * p_prior + (1 - mix) * p_em`` (probabilities) scaled to the prior's total:
    ``mix = 1`` keeps the prior, ``mix = 0`` trusts the raw text only (after starting from the
    prior). Returns float64 counts aligned with ``words``, all > 0.
    """
    words = list(words)
    texts = [t for t in raw_texts if t]
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}.")
    if smoothing <= 0 or not math.isfinite(smoothing):
        raise ValueError(f"smoothing must be positive and finite, got {smoothing}.")
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be between 0 and 1, got {mix}.")
    if prior_counts is None:
        prior = None
        counts = np.ones(len(words), dtype=np.float64)
    else:
        prior = np.asarray(prior_counts, dtype=np.float64).reshape(-1)
        if len(prior) != len(words):
            raise ValueError(f"{len(words)} words but {len(prior)} prior counts.")
        if not np.all(np.isfinite(prior)) or np.any(prior <= 0):
            raise ValueError("prior_counts must be finite and positive.")
        counts = prior.copy()
    for _ in range(iterations):
        seg = UnigramSegmenter(words, counts, unknown_logprob=unknown_logprob)
        em = seg.count(texts) + smoothing
        if prior is None:
            counts = em
        else:
            p = mix * prior / prior.sum() + (1.0 - mix) * em / em.sum()
            counts = p * prior.sum()
    return counts


def _is_han(word: str) -> bool:
    runs = split_runs(word)
    return len(runs) == 1 and runs[0][2] == "han"


def adapt_dictionary(
    wdict: WordDict,
    *,
    max_word_length: int | None = None,
    keep_longer_tags: Iterable[str] = (),
    drop_tags: Iterable[str] = (),
    han_only: bool = False,
) -> WordDict:
    """Filter a dictionary towards a segmentation standard.

    Keeps a word if it has at most ``max_word_length`` characters (None: any length) or its POS
    tag is in ``keep_longer_tags``; drops multi-character words whose tag is in ``drop_tags``
    (single characters are always kept); with ``han_only`` keeps only words made entirely of
    Chinese characters (the ``"han"`` runs of :func:`~.pretok.split_runs`). A dictionary without
    tags behaves as if every tag were empty. Raises ValueError if nothing is left.
    """
    keep_longer = set(keep_longer_tags)
    drop = set(drop_tags)
    tags = wdict.tags if wdict.tags is not None else [""] * len(wdict)
    keep = np.ones(len(wdict), dtype=bool)
    for i, (word, tag) in enumerate(zip(wdict.words, tags, strict=True)):
        n = len(word)
        if max_word_length is not None and n > max_word_length and tag not in keep_longer:
            keep[i] = False
        elif n > 1 and tag in drop:
            keep[i] = False
        elif han_only and not _is_han(word):
            keep[i] = False
    if not keep.any():
        raise ValueError(
            "adapt_dictionary removed every word; loosen max_word_length, drop_tags or han_only."
        )
    return wdict.select(keep)
