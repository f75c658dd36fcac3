"""Character taggers for the segmenter: per-character scores over the tags B, M, E, S.

Two registered architectures (``spacy_architectures``), both thinc Models wrapping a
PyTorch module (``PyTorchWrapper_v3``, weights as safetensors): a dilated residual CNN (the default: accurate
and fast on CPU) and a BiLSTM (the original method's tagger, kept as an ablation).
Input: a padded int64 array of character ids, shape (batch, length); output: float32
log-probabilities, shape (batch, length, 4). Id 0 is padding, id 1 unknown characters.

torch is imported inside the builders, never at module import.
"""

from __future__ import annotations

from spacy.util import registry
from thinc.api import Model


def _wrap(arch: str, n_chars: int, settings: dict) -> Model:
    from thinc.api import PyTorchWrapper_v3

    from ..torch_util import deserialize_module, serialize_module
    from .nets import build_torch_tagger

    module = build_torch_tagger(arch, n_chars, **settings)
    # weights serialize as safetensors, never with thinc's default torch.save/torch.load
    model = PyTorchWrapper_v3(
        module, serialize_model=serialize_module, deserialize_model=deserialize_module
    )
    model.attrs["tagger_arch"] = arch
    model.attrs["tagger_settings"] = {"n_chars": n_chars, **settings}
    return model


@registry.architectures("spacy_kexue.CharCNNTagger.v1")
def build_char_cnn_tagger(
    n_chars: int = 8000,
    width: int = 128,
    depth: int = 3,
    window: int = 3,
    dilate: bool = True,
    dropout: float = 0.1,
) -> Model:
    """Residual CNN char tagger. With ``dilate`` layer i uses dilation 2**i, so three
    layers of window 3 see 7 characters either side."""
    settings = {
        "width": width,
        "depth": depth,
        "window": window,
        "dilate": dilate,
        "dropout": dropout,
    }
    return _wrap("cnn", n_chars, settings)


@registry.architectures("spacy_kexue.CharLSTMTagger.v1")
def build_char_lstm_tagger(
    n_chars: int = 8000,
    width: int = 128,
    hidden: int = 64,
    depth: int = 1,
    dropout: float = 0.1,
) -> Model:
    """BiLSTM char tagger, as in the kexue.fm post (embedding 128, BiLSTM 64)."""
    settings = {"width": width, "hidden": hidden, "depth": depth, "dropout": dropout}
    return _wrap("lstm", n_chars, settings)
