"""Posterior heads of the text VAE: the BN lower bounds on the KL, running statistics, errors."""

from __future__ import annotations

import math

import pytest
import torch

from spacy_kexue.vae.metrics import kl_lower_bound
from spacy_kexue.vae.posterior import (
    POSTERIORS,
    BNPaperPosterior,
    BNSuPosterior,
    build_posterior,
    gaussian_kl,
)

N_IN, LATENT = 12, 6
BATCH_SIZES = [8, 31, 256]
SEEDS = [0, 1, 2]


def random_features(seed: int, batch: int, n_in: int = N_IN) -> torch.Tensor:
    """Encoder features with an arbitrary per-feature mean (-50..50) and scale (1..30)."""
    g = torch.Generator().manual_seed(seed)
    mean = (torch.rand(n_in, generator=g) - 0.5) * 100
    scale = 1 + 29 * torch.rand(n_in, generator=g)
    return mean + scale * torch.randn(batch, n_in, generator=g)


def make_head(kind: str, seed: int, *, randomise: bool = False, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    head = build_posterior(kind, N_IN, LATENT, **kw)
    if randomise:
        with torch.no_grad():
            if kind == "bn_paper":
                head.beta.normal_(0.0, 2.0)
            if kind in ("bn_su", "bn_su_rms"):
                head.theta.normal_(0.0, 3.0)
    return head.train()


def mean_kl(mu: torch.Tensor, logvar: torch.Tensor) -> float:
    return float(gaussian_kl(mu, logvar).double().mean())


# -- gaussian_kl by hand ------------------------------------------------------------------


def test_gaussian_kl_by_hand():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0], [0.5, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.0, 0.0], [math.log(4.0), math.log(0.25)]])
    expected = torch.tensor(
        [
            0.0,
            0.5 * (1.0 + 4.0),
            0.5 * (0.25 + 4.0 - math.log(4.0) - 1.0) + 0.5 * (0.25 - math.log(0.25) - 1.0),
        ]
    )
    got = gaussian_kl(mu, logvar)
    assert got.shape == (3,)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_gaussian_kl_is_per_row_and_nonnegative():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 3, 4, generator=g)
    logvar = torch.randn(5, 3, 4, generator=g)
    got = gaussian_kl(mu, logvar)
    assert got.shape == (5, 3)
    assert (got >= 0).all()
    # the KL of a standard normal against itself is 0
    assert float(gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max()) == 0.0


# -- E_x[KL] >= 1/2 sum_j mean_i mu_ij^2, for any posterior --------------------------------


@pytest.mark.parametrize("kind", POSTERIORS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("batch", BATCH_SIZES)
@pytest.mark.parametrize("randomise", [False, True])
def test_mean_kl_at_least_lower_bound(kind, seed, batch, randomise):
    head = make_head(kind, seed, randomise=randomise)
    with torch.no_grad():
        mu, logvar = head(random_features(seed + 100, batch))
    assert mu.shape == logvar.shape == (batch, LATENT)
    bound = kl_lower_bound(mu.numpy())
    assert bound > 0
    assert mean_kl(mu, logvar) >= bound * (1 - 1e-5) - 1e-6


# -- bn_paper: the bound is (d/2)(beta^2 + gamma^2) up to BN's eps ---------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("batch", BATCH_SIZES)
@pytest.mark.parametrize("gamma", [0.3, 0.6, 1.5])
@pytest.mark.parametrize("randomise", [False, True])
def test_bn_paper_bound(seed, batch, gamma, randomise):
    head = make_head("bn_paper", seed, randomise=randomise, gamma=gamma)
    h = random_features(seed + 200, batch)
    with torch.no_grad():
        mu, logvar = head(h)
        pre = head.mu(h).double()
    var = pre.var(dim=0, unbiased=False)
    eps = head.mu_bn.eps
    beta = head.beta.detach().double()
    expected = 0.5 * float((beta.square() + gamma**2 * var / (var + eps)).sum())
    bound = kl_lower_bound(mu.numpy())
    assert bound == pytest.approx(expected, rel=1e-4)
    floor = LATENT * gamma**2 / 2 * (1 - 1e-3)
    assert bound >= floor
    assert mean_kl(mu, logvar) >= floor
    # the per-dimension batch mean of mu is beta, its (biased) variance gamma^2
    torch.testing.assert_close(mu.double().mean(0), beta, rtol=0, atol=1e-4)
    torch.testing.assert_close(
        mu.double().var(0, unbiased=False),
        torch.full((LATENT,), gamma**2, dtype=torch.float64),
        rtol=1e-3,
        atol=0,
    )


# -- bn_su: gamma_mu^2 + gamma_sigma^2 = 1 and E[KL] >= d tau / 2 ---------------------------


@pytest.mark.parametrize("tau", [0.1, 0.5, 0.9])
def test_bn_su_scales_sum_to_one(tau):
    head = BNSuPosterior(N_IN, 50, tau=tau)
    gamma_mu, gamma_sigma = head.scales()
    # theta starts at 0: gamma_mu^2 = tau + (1 - tau)/2
    torch.testing.assert_close(gamma_mu.square(), torch.full((50,), tau + (1 - tau) / 2))
    with torch.no_grad():
        head.theta.copy_(torch.linspace(-40.0, 40.0, 50))
    with torch.no_grad():
        gamma_mu, gamma_sigma = head.scales()
    total = gamma_mu.double().square() + gamma_sigma.double().square()
    torch.testing.assert_close(total, torch.ones(50, dtype=torch.float64), rtol=0, atol=1e-6)
    assert float(gamma_mu.square().min()) >= tau * (1 - 1e-6)
    assert float(gamma_sigma.max()) <= math.sqrt(1 - tau) + 1e-6


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("batch", BATCH_SIZES)
@pytest.mark.parametrize("tau", [0.2, 0.5])
@pytest.mark.parametrize("theta", ["zero", "random", "very_negative", "very_positive"])
@pytest.mark.parametrize("kind", ["bn_su", "bn_su_rms"])
def test_bn_su_bound(kind, seed, batch, tau, theta):
    head = make_head(kind, seed, tau=tau)
    with torch.no_grad():
        if theta == "random":
            head.theta.normal_(0.0, 3.0)
        elif theta == "very_negative":
            head.theta.fill_(-30.0)
        elif theta == "very_positive":
            head.theta.fill_(30.0)
        mu, logvar = head(random_features(seed + 300, batch))
    floor = LATENT * tau / 2 * (1 - 1e-3)
    bound = kl_lower_bound(mu.numpy())
    assert bound >= floor
    assert mean_kl(mu, logvar) >= floor
    # per dimension, E[mu^2] + E[sigma^2] = 1 over the batch (up to BN's eps)
    second_moments = mu.double().square().mean(0) + logvar.double().exp().mean(0)
    torch.testing.assert_close(
        second_moments, torch.ones(LATENT, dtype=torch.float64), rtol=0, atol=1e-3
    )


@pytest.mark.parametrize("tau", [0.2, 0.5])
def test_bn_su_rms_lets_sigma_be_constant(tau):
    """With the same sigma for every doc, bn_su_rms reaches the KL of sigma^2 = gamma_sigma^2
    (-1/2 log gamma_sigma^2 per dimension), while centred BN (bn_su) maps a constant to 0."""
    h = random_features(0, 64)
    kls = {}
    for kind in ("bn_su", "bn_su_rms"):
        head = make_head(kind, 0, tau=tau)
        with torch.no_grad():
            head.sigma.weight.zero_()
            head.sigma.bias.fill_(0.7)
            mu, logvar = head(h)
        kls[kind] = mean_kl(mu, logvar)
    gamma_sigma_sq = (1 - tau) / 2  # theta = 0
    expected = -0.5 * math.log(gamma_sigma_sq) * LATENT
    assert kls["bn_su_rms"] == pytest.approx(expected, rel=1e-3)
    assert kls["bn_su_rms"] >= LATENT * tau / 2
    assert kls["bn_su"] > 5 * kls["bn_su_rms"]


def test_bn_su_rms_running_mean_square():
    head = make_head("bn_su_rms", 0)
    assert torch.equal(head.sigma_bn.running_ms, torch.ones(LATENT))
    with torch.no_grad():
        head(random_features(0, 32))
    assert float((head.sigma_bn.running_ms - 1).abs().max()) > 1e-3
    frozen = head.sigma_bn.running_ms.clone()
    with torch.no_grad():
        head.eval()
        head(random_features(1, 32))
    torch.testing.assert_close(head.sigma_bn.running_ms, frozen, rtol=0, atol=0)


def test_bn_su_theta_is_trainable_and_starts_at_zero():
    head = BNSuPosterior(N_IN, LATENT)
    assert head.theta.requires_grad
    assert float(head.theta.detach().abs().max()) == 0.0
    mu, logvar = head(random_features(0, 16))
    gaussian_kl(mu, logvar).mean().backward()
    assert head.theta.grad is not None
    assert float(head.theta.grad.abs().max()) > 0


def test_bn_paper_gamma_is_fixed():
    head = BNPaperPosterior(N_IN, LATENT, gamma=0.7)
    names = {name for name, _ in head.named_parameters()}
    assert "beta" in names
    assert not any("gamma" in name for name in names)
    assert head.mu_bn.weight is None and head.mu_bn.bias is None  # no BN affine


# -- vanilla: no bound ---------------------------------------------------------------------


def test_vanilla_kl_can_vanish():
    head = make_head("vanilla", 0)
    with torch.no_grad():
        for p in head.parameters():
            p.zero_()
        mu, logvar = head(random_features(0, 64))
    assert mean_kl(mu, logvar) == 0.0
    assert kl_lower_bound(mu.numpy()) == 0.0
    # while a BN head on the same features keeps its floor
    with torch.no_grad():
        mu, logvar = make_head("bn_su", 0)(random_features(0, 64))
    assert mean_kl(mu, logvar) >= LATENT * 0.5 / 2 * (1 - 1e-3)


def test_vanilla_has_no_batch_statistics():
    head = make_head("vanilla", 0)
    h = random_features(0, 16)
    with torch.no_grad():
        mu, logvar = head(h)
        mu1, logvar1 = head(h[:1])
    torch.testing.assert_close(mu1, mu[:1])
    torch.testing.assert_close(logvar1, logvar[:1])


# -- eval mode uses running statistics -----------------------------------------------------


@pytest.mark.parametrize("kind", POSTERIORS)
def test_eval_mode_row_alone_equals_row_in_batch(kind):
    head = make_head(kind, 0, randomise=True)
    with torch.no_grad():
        for step in range(5):
            head(torch.randn(32, N_IN) + step)
        head.eval()
        batch = torch.randn(17, N_IN, generator=torch.Generator().manual_seed(99))
        mu, logvar = head(batch)
        for row in (0, 8, 16):
            mu1, logvar1 = head(batch[row : row + 1])
            torch.testing.assert_close(mu1[0], mu[row], rtol=0, atol=1e-6)
            # log sigma^2 can reach about -18 (sigma near 0): float32 rounding is relative there
            torch.testing.assert_close(logvar1[0], logvar[row], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["bn_paper", "bn_su", "bn_su_rms"])
def test_train_mode_depends_on_batch_but_eval_does_not(kind):
    """The contrast that makes the eval-mode test meaningful: in training, BN normalises with
    the batch's statistics, so a row's code changes with its batch-mates."""
    head = make_head(kind, 0, randomise=True)
    h = random_features(1, 16)
    with torch.no_grad():
        mu_a, _ = head(h)
        mu_b, _ = head(torch.cat([h[:8], random_features(2, 8)]))
        assert float((mu_a[:8] - mu_b[:8]).abs().max()) > 1e-3
        head.eval()
        mu_a, _ = head(h)
        mu_b, _ = head(torch.cat([h[:8], random_features(2, 8)]))
        torch.testing.assert_close(mu_a[:8], mu_b[:8], rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["bn_paper", "bn_su"])
def test_running_statistics_are_updated_in_training_only(kind):
    head = make_head(kind, 0)
    before = head.mu_bn.running_mean.clone()
    with torch.no_grad():
        head.eval()
        head(random_features(0, 16))
        torch.testing.assert_close(head.mu_bn.running_mean, before)
        head.train()
        head(random_features(0, 16))
    assert float((head.mu_bn.running_mean - before).abs().max()) > 1e-3


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, -0.5])
def test_invalid_gamma(gamma):
    with pytest.raises(ValueError, match=r"gamma must be a positive number"):
        build_posterior("bn_paper", N_IN, LATENT, gamma=gamma)
    with pytest.raises(ValueError, match=r"gamma must be a positive number"):
        BNPaperPosterior(N_IN, LATENT, gamma=gamma)


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_invalid_tau(tau):
    with pytest.raises(ValueError, match=r"tau must lie in \(0, 1\)"):
        build_posterior("bn_su", N_IN, LATENT, tau=tau)


@pytest.mark.parametrize("kind", ["bn", "BN_SU", "", "layernorm"])
def test_invalid_kind(kind):
    with pytest.raises(ValueError, match=r"posterior must be one of") as err:
        build_posterior(kind, N_IN, LATENT)
    assert repr(kind) in str(err.value)
    for name in POSTERIORS:
        assert name in str(err.value)


@pytest.mark.parametrize("gamma", [float("nan"), float("inf")])
def test_non_finite_gamma_is_rejected(gamma):
    with pytest.raises(ValueError, match=r"gamma"):
        build_posterior("bn_paper", N_IN, LATENT, gamma=gamma)
