"""Evaluate text VAEs (and the LSTM-LM baseline) as in Zhu et al. (ACL 2020).

:func:`evaluate_texts` returns, per doc averages: the negative ELBO and its two terms
(reconstruction and KL), the importance-weighted NLL and the perplexity it gives per unit
(counting the end-of-text symbol), mutual information I(x; z) and active units. For a language
model the NLL is exact and KL, MI and AU are 0. torch is imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from spacy.tokens import Doc
from thinc.api import Model

from .metrics import active_units, importance_weighted_nll, kl_per_doc, mutual_information


def _posteriors(model: Model, docs: Sequence[Doc], batch: int):
    import torch

    from .model import batch_ids, torch_net

    net = torch_net(model)
    net.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(docs), batch):
            ids, lengths = batch_ids(model, docs[start : start + batch])
            ids_t, lengths_t = torch.from_numpy(ids), torch.from_numpy(lengths)
            if net.latent:
                mu, logvar = net.encode(ids_t, lengths_t)
                mu, logvar = mu.numpy(), logvar.numpy()
            else:
                mu = logvar = np.zeros((len(ids), 0), dtype=np.float32)
            out.append((ids, lengths, mu, logvar))
    return net, out


def _log_px(net: Any, ids: Any, lengths: Any, z: np.ndarray | None) -> np.ndarray:
    """log p(x | z) per row (float64); ``z`` None for a language model."""
    import torch

    z_t = None if z is None else torch.from_numpy(np.asarray(z, dtype=np.float32))
    return net.log_likelihood(z_t, ids, lengths).double().numpy()


def evaluate_texts(
    model: Model, docs: Sequence[Doc], *, iw_samples: int = 100, batch: int = 128, seed: int = 0
) -> dict[str, Any]:
    import torch

    net, batches = _posteriors(model, docs, batch)
    rng = torch.Generator().manual_seed(seed)
    nll, rec, kl, n_units, means, logvars = [], [], [], 0, [], []
    with torch.inference_mode():
        for i, (ids, lengths, mu, logvar) in enumerate(batches):
            ids_t, lengths_t = torch.from_numpy(ids), torch.from_numpy(lengths)
            n_units += int(lengths.sum()) + len(lengths)  # units + end-of-text
            log_px = partial(_log_px, net, ids_t, lengths_t)
            if not net.latent:
                doc_nll = -log_px(None)
                nll.append(doc_nll)
                rec.append(doc_nll)
                kl.append(np.zeros(len(ids)))
                continue
            eps = torch.randn(mu.shape, generator=rng).numpy()
            z = mu + np.exp(0.5 * logvar) * eps
            rec.append(-log_px(z))
            kl.append(kl_per_doc(mu, logvar))
            nll.append(
                importance_weighted_nll(log_px, mu, logvar, samples=iw_samples, seed=seed + i)
            )
            means.append(mu)
            logvars.append(logvar)
    nll_all, rec_all, kl_all = np.concatenate(nll), np.concatenate(rec), np.concatenate(kl)
    mu_all = np.concatenate(means) if means else np.zeros((len(docs), 0))
    logvar_all = np.concatenate(logvars) if logvars else np.zeros((len(docs), 0))
    latent = int(net.latent)
    return {
        "docs": len(docs),
        "latent": latent,
        "nll": float(nll_all.mean()),
        "ppl": float(np.exp(nll_all.sum() / n_units)),
        "neg_elbo": float((rec_all + kl_all).mean()),
        "rec": float(rec_all.mean()),
        "kl": float(kl_all.mean()),
        "mi": mutual_information(mu_all, logvar_all, seed=seed) if latent else 0.0,
        "au": active_units(mu_all) if latent else 0,
    }
