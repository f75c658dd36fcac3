"""The measures of Zhu et al. (ACL 2020) for text VAEs, on arrays of posterior parameters.

- :func:`kl_per_doc`: KL(q(z|x) ‖ p(z)) for each doc.
- :func:`kl_lower_bound`: ½ Σ_j mean_i μ_ij², the bound E_x[KL] ≥ it holds for any batch.
- :func:`active_units`: dimensions j with Cov_x(E_q[z_j|x]) = Var_x(μ_j) > threshold (0.01).
- :func:`mutual_information`: I(x; z) under q, estimated as in He et al. (2019) and Zhu et al.:
  E_x[−H(q(z|x))] − E_{x, z~q(z|x)}[log q(z)], with the aggregate posterior q(z) taken as the
  mixture of the given docs' posteriors.
- :func:`importance_weighted_nll`: −log p(x) ≈ −log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x).

numpy only (no torch), so the estimators can be checked on hand-built cases.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LOG_2PI = float(np.log(2 * np.pi))


def kl_per_doc(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return 0.5 * (mu**2 + np.exp(logvar) - logvar - 1.0).sum(axis=-1)


def kl_lower_bound(mu: np.ndarray) -> float:
    mu = np.asarray(mu, np.float64)
    return float(0.5 * (mu**2).mean(axis=0).sum())


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """How many latent dimensions vary across docs (variance of μ above ``threshold``)."""
    mu = np.asarray(mu, np.float64)
    if len(mu) < 2:
        return 0
    return int((mu.var(axis=0, ddof=1) > threshold).sum())


def log_normal(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """log N(z; μ, diag σ²), summed over the last axis (broadcasting)."""
    return -0.5 * (((z - mu) ** 2) / np.exp(logvar) + logvar + LOG_2PI).sum(axis=-1)


def mutual_information(
    mu: np.ndarray, logvar: np.ndarray, *, seed: int = 0, batch: int = 1024
) -> float:
    """I(x; z) under q: one sample z_i ~ q(z|x_i) per doc, q(z) = mean_j q(z|x_j)."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    n, d = mu.shape
    if n == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    neg_entropy = float((-0.5 * d * LOG_2PI - 0.5 * (1.0 + logvar).sum(axis=1)).mean())
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((n, d))
    log_qz = np.empty(n)
    for start in range(0, n, batch):
        # (b, n): log q(z_i | x_j) for every doc j
        dens = log_normal(z[start : start + batch, None, :], mu[None], logvar[None])
        top = dens.max(axis=1, keepdims=True)
        log_qz[start : start + batch] = (
            top[:, 0] + np.log(np.exp(dens - top).sum(axis=1)) - np.log(n)
        )
    return neg_entropy - float(log_qz.mean())


def importance_weighted_nll(
    log_px_given_z: Callable[[np.ndarray], np.ndarray],
    mu: np.ndarray,
    logvar: np.ndarray,
    *,
    samples: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """−log p(x) per doc from ``samples`` draws z_k ~ q(z|x).

    ``log_px_given_z(z)`` takes z of shape (n_docs, d) and returns log p(x_i | z_i), shape
    (n_docs,).
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    rng = np.random.default_rng(seed)
    log_w = np.empty((samples, len(mu)))
    zeros = np.zeros_like(mu)
    for k in range(samples):
        z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
        log_w[k] = (
            np.asarray(log_px_given_z(z), np.float64)
            + log_normal(z, zeros, zeros)
            - log_normal(z, mu, logvar)
        )
    top = log_w.max(axis=0)
    return -(top + np.log(np.exp(log_w - top).mean(axis=0)))
