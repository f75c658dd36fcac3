"""Maximum-probability segmentation under a unigram word model (no HMM).

The path through a text that maximises ``prod p(w_i)`` over dictionary words, as jieba's
DAG + route does and as kexue.fm's dictionary-only segmenter imitates (METHODS.md section 1).
A character that is not the start of any usable dictionary word is a word of its own with
probability ``exp(unknown_logprob)``; a single character that *is* a dictionary word uses its own
count. Every position therefore has at least one outgoing edge and every text has a path:
``"".join(segment(text)) == text`` for any ``str`` (whitespace, emoji, control characters and
lone surrogates included; they come out as one-character words).

The dynamic programme runs right to left and finds each position's edges by walking a
character trie of the words from there (:class:`._loops.Lexicon`, compiled), so the cost is
``O(n * k)`` trie steps, ``k`` the length of the longest dictionary word starting there (not
``O(n * L^2)``).

Python, numpy and the compiled ``_loops`` (the route); nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import DataFileError
from ._loops import Lexicon

__all__ = ["UnigramSegmenter"]


class UnigramSegmenter:
    """Max-probability segmentation with a unigram model over ``words`` with ``counts``.

    words: the dictionary; duplicates are merged (their counts summed, the first index kept).
    counts: one non-negative finite count per word; a word with count 0 is never chosen.
    unknown_logprob: log-probability of a one-character word that is not in the dictionary;
        default ``log(min positive count / total)``, i.e. as likely as the rarest word (jieba
        gives such characters count 1). METHODS.md's AC-automaton post uses ``-10``.
    """

    def __init__(
        self,
        words: Sequence[str],
        counts: Sequence[float] | np.ndarray,
        *,
        unknown_logprob: float | None = None,
    ):
        counts = np.asarray(counts, dtype=np.float64).reshape(-1)
        words = list(words)
        if len(words) != len(counts):
            raise ValueError(
                f"{len(words)} words but {len(counts)} counts: give one count per word."
            )
        if len(counts) and (not np.all(np.isfinite(counts)) or np.any(counts < 0)):
            bad = int(np.flatnonzero(~np.isfinite(counts) | (counts < 0))[0])
            raise ValueError(
                f"the count of {words[bad]!r} (index {bad}) is {counts[bad]}: counts must be finite "
                "and non-negative."
            )
        merged = np.zeros(len(words), dtype=np.float64)
        index: dict[str, int] = {}
        for i, word in enumerate(words):
            if not isinstance(word, str) or not word:
                raise ValueError(f"word {i} is {word!r}: every word must be a non-empty str.")
            first = index.setdefault(word, i)
            merged[first] += counts[i]
        self.words: list[str] = words
        self.counts: np.ndarray = merged
        total = float(merged.sum())
        positive = merged[merged > 0]
        if unknown_logprob is None:
            if total > 0:
                unknown_logprob = math.log(float(positive.min())) - math.log(total)
            else:
                unknown_logprob = 0.0
        if not math.isfinite(unknown_logprob):
            raise ValueError(f"unknown_logprob must be finite, got {unknown_logprob}.")
        self.unknown_logprob = float(unknown_logprob)
        # prefix -> index of the word it spells, or -1 if it is only a proper prefix.
        prefixes: dict[str, int] = {}
        log_total = math.log(total) if total > 0 else 0.0
        logp = [-math.inf] * len(words)
        for word, i in index.items():
            if merged[i] <= 0:
                continue
            logp[i] = math.log(merged[i]) - log_total
            prefixes[word] = i
        for word in list(prefixes):
            for end in range(1, len(word)):
                prefixes.setdefault(word[:end], -1)
        self._prefixes = prefixes
        self._logp = logp

    def __len__(self) -> int:
        return len(self.words)

    def __reduce__(self):
        # Pickle the dictionary, not the prefix table: smaller, and rebuilt on load.
        return (_rebuild, (self.words, self.counts, self.unknown_logprob))

    def to_json(self) -> dict[str, list]:
        """The words and counts, as the segmenter saves its lexicon (lexicon.json)."""
        return {"words": self.words, "counts": self.counts.tolist()}

    @classmethod
    def from_json(cls, data: Any, source: Any) -> UnigramSegmenter:
        """The lexicon :meth:`to_json` wrote; anything else is a DataFileError naming
        ``source``."""
        try:
            return cls(data["words"], data["counts"])
        except (KeyError, TypeError, ValueError) as err:
            raise DataFileError(
                'must be a JSON object {"words": [...], "counts": [...]} of equal lengths '
                f"({err}).",
                path=source,
            ) from None

    def _route(self, text: str) -> tuple[list[int], list[int]]:
        """Best next boundary and word index (-1: unknown char) for every start position."""
        return self.route_table().route(text)

    def route_table(self) -> Lexicon:
        """The compiled trie of the words (:class:`._loops.Lexicon`) that computes the route,
        made on first use."""
        table = self.__dict__.get("_table")
        if table is None:
            table = self._table = Lexicon(self._prefixes, self._logp, self.unknown_logprob)
        return table

    def segment(self, text: str) -> list[str]:
        """The maximum-probability segmentation of ``text``; ``"".join(result) == text``."""
        if not text:
            return []
        nxt, _ = self._route(text)
        out = []
        i = 0
        n = len(text)
        while i < n:
            j = nxt[i]
            out.append(text[i:j])
            i = j
        return out

    def logprob(self, words: Iterable[str]) -> float:
        """Log-probability of a segmentation under the model (unknown chars as in ``segment``)."""
        total = 0.0
        for word in words:
            idx = self._prefixes.get(word, -1)
            if idx >= 0:
                total += self._logp[idx]
            elif len(word) == 1:
                total += self.unknown_logprob
            else:
                return -math.inf
        return total

    def count(self, texts: Iterable[str]) -> np.ndarray:
        """How often each dictionary word occurs in the max-probability segmentation of ``texts``.

        Returns float64 counts aligned with ``self.words`` (a duplicate word's occurrences go
        to its first index); one-character words outside the dictionary are not counted.
        """
        counts = np.zeros(len(self.words), dtype=np.float64)
        hits: dict[int, int] = {}
        for text in texts:
            if not text:
                continue
            nxt, widx = self._route(text)
            i = 0
            n = len(text)
            while i < n:
                w = widx[i]
                if w >= 0:
                    hits[w] = hits.get(w, 0) + 1
                i = nxt[i]
        if hits:
            keys = np.fromiter(hits.keys(), dtype=np.int64, count=len(hits))
            vals = np.fromiter(hits.values(), dtype=np.float64, count=len(hits))
            counts[keys] = vals
        return counts


def _rebuild(words: list[str], counts: np.ndarray, unknown_logprob: float) -> UnigramSegmenter:
    return UnigramSegmenter(words, counts, unknown_logprob=unknown_logprob)
