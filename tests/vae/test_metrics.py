"""The text-VAE measures on hand-built posteriors: KL, its bound, active units, MI, IW-NLL."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spacy_kexue.vae.metrics import (
    LOG_2PI,
    active_units,
    importance_weighted_nll,
    kl_lower_bound,
    kl_per_doc,
    log_normal,
    mutual_information,
)

# -- kl_per_doc, kl_lower_bound ------------------------------------------------------------


def test_kl_per_doc_by_hand():
    mu = [[0.0, 0.0], [1.0, -2.0], [0.5, 0.0]]
    logvar = [[0.0, 0.0], [0.0, 0.0], [math.log(4.0), math.log(0.25)]]
    expected = [
        0.0,
        2.5,
        0.5 * (0.25 + 4.0 - math.log(4.0) - 1.0) + 0.5 * (0.25 - math.log(0.25) - 1.0),
    ]
    got = kl_per_doc(np.array(mu, np.float32), logvar)
    assert got.dtype == np.float64
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_kl_per_doc_agrees_with_torch():
    torch = pytest.importorskip("torch")
    from spacy_kexue.vae.posterior import gaussian_kl

    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    np.testing.assert_allclose(
        kl_per_doc(mu, logvar),
        gaussian_kl(torch.from_numpy(mu), torch.from_numpy(logvar)).numpy(),
        rtol=1e-12,
    )


def test_kl_lower_bound_by_hand():
    mu = np.array([[1.0, 0.0, -3.0], [3.0, 2.0, 1.0]])
    # mean_i mu_ij^2 = [5, 2, 5] -> half the sum = 6
    assert kl_lower_bound(mu) == pytest.approx(6.0, abs=1e-12)
    assert isinstance(kl_lower_bound(mu), float)
    assert kl_lower_bound(np.zeros((4, 3))) == 0.0


def test_kl_lower_bound_below_mean_kl():
    rng = np.random.default_rng(1)
    for _ in range(20):
        mu = rng.normal(rng.normal(), rng.uniform(0.1, 3), size=(50, 4))
        logvar = rng.normal(0, 2, size=(50, 4))
        assert kl_per_doc(mu, logvar).mean() >= kl_lower_bound(mu)
    # equality when every sigma is 1
    mu = rng.normal(size=(30, 4))
    assert kl_per_doc(mu, np.zeros_like(mu)).mean() == pytest.approx(kl_lower_bound(mu))


# -- active_units --------------------------------------------------------------------------


def columns_with_variances(variances: list[float], n: int = 400, seed: int = 0) -> np.ndarray:
    """Columns with exactly the given (unbiased) variances and arbitrary means."""
    rng = np.random.default_rng(seed)
    cols = []
    for var in variances:
        x = rng.normal(size=n)
        x = (x - x.mean()) / x.std(ddof=1)
        cols.append(rng.normal() * 5 + math.sqrt(var) * x)
    return np.stack(cols, axis=1)


@pytest.mark.parametrize(
    "variances, active",
    [
        ([0.02, 0.005, 0.0], 1),
        ([0.02, 0.02, 0.005, 0.0, 1.0], 3),
        ([0.005, 0.0, 0.009], 0),
        ([0.5, 0.011, 3.0, 0.02], 4),
    ],
)
def test_active_units_counts_columns_above_threshold(variances, active):
    assert active_units(columns_with_variances(variances)) == active


def test_active_units_custom_threshold():
    mu = columns_with_variances([0.02, 0.005, 0.0, 0.5])
    assert active_units(mu, threshold=0.001) == 3
    assert active_units(mu, threshold=0.1) == 1
    assert active_units(mu, threshold=1.0) == 0
    assert active_units(mu, threshold=-1.0) == 4


def test_active_units_uses_unbiased_variance():
    # two docs: values 0 and 0.2 -> unbiased variance 0.02, biased 0.01
    mu = np.array([[0.0], [0.2]])
    assert active_units(mu, threshold=0.015) == 1


@pytest.mark.parametrize("n", [0, 1])
def test_active_units_needs_two_docs(n):
    assert active_units(np.ones((n, 4)) * 3.0) == 0
    assert active_units(np.ones((n, 4)), threshold=-1.0) == 0


# -- mutual_information --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mi_zero_when_every_doc_has_the_same_posterior(seed):
    n = 2000
    mu = np.tile([[0.7, -1.3]], (n, 1))
    logvar = np.tile([[0.2, -0.5]], (n, 1))
    mi = mutual_information(mu, logvar, seed=seed)
    assert abs(mi) < 0.05


def separated(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n docs with means 1 apart and sigma 0.01: each z identifies its doc."""
    return np.arange(n, dtype=np.float64)[:, None], np.full((n, 1), 2 * math.log(0.01))


@pytest.mark.parametrize("n", [200, 1000])
def test_mi_is_log_n_for_separated_docs(n):
    mi = mutual_information(*separated(n), seed=0, batch=64)
    assert mi == pytest.approx(math.log(n), abs=0.05)


def test_mi_is_log_n_for_few_separated_docs_on_average():
    """With 10 docs one draw per doc is noisy (sd ~0.2); the mean over seeds is not."""
    mis = [mutual_information(*separated(10), seed=s) for s in range(40)]
    assert np.mean(mis) == pytest.approx(math.log(10), abs=0.08)


def test_mi_bounded_by_log_n_in_expectation():
    rng = np.random.default_rng(0)
    n = 300
    mu = rng.normal(scale=100, size=(n, 3))
    logvar = np.full((n, 3), -8.0)
    mis = [mutual_information(mu, logvar, seed=s) for s in range(5)]
    assert np.mean(mis) == pytest.approx(math.log(n), abs=0.05)


def test_mi_grows_with_separation():
    rng = np.random.default_rng(3)
    n = 500
    base = rng.normal(size=(n, 2))
    logvar = np.zeros((n, 2))
    mis = [mutual_information(base * s, logvar, seed=0) for s in (0.0, 0.3, 1.0, 3.0, 10.0)]
    assert all(a < b for a, b in zip(mis, mis[1:], strict=False)), mis
    assert abs(mis[0]) < 0.1
    assert mis[-1] < math.log(n) + 0.1


def test_mi_deterministic_for_a_seed_and_independent_of_batch():
    rng = np.random.default_rng(4)
    mu, logvar = rng.normal(size=(300, 3)), rng.normal(scale=0.5, size=(300, 3))
    a = mutual_information(mu, logvar, seed=7)
    assert mutual_information(mu, logvar, seed=7) == a
    assert mutual_information(mu, logvar, seed=7, batch=13) == pytest.approx(a, abs=1e-10)
    assert mutual_information(mu, logvar, seed=8) != a


def test_mi_of_a_gaussian_channel():
    """mu ~ N(0, s^2) and q(z|x) = N(mu, 1): the aggregate posterior is ~N(0, 1 + s^2), so
    I(x; z) ~= 1/2 log(1 + s^2) when the docs are many and the mixture is smooth."""
    rng = np.random.default_rng(5)
    n, s = 3000, 1.0
    mu = rng.normal(scale=s, size=(n, 1))
    mi = mutual_information(mu, np.zeros((n, 1)), seed=0)
    assert mi == pytest.approx(0.5 * math.log(1 + s**2), abs=0.05)


def test_mi_no_docs():
    assert mutual_information(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


# -- log_normal ----------------------------------------------------------------------------


def test_log_normal_by_hand():
    z = np.array([1.0, -1.0])
    mu = np.array([0.0, 1.0])
    logvar = np.array([0.0, math.log(4.0)])
    expected = (-0.5 * (1.0 + LOG_2PI)) + (-0.5 * (4.0 / 4.0 + math.log(4.0) + LOG_2PI))
    assert float(log_normal(z, mu, logvar)) == pytest.approx(expected, abs=1e-12)


# -- importance_weighted_nll ---------------------------------------------------------------


@pytest.mark.parametrize("samples", [1, 5, 100])
def test_iw_nll_prior_proposal_and_constant_likelihood(samples):
    """q(z|x) = p(z) and log p(x|z) = c: every log-weight is c, so -log p(x) = -c exactly."""
    n, d = 4, 3
    c = np.array([-3.0, -10.5, 0.0, -123.25])
    calls = []

    def log_px_given_z(z):
        calls.append(z.shape)
        return c

    got = importance_weighted_nll(
        log_px_given_z, np.zeros((n, d)), np.zeros((n, d)), samples=samples, seed=1
    )
    assert got.shape == (n,)
    np.testing.assert_allclose(got, -c, rtol=0, atol=1e-9)
    assert calls == [(n, d)] * samples


def log_px_given_z_conjugate(x: np.ndarray):
    """p(x|z) = N(x; z, 1) in one dimension, per doc."""

    def f(z: np.ndarray) -> np.ndarray:
        return log_normal(x[:, None], z, np.zeros_like(z))

    return f


def true_nll(x: np.ndarray) -> np.ndarray:
    """-log N(x; 0, 2), the marginal of p(z) = N(0, 1), p(x|z) = N(z, 1)."""
    return 0.5 * (x**2 / 2 + math.log(2.0) + LOG_2PI)


@pytest.mark.parametrize("samples", [1, 3, 50])
@pytest.mark.parametrize("seed", [0, 1])
def test_iw_nll_exact_posterior_gives_exact_nll(samples, seed):
    x = np.array([-3.0, -0.5, 0.0, 1.0, 4.0])
    mu = (x / 2)[:, None]
    logvar = np.full((len(x), 1), math.log(0.5))
    got = importance_weighted_nll(
        log_px_given_z_conjugate(x), mu, logvar, samples=samples, seed=seed
    )
    np.testing.assert_allclose(got, true_nll(x), rtol=0, atol=1e-9)


def test_iw_nll_worse_proposal_is_an_upper_bound_that_tightens():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=math.sqrt(2.0), size=2000)
    # a poor q(z|x): the prior, shifted and too wide
    mu = np.full((len(x), 1), 0.3)
    logvar = np.full((len(x), 1), math.log(1.5))
    exact = true_nll(x).mean()
    gaps = []
    for samples in (1, 10, 100):
        est = importance_weighted_nll(
            log_px_given_z_conjugate(x), mu, logvar, samples=samples, seed=samples
        )
        assert np.isfinite(est).all()
        gaps.append(est.mean() - exact)
    assert gaps[0] > 0.05  # one sample: the ELBO, off by E_x KL(q || p(z|x))
    assert all(g > 0 for g in gaps)
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.02


def test_iw_nll_elbo_gap_with_one_sample():
    """With one sample, E[-log w] = -log p(x) + KL(q(z|x) || p(z|x)); for Gaussians the KL is
    known in closed form."""
    n = 20000
    x = np.full(n, 1.2)
    m, v = 0.0, 1.0  # q = N(0, 1); the posterior is N(0.6, 0.5)
    mu, logvar = np.full((n, 1), m), np.full((n, 1), math.log(v))
    est = importance_weighted_nll(log_px_given_z_conjugate(x), mu, logvar, samples=1, seed=0)
    kl = 0.5 * (v / 0.5 + (0.6 - m) ** 2 / 0.5 - 1 + math.log(0.5 / v))
    assert est.mean() == pytest.approx(true_nll(x[:1])[0] + kl, abs=0.02)


def test_iw_nll_deterministic_for_a_seed():
    x = np.array([0.5, -2.0])
    mu, logvar = np.zeros((2, 1)), np.zeros((2, 1))
    f = log_px_given_z_conjugate(x)
    a = importance_weighted_nll(f, mu, logvar, samples=5, seed=3)
    np.testing.assert_array_equal(a, importance_weighted_nll(f, mu, logvar, samples=5, seed=3))
    assert not np.array_equal(a, importance_weighted_nll(f, mu, logvar, samples=5, seed=4))


def test_iw_nll_stable_for_very_unlikely_docs():
    """log-sum-exp: log-likelihoods far below float underflow still give a finite answer."""
    c = np.array([-5000.0, -1e5])
    got = importance_weighted_nll(lambda z: c, np.zeros((2, 2)), np.zeros((2, 2)), samples=10)
    np.testing.assert_allclose(got, -c, rtol=1e-12)
