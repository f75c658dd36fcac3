"""Scan and screenshot degradations for synthetic OCR images, deterministic by seed.

:class:`Augmenter` applies, each with its own probability and in this order: a small affine
warp (rotation, shear, scale, shift), a stroke-weight change (erode or dilate), Gaussian blur, a
contrast/brightness change, Gaussian noise, JPEG re-encoding and random pixel flips (the method's
noise: 5% of the pixels inverted, METHODS.md section 5). Inversion of the whole image is never
applied: polarity is the layout's business.

All randomness comes from the ``np.random.Generator`` passed in, and the number of values drawn
does not depend on which steps fire, so the same seed gives the same image. The operations are
polarity-free (the stroke change thickens or thins with equal odds, warps fill with the border's
median grey), so they serve glyphs (ink = 255 on 0) and page-like lines (dark on light) alike.
PIL is imported lazily.

:class:`BatchAugmenter` applies the same kinds of degradation to a whole training batch at once in
torch (about 50x cheaper per glyph than :class:`Augmenter`, whose PIL steps cost about 1 ms per
48 x 48 glyph, as much as rendering it), plus a low-resolution step for small print. It draws from
a ``torch.Generator`` and is deterministic by its seed. torch is imported lazily.

The named settings of both (every step off, the method's 5% pixel flips, the benchmark's degraded
lines, the strong training setting) are one table, :data:`PRESETS`; ``Augmenter.preset(name)``
and ``BatchAugmenter.preset(name)`` build them.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ..errors import KexueError

__all__ = ["PRESETS", "AugmentError", "Augmenter", "BatchAugmenter"]


class AugmentError(KexueError, ValueError):
    """An augmentation setting or input image is invalid."""


Range = tuple[float, float]

# every step of each augmenter off: the base of the presets that turn on one step only
_IMAGE_OFF: dict[str, Any] = {
    "p_affine": 0.0,
    "p_stroke": 0.0,
    "p_blur": 0.0,
    "p_contrast": 0.0,
    "p_noise": 0.0,
    "p_jpeg": 0.0,
    "p_flip": 0.0,
}
_BATCH_OFF: dict[str, Any] = {
    "p_affine": 0.0,
    "p_stroke": 0.0,
    "p_lowres": 0.0,
    "p_blur": 0.0,
    "p_contrast": 0.0,
    "p_noise": 0.0,
    "p_flip": 0.0,
}

#: The named settings of both augmenters, in one table: ``PRESETS[class name][preset name]`` is
#: the keyword arguments that differ from the class's defaults. :meth:`Augmenter.preset` and
#: :meth:`BatchAugmenter.preset` build them (``method()`` and ``strong()`` are shortcuts).
#:
#: - ``"default"``: the class's defaults (training: :class:`BatchAugmenter`);
#: - ``"off"``: every step off, the identity;
#: - ``"method"``: the method's setting only, 5% of the pixels flipped (METHODS.md section 5);
#: - ``"degraded"`` (:class:`Augmenter`): the ``lines_degraded`` set of ``benchmarks/ocr.py``:
#:   blur, contrast loss, noise and JPEG, each on 60% of the lines, and half of them rotated by
#:   up to 0.7 degrees;
#: - ``"strong"`` (:class:`BatchAugmenter`): heavier degradations, for fine-tuning toward unseen
#:   fonts and poor scans (``kexue ocr train --augmenter strong``).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "Augmenter": {
        "default": {},
        "off": _IMAGE_OFF,
        "method": {**_IMAGE_OFF, "p_flip": 1.0, "flip_rate": (0.05, 0.05)},
        "degraded": {
            "p_affine": 0.5,
            "rotate_deg": 0.7,
            "shear": 0.0,
            "scale": (1.0, 1.0),
            "shift": 0.0,
            "p_stroke": 0.0,
            "p_blur": 0.6,
            "blur_sigma": (0.3, 0.9),
            "p_contrast": 0.6,
            "contrast": (0.55, 0.9),
            "brightness": (-20.0, 20.0),
            "p_noise": 0.6,
            "noise_sigma": (2.0, 10.0),
            "p_jpeg": 0.6,
            "jpeg_quality": (35, 80),
            "p_flip": 0.0,
        },
    },
    "BatchAugmenter": {
        "default": {},
        "off": _BATCH_OFF,
        "method": {**_BATCH_OFF, "p_flip": 1.0, "flip_rate": (0.05, 0.05)},
        "strong": {
            "p_affine": 0.7,
            "rotate_deg": 3.0,
            "shear": 0.15,
            "scale": (0.88, 1.12),
            "shift": 0.04,
            "p_stroke": 0.5,
            "p_lowres": 0.4,
            "lowres": (14, 32),
            "p_blur": 0.4,
            "blur_sigma": (0.3, 1.2),
            "p_contrast": 0.6,
            "contrast": (0.4, 1.0),
            "background": 0.25,
            "p_noise": 0.5,
            "noise_sigma": (0.01, 0.1),
            "p_flip": 0.4,
            "flip_rate": (0.0, 0.05),
        },
    },
}


def _preset_settings(table: str, name: str) -> dict[str, Any]:
    """The keyword arguments of preset ``name`` in ``PRESETS[table]``."""
    presets = PRESETS[table]
    if name not in presets:
        raise AugmentError(
            f"{table} has no preset {name!r}; the presets are {', '.join(presets)} "
            "(spacy_kexue.ocr.augment.PRESETS)."
        )
    return dict(presets[name])


@dataclass(frozen=True)
class Augmenter:
    """Random degradations of a uint8 image (``H x W`` grey or ``H x W x 3`` RGB).

    ``p_*`` are the probabilities of the steps; the ranges are sampled uniformly.

    - affine: rotation ``rotate_deg`` (degrees, +-), shear ``shear`` (+-, x shear factor),
      scale ``scale``, shift ``shift`` (+-, fraction of the width/height);
    - stroke: edges moved by half a pixel (a 3 x 3 minimum or maximum filter at twice the
      resolution): bright strokes thinned or thickened, equal odds;
    - blur: Gaussian, sigma in ``blur_sigma`` pixels;
    - contrast: grey levels pulled toward their mean by a factor in ``contrast`` and shifted by
      ``brightness`` grey levels;
    - noise: additive Gaussian, sigma in ``noise_sigma`` grey levels;
    - jpeg: re-encoded in memory at a quality in ``jpeg_quality``;
    - flips: a fraction in ``flip_rate`` of the pixels inverted (``v -> 255 - v``).
    """

    p_affine: float = 0.5
    rotate_deg: float = 3.0
    shear: float = 0.1
    scale: Range = (0.9, 1.1)
    shift: float = 0.04
    p_stroke: float = 0.3
    p_blur: float = 0.3
    blur_sigma: Range = (0.3, 1.2)
    p_contrast: float = 0.5
    contrast: Range = (0.5, 1.0)
    brightness: Range = (-30.0, 30.0)
    p_noise: float = 0.3
    noise_sigma: Range = (2.0, 12.0)
    p_jpeg: float = 0.3
    jpeg_quality: tuple[int, int] = (30, 90)
    p_flip: float = 0.5
    flip_rate: Range = (0.0, 0.05)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise AugmentError(f"Augmenter.{f.name} is a probability in [0, 1], got {value}.")
            if isinstance(value, (tuple, list)):
                if len(value) != 2 or value[0] > value[1]:
                    raise AugmentError(
                        f"Augmenter.{f.name} must be a (low, high) pair with low <= high, got "
                        f"{value!r}."
                    )
                object.__setattr__(self, f.name, tuple(value))
        checks = {
            "rotate_deg": 0 <= self.rotate_deg <= 45,
            "shear": 0 <= self.shear <= 1,
            "scale": self.scale[0] > 0,
            "shift": 0 <= self.shift <= 0.5,
            "blur_sigma": self.blur_sigma[0] >= 0,
            "contrast": self.contrast[0] >= 0,
            "noise_sigma": self.noise_sigma[0] >= 0,
            "jpeg_quality": 1 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 95,
            "flip_rate": 0 <= self.flip_rate[0] and self.flip_rate[1] <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise AugmentError(
                    f"Augmenter.{name}={getattr(self, name)!r} is out of range; see the "
                    "Augmenter docstring for the meaning of each setting."
                )

    @classmethod
    def preset(cls, name: str) -> Augmenter:
        """The named settings ``PRESETS["Augmenter"][name]``: "default", "off", "method" or
        "degraded" (see :data:`PRESETS`)."""
        return cls(**_preset_settings("Augmenter", name))

    @classmethod
    def method(cls) -> Augmenter:
        """The method's setting only: 5% of the pixels flipped, nothing else."""
        return cls.preset("method")

    def to_dict(self) -> dict:
        """The settings as a JSON-friendly dict (``Augmenter(**d)`` reads it back)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A degraded copy of ``img`` (uint8, same shape); ``img`` itself is not modified."""
        from PIL import Image, ImageFilter

        img = _check_image(img)
        # A fixed number of draws per step, whether or not the step fires: a step's outcome does
        # not shift the random stream of the steps after it.
        fire = rng.random(7)
        affine = rng.random(5)
        stroke_up = rng.random() < 0.5
        sigma = rng.uniform(*self.blur_sigma)
        factor, offset = rng.uniform(*self.contrast), rng.uniform(*self.brightness)
        noise_sigma = rng.uniform(*self.noise_sigma)
        quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
        rate = rng.uniform(*self.flip_rate)
        noise_seed, flip_seed = rng.integers(0, 2**63, size=2)

        out = img
        if fire[0] < self.p_affine:
            out = self._affine(out, affine)
        if fire[1] < self.p_stroke:
            out = _stroke(out, thicker=stroke_up)
        if fire[2] < self.p_blur and sigma > 0:
            out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(sigma)))
        if fire[3] < self.p_contrast:
            grey = out.astype(np.float32)
            grey = (grey - grey.mean()) * factor + grey.mean() + offset
            out = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
        if fire[4] < self.p_noise and noise_sigma > 0:
            noise = np.random.default_rng(noise_seed).normal(0.0, noise_sigma, size=out.shape)
            out = np.clip(np.rint(out + noise), 0, 255).astype(np.uint8)
        if fire[5] < self.p_jpeg:
            buffer = io.BytesIO()
            Image.fromarray(out).save(buffer, format="JPEG", quality=quality)
            buffer.seek(0)
            with Image.open(buffer) as decoded:
                out = np.asarray(decoded.convert("L" if out.ndim == 2 else "RGB"), dtype=np.uint8)
        if fire[6] < self.p_flip and rate > 0:
            mask = np.random.default_rng(flip_seed).random(out.shape[:2]) < rate
            out = out.copy()
            out[mask] = 255 - out[mask]
        if out is img:
            out = img.copy()
        return np.ascontiguousarray(out, dtype=np.uint8)

    def _affine(self, img: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Rotate, shear, scale and shift about the image centre (bilinear, border-median fill)."""
        from PIL import Image

        h, w = img.shape[:2]
        angle = math.radians((2 * u[0] - 1) * self.rotate_deg)
        shear = (2 * u[1] - 1) * self.shear
        scale = self.scale[0] + u[2] * (self.scale[1] - self.scale[0])
        tx = (2 * u[3] - 1) * self.shift * w
        ty = (2 * u[4] - 1) * self.shift * h
        # forward map: p' = c + A (p - c) + t with A = scale * R(angle) @ [[1, shear], [0, 1]]
        cos, sin = math.cos(angle), math.sin(angle)
        a = np.array([[cos, cos * shear - sin], [sin, sin * shear + cos]]) * scale
        inv = np.linalg.inv(a)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        # PIL wants the inverse map: p = inv (p' - c - t) + c
        ox, oy = inv @ np.array([-cx - tx, -cy - ty]) + np.array([cx, cy])
        coeffs = (inv[0, 0], inv[0, 1], ox, inv[1, 0], inv[1, 1], oy)
        fill = _border_fill(img)
        pil = Image.fromarray(img)
        warped = pil.transform(
            (w, h),
            Image.Transform.AFFINE,
            coeffs,
            resample=Image.Resampling.BILINEAR,
            fillcolor=fill,
        )
        return np.asarray(warped, dtype=np.uint8)


def _stroke(img: np.ndarray, *, thicker: bool) -> np.ndarray:
    """Move every edge by half a pixel (a 3 x 3 max or min filter at twice the resolution): the
    bright strokes (or the bright background, for dark ink) grow or shrink without losing the
    thin strokes of a serif face at 48 px, as a full-pixel erosion would."""
    from PIL import Image, ImageFilter

    pil = Image.fromarray(img)
    w, h = pil.size
    big = pil.resize((2 * w, 2 * h), Image.Resampling.BILINEAR)
    big = big.filter(ImageFilter.MaxFilter(3) if thicker else ImageFilter.MinFilter(3))
    return np.asarray(big.resize((w, h), Image.Resampling.BILINEAR), dtype=np.uint8)


def _border_fill(img: np.ndarray) -> int | tuple[int, ...]:
    """The median of the border pixels: the background grey (or colour) of the image."""
    border = np.concatenate(
        [
            img[0].reshape(-1, *img.shape[2:]),
            img[-1].reshape(-1, *img.shape[2:]),
            img[:, 0].reshape(-1, *img.shape[2:]),
            img[:, -1].reshape(-1, *img.shape[2:]),
        ]
    )
    med = np.median(border, axis=0)
    if img.ndim == 2:
        return int(med)
    return tuple(int(v) for v in med)


def _check_image(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise AugmentError(f"Augmenter expects a uint8 image, got {img.dtype}; cast it first.")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise AugmentError(
            f"Augmenter expects an H x W grey or H x W x 3 RGB image, got shape {img.shape}."
        )
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise AugmentError(f"Augmenter needs an image of at least 2 x 2 pixels, got {img.shape}.")
    return np.ascontiguousarray(img)


@dataclass(frozen=True)
class BatchAugmenter:
    """Degradations of a batch of glyphs in torch: float ``(N, 1, H, W)`` in 0..1, ink = 1.

    Each step fires per glyph with its probability; the ranges are sampled uniformly per glyph.
    Steps, in order: affine (rotation ``rotate_deg``, shear, ``scale``, ``shift`` as a fraction
    of the side), stroke (a 3 x 3 max or min filter blended at half strength: half a pixel
    thicker or thinner), low resolution (down to ``lowres`` pixels and back up, as small print
    upscaled by the reader), Gaussian blur (``blur_sigma``), contrast (ink scaled by
    ``contrast``, background lifted by up to ``background``), Gaussian noise (``noise_sigma``)
    and pixel flips (``flip_rate``, the method's noise).
    """

    p_affine: float = 0.5
    rotate_deg: float = 2.0
    shear: float = 0.08
    scale: Range = (0.93, 1.07)
    shift: float = 0.03
    p_stroke: float = 0.3
    p_lowres: float = 0.3
    lowres: tuple[int, int] = (16, 32)
    p_blur: float = 0.3
    blur_sigma: Range = (0.3, 1.0)
    p_contrast: float = 0.5
    contrast: Range = (0.5, 1.0)
    background: float = 0.15
    p_noise: float = 0.3
    noise_sigma: Range = (0.01, 0.06)
    p_flip: float = 0.3
    flip_rate: Range = (0.0, 0.03)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise AugmentError(
                    f"BatchAugmenter.{f.name} is a probability in [0, 1], got {value}."
                )
            if isinstance(value, (tuple, list)):
                if len(value) != 2 or value[0] > value[1] or value[0] < 0:
                    raise AugmentError(
                        f"BatchAugmenter.{f.name} must be a (low, high) pair with "
                        f"0 <= low <= high, got {value!r}."
                    )
                object.__setattr__(self, f.name, tuple(value))
        if self.lowres[0] < 2 or self.flip_rate[1] > 1 or not 0 <= self.background <= 1:
            raise AugmentError(
                "BatchAugmenter: lowres sizes must be >= 2 pixels, flip_rate <= 1 and "
                f"0 <= background <= 1; got {self.lowres}, {self.flip_rate}, {self.background}."
            )

    @classmethod
    def preset(cls, name: str) -> BatchAugmenter:
        """The named settings ``PRESETS["BatchAugmenter"][name]``: "default", "off", "method" or
        "strong" (see :data:`PRESETS`)."""
        return cls(**_preset_settings("BatchAugmenter", name))

    @classmethod
    def method(cls) -> BatchAugmenter:
        """The method's setting only: 5% of the pixels flipped, nothing else."""
        return cls.preset("method")

    @classmethod
    def strong(cls) -> BatchAugmenter:
        """Heavier degradations (for fine-tuning toward unseen fonts and poor scans)."""
        return cls.preset("strong")

    def to_dict(self) -> dict:
        """The settings as a JSON-friendly dict (``BatchAugmenter(**d)`` reads it back)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def __call__(self, x, gen):
        """A degraded copy of the batch ``x`` (``x`` is not modified), drawn from ``gen``."""
        import torch
        import torch.nn.functional as F

        if x.ndim != 4 or x.shape[1] != 1:
            raise AugmentError(f"BatchAugmenter expects (N, 1, H, W) glyphs, got {tuple(x.shape)}.")
        n, _, h, w = x.shape
        if n == 0:
            return x.clone()

        def uniform(lo: float, hi: float, size: int = n) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(size, generator=gen)

        def fires(p: float) -> torch.Tensor:
            return torch.rand(n, generator=gen) < p

        out = x.clone()
        on = fires(self.p_affine)
        angle = torch.deg2rad(uniform(-self.rotate_deg, self.rotate_deg))
        shear = uniform(-self.shear, self.shear)
        scale = uniform(*self.scale)
        shift = uniform(-2 * self.shift, 2 * self.shift, 2 * n).view(n, 2)
        if on.any():
            cos, sin = torch.cos(angle), torch.sin(angle)
            # inverse map (output -> input) for grid_sample, in normalised coordinates
            a = torch.stack(
                [
                    torch.stack([cos, cos * shear - sin], 1),
                    torch.stack([sin, sin * shear + cos], 1),
                ],
                1,
            ) * scale.view(n, 1, 1)
            inv = torch.linalg.inv(a)
            theta = torch.cat([inv, -(inv @ shift.unsqueeze(2))], 2)[on]
            grid = F.affine_grid(theta, [int(on.sum()), 1, h, w], align_corners=False)
            out[on] = F.grid_sample(out[on], grid, mode="bilinear", align_corners=False)
        on = fires(self.p_stroke)
        thicker = torch.rand(n, generator=gen) < 0.5
        if on.any():
            grown = F.max_pool2d(out, 3, 1, 1)
            shrunk = -F.max_pool2d(-out, 3, 1, 1)
            moved = torch.where(thicker.view(n, 1, 1, 1), grown, shrunk)
            out = torch.where(on.view(n, 1, 1, 1), 0.5 * (out + moved), out)
        on = fires(self.p_lowres)
        side = torch.randint(self.lowres[0], self.lowres[1] + 1, (n,), generator=gen)
        for s in torch.unique(side[on]).tolist():
            rows = on & (side == s)
            small = F.interpolate(out[rows], size=(s, s), mode="area")
            out[rows] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        on = fires(self.p_blur)
        sigma = uniform(*self.blur_sigma).clamp_min(1e-3)
        if on.any():
            r = torch.arange(-2, 3, dtype=out.dtype)
            k1 = torch.exp(-(r.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
            k1 = k1 / k1.sum(1, keepdim=True)
            kernel = (k1.view(n, 5, 1) * k1.view(n, 1, 5)).unsqueeze(1)[on]
            blurred = F.conv2d(
                F.pad(out[on].transpose(0, 1), (2, 2, 2, 2), mode="replicate"),
                kernel,
                groups=int(on.sum()),
            )
            out[on] = blurred.transpose(0, 1)
        on = fires(self.p_contrast).view(n, 1, 1, 1)
        factor = uniform(*self.contrast).view(n, 1, 1, 1)
        lift = uniform(0.0, self.background).view(n, 1, 1, 1)
        out = torch.where(on, lift + out * (factor - lift).clamp_min(0.05), out)
        on = fires(self.p_noise).view(n, 1, 1, 1)
        noise = torch.randn(out.shape, generator=gen) * uniform(*self.noise_sigma).view(n, 1, 1, 1)
        out = torch.where(on, out + noise, out)
        on = fires(self.p_flip).view(n, 1, 1, 1)
        rate = uniform(*self.flip_rate).view(n, 1, 1, 1)
        flip = on & (torch.rand(out.shape, generator=gen) < rate)
        out = torch.where(flip, 1.0 - out, out)
        return out.clamp_(0.0, 1.0)
