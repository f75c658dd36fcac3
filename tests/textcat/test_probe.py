"""Probing a trained ``kexue_textcat`` classifier (spacy_kexue.textcat.probe): which encoders
have states, the states ``predict_with_states`` returns from the classifier's own forward pass,
the encoder's state layout and decision weights, and the scores with tokens deleted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spacy.tokens import Doc

from spacy_kexue.textcat.model import get_encoder
from spacy_kexue.textcat.probe import (
    decision_weights,
    has_states,
    occlusion_saliency,
    predict_deletions,
    predict_with_states,
    state_layout,
)
from tests.textcat.conftest import (
    CROSS_ENTROPY,
    ENCODERS,
    HIDDEN,
    LSTM_ENCODERS,
    make_examples,
    make_nlp,
    train,
)

# --- predict_with_states ------------------------------------------------------------------------


def test_has_states():
    for name in ENCODERS:
        model = make_nlp(name).get_pipe("kexue_textcat").model
        assert has_states(model) == (name in LSTM_ENCODERS), name


def test_predict_with_states_refuses_cnn():
    nlp = make_nlp("char_cnn")
    nlp.initialize(lambda: make_examples(nlp))
    with pytest.raises(ValueError, match="LSTM"):
        predict_with_states(nlp.get_pipe("kexue_textcat").model, [nlp.make_doc("很好")])


@pytest.mark.parametrize("encoder", LSTM_ENCODERS)
def test_predict_with_states(trained_nlp, encoder):
    if encoder == "char_lstm":
        nlp = trained_nlp
    else:
        nlp = make_nlp(encoder, loss=CROSS_ENTROPY)
        train(nlp, make_examples(nlp), n_iter=5)
    model = nlp.get_pipe("kexue_textcat").model
    # spacy.blank("zh") makes one token per character, so char and word units coincide here;
    # 鑫 is out of vocabulary (no unit, no step)
    texts = ["很好鑫吃", "鑫很好", "", "太差了质量糟糕非常满意"]
    docs = [nlp.make_doc(t) for t in texts]
    probs, states = predict_with_states(model, docs)
    np.testing.assert_allclose(probs, model.predict(docs), rtol=1e-5, atol=1e-6)
    n_kept = [3, 2, 0, 11]
    for doc, doc_states, length in zip(docs, states, n_kept, strict=True):
        assert set(doc_states) == {"forward", "backward", "token_steps", "next_steps"}
        assert doc_states["forward"].shape == (length, HIDDEN)
        assert doc_states["backward"].shape == (length, HIDDEN)
        assert len(doc_states["token_steps"]) == len(doc_states["next_steps"]) == len(doc)
    # per token: the last step at or before it (-1: none), the first step at or after it (L: none)
    assert states[0]["token_steps"].tolist() == [0, 1, 1, 2]
    assert states[0]["next_steps"].tolist() == [0, 1, 2, 2]
    assert states[1]["token_steps"].tolist() == [-1, 0, 1]
    assert states[1]["next_steps"].tolist() == [0, 0, 1]
    assert states[3]["token_steps"].tolist() == list(range(11))
    assert states[3]["next_steps"].tolist() == list(range(11))
    # 鑫 adds no step: "很好吃" has the same states
    _, same = predict_with_states(model, [nlp.make_doc("很好吃")])
    for key in ("forward", "backward"):
        np.testing.assert_allclose(same[0][key], states[0][key], atol=1e-6)
        assert np.abs(states[0][key]).sum() > 0
    # a doc's states do not depend on the batch it is in (padding never leaks in)
    for doc, batch_states in zip(docs, states, strict=True):
        _, alone = predict_with_states(model, [doc])
        for key, value in batch_states.items():
            np.testing.assert_allclose(alone[0][key], value, atol=1e-6, err_msg=key)


def test_predict_with_states_unidirectional():
    nlp = make_nlp(dict(ENCODERS["char_lstm"], bidirectional=False), loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=5)
    model = nlp.get_pipe("kexue_textcat").model
    docs = [nlp.make_doc("鑫很好"), nlp.make_doc("")]
    probs, states = predict_with_states(model, docs)
    np.testing.assert_allclose(probs, model.predict(docs), rtol=1e-5, atol=1e-6)
    assert [set(s) for s in states] == [{"forward", "token_steps"}] * 2
    assert states[0]["forward"].shape == (2, HIDDEN)
    assert states[0]["token_steps"].tolist() == [-1, 0, 1]
    assert states[1]["forward"].shape == (0, HIDDEN)


def test_states_are_the_lstm_states(trained_nlp):
    """``forward`` is the forward LSTM's output at each kept unit; ``backward`` the reverse
    LSTM's output on the kept units read right to left, put back in text order."""
    model = trained_nlp.get_pipe("kexue_textcat").model
    encoder = get_encoder(model)
    net = encoder.layers[0].shims[0]._model
    doc = trained_nlp.make_doc("非常鑫满意质量不错")
    _, states = predict_with_states(model, [doc])
    vocab = encoder.attrs["vocab"]
    ids = torch.tensor([[vocab[c] for c in doc.text if c in vocab]])
    assert ids.shape == (1, 8)  # 鑫 is out of vocabulary
    with torch.inference_mode():
        forward, _ = net.lstm(net.embed(ids))
        backward, _ = net.lstm_reverse(net.embed(ids.flip(1)))
    np.testing.assert_allclose(states[0]["forward"], forward[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        states[0]["backward"], backward[0].flip(0).numpy(), rtol=1e-5, atol=1e-6
    )
    # the backward state at the first unit is the reverse LSTM's final state (it read them all)
    np.testing.assert_allclose(states[0]["backward"][0], backward[0, -1].numpy(), atol=1e-6)


# --- state layout and decision weights ----------------------------------------------------------


def test_state_layout_and_decision_weights(trained_nlp):
    model = trained_nlp.get_pipe("kexue_textcat").model
    layout = state_layout(model)
    assert layout["pooling"] == "max_mean"
    assert set(layout["features"]) == {"forward", "backward"}
    W = np.asarray(model.get_ref("output").get_param("W"), dtype=np.float64)
    indices = np.concatenate(list(layout["features"].values()))
    assert sorted(indices.tolist()) == list(range(W.shape[1]))  # every feature, once
    for label in range(W.shape[0]):
        weights = decision_weights(model, label)
        margin = W[label] - W[1 - label]  # two labels: minus the other row
        for name, index in layout["features"].items():
            np.testing.assert_allclose(weights[name], margin[index])


def test_layout_refuses_cnn():
    nlp = make_nlp("char_cnn")
    with pytest.raises(ValueError, match="LSTM"):
        state_layout(nlp.get_pipe("kexue_textcat").model)


# --- deletions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_rows", [1, 2, 256])
def test_predict_deletions_equals_predicting_the_shorter_doc(trained_nlp, batch_rows):
    nlp = trained_nlp
    model = nlp.get_pipe("kexue_textcat").model
    doc = nlp.make_doc("很好鑫吃")
    deletions = [(), (0,), (1, 3), (2,)]
    probs = predict_deletions(model, doc, deletions, batch_rows=batch_rows)
    assert probs.shape == (4, 2)
    for row, deleted in zip(probs, deletions, strict=True):
        kept = [t.text for t in doc if t.i not in deleted]
        shorter = Doc(nlp.vocab, words=kept, spaces=[False] * len(kept))
        np.testing.assert_allclose(row, model.predict([shorter])[0], rtol=1e-5, atol=1e-6)
    assert predict_deletions(model, doc, []).shape == (0, 2)


def test_occlusion_saliency(trained_nlp):
    model = trained_nlp.get_pipe("kexue_textcat").model
    doc = trained_nlp.make_doc("很好鑫吃")
    scores = occlusion_saliency(model, doc)
    probs = predict_deletions(model, doc, [(), (0,), (1,), (3,)])
    label = int(np.argmax(probs[0]))
    assert scores.dtype == np.float32 and scores.shape == (4,)
    np.testing.assert_allclose(scores[[0, 1, 3]], probs[0, label] - probs[1:, label], atol=1e-6)
    assert scores[2] == 0.0  # 鑫: no unit, nothing to delete
