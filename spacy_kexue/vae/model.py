"""The registered architecture of ``kexue_vae`` (``spacy_kexue.TextVAE.v1``).

    [components.vae.model]
    @architectures = "spacy_kexue.TextVAE.v1"
    posterior = "bn_su"      # or "vanilla", "bn_paper" (gamma), "bn_su_rms"; latent = 0: the LSTM-LM
    latent = 32

The model wraps :class:`.nets.TextVAENet` with ``PyTorchWrapper_v3`` (weights as float16
safetensors); its forward maps Docs to their posterior means μ (batch-normalised with running
statistics at inference). Training does not go through thinc's forward: ``kexue_vae.update``
computes the negative ELBO in torch and lets the wrapper's optimizer step apply the gradients.
The unit vocabulary lives in ``model.attrs["vocab"]``. torch is imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from ..units import UNITS
from .vocab import N_SPECIAL, build_unit_vocab, encode


@registry.architectures("spacy_kexue.TextVAE.v1")
def build_text_vae(
    posterior: str = "bn_su",
    latent: int = 32,
    width: int = 128,
    enc_hidden: int = 128,
    dec_hidden: int = 256,
    gamma: float = 0.6,
    tau: float = 0.5,
    dropout: float = 0.3,
    unit: str = "char",
    n_vocab: int = 4000,
    max_length: int = 64,
    bag_weight: float = 0.0,
) -> Model[list[Doc], Floats2d]:
    """A text VAE (BiLSTM encoder, LSTM decoder conditioned on z) over characters or words;
    ``bag_weight`` > 0 adds the bag-of-units term to its training loss (:mod:`.nets`)."""
    from ..torch_util import wrap_id_module
    from .nets import TextVAENet

    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if max_length < 1 or n_vocab <= N_SPECIAL:
        raise ValueError(
            f"max_length must be positive and n_vocab > {N_SPECIAL}, got {max_length}, {n_vocab}"
        )
    net = TextVAENet(
        n_vocab,
        width=width,
        enc_hidden=enc_hidden,
        dec_hidden=dec_hidden,
        latent=latent,
        posterior=posterior,
        gamma=gamma,
        tau=tau,
        dropout=dropout,
        bag_weight=bag_weight,
    )
    wrapped = wrap_id_module(net)
    return Model(
        "kexue_text_vae",
        _forward,
        layers=[wrapped],
        dims={"nO": latent},
        attrs={"unit": unit, "max_length": max_length, "n_vocab": n_vocab, "vocab": {}},
    )


def torch_net(model: Model) -> Any:
    """The :class:`.nets.TextVAENet` inside the model."""
    return model.layers[0].shims[0]._model


def batch_ids(model: Model, docs: Sequence[Doc]) -> tuple[np.ndarray, np.ndarray]:
    attrs = model.attrs
    return encode(docs, attrs["vocab"], attrs["unit"], attrs["max_length"])


def set_vocab(model: Model, docs: Any) -> int:
    """Fill the model's unit vocabulary from ``docs``; returns its size."""
    vocab = build_unit_vocab(docs, model.attrs["unit"], model.attrs["n_vocab"] - N_SPECIAL)
    model.attrs["vocab"] = vocab
    return len(vocab)


def _forward(model: Model, docs: Sequence[Doc], is_train: bool):
    if is_train:
        raise ValueError(
            "kexue_vae trains through its component's update (the negative ELBO), not through "
            "a backpropagated forward pass"
        )
    return encode_means(model, docs), lambda d_mu: []


def encode_means(model: Model, docs: Sequence[Doc]) -> np.ndarray:
    """Posterior means μ (n_docs, latent), float32, in inference mode."""
    import torch

    net = torch_net(model)
    if not net.latent:
        return np.zeros((len(docs), 0), dtype=np.float32)
    from ..torch_util import inference_threads, length_groups

    ids, lengths = batch_ids(model, docs)
    net.eval()
    means = np.zeros((len(docs), net.latent), dtype=np.float32)
    with inference_threads(), torch.inference_mode():
        for rows, group_ids, group_lengths in length_groups(ids, lengths):
            mu, _ = net.encode(torch.from_numpy(group_ids), torch.from_numpy(group_lengths))
            means[rows] = mu.numpy()
    return means
