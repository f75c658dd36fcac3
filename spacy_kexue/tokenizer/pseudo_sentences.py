"""Pseudo-sentences sampled from a word-frequency dictionary, with BMES character tags.

kexue.fm's dictionary-only segmenter (METHODS.md section 1): draw words with probability
proportional to their frequency, concatenate ``n ~ U{min_words..max_words}`` of them into a
pseudo-sentence and tag every character B (begins a word), M (middle), E (ends) or S (a
one-character word). A tagger trained on that stream learns the unigram model's dynamic programme.

Generation is vectorised: the cumulative distribution is computed once, and all word indices of
a batch come from one ``rng.random`` call and ``np.searchsorted``. The words' characters and tags
are stored once in a flat (CSR) layout; a batch is assembled by one fancy-index gather, with no
Python loop over words. A sentence longer than ``max_chars`` characters is cut after its last
whole word that fits (the post drops such sentences instead; cutting keeps every draw's cost
fixed). Words longer than ``max_chars`` can never fit and are left out of the sampling.

numpy only; nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .decode import TAGS, B, E, M, S, words_from_tags
from .dictionary import WordDict

__all__ = [
    "B",
    "E",
    "M",
    "PAD_TAG",
    "S",
    "TAGS",
    "PseudoCorpus",
    "tag_words",
    "tags_to_words",
]

PAD_TAG = 4
"""Tag value at padding positions (``j >= length``) of :meth:`PseudoCorpus.batch_arrays`."""


def _codepoints(text: str) -> np.ndarray:
    """The code points of ``text`` as int32 (lone surrogates included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int32)


def tag_lengths(lengths: np.ndarray) -> np.ndarray:
    """Concatenated BMES tags of words with the given lengths (all >= 1), uint8."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    starts = ends - lengths
    tags = np.full(total, M, dtype=np.uint8)
    if total == 0:
        return tags
    tags[ends - 1] = E
    tags[starts] = B
    tags[starts[lengths == 1]] = S
    return tags


def tag_words(words: Sequence[str]) -> np.ndarray:
    """BMES tags (uint8, one per character) of the concatenation of ``words``.

    A one-character word is S; a longer one is B M* E. Empty words are not allowed.
    """
    lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
    if len(lengths) and lengths.min() == 0:
        raise ValueError("tag_words got an empty word; every word needs at least one character.")
    return tag_lengths(lengths)


def tags_to_words(text: str, tags: Sequence[int] | np.ndarray | str) -> list[str]:
    """Cut ``text`` into words by its BMES ``tags`` (ints 0-3, or a string of B/M/E/S letters).

    A word starts at every B or S and after every E or S, so an illegal sequence still gives
    words (``"".join(result) == text`` always); for a legal one this inverts :func:`tag_words`.
    """
    if isinstance(tags, str):
        try:
            tags = [TAGS.index(t) for t in tags.upper()]
        except ValueError:
            raise ValueError(f"tags must be letters of {TAGS!r}, got {tags!r}.") from None
    tags = np.asarray(tags)
    if len(tags) != len(text):
        raise ValueError(
            f"{len(text)} characters but {len(tags)} tags: give one tag per character."
        )
    if not len(text):
        return []
    if tags.min() < 0 or tags.max() > S:
        raise ValueError(f"tags must be B=0, M=1, E=2 or S=3, got {sorted(set(tags.tolist()))}.")
    return words_from_tags(text, tags)


class PseudoCorpus:
    """An endless, seeded stream of pseudo-sentences sampled from a dictionary.

    wdict: the words and their counts.
    seed: seed of the random generator; the same seed gives the same stream of batches.
    min_words, max_words: a sentence has ``n ~ U{min_words..max_words}`` words before cutting.
    max_chars: no sentence is longer; longer ones are cut after the last whole word that fits.
    smoothing: exponent alpha on the counts, ``p(w) ∝ count(w) ** alpha``; 1 samples by
        frequency (the post), 0 uniformly, values between flatten the distribution.
    """

    def __init__(
        self,
        wdict: WordDict,
        *,
        seed: int = 0,
        min_words: int = 1,
        max_words: int = 16,
        max_chars: int = 48,
        smoothing: float = 1.0,
    ):
        if not 1 <= min_words <= max_words:
            raise ValueError(f"need 1 <= min_words <= max_words, got {min_words} and {max_words}.")
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars}.")
        if not (math.isfinite(smoothing) and smoothing >= 0):
            raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing}.")
        lengths = np.fromiter((len(w) for w in wdict.words), dtype=np.int64, count=len(wdict))
        usable = lengths <= max_chars
        if not usable.any():
            raise ValueError(f"every dictionary word is longer than max_chars={max_chars}.")
        self.words: list[str] = [w for w, ok in zip(wdict.words, usable, strict=True) if ok]
        counts = np.asarray(wdict.counts, dtype=np.float64)[usable]
        weights = counts**smoothing
        self.probabilities: np.ndarray = weights / weights.sum()
        """Sampling probability of each word of :attr:`words`."""
        cdf = np.cumsum(weights)
        self._cdf = cdf / cdf[-1]
        self.lengths: np.ndarray = lengths[usable]
        self._offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self._chars = _codepoints("".join(self.words))
        self._tags = tag_lengths(self.lengths)
        self._mapped: tuple[Callable | None, np.ndarray] = (None, self._chars)
        self.seed = seed
        self.min_words = min_words
        self.max_words = max_words
        self.max_chars = max_chars
        self.smoothing = smoothing
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Number of words that can be sampled."""
        return len(self.words)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_mapped"] = (None, self._chars)  # the cached map may be a lambda: not picklable
        return state

    def sample_words(self, n: int) -> np.ndarray:
        """``n`` word indices (into :attr:`words`) drawn by :attr:`probabilities`."""
        idx = np.searchsorted(self._cdf, self.rng.random(n), side="right")
        return np.minimum(idx, len(self._cdf) - 1)

    def _mapped_chars(self, codepoint_map: Callable | None) -> np.ndarray:
        if codepoint_map is None:
            return self._chars
        if self._mapped[0] is not codepoint_map:
            mapped = np.asarray(codepoint_map(self._chars))
            if mapped.shape != self._chars.shape:
                raise ValueError("codepoint_map must return one id per code point (same shape).")
            self._mapped = (codepoint_map, mapped)
        return self._mapped[1]

    def batch_arrays(
        self, n_sentences: int, codepoint_map: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n_sentences`` pseudo-sentences as padded arrays.

        Returns ``(chars, tags, lengths)``: ``chars`` of shape ``(n, max_chars)`` holds code points
        (int32; 0 at padding), or the ids ``codepoint_map`` gives them; ``tags`` (uint8, same
        shape) holds B/M/E/S, :data:`PAD_TAG` at padding; ``lengths`` (int64) the sentence lengths.

        codepoint_map: a vectorised function from an int32 array of code points to an array of ids
            of the same shape. It is applied once to the dictionary's characters and the result is
            cached for as long as the same function object is passed.
        """
        n = int(n_sentences)
        if n < 0:
            raise ValueError(f"n_sentences must be >= 0, got {n}.")
        source = self._mapped_chars(codepoint_map)
        rng = self.rng
        n_words = rng.integers(self.min_words, self.max_words + 1, size=n)
        idx = self.sample_words(int(n_words.sum()))
        wlen = self.lengths[idx]
        # Character offset of each word's end within its sentence; keep the prefix that fits.
        sent_start = np.cumsum(n_words) - n_words
        csum = np.cumsum(wlen)
        before = np.concatenate([[0], csum])[sent_start]  # chars before each sentence
        sid = np.repeat(np.arange(n), n_words)
        end_in_sent = csum - before[sid]
        keep = end_in_sent <= self.max_chars
        idx, wlen, sid, end_in_sent = idx[keep], wlen[keep], sid[keep], end_in_sent[keep]
        lengths = np.bincount(sid, weights=wlen, minlength=n).astype(np.int64)
        # Gather every kept character: word k contributes wlen[k] characters.
        total = int(wlen.sum())
        word_of_char = np.repeat(np.arange(len(idx)), wlen)
        out_start = np.cumsum(wlen) - wlen  # start of each word in the flat output
        pos = np.arange(total) - out_start[word_of_char]
        src = self._offsets[idx][word_of_char] + pos
        row = sid[word_of_char]
        col = (end_in_sent - wlen)[word_of_char] + pos
        chars = np.zeros((n, self.max_chars), dtype=source.dtype)
        tags = np.full((n, self.max_chars), PAD_TAG, dtype=np.uint8)
        chars[row, col] = source[src]
        tags[row, col] = self._tags[src]
        return chars, tags, lengths

    def batch(self, n_sentences: int) -> tuple[list[str], list[np.ndarray]]:
        """``n_sentences`` pseudo-sentences (str) and their BMES tag arrays (uint8)."""
        chars, tags, lengths = self.batch_arrays(n_sentences)
        flat = chars.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
        width = self.max_chars
        lens = lengths.tolist()
        texts = [flat[i * width : i * width + k] for i, k in enumerate(lens)]
        return texts, [tags[i, :k].copy() for i, k in enumerate(lens)]
