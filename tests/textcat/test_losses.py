"""The classification losses of ``kexue_textcat`` (spacy_kexue.textcat.losses) against values and
gradients computed by hand, the post's sigmoid formula, and finite differences on the logits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from thinc.api import registry

from spacy_kexue.textcat.losses import CrossEntropy, SoftThresholdLoss, ThresholdLoss

M = 0.6


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def col(*values, dtype=np.float32):
    return np.asarray(values, dtype=dtype).reshape(-1, 1)


# --- ThresholdLoss: hand-computed cases -----------------------------------------------------

# (ŷ, y, λ): ŷ the positive probability, y the label, λ the mask the post's formula gives.
BINARY_CASES = [
    (0.7, 1, 0.0),  # confidently right: no loss
    (0.3, 1, 1.0),  # wrong: full cross-entropy
    (0.6, 1, 0.5),  # exactly at the margin: θ(0) = 1/2
    (0.4, 0, 0.5),  # exactly at 1 - m for a negative
    (0.35, 0, 0.0),  # negative below 1 - m: no loss
    (0.5, 0, 1.0),
    (0.59, 1, 1.0),
    (0.61, 1, 0.0),
    (0.41, 0, 1.0),
    (0.9, 0, 1.0),
]


@pytest.mark.parametrize("y_hat, y, lam", BINARY_CASES)
def test_threshold_binary_one_column(y_hat, y, lam):
    loss_fn = ThresholdLoss(M)
    guesses = col(y_hat)
    truths = col(y)
    p_true = y_hat if y == 1 else 1.0 - y_hat
    grad, loss = loss_fn(guesses, truths)
    assert grad.shape == (1, 1)
    assert grad.dtype == np.float32
    assert loss == pytest.approx(lam * -math.log(p_true), rel=1e-5, abs=1e-7)
    assert grad[0, 0] == pytest.approx(lam * (y_hat - y), rel=1e-5, abs=1e-7)
    # class indices give the same answer as 0/1 floats
    np.testing.assert_allclose(loss_fn.get_grad(guesses, np.asarray([y])), grad)
    assert loss_fn.get_loss(guesses, np.asarray([y])) == pytest.approx(loss)


@pytest.mark.parametrize("y_hat, y, lam", BINARY_CASES)
def test_threshold_binary_two_columns(y_hat, y, lam):
    """The same cases as a 2-class softmax: rows [1 - ŷ, ŷ], one-hot truths."""
    loss_fn = ThresholdLoss(M)
    p = np.float32(y_hat)
    guesses = np.asarray([[np.float32(1) - p, p]], dtype=np.float32)
    truths = np.asarray([[1.0 - y, float(y)]], dtype=np.float32)
    p_true = float(guesses[0, y])
    grad, loss = loss_fn(guesses, truths)
    assert grad.shape == (1, 2)
    assert loss == pytest.approx(lam * -math.log(p_true), rel=1e-5, abs=1e-7)
    expected = lam * (guesses[0] - truths[0])
    np.testing.assert_allclose(grad[0], expected, rtol=1e-5, atol=1e-7)


def test_threshold_margin_is_exact_in_float32():
    """ŷ = 0.6 as float32 is 0.60000002 > 0.6 as float64: the comparison must still say 'equal'."""
    assert float(np.float32(0.6)) > 0.6
    loss_fn = ThresholdLoss(M, normalize=False)
    loss = loss_fn.get_loss(col(0.6), col(1))
    assert loss == pytest.approx(0.5 * -math.log(0.6), rel=1e-5)
    loss = loss_fn.get_loss(col(0.4), col(0))
    assert loss == pytest.approx(0.5 * -math.log(0.6), rel=1e-5)


def theta(x: float) -> float:
    return 1.0 if x > 0 else (0.5 if x == 0 else 0.0)


@pytest.mark.parametrize("y", [0, 1])
def test_threshold_binary_matches_post_formula(y):
    """λ = 1 - θ(y-m)θ(ŷ-m) - θ(1-m-y)θ(1-m-ŷ) on a grid of ŷ (computed in float32 like the
    loss, so that the grid points at m and 1 - m land exactly on the margin)."""
    loss_fn = ThresholdLoss(M, normalize=False)
    grid = np.asarray([i / 20 for i in range(1, 20)] + [0.6, 0.4, 0.001, 0.999], dtype=np.float32)
    m32, low32 = np.float32(M), np.float32(1 - M)
    for y_hat in grid:
        lam = 1.0 - theta(y - M) * theta(y_hat - m32) - theta(1 - M - y) * theta(low32 - y_hat)
        grad = loss_fn.get_grad(col(y_hat), col(y))
        assert grad[0, 0] == pytest.approx(lam * (float(y_hat) - y), abs=1e-7), (y_hat, y)
    assert {theta(y - M), theta(1 - M - y)} == {0.0, 1.0}


def test_threshold_three_classes():
    loss_fn = ThresholdLoss(M, normalize=False)
    guesses = np.asarray(
        [
            [0.2, 0.5, 0.3],  # true 1 at 0.5 < m: λ = 1
            [0.1, 0.7, 0.2],  # true 1 at 0.7 > m: λ = 0
            [0.6, 0.3, 0.1],  # true 0 exactly at m: λ = 1/2
            [0.6, 0.3, 0.1],  # true 2 at 0.1: λ = 1 (a high wrong class does not switch it off)
        ],
        dtype=np.float32,
    )
    target = np.asarray([1, 1, 0, 2])
    lam = np.asarray([1.0, 0.0, 0.5, 1.0])
    one_hot = np.eye(3, dtype=np.float32)[target]
    p_true = guesses[np.arange(4), target].astype(np.float64)
    grad, loss = loss_fn(guesses, one_hot)
    assert loss == pytest.approx(float((lam * -np.log(p_true)).sum()), rel=1e-5)
    np.testing.assert_allclose(grad, lam[:, None] * (guesses - one_hot), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss_fn.get_grad(guesses, target), grad)
    assert not grad[1].any()


def test_threshold_margin_parameter():
    """A higher margin keeps training samples the default margin switches off."""
    guesses, truths = col(0.7), col(1)
    assert ThresholdLoss(0.6).get_loss(guesses, truths) == 0.0
    assert ThresholdLoss(0.8).get_loss(guesses, truths) == pytest.approx(-math.log(0.7), rel=1e-5)
    # m = 0.5 is plain cross-entropy except exactly at 1/2
    assert ThresholdLoss(0.5).get_loss(col(0.51), truths) == 0.0


@pytest.mark.parametrize("margin", [0.4, 1.0, 1.5, -0.1])
def test_threshold_bad_margin(margin):
    with pytest.raises(ValueError, match="margin"):
        ThresholdLoss(margin)


# --- normalisation and masking ----------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [CrossEntropy, ThresholdLoss, SoftThresholdLoss])
def test_normalize_divides_by_rows(loss_cls):
    guesses = np.asarray([[0.3, 0.7], [0.8, 0.2], [0.55, 0.45], [0.1, 0.9]], dtype=np.float32)
    truths = np.asarray([[0, 1], [0, 1], [1, 0], [1, 0]], dtype=np.float32)
    total = loss_cls(normalize=False)
    mean = loss_cls()
    grad_sum, loss_sum = total(guesses, truths)
    grad_mean, loss_mean = mean(guesses, truths)
    assert loss_sum > 0
    assert loss_mean == pytest.approx(loss_sum / 4, rel=1e-6)
    np.testing.assert_allclose(grad_mean, grad_sum / 4, rtol=1e-6)
    # the sum is the sum of the rows taken one at a time
    rows = [total.get_loss(guesses[i : i + 1], truths[i : i + 1]) for i in range(4)]
    assert loss_sum == pytest.approx(sum(rows), rel=1e-6)


@pytest.mark.parametrize("loss_cls", [CrossEntropy, ThresholdLoss, SoftThresholdLoss])
def test_all_zero_truth_rows_contribute_nothing(loss_cls):
    loss_fn = loss_cls(normalize=False)
    guesses = np.asarray([[0.2, 0.5, 0.3], [0.3, 0.3, 0.4]], dtype=np.float32)
    truths = np.asarray([[0, 1, 0], [0, 0, 1]], dtype=np.float32)
    with_empty = np.concatenate([guesses, [[0.1, 0.1, 0.8]]]).astype(np.float32)
    truths_empty = np.concatenate([truths, [[0, 0, 0]]]).astype(np.float32)
    grad, loss = loss_fn(with_empty, truths_empty)
    assert loss == pytest.approx(loss_fn.get_loss(guesses, truths), rel=1e-6)
    assert loss > 0
    np.testing.assert_array_equal(grad[2], 0)
    np.testing.assert_allclose(grad[:2], loss_fn.get_grad(guesses, truths), rtol=1e-6)


@pytest.mark.parametrize("loss_cls", [CrossEntropy, ThresholdLoss, SoftThresholdLoss])
@pytest.mark.parametrize("missing_2d", [False, True])
def test_missing_rows_contribute_nothing(loss_cls, missing_2d):
    loss_fn = loss_cls(normalize=False)
    guesses = np.asarray([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]], dtype=np.float32)
    truths = np.asarray([[0, 1], [0, 1], [1, 0]], dtype=np.float32)
    missing = np.asarray([1, 0, 1], dtype=np.float32)
    if missing_2d:
        missing = np.repeat(missing[:, None], 2, axis=1)
    grad = loss_fn.get_grad(guesses, truths, missing)
    loss = loss_fn.get_loss(guesses, truths, missing)
    np.testing.assert_array_equal(grad[1], 0)
    kept = [0, 2]
    np.testing.assert_allclose(grad[kept], loss_fn.get_grad(guesses[kept], truths[kept]), rtol=1e-6)
    assert loss == pytest.approx(loss_fn.get_loss(guesses[kept], truths[kept]), rel=1e-6)
    # row 1 is badly wrong: without the mask the loss is larger
    assert loss_fn.get_loss(guesses, truths) > loss + 1.0


# --- CrossEntropy -------------------------------------------------------------------------------


def test_cross_entropy_values():
    loss_fn = CrossEntropy(normalize=False)
    guesses = np.asarray([[0.2, 0.5, 0.3], [0.7, 0.2, 0.1]], dtype=np.float32)
    truths = np.asarray([[0, 0, 1], [1, 0, 0]], dtype=np.float32)
    grad, loss = loss_fn(guesses, truths)
    np.testing.assert_allclose(grad, guesses - truths, rtol=1e-6)
    assert loss == pytest.approx(-math.log(0.3) - math.log(0.7), rel=1e-5)
    # binary column: ŷ - y
    grad, loss = loss_fn(col(0.8, 0.25), col(1, 0))
    np.testing.assert_allclose(grad, [[-0.2], [0.25]], rtol=1e-5)
    assert loss == pytest.approx(-math.log(0.8) - math.log(0.75), rel=1e-5)


def test_cross_entropy_clips_zero_probability():
    loss = CrossEntropy().get_loss(np.asarray([[1.0, 0.0]], dtype=np.float32), np.asarray([1]))
    assert math.isfinite(loss) and loss > 20


# --- SoftThresholdLoss ----------------------------------------------------------------------

LOGITS = [-3.0, -1.2, -0.3, 0.0, 0.4, 1.5, 4.0]


@pytest.mark.parametrize("sharpness", [1.0, 2.0, 5.0])
@pytest.mark.parametrize("y", [0, 1])
def test_soft_threshold_binary_formula(sharpness, y):
    loss_fn = SoftThresholdLoss(sharpness, normalize=False)
    for x in LOGITS:
        if y == 1:
            expected = -sigmoid(-sharpness * x) * math.log(sigmoid(x))
        else:
            expected = -sigmoid(sharpness * x) * math.log(sigmoid(-x))
        got = loss_fn.get_loss(col(sigmoid(x), dtype=np.float64), col(y, dtype=np.float64))
        assert got == pytest.approx(expected, rel=1e-9), x


@pytest.mark.parametrize("y", [0, 1])
def test_soft_threshold_k1_is_focal_gamma1(y):
    loss_fn = SoftThresholdLoss(1.0, normalize=False)
    for p in [0.01, 0.2, 0.5, 0.6, 0.93]:
        p_true = p if y == 1 else 1 - p
        focal = -(1 - p_true) * math.log(p_true)
        got = loss_fn.get_loss(col(p, dtype=np.float64), col(y, dtype=np.float64))
        assert got == pytest.approx(focal, rel=1e-9)


def test_soft_threshold_multiclass_formula():
    loss_fn = SoftThresholdLoss(3.0, normalize=False)
    x = np.asarray([[0.5, -1.0, 2.0], [1.0, 1.0, -0.5]])
    target = np.asarray([0, 1])
    expected = sum(
        -softmax(-3.0 * x[i])[t] * math.log(softmax(x[i])[t]) for i, t in enumerate(target)
    )
    assert loss_fn.get_loss(softmax(x), target) == pytest.approx(expected, rel=1e-9)


def test_soft_threshold_is_smaller_than_cross_entropy_and_sharper_for_large_k():
    """A well-classified sample weighs little; a larger K switches it off more sharply."""
    guesses, truths = col(0.9, dtype=np.float64), col(1, dtype=np.float64)
    ce = CrossEntropy().get_loss(guesses, truths)
    soft1 = SoftThresholdLoss(1.0).get_loss(guesses, truths)
    soft5 = SoftThresholdLoss(5.0).get_loss(guesses, truths)
    assert 0 < soft5 < soft1 < ce


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_soft_threshold_bad_sharpness(bad):
    with pytest.raises(ValueError, match="sharpness"):
        SoftThresholdLoss(bad)


def numeric_grad(loss_of_logits, x, eps=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        grad[idx] = (loss_of_logits(up) - loss_of_logits(down)) / (2 * eps)
    return grad


@pytest.mark.parametrize("sharpness", [0.5, 1.0, 3.0])
def test_soft_threshold_grad_binary_finite_differences(sharpness):
    loss_fn = SoftThresholdLoss(sharpness)
    x = np.asarray([[v] for v in LOGITS])
    truths = np.asarray([[1], [0], [1], [0], [1], [0], [1]], dtype=np.float64)

    def loss_of(logits):
        return loss_fn.get_loss(sigmoid(logits), truths)

    analytic = loss_fn.get_grad(sigmoid(x), truths)
    np.testing.assert_allclose(analytic, numeric_grad(loss_of, x), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("sharpness", [0.5, 1.0, 3.0])
def test_soft_threshold_grad_multiclass_finite_differences(sharpness):
    loss_fn = SoftThresholdLoss(sharpness)
    rng = np.random.default_rng(0)
    x = rng.normal(scale=1.5, size=(5, 4))
    target = np.asarray([0, 3, 1, 2, 2])
    truths = np.eye(4)[target]

    def loss_of(logits):
        return loss_fn.get_loss(softmax(logits), truths)

    analytic = loss_fn.get_grad(softmax(x), truths)
    np.testing.assert_allclose(analytic, numeric_grad(loss_of, x), rtol=1e-5, atol=1e-8)
    # the weight is differentiated: the gradient is not the weighted cross-entropy's
    q_t = softmax(-sharpness * x)[np.arange(5), target][:, None]
    assert not np.allclose(analytic, q_t * (softmax(x) - truths) / 5, atol=1e-4)


@pytest.mark.parametrize("loss_cls", [CrossEntropy, ThresholdLoss])
def test_hard_losses_grad_finite_differences(loss_cls):
    """Away from the margin, the gradients are those of the loss as a function of the logits."""
    loss_fn = loss_cls()
    x = np.asarray([[0.2, 1.0, -0.5], [2.0, -1.0, 0.0], [-1.0, 0.5, 0.3]])
    target = np.asarray([1, 2, 0])
    truths = np.eye(3)[target]

    def loss_of(logits):
        return loss_fn.get_loss(softmax(logits), truths)

    np.testing.assert_allclose(
        loss_fn.get_grad(softmax(x), truths), numeric_grad(loss_of, x), rtol=1e-5, atol=1e-8
    )
    # binary sigmoid column: the logit of ŷ
    xb = np.asarray([[-0.8], [0.1], [1.2]])
    tb = np.asarray([[1.0], [0.0], [0.0]])
    np.testing.assert_allclose(
        loss_fn.get_grad(sigmoid(xb), tb),
        numeric_grad(lambda z: loss_fn.get_loss(sigmoid(z), tb), xb),
        rtol=1e-5,
        atol=1e-8,
    )


# --- bad inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [CrossEntropy, ThresholdLoss, SoftThresholdLoss])
@pytest.mark.parametrize(
    "guesses, truths",
    [
        (np.asarray([[0.3], [0.6]], dtype=np.float32), np.asarray([[0.5], [1.0]])),
        (np.asarray([[0.3, 0.7]], dtype=np.float32), np.asarray([[0.5, 0.5]])),
        (np.asarray([[0.3, 0.7]], dtype=np.float32), np.asarray([[1.0], [0.0]])),
        (np.asarray([[0.3, 0.7]], dtype=np.float32), np.asarray([[0.0, 1.0, 0.0]])),
        (np.asarray([[0.2, 0.3, 0.5]], dtype=np.float32), np.asarray([[1.0, 1.0, 0.0]])),
        (np.asarray([[0.3, 0.7]], dtype=np.float32), np.asarray([2])),
        (np.asarray([[0.3, 0.7]], dtype=np.float32), np.asarray([-1])),
        (np.asarray([0.3, 0.7], dtype=np.float32), np.asarray([1, 0])),
    ],
)
def test_bad_truths_raise(loss_cls, guesses, truths):
    loss_fn = loss_cls()
    with pytest.raises(ValueError):
        loss_fn.get_grad(guesses, truths)
    with pytest.raises(ValueError):
        loss_fn.get_loss(guesses, truths)


# --- registry -----------------------------------------------------------------------------------


def test_registry():
    resolved = registry.resolve(
        {
            "threshold": {"@losses": "spacy_kexue.ThresholdLoss.v1", "margin": 0.7},
            "soft": {"@losses": "spacy_kexue.SoftThresholdLoss.v1", "sharpness": 2.5},
            "ce": {"@losses": "spacy_kexue.CrossEntropy.v1", "normalize": False},
            "default": {"@losses": "spacy_kexue.ThresholdLoss.v1"},
        }
    )
    assert isinstance(resolved["threshold"], ThresholdLoss)
    assert resolved["threshold"].margin == 0.7
    assert resolved["threshold"].normalize is True
    assert isinstance(resolved["soft"], SoftThresholdLoss)
    assert resolved["soft"].sharpness == 2.5
    assert isinstance(resolved["ce"], CrossEntropy)
    assert resolved["ce"].normalize is False
    assert resolved["default"].margin == 0.6


def test_registry_via_spacy_config_validates_margin():
    with pytest.raises(ValueError, match="margin"):
        registry.resolve({"x": {"@losses": "spacy_kexue.ThresholdLoss.v1", "margin": 0.3}})
