"""Probing a trained ``kexue_textcat`` classifier, for ``kexue_saliency`` and its benchmark.

Not part of the model (:mod:`.model` holds the architectures): these functions look inside it.

- :func:`has_states`, :func:`predict_with_states`: the class probabilities and, for LSTM
  encoders, each doc's hidden states from the same forward pass (``kexue_textcat`` calls it in
  ``predict`` when a saliency component listens to its states; :mod:`.states` is where the
  states wait).
- :func:`state_layout`, :func:`decision_weights`: how the encoder pools its states, and the
  output layer's direction for a label over each direction's pooled state.
- :func:`predict_deletions`, :func:`occlusion_saliency`: a doc scored with sets of tokens
  deleted, and the leave-one-out saliency built on it.

torch is imported inside functions, never at module import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from .featurize import featurize, featurize_deletions, unit_ids
from .model import get_encoder


def _torch_net(encoder: Model) -> Any:
    """The PyTorch module inside an encoder."""
    return encoder.layers[0].shims[0]._model


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

    from ..torch_util import inference_threads, length_groups

    encoder = get_encoder(model)
    net = _torch_net(encoder)
    if not hasattr(net, "encode"):
        raise ValueError("the textcat's encoder is not an LSTM: it has no hidden states")
    attrs = encoder.attrs
    batch = featurize(docs, attrs["vocab"], attrs["unit"], attrs["max_length"])
    net.eval()
    features = np.zeros((len(docs), net.n_out), dtype=np.float32)
    states: list[dict[str, np.ndarray]] = [{} for _ in docs]
    with inference_threads(), torch.inference_mode():
        for rows, ids, lengths in length_groups(batch.ids, batch.lengths):
            group_features, forward, backward = net.encode(
                torch.from_numpy(ids), torch.from_numpy(lengths)
            )
            features[rows] = group_features.numpy()
            forward = forward.numpy()
            backward = backward.numpy() if backward is not None else None
            for row, i in enumerate(rows.tolist()):
                length = batch.lengths[i]
                doc_states = {"forward": forward[row, :length].copy()}
                doc_states["token_steps"] = batch.token_steps[i]
                if backward is not None:
                    doc_states["backward"] = backward[row, :length].copy()
                    doc_states["next_steps"] = batch.next_steps(i, len(docs[i]))
                states[i] = doc_states
    probs = model.get_ref("output").predict(features)
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

    from ..torch_util import inference_threads

    net = _torch_net(encoder)
    net.eval()
    with inference_threads(), torch.inference_mode():
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
