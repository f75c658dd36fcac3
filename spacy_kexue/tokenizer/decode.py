"""Constrained Viterbi decoding of BMES character tags, and user-dictionary constraints.

Tags: ``B = 0`` (word begins), ``M = 1`` (middle), ``E = 2`` (end), ``S = 3`` (single-character
word); :data:`PAD` ``= -1`` marks positions past a sequence's length in the ``int8`` arrays
:func:`viterbi` returns. A legal sequence starts with B or S, ends with E or S, and uses only
the transitions BM BE MM ME EB ES SB SS (METHODS.md section 1).

Because the legal transitions have that shape, the best predecessor of B and S is always the
better of (E, S), and the best predecessor of M and E the better of (B, M): one Viterbi step is
two maxima, and a back-pointer is two booleans. The loop is compiled (``_loops.pyx``) and runs one
row at a time, so a short text costs microseconds and a row's result never depends on its batch.

User dictionary: :class:`UserDictionary` finds listed words in a text (longest match, left to
right, non-overlapping), :func:`spans_mask` / :func:`force_words_mask` turn the matches into the
``allowed`` mask of hard constraints that makes each match come out as exactly one word.

numpy and the compiled ``_loops``; nothing here imports torch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Protocol

import numpy as np

from ..errors import DataFileError
from ._loops import viterbi_rows

__all__ = [
    "B",
    "E",
    "M",
    "PAD",
    "S",
    "TAGS",
    "UserDictionary",
    "boundaries",
    "force_words_mask",
    "is_legal",
    "spans_mask",
    "tags_to_spans",
    "viterbi",
    "words_from_tags",
]

B, M, E, S = 0, 1, 2, 3
TAGS = "BMES"
PAD = -1
"""Tag value of padding positions (``t >= length``) in :func:`viterbi`'s ``int8`` output."""

# Rows: tag; entries: tags allowed at that position under the constraint.
_ONLY = np.eye(4, dtype=bool)
_ENDS_WORD = np.array([False, False, True, True])  # E or S
_STARTS_WORD = np.array([True, False, False, True])  # B or S


def viterbi(
    scores: np.ndarray, lengths: np.ndarray | None = None, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Best legal BMES tag sequence for each row of a batch.

    scores: ``(batch, T, 4)`` log-probabilities (any float dtype; values past a row's length are
        ignored). NaN and ``-inf`` count as a very low finite score (-1e9), so a legal sequence
        always exists without constraints.
    lengths: ``(batch,)`` integers in ``[0, T]``; None means every row has length ``T``.
    allowed: optional ``(batch, T, 4)`` boolean mask, hard constraints: tag ``k`` may be used at
        position ``t`` of row ``i`` only where ``allowed[i, t, k]``. Positions past the length are
        ignored. A row whose constraints admit no legal sequence is decoded *without* its
        constraints (the result is still legal; check with :func:`is_legal` and the mask if you
        need to know).

    Returns ``(batch, T)`` ``int8`` tags: a legal sequence in ``[:length]`` of each row (length 1
    gives ``S``), :data:`PAD` (-1) after it. Ties go to the B predecessor over M and to S over E.
    """
    scores = np.asarray(scores)
    if scores.ndim != 3 or scores.shape[2] != 4:
        raise ValueError(f"scores must have shape (batch, T, 4), got {scores.shape}")
    n, t_max, _ = scores.shape
    if lengths is None:
        lengths = np.full(n, t_max, dtype=np.int64)
    else:
        lengths = np.asarray(lengths).astype(np.int64, copy=False).reshape(-1)
        if lengths.shape != (n,):
            raise ValueError(f"lengths must have shape ({n},), got {lengths.shape}")
        if n and (lengths.min() < 0 or lengths.max() > t_max):
            raise ValueError(
                f"lengths must lie in [0, {t_max}], got {lengths.min()}..{lengths.max()}"
            )
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=bool)
        if allowed.shape != scores.shape:
            raise ValueError(f"allowed must have shape {scores.shape}, got {allowed.shape}")

    tags = np.full((n, t_max), PAD, dtype=np.int8)
    mask = None if allowed is None else np.ascontiguousarray(allowed).view(np.uint8)
    viterbi_rows(np.ascontiguousarray(scores, dtype=np.float64), lengths, mask, tags)
    return tags


def is_legal(tags: Sequence[int] | np.ndarray) -> bool:
    """Whether ``tags`` (no padding) is a legal BMES sequence; the empty sequence is legal."""
    seq = [int(x) for x in tags]
    if not seq:
        return True
    if seq[0] not in (B, S) or seq[-1] not in (E, S):
        return False
    return all((a in (B, M)) == (b in (M, E)) for a, b in pairwise(seq))


def boundaries(tags: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """``(batch, T)`` booleans, True where a word starts (tag B or S), False in padding.

    Vectorised over the batch; ``lengths`` defaults to the non-:data:`PAD` prefix.
    """
    tags = np.asarray(tags)
    starts = (tags == B) | (tags == S)
    if lengths is not None:
        starts &= np.arange(tags.shape[-1]) < np.asarray(lengths)[..., None]
    return starts


def tags_to_spans(
    tags: Sequence[int] | np.ndarray, length: int | None = None
) -> list[tuple[int, int]]:
    """Word spans ``(start, end)`` read off ``tags[:length]``.

    ``length`` defaults to the position of the first :data:`PAD` (or the full length). A word
    starts at position 0, at every B or S, and after every E or S, so any tag sequence (legal
    or not) gives a partition of ``range(length)``.
    """
    arr = np.asarray(tags).astype(np.int64, copy=False).reshape(-1)
    if length is None:
        pad = np.flatnonzero(arr == PAD)
        length = int(pad[0]) if len(pad) else len(arr)
    arr = arr[:length]
    if length == 0:
        return []
    start = (arr == B) | (arr == S)
    start[1:] |= (arr[:-1] == E) | (arr[:-1] == S)
    start[0] = True
    cuts = np.flatnonzero(start).tolist()
    return list(zip(cuts, cuts[1:] + [length], strict=True))


def words_from_tags(text: str, tags: Sequence[int] | np.ndarray) -> list[str]:
    """The words of ``text`` under ``tags`` (one tag per character, padding after ``len(text)``)."""
    return [text[s:e] for s, e in tags_to_spans(tags, len(text))]


# --- user dictionary ------------------------------------------------------------------------------


class WordFinder(Protocol):
    def find(self, text: str) -> list[tuple[int, int]]: ...


class UserDictionary:
    """Words that must come out as single words, whatever the model says.

    ``find`` does forward maximum matching: scanning left to right, at the first position where
    some listed word starts, take the longest such word, continue after it. Matching jumps from
    candidate to candidate with a compiled character class of first characters, then extends
    the candidate one character at a time while it is a prefix of some listed word (a dict of
    all prefixes, a flattened trie), so its cost is a few dict lookups per candidate position.

    Serialise with :meth:`to_list` / :meth:`from_list` (JSON-ready, insertion order kept) or
    :meth:`to_bytes` / :meth:`from_bytes`.
    """

    def __init__(self, words: Iterable[str] = ()):
        self._words: dict[str, None] = {}
        # every prefix of a listed word -> whether it is itself a listed word
        self._prefixes: dict[str, bool] = {}
        self._first_re: re.Pattern[str] | None = None
        self.add(words)

    def add(self, words: Iterable[str] | str) -> None:
        """Add one word or an iterable of words. Empty strings and non-strings are refused."""
        if isinstance(words, str):
            words = [words]
        for word in words:
            if not isinstance(word, str) or not word:
                raise ValueError(
                    f"A user-dictionary word must be a non-empty str, got {word!r}. "
                    "Remove empty lines from the word list."
                )
            if word in self._words:
                continue
            self._words[word] = None
            prefixes = self._prefixes
            for end in range(1, len(word)):
                prefixes.setdefault(word[:end], False)
            prefixes[word] = True
            self._first_re = None

    def __contains__(self, word: object) -> bool:
        return word in self._words

    def __len__(self) -> int:
        return len(self._words)

    def __iter__(self):
        return iter(self._words)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UserDictionary):
            return NotImplemented
        return self._words.keys() == other._words.keys()

    def __repr__(self) -> str:
        return f"UserDictionary({len(self)} words)"

    def find(
        self, text: str, accept: Callable[[int, int], bool] | None = None
    ) -> list[tuple[int, int]]:
        """Non-overlapping ``(start, end)`` matches, leftmost first, longest at each start.

        ``accept(start, end)``, when given, vetoes matches: at each start the longest accepted
        match is taken, and a start with none is passed over.
        """
        if not self._words:
            return []
        if self._first_re is None:
            chars = "".join(re.escape(w) for w in sorted(self._prefixes) if len(w) == 1)
            self._first_re = re.compile(f"[{chars}]")
        search = self._first_re.search
        prefixes = self._prefixes
        n = len(text)
        found: list[tuple[int, int]] = []
        pos = 0
        while (m := search(text, pos)) is not None:
            i = m.start()
            pos = i + 1
            best = 0
            j = i + 1
            while j <= n:
                is_word = prefixes.get(text[i:j])
                if is_word is None:
                    break
                if is_word and (accept is None or accept(i, j)):
                    best = j
                j += 1
            if best:
                found.append((i, best))
                pos = best
        return found

    def to_list(self) -> list[str]:
        return list(self._words)

    @classmethod
    def from_list(cls, words: Iterable[str]) -> UserDictionary:
        return cls(words)

    def to_bytes(self) -> bytes:
        """JSON (``{"words": [...]}``), UTF-8; lone surrogates are written as escapes."""
        return json.dumps({"words": self.to_list()}).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> UserDictionary:
        """Read what :meth:`to_bytes` wrote; anything else raises
        :class:`~spacy_kexue.errors.DataFileError`."""
        where = "<user dictionary bytes>"
        try:
            obj = json.loads(bytes(data).decode("utf-8"))
        except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, a huge number
            raise DataFileError(
                f"are not a user dictionary ({type(err).__name__}: {err}); pass what "
                "UserDictionary.to_bytes() wrote.",
                path=where,
            ) from None
        words = obj.get("words") if isinstance(obj, dict) else None
        if not isinstance(words, list):
            raise DataFileError(
                'are not a user dictionary: expected a JSON object {"words": [...]}, as '
                "UserDictionary.to_bytes() writes.",
                path=where,
            )
        try:
            return cls(words)
        except ValueError as err:
            raise DataFileError(str(err), path=where) from None


def spans_mask(
    spans: Sequence[Iterable[tuple[int, int]]], T: int, *, out: np.ndarray | None = None
) -> np.ndarray:
    """``allowed`` mask (``(len(spans), T, 4)`` booleans) forcing each span to be one word.

    For a span ``(s, e)`` of row ``i``: tag S at ``s`` if ``e - s == 1``, else B at ``s``, M in
    between and E at ``e - 1``; the character before the span must end a word (E or S) and the
    one after it must start one (B or S), so no boundary cuts into the span from outside.
    Constraints are intersected with ``out`` when given (it is modified in place). Overlapping
    spans can make a row infeasible; :func:`viterbi` then decodes that row unconstrained.
    """
    if out is None:
        out = np.ones((len(spans), T, 4), dtype=bool)
    elif out.shape != (len(spans), T, 4):
        raise ValueError(f"out must have shape {(len(spans), T, 4)}, got {out.shape}")
    for row, row_spans in enumerate(spans):
        mask = out[row]
        for s, e in row_spans:
            if not 0 <= s < e <= T:
                raise ValueError(f"span ({s}, {e}) of row {row} does not fit in length {T}")
            if e - s == 1:
                mask[s] &= _ONLY[S]
            else:
                mask[s] &= _ONLY[B]
                mask[s + 1 : e - 1] &= _ONLY[M]
                mask[e - 1] &= _ONLY[E]
            if s > 0:
                mask[s - 1] &= _ENDS_WORD
            if e < T:
                mask[e] &= _STARTS_WORD
    return out


def force_words_mask(
    texts: Sequence[str], T: int, words: UserDictionary | WordFinder | Iterable[str]
) -> np.ndarray:
    """``allowed`` mask for :func:`viterbi` that makes every user-dictionary match one word.

    ``words``: a :class:`UserDictionary`, anything with a ``find(text) -> [(start, end)]``
    method, or an iterable of words. Every text must have at most ``T`` characters.
    """
    if not hasattr(words, "find"):
        words = UserDictionary(words)
    too_long = [i for i, text in enumerate(texts) if len(text) > T]
    if too_long:
        i = too_long[0]
        raise ValueError(f"text {i} has {len(texts[i])} characters, more than T={T}")
    return spans_mask([words.find(text) for text in texts], T)
