"""The character recogniser: a small CNN over 48 x 48 glyphs and the :class:`Recognizer` around it.

:class:`GlyphCNN` follows the method (METHODS.md, section 5: two convolution + pooling stages, a
dense layer, softmax, dropout) with cheap modernisations: four convolution stages with batch
normalisation and ReLU (``width/2 -> width/2 -> width -> 2*width`` channels; 48 -> 24 -> 24 ->
12 -> 6 pixels, strided convolutions instead of max pooling, NHWC memory layout), an adaptive average pool to 3 x 3 (keeps the coarse layout of the strokes that a global
pool would throw away), one dense hidden layer and the output layer. At the defaults
(``width=64, hidden=512``) and 3,878 classes it has about 2.7 M parameters (about 5.4 MB as
float16) and needs about 11 M multiply-adds per glyph (about 2,400 glyphs/s through
:meth:`Recognizer.predict` on two CPU cores, batch 256).

Input: ``(N, 1, 48, 48)`` float in 0..1 with ink = 1 (:func:`~spacy_kexue.ocr.glyph.normalize_em`
output divided by 255). Output: logits ``(N, n_classes)``.

:class:`Recognizer` pairs the network with its :class:`~spacy_kexue.ocr.charset.Charset` and is
what the reader uses: :meth:`Recognizer.predict`, :meth:`Recognizer.topk`, and serialisation to a
folder or bytes as float16 safetensors weights + JSON (never pickles; the weights' SHA-256 is kept
in the config and checked on load, through :mod:`spacy_kexue.integrity`).

This module imports torch at module level (``GlyphCNN`` subclasses ``torch.nn.Module``); nothing
imports it when ``spacy_kexue`` or ``spacy_kexue.ocr`` is imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spacy.util import registry
from torch import nn

from ..errors import DataFileError
from ..integrity import (
    check_digest,
    parse_json,
    read_checked,
    read_json_file,
    recorded_digest,
    sha256_bytes,
    write_checked,
)
from .charset import Charset
from .glyph import EM_WINDOW

__all__ = [
    "ARCHITECTURE",
    "GLYPH_SIZE",
    "GlyphCNN",
    "ModelFileError",
    "Recognizer",
    "build_glyph_cnn",
]

#: The registered name :func:`build_glyph_cnn` is meant for (kept in the saved config).
ARCHITECTURE = "spacy_kexue.GlyphCNN.v1"

#: Side of the square input glyph, in pixels.
GLYPH_SIZE = 48

_WEIGHTS = "weights.safetensors"
_CONFIG = "config.json"
_CHARSET = "charset.json"
_FORMAT = 1


class ModelFileError(DataFileError):
    """A saved recogniser cannot be read: missing file, bad JSON, checksum mismatch, wrong shape.

    ``path`` names the file (or ``"recogniser bytes"``)."""


class GlyphCNN(nn.Module):
    """Four Conv-BN-ReLU stages, adaptive 3 x 3 average pool, dense ``hidden``, dense ``n_classes``.

    Stages (``width=64``): a 4 x 4 stride-2 stem to ``width // 2`` channels (48 -> 24 px), a
    3 x 3 convolution at 24 px, then two 3 x 3 stride-2 convolutions to ``width`` and
    ``2 * width`` channels (24 -> 12 -> 6 px). Strided convolutions replace the method's max
    pooling: as accurate here and much cheaper on a CPU. ``dropout`` is applied before the hidden
    and the output dense layers, a quarter of it (channel dropout) after the last two stages.
    """

    def __init__(self, n_classes: int, *, width: int = 64, hidden: int = 512, dropout: float = 0.3):
        super().__init__()
        if n_classes < 1 or width < 2 or hidden < 1 or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"GlyphCNN needs n_classes >= 1, width >= 2, hidden >= 1 and 0 <= dropout < 1; "
                f"got n_classes={n_classes}, width={width}, hidden={hidden}, dropout={dropout}."
            )
        self.n_classes = int(n_classes)
        self.settings = {"width": int(width), "hidden": int(hidden), "dropout": float(dropout)}
        c1, c2, c3 = max(1, width // 2), width, 2 * width

        def stage(c_in: int, c_out: int, kernel: int, stride: int, drop: float) -> list[nn.Module]:
            layers: list[nn.Module] = [
                nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            if drop > 0:
                layers.append(nn.Dropout2d(drop))
            return layers

        self.features = nn.Sequential(
            *stage(1, c1, 4, 2, 0.0),
            *stage(c1, c1, 3, 1, 0.0),
            *stage(c1, c2, 3, 2, dropout / 4),
            *stage(c2, c3, 3, 2, dropout / 4),
            nn.AdaptiveAvgPool2d(3),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(c3 * 9, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )
        # NHWC is 1.5-2x faster than NCHW for these small convolutions on CPU (oneDNN).
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.contiguous(memory_format=torch.channels_last)))

    def config(self) -> dict:
        """The builder's arguments: ``build_glyph_cnn(**net.config())`` makes the same shape."""
        return {"n_classes": self.n_classes, **self.settings}


@registry.architectures("spacy_kexue.GlyphCNN.v1")
def build_glyph_cnn(
    n_classes: int, *, width: int = 64, hidden: int = 512, dropout: float = 0.3
) -> GlyphCNN:
    """The recogniser's network (to be registered as ``spacy_kexue.GlyphCNN.v1``).

    n_classes (int): number of output classes, ``len(charset)``.
    width (int): channels of the third convolution stage (the four stages have ``width // 2``,
        ``width // 2``, ``width`` and ``2 * width``). Cost grows with ``width ** 2``.
    hidden (int): units of the dense hidden layer.
    dropout (float): dropout before the dense layers (a quarter of it after conv stages 3, 4).
    RETURNS (GlyphCNN): input ``(N, 1, 48, 48)`` floats in 0..1, ink = 1; output logits.
    """
    return GlyphCNN(n_classes, width=width, hidden=hidden, dropout=dropout)


def glyphs_to_tensor(glyphs: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, 48, 48)`` glyphs (ink = 255 on 0) -> float ``(N, 1, 48, 48)`` in 0..1."""
    arr = np.asarray(glyphs)
    if arr.ndim != 3 or arr.shape[1:] != (GLYPH_SIZE, GLYPH_SIZE):
        raise ValueError(
            f"Expected glyphs of shape (N, {GLYPH_SIZE}, {GLYPH_SIZE}), got {arr.shape}; "
            "normalise each character with spacy_kexue.ocr.glyph.normalize_em and stack them."
        )
    if arr.dtype != np.uint8:
        raise ValueError(
            f"Expected uint8 glyphs (ink = 255 on 0), got {arr.dtype}; scale to 0..255 and cast."
        )
    return torch.from_numpy(np.ascontiguousarray(arr)).unsqueeze(1).float().div_(255.0)


class Recognizer:
    """A trained :class:`GlyphCNN` and its :class:`Charset` (class id ``i`` is ``charset.char(i)``).

    Inference runs in eval mode without gradients, ``batch_size`` glyphs at a time. Pickles as
    its :meth:`to_bytes` (works with the ``spawn`` and ``forkserver`` start methods).
    """

    def __init__(self, charset: Charset, net: GlyphCNN, *, batch_size: int = 256):
        if not isinstance(charset, Charset):
            charset = Charset(charset)
        if net.n_classes != len(charset):
            raise ValueError(
                f"The network has {net.n_classes} outputs but the charset has {len(charset)} "
                "characters; build the network with n_classes=len(charset)."
            )
        self.charset = charset
        self.net = net
        self.batch_size = int(batch_size)

    @classmethod
    def build(cls, charset: Charset, **settings: Any) -> Recognizer:
        """An untrained recogniser for ``charset`` (``settings`` go to :func:`build_glyph_cnn`)."""
        return cls(charset, build_glyph_cnn(len(charset), **settings))

    def __len__(self) -> int:
        return len(self.charset)

    def __repr__(self) -> str:
        return f"Recognizer({len(self.charset)} classes, {self.net.settings})"

    # ----------------------------------------------------------------- inference

    def logits(self, glyphs: np.ndarray) -> np.ndarray:
        """Raw logits ``(N, C)`` float32 for uint8 glyphs ``(N, 48, 48)``."""
        x = glyphs_to_tensor(glyphs)
        was_training = self.net.training
        self.net.eval()
        try:
            with torch.inference_mode():
                outs = [
                    self.net(x[i : i + self.batch_size]) for i in range(0, len(x), self.batch_size)
                ]
        finally:
            self.net.train(was_training)
        if not outs:
            return np.zeros((0, len(self.charset)), dtype=np.float32)
        return torch.cat(outs).float().numpy()

    def predict(self, glyphs: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, C)`` float32 (rows sum to 1) for uint8 glyphs ``(N, 48, 48)``
        (ink = 255 on 0, as made by :func:`~spacy_kexue.ocr.glyph.normalize_em`)."""
        z = self.logits(glyphs)
        z = z - z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def topk(self, glyphs: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most probable classes per glyph: ``(ids, probs)``, both ``(N, k)``, best
        first (ids int64; ``self.charset.char(i)`` gives the character)."""
        probs = self.predict(glyphs)
        k = max(1, min(int(k), probs.shape[1]))
        ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return ids.astype(np.int64), np.take_along_axis(probs, ids, axis=1)

    def read(self, glyphs: np.ndarray) -> str:
        """The best character of each glyph, joined."""
        ids = self.logits(glyphs).argmax(axis=1)
        return "".join(self.charset.char(int(i)) for i in ids)

    # ------------------------------------------------------------- serialisation

    def _config(self) -> dict:
        """The saved config, less the weights' SHA-256 (recorded last, under ``"sha256"``)."""
        return {
            "format": _FORMAT,
            "architecture": ARCHITECTURE,
            "settings": self.net.config(),
            "input": {
                "size": GLYPH_SIZE,
                "normalization": "em",
                "window": list(EM_WINDOW),
                "ink": 255,
            },
            "weights": _WEIGHTS,
            "dtype": "float16",
        }

    def _weights(self) -> bytes:
        from ..torch_util import serialize_module

        return serialize_module(self.net, half=True)

    @staticmethod
    def _recorded_sha256(config: dict, where: Any) -> str:
        """The weights' SHA-256 that a recogniser config (read from ``where``) records: the
        recogniser has always required one."""
        if config.get("architecture") != ARCHITECTURE:
            raise ModelFileError(
                f"is not a recogniser config (architecture {config.get('architecture')!r}, "
                f"expected {ARCHITECTURE!r}).",
                path=where,
            )
        return recorded_digest(config, "sha256", path=where, required=True, error=ModelFileError)

    @classmethod
    def _from_parts(cls, config: dict, charset: Charset, weights: bytes, where: Any) -> Recognizer:
        """The recogniser of ``config`` and the verified ``weights`` (read from ``where``)."""
        from ..torch_util import deserialize_module

        try:
            settings = dict(config["settings"])
            net = build_glyph_cnn(settings.pop("n_classes"), **settings)
            deserialize_module(net, weights)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ModelFileError(
                f"the weights and the settings in {_CONFIG} do not make a recogniser "
                f"({type(err).__name__}: {err}).",
                path=where,
            ) from None
        net.eval()
        return cls(charset, net)

    def to_bytes(self) -> bytes:
        """Config, charset and float16 safetensors weights as msgpack bytes."""
        import srsly

        weights = self._weights()
        config = dict(self._config(), sha256=sha256_bytes(weights))
        return srsly.msgpack_dumps(
            {"config": json.dumps(config), "charset": self.charset.to_json(), "weights": weights}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Recognizer:
        """Read what :meth:`to_bytes` wrote (checksum verified)."""
        import srsly

        where = "recogniser bytes"
        try:
            msg = srsly.msgpack_loads(data)
            config = parse_json(msg["config"], path=where, error=ModelFileError)
            charset = Charset(
                parse_json(msg["charset"], path=where, expect=list, error=ModelFileError)
            )
            weights = msg["weights"]
        except ModelFileError:
            raise
        except Exception as err:  # msgpack's errors, a missing key, a bad charset
            raise ModelFileError(f"cannot be read ({err}).", path=where) from None
        where = f"{where} ({_WEIGHTS})"
        check_digest(where, weights, cls._recorded_sha256(config, where), error=ModelFileError)
        return cls._from_parts(config, charset, weights, where)

    def to_disk(self, path: str | os.PathLike) -> None:
        """Write ``config.json``, ``charset.json`` and ``weights.safetensors`` into folder ``path``."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        digest = write_checked(folder / _WEIGHTS, self._weights())
        (folder / _CHARSET).write_text(self.charset.to_json(), encoding="utf-8")
        config = dict(self._config(), sha256=digest)
        (folder / _CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")

    @classmethod
    def from_disk(cls, path: str | os.PathLike) -> Recognizer:
        """Read a folder written by :meth:`to_disk`; a missing, damaged or changed file raises
        :class:`ModelFileError` naming it."""
        folder = Path(path)
        hint = (
            f"a recogniser folder holds {_CONFIG}, {_CHARSET} and {_WEIGHTS}, as written by "
            "Recognizer.to_disk()"
        )
        config_file, charset_file, weights_file = (
            folder / n for n in (_CONFIG, _CHARSET, _WEIGHTS)
        )
        config = read_json_file(config_file, hint=hint, error=ModelFileError)
        recorded = cls._recorded_sha256(config, config_file)
        chars = read_json_file(charset_file, expect=list, hint=hint, error=ModelFileError)
        try:
            charset = Charset(chars)
        except ValueError as err:
            raise ModelFileError(str(err), path=charset_file) from None
        weights = read_checked(weights_file, recorded, hint=hint, error=ModelFileError)
        return cls._from_parts(config, charset, weights, weights_file)

    def __reduce__(self):
        return (_recognizer_from_bytes, (self.to_bytes(),))


def _recognizer_from_bytes(data: bytes) -> Recognizer:
    return Recognizer.from_bytes(data)
