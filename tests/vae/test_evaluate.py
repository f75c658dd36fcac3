"""Evaluation of trained VAEs / the LM baseline, and decoding texts from codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spacy_kexue.vae.evaluate import evaluate_texts
from spacy_kexue.vae.model import batch_ids, torch_net
from spacy_kexue.vae.nets import EOS_ID, PAD_ID
from spacy_kexue.vae.vocab import decode
from tests.vae.test_component import TEXTS, make_nlp, train


@pytest.fixture(scope="module")
def vae_and_lm():
    vae, lm = make_nlp(), make_nlp(latent=0)
    train(vae, n_iter=60)
    train(lm, n_iter=60)
    return vae, lm


def docs_of(nlp):
    return [nlp.make_doc(t) for t in TEXTS]


def test_vae_scores(vae_and_lm):
    vae, _ = vae_and_lm
    model = vae.get_pipe("kexue_vae").model
    scores = evaluate_texts(model, docs_of(vae), iw_samples=50)
    assert scores["docs"] == len(TEXTS) and scores["latent"] == 4
    assert scores["neg_elbo"] == pytest.approx(scores["rec"] + scores["kl"])
    # the importance-weighted bound is tighter than the ELBO (up to sampling noise)
    assert scores["nll"] <= scores["neg_elbo"] + 0.5
    assert scores["kl"] > 0 and scores["au"] == 4 and scores["mi"] > 0
    n_units = sum(len(t) + 1 for t in TEXTS)
    assert scores["ppl"] == pytest.approx(np.exp(scores["nll"] * len(TEXTS) / n_units))
    assert evaluate_texts(model, docs_of(vae), iw_samples=50) == scores  # seeded


def test_language_model_scores_are_exact(vae_and_lm):
    _, lm = vae_and_lm
    model = lm.get_pipe("kexue_vae").model
    scores = evaluate_texts(model, docs_of(lm), iw_samples=5)
    assert scores["nll"] == pytest.approx(scores["rec"]) == pytest.approx(scores["neg_elbo"])
    assert scores["kl"] == scores["mi"] == scores["au"] == 0
    ids, lengths = batch_ids(model, docs_of(lm))
    with torch.inference_mode():
        expected = -torch_net(model).log_likelihood(
            None, torch.from_numpy(ids), torch.from_numpy(lengths)
        )
    assert scores["nll"] == pytest.approx(float(expected.mean()), rel=1e-5)


def test_greedy_reconstruction_of_trained_texts(vae_and_lm):
    vae, _ = vae_and_lm
    component = vae.get_pipe("kexue_vae")
    docs = docs_of(vae)
    net = torch_net(component.model)
    out = net.generate(torch.from_numpy(component.predict(docs)), len(docs), 20)
    texts = [decode(ids, component.model.attrs["vocab"], "char") for ids in out]
    assert sum(t == ref for t, ref in zip(texts, TEXTS, strict=True)) >= len(TEXTS) // 2
    again = net.generate(torch.from_numpy(component.predict(docs)), len(docs), 20)
    assert again == out  # greedy is deterministic


@pytest.mark.parametrize("latent", [True, False])
def test_sampled_generation(vae_and_lm, latent):
    nlp = vae_and_lm[0] if latent else vae_and_lm[1]
    net = torch_net(nlp.get_pipe("kexue_vae").model)
    z = torch.randn(6, 4) if latent else None

    def sample(seed):
        generator = torch.Generator().manual_seed(seed)
        return net.generate(z, 6, 7, temperature=1.0, generator=generator)

    first = sample(1)
    assert first == sample(1)
    assert len(first) == 6
    for ids in first:
        assert len(ids) <= 7 and PAD_ID not in ids and EOS_ID not in ids
