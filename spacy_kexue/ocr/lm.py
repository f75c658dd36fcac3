"""Character bigram language model and Viterbi correction for OCR output.

The method (METHODS.md, section 5, after kexue.fm's "OCR技术浅探"): the recogniser gives
each character position a few candidates with probabilities W; the line read is the
sequence s that maximises

    Σ_i log W(s_i) + lm_weight · Σ_i log P(s_{i+1} | s_i)

over each position's top-k candidates, found by Viterbi in O(n·k²). With a bigram model
built from text where 电视 is common, the classifier's 电柳 becomes 电视.

Model
-----
The vocabulary is a list of single characters (ids 1..V). One more symbol, the
*boundary* (id 0), stands for the start and end of a text and for whitespace. A text is
read as ``<b> c1 c2 ... cn <b>`` with whitespace replaced by the boundary and runs of
boundaries collapsed into one, so a text splits into segments at whitespace and each
segment is scored as a sentence of its own.

Characters outside the vocabulary (including lone surrogates):

- when *counting*, they split the text like whitespace (``charset=`` given: the rest of
  the text is still counted; ``charset=None``: every character seen is in the vocabulary);
- when *scoring*, each is an *unknown* character (id -1), scored exactly like a vocabulary
  character that was never seen: ``P(unknown | a) = α / (#a + α·(V + 1))`` and
  ``P(b | unknown) = 1 / (V + 1)``. A recogniser candidate the model does not know thus pays
  the price of a rare character; it never gets the free pass a boundary would.

Probabilities are add-α smoothed bigrams::

    P(b | a) = (#(a b) + α) / (#a + α · (V + 1))

where ``#a`` counts ``a`` as the left symbol of a bigram (for a character, its number of
occurrences; for the boundary, the number of segments) and ``V + 1`` is the number of
possible next symbols (the characters and the boundary). Every bigram, seen or not, gets
a probability above zero; for every character ``a`` the ``P(· | a)`` sum to 1 over the
vocabulary and the boundary. The boundary-to-boundary transition never occurs in a
collapsed sequence and scores 0 (log 1), so a run of spaces costs nothing.

Storage: unigram counts as a dense int64 array (index 0 = boundary), bigrams sparse as
sorted int64 keys ``a * (V + 1) + b`` with int64 counts, looked up with
``np.searchsorted``. Files are ``np.savez_compressed`` archives of plain numeric arrays
(characters as uint32 code points), read with ``allow_pickle=False``: a model file can
never run code. :meth:`BigramLM.prune` drops rare bigrams to keep the file small.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataFileError

__all__ = [
    "BOUNDARY",
    "DEFAULT_ALPHA",
    "MIN_PROB",
    "UNKNOWN",
    "BigramCounter",
    "BigramLM",
    "viterbi",
]

DEFAULT_ALPHA = 0.1
"""Default add-α smoothing constant."""

MIN_PROB = 1e-12
"""Classifier probabilities are floored at this value before taking logs in :func:`viterbi`."""

BOUNDARY = 0
"""Id of the boundary symbol (text edges, whitespace)."""

UNKNOWN = -1
"""Id of a non-whitespace character outside the vocabulary when scoring."""

FORMAT_VERSION = 1
_MAX_CODEPOINT = 0x110000
_RAW_BASE = _MAX_CODEPOINT + 1  # raw ids while counting without a charset: code point + 1
_MAX_UNCOMPRESSED = 1 << 30  # refuse model archives that would inflate past 1 GiB
_REQUIRED = ("format", "alpha", "chars", "unigram_counts", "bigram_keys", "bigram_counts")

_BOUNDARY_TABLE: np.ndarray | None = None


def _boundary_table() -> np.ndarray:
    """Bool table over all code points: True where the character is a boundary
    (whitespace or a surrogate code point)."""
    global _BOUNDARY_TABLE
    if _BOUNDARY_TABLE is None:
        table = np.zeros(_MAX_CODEPOINT, dtype=bool)
        table[[cp for cp in range(_MAX_CODEPOINT) if chr(cp).isspace()]] = True
        table[0xD800:0xE000] = True
        _BOUNDARY_TABLE = table
    return _BOUNDARY_TABLE


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)


def _is_vocab_char(ch: object) -> bool:
    return (
        isinstance(ch, str) and len(ch) == 1 and not ch.isspace() and not 0xD800 <= ord(ch) < 0xE000
    )


def _validate_charset(charset: Iterable[str]) -> list[str]:
    chars: list[str] = []
    seen: set[str] = set()
    for i, ch in enumerate(charset):
        if not _is_vocab_char(ch):
            raise ValueError(
                f"charset item {i} ({ch!r}) is not a single non-whitespace character: the "
                "charset lists the characters the model scores; whitespace and anything "
                "else always act as a boundary. Remove it from the charset."
            )
        if ch not in seen:
            seen.add(ch)
            chars.append(ch)
    return chars


def _sum_by_key(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and the summed counts of each (exact integer arithmetic)."""
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    counts = counts[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(counts, starts).astype(np.int64)


class BigramCounter:
    """Streaming, memory-bounded counter of character bigrams; :meth:`build` makes a
    :class:`BigramLM`.

    Texts are buffered until ``chunk_chars`` characters, then counted at once with numpy
    (``np.unique`` over int64 bigram keys) and merged into the running totals, so memory
    holds one chunk of text plus the distinct bigrams seen, never the corpus.

    ``charset``: the vocabulary (the recogniser's classes, in its order); characters outside
    it act as boundaries. ``None``: every non-whitespace character seen is in the
    vocabulary, ordered by decreasing frequency (ties by code point).
    """

    def __init__(self, *, charset: Iterable[str] | None = None, chunk_chars: int = 1 << 21):
        if chunk_chars < 1:
            raise ValueError(f"chunk_chars must be at least 1, got {chunk_chars}.")
        self.chunk_chars = int(chunk_chars)
        if charset is None:
            self._charset: list[str] | None = None
            self._lookup: np.ndarray | None = None
            self._base = _RAW_BASE
        else:
            self._charset = _validate_charset(charset)
            lookup = np.zeros(_MAX_CODEPOINT, dtype=np.int64)
            lookup[[ord(c) for c in self._charset]] = np.arange(1, len(self._charset) + 1)
            self._lookup = lookup
            self._base = len(self._charset) + 1
        self._unigram = np.zeros(self._base, dtype=np.int64)
        self._keys = np.zeros(0, np.int64)
        self._counts = np.zeros(0, np.int64)
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._parts_len = 0
        self._buffer: list[str] = []
        self._buffer_len = 0
        self.n_texts = 0

    def add(self, text: str) -> None:
        """Count one text (a line, a document); its edges are boundaries."""
        if not isinstance(text, str):
            raise TypeError(f"Expected a str text, got {type(text).__name__}.")
        self._buffer.append(text)
        self._buffer_len += len(text) + 1
        self.n_texts += 1
        if self._buffer_len >= self.chunk_chars:
            self._flush()

    def update(self, texts: Iterable[str]) -> BigramCounter:
        """Count every text of ``texts``; returns ``self``."""
        if isinstance(texts, str):
            raise TypeError("Pass an iterable of texts (e.g. a list of lines), not a single str.")
        for text in texts:
            self.add(text)
        return self

    def update_files(
        self, paths: Iterable[str | Path] | str | Path, *, text_key: str = "text"
    ) -> BigramCounter:
        """Count every text of .txt / .jsonl (optionally .gz) files (see
        :func:`spacy_kexue.readers.read_texts`); bad files or lines raise
        :class:`~spacy_kexue.errors.DataFileError` naming them. Returns ``self``."""
        from ..readers import read_texts

        if isinstance(paths, (str, Path)):
            paths = [paths]
        for path in paths:
            self.update(read_texts(path, text_key=text_key))
        return self

    def _flush(self) -> None:
        if not self._buffer:
            return
        cps = _codepoints("\n" + "\n".join(self._buffer) + "\n")
        self._buffer = []
        self._buffer_len = 0
        if self._lookup is not None:
            ids = self._lookup[cps]
        else:
            ids = np.where(_boundary_table()[cps], 0, cps + 1)
        keep = np.ones(len(ids), dtype=bool)
        keep[1:] = (ids[1:] != 0) | (ids[:-1] != 0)
        ids = ids[keep]
        if len(ids) < 2:
            return
        self._unigram += np.bincount(ids[:-1], minlength=self._base)
        keys, counts = np.unique(ids[:-1] * self._base + ids[1:], return_counts=True)
        self._parts.append((keys, counts.astype(np.int64)))
        self._parts_len += len(keys)
        if self._parts_len > max(len(self._keys), self.chunk_chars):
            self._merge()

    def _merge(self) -> None:
        if not self._parts:
            return
        keys = np.concatenate([self._keys] + [k for k, _ in self._parts])
        counts = np.concatenate([self._counts] + [c for _, c in self._parts])
        self._keys, self._counts = _sum_by_key(keys, counts)
        self._parts = []
        self._parts_len = 0

    def build(self, *, alpha: float = DEFAULT_ALPHA) -> BigramLM:
        """The :class:`BigramLM` of everything counted so far (counting may go on after)."""
        self._flush()
        self._merge()
        if self._charset is not None:
            return BigramLM(
                self._charset,
                self._unigram.copy(),
                self._keys.copy(),
                self._counts.copy(),
                alpha=alpha,
            )
        raw_ids = np.flatnonzero(self._unigram[1:]) + 1  # every character seen has a successor
        freq = self._unigram[raw_ids]
        order = np.lexsort((raw_ids, -freq))
        raw_ids = raw_ids[order]
        chars = [chr(int(r) - 1) for r in raw_ids]
        v1 = len(chars) + 1
        new_id = np.zeros(self._base, dtype=np.int64)
        new_id[raw_ids] = np.arange(1, v1)
        unigram = np.zeros(v1, dtype=np.int64)
        unigram[0] = self._unigram[0]
        unigram[1:] = self._unigram[raw_ids]
        a, b = np.divmod(self._keys, self._base)
        keys = new_id[a] * v1 + new_id[b]
        order = np.argsort(keys)
        return BigramLM(chars, unigram, keys[order], self._counts[order].copy(), alpha=alpha)


class BigramLM:
    """Add-α smoothed character bigram model (see the module docstring for the maths).

    Build one with :meth:`build` (texts in memory), :meth:`build_from_files` or
    :class:`BigramCounter` (streaming); save with :meth:`to_disk` / :meth:`to_bytes`.
    A "character" argument that is ``None``, ``""`` or whitespace stands for the boundary;
    any other character outside the vocabulary is *unknown* (see the module docstring).
    """

    def __init__(
        self,
        chars: Sequence[str],
        unigram_counts: np.ndarray,
        bigram_keys: np.ndarray,
        bigram_counts: np.ndarray,
        *,
        alpha: float = DEFAULT_ALPHA,
    ):
        chars = list(chars)
        for i, ch in enumerate(chars):
            if not _is_vocab_char(ch):
                raise ValueError(f"chars[{i}] ({ch!r}) is not a single non-whitespace character.")
        if len(set(chars)) != len(chars):
            raise ValueError("chars holds duplicate characters.")
        v1 = len(chars) + 1
        unigram_counts = np.asarray(unigram_counts)
        bigram_keys = np.asarray(bigram_keys)
        bigram_counts = np.asarray(bigram_counts)
        for name, arr in (
            ("unigram_counts", unigram_counts),
            ("bigram_keys", bigram_keys),
            ("bigram_counts", bigram_counts),
        ):
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                raise ValueError(
                    f"{name} must be a 1-d integer array, got {arr.dtype} {arr.shape}."
                )
        if len(unigram_counts) != v1:
            raise ValueError(
                f"unigram_counts has {len(unigram_counts)} entries; expected {v1} "
                "(the boundary and one per character)."
            )
        if len(bigram_keys) != len(bigram_counts):
            raise ValueError(
                f"bigram_keys ({len(bigram_keys)}) and bigram_counts ({len(bigram_counts)}) differ in length."
            )
        unigram_counts = unigram_counts.astype(np.int64)
        bigram_keys = bigram_keys.astype(np.int64)
        bigram_counts = bigram_counts.astype(np.int64)
        if (unigram_counts < 0).any():
            raise ValueError("unigram_counts holds negative counts.")
        if (bigram_counts < 0).any():
            raise ValueError("bigram_counts holds negative counts.")
        if len(bigram_keys):
            if bigram_keys[0] < 0 or bigram_keys[-1] >= v1 * v1:
                raise ValueError(f"bigram_keys must lie in [0, {v1 * v1}).")
            if (np.diff(bigram_keys) <= 0).any():
                raise ValueError("bigram_keys must be strictly increasing.")
        alpha = float(alpha)
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive finite number, got {alpha}.")
        self.chars: tuple[str, ...] = tuple(chars)
        self.unigram_counts = unigram_counts
        self.bigram_keys = bigram_keys
        self.bigram_counts = bigram_counts
        self.alpha = alpha
        self._index = {ch: i for i, ch in enumerate(self.chars, start=1)}

    # -- building ---------------------------------------------------------------

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        *,
        charset: Iterable[str] | None = None,
        alpha: float = DEFAULT_ALPHA,
        chunk_chars: int = 1 << 21,
    ) -> BigramLM:
        """Count the bigrams of ``texts`` (each text's edges are boundaries).

        ``charset``: the vocabulary, e.g. the recogniser's classes (unseen ones get only
        smoothing mass); characters outside it act as boundaries. ``None``: every
        non-whitespace character seen, most frequent first.
        """
        return (
            BigramCounter(charset=charset, chunk_chars=chunk_chars).update(texts).build(alpha=alpha)
        )

    @classmethod
    def build_from_files(
        cls,
        paths: Iterable[str | Path] | str | Path,
        *,
        text_key: str = "text",
        charset: Iterable[str] | None = None,
        alpha: float = DEFAULT_ALPHA,
        chunk_chars: int = 1 << 21,
    ) -> BigramLM:
        """Like :meth:`build`, streaming the texts of .txt / .jsonl(.gz) files (one text a
        line) in memory-bounded chunks."""
        counter = BigramCounter(charset=charset, chunk_chars=chunk_chars)
        return counter.update_files(paths, text_key=text_key).build(alpha=alpha)

    def prune(self, min_count: int = 2, *, max_bigrams: int | None = None) -> BigramLM:
        """A copy keeping only bigrams seen at least ``min_count`` times (and at most the
        ``max_bigrams`` most frequent, ties by key). Unigram counts are kept, so a dropped
        bigram gets exactly the smoothing mass of an unseen one."""
        keep = self.bigram_counts >= min_count
        keys, counts = self.bigram_keys[keep], self.bigram_counts[keep]
        if max_bigrams is not None:
            if max_bigrams < 0:
                raise ValueError(f"max_bigrams must be >= 0, got {max_bigrams}.")
            if len(keys) > max_bigrams:
                top = np.lexsort((keys, -counts))[:max_bigrams]
                top.sort()  # keys are sorted, so sorted positions keep them sorted
                keys, counts = keys[top], counts[top]
        return BigramLM(self.chars, self.unigram_counts.copy(), keys, counts, alpha=self.alpha)

    # -- queries ----------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Number of characters in the vocabulary (the boundary not included)."""
        return len(self.chars)

    @property
    def n_bigrams(self) -> int:
        """Number of stored (non-zero) bigrams."""
        return len(self.bigram_keys)

    def char_id(self, ch: str | None) -> int:
        """The id of ``ch``: 1..V for vocabulary characters, :data:`BOUNDARY` (0) for None,
        "" and whitespace, :data:`UNKNOWN` (-1) for any other character. Strings of several
        characters raise ValueError."""
        if ch is None or ch == "":
            return BOUNDARY
        if not isinstance(ch, str) or len(ch) != 1:
            raise ValueError(
                f"Expected a single character (or None/'' for the boundary), got {ch!r}; "
                "use score() for strings."
            )
        return self._index.get(ch, BOUNDARY if ch.isspace() else UNKNOWN)

    def text_ids(self, text: str) -> list[int]:
        """Ids of the characters of ``text`` (see :meth:`char_id`)."""
        get = self._index.get
        return [get(c, BOUNDARY if c.isspace() else UNKNOWN) for c in text]

    def _bigram_count_ids(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        prev, nxt = np.broadcast_arrays(prev, nxt)
        known = (prev >= 0) & (nxt >= 0)
        if len(self.bigram_keys) == 0:
            return np.zeros(prev.shape, dtype=np.int64)
        keys = np.where(known, prev * (len(self.chars) + 1) + nxt, -1)
        pos = np.searchsorted(self.bigram_keys, keys)
        pos = np.minimum(pos, len(self.bigram_keys) - 1)
        return np.where(known & (self.bigram_keys[pos] == keys), self.bigram_counts[pos], 0)

    def log_prob_ids(self, prev: np.ndarray | int, nxt: np.ndarray | int) -> np.ndarray:
        """Vectorised natural-log ``P(nxt | prev)`` over id arrays (broadcast together; ids
        as in :meth:`char_id`)."""
        prev = np.asarray(prev, dtype=np.int64)
        nxt = np.asarray(nxt, dtype=np.int64)
        v1 = len(self.chars) + 1
        counts = self._bigram_count_ids(prev, nxt)
        context = np.where(prev >= 0, self.unigram_counts[np.maximum(prev, 0)], 0)
        lp = np.log(counts + self.alpha) - np.log(context + self.alpha * v1)
        return np.where((prev == BOUNDARY) & (nxt == BOUNDARY), 0.0, lp)

    def log_prob(self, prev: str | None, ch: str | None) -> float:
        """Natural-log ``P(ch | prev)``, smoothed (always finite). ``None``/``""``/whitespace
        stand for the boundary (boundary → boundary scores 0); other characters outside the
        vocabulary are unknown (see the module docstring)."""
        return float(self.log_prob_ids(self.char_id(prev), self.char_id(ch)))

    def prob(self, prev: str | None, ch: str | None) -> float:
        """``P(ch | prev)`` (see :meth:`log_prob`)."""
        return math.exp(self.log_prob(prev, ch))

    def bigram_count(self, prev: str | None, ch: str | None) -> int:
        """How often ``ch`` followed ``prev`` in the (pruned) counts (0 for unknown characters);
        ``None``/``""``/whitespace stand for the boundary."""
        prev_id = np.asarray(self.char_id(prev), dtype=np.int64)
        return int(self._bigram_count_ids(prev_id, np.asarray(self.char_id(ch), dtype=np.int64)))

    def unigram_count(self, ch: str | None) -> int:
        """How often ``ch`` occurred (for the boundary: the number of segments counted; for
        an unknown character: 0)."""
        i = self.char_id(ch)
        return int(self.unigram_counts[i]) if i >= 0 else 0

    def score(self, text: str) -> float:
        """Natural-log probability of ``text`` as ``<b> text <b>`` (whitespace acts as a
        boundary, characters outside the vocabulary are unknown). The empty string scores 0."""
        ids = np.asarray([0, *self.text_ids(text), 0], dtype=np.int64)
        return float(self.log_prob_ids(ids[:-1], ids[1:]).sum())

    # -- serialization ----------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The model as a compressed ``.npz`` archive of plain numeric arrays (no pickle)."""
        counts = self.bigram_counts
        if len(counts) == 0 or counts.max() <= np.iinfo(np.int32).max:
            counts = counts.astype(np.int32)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            format=np.asarray([FORMAT_VERSION], dtype=np.int64),
            alpha=np.asarray(self.alpha, dtype=np.float64),
            chars=np.asarray([ord(c) for c in self.chars], dtype=np.uint32),
            unigram_counts=self.unigram_counts,
            bigram_keys=self.bigram_keys,
            bigram_counts=counts,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, path: str | Path | None = None) -> BigramLM:
        """Read a model written by :meth:`to_bytes`. Never unpickles: an archive holding an
        object array (or anything but the expected numeric arrays) raises
        :class:`~spacy_kexue.errors.DataFileError` (naming ``path`` when given)."""

        def bad(message: str) -> DataFileError:
            return DataFileError(
                message + " Rebuild the language model (BigramLM.build ... to_disk).",
                path=path if path is not None else "<language model bytes>",
            )

        if bytes(data[:4]) != b"PK\x03\x04":  # np.load would read anything else as .npy
            raise bad("is not a BigramLM file (not an .npz archive).")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                total = sum(info.file_size for info in zf.infolist())
        except Exception as err:  # BadZipFile, NotImplementedError (zip version), ...
            raise bad(
                f"is damaged, or not a BigramLM file ({type(err).__name__}: {err})."
            ) from None
        if total > _MAX_UNCOMPRESSED:
            raise bad(f"would inflate to {total} bytes, more than a language model needs.")
        arrays: dict[str, np.ndarray] = {}
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                for name in npz.files:
                    value = npz[name]
                    if not isinstance(value, np.ndarray) or value.dtype.hasobject:
                        raise bad(f"member {name!r} is not a plain numeric array.")
                    arrays[name] = value
        except DataFileError:
            raise
        except ValueError as err:
            # numpy: "Object arrays cannot be loaded when allow_pickle=False"
            raise bad(
                f"holds data that would need unpickling ({err}); refused: model files hold "
                "plain numeric arrays only."
            ) from None
        except Exception as err:  # a damaged archive raises all sorts of things (zlib.error,
            # NotImplementedError for an unknown compression method, RuntimeError for the
            # encryption flag, ...)
            raise bad(f"is damaged ({type(err).__name__}: {err}).") from None
        missing = [name for name in _REQUIRED if name not in arrays]
        if missing:
            raise bad(f"is not a BigramLM file (missing {', '.join(missing)}).")
        version = arrays["format"]
        if (
            version.shape != (1,)
            or version.dtype.kind not in "iu"
            or int(version[0]) != FORMAT_VERSION
        ):
            raise bad(
                f"has format {version.tolist()!r}; this version of spacy-kexue reads format "
                f"{FORMAT_VERSION}."
            )
        alpha, chars = arrays["alpha"], arrays["chars"]
        if alpha.shape != () or alpha.dtype.kind != "f":
            raise bad("has a malformed 'alpha' (expected a float scalar).")
        if chars.ndim != 1 or chars.dtype.kind not in "iu":
            raise bad("has a malformed 'chars' (expected 1-d integer code points).")
        if len(chars) and (chars.min() < 0 or chars.max() >= _MAX_CODEPOINT):
            raise bad("has code points outside Unicode in 'chars'.")
        try:
            return cls(
                [chr(int(c)) for c in chars],
                arrays["unigram_counts"],
                arrays["bigram_keys"],
                arrays["bigram_counts"],
                alpha=float(alpha),
            )
        except ValueError as err:
            raise bad(f"is inconsistent: {err}") from None

    def to_disk(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to the file ``path`` (conventionally ``lm.npz``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())

    @classmethod
    def from_disk(cls, path: str | Path) -> BigramLM:
        """Read a file written by :meth:`to_disk`; problems raise DataFileError naming it."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataFileError(
                "does not exist; build the language model first (BigramLM.build ... to_disk).",
                path=path,
            ) from None
        except OSError as err:
            raise DataFileError(f"cannot be read ({err.strerror}).", path=path) from None
        return cls.from_bytes(data, path=path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BigramLM):
            return NotImplemented
        return (
            self.chars == other.chars
            and self.alpha == other.alpha
            and np.array_equal(self.unigram_counts, other.unigram_counts)
            and np.array_equal(self.bigram_keys, other.bigram_keys)
            and np.array_equal(self.bigram_counts, other.bigram_counts)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BigramLM(vocab_size={self.vocab_size}, n_bigrams={self.n_bigrams}, alpha={self.alpha})"


# -- decoding -------------------------------------------------------------------


def _top_candidates(
    candidates: Sequence[Sequence[tuple[str, float]]], top_k: int
) -> Iterator[tuple[list[str], list[float]]]:
    for i, position in enumerate(candidates):
        items = list(position)
        if not items:
            raise ValueError(
                f"Position {i} has no candidates; give a fixed position (a space, an unknown "
                "glyph) a single candidate such as (' ', 1.0)."
            )
        for item in items:
            if (
                not isinstance(item, (tuple, list))
                or len(item) != 2
                or not isinstance(item[0], str)
            ):
                raise ValueError(
                    f"Position {i}: candidates must be (str, probability) pairs, got {item!r}."
                )
            p = float(item[1])
            if not (0.0 <= p <= 1.0 + 1e-6):
                raise ValueError(
                    f"Position {i}: probability of {item[0]!r} is {item[1]!r}; expected a value in "
                    "[0, 1] (pass probabilities, not logits or log-probabilities)."
                )
        items.sort(key=lambda item: -float(item[1]))  # stable: ties keep the given order
        items = items[:top_k]
        yield [s for s, _ in items], [float(p) for _, p in items]


def viterbi(
    candidates: Sequence[Sequence[tuple[str, float]]],
    lm: BigramLM | None,
    *,
    lm_weight: float = 1.0,
    top_k: int = 3,
) -> list[str]:
    """The best reading of a line: one candidate string per position.

    Maximises ``Σ_i log W(s_i) + lm_weight · log P(<b> s_1 ... s_n <b>)`` over each
    position's ``top_k`` most probable candidates (W = the classifier's probability,
    floored at :data:`MIN_PROB`), in O(n·k²). The LM term is exactly
    ``lm.score("".join(s))``: whitespace candidates act as boundaries, characters outside
    the LM's vocabulary are scored as never-seen characters, a candidate of several
    characters is scored through its characters, and an empty candidate (a dropped glyph)
    acts as a boundary. A "fixed" position is a list with
    one candidate. ``lm=None`` or ``lm_weight=0`` takes each position's most probable
    candidate. Ties go to the earlier (more probable) candidate. Empty input gives ``[]``.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")
    lm_weight = float(lm_weight)
    if not (math.isfinite(lm_weight) and lm_weight >= 0):
        raise ValueError(f"lm_weight must be a finite number >= 0, got {lm_weight}.")
    positions = list(_top_candidates(candidates, top_k))
    n = len(positions)
    if n == 0:
        return []
    if lm is None or lm_weight == 0.0:
        return [strings[0] for strings, _ in positions]
    width = max(len(strings) for strings, _ in positions)
    emit = np.full((n, width), -np.inf)
    first = np.zeros((n, width), dtype=np.int64)
    last = np.zeros((n, width), dtype=np.int64)
    for i, (strings, probs) in enumerate(positions):
        for j, (s, p) in enumerate(zip(strings, probs, strict=True)):
            ids = lm.text_ids(s) or [0]
            inner = 0.0
            if len(ids) > 1:
                arr = np.asarray(ids, dtype=np.int64)
                inner = float(lm.log_prob_ids(arr[:-1], arr[1:]).sum())
            emit[i, j] = math.log(max(p, MIN_PROB)) + lm_weight * inner
            first[i, j] = ids[0]
            last[i, j] = ids[-1]
    start = lm_weight * lm.log_prob_ids(0, first[0])
    end = lm_weight * lm.log_prob_ids(last[-1], 0)
    trans = lm_weight * lm.log_prob_ids(last[:-1, :, None], first[1:, None, :])  # (n-1, k, k)
    delta = emit[0] + start
    back = np.zeros((n, width), dtype=np.int64)
    cols = np.arange(width)
    for i in range(1, n):
        total = delta[:, None] + trans[i - 1]
        back[i] = np.argmax(total, axis=0)
        delta = total[back[i], cols] + emit[i]
    delta = delta + end
    j = int(np.argmax(delta))
    path = [j]
    for i in range(n - 1, 0, -1):
        j = int(back[i, j])
        path.append(j)
    path.reverse()
    return [positions[i][0][j] for i, j in enumerate(path)]
