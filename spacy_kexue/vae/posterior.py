"""Posterior heads q(z|x) = N(μ, σ²) of the text VAE (imports torch).

Each head maps the encoder's features to (μ, log σ²):

- ``vanilla``: two linear layers, as in a plain VAE. With an autoregressive decoder its KL
  collapses toward 0.
- ``bn_paper`` (Zhu et al., ACL 2020): μ is batch-normalised with a *fixed* scale γ and a
  learned shift β, and the log-variance branch is a plain linear layer. Then
  E_x[KL] ≥ ½ Σ_j mean_i μ_ij² = (d/2)(β² + γ²) ≥ dγ²/2 over a batch.
- ``bn_su`` (kexue.fm, 变分自编码器（五）): both μ and σ (σ itself, not log σ²) are batch-
  normalised without shift or scale, then scaled by γ_μ = sqrt(τ + (1−τ)·sigmoid(θ)) and
  γ_σ = sqrt((1−τ)·sigmoid(−θ)), one trainable θ per dimension (0 at the start). So
  E[μ²] + E[σ²] = 1 per dimension, as for the prior, and E_x[KL] ≥ dτ/2.
- ``bn_su_rms`` (ours): as ``bn_su``, but the σ branch is divided by its root mean square
  instead of being centred and standardised. E[σ²] = γ_σ² and the bound hold as before, but
  σ no longer has to spread symmetrically around 0: with centred BN a good share of the docs
  get σ near 0, and −log σ² keeps the KL near d(0.64 − ½ log(1 − τ)) ≈ 31.5 nats for d = 32,
  far above the bound, whatever the data (see the README's measurements).

Batch normalisation uses the batch's statistics in training and running statistics at
inference, so a doc gets the same code alone as in a batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

POSTERIORS = ("vanilla", "bn_paper", "bn_su", "bn_su_rms")
LOG_EPS = 1e-8


class VanillaPosterior(nn.Module):
    def __init__(self, n_in: int, latent: int):
        super().__init__()
        self.mu = nn.Linear(n_in, latent)
        self.logvar = nn.Linear(n_in, latent)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(h), self.logvar(h)


class BNPaperPosterior(nn.Module):
    def __init__(self, n_in: int, latent: int, gamma: float = 0.6):
        super().__init__()
        if not math.isfinite(gamma) or gamma <= 0:
            raise ValueError(f"gamma must be a positive number, got {gamma}")
        self.gamma = float(gamma)
        self.mu = nn.Linear(n_in, latent)
        self.mu_bn = nn.BatchNorm1d(latent, affine=False)
        self.beta = nn.Parameter(torch.zeros(latent))
        self.logvar = nn.Linear(n_in, latent)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.gamma * self.mu_bn(self.mu(h)) + self.beta
        return mu, self.logvar(h)


class BNSuPosterior(nn.Module):
    def __init__(self, n_in: int, latent: int, tau: float = 0.5):
        super().__init__()
        if not 0.0 < tau < 1.0:
            raise ValueError(f"tau must lie in (0, 1), got {tau}")
        self.tau = float(tau)
        self.mu = nn.Linear(n_in, latent)
        self.sigma = nn.Linear(n_in, latent)
        self.mu_bn = nn.BatchNorm1d(latent, affine=False)
        self.sigma_bn = nn.BatchNorm1d(latent, affine=False)
        self.theta = nn.Parameter(torch.zeros(latent))

    def scales(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(γ_μ, γ_σ) per dimension; γ_μ² + γ_σ² = 1."""
        tau = self.tau
        return (
            torch.sqrt(tau + (1 - tau) * torch.sigmoid(self.theta)),
            torch.sqrt((1 - tau) * torch.sigmoid(-self.theta)),
        )

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gamma_mu, gamma_sigma = self.scales()
        mu = gamma_mu * self.mu_bn(self.mu(h))
        sigma = gamma_sigma * self.sigma_bn(self.sigma(h))
        return mu, torch.log(sigma.square() + LOG_EPS)


class RMSBatchNorm1d(nn.Module):
    """x / sqrt(E_batch[x²]) per feature, with no centring and no learned scale; running
    statistics (momentum 0.1, like BatchNorm1d) at inference."""

    def __init__(self, n: int, *, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_ms", torch.ones(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] > 1:
            ms = x.square().mean(dim=0)
            with torch.no_grad():
                self.running_ms.lerp_(ms.detach(), self.momentum)
        else:
            ms = self.running_ms
        return x * torch.rsqrt(ms + self.eps)


class BNSuRMSPosterior(BNSuPosterior):
    def __init__(self, n_in: int, latent: int, tau: float = 0.5):
        super().__init__(n_in, latent, tau)
        self.sigma_bn = RMSBatchNorm1d(latent)


def build_posterior(
    kind: str, n_in: int, latent: int, *, gamma: float = 0.6, tau: float = 0.5
) -> nn.Module:
    if kind == "vanilla":
        return VanillaPosterior(n_in, latent)
    if kind == "bn_paper":
        return BNPaperPosterior(n_in, latent, gamma)
    if kind == "bn_su":
        return BNSuPosterior(n_in, latent, tau)
    if kind == "bn_su_rms":
        return BNSuRMSPosterior(n_in, latent, tau)
    raise ValueError(f"posterior must be one of {POSTERIORS}, got {kind!r}")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per row: ½ Σ_j (μ² + σ² − log σ² − 1)."""
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1.0).sum(dim=-1)
