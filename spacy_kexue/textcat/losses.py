"""Classification losses for ``kexue_textcat``, registered in thinc's ``losses`` registry.

All three take class probabilities (``guesses``) and return the gradient with respect to the
*logits*, thinc's convention for softmax outputs (``thinc.api.CategoricalCrossentropy`` and the
``Softmax`` layer work the same way), so they plug into any softmax or sigmoid output.

``guesses`` has shape (n, k): k >= 2 columns are exclusive classes (softmax); a single column is
the probability of the positive class of a binary task (sigmoid). ``truths`` is either one-hot
(n, k) / 0-1 (n, 1) floats, or class indices (n,). Rows of ``missing`` equal to 0 are ignored.

- :class:`CrossEntropy`: -log p_t.
- :class:`ThresholdLoss` (kexue.fm, 文本情感分类（四）): cross-entropy masked by
  λ = 1 - θ(p_t - m): a sample whose true class already has probability above the margin m
  adds no loss and no gradient. θ is the unit step with θ(0) = 1/2; λ is a hard mask.
  For one sigmoid column this is the post's λ = 1 - θ(y-m)θ(ŷ-m) - θ(1-m-y)θ(1-m-ŷ).
- :class:`SoftThresholdLoss` (the follow-up): θ replaced by a sigmoid on the logits,
  L = -softmax(-K·x)_t · log softmax(x)_t, i.e. -σ(-Kx)·log σ(x) for a positive binary sample.
  K = 1 is the focal loss with γ = 1. The weight is differentiated (it is a smooth loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from thinc.api import registry
from thinc.loss import Loss
from thinc.types import Floats2d

_EPS = 1e-12


class _ClassLoss(Loss):
    """Shared plumbing: normalise shapes and targets, mask missing rows, average over rows."""

    normalize: bool = True

    def __call__(self, guesses: Floats2d, truths: Any) -> tuple[Floats2d, float]:
        return self.grad_and_loss(guesses, truths)

    def grad_and_loss(
        self, guesses: Floats2d, truths: Any, missing: Any = None
    ) -> tuple[Floats2d, float]:
        """Both at once, checking and normalising the inputs once."""
        prepared = self._prepare(guesses, truths, missing)
        return self._finish_grad(guesses, *prepared), self._finish_loss(*prepared)

    def get_grad(self, guesses: Floats2d, truths: Any, missing: Any = None) -> Floats2d:
        return self._finish_grad(guesses, *self._prepare(guesses, truths, missing))

    def get_loss(self, guesses: Floats2d, truths: Any, missing: Any = None) -> float:
        return self._finish_loss(*self._prepare(guesses, truths, missing))

    def _finish_grad(self, guesses, probs, target, keep, binary) -> Floats2d:
        grad = self._grad(probs, target) * keep[:, None]
        if self.normalize:
            grad = grad / max(1, len(probs))
        # For one sigmoid column the logit is x1 - x0, whose gradient is that of x1.
        out = grad[:, 1:] if binary else grad
        return out.astype(np.asarray(guesses).dtype, copy=False)

    def _finish_loss(self, probs, target, keep, binary) -> float:
        losses = self._loss(probs, target) * keep
        return float(losses.sum() / max(1, len(probs)) if self.normalize else losses.sum())

    def _prepare(self, guesses, truths, missing):
        guesses = np.asarray(guesses)
        if guesses.ndim != 2 or guesses.shape[1] < 1:
            raise ValueError(f"guesses must have shape (n, k), got {guesses.shape}")
        binary = guesses.shape[1] == 1
        probs = np.concatenate([1.0 - guesses, guesses], axis=1) if binary else guesses
        truths = np.asarray(truths)
        n_classes = probs.shape[1]
        if truths.ndim == 1:
            target = truths.astype(np.int64)
            if len(target) and (target.min() < 0 or target.max() >= n_classes):
                raise ValueError(f"class indices must lie in [0, {n_classes}), got {truths}")
            valid = np.ones(len(target), dtype=bool)
        else:
            if truths.shape != guesses.shape:
                raise ValueError(
                    f"truths have shape {truths.shape}, guesses {guesses.shape}: they must match"
                )
            if not np.isin(truths, (0.0, 1.0)).all():
                raise ValueError("truths must be 0 or 1 (one-hot rows or binary labels)")
            if binary:
                target = truths[:, 0].astype(np.int64)
                valid = np.ones(len(target), dtype=bool)
            else:
                target = truths.argmax(axis=1)
                row_sums = truths.sum(axis=1)
                if (row_sums > 1).any():
                    raise ValueError("exclusive classes: each row of truths has at most one 1")
                valid = row_sums == 1  # an all-zero row has no gold class: no loss
        keep = valid.astype(probs.dtype)
        if missing is not None:
            missing = np.asarray(missing, dtype=probs.dtype)
            keep = keep * (missing.min(axis=1) if missing.ndim == 2 else missing)
        return probs, target, keep, binary

    def _grad(self, probs: np.ndarray, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _loss(self, probs: np.ndarray, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _one_hot(target: np.ndarray, n_classes: int, dtype) -> np.ndarray:
    out = np.zeros((len(target), n_classes), dtype=dtype)
    out[np.arange(len(target)), target] = 1
    return out


def _step(x: np.ndarray) -> np.ndarray:
    """θ(x): 1 for x > 0, 1/2 at 0, 0 below."""
    return (x > 0) + 0.5 * (x == 0)


def _true_prob(probs: np.ndarray, target: np.ndarray) -> np.ndarray:
    return probs[np.arange(len(target)), target]


class CrossEntropy(_ClassLoss):
    """-log p_t; gradient p - y with respect to the logits."""

    def __init__(self, *, normalize: bool = True):
        self.normalize = normalize

    def _grad(self, probs, target):
        return probs - _one_hot(target, probs.shape[1], probs.dtype)

    def _loss(self, probs, target):
        return -np.log(np.maximum(_true_prob(probs, target), _EPS))


class ThresholdLoss(CrossEntropy):
    """Cross-entropy switched off (λ = 0) once the true class's probability exceeds ``margin``;
    λ = 1/2 exactly at the margin (θ(0) = 1/2)."""

    def __init__(self, margin: float = 0.6, *, normalize: bool = True):
        if not 0.5 <= margin < 1.0:
            raise ValueError(f"margin must lie in [0.5, 1), got {margin}")
        self.margin = margin
        self.normalize = normalize

    def mask(self, probs: np.ndarray, target: np.ndarray) -> np.ndarray:
        """λ per row: 1 below the margin, 1/2 at it, 0 above."""
        # Compare in the probabilities' own precision, so that p == m is exact for float32;
        # for two classes compare ŷ with m and 1 - m as the post's formula does.
        if probs.shape[1] == 2:
            y_hat = probs[:, 1]
            high = np.asarray(self.margin, dtype=probs.dtype)
            low = np.asarray(1.0 - self.margin, dtype=probs.dtype)
            step = np.where(target == 1, _step(y_hat - high), _step(low - y_hat))
        else:
            p_true = _true_prob(probs, target)
            step = _step(p_true - np.asarray(self.margin, dtype=probs.dtype))
        return (1.0 - step).astype(probs.dtype)

    def _grad(self, probs, target):
        return super()._grad(probs, target) * self.mask(probs, target)[:, None]

    def _loss(self, probs, target):
        return super()._loss(probs, target) * self.mask(probs, target)


class SoftThresholdLoss(_ClassLoss):
    """L = -softmax(-K·x)_t · log softmax(x)_t, differentiated through the weight too."""

    def __init__(self, sharpness: float = 1.0, *, normalize: bool = True):
        if sharpness <= 0:
            raise ValueError(f"sharpness K must be positive, got {sharpness}")
        self.sharpness = sharpness
        self.normalize = normalize

    def _weights(self, probs):
        # softmax(-K·x) from the probabilities: x = log p + const per row.
        log_p = np.log(np.maximum(probs, _EPS))
        z = -self.sharpness * log_p
        z = z - z.max(axis=1, keepdims=True)
        q = np.exp(z)
        return q / q.sum(axis=1, keepdims=True), log_p

    def _grad(self, probs, target):
        q, log_p = self._weights(probs)
        rows = np.arange(len(target))
        q_t = q[rows, target][:, None]
        log_p_t = log_p[rows, target][:, None]
        one_hot = _one_hot(target, probs.shape[1], probs.dtype)
        # d/dx_j of -q_t log p_t = q_t [K (δ_tj - q_j) log p_t + p_j - δ_tj]
        return q_t * (self.sharpness * (one_hot - q) * log_p_t + probs - one_hot)

    def _loss(self, probs, target):
        q, log_p = self._weights(probs)
        rows = np.arange(len(target))
        return -q[rows, target] * log_p[rows, target]


@registry.losses("spacy_kexue.CrossEntropy.v1")
def configure_cross_entropy(normalize: bool = True) -> CrossEntropy:
    return CrossEntropy(normalize=normalize)


@registry.losses("spacy_kexue.ThresholdLoss.v1")
def configure_threshold_loss(margin: float = 0.6, normalize: bool = True) -> ThresholdLoss:
    return ThresholdLoss(margin, normalize=normalize)


@registry.losses("spacy_kexue.SoftThresholdLoss.v1")
def configure_soft_threshold_loss(
    sharpness: float = 1.0, normalize: bool = True
) -> SoftThresholdLoss:
    return SoftThresholdLoss(sharpness, normalize=normalize)
