"""The ``kexue_textcat`` component (spacy_kexue.textcat.component): serialization, batching,
the abstain band, kept LSTM states, losses through ``nlp.update`` and the factory's checks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import spacy
from spacy.training import Example
from spacy.util import load_model_from_config
from thinc.api import Adam

from spacy_kexue.errors import DataFileError
from spacy_kexue.integrity import CHECKSUM_FILE
from spacy_kexue.textcat.component import KexueTextCategorizer
from tests.textcat.conftest import (
    CROSS_ENTROPY,
    ENCODERS,
    HIDDEN,
    NEGATIVE_TEXTS,
    POSITIVE_TEXTS,
    label_cats,
    make_examples,
    make_nlp,
    train,
)

TEXTS = [
    *POSITIVE_TEXTS,
    *NEGATIVE_TEXTS,
    "",
    "   ",
    "\n\t",
    "很好 但是 太差了",
    "鑫淼",  # only unknown characters
    "好吃" * 250,  # 500 characters: longer than max_length (200)
    ("太差了" * 90) + ("非常满意" * 40),  # 430 characters, head and tail disagree
    "质量",
]


class Listener:
    """A stand-in for ``kexue_saliency``: a component that listens to the textcat's states."""

    name = "listener"


LISTENER = Listener()


def cats_array(docs) -> np.ndarray:
    return np.asarray([[doc.cats["POSITIVE"], doc.cats["NEGATIVE"]] for doc in docs])


def blank_copy(nlp):
    """An untrained pipeline built from ``nlp``'s config."""
    return load_model_from_config(nlp.config, auto_fill=True)


# --- basics -------------------------------------------------------------------------------------


def test_factory_defaults():
    nlp = make_nlp()
    textcat = nlp.get_pipe("kexue_textcat")
    assert isinstance(textcat, KexueTextCategorizer)
    assert textcat.cfg["uncertain_band"] is None
    assert textcat.keep_states is False
    assert type(textcat.loss).__name__ == "ThresholdLoss"
    default = spacy.blank("zh").add_pipe("kexue_textcat")
    encoder = default.model.get_ref("encoder")
    assert encoder.attrs["unit"] == "char"
    assert encoder.attrs["max_length"] == 200


@pytest.mark.parametrize("band", [[0.7, 0.3], [0.2], [0.1, 0.2, 0.3], [-0.1, 0.5], [0.5, 1.2]])
def test_bad_uncertain_band(band):
    with pytest.raises(ValueError, match="uncertain_band"):
        make_nlp(uncertain_band=band)


@pytest.mark.parametrize("texts", [[""], ["", "   "], ["\n", " \t "]])
def test_initialize_without_text_raises(texts):
    nlp = make_nlp()
    examples = [
        Example.from_dict(nlp.make_doc(t), {"cats": label_cats(i % 2 == 0)})
        for i, t in enumerate(texts)
    ]
    with pytest.raises(ValueError, match="vocabulary"):
        nlp.initialize(lambda: examples)


def test_labels_come_from_the_data(trained_nlp):
    assert set(trained_nlp.get_pipe("kexue_textcat").labels) == {"POSITIVE", "NEGATIVE"}


def test_evaluate_reports_accuracy(trained_nlp):
    nlp = trained_nlp
    scores = nlp.evaluate(make_examples(nlp))
    assert scores["cats_accuracy"] == 1.0
    assert scores["cats_score"] == 1.0
    # one example labelled the other way round: 9 of 10 right
    flipped = make_examples(nlp, pos=POSITIVE_TEXTS[1:], neg=NEGATIVE_TEXTS + POSITIVE_TEXTS[:1])
    assert nlp.evaluate(flipped)["cats_accuracy"] == pytest.approx(0.9)


def test_unlabelled_examples_get_no_gradient():
    nlp = make_nlp(loss=CROSS_ENTROPY)
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    textcat = nlp.get_pipe("kexue_textcat")
    unlabelled = Example.from_dict(nlp.make_doc("非常满意"), {})
    mixed = [examples[0], unlabelled, examples[-1]]
    scores = textcat.model.predict([eg.predicted for eg in mixed])
    loss, grad = textcat.get_loss(mixed, scores)
    assert grad.shape == (3, 2)
    np.testing.assert_array_equal(grad[1], 0)
    assert np.abs(grad[0]).sum() > 0 and np.abs(grad[2]).sum() > 0
    assert loss > 0


# --- batching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoder", ["char_lstm", "char_onehot_lstm", "char_bag_lstm", "word_lstm", "char_cnn"]
)
def test_pipe_equals_call(trained_nlp, encoder):
    if encoder == "char_lstm":
        nlp = trained_nlp
    else:
        nlp = make_nlp(encoder, loss=CROSS_ENTROPY)
        train(nlp, make_examples(nlp), n_iter=10)
    one_by_one = cats_array([nlp(t) for t in TEXTS])
    for batch_size in (3, 100):
        piped = cats_array(nlp.pipe(TEXTS, batch_size=batch_size))
        np.testing.assert_allclose(piped, one_by_one, atol=1e-5)
    np.testing.assert_allclose(one_by_one.sum(axis=1), 1.0, atol=1e-5)
    assert np.isfinite(one_by_one).all()


def test_pooling_last_pipe_equals_call():
    nlp = make_nlp(dict(ENCODERS["char_lstm"], pooling="last"), loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=10)
    np.testing.assert_allclose(
        cats_array(nlp.pipe(TEXTS, batch_size=4)), cats_array([nlp(t) for t in TEXTS]), atol=1e-5
    )


def test_empty_and_unknown_texts_score(trained_nlp):
    docs = [trained_nlp(t) for t in ["", "   ", "鑫淼"]]
    for doc in docs:
        assert set(doc.cats) == {"POSITIVE", "NEGATIVE"}
        assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)
    # no known unit: all three get the output layer's bias alone
    assert docs[0].cats == pytest.approx(docs[1].cats, abs=1e-6)
    assert docs[0].cats == pytest.approx(docs[2].cats, abs=1e-6)
    assert list(trained_nlp.pipe([])) == []


def test_long_text_uses_head_and_tail(trained_nlp):
    """Beyond max_length only the first and last 100 units count: the middle is ignored."""
    head, tail = "太差了" * 40, "非常满意" * 30
    a = trained_nlp(head + "好吃" * 100 + tail)
    b = trained_nlp(head + "难吃" * 100 + tail)
    assert a.cats["POSITIVE"] == pytest.approx(b.cats["POSITIVE"], abs=1e-6)
    short_a, short_b = trained_nlp("好吃"), trained_nlp("难吃")
    assert short_a.cats["POSITIVE"] != pytest.approx(short_b.cats["POSITIVE"], abs=1e-3)


# --- uncertain band -----------------------------------------------------------------------------


def test_no_band_leaves_attribute_none(trained_nlp):
    for doc in trained_nlp.pipe(TEXTS):
        assert doc._.sentiment_uncertain is None


def test_uncertain_band_reads_positive_score(trained_nlp):
    nlp = pickle.loads(pickle.dumps(trained_nlp))
    textcat = nlp.get_pipe("kexue_textcat")
    # an asymmetric band: read from the NEGATIVE column it would give the opposite answers
    textcat.cfg["uncertain_band"] = [0.0, 0.5]
    docs = list(nlp.pipe(TEXTS, batch_size=4))
    flags = [doc._.sentiment_uncertain for doc in docs]
    assert flags == [doc.cats["POSITIVE"] <= 0.5 for doc in docs]
    assert all(isinstance(f, bool) for f in flags)
    assert flags[: len(POSITIVE_TEXTS)] == [False] * len(POSITIVE_TEXTS)
    n = len(POSITIVE_TEXTS) + len(NEGATIVE_TEXTS)
    assert flags[len(POSITIVE_TEXTS) : n] == [True] * len(NEGATIVE_TEXTS)


def test_uncertain_band_is_inclusive(trained_nlp):
    nlp = pickle.loads(pickle.dumps(trained_nlp))
    textcat = nlp.get_pipe("kexue_textcat")
    score = nlp("质量").cats["POSITIVE"]
    textcat.cfg["uncertain_band"] = [score, score]
    assert nlp("质量")._.sentiment_uncertain is True
    assert nlp(POSITIVE_TEXTS[0])._.sentiment_uncertain is False
    textcat.cfg["uncertain_band"] = None
    assert nlp("质量")._.sentiment_uncertain is None


def test_uncertain_band_from_config_survives_saving(tmp_path):
    nlp = make_nlp(loss=CROSS_ENTROPY, uncertain_band=[0.3, 0.7])
    train(nlp, make_examples(nlp), n_iter=10)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    # srsly's JSON reader parses 0.3 as 0.30000000000000004: equal up to the last bit
    band = loaded.get_pipe("kexue_textcat").cfg["uncertain_band"]
    assert band == pytest.approx([0.3, 0.7], rel=1e-12)
    flags = [doc._.sentiment_uncertain for doc in loaded.pipe(TEXTS)]
    assert flags == [band[0] <= doc.cats["POSITIVE"] <= band[1] for doc in loaded.pipe(TEXTS)]
    assert set(flags) == {True, False}


def test_uncertain_band_overridden_at_load_wins(tmp_path):
    nlp = make_nlp(loss=CROSS_ENTROPY, uncertain_band=[0.3, 0.7])
    train(nlp, make_examples(nlp), n_iter=2)
    nlp.to_disk(tmp_path / "pipeline")
    override = {"components": {"kexue_textcat": {"uncertain_band": [0.45, 0.55]}}}
    loaded = spacy.load(tmp_path / "pipeline", config=override)
    assert loaded.get_pipe("kexue_textcat").cfg["uncertain_band"] == [0.45, 0.55]
    off = spacy.load(
        tmp_path / "pipeline", config={"components": {"kexue_textcat": {"uncertain_band": None}}}
    )
    assert off.get_pipe("kexue_textcat").cfg["uncertain_band"] is None
    assert all(doc._.sentiment_uncertain is None for doc in off.pipe(TEXTS))
    copy = blank_copy(loaded).from_bytes(nlp.to_bytes())  # bytes of a [0.3, 0.7] textcat
    assert copy.get_pipe("kexue_textcat").cfg["uncertain_band"] == [0.45, 0.55]


def test_positive_label_setting_picks_the_band_column(trained_nlp):
    nlp = pickle.loads(pickle.dumps(trained_nlp))
    textcat = nlp.get_pipe("kexue_textcat")
    assert textcat.positive_label == "POSITIVE"
    textcat.cfg["positive_label"] = "NEGATIVE"
    textcat.cfg["uncertain_band"] = [0.0, 0.5]
    docs = list(nlp.pipe(TEXTS))
    assert [d._.sentiment_uncertain for d in docs] == [d.cats["NEGATIVE"] <= 0.5 for d in docs]


# --- keep_states --------------------------------------------------------------------------------


def test_keep_states(trained_nlp):
    """With a listener attached (keep_states) the textcat leaves each doc's states in its
    kept_states store (never on the doc); pop hands them over once."""
    nlp = pickle.loads(pickle.dumps(trained_nlp))
    textcat = nlp.get_pipe("kexue_textcat")
    plain = list(nlp.pipe(TEXTS, batch_size=4))
    assert all(textcat.kept_states.pop(doc) is None for doc in plain)
    textcat.add_listener(LISTENER, LISTENER.name)
    kept = list(nlp.pipe(TEXTS, batch_size=4))
    popped = [textcat.kept_states.pop(doc) for doc in kept]
    assert all(textcat.kept_states.pop(doc) is None for doc in kept)  # handed over once
    assert len(textcat.kept_states) == 0
    for doc, ref, states in zip(kept, plain, popped, strict=True):
        assert "kexue_states" not in {key[1] for key in doc.user_data}  # not on the doc
        assert set(states) == {"forward", "backward", "token_steps", "next_steps"}
        n_steps = len(states["forward"])
        assert n_steps <= 200  # max_length
        assert states["forward"].shape == states["backward"].shape == (n_steps, HIDDEN)
        assert len(states["token_steps"]) == len(states["next_steps"]) == len(doc)
        assert doc.cats == pytest.approx(ref.cats, abs=1e-6)
    # blank texts and 鑫淼 have no known unit: no steps; 但是 is out of vocabulary too
    assert [len(s["forward"]) for s in popped[10:15]] == [0, 0, 0, 5, 0]
    assert len(popped[15]["forward"]) == 200  # truncated
    single = nlp(TEXTS[0])
    for key, value in textcat.kept_states.pop(single).items():
        np.testing.assert_allclose(value, popped[0][key], atol=1e-6, err_msg=key)
    textcat.remove_listener(LISTENER, LISTENER.name)
    doc = nlp(TEXTS[0])
    assert textcat.kept_states.pop(doc) is None


def test_listeners(trained_nlp):
    """spaCy's listener API (as Tok2Vec's): keep_states is read-only, true exactly while a
    listener is attached; find_listeners adds a component whose listens_to says so."""
    nlp = pickle.loads(pickle.dumps(trained_nlp))
    textcat = nlp.get_pipe("kexue_textcat")
    assert (textcat.listener_map, textcat.listeners, textcat.listening_components) == ({}, [], [])
    with pytest.raises(AttributeError):
        textcat.keep_states = True
    textcat.add_listener(LISTENER, LISTENER.name)
    textcat.add_listener(LISTENER, LISTENER.name)  # once only
    assert textcat.listeners == [LISTENER] and textcat.listening_components == ["listener"]
    assert textcat.keep_states is True
    assert textcat.remove_listener(LISTENER, LISTENER.name) is True
    assert textcat.remove_listener(LISTENER, LISTENER.name) is False
    assert textcat.keep_states is False and textcat.listener_map == {}

    class Asking(Listener):
        def __init__(self, answer: bool) -> None:
            self.answer, self.asked = answer, []

        def listens_to(self, component) -> bool:
            self.asked.append(component)
            return self.answer

    yes, no = Asking(True), Asking(False)
    for component in (yes, no, LISTENER, object()):
        textcat.find_listeners(component)
    assert yes.asked == no.asked == [textcat]
    assert textcat.listeners == [yes]
    # spaCy's _link_components treats the textcat as a listened-to component: it starts from an
    # empty map and asks the components after it (here none listens)
    nlp.add_pipe("sentencizer")
    assert textcat.listener_map == {}


def test_kept_states_are_bounded_and_die_with_their_docs(trained_nlp):
    import gc

    from spacy_kexue.textcat.states import StateStore

    nlp = pickle.loads(pickle.dumps(trained_nlp))
    textcat = nlp.get_pipe("kexue_textcat")
    textcat.add_listener(LISTENER, LISTENER.name)
    textcat.kept_states = StateStore(capacity=3)
    docs = list(nlp.pipe(TEXTS[:5]))
    assert len(textcat.kept_states) == 3  # the oldest two were dropped
    assert textcat.kept_states.pop(docs[0]) is None
    assert textcat.kept_states.pop(docs[4]) is not None
    del docs
    gc.collect()
    assert len(textcat.kept_states) == 0  # entries go with their docs
    again = pickle.loads(pickle.dumps(textcat.kept_states))
    assert again.capacity == 3 and len(again) == 0
    with pytest.raises(ValueError, match="capacity"):
        StateStore(capacity=0)


def test_keep_states_with_cnn_scores_without_states():
    nlp = make_nlp("char_cnn", loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=10)
    textcat = nlp.get_pipe("kexue_textcat")
    plain = [nlp(t) for t in TEXTS]
    textcat.add_listener(LISTENER, LISTENER.name)
    kept = list(nlp.pipe(TEXTS))
    for doc, ref in zip(kept, plain, strict=True):
        assert textcat.kept_states.pop(doc) is None
        assert doc.cats == pytest.approx(ref.cats, abs=1e-6)


def test_keep_states_then_training_still_works():
    """Predicting with states must not leave dropout off (or anything else) for training."""
    nlp = make_nlp(dict(ENCODERS["char_lstm"], dropout=0.3), loss=CROSS_ENTROPY)
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=1)
    textcat = nlp.get_pipe("kexue_textcat")
    textcat.add_listener(LISTENER, LISTENER.name)
    assert textcat.kept_states.pop(nlp(TEXTS[0])) is not None
    docs = [eg.predicted for eg in examples]
    first, _ = textcat.model.begin_update(docs)
    second, _ = textcat.model.begin_update(docs)
    assert not np.allclose(first, second)  # dropout is active in training passes
    np.testing.assert_array_equal(textcat.model.predict(docs), textcat.model.predict(docs))
    optimizer = Adam(0.01)
    history = []
    for _ in range(30):
        losses: dict[str, float] = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
        history.append(losses["kexue_textcat"])
    assert history[-1] < 0.5 * history[0]


# --- serialization ------------------------------------------------------------------------------


def test_bytes_round_trip(trained_nlp):
    original = cats_array(trained_nlp.pipe(TEXTS))
    loaded = blank_copy(trained_nlp).from_bytes(trained_nlp.to_bytes())
    once = cats_array(loaded.pipe(TEXTS))
    # weights are stored as float16
    np.testing.assert_allclose(once, original, atol=1e-3)
    again = blank_copy(trained_nlp).from_bytes(loaded.to_bytes())
    np.testing.assert_array_equal(cats_array(again.pipe(TEXTS)), once)
    encoder = loaded.get_pipe("kexue_textcat").model.get_ref("encoder")
    assert (
        encoder.attrs["vocab"]
        == trained_nlp.get_pipe("kexue_textcat").model.get_ref("encoder").attrs["vocab"]
    )


def test_untrained_copy_differs(trained_nlp):
    """The round-trip tests compare something: an untrained copy scores differently."""
    fresh = blank_copy(trained_nlp)
    fresh.initialize(lambda: make_examples(fresh))
    assert not np.allclose(
        cats_array(fresh.pipe(TEXTS[:10])), cats_array(trained_nlp.pipe(TEXTS[:10])), atol=1e-2
    )


def test_disk_round_trip(trained_nlp, tmp_path):
    original = cats_array(trained_nlp.pipe(TEXTS))
    trained_nlp.to_disk(tmp_path / "a")
    files = {p.name for p in (tmp_path / "a" / "kexue_textcat").iterdir()}
    assert {"model", "cfg", CHECKSUM_FILE} <= files
    loaded = spacy.load(tmp_path / "a")
    once = cats_array(loaded.pipe(TEXTS))
    np.testing.assert_allclose(once, original, atol=1e-3)
    loaded.to_disk(tmp_path / "b")
    again = spacy.load(tmp_path / "b")
    np.testing.assert_array_equal(cats_array(again.pipe(TEXTS)), once)
    assert (tmp_path / "a" / "kexue_textcat" / "model").read_bytes() == (
        tmp_path / "b" / "kexue_textcat" / "model"
    ).read_bytes()


def test_pickle_round_trip(trained_nlp):
    original = cats_array(trained_nlp.pipe(TEXTS))
    loaded = pickle.loads(pickle.dumps(trained_nlp))
    once = cats_array(loaded.pipe(TEXTS))
    np.testing.assert_allclose(once, original, atol=1e-3)
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(cats_array(again.pipe(TEXTS)), once)


def test_bag_encoder_round_trips(tmp_path):
    """The n-gram bag's table travels with the weights: bytes, disk and pickle."""
    nlp = make_nlp("char_bag_lstm", loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=20)
    original = cats_array(nlp.pipe(TEXTS))
    fresh = blank_copy(nlp)
    fresh.initialize(lambda: make_examples(fresh))
    assert not np.allclose(cats_array(fresh.pipe(TEXTS)), original, atol=1e-2)
    nlp.to_disk(tmp_path / "bag")
    for loaded in (
        blank_copy(nlp).from_bytes(nlp.to_bytes()),
        spacy.load(tmp_path / "bag"),
        pickle.loads(pickle.dumps(nlp)),
    ):
        np.testing.assert_allclose(cats_array(loaded.pipe(TEXTS)), original, atol=1e-3)


def test_corrupted_model_file_fails_checksum(trained_nlp, tmp_path):
    path = tmp_path / "pipeline"
    trained_nlp.to_disk(path)
    model_file = path / "kexue_textcat" / "model"
    data = bytearray(model_file.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the weights: still loadable, but wrong
    model_file.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="checksum") as info:
        spacy.load(path)
    assert str(model_file) in str(info.value)
    assert info.value.path == model_file


def test_checksum_file_records_model_hash(trained_nlp, tmp_path):
    import hashlib
    import json

    trained_nlp.to_disk(tmp_path / "p")
    folder = tmp_path / "p" / "kexue_textcat"
    recorded = json.loads((folder / CHECKSUM_FILE).read_text(encoding="utf-8"))
    assert recorded == {"model": hashlib.sha256((folder / "model").read_bytes()).hexdigest()}


def test_saved_weights_are_float16_rounded(trained_nlp):
    """Weights are stored as float16: loading gives the float16-rounded float32 weights."""
    import torch

    loaded = blank_copy(trained_nlp).from_bytes(trained_nlp.to_bytes())

    def params(nlp):
        net = nlp.get_pipe("kexue_textcat").model.get_ref("encoder").layers[0].shims[0]._model
        return dict(net.state_dict())

    before, after = params(trained_nlp), params(loaded)
    assert set(before) == set(after)
    for name, tensor in before.items():
        assert after[name].dtype == torch.float32
        assert torch.equal(after[name], tensor.half().float()), name
    assert any(not torch.equal(after[k], before[k]) for k in before)
