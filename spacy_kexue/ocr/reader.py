"""The OCR reader: image -> lines -> character boxes -> recogniser -> language model -> text.

:class:`OCRReader` ties the parts together (METHODS.md, section 5):

1. :func:`~spacy_kexue.ocr.imageio.load_image` (paths, bytes, file objects, PIL images, arrays;
   a pixel limit against decompression bombs);
2. the layout (default :class:`~spacy_kexue.ocr.layout.ProjectionLayout`): lines and character
   boxes;
3. each character cut out as ink intensity (0 = the line's paper, 255 = its ink, whatever the
   colours) and normalised by the line's em (:func:`~spacy_kexue.ocr.glyph.normalize_em`, the
   normalisation the recogniser was trained with). The em is estimated from the line's
   ideographs: their ink spans :data:`HANZI_BAND` of the em box in the allowed fonts;
4. the :class:`~spacy_kexue.ocr.model.Recognizer`'s top-k candidates per character;
5. full-width or ASCII punctuation (``，`` or ``,``, ``（`` or ``(``...), which look alike, chosen
   by the space the mark takes in the line (:data:`WIDTH_PAIRS`, :func:`cell_width`);
6. optionally the character bigram LM's Viterbi correction over the candidates
   (:func:`~spacy_kexue.ocr.lm.viterbi`);
7. spaces only between two Latin letters or digits that the layout saw a word gap between.

:meth:`OCRReader.read` returns an :class:`OCRResult` (text, lines, characters with boxes and
confidences); :meth:`OCRReader.texts` feeds ``nlp.pipe``; :meth:`OCRReader.to_doc` and
:meth:`OCRReader.docs` give Docs with ``doc._.ocr`` (plain JSON data, so it survives ``DocBin``
and ``n_process``) and ``Token._.bbox``. torch is imported when a reader is first used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from spacy.util import minibatch, registry

from ..errors import DataFileError
from ..integrity import read_checked, read_json_file, recorded_digest, write_checked
from .charset import char_kind
from .glyph import normalize_em
from .imageio import DEFAULT_MAX_PIXELS, load_image
from .layout import Box, Line, ProjectionLayout, to_grey

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

    from .lm import BigramLM
    from .model import Recognizer

__all__ = [
    "DEFAULT_MODEL_DIR",
    "HANZI_BAND",
    "OCRChar",
    "OCRLine",
    "OCRReader",
    "OCRResult",
    "ReaderError",
    "WIDTH_PAIRS",
    "build_ocr_reader",
    "cell_width",
    "load_reader_config",
    "register_extensions",
]

#: Where the shipped recogniser and language model live (installed with the package).
DEFAULT_MODEL_DIR = Path(__file__).parent / "default"
# reader.json records the SHA-256 of lm.npz under this key; from_disk verifies it.
LM_CHECKSUM_KEY = "lm_sha256"
_SETTINGS_FILE = "reader.json"
_LM_FILE = "lm.npz"
_FOLDER_HINT = (
    "an OCR reader folder holds reader.json, recognizer/ and lm.npz, as written by "
    "OCRReader.to_disk()"
)

#: Top and bottom of an ideograph's ink in its em box (em units from the em box's top): the
#: medians over the allowed fonts are 0.02-0.05 and 0.96-1.00.
HANZI_BAND: tuple[float, float] = (0.03, 0.985)

#: Top and bottom of the tallest Latin ink (ascenders, l/h/k) in the em box, for lines without
#: ideographs.
LATIN_BAND: tuple[float, float] = (0.11, 0.90)

#: Full-width mark -> its ASCII look-alike. Once normalised they differ in little but the room
#: they take in the line: a full-width mark sits in a whole em cell. (Curly quotes are not
#: paired with the straight ASCII ones: their shapes differ.)
WIDTH_PAIRS: dict[str, str] = {
    "，": ",",
    "：": ":",
    "；": ";",
    "？": "?",
    "！": "!",
    "（": "(",
    "）": ")",
    "【": "[",
    "】": "]",
    "％": "%",
    "～": "~",
}
#: A mark taking at least this much of an em (ink plus the gaps to its neighbours) is full width,
#: at most :data:`_HALF_MAX` ASCII; in between the recogniser's choice stands.
_FULL_MIN = 0.82
_HALF_MAX = 0.7
_GAP_CAP = 1.0
_OTHER_WIDTH = 0.1


class ReaderError(DataFileError):
    """An OCR reader cannot be built or loaded (missing or bad model files, bad settings).

    ``path`` names the file when there is one (None for settings passed in code)."""


@dataclass
class OCRChar:
    """One recognised character: its text, pixel box ``(x0, y0, x1, y1)`` (half-open) and the
    recogniser's probability for it (after the width rule; the LM may pick a less probable one)."""

    text: str
    box: tuple[int, int, int, int]
    confidence: float

    def to_dict(self) -> dict:
        return {"text": self.text, "box": list(self.box), "confidence": round(self.confidence, 4)}


@dataclass
class OCRLine:
    """One text line: its text (characters and the spaces put between Latin words), box and
    characters (spaces have no entry)."""

    text: str
    box: tuple[int, int, int, int]
    chars: list[OCRChar] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "box": list(self.box),
            "chars": [c.to_dict() for c in self.chars],
        }


@dataclass
class OCRResult:
    """What :meth:`OCRReader.read` returns: the lines joined with ``\\n`` as ``text``."""

    lines: list[OCRLine]
    size: tuple[int, int]  # (width, height) of the image

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def chars(self) -> list[OCRChar]:
        return [c for line in self.lines for c in line.chars]

    def char_boxes(self) -> list[list[int] | None]:
        """One entry per character of :attr:`text`: its box, None for spaces and line breaks."""
        out: list[list[int] | None] = []
        for i, line in enumerate(self.lines):
            if i:
                out.append(None)
            chars = iter(line.chars)
            for ch in line.text:
                out.append(None if ch == " " else list(next(chars).box))
        return out

    def to_dict(self) -> dict:
        """JSON-friendly: ``text``, ``size``, ``lines`` and ``char_boxes`` (aligned with text)."""
        return {
            "text": self.text,
            "size": list(self.size),
            "lines": [line.to_dict() for line in self.lines],
            "char_boxes": self.char_boxes(),
        }


def cell_width(boxes: list[Box], i: int, em: float) -> float | None:
    """The room character ``i`` takes in its line, in em: its ink width plus the white gaps to
    both neighbours (each capped at one em). None at a line end (one gap unknown)."""
    if i == 0 or i + 1 >= len(boxes) or em <= 0:
        return None
    box = boxes[i]
    left = min(max(0, box.x0 - boxes[i - 1].x1), _GAP_CAP * em)
    right = min(max(0, boxes[i + 1].x0 - box.x1), _GAP_CAP * em)
    return (box.width + left + right) / em


def _line_em(line: Line) -> tuple[float, float]:
    """``(em, top)``: the line's font size in pixels and the row of its em boxes' top."""
    h = max(float(line.char_height), 1.0)
    full = [b for b in line.chars if b.height >= 0.85 * h and b.width >= 0.7 * h]
    if full:
        top = float(np.median([b.y0 for b in full]))
        bottom = float(np.median([b.y1 for b in full]))
        em = max(bottom - top, 1.0) / (HANZI_BAND[1] - HANZI_BAND[0])
        return em, top - HANZI_BAND[0] * em
    em = h / (LATIN_BAND[1] - LATIN_BAND[0])
    return em, line.box.y0 - LATIN_BAND[0] * em


def _intensity(grey: np.ndarray, ink: np.ndarray, box: Box) -> np.ndarray:
    """Ink intensity (uint8, 0 = paper, 255 = ink) of the ``box`` region of a line."""
    g = grey[box.y0 : box.y1, box.x0 : box.x1]
    m = ink[box.y0 : box.y1, box.x0 : box.x1]
    if not m.any() or m.all():
        return m.astype(np.uint8) * 255
    fg, bg = float(np.median(g[m])), float(np.median(g[~m]))
    if abs(fg - bg) < 0.05:
        return m.astype(np.uint8) * 255
    level = np.clip((g - bg) / (fg - bg), 0.0, 1.0)
    return np.rint(level * 255).astype(np.uint8)


def _load_recognizer(source: Any) -> Recognizer:
    from .model import Recognizer

    if isinstance(source, Recognizer):
        return source
    return Recognizer.from_disk(source)


def _load_lm(source: Any, sha256: str | None = None) -> BigramLM | None:
    """The LM itself, or read from its file (checked against ``sha256`` when given)."""
    from .lm import BigramLM

    if source is None or isinstance(source, BigramLM):
        return source
    if sha256 is None:
        return BigramLM.from_disk(source)
    path = Path(source)
    return BigramLM.from_bytes(read_checked(path, sha256, "the language model"), path=path)


def _read_settings(folder: Path) -> tuple[dict, str | None]:
    """The settings in a reader folder's reader.json, and the SHA-256 of lm.npz it records
    (None if it records none)."""
    settings_file = folder / _SETTINGS_FILE
    settings = read_json_file(settings_file, hint=_FOLDER_HINT, error=ReaderError)
    recorded = recorded_digest(settings, LM_CHECKSUM_KEY, path=settings_file, error=ReaderError)
    settings.pop(LM_CHECKSUM_KEY, None)
    return settings, recorded


class OCRReader:
    """Read printed Chinese (horizontal lines, plain or coloured background) from images.

    recognizer: a :class:`~spacy_kexue.ocr.model.Recognizer` or its folder (default: the
        shipped one, :data:`DEFAULT_MODEL_DIR`/recognizer).
    lm: a :class:`~spacy_kexue.ocr.lm.BigramLM` or its file (default: the shipped one); None
        with ``use_lm=False`` reads without it.
    layout: a callable image array -> list of :class:`~spacy_kexue.ocr.boxes.Line`
        (default :class:`~spacy_kexue.ocr.layout.ProjectionLayout`).
    use_lm, lm_weight, top_k: the LM correction: on/off, the weight of the LM's log
        probabilities against the recogniser's, candidates per character.
    min_ratio: a candidate goes to the LM only when its probability is at least this fraction
        of the best one's: the LM may then choose between readings the recogniser hesitates
        over, never overrule a confident one. 0 (the default, best on the tuning texts) lets
        every top-k candidate through.
    max_pixels: images with more pixels are refused (decompression bombs); None: no limit.
    """

    def __init__(
        self,
        recognizer: Any = None,
        lm: Any = "default",
        *,
        layout: Callable[[np.ndarray], list[Line]] | None = None,
        use_lm: bool = True,
        lm_weight: float = 0.75,
        top_k: int = 5,
        min_ratio: float = 0.0,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ):
        if not 0.0 <= min_ratio <= 1.0:
            raise ReaderError(f"min_ratio must be in [0, 1], got {min_ratio}.")
        if top_k < 1:
            raise ReaderError(f"top_k must be >= 1, got {top_k}.")
        if not (lm_weight >= 0 and np.isfinite(lm_weight)):
            raise ReaderError(f"lm_weight must be a finite number >= 0, got {lm_weight}.")
        self._recognizer_source = (
            DEFAULT_MODEL_DIR / "recognizer" if recognizer is None else recognizer
        )
        self._lm_source = DEFAULT_MODEL_DIR / "lm.npz" if lm == "default" else lm
        self._lm_sha256 = _read_settings(DEFAULT_MODEL_DIR)[1] if lm == "default" else None
        self._recognizer: Recognizer | None = None
        self._lm: BigramLM | None = None
        self._lm_loaded = False
        self.layout = layout if layout is not None else ProjectionLayout()
        self.use_lm = bool(use_lm)
        self.lm_weight = float(lm_weight)
        self.top_k = int(top_k)
        self.min_ratio = float(min_ratio)
        self.max_pixels = max_pixels

    # --------------------------------------------------------------- the models

    @property
    def recognizer(self) -> Recognizer:
        if self._recognizer is None:
            self._recognizer = _load_recognizer(self._recognizer_source)
        return self._recognizer

    @property
    def lm(self) -> BigramLM | None:
        if not self._lm_loaded:
            self._lm = _load_lm(self._lm_source, self._lm_sha256) if self.use_lm else None
            self._lm_loaded = True
        return self._lm

    # ------------------------------------------------------------------ reading

    def _grey_and_ink(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The grey image and the ink mask (the layout's own when it has an ``ink`` method)."""
        grey = to_grey(image, method=getattr(self.layout, "grey_method", "contrast"))
        layout_ink = getattr(self.layout, "ink", None)
        ink = layout_ink(grey) if callable(layout_ink) else ProjectionLayout().ink(grey)
        return grey, ink

    def glyphs(self, image: np.ndarray, lines: list[Line]) -> np.ndarray:
        """The normalised glyphs (uint8 ``(n, 48, 48)``) of every character box of ``lines``."""
        return self._glyphs(*self._grey_and_ink(image), lines)

    @staticmethod
    def _glyphs(grey: np.ndarray, ink: np.ndarray, lines: list[Line]) -> np.ndarray:
        out = []
        for line in lines:
            em, top = _line_em(line)
            level = _intensity(grey, ink, line.box)
            for b in line.chars:
                crop = level[
                    b.y0 - line.box.y0 : b.y1 - line.box.y0, b.x0 - line.box.x0 : b.x1 - line.box.x0
                ]
                out.append(normalize_em(crop, em_px=em, top_em=(b.y0 - top) / em, threshold=32))
        if not out:
            return np.zeros((0, 48, 48), dtype=np.uint8)
        return np.stack(out)

    def read(self, image: Any) -> OCRResult:
        """Read one image (path, bytes, file object, PIL image or array); see the class doc.

        Unreadable input raises :class:`~spacy_kexue.ocr.imageio.ImageError` naming it; an image
        without text gives an :class:`OCRResult` without lines."""
        arr = load_image(image, max_pixels=self.max_pixels)
        height, width = arr.shape[:2]
        grey, ink = self._grey_and_ink(arr)
        # the ProjectionLayout takes the mask it made (one binarisation per image)
        lines = self.layout(ink if callable(getattr(self.layout, "ink", None)) else arr)
        lines = [line for line in lines if line.chars]
        if not lines:
            return OCRResult(lines=[], size=(width, height))
        probs = self.recognizer.predict(self._glyphs(grey, ink, lines))
        charset = self.recognizer.charset
        k = max(1, min(self.top_k, probs.shape[1]))
        order = _top_ids(probs, min(k + 2, probs.shape[1]))
        out: list[OCRLine] = []
        pos = 0
        for line in lines:
            em, _ = _line_em(line)
            n = len(line.chars)
            raw = [
                [(charset.char(int(j)), float(probs[pos + i, j])) for j in order[pos + i]]
                for i in range(n)
            ]
            candidates = []
            for i in range(n):
                room = cell_width(line.chars, i, em)
                if room is None:  # a line end: the neighbour's kind decides
                    room = _room_from_neighbour(raw, i)
                cands = self._width_rule(raw[i], room)[:k]
                floor = cands[0][1] * self.min_ratio
                candidates.append([c for c in cands if c[1] >= floor] or cands[:1])
            pos += n
            if self.use_lm and self.lm is not None:
                from .lm import viterbi

                chosen = viterbi(candidates, self.lm, lm_weight=self.lm_weight, top_k=k)
            else:
                chosen = [c[0][0] for c in candidates]
            chars = []
            for box, cands, ch in zip(line.chars, candidates, chosen, strict=True):
                conf = dict(cands).get(ch, 0.0)
                chars.append(OCRChar(ch, (box.x0, box.y0, box.x1, box.y1), conf))
            text = _join(chars, line.space_before)
            lb = line.box
            out.append(OCRLine(text=text, box=(lb.x0, lb.y0, lb.x1, lb.y1), chars=chars))
        return OCRResult(lines=out, size=(width, height))

    @staticmethod
    def _width_rule(cands: list[tuple[str, float]], width: float | None) -> list[tuple[str, float]]:
        """Map each candidate to its full-width or ASCII form as the mark's room says (merging
        the probabilities of a pair), best first. A mark of the other width without a
        look-alike (``.`` in a full cell, ``、`` in a narrow one) keeps a tenth of its
        probability."""
        if width is None or _HALF_MAX < width < _FULL_MIN:
            target = None
        else:
            target = "full" if width >= _FULL_MIN else "half"
        merged: dict[str, float] = {}
        for ch, p in cands:
            if target == "half" and ch in WIDTH_PAIRS:
                ch = WIDTH_PAIRS[ch]
            elif target == "full" and ch in _FULL_OF:
                ch = _FULL_OF[ch]
            elif target is not None and _kind(ch) == (
                "punct_ascii" if target == "full" else "punct_full"
            ):
                p *= _OTHER_WIDTH
            merged[ch] = merged.get(ch, 0.0) + p
        return sorted(merged.items(), key=lambda item: -item[1])

    def texts(self, images: Iterable[Any]) -> Iterator[str]:
        """The text of each image, for ``nlp.pipe(reader.texts(paths))``."""
        for image in images:
            yield self.read(image).text

    def to_doc(self, nlp: Language, image: Any) -> Doc:
        """A Doc of the image's text, with ``doc._.ocr`` (:meth:`OCRResult.to_dict`) and
        ``Token._.bbox`` (the union of the token's character boxes)."""
        register_extensions()
        result = self.read(image)
        doc = nlp(result.text)
        doc._.ocr = result.to_dict()
        return doc

    def docs(
        self, nlp: Language, images: Iterable[Any], *, batch_size: int = 32, n_process: int = 1
    ) -> Iterator[Doc]:
        """:meth:`to_doc` for many images through ``nlp.pipe`` (``n_process`` supported: the
        OCR data is attached in this process). In one process the tokenizer runs batched
        across each batch's texts (``nlp.tokenizer.pipe``), then the components."""
        register_extensions()
        results = (self.read(image) for image in images)
        if n_process == 1:
            pairs: Iterable[tuple[Any, OCRResult]] = (
                (doc, result)
                for batch in minibatch(results, size=batch_size)
                for doc, result in zip(
                    nlp.tokenizer.pipe([r.text for r in batch]), batch, strict=True
                )
            )
        else:
            pairs = ((r.text, r) for r in results)
        for doc, result in nlp.pipe(
            pairs, as_tuples=True, batch_size=batch_size, n_process=n_process
        ):
            doc._.ocr = result.to_dict()
            yield doc

    # ------------------------------------------------------------- serialisation

    def settings(self) -> dict:
        return {
            "use_lm": self.use_lm,
            "lm_weight": self.lm_weight,
            "top_k": self.top_k,
            "min_ratio": self.min_ratio,
            "max_pixels": self.max_pixels,
        }

    def _stored_lm(self) -> BigramLM | None:
        """The LM to save or pickle: the loaded one, else read from its source (a reader with
        ``use_lm=False`` keeps its LM for when it is turned on)."""
        return self._lm if self._lm is not None else _load_lm(self._lm_source, self._lm_sha256)

    def to_disk(self, path: str | os.PathLike) -> None:
        """Write ``recognizer/``, ``lm.npz`` (when there is one) and ``reader.json``. The layout
        is not saved: pass it again to :meth:`from_disk` when it is not the default."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.recognizer.to_disk(folder / "recognizer")
        lm = self._stored_lm()
        settings = self.settings()
        if lm is not None:
            settings[LM_CHECKSUM_KEY] = write_checked(folder / _LM_FILE, lm.to_bytes())
        (folder / _SETTINGS_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")

    @classmethod
    def from_disk(cls, path: str | os.PathLike, **overrides: Any) -> OCRReader:
        """Read a folder written by :meth:`to_disk`; keyword arguments override its settings."""
        folder = Path(path)
        settings_file = folder / _SETTINGS_FILE
        settings, recorded = _read_settings(folder)
        if set(settings) - set(cls(lm=None).settings()):
            raise ReaderError(f"holds unexpected settings {settings!r}.", path=settings_file)
        settings.update(overrides)
        lm_file = folder / _LM_FILE
        if recorded is not None and not lm_file.is_file():
            raise ReaderError(
                f"is missing, but {settings_file.name} records its checksum; restore the file, "
                f"or remove {LM_CHECKSUM_KEY} to read without a language model.",
                path=lm_file,
            )
        # the LM is read now (even with use_lm=False, so it can be turned on later), and a
        # damaged file fails here rather than in the first read
        lm = _load_lm(lm_file, recorded) if lm_file.is_file() else None
        recognizer = _load_recognizer(folder / "recognizer")
        try:
            return cls(recognizer, lm, **settings)
        except (TypeError, ValueError) as err:  # ReaderError included: say which file
            raise ReaderError(
                f"holds settings this reader cannot use ({err}).", path=settings_file
            ) from None

    def __reduce__(self):
        lm = self._stored_lm()
        return (
            _reader_from_parts,
            (
                self.recognizer.to_bytes(),
                lm.to_bytes() if lm is not None else None,
                self.layout,
                self.settings(),
            ),
        )


_FULL_OF = {half: full for full, half in WIDTH_PAIRS.items()}


def _top_ids(probs: np.ndarray, k: int) -> np.ndarray:
    """The ids of each row's ``k`` largest probabilities, best first (a partial sort: the
    recogniser has thousands of classes and the reader needs a handful)."""
    part = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(probs, part, axis=1)
    rank = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, rank, axis=1)


def _kind(ch: str) -> str | None:
    """:func:`~spacy_kexue.ocr.charset.char_kind` of a recognised character; None for an empty
    string or a character without a kind (whitespace)."""
    if len(ch) != 1 or ch.isspace():
        return None
    try:
        return char_kind(ch)
    except ValueError:
        return None


def _room_from_neighbour(raw: list[list[tuple[str, float]]], i: int) -> float | None:
    """At a line end the room of a mark is unknown: full width (1.0) next to an ideograph or a
    full-width mark, ASCII (0.0) next to a Latin letter, digit or ASCII mark, else None."""
    j = i - 1 if i > 0 else i + 1
    if not 0 <= j < len(raw) or not raw[j]:
        return None
    kind = _kind(raw[j][0][0])
    if kind in ("cjk", "punct_full"):
        return 1.0
    if kind in ("latin", "digit", "punct_ascii"):
        return 0.0
    return None


def _join(chars: list[OCRChar], space_before: list[bool]) -> str:
    parts: list[str] = []
    for i, c in enumerate(chars):
        if (
            i
            and space_before[i]
            and _kind(chars[i - 1].text[-1:]) in ("latin", "digit")
            and _kind(c.text[:1]) in ("latin", "digit")
        ):
            parts.append(" ")
        parts.append(c.text)
    return "".join(parts)


def _reader_from_parts(recognizer: bytes, lm: bytes | None, layout: Any, settings: dict):
    from .lm import BigramLM
    from .model import Recognizer

    return OCRReader(
        Recognizer.from_bytes(recognizer),
        BigramLM.from_bytes(lm) if lm is not None else None,
        layout=layout,
        **settings,
    )


@registry.misc("spacy_kexue.OCRReader.v1")
def build_ocr_reader(
    recognizer: str | None = None,
    lm: str | None = "default",
    layout: Callable[[np.ndarray], list[Line]] | None = None,
    use_lm: bool = True,
    lm_weight: float = 0.75,
    top_k: int = 5,
    min_ratio: float = 0.0,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> OCRReader:
    """``spacy_kexue.OCRReader.v1`` (misc registry): an :class:`OCRReader` from a config.

    recognizer: a recogniser folder (None: the shipped one). lm: an LM file, ``"default"`` (the
    shipped one) or None. layout: e.g. ``{"@misc": "spacy_kexue.ProjectionLayout.v1"}``. The
    rest are :class:`OCRReader`'s settings.
    """
    return OCRReader(
        recognizer,
        lm,
        layout=layout,
        use_lm=use_lm,
        lm_weight=lm_weight,
        top_k=top_k,
        min_ratio=min_ratio,
        max_pixels=max_pixels,
    )


def load_reader_config(path: str | os.PathLike, overrides: dict | None = None) -> OCRReader:
    """The ``[reader]`` block of a config file (e.g. ``configs/ocr.cfg``), resolved."""
    from spacy.util import load_config, registry

    config = load_config(path, overrides=overrides or {}, interpolate=True)
    if "reader" not in config:
        raise ReaderError("has no [reader] block (see configs/ocr.cfg).", path=path)
    return registry.resolve({"reader": config["reader"]})["reader"]


# ------------------------------------------------------------------ Doc extensions


def _token_bbox(token) -> list[int] | None:
    ocr = token.doc._.ocr
    if not ocr:
        return None
    boxes = [b for b in ocr["char_boxes"][token.idx : token.idx + len(token.text)] if b]
    if not boxes:
        return None
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def register_extensions() -> None:
    """``Doc._.ocr`` (default None) and ``Token._.bbox`` (a getter over ``doc._.ocr``)."""
    from spacy.tokens import Doc, Token

    if not Doc.has_extension("ocr"):
        Doc.set_extension("ocr", default=None)
    if not Token.has_extension("bbox"):
        Token.set_extension("bbox", getter=_token_bbox)
