"""Registered architectures of ``kexue_textcat`` (``spacy_architectures``).

Encoders map Docs to one feature vector each (``Model[List[Doc], Floats2d]``); the classifier
puts a softmax layer on top:

    [components.textcat.model]
    @architectures = "spacy_kexue.TextClassifier.v1"

    [components.textcat.model.encoder]
    @architectures = "spacy_kexue.CharLSTMEncoder.v1"

Encoders (the input-granularity ablation of kexue.fm's 文本情感分类（三）, plus a CNN):
``CharOneHotLSTMEncoder``, ``CharLSTMEncoder``, ``WordLSTMEncoder`` (units are the segmenter's
tokens) and ``CharCNNEncoder``. Each wraps a PyTorch module (``nets.py``) with
``PyTorchWrapper_v3``; weights serialize as safetensors, floats stored as float16. The unit
vocabulary lives in ``model.attrs["vocab"]``; ``kexue_textcat`` builds it from the whole
training set in ``initialize`` (the thinc init only sees a sample of ten docs).

:func:`predict_with_states` returns the class probabilities and, for LSTM encoders, each
token's hidden states from the same forward pass (for ``kexue_saliency``);
:func:`predict_deletions` and :func:`occlusion_saliency` score a doc with tokens deleted.
torch is imported inside functions, never at module import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, Softmax_v2, chain
from thinc.types import Floats2d

from .featurize import UNITS, build_vocab, featurize, featurize_deletions, unit_ids


def _build_encoder(net_factory: Callable[[], Any], unit: str, max_length: int, n_vocab: int):
    from ..torch_util import wrap_id_module

    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if max_length < 1:
        raise ValueError(f"max_length must be positive, got {max_length}")
    net = net_factory()
    wrapped = wrap_id_module(net)
    return Model(
        "kexue_encoder",
        _encoder_forward,
        init=_encoder_init,
        layers=[wrapped],
        dims={"nO": net.n_out},
        attrs={"unit": unit, "max_length": max_length, "n_vocab": n_vocab, "vocab": {}},
    )


def _featurize(encoder: Model, docs: Sequence[Doc]):
    attrs = encoder.attrs
    return featurize(docs, attrs["vocab"], attrs["unit"], attrs["max_length"])


def _torch_net(encoder: Model) -> Any:
    """The PyTorch module inside an encoder."""
    return encoder.layers[0].shims[0]._model


def _encoder_forward(model: Model, docs: Sequence[Doc], is_train: bool):
    batch = _featurize(model, docs)
    features, backprop = model.layers[0]((batch.ids, batch.lengths), is_train)

    def backprop_docs(d_features: Floats2d) -> list:
        backprop(d_features)
        return []

    return features, backprop_docs


def _encoder_init(model: Model, X: Sequence[Doc] | None = None, Y: Any = None) -> None:
    if not model.attrs["vocab"] and X is not None:
        set_vocab(model, X)


def set_vocab(encoder: Model, docs: Any, min_count: int = 1) -> int:
    """Fill the encoder's unit vocabulary from ``docs``; returns its size."""
    size = encoder.attrs["n_vocab"] - 1  # id 0 is padding
    vocab = build_vocab(docs, encoder.attrs["unit"], size, min_count)
    encoder.attrs["vocab"] = vocab
    return len(vocab)


def _lstm_encoder(unit: str, n_vocab: int, max_length: int, **net_settings: Any) -> Model:
    from .nets import RNNEncoderNet

    return _build_encoder(
        partial(RNNEncoderNet, n_vocab, **net_settings), unit, max_length, n_vocab
    )


@registry.architectures("spacy_kexue.CharLSTMEncoder.v1")
def build_char_lstm_encoder(
    width: int = 128,
    hidden: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    pooling: str = "max_mean",
    dropout: float = 0.2,
    n_vocab: int = 6000,
    max_length: int = 200,
) -> Model[list[Doc], Floats2d]:
    """Character embedding -> (Bi)LSTM -> pooled features."""
    settings = dict(width=width, hidden=hidden, depth=depth, bidirectional=bidirectional)
    return _lstm_encoder("char", n_vocab, max_length, pooling=pooling, dropout=dropout, **settings)


@registry.architectures("spacy_kexue.CharOneHotLSTMEncoder.v1")
def build_char_onehot_lstm_encoder(
    hidden: int = 128,
    bidirectional: bool = True,
    pooling: str = "max_mean",
    dropout: float = 0.2,
    n_vocab: int = 6000,
    max_length: int = 200,
) -> Model[list[Doc], Floats2d]:
    """Character one-hot vectors straight into a (Bi)LSTM."""
    settings = dict(width=0, hidden=hidden, bidirectional=bidirectional, one_hot=True)
    return _lstm_encoder("char", n_vocab, max_length, pooling=pooling, dropout=dropout, **settings)


@registry.architectures("spacy_kexue.WordLSTMEncoder.v1")
def build_word_lstm_encoder(
    width: int = 128,
    hidden: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    pooling: str = "max_mean",
    dropout: float = 0.2,
    n_vocab: int = 30000,
    max_length: int = 120,
) -> Model[list[Doc], Floats2d]:
    """Word embedding (the pipeline's tokens) -> (Bi)LSTM -> pooled features."""
    settings = dict(width=width, hidden=hidden, depth=depth, bidirectional=bidirectional)
    return _lstm_encoder("word", n_vocab, max_length, pooling=pooling, dropout=dropout, **settings)


@registry.architectures("spacy_kexue.CharCNNEncoder.v1")
def build_char_cnn_encoder(
    width: int = 128,
    hidden: int = 256,
    depth: int = 2,
    window: int = 3,
    dropout: float = 0.2,
    n_vocab: int = 6000,
    max_length: int = 200,
) -> Model[list[Doc], Floats2d]:
    """Character embedding -> Conv1d blocks -> max pooling (the ablation: no hidden states)."""
    from .nets import CNNEncoderNet

    return _build_encoder(
        partial(CNNEncoderNet, n_vocab, width, hidden, depth=depth, window=window, dropout=dropout),
        "char",
        max_length,
        n_vocab,
    )


@registry.architectures("spacy_kexue.TextClassifier.v1")
def build_text_classifier(
    encoder: Model[list[Doc], Floats2d], nO: int | None = None
) -> Model[list[Doc], Floats2d]:
    """An encoder followed by a softmax layer over the exclusive classes."""
    output = Softmax_v2(nO=nO, nI=encoder.get_dim("nO"))
    model = chain(encoder, output)
    model.set_ref("encoder", encoder)
    model.set_ref("output", output)
    return model


def get_encoder(model: Model) -> Model:
    """The ``kexue_encoder`` node of a classifier (or the model itself)."""
    for node in model.walk():
        if node.name == "kexue_encoder":
            return node
    raise ValueError(f"model {model.name!r} has no kexue encoder")


def has_states(model: Model) -> bool:
    """Whether the classifier's encoder is recurrent (and so has per-step states)."""
    return hasattr(_torch_net(get_encoder(model)), "encode")


def predict_with_states(
    model: Model, docs: Sequence[Doc]
) -> tuple[Floats2d, list[dict[str, np.ndarray]]]:
    """Class probabilities and, per doc, the LSTM states from the same forward pass:
    ``forward`` (L, hidden), the forward LSTM's state after each of the doc's L kept units,
    and ``token_steps`` (per token, the last unit at or before its end; -1 if none); for a
    BiLSTM also ``backward`` (L, hidden), the backward LSTM's state after it has read units
    j..L from the right, and ``next_steps`` (per token, the first unit at or after its start;
    L if none)."""
    import torch

    encoder = get_encoder(model)
    net = _torch_net(encoder)
    if not hasattr(net, "encode"):
        raise ValueError("the textcat's encoder is not an LSTM: it has no hidden states")
    batch = _featurize(encoder, docs)
    net.eval()
    with torch.inference_mode():
        features, forward, backward = net.encode(
            torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths)
        )
    probs = model.get_ref("output").predict(features.numpy())
    forward = forward.numpy()
    backward = backward.numpy() if backward is not None else None
    states = []
    for i, doc in enumerate(docs):
        length = batch.lengths[i]
        doc_states = {"forward": forward[i, :length].copy(), "token_steps": batch.token_steps[i]}
        if backward is not None:
            doc_states["backward"] = backward[i, :length].copy()
            doc_states["next_steps"] = batch.next_steps(i, len(doc))
        states.append(doc_states)
    return probs, states


def state_layout(model: Model) -> dict[str, Any]:
    """How the classifier's LSTM encoder pools: ``pooling`` and, per direction read, the
    indices of the features that direction's pooled state fills (in the pooled state's order)."""
    net = _torch_net(get_encoder(model))
    if not hasattr(net, "encode"):
        raise ValueError("the textcat's encoder is not an LSTM: it has no hidden states")
    return {"pooling": net.pooling, "features": net.feature_index()}


def decision_weights(model: Model, label: int) -> dict[str, np.ndarray]:
    """Per direction: the output layer's weights for ``label`` minus the mean of the other
    labels' weights, over that direction's pooled state (the state's share of the label's
    logit margin)."""
    W = np.asarray(model.get_ref("output").get_param("W"), dtype=np.float64)
    others = np.delete(W, label, axis=0)
    margin = W[label] - (others.mean(axis=0) if len(others) else 0.0)
    return {name: margin[index] for name, index in state_layout(model)["features"].items()}


def predict_deletions(
    model: Model, doc: Doc, deletions: Sequence[Sequence[int]], *, batch_rows: int = 256
) -> np.ndarray:
    """Class probabilities (len(deletions), n_labels) of ``doc`` with each set of token
    indices deleted (an empty set: the doc itself), in batches of ``batch_rows`` rows."""
    encoder = get_encoder(model)
    attrs = encoder.attrs
    out = []
    for start in range(0, len(deletions), batch_rows):
        batch = featurize_deletions(
            doc,
            attrs["vocab"],
            attrs["unit"],
            attrs["max_length"],
            deletions[start : start + batch_rows],
        )
        out.append(_predict_batch(model, encoder, batch))
    n_labels = model.get_ref("output").get_dim("nO")
    return np.concatenate(out) if out else np.zeros((0, n_labels), dtype=np.float32)


def _predict_batch(model: Model, encoder: Model, batch) -> np.ndarray:
    import torch

    net = _torch_net(encoder)
    net.eval()
    with torch.inference_mode():
        features = net(torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths))
    return np.asarray(model.get_ref("output").predict(features.numpy()))


def occlusion_saliency(model: Model, doc: Doc, *, batch_rows: int = 256) -> np.ndarray:
    """Leave-one-out saliency of each token: the predicted class's probability minus its
    probability with the token deleted (tokens with no unit in the vocabulary score 0)."""
    encoder = get_encoder(model)
    attrs = encoder.attrs
    _, owners = unit_ids(doc, attrs["vocab"], attrs["unit"])
    present = np.unique(owners)
    probs = predict_deletions(
        model, doc, [()] + [(int(i),) for i in present], batch_rows=batch_rows
    )
    label = int(np.argmax(probs[0]))
    scores = np.zeros(len(doc), dtype=np.float32)
    scores[present] = probs[0, label] - probs[1:, label]
    return scores
