"""The registered zh tokenizer: ``spacy_kexue.DictSegmenter.v1``.

Text is first cut by rules (:mod:`.pretok`): runs of Han characters go to the char
tagger, digits, Latin letters, punctuation, whitespace and everything else become
tokens by rule. The tagger scores every Han character over B/M/E/S and a constrained
Viterbi (:mod:`.decode`) reads words off the scores; user-dictionary words are hard
constraints in that Viterbi. At inference a CNN tagger runs from a numpy copy of its weights
(:mod:`.kernels`), and a piece without user words or combining marks goes from its scores to
its words in one compiled call (:func:`._loops.segment_piece`, the same words).
``doc.text == text`` for every str without lone surrogates (those raise
:class:`spacy_kexue.text.LoneSurrogateError`).

Weights are trained by ``kexue segmenter train`` and loaded through
``[initialize.tokenizer] model = "DIR"``; afterwards they travel with the pipeline
(``to_disk``/``to_bytes``, pickling for ``nlp.pipe(n_process=...)``), as tensors in
safetensors format and JSON, with a SHA-256 checksum verified on load
(:mod:`spacy_kexue.integrity`). ``exclude`` takes the names of :data:`SERIALIZATION_PARTS`.
"""

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import srsly
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.util import DummyTokenizer, ensure_path, minibatch, registry
from spacy.vocab import Vocab

from ..errors import DataFileError, KexueError
from ..integrity import (
    check_digest,
    read_file_bytes,
    read_json_file,
    recorded_digest,
    sha256_bytes,
    write_checked,
)
from ..readers import decode_line
from ..text import check_text
from ..torch_util import check_state_dict, install_fork_hook
from ._loops import segment_piece
from .decode import B, S, UserDictionary, boundaries, force_words_mask, viterbi
from .plan import plan_text
from .pretok import attached_positions, has_attached
from .pseudo_sentences import tag_lengths
from .unigram import UnigramSegmenter

WEIGHTS_FILE = "model.safetensors"
CFG_FILE = "cfg.json"
CHARS_FILE = "chars.json"
USER_WORDS_FILE = "user_words.json"
LEXICON_FILE = "lexicon.json"
SETTINGS_FILE = "settings.json"
FORMAT_VERSION = 1

#: The parts ``to_disk``/``to_bytes`` save, by the names their ``exclude`` takes: the settings
#: (settings.json), the user words (user_words.json), the tagger (cfg.json, chars.json and
#: model.safetensors: one part, as cfg.json records the weights' SHA-256) and the word-frequency
#: lexicon (lexicon.json). The tokenizer saves no vocab (``nlp`` does): ``"vocab"``, which
#: ``nlp.to_disk`` passes, excludes nothing.
SERIALIZATION_PARTS = ("settings", "user_words", "model", "lexicon")


class SegmenterNotInitializedError(KexueError, RuntimeError):
    """The segmenter was asked to segment before any weights were loaded."""

    def __init__(self) -> None:
        super().__init__(
            "The KexueSegmenter has no weights. Load a trained pipeline "
            '(spacy.load("zh_kexue_sm")), or set [initialize.tokenizer] model = "DIR" '
            "to a directory written by `kexue segmenter train` and call nlp.initialize()."
        )


class CharTable:
    """Maps characters to the tagger's ids with one numpy lookup (0 = padding, 1 = unknown)."""

    def __init__(self, chars: list[str]):
        self.chars = list(chars)
        size = max((ord(c) for c in self.chars), default=0) + 1
        self.table = np.ones(size, dtype=np.int64)
        for i, c in enumerate(self.chars):
            self.table[ord(c)] = i + 2

    def __len__(self) -> int:
        return len(self.chars) + 2

    def ids(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters, an int64 array of ``len(text)``."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        return np.where(
            codes < len(self.table), self.table[np.minimum(codes, len(self.table) - 1)], 1
        )

    def encode(self, pieces: list[str]) -> np.ndarray:
        """A (len(pieces), max_len) int64 array of ids, zero-padded."""
        lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
        width = int(lengths.max()) if len(pieces) else 0
        out = np.zeros((len(pieces), width), dtype=np.int64)
        if not width:
            return out
        ids = self.ids("".join(pieces))
        rows = np.repeat(np.arange(len(pieces)), lengths)
        starts = np.cumsum(lengths) - lengths
        cols = np.arange(len(ids)) - np.repeat(starts, lengths)
        out[rows, cols] = ids
        return out


class KexueSegmenter(DummyTokenizer):
    """spaCy tokenizer segmenting Chinese with a dictionary-trained char tagger."""

    def __init__(
        self,
        vocab: Vocab,
        *,
        number_units: str = "年月日时分秒",
        max_chunk: int = 128,
        batch_chars: int = 32768,
        dictionary_weight: float = 4.0,
    ):
        self.vocab = vocab
        self.dictionary_weight = float(dictionary_weight)
        self.lexicon: UnigramSegmenter | None = None
        self.number_units = frozenset(number_units)
        self.max_chunk = max_chunk
        self.batch_chars = batch_chars
        self.user_words = UserDictionary()
        self.chars = CharTable([])
        self.model_cfg: dict[str, Any] = {}
        self.tagger = None  # the bare torch module, built from model_cfg

    @property
    def tagger(self) -> Any:
        """The char tagger, a torch module (None before weights are loaded). Inference of a CNN
        tagger runs on a numpy copy of its weights (:mod:`.kernels`), made when the tagger is
        set: after changing its weights in place, set it again (``seg.tagger = seg.tagger``)."""
        return self._tagger

    @tagger.setter
    def tagger(self, module: Any) -> None:
        self._tagger = module
        self._kernel = None
        if module is not None:
            from .kernels import NumpyCNNTagger
            from .nets import CNNTagger  # torch is loaded: there is a module

            if isinstance(module, CNNTagger):
                self._kernel = NumpyCNNTagger.from_module(module)

    @property
    def max_chunk(self) -> int:
        """Han runs longer than this are tagged in pieces of at most this many characters."""
        return self._max_chunk

    @max_chunk.setter
    def max_chunk(self, value: int) -> None:
        self._max_chunk = _positive_int("max_chunk", value)

    @property
    def batch_chars(self) -> int:
        """About this many characters are tagged in one forward pass."""
        return self._batch_chars

    @batch_chars.setter
    def batch_chars(self, value: int) -> None:
        self._batch_chars = _positive_int("batch_chars", value)

    # ------------------------------------------------------------------ API
    def __call__(self, text: str) -> Doc:
        return self._segment_batch([text])[0]

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """Segment a stream of texts, tagging the Han runs of a whole batch at once."""
        for batch in minibatch(texts, size=batch_size):
            yield from self._segment_batch(list(batch))

    def pipe_words(
        self, texts: Iterable[str], batch_size: int = 1000
    ) -> Iterator[tuple[list[str], list[bool]]]:
        """The words and spaces of each text (what :meth:`pipe` makes its Docs of), without
        making Docs: for segmentation-only jobs such as ``kexue segment``."""
        for batch in minibatch(texts, size=batch_size):
            yield from self._words_batch(list(batch))

    def add_words(self, words: Iterable[str]) -> None:
        """Force ``words`` to come out as single tokens wherever they occur (no retraining)."""
        words = [words] if isinstance(words, str) else list(words)
        for word in words:
            if not isinstance(word, str) or not word or any(ch.isspace() for ch in word):
                raise ValueError(
                    f"User words must be non-empty strings without whitespace, got {word!r}"
                )
            check_text(word)
        self.user_words.add(words)

    def load_user_dict(self, path: str | Path) -> None:
        """Add the words of a user dictionary file: one word a line (anything after the first
        whitespace, such as a count or a tag, is ignored; blank lines and ``#`` comments skipped)."""
        path = ensure_path(path)
        raw = read_file_bytes(path, "the user dictionary", hint="check the path")
        words = []
        for lineno, line in enumerate(raw.splitlines(), start=1):
            text = decode_line(line, lineno, path)
            if "\x00" in text:
                raise DataFileError(
                    "holds NUL bytes; is this a binary file?", path=path, line=lineno
                )
            text = text.strip()
            if text and not text.startswith("#"):
                words.append(text.split()[0])
        self.add_words(words)

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]] | None = None,
        *,
        nlp: Language | None = None,
        model: str | Path | None = None,
        user_dict: str | Path | None = None,
        pkuseg_model: str | None = None,
        pkuseg_user_dict: str | None = "default",
    ) -> None:
        """Load trained weights from ``model`` (a directory written by ``kexue segmenter
        train``) and the words of ``user_dict``; set them under ``[initialize.tokenizer]``.

        ``pkuseg_model`` and ``pkuseg_user_dict`` exist only because spaCy's zh defaults put
        them into every zh config's ``[initialize.tokenizer]``; they must stay unset.
        """
        if pkuseg_model is not None or pkuseg_user_dict not in (None, "default"):
            raise ValueError(
                "[initialize.tokenizer] pkuseg_model / pkuseg_user_dict are for spaCy's own "
                "spacy.zh.ChineseTokenizer; with spacy_kexue.DictSegmenter.v1 use model and user_dict."
            )
        if model is not None:
            self.load_model(model)
        if user_dict is not None:
            self.load_user_dict(user_dict)

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        validate_examples(examples, "KexueSegmenter.score")
        return Scorer.score_tokenization(examples)

    # ------------------------------------------------------------ segmenting
    def _segment_batch(self, texts: list[str]) -> list[Doc]:
        return [
            Doc(self.vocab, words=words, spaces=spaces)
            for words, spaces in self._words_batch(texts)
        ]

    def _words_batch(self, texts: list[str]) -> list[tuple[list[str], list[bool]]]:
        plans = []
        pieces: list[str] = []
        for text in texts:
            check_text(text)
            plans.append(plan_text(text, self.max_chunk, self.user_words, pieces))
        words_of_piece = self._segment_pieces(pieces)
        return [
            self._words(text, plan, words_of_piece) for text, plan in zip(texts, plans, strict=True)
        ]

    def _words(
        self, text: str, plan: list, words_of_piece: list[list[str]]
    ) -> tuple[list[str], list[bool]]:
        words: list[str] = []
        spaces: list[bool] = []
        prev_kind = None
        for kind, a, b in plan:
            if kind == "han":
                new = [w for i in range(a, b) for w in words_of_piece[i]]
                if prev_kind == "num" and len(new[0]) == 1 and new[0] in self.number_units:
                    words[-1] += new[0]
                    new = new[1:]
                words.extend(new)
                spaces.extend([False] * len(new))
            elif kind == "space":
                run = text[a:b]
                if words and not spaces[-1] and run[0] == " " and prev_kind != "space":
                    spaces[-1] = True
                    run = run[1:]
                if run:
                    words.append(run)
                    spaces.append(False)
            else:
                words.append(text[a:b])
                spaces.append(False)
            prev_kind = kind
        return words, spaces

    def _segment_pieces(self, pieces: list[str]) -> list[list[str]]:
        """Words of each Han piece, tagging pieces in length-sorted batches."""
        result: list[list[str]] = [[p] if len(p) == 1 else [] for p in pieces]
        todo = [i for i, p in enumerate(pieces) if len(p) > 1]
        if not todo:
            return result
        if self.tagger is None and self.lexicon is None:
            raise SegmenterNotInitializedError()
        if self._kernel is not None and not len(self.user_words):
            todo = self._segment_unconstrained(pieces, todo, result)

        todo.sort(key=lambda i: len(pieces[i]))
        start = 0
        while start < len(todo):
            end = start + 1
            while (
                end < len(todo) and (end - start + 1) * len(pieces[todo[end]]) <= self.batch_chars
            ):
                end += 1
            batch = [pieces[i] for i in todo[start:end]]
            lengths = np.fromiter((len(p) for p in batch), dtype=np.int64, count=len(batch))
            scores = self._tag_scores(batch, int(lengths.max()))
            if self.lexicon is not None and (self.dictionary_weight or self.tagger is None):
                self._add_dictionary_path(scores, batch, lengths)
            tags = viterbi(scores, lengths, self._constraints(batch, scores.shape[1]))
            starts = boundaries(tags, lengths)
            for row, i in enumerate(todo[start:end]):
                piece = pieces[i]
                cuts = [*np.flatnonzero(starts[row]).tolist(), len(piece)]
                result[i] = [piece[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            start = end
        return result

    def _segment_unconstrained(
        self, pieces: list[str], todo: list[int], result: list[list[str]]
    ) -> list[int]:
        """The common case, one piece at a time in compiled code: a CNN tagger, no user words
        and no combining mark in the piece (:func:`._loops.segment_piece`: the same words as the
        batched path below). Fills ``result`` and returns the pieces left to that path."""
        vote = self.lexicon is not None and bool(self.dictionary_weight)
        table = self.lexicon.route_table() if vote else None
        groups: list[list[int]] = [[]]
        size = 0
        for i in todo:  # at most batch_chars characters a forward pass
            if groups[-1] and size + len(pieces[i]) > self.batch_chars:
                groups.append([])
                size = 0
            groups[-1].append(i)
            size += len(pieces[i])
        left = []
        for group in groups:
            batch = [pieces[j] for j in group]
            logits, starts = self._kernel.tag_pieces(batch, self.chars)
            for j, piece, start in zip(group, batch, starts, strict=True):
                if has_attached(piece):
                    left.append(j)
                    continue
                scores = logits[start : start + len(piece)]
                result[j] = segment_piece(piece, scores, table, self.dictionary_weight)
        return left

    def _tag_scores(self, batch: list[str], width: int) -> np.ndarray:
        """The tagger's log-probabilities (batch, width, 4); zeros without a tagger, which
        leaves the decision to the lexicon (a pure max-probability dictionary segmenter)."""
        if self.tagger is None:
            return np.zeros((len(batch), width, 4), dtype=np.float32)
        if self._kernel is not None:
            logits, starts = self._kernel.tag_pieces(batch, self.chars)
            scores = np.zeros((len(batch), width, 4), dtype=np.float32)
            for i, (piece, start) in enumerate(zip(batch, starts, strict=True)):
                scores[i, : len(piece)] = logits[start : start + len(piece)]
            return scores
        import torch

        install_fork_hook()
        with torch.inference_mode():
            return self.tagger(torch.from_numpy(self.chars.encode(batch))).numpy()

    def _add_dictionary_path(
        self, scores: np.ndarray, batch: list[str], lengths: np.ndarray
    ) -> None:
        """Add ``dictionary_weight`` to the score of each character's tag on the lexicon's
        maximum-probability path (a soft vote of the dictionary in the Viterbi; 1 when there
        is no tagger)."""
        weight = self.dictionary_weight if self.tagger is not None else 1.0
        word_lengths = [len(w) for piece in batch for w in self.lexicon.segment(piece)]
        tags = tag_lengths(np.asarray(word_lengths, dtype=np.int64))
        rows = np.repeat(np.arange(len(batch)), lengths)
        cols = np.arange(len(tags)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        scores[rows, cols, tags] += weight

    def _constraints(self, batch: list[str], width: int) -> np.ndarray | None:
        """Hard constraints for the Viterbi: user words are whole words, and no word starts
        at a combining mark or variation selector (it stays with its base character)."""
        allowed = force_words_mask(batch, width, self.user_words) if len(self.user_words) else None
        for row, piece in enumerate(batch):
            positions = attached_positions(piece)
            if positions:
                if allowed is None:
                    allowed = np.ones((len(batch), width, 4), dtype=bool)
                allowed[row, positions, B] = False
                allowed[row, positions, S] = False
        return allowed

    # --------------------------------------------------------------- weights
    def load_model(self, path: str | Path) -> None:
        """Load a trained tagger directory (cfg.json, chars.json, model.safetensors; the
        lexicon.json and user_words.json in it too)."""
        path = ensure_path(path)
        if not path.is_dir():
            raise DataFileError(
                "is not a segmenter model directory; train one with `kexue segmenter train`.",
                path=path,
            )
        self._read_model(path)
        self._read_lexicon(path, reset=True)
        self._read_user_words(path)

    def save_model(self, path: str | Path) -> None:
        """Write what :meth:`load_model` reads: cfg.json (with the weights' SHA-256),
        chars.json and model.safetensors for the tagger, lexicon.json for the lexicon."""
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        self._write_model(path)
        self._write_lexicon(path)

    def _write_model(self, path: Path) -> None:
        if self.tagger is not None:
            digest = write_checked(path / WEIGHTS_FILE, self._weights_bytes())
            srsly.write_json(path / CFG_FILE, dict(self.model_cfg, sha256=digest))
            srsly.write_json(path / CHARS_FILE, self.chars.chars)

    def _read_model(self, path: Path) -> None:
        cfg_file, weights_file = path / CFG_FILE, path / WEIGHTS_FILE
        cfg = read_json_file(cfg_file, expect=None)
        chars = read_json_file(path / CHARS_FILE, expect=None)
        weights = read_file_bytes(weights_file, "the weights")
        self._set_model(cfg, chars, weights, source=weights_file, record=cfg_file)

    def _set_model(
        self, cfg: dict, chars: list, weights: bytes, *, source: Any, record: Any = None
    ) -> None:
        """Take the tagger described by ``cfg`` (read from ``record``, default ``source``) with
        ``chars`` and the ``weights`` read from ``source``, verified against the SHA-256 that
        ``cfg`` records (every version that wrote weights recorded it; without one they are
        taken unchecked)."""
        from safetensors.torch import load as load_tensors

        from .nets import build_torch_tagger

        if not isinstance(cfg, dict):
            raise DataFileError(
                f"the model's {CFG_FILE} must hold a JSON object, found {type(cfg).__name__}.",
                path=source,
            )
        recorded = recorded_digest(cfg, "sha256", path=source if record is None else record)
        digest = check_digest(source, weights, recorded)
        if not isinstance(chars, list) or not all(
            isinstance(c, str) and len(c) == 1 for c in chars
        ):
            raise DataFileError(
                "the character list must be a JSON list of single characters.", path=source
            )
        try:
            state = load_tensors(weights)
        except Exception as err:  # safetensors raises its own SafetensorError on bad files
            raise DataFileError(f"not a valid safetensors file ({err}).", path=source) from None
        try:
            tagger = build_torch_tagger(cfg["arch"], len(chars) + 2, **cfg["settings"])
            check_state_dict(state, tagger.state_dict())
            tagger.load_state_dict(state, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise DataFileError(
                f"the weights do not fit the model described in {CFG_FILE} ({err}).", path=source
            ) from None
        tagger.eval()
        self.tagger = tagger
        self.chars = CharTable(chars)
        self.model_cfg = dict(cfg, sha256=digest)

    def _weights_bytes(self) -> bytes:
        from safetensors.torch import save as save_tensors

        state = {k: v.detach().contiguous() for k, v in self.tagger.state_dict().items()}
        return save_tensors(state)

    def _write_lexicon(self, path: Path) -> None:
        if self.lexicon is not None:
            srsly.write_json(path / LEXICON_FILE, self.lexicon.to_json())

    def _read_lexicon(self, path: Path, *, reset: bool) -> None:
        """The lexicon in ``path``'s lexicon.json; without the file, none (``reset``) or the
        current one stays."""
        lexicon = path / LEXICON_FILE
        if lexicon.exists():
            self.lexicon = UnigramSegmenter.from_json(read_json_file(lexicon, expect=None), lexicon)
        elif reset:
            self.lexicon = None

    # --------------------------------------------------------- serialization
    # A saved tokenizer is made of the parts in SERIALIZATION_PARTS, and ``exclude`` takes their
    # names as spaCy's serializer dicts do (spacy.util.to_disk, Tokenizer.to_bytes): an excluded
    # part is neither written nor read, and keeps its current value on load.

    def _settings(self) -> dict[str, Any]:
        return {
            "number_units": "".join(sorted(self.number_units)),
            "max_chunk": self.max_chunk,
            "batch_chars": self.batch_chars,
            "dictionary_weight": self.dictionary_weight,
            "format": FORMAT_VERSION,
        }

    def _apply_settings(self, settings: Any, source: Any = "<bytes>") -> None:
        """Take the settings :meth:`_settings` wrote; anything else is a DataFileError naming
        ``source``."""
        try:
            if not isinstance(settings, dict):
                raise TypeError(f"expected a JSON object, found {type(settings).__name__}")
            number_units = settings.get("number_units", "")
            if not isinstance(number_units, str):
                raise TypeError(f"number_units must be a string, got {number_units!r}")
            max_chunk = _positive_int("max_chunk", settings.get("max_chunk", self.max_chunk))
            batch_chars = _positive_int(
                "batch_chars", settings.get("batch_chars", self.batch_chars)
            )
            weight = settings.get("dictionary_weight", self.dictionary_weight)
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise TypeError(f"dictionary_weight must be a number, got {weight!r}")
        except (TypeError, ValueError) as err:
            raise DataFileError(
                f"holds tokenizer settings this version cannot use ({err}).", path=source
            ) from None
        self.number_units = frozenset(number_units)
        self.max_chunk, self.batch_chars = max_chunk, batch_chars
        self.dictionary_weight = float(weight)

    def _read_settings(self, path: Path) -> None:
        settings = path / SETTINGS_FILE
        if settings.exists():
            self._apply_settings(read_json_file(settings, expect=None), settings)

    def _set_user_words(self, words: Any, source: Any) -> None:
        if not isinstance(words, list):
            raise DataFileError(
                f"must hold a JSON list of user words, found {type(words).__name__}.", path=source
            )
        self.user_words = UserDictionary()
        try:
            self.add_words(words)
        except ValueError as err:
            raise DataFileError(str(err), path=source) from None

    def _read_user_words(self, path: Path) -> None:
        user_words = path / USER_WORDS_FILE
        if user_words.exists():
            self._set_user_words(read_json_file(user_words, expect=None), user_words)

    def _model_msg(self) -> dict[str, Any]:
        if self.tagger is None:
            return {}
        weights = self._weights_bytes()
        return {
            "model_cfg": dict(self.model_cfg, sha256=sha256_bytes(weights)),
            "chars": self.chars.chars,
            "weights": weights,
        }

    def _model_from_msg(self, msg: dict[str, Any]) -> None:
        if "weights" in msg:
            self._set_model(msg["model_cfg"], msg["chars"], msg["weights"], source="<bytes>")

    def _lexicon_from_msg(self, msg: dict[str, Any]) -> None:
        lexicon = msg.get("lexicon")
        self.lexicon = (
            UnigramSegmenter.from_json(lexicon, "<bytes>") if lexicon is not None else None
        )

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """The tokenizer as msgpack bytes; ``exclude``: names of SERIALIZATION_PARTS to leave out."""
        msg: dict[str, Any] = {}
        serializers = {
            "settings": lambda: {"settings": self._settings()},
            "user_words": lambda: {"user_words": self.user_words.to_list()},
            "model": self._model_msg,
            "lexicon": lambda: {} if self.lexicon is None else {"lexicon": self.lexicon.to_json()},
        }
        for fragment in _each_part(serializers, exclude):
            msg.update(fragment)
        return srsly.msgpack_dumps(msg)

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()
    ) -> "KexueSegmenter":
        """Load what :meth:`to_bytes` wrote; the parts named in ``exclude`` stay as they are."""
        msg = srsly.msgpack_loads(bytes_data)
        deserializers = {
            "settings": lambda: self._apply_settings(msg.get("settings", {})),
            "user_words": lambda: self._set_user_words(msg.get("user_words", []), "<bytes>"),
            "model": lambda: self._model_from_msg(msg),
            "lexicon": lambda: self._lexicon_from_msg(msg),
        }
        _each_part(deserializers, exclude)
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = tuple()) -> None:
        """Write the tokenizer's files into folder ``path``: settings.json, user_words.json,
        the tagger's cfg.json, chars.json and model.safetensors, lexicon.json (when there is
        a tagger, a lexicon); ``exclude``: names of SERIALIZATION_PARTS not to write."""
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        serializers = {
            "settings": lambda: srsly.write_json(path / SETTINGS_FILE, self._settings()),
            "user_words": lambda: srsly.write_json(
                path / USER_WORDS_FILE, self.user_words.to_list()
            ),
            "model": lambda: self._write_model(path),
            "lexicon": lambda: self._write_lexicon(path),
        }
        _each_part(serializers, exclude)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = tuple()) -> "KexueSegmenter":
        """Load a folder written by :meth:`to_disk` (or a trained tagger's, as
        :meth:`load_model`); the parts named in ``exclude`` stay as they are."""
        path = ensure_path(path)
        # a folder with a tagger is a whole save: without lexicon.json it has no lexicon
        saved_tagger = (path / WEIGHTS_FILE).exists()
        deserializers = {
            "settings": lambda: self._read_settings(path),
            "model": lambda: self._read_model(path) if saved_tagger else None,
            "lexicon": lambda: self._read_lexicon(path, reset=saved_tagger),
            "user_words": lambda: self._read_user_words(path),
        }
        _each_part(deserializers, exclude)
        return self

    def __reduce__(self):
        return (_rebuild_segmenter, (self.vocab, self.to_bytes()))


def _rebuild_segmenter(vocab: Vocab, data: bytes) -> "KexueSegmenter":
    return KexueSegmenter(vocab).from_bytes(data)


def _each_part(actions: dict[str, Callable[[], Any]], exclude: Iterable[str]) -> list[Any]:
    """Run the action of each part not named in ``exclude``, in order, and return what they
    returned: the rule of spacy.util.to_disk / from_disk / to_bytes."""
    exclude = set(exclude)
    return [action() for part, action in actions.items() if part not in exclude]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


@registry.tokenizers("spacy_kexue.DictSegmenter.v1")
def create_dict_segmenter(
    number_units: str = "年月日时分秒",
    max_chunk: int = 128,
    batch_chars: int = 32768,
    dictionary_weight: float = 4.0,
) -> Callable[[Language], KexueSegmenter]:
    """The dictionary-trained segmenter as a zh tokenizer.

    number_units: a digit run followed by one of these characters is one token
        (PKU standard: ``2001年``, ``12月``); empty to keep digits apart.
    max_chunk: Han runs longer than this are tagged in pieces of this many characters.
    batch_chars: how many characters the tagger sees per forward pass.
    dictionary_weight: how much the training dictionary's maximum-probability path adds
        to the tagger's log-probabilities before the Viterbi (0: the tagger alone). The
        default, 4.0, was chosen on the dev set.
    """

    def segmenter_factory(nlp: Language) -> "KexueSegmenter":
        return KexueSegmenter(
            nlp.vocab,
            number_units=number_units,
            max_chunk=max_chunk,
            batch_chars=batch_chars,
            dictionary_weight=dictionary_weight,
        )

    return segmenter_factory
