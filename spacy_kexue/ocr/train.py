"""Train the character recogniser on glyphs rendered on the fly (METHODS.md, section 5).

:class:`GlyphDataset` renders batch ``step`` from ``numpy.random.default_rng([seed, step])``
alone, so a batch is reproducible without replaying the ones before it (and a run can be resumed
or split across workers). Each example: a character drawn **uniformly** from the charset (every
class is seen equally often; how common a character is enters through the loss's
``class_weights`` instead, as in the method), a font drawn uniformly among the given fonts that
have a glyph for it, a font size in 46-50 px and an offset of up to one pixel
(:func:`~spacy_kexue.ocr.render.render_glyph`, which normalises with the same
:func:`~spacy_kexue.ocr.render.normalize_glyph` the reader uses), then the
:class:`~spacy_kexue.ocr.augment.Augmenter`'s degradations of the normalised 48 x 48 image (the
method adds its 5% pixel noise at that point too).

Every font goes through :func:`~spacy_kexue.ocr.fonts.check_allowed` first: the fonts reserved
for evaluation raise :class:`~spacy_kexue.ocr.fonts.ReservedFontError` here, and so do they when
passed as ``eval_fonts`` (those are used to follow training, i.e. for tuning). Only
:func:`evaluate_glyphs` may be told ``allow_reserved=True``.

:func:`train_recognizer` uses Adam, cross-entropy with optional class weights
(:func:`rank_class_weights` gives the method's frequency-rank weights), a short linear warm-up and
a cosine decay of the learning rate. torch is imported lazily.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .augment import Augmenter
from .charset import Charset
from .fonts import FontSpec, check_allowed, coverage
from .render import FONT_PX_RANGE, GlyphError, render_glyph

if TYPE_CHECKING:  # pragma: no cover
    from .model import Recognizer

__all__ = [
    "GlyphDataset",
    "evaluate_glyphs",
    "rank_class_weights",
    "train_recognizer",
]

logger = logging.getLogger(__name__)


def rank_class_weights(n_classes: int) -> np.ndarray:
    """The method's class weights by frequency rank: ``w_r = ((N - r) / N + 1) ** 3`` for rank
    ``r = 0 .. N-1`` (0 = most frequent), normalised to mean 1. Use them only with a charset in
    frequency order (GB2312 level 1 is in pinyin order: train it with uniform weights)."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}.")
    r = np.arange(n_classes, dtype=np.float64)
    w = ((n_classes - r) / n_classes + 1.0) ** 3
    return (w / w.mean()).astype(np.float32)


class _GlyphSource:
    """Characters, fonts and which fonts cover which character; renders one sampled glyph."""

    def __init__(
        self,
        chars: Sequence[str],
        fonts: Iterable[FontSpec],
        *,
        allow_reserved: bool = False,
    ):
        fonts = list(fonts)
        if not fonts:
            raise ValueError(
                "No fonts given: pass the allowed training fonts (spacy_kexue.ocr.fonts."
                "find_fonts() lists the installed ones)."
            )
        for font in fonts:
            if not isinstance(font, FontSpec):
                raise TypeError(f"Expected FontSpec objects, got {font!r}.")
            if not allow_reserved:
                check_allowed(font)
        chars = list(chars)
        if not chars:
            raise ValueError("No characters to render.")
        covered = [coverage(font, chars) for font in fonts]
        self.chars = chars
        self.fonts = fonts
        self.font_ids: list[np.ndarray] = []
        missing = []
        for ch in chars:
            ids = np.array([i for i, cov in enumerate(covered) if ch in cov], dtype=np.int64)
            if ids.size == 0:
                missing.append(ch)
            self.font_ids.append(ids)
        if missing:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:10])
            raise GlyphError(
                f"No given font has a glyph for {shown}{' ...' if len(missing) > 10 else ''} "
                f"({len(missing)} characters). Add a font that covers them or remove them from "
                "the charset."
            )
        self.allow_reserved = allow_reserved

    def sample(
        self, rng: np.random.Generator, n: int, augmenter: Augmenter | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` glyphs (uint8 ``(n, 48, 48)``) and the positions of their characters in
        ``self.chars`` (int64 ``(n,)``)."""
        out = np.empty((n, 48, 48), dtype=np.uint8)
        idx = rng.integers(0, len(self.chars), size=n)
        for j, i in enumerate(idx):
            ids = self.font_ids[i]
            font = self.fonts[int(ids[rng.integers(0, ids.size)])]
            font_px = int(rng.integers(FONT_PX_RANGE[0], FONT_PX_RANGE[1] + 1))
            img = render_glyph(
                self.chars[i], font, font_px=font_px, rng=rng, allow_reserved=self.allow_reserved
            )
            out[j] = augmenter(img, rng) if augmenter is not None else img
        return out, idx.astype(np.int64)


class GlyphDataset:
    """Training batches rendered on the fly: ``batch(step) -> (glyphs, labels)``.

    ``glyphs``: uint8 ``(batch_size, 48, 48)``, ink = 255 on 0; ``labels``: int64 class ids of
    ``charset``. Batch ``step`` depends on ``(seed, step)`` only. Characters are drawn uniformly;
    fonts uniformly among those of ``fonts`` that have the character (a character no font has
    raises :class:`~spacy_kexue.ocr.render.GlyphError`); sizes 46-50 px; then ``augmenter``
    (None: clean glyphs). A font reserved for evaluation raises
    :class:`~spacy_kexue.ocr.fonts.ReservedFontError`.
    """

    def __init__(
        self,
        charset: Charset,
        fonts: Iterable[FontSpec],
        *,
        batch_size: int = 128,
        seed: int = 0,
        augmenter: Augmenter | None = None,
    ):
        if not isinstance(charset, Charset):
            charset = Charset(charset)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}.")
        self.charset = charset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.augmenter = augmenter
        self._source = _GlyphSource(charset.chars, fonts)

    @property
    def fonts(self) -> list[FontSpec]:
        return list(self._source.fonts)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch number ``step`` (any ``step >= 0``; no state is kept between calls)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}.")
        rng = np.random.default_rng([self.seed, int(step)])
        return self._source.sample(rng, self.batch_size, self.augmenter)

    def __iter__(self):
        step = 0
        while True:
            yield self.batch(step)
            step += 1


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t))))


def train_recognizer(
    charset: Charset,
    fonts: Iterable[FontSpec],
    *,
    steps: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    augmenter: Augmenter | None = None,
    log_every: int = 100,
    eval_fonts: Iterable[FontSpec] | None = None,
    eval_n: int = 512,
    callback: Callable[[dict], None] | None = None,
    class_weights: np.ndarray | None = None,
    width: int = 64,
    hidden: int = 512,
    dropout: float = 0.3,
    weight_decay: float = 0.0,
    warmup: int | None = None,
) -> Recognizer:
    """Train a :class:`~spacy_kexue.ocr.model.Recognizer` for ``charset`` on glyphs rendered from
    ``fonts`` (allowed fonts only) and return it (in eval mode).

    steps, batch_size: number of Adam updates and glyphs per update (batches from
        :class:`GlyphDataset`, deterministic by ``seed``; the weights' initialisation and dropout
        are seeded by ``seed`` too, without touching torch's global random state).
    lr: peak learning rate: linear warm-up over ``warmup`` steps (default ``min(200, steps //
        10)``), then cosine decay to 1% of it.
    augmenter: degradations applied to each normalised glyph (None: clean glyphs).
    log_every: every that many steps (and at the last) the mean loss since the last report is
        logged and passed to ``callback`` as a dict with ``step`` (1-based), ``loss``, ``lr`` and,
        when ``eval_fonts`` are given, ``eval_acc``: accuracy on ``eval_n`` fresh clean glyphs of
        the whole charset from those fonts (allowed fonts only: following a run is tuning).
    class_weights: per-class loss weights (length ``len(charset)``), e.g.
        :func:`rank_class_weights` for a frequency-ordered charset; None: uniform.
    width, hidden, dropout: the network's settings (:func:`~spacy_kexue.ocr.model.build_glyph_cnn`).
    weight_decay: Adam's L2 penalty.
    """
    import torch
    import torch.nn.functional as F

    from .model import Recognizer, build_glyph_cnn, glyphs_to_tensor

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (batch normalisation), got {batch_size}.")
    if not isinstance(charset, Charset):
        charset = Charset(charset)
    data = GlyphDataset(charset, fonts, batch_size=batch_size, seed=seed, augmenter=augmenter)
    eval_list = list(eval_fonts) if eval_fonts is not None else None
    if eval_list is not None:
        for font in eval_list:
            check_allowed(font)
    weight = None
    if class_weights is not None:
        cw = np.asarray(class_weights, dtype=np.float32)
        if cw.shape != (len(charset),) or not np.all(np.isfinite(cw)) or np.any(cw < 0):
            raise ValueError(
                f"class_weights must be {len(charset)} finite non-negative numbers (one per "
                f"class), got shape {cw.shape}."
            )
        weight = torch.from_numpy(cw)
    warmup = min(200, steps // 10) if warmup is None else max(0, int(warmup))
    log_every = max(1, int(log_every))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_glyph_cnn(len(charset), width=width, hidden=hidden, dropout=dropout)
        recognizer = Recognizer(charset, net)
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
        net.train()
        total, count = 0.0, 0
        for step in range(steps):
            glyphs, labels = data.batch(step)
            lr_now = _lr_at(step, steps, lr, warmup)
            for group in opt.param_groups:
                group["lr"] = lr_now
            logits = net(glyphs_to_tensor(glyphs))
            loss = F.cross_entropy(logits, torch.from_numpy(labels), weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            count += 1
            if (step + 1) % log_every == 0 or step + 1 == steps:
                info = {"step": step + 1, "loss": total / count, "lr": lr_now}
                if eval_list is not None:
                    info["eval_acc"] = evaluate_glyphs(
                        recognizer, charset, eval_list, seed=seed + 1, n=eval_n
                    )
                logger.info(
                    "step %d  loss %.4f  lr %.2e%s",
                    info["step"],
                    info["loss"],
                    lr_now,
                    f"  eval_acc {info['eval_acc']:.4f}" if "eval_acc" in info else "",
                )
                if callback is not None:
                    callback(info)
                total, count = 0.0, 0
    net.eval()
    return recognizer


def evaluate_glyphs(
    recognizer: Recognizer,
    chars: Charset | Iterable[str],
    fonts: Iterable[FontSpec],
    *,
    seed: int = 0,
    n: int = 1000,
    augmenter: Augmenter | None = None,
    allow_reserved: bool = False,
) -> float:
    """Top-1 accuracy of ``recognizer`` on ``n`` freshly rendered glyphs of ``chars`` (drawn
    uniformly; every one must be in the recogniser's charset) from ``fonts``, sizes 46-50 px,
    degraded by ``augmenter`` (None: clean). Deterministic by ``seed``; use a seed other than the
    training seed. Fonts reserved for evaluation need ``allow_reserved=True`` (held-out
    evaluation only, never tuning)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}.")
    chars = list(chars.chars if isinstance(chars, Charset) else dict.fromkeys(chars))
    class_ids = np.array(recognizer.charset.ids("".join(chars)), dtype=np.int64)
    source = _GlyphSource(chars, fonts, allow_reserved=allow_reserved)
    # A stream of its own (the third seed entry), never one of GlyphDataset's batches.
    rng = np.random.default_rng([seed, 0, 1])
    glyphs, idx = source.sample(rng, n, augmenter)
    predicted = recognizer.logits(glyphs).argmax(axis=1)
    return float(np.mean(predicted == class_ids[idx]))
