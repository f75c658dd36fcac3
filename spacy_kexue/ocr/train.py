"""Train the character recogniser on synthetic glyphs (METHODS.md, section 5).

:class:`GlyphBank` renders every character once per font and per size of ``BANK_FONT_PX``
(small print to large); :class:`GlyphDataset` cuts batch ``step`` from it with
``numpy.random.default_rng([seed, step])`` alone, so a batch is reproducible without replaying the
ones before it. Each example: a character drawn **uniformly** from the charset (every class is
seen equally often; how common a character is enters through the loss's ``class_weights``
instead, as in the method), one of its renderings, normalised by its em
(:func:`~spacy_kexue.ocr.glyph.normalize_em`, the reader's normalisation: size and position in
the em box kept, so ``，`` and ``一`` stay unlike ``,`` and ``-``) with the font size and the em
box's top jittered as the reader's estimates are. :func:`train_recognizer` then degrades each
batch with a :class:`~spacy_kexue.ocr.augment.BatchAugmenter` seeded by ``(seed, step)``.

Departures from the method, measured on the benchmark (``benchmarks/ocr.py``): em instead of
ink-box normalisation (the method's crop-and-resize loses the difference between full-width and
ASCII marks and between ``。`` and ``o``), renderings cached instead of re-rendered (rendering was
the bottleneck on a CPU) and batch augmentation in torch.

Every font goes through :func:`~spacy_kexue.ocr.fonts.check_allowed` first: the fonts reserved
for evaluation raise :class:`~spacy_kexue.ocr.fonts.ReservedFontError` here, and so do they when
passed as ``eval_fonts`` (those are used to follow training, i.e. for tuning). Only
:func:`evaluate_glyphs` may be told ``allow_reserved=True``.

:func:`train_recognizer` uses Adam, cross-entropy with optional class weights
(:func:`rank_class_weights` gives the method's frequency-rank weights), a short linear warm-up and
a cosine decay of the learning rate. torch is imported lazily.

:func:`train_to_disk` is what ``kexue ocr train`` runs: :func:`train_recognizer` on the fonts of
:func:`training_fonts`, degraded by an :func:`augmenter_preset`, saved with its training log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .augment import BatchAugmenter
from .charset import Charset, default_charset
from .fonts import ALLOWED_FAMILIES, FontSpec, check_allowed, coverage, find_fonts
from .glyph import GlyphError, normalize_em
from .render import glyph_crop

if TYPE_CHECKING:  # pragma: no cover
    from .model import Recognizer

__all__ = [
    "BANK_FONT_PX",
    "GlyphBank",
    "GlyphDataset",
    "augmenter_preset",
    "evaluate_glyphs",
    "rank_class_weights",
    "train_recognizer",
    "train_to_disk",
    "training_fonts",
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


#: Font sizes (px) the glyph bank renders each character at: small print (hinted at a low
#: resolution, blurry once scaled up) to large.
BANK_FONT_PX: tuple[int, ...] = (18, 26, 48)


class GlyphBank:
    """Every character of ``chars`` rendered once per font that covers it and per size of
    ``font_px`` (:func:`~spacy_kexue.ocr.render.glyph_crop`: the ink crop and its place in the
    em box), so training batches are cut from memory instead of rendered (rendering costs about
    1 ms per glyph; :meth:`sample` about 0.05 ms).

    :meth:`sample` normalises a drawn rendering with
    :func:`~spacy_kexue.ocr.glyph.normalize_em` (the reader's normalisation), with the font size
    and the em box's top jittered by ``em_jitter`` (relative) and ``top_jitter`` (em): the reader
    estimates both from the line, not exactly.
    """

    def __init__(
        self,
        chars: Sequence[str],
        fonts: Iterable[FontSpec],
        *,
        font_px: Sequence[int] = BANK_FONT_PX,
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
        sizes = [int(px) for px in font_px]
        if not sizes or min(sizes) < 6:
            raise ValueError(f"font_px must be sizes of at least 6 px, got {list(font_px)!r}.")
        covered = [coverage(font, chars) for font in fonts]
        missing = [ch for ch in chars if not any(ch in cov for cov in covered)]
        if missing:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:10])
            raise GlyphError(
                f"No given font has a glyph for {shown}{' ...' if len(missing) > 10 else ''} "
                f"({len(missing)} characters). Add a font that covers them or remove them from "
                "the charset."
            )
        self.chars = chars
        self.fonts = fonts
        # per character: list of (ink crop, top of the crop in em, em in px)
        self.renderings: list[list[tuple[np.ndarray, float, int]]] = []
        for ch in chars:
            found = []
            for font, cov in zip(fonts, covered, strict=True):
                if ch not in cov:
                    continue
                for px in sizes:
                    crop = glyph_crop(ch, font, font_px=px, allow_reserved=allow_reserved)
                    found.append((crop.ink, crop.box[1], px))
            self.renderings.append(found)

    def __len__(self) -> int:
        return sum(len(r) for r in self.renderings)

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        em_jitter: float = 0.04,
        top_jitter: float = 0.03,
        classes: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` normalised glyphs (uint8 ``(n, 48, 48)``, ink = 255) and the positions of their
        characters in ``self.chars`` (drawn uniformly unless ``classes`` gives them)."""
        out = np.empty((n, 48, 48), dtype=np.uint8)
        idx = rng.integers(0, len(self.chars), size=n) if classes is None else np.asarray(classes)
        pick = rng.random(n)
        scale = np.exp(rng.normal(0.0, em_jitter, size=n))
        shift = rng.normal(0.0, top_jitter, size=n)
        for j, i in enumerate(idx):
            options = self.renderings[int(i)]
            ink, top_em, px = options[min(int(pick[j] * len(options)), len(options) - 1)]
            out[j] = normalize_em(ink, em_px=px * scale[j], top_em=top_em + shift[j])
        return out, idx.astype(np.int64)


class GlyphDataset:
    """Training batches cut from a :class:`GlyphBank`: ``batch(step) -> (glyphs, labels)``.

    ``glyphs``: uint8 ``(batch_size, 48, 48)``, ink = 255 on 0, em-normalised
    (:func:`~spacy_kexue.ocr.glyph.normalize_em`) and not yet augmented (training augments them
    as a batch with a :class:`~spacy_kexue.ocr.augment.BatchAugmenter`); ``labels``: int64 class
    ids of ``charset``. Batch ``step`` depends on ``(seed, step)`` only. Characters are drawn
    uniformly, renderings (font and size) uniformly among the character's. A character no font
    has raises :class:`~spacy_kexue.ocr.render.GlyphError`; a font reserved for evaluation raises
    :class:`~spacy_kexue.ocr.fonts.ReservedFontError`. Pass ``bank`` to share one bank.
    """

    def __init__(
        self,
        charset: Charset,
        fonts: Iterable[FontSpec],
        *,
        batch_size: int = 128,
        seed: int = 0,
        font_px: Sequence[int] = BANK_FONT_PX,
        bank: GlyphBank | None = None,
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
        if bank is None:
            bank = GlyphBank(charset.chars, fonts, font_px=font_px)
        elif list(bank.chars) != list(charset.chars):
            raise ValueError("The glyph bank was built for another character set.")
        self.bank = bank

    @property
    def fonts(self) -> list[FontSpec]:
        return list(self.bank.fonts)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch number ``step`` (any ``step >= 0``; no state is kept between calls)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}.")
        rng = np.random.default_rng([self.seed, int(step)])
        return self.bank.sample(rng, self.batch_size)

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
    augmenter: BatchAugmenter | None = None,
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
    font_px: Sequence[int] = BANK_FONT_PX,
    init: Recognizer | None = None,
) -> Recognizer:
    """Train a :class:`~spacy_kexue.ocr.model.Recognizer` for ``charset`` on glyphs rendered from
    ``fonts`` (allowed fonts only) and return it (in eval mode).

    steps, batch_size: number of Adam updates and glyphs per update (batches from
        :class:`GlyphDataset`, deterministic by ``seed``; the weights' initialisation, dropout and
        augmentation are seeded by ``seed`` too, without touching torch's global random state).
    lr: peak learning rate: linear warm-up over ``warmup`` steps (default ``min(200, steps //
        10)``), then cosine decay to 1% of it.
    augmenter: degradations applied to each batch (None: clean glyphs).
    log_every: every that many steps (and at the last) the mean loss since the last report is
        logged and passed to ``callback`` as a dict with ``step`` (1-based), ``loss``, ``lr`` and,
        when ``eval_fonts`` are given, ``eval_acc``: accuracy on ``eval_n`` fresh clean glyphs of
        the whole charset from those fonts (allowed fonts only: following a run is tuning).
    class_weights: per-class loss weights (length ``len(charset)``), e.g.
        :func:`rank_class_weights` for a frequency-ordered charset; None: uniform.
    width, hidden, dropout: the network's settings (:func:`~spacy_kexue.ocr.model.build_glyph_cnn`).
    weight_decay: Adam's L2 penalty.
    font_px: the sizes the glyph bank renders each character at.
    init: continue from this recogniser's weights (same charset; its network settings win over
        ``width``, ``hidden`` and ``dropout``) instead of a fresh initialisation.
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
    data = GlyphDataset(charset, fonts, batch_size=batch_size, seed=seed, font_px=font_px)
    warmup = min(200, steps // 10) if warmup is None else max(0, int(warmup))
    log_every = max(1, int(log_every))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if init is not None:
            if init.charset != charset:
                raise ValueError("init: the recogniser was trained for another character set.")
            net = build_glyph_cnn(**init.net.config())
            net.load_state_dict(init.net.state_dict())
        else:
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
            x = glyphs_to_tensor(glyphs)
            if augmenter is not None:
                gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
                x = augmenter(x, gen)
            logits = net(x)
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
    font_px: int = 30,
    augmenter: BatchAugmenter | None = None,
    allow_reserved: bool = False,
) -> float:
    """Top-1 accuracy of ``recognizer`` on ``n`` glyphs of ``chars`` (drawn uniformly; every one
    must be in the recogniser's charset) rendered from ``fonts`` at ``font_px`` (a size the
    training bank does not use), em-normalised without jitter, degraded by ``augmenter`` (None:
    clean). Deterministic by ``seed``; use a seed other than the training seed. Fonts reserved
    for evaluation need ``allow_reserved=True`` (held-out evaluation only, never tuning)."""
    import torch

    from .model import glyphs_to_tensor

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}.")
    chars = list(chars.chars if isinstance(chars, Charset) else dict.fromkeys(chars))
    class_ids = np.array(recognizer.charset.ids("".join(chars)), dtype=np.int64)
    # A stream of its own (the third seed entry), never one of GlyphDataset's batches.
    rng = np.random.default_rng([seed, 0, 1])
    drawn = np.unique(rng.integers(0, len(chars), size=n))
    bank = GlyphBank(
        [chars[i] for i in drawn], fonts, font_px=(font_px,), allow_reserved=allow_reserved
    )
    pos = rng.integers(0, len(drawn), size=n)
    glyphs, idx = bank.sample(rng, n, em_jitter=0.0, top_jitter=0.0, classes=pos)
    if augmenter is not None:
        x = augmenter(glyphs_to_tensor(glyphs), torch.Generator().manual_seed(seed))
        glyphs = (x.squeeze(1) * 255).round().to(torch.uint8).numpy()
    predicted = recognizer.logits(glyphs).argmax(axis=1)
    return float(np.mean(predicted == class_ids[drawn][idx]))


def augmenter_preset(name: str) -> BatchAugmenter | None:
    """The batch augmenter of a preset: "default" (:class:`BatchAugmenter`'s defaults), "strong"
    (:meth:`BatchAugmenter.strong`) or "none" (None: clean glyphs); another name raises
    ValueError."""
    names = ["default", "strong", "none"]  # of BatchAugmenter's presets (augment.PRESETS)
    if name not in names:
        raise ValueError(f"--augmenter must be one of {names}, got {name!r}.")
    return None if name == "none" else BatchAugmenter.preset(name)


def training_fonts(families: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[FontSpec]:
    """The installed faces of ``families`` (default: all of :data:`ALLOWED_FAMILIES`) minus those
    of the families ``exclude`` (leave-one-font-out runs). A family that is not allowed, or no
    face left, raises ValueError."""
    families = list(families) or list(ALLOWED_FAMILIES)
    unknown = [f for f in [*families, *exclude] if f not in ALLOWED_FAMILIES]
    if unknown:
        raise ValueError(f"Unknown font families {unknown}; allowed: {list(ALLOWED_FAMILIES)}.")
    fonts = [f for f in find_fonts(families) if f.family not in set(exclude)]
    if not fonts:
        raise ValueError(f"None of {families} is installed (minus {list(exclude)}).")
    return fonts


def train_to_disk(
    output: str | os.PathLike,
    fonts: Sequence[FontSpec],
    *,
    steps: int = 8000,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    width: int = 64,
    hidden: int = 512,
    augmenter: BatchAugmenter | None = None,
    init: Recognizer | None = None,
    init_from: str | os.PathLike | None = None,
    excluded_families: Sequence[str] = (),
    log_every: int = 250,
) -> dict:
    """Train a recogniser for :func:`~spacy_kexue.ocr.charset.default_charset` on ``fonts``
    (:func:`train_recognizer` with these settings) and save it to ``output`` with
    ``training.json`` (the settings, the fonts and the seconds taken: the returned dict) and
    ``training.jsonl`` (the loss logged every ``log_every`` steps).

    init: continue from this recogniser; init_from: the folder it was read from and
        excluded_families: the families left out, both only recorded in ``training.json``.
    """
    log: list[dict] = []
    start = time.time()

    def record(info: dict) -> None:
        log.append({**info, "seconds": round(time.time() - start, 1)})

    recognizer = train_recognizer(
        default_charset(),
        fonts,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        augmenter=augmenter,
        log_every=log_every,
        callback=record,
        width=width,
        hidden=hidden,
        init=init,
    )
    recognizer.to_disk(output)
    meta = {
        "fonts": [f.to_dict() for f in fonts],
        "excluded_families": list(excluded_families),
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "augmenter": augmenter.to_dict() if augmenter is not None else None,
        "init": str(init_from) if init_from is not None else None,
        "seconds": round(time.time() - start, 1),
    }
    (Path(output) / "training.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    with open(Path(output) / "training.jsonl", "w", encoding="utf-8") as f:
        for row in log:
            f.write(json.dumps(row) + "\n")
    return meta
