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

Only the model lives here: what looks inside a trained classifier (its LSTM states, its
scores with tokens deleted, for ``kexue_saliency``) is in :mod:`.probe`. torch is imported
inside functions, never at module import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, Softmax_v2, chain
from thinc.types import Floats2d

from .featurize import UNITS, Batch, build_vocab, featurize


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


def _encoder_forward(model: Model, docs: Sequence[Doc], is_train: bool):
    attrs = model.attrs
    batch = featurize(docs, attrs["vocab"], attrs["unit"], attrs["max_length"])
    if not is_train:
        return _predict_features(model, batch), lambda d_features: []
    features, backprop = model.layers[0]((batch.ids, batch.lengths), is_train)

    def backprop_docs(d_features: Floats2d) -> list:
        backprop(d_features)
        return []

    return features, backprop_docs


def _predict_features(model: Model, batch: Batch) -> Floats2d:
    """The encoder's features at inference: rows grouped by length (each group padded to its
    own longest row), on one torch thread."""
    from ..torch_util import inference_threads, length_groups

    features = model.ops.alloc2f(len(batch.lengths), model.get_dim("nO"))
    with inference_threads():
        for rows, ids, lengths in length_groups(batch.ids, batch.lengths):
            features[rows] = model.layers[0].predict((ids, lengths))
    return features


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


@registry.architectures("spacy_kexue.CharBagLSTMEncoder.v1")
def build_char_bag_lstm_encoder(
    width: int = 128,
    hidden: int = 128,
    depth: int = 1,
    bidirectional: bool = True,
    pooling: str = "max_mean",
    dropout: float = 0.2,
    n_vocab: int = 6000,
    max_length: int = 200,
    bag_buckets: int = 50000,
    bag_width: int = 64,
) -> Model[list[Doc], Floats2d]:
    """``CharLSTMEncoder`` with a bag of characters and hashed character bigrams (the mean of
    their ``bag_width`` embeddings, over ``bag_buckets`` bigram buckets) beside the pooled
    states, as spaCy's TextCatEnsemble puts a bag of words beside its network."""
    settings = dict(width=width, hidden=hidden, depth=depth, bidirectional=bidirectional)
    bag = dict(bag_buckets=bag_buckets, bag_width=bag_width)
    return _lstm_encoder(
        "char", n_vocab, max_length, pooling=pooling, dropout=dropout, **settings, **bag
    )


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
