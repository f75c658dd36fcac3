"""The ``kexue_saliency`` component (spacy_kexue.saliency.component) and the ``Doc``/``Span``/
``Token`` attributes (spacy_kexue.saliency.extensions): the factory's checks, one float per
token on every LSTM encoder, the single forward pass, occlusion against a by-hand deletion,
serialization, ``Doc``/``DocBin`` round trips, multiprocessing and the shipped pipeline."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.util import load_model_from_config

import spacy_kexue.textcat.probe as textcat_probe
from spacy_kexue.errors import KexueError
from spacy_kexue.saliency.component import DEFAULTS, KexueSaliency
from spacy_kexue.saliency.extensions import NoSaliencyError
from spacy_kexue.textcat.model import get_encoder
from tests.multiprocess import pipe_in_subprocess
from tests.saliency.conftest import (
    FLOAT16_WEIGHTS,
    LSTM_VARIANTS,
    OOV_TEXT,
    TEXTS,
    assert_saliencies_close,
    blank_zh,
    copy_nlp,
    saliencies,
    with_saliency,
    words_doc,
)
from tests.shipped import shipped_pipe_names
from tests.textcat.conftest import CROSS_ENTROPY, make_nlp, textcat_config

SALIENCY = "kexue_saliency"
TEXTCAT = "kexue_textcat"


def count_calls(monkeypatch, owner, name: str) -> list[int]:
    """Replace ``owner.name`` by a wrapper that counts its calls (in the returned list)."""
    calls = [0]
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def count_encodes(monkeypatch, nlp) -> list[int]:
    """Count the forward passes of ``nlp``'s textcat net (every pass goes through ``encode``:
    ``forward`` calls it, and so does ``predict_with_states``)."""
    net = get_encoder(nlp.get_pipe(TEXTCAT).model).layers[0].shims[0]._model
    return count_calls(monkeypatch, net, "encode")


# --- the factory ----------------------------------------------------------------------------------


def test_defaults(trained):
    nlp = with_saliency(trained("char_lstm"))
    saliency = nlp.get_pipe(SALIENCY)
    assert isinstance(saliency, KexueSaliency)
    assert saliency.cfg == {
        "method": "states",
        "state": "decision",
        "direction": "both",
        "formula": "projection",
        "keep_states": False,
    }
    assert saliency.cfg == DEFAULTS
    assert nlp.config["components"][SALIENCY]["textcat"] is None
    assert saliency.textcat is nlp.get_pipe(TEXTCAT)
    assert saliency.textcat.keep_states is True


def test_needs_a_kexue_textcat():
    nlp = blank_zh()
    with pytest.raises(ValueError, match="needs a kexue_textcat"):
        nlp.add_pipe(SALIENCY)
    nlp.add_pipe("sentencizer")
    with pytest.raises(ValueError, match="needs a kexue_textcat"):
        nlp.add_pipe(SALIENCY)
    assert nlp.pipe_names == ["sentencizer"]


def test_named_textcat_must_exist_and_be_a_kexue_textcat():
    nlp = make_nlp()
    nlp.add_pipe("sentencizer")
    with pytest.raises(ValueError, match="'nope' is not in the pipeline"):
        nlp.add_pipe(SALIENCY, config={"textcat": "nope"})
    with pytest.raises(ValueError, match="Sentencizer, not a kexue_textcat"):
        nlp.add_pipe(SALIENCY, config={"textcat": "sentencizer"})


def test_picks_the_last_or_the_named_textcat():
    nlp = blank_zh()
    first = nlp.add_pipe(TEXTCAT, name="first", config=textcat_config())
    second = nlp.add_pipe(TEXTCAT, name="second", config=textcat_config())
    assert nlp.add_pipe(SALIENCY, name="s2").textcat is second
    assert (second.keep_states, first.keep_states) == (True, False)
    assert nlp.add_pipe(SALIENCY, name="s1", config={"textcat": "first"}).textcat is first
    assert first.keep_states is True


def test_cnn_encoder_needs_occlusion(trained):
    nlp = copy_nlp(trained("char_cnn"))
    with pytest.raises(ValueError, match='method = "occlusion"'):
        nlp.add_pipe(SALIENCY)
    saliency = nlp.add_pipe(SALIENCY, config={"method": "occlusion"})
    assert nlp.get_pipe(TEXTCAT).keep_states is False
    with pytest.raises(ValueError, match="occlusion"):
        saliency.configure(method="states")
    assert saliency.method == "occlusion"


@pytest.mark.parametrize(
    "setting, value",
    [("method", "gradient"), ("state", "cell"), ("direction", "left"), ("formula", "cosine")],
)
def test_bad_setting_values(trained, setting, value):
    nlp = copy_nlp(trained("char_lstm"))
    with pytest.raises(ValueError, match=rf"{setting} must be one of .*'{value}'"):
        nlp.add_pipe(SALIENCY, config={setting: value})
    saliency = nlp.add_pipe(SALIENCY)
    with pytest.raises(ValueError, match=setting):
        saliency.configure(**{setting: value})
    assert saliency.cfg == DEFAULTS  # a failed configure changes nothing


def test_backward_direction_needs_a_bidirectional_encoder(trained):
    nlp = copy_nlp(trained("char_lstm_forward"))
    with pytest.raises(ValueError, match="bidirectional"):
        nlp.add_pipe(SALIENCY, config={"direction": "backward"})
    saliency = nlp.add_pipe(SALIENCY, config={"direction": "forward"})
    with pytest.raises(ValueError, match="bidirectional"):
        saliency.configure(direction="backward")
    saliency.configure(direction="both")


def test_configure(trained):
    nlp = with_saliency(trained("char_lstm"))
    saliency, textcat = nlp.get_pipe(SALIENCY), nlp.get_pipe(TEXTCAT)
    with pytest.raises(ValueError, match="unknown settings"):
        saliency.configure(textcat="kexue_textcat")
    saliency.configure(method="occlusion", formula=None)
    assert saliency.cfg == {**DEFAULTS, "method": "occlusion"}
    assert textcat.keep_states is False
    saliency.configure(method="states", state="lstm")
    assert saliency.cfg == {**DEFAULTS, "state": "lstm"}
    assert textcat.keep_states is True


# --- the link to the textcat: a listener, as spaCy's Tok2VecListener ---------------------------


def test_listens_to_its_textcat(trained):
    nlp = with_saliency(trained("char_lstm"))
    saliency, textcat = nlp.get_pipe(SALIENCY), nlp.get_pipe(TEXTCAT)
    assert textcat.listeners == [saliency] and textcat.listening_components == [SALIENCY]
    assert saliency.listens_to(textcat) is True
    with pytest.raises(AttributeError):  # derived from the listeners, never set from outside
        textcat.keep_states = False
    saliency.configure(method="occlusion")
    assert textcat.listener_map == {} and textcat.keep_states is False
    assert saliency.listens_to(textcat) is False
    saliency.configure(state="lstm")  # the method did not change: still not listening
    assert textcat.listener_map == {}
    saliency.configure(method="states")
    assert textcat.listeners == [saliency]
    nlp.rename_pipe(SALIENCY, "renamed")  # spaCy relinks under the new name
    assert textcat.listening_components == ["renamed"]
    saliency.configure(method="occlusion")
    assert textcat.listener_map == {}


def test_made_by_hand_it_registers_itself(trained, monkeypatch):
    nlp = copy_nlp(trained("char_lstm"))
    textcat = nlp.get_pipe(TEXTCAT)
    saliency = KexueSaliency(textcat, "by_hand")
    assert textcat.listeners == [saliency] and textcat.listening_components == ["by_hand"]
    reference = with_saliency(trained("char_lstm"))("这个很好")._.saliency
    encodes = count_encodes(monkeypatch, nlp)
    doc = saliency(textcat(nlp.make_doc("这个很好")))
    assert encodes[0] == 1
    assert_saliencies_close([doc._.saliency], [reference], atol=0, rtol=0)


def test_two_textcats_each_keep_states_for_their_own_listeners():
    nlp = blank_zh()
    first = nlp.add_pipe(TEXTCAT, name="first", config=textcat_config())
    second = nlp.add_pipe(TEXTCAT, name="second", config=textcat_config())
    s2 = nlp.add_pipe(SALIENCY, name="s2")
    s1 = nlp.add_pipe(SALIENCY, name="s1", config={"textcat": "first"})
    assert (first.listeners, second.listeners) == ([s1], [s2])
    nlp.remove_pipe("s2")
    assert (first.listeners, second.listeners) == ([s1], [])
    assert (first.keep_states, second.keep_states) == (True, False)
    s1.configure(method="occlusion")
    assert first.keep_states is False


def test_removed_saliency_stops_the_textcat_keeping_states(trained):
    nlp = with_saliency(trained("char_lstm"))
    textcat = nlp.get_pipe(TEXTCAT)
    nlp.remove_pipe(SALIENCY)
    assert textcat.listener_map == {} and textcat.keep_states is False
    docs = list(nlp.pipe(TEXTS))
    assert len(textcat.kept_states) == 0
    assert all(doc._.kexue_states is None for doc in docs)


def test_textcat_after_the_saliency_component(trained, monkeypatch):
    """A saliency component placed before its textcat gets no states from it (the textcat has
    not run yet): spaCy's relinking leaves it unlinked, and it computes its own."""
    reference = saliencies(with_saliency(trained("char_lstm")).pipe(TEXTS))
    nlp = copy_nlp(trained("char_lstm"))
    nlp.add_pipe(SALIENCY, first=True)
    textcat = nlp.get_pipe(TEXTCAT)
    assert nlp.pipe_names == [SALIENCY, TEXTCAT]
    assert textcat.keep_states is False
    encodes = count_encodes(monkeypatch, nlp)
    docs = list(nlp.pipe(TEXTS, batch_size=4))
    assert encodes[0] == 8  # each component's own pass over each of the 4 batches
    assert_saliencies_close(saliencies(docs), reference)
    assert len(textcat.kept_states) == 0


def test_follows_a_replaced_textcat(trained, monkeypatch):
    nlp = with_saliency(trained("char_lstm"))
    saliency, old = nlp.get_pipe(SALIENCY), nlp.get_pipe(TEXTCAT)
    reference = saliencies(nlp.pipe(TEXTS))
    new = nlp.replace_pipe(TEXTCAT, TEXTCAT, config=textcat_config(loss=CROSS_ENTROPY))
    new.from_bytes(old.to_bytes())
    assert saliency.textcat is new and new.listeners == [saliency]
    assert old.keep_states is False
    encodes = count_encodes(monkeypatch, nlp)
    docs = list(nlp.pipe(TEXTS, batch_size=4))
    assert encodes[0] == 4
    assert_saliencies_close(saliencies(docs), reference, **FLOAT16_WEIGHTS)


def test_replacing_the_textcat_by_a_cnn(trained):
    nlp = with_saliency(trained("char_lstm"))
    old = nlp.get_pipe(TEXTCAT)
    with pytest.raises(ValueError, match='method = "occlusion"'):
        nlp.replace_pipe(TEXTCAT, TEXTCAT, config=textcat_config("char_cnn"))
    assert nlp.get_pipe(SALIENCY).textcat is old  # it did not follow
    nlp = with_saliency(trained("char_lstm"), method="occlusion")
    new = nlp.replace_pipe(TEXTCAT, TEXTCAT, config=textcat_config("char_cnn"))
    assert nlp.get_pipe(SALIENCY).textcat is new and new.keep_states is False


def test_link_survives_loading_the_textcat(trained, saliency_dir, monkeypatch):
    nlp = with_saliency(trained("char_lstm"))
    saliency, textcat = nlp.get_pipe(SALIENCY), nlp.get_pipe(TEXTCAT)
    textcat.from_disk(saliency_dir / TEXTCAT)
    assert textcat.listeners == [saliency]
    nlp.from_disk(saliency_dir)
    assert nlp.get_pipe(TEXTCAT).listeners == [nlp.get_pipe(SALIENCY)]
    textcat.from_bytes(textcat.to_bytes())
    assert textcat.listeners == [saliency]
    encodes = count_encodes(monkeypatch, nlp)
    list(nlp.pipe(TEXTS, batch_size=4))
    assert encodes[0] == 4


@pytest.mark.parametrize("how", ["spacy.load", "from_bytes"])
def test_no_second_forward_pass_after_loading(saliency_nlp, saliency_dir, monkeypatch, how):
    if how == "spacy.load":
        nlp = spacy.load(saliency_dir)
    else:
        nlp = blank_copy(saliency_nlp).from_bytes(saliency_nlp.to_bytes())
    assert nlp.get_pipe(TEXTCAT).listeners == [nlp.get_pipe(SALIENCY)]
    encodes = count_encodes(monkeypatch, nlp)
    docs = list(nlp.pipe(TEXTS, batch_size=4))
    assert encodes[0] == 4
    nlp("这个很好")
    assert encodes[0] == 5
    assert all(doc._.kexue_states is None for doc in docs)


# --- one float per token ----------------------------------------------------------------------


@pytest.mark.parametrize("variant", LSTM_VARIANTS)
def test_one_float_per_token(trained, variant):
    nlp = with_saliency(trained(variant))
    docs = list(nlp.pipe(TEXTS, batch_size=4))
    for doc in docs:
        values = doc._.saliency
        assert isinstance(values, list) and len(values) == len(doc)
        assert all(type(v) is float and np.isfinite(v) for v in values)
        assert [t._.saliency for t in doc] == values
        assert any(v != 0.0 for v in values)
        assert doc._.kexue_states is None  # dropped after use
        # the decision scores of each direction sum to ±1, mixed by the directions' shares
        assert abs(sum(values)) <= 1.0 + 1e-5
    # 鑫 and 但是 have no unit: exactly zero
    mixed = docs[TEXTS.index("这个很好鑫但是太差了")]
    assert [mixed._.saliency[i] for i in (4, 5, 6)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("variant", LSTM_VARIANTS)
@pytest.mark.parametrize("state", ["lstm", "pooled"])
def test_states_scores_sum_to_one(trained, variant, state):
    """Both formulas telescope, so each direction's scores (and their mean) sum to 1."""
    nlp = with_saliency(trained(variant), state=state)
    for formula in ("distance", "projection"):
        nlp.get_pipe(SALIENCY).configure(formula=formula)
        for doc in nlp.pipe(TEXTS):
            assert sum(doc._.saliency) == pytest.approx(1.0, abs=1e-4), (formula, doc.text)


@pytest.mark.parametrize("method", ["states", "occlusion"])
def test_docs_without_known_units(trained, method):
    nlp = with_saliency(trained("char_lstm"), method=method)
    oov, empty, blank = nlp.pipe([OOV_TEXT, "", "  \n\t"])
    assert oov._.saliency == [0.0] * len(oov) and len(oov) == 2
    assert empty._.saliency == [] and len(empty) == 0
    assert blank._.saliency == [0.0] * len(blank) and len(blank) > 0
    for doc in (oov, empty, blank):
        assert doc.cats and doc._.kexue_states is None
        assert doc._.salient(3) == list(doc)[:3]


@pytest.mark.parametrize("method", ["states", "occlusion"])
def test_tokens_cut_by_truncation_score_zero(trained, method):
    nlp = with_saliency(trained("char_lstm"), method=method)
    doc = nlp("好吃" * 250)  # max_length 200 keeps the first and last 100 characters
    values = np.asarray(doc._.saliency)
    assert len(values) == 500
    assert np.all(values[100:400] == 0.0)
    if method == "states":
        assert np.count_nonzero(values[:100]) > 0 and np.count_nonzero(values[400:]) > 0
    else:  # hiding one of 200 identical characters can leave a saturated score unchanged
        assert np.count_nonzero(values[:100]) + np.count_nonzero(values[400:]) > 0


def test_keep_states_setting(trained):
    nlp = with_saliency(trained("char_lstm"), keep_states=True)
    doc = nlp("这个很好")
    assert set(doc._.kexue_states) == {"forward", "backward", "token_steps", "next_steps"}
    assert len(doc._.saliency) == 4
    nlp.get_pipe(SALIENCY).configure(keep_states=False)
    assert nlp("这个很好")._.kexue_states is None


def test_disabled_or_removed_saliency_leaves_no_states(trained, saliency_dir):
    """Without an active kexue_saliency to consume and drop them, docs must not carry LSTM
    states (two (L, hidden) arrays per doc) out of the pipeline."""
    nlp = with_saliency(trained("char_lstm"))
    with nlp.select_pipes(disable=[SALIENCY]):
        assert nlp("这个很好")._.kexue_states is None
    loaded = spacy.load(saliency_dir, disable=[SALIENCY])
    assert loaded("这个很好")._.kexue_states is None
    nlp.remove_pipe(SALIENCY)
    assert nlp("这个很好")._.kexue_states is None


# --- the states path: one forward pass ---------------------------------------------------------


def test_no_second_forward_pass(trained, monkeypatch):
    nlp = with_saliency(trained("char_lstm"))
    assert nlp.get_pipe(TEXTCAT).keep_states is True
    reference = saliencies(nlp.pipe(TEXTS, batch_size=4))
    encodes = count_encodes(monkeypatch, nlp)
    with_states = count_calls(monkeypatch, textcat_probe, "predict_with_states")
    docs = list(nlp.pipe(TEXTS, batch_size=4))  # 13 texts: 4 batches
    assert encodes[0] == 4
    assert with_states[0] == 4  # the textcat's own passes, none from the saliency component
    assert_saliencies_close(saliencies(docs), reference, atol=0, rtol=0)
    nlp("这个很好")
    assert encodes[0] == 5


def test_docs_without_states_get_the_same_saliency(trained, monkeypatch):
    nlp = with_saliency(trained("char_lstm"))
    saliency = nlp.get_pipe(SALIENCY)
    reference = list(nlp.pipe(TEXTS))
    encodes = count_encodes(monkeypatch, nlp)
    with nlp.select_pipes(disable=[TEXTCAT]):
        docs = list(nlp.pipe(TEXTS, batch_size=5))
    assert encodes[0] == 3  # the saliency component's own batched passes
    assert_saliencies_close(saliencies(docs), saliencies(reference))
    for doc in docs:
        assert doc.cats == {}  # the textcat's to set: it was disabled
        assert doc._.kexue_states is None
    direct = [saliency(nlp.make_doc(text)) for text in TEXTS]
    assert_saliencies_close(saliencies(direct), saliencies(reference))


def test_pipe_equals_single_calls(trained):
    nlp = with_saliency(trained("char_lstm"))
    single = [nlp(text) for text in TEXTS]
    for batch_size in (1, 4, 100):
        assert_saliencies_close(
            saliencies(nlp.pipe(TEXTS, batch_size=batch_size)), saliencies(single)
        )


def test_evaluate_and_train_with_saliency_in_the_pipeline():
    from tests.textcat.conftest import CROSS_ENTROPY, make_examples, train

    nlp = make_nlp("char_lstm", loss=CROSS_ENTROPY)
    nlp.add_pipe(SALIENCY)
    examples = make_examples(nlp)
    history = train(nlp, examples, n_iter=10)
    assert history[-1] < history[0]
    assert nlp.evaluate(examples)["cats_score"] > 0.5
    doc = nlp("这个很好")
    assert len(doc._.saliency) == 4 and doc._.kexue_states is None


# --- salient() and the attributes --------------------------------------------------------------


@pytest.fixture
def hand_doc():
    doc = words_doc(blank_zh(), ["甲", "乙", "丙", "丁", "戊"])
    doc._.saliency = [0.1, 0.5, -0.2, 0.5, 0.0]
    return doc


def indices(tokens) -> list[int]:
    return [t.i for t in tokens]


def test_salient_ordering_ties_and_least(hand_doc):
    doc = hand_doc
    assert indices(doc._.salient(3)) == [1, 3, 0]  # tie: the earlier token first
    assert indices(doc._.salient()) == [1, 3, 0, 4, 2]  # k = 5 by default
    assert indices(doc._.salient(2, least=True)) == [2, 4]
    assert indices(doc._.salient(10, least=True)) == [2, 4, 0, 1, 3]
    assert doc._.salient(0) == []
    assert all(t.doc is doc for t in doc._.salient(5))
    with pytest.raises(ValueError, match="k must be >= 0"):
        doc._.salient(-1)


def test_token_and_span_attributes(hand_doc):
    doc = hand_doc
    assert [t._.saliency for t in doc] == [0.1, 0.5, -0.2, 0.5, 0.0]
    span = doc[1:4]
    assert span._.saliency == [0.5, -0.2, 0.5]
    assert indices(span._.salient(2)) == [1, 3]
    assert indices(span._.salient(1, least=True)) == [2]
    assert indices(doc[2:5]._.salient(5)) == [3, 4, 2]
    assert doc[0:0]._.saliency == [] and doc[0:0]._.salient(3) == []


def test_unprocessed_doc_has_no_saliency():
    doc = blank_zh()("这个很好")
    assert doc._.saliency is None
    assert doc[0]._.saliency is None
    assert doc[1:3]._.saliency is None
    with pytest.raises(NoSaliencyError, match="kexue_saliency"):
        doc._.salient()
    assert issubclass(NoSaliencyError, KexueError) and issubclass(NoSaliencyError, ValueError)
    with pytest.raises(ValueError, match="kexue_saliency"):
        doc[1:3]._.salient(1)


def test_salient_on_a_processed_doc(saliency_nlp):
    doc = saliency_nlp("这个很好鑫但是太差了")
    values = doc._.saliency
    top = doc._.salient(3)
    assert [t._.saliency for t in top] == sorted(values, reverse=True)[:3]
    bottom = doc._.salient(2, least=True)
    assert [t._.saliency for t in bottom] == sorted(values)[:2]


# --- occlusion --------------------------------------------------------------------------------


def by_hand_occlusion(nlp, doc) -> list[float]:
    """p(c | doc) − p(c | doc without token i), c the predicted class, every doc predicted
    alone with the model."""
    model = nlp.get_pipe(TEXTCAT).model
    full = model.predict(
        [words_doc(nlp, [t.text for t in doc], [bool(t.whitespace_) for t in doc])]
    )
    label = int(np.argmax(full[0]))
    scores = []
    for i in range(len(doc)):
        kept = [t for t in doc if t.i != i]
        without = words_doc(nlp, [t.text for t in kept], [bool(t.whitespace_) for t in kept])
        scores.append(float(full[0, label] - model.predict([without])[0, label]))
    return scores


@pytest.mark.parametrize("variant", ["char_lstm", "word_lstm", "char_cnn"])
def test_occlusion_equals_deleting_the_token(trained, variant):
    nlp = with_saliency(trained(variant), method="occlusion")
    # confident predictions barely move; 质量 and 推荐太差了 are less certain
    texts = ["这个很好鑫太差了", "质量不错 推荐购买", "鑫很失望", "质量", "推荐太差了", "好差"]
    largest = 0.0
    for doc in nlp.pipe(texts):
        expected = by_hand_occlusion(nlp, doc)
        np.testing.assert_allclose(doc._.saliency, expected, atol=1e-5, rtol=0)
        largest = max(largest, float(np.abs(expected).max()))
        assert doc._.kexue_states is None
    assert largest > 1e-2  # the comparison is not between zeros
    doc = nlp("这个很好鑫太差了")
    assert doc._.saliency[4] == 0.0  # 鑫: no unit, nothing to delete


def test_occlusion_differs_from_states(trained):
    nlp = with_saliency(trained("char_lstm"))
    states = nlp("这个很好太差了")._.saliency
    nlp.get_pipe(SALIENCY).configure(method="occlusion")
    occlusion = nlp("这个很好太差了")._.saliency
    assert not np.allclose(states, occlusion, atol=1e-3)


# --- serialization ------------------------------------------------------------------------------

SETTINGS = {"state": "pooled", "direction": "forward", "formula": "distance"}


def blank_copy(nlp):
    return load_model_from_config(nlp.config, auto_fill=True)


def test_bytes_round_trip(trained):
    nlp = with_saliency(trained("char_lstm"), **SETTINGS)
    original = saliencies(nlp.pipe(TEXTS))
    loaded = blank_copy(nlp).from_bytes(nlp.to_bytes())
    saliency = loaded.get_pipe(SALIENCY)
    assert saliency.cfg == {**DEFAULTS, **SETTINGS}
    assert saliency.textcat is loaded.get_pipe(TEXTCAT)
    assert saliency.textcat.keep_states is True
    once = saliencies(loaded.pipe(TEXTS))
    assert_saliencies_close(once, original, **FLOAT16_WEIGHTS)
    again = blank_copy(loaded).from_bytes(loaded.to_bytes())
    assert_saliencies_close(saliencies(again.pipe(TEXTS)), once, atol=0, rtol=0)


def test_disk_round_trip_and_spacy_load(trained, tmp_path):
    nlp = with_saliency(trained("char_lstm"), **SETTINGS)
    original = saliencies(nlp.pipe(TEXTS))
    nlp.to_disk(tmp_path / "pipeline")
    saved = {**DEFAULTS, **SETTINGS}
    assert json.loads((tmp_path / "pipeline" / SALIENCY / "cfg.json").read_text()) == {
        **saved,
        "made_with": saved,
    }
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == [TEXTCAT, SALIENCY]
    saliency = loaded.get_pipe(SALIENCY)
    assert saliency.cfg == {**DEFAULTS, **SETTINGS}
    assert saliency.textcat is loaded.get_pipe(TEXTCAT)
    assert saliency.textcat.keep_states is True
    assert_saliencies_close(saliencies(loaded.pipe(TEXTS)), original, **FLOAT16_WEIGHTS)


def test_occlusion_setting_survives_loading(trained, tmp_path):
    nlp = with_saliency(trained("char_lstm"), method="occlusion")
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe(SALIENCY).method == "occlusion"
    assert loaded.get_pipe(TEXTCAT).keep_states is False
    reloaded = blank_copy(nlp).from_bytes(nlp.to_bytes())
    assert reloaded.get_pipe(SALIENCY).method == "occlusion"


def test_config_overrides_at_load_win(trained, tmp_path):
    nlp = with_saliency(trained("char_lstm"), **SETTINGS)
    nlp.to_disk(tmp_path / "pipeline")
    overrides = {"method": "occlusion", "formula": "projection"}
    loaded = spacy.load(tmp_path / "pipeline", config={"components": {SALIENCY: overrides}})
    saliency = loaded.get_pipe(SALIENCY)
    assert saliency.cfg == {**DEFAULTS, **SETTINGS, **overrides}
    assert loaded.config["components"][SALIENCY]["method"] == "occlusion"
    assert loaded.get_pipe(TEXTCAT).keep_states is False  # occlusion: no listener
    doc = loaded(TEXTS[0])
    assert doc._.saliency == pytest.approx(
        textcat_probe.occlusion_saliency(loaded.get_pipe(TEXTCAT).model, doc).tolist()
    )


def test_a_change_made_with_configure_is_saved(trained, tmp_path):
    nlp = with_saliency(trained("char_lstm"))
    nlp.get_pipe(SALIENCY).configure(formula="distance", state="lstm")
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe(SALIENCY).cfg == {**DEFAULTS, "formula": "distance", "state": "lstm"}
    override = {"components": {SALIENCY: {"state": "pooled"}}}
    loaded = spacy.load(tmp_path / "pipeline", config=override)
    assert loaded.get_pipe(SALIENCY).cfg == {**DEFAULTS, "formula": "distance", "state": "pooled"}


def test_settings_saved_without_made_with_load_and_yield_to_overrides(trained, tmp_path):
    """spacy-kexue 0.1.0 saved the settings alone (its pipelines were saved as made)."""
    nlp = with_saliency(trained("char_lstm"), **SETTINGS)
    nlp.to_disk(tmp_path / "pipeline")
    cfg_file = tmp_path / "pipeline" / SALIENCY / "cfg.json"
    cfg_file.write_text(json.dumps({**DEFAULTS, **SETTINGS}), encoding="utf-8")
    assert spacy.load(tmp_path / "pipeline").get_pipe(SALIENCY).cfg == {**DEFAULTS, **SETTINGS}
    loaded = spacy.load(
        tmp_path / "pipeline", config={"components": {SALIENCY: {"method": "occlusion"}}}
    )
    assert loaded.get_pipe(SALIENCY).method == "occlusion"


def test_unknown_saved_settings_are_refused(trained, tmp_path):
    nlp = with_saliency(trained("char_lstm"))
    nlp.to_disk(tmp_path / "pipeline")
    cfg_file = tmp_path / "pipeline" / SALIENCY / "cfg.json"
    cfg_file.write_text(json.dumps({**DEFAULTS, "colour": "red"}), encoding="utf-8")
    with pytest.raises(KexueError, match=r"cfg\.json.*unknown settings \['colour'\]"):
        spacy.load(tmp_path / "pipeline")


def test_pickle_round_trip(saliency_nlp):
    original = saliencies(saliency_nlp.pipe(TEXTS))
    nlp = pickle.loads(pickle.dumps(saliency_nlp))
    saliency = nlp.get_pipe(SALIENCY)
    assert saliency.cfg == DEFAULTS
    assert saliency.textcat is nlp.get_pipe(TEXTCAT)  # one textcat, not a copy
    assert saliency.textcat.keep_states is True
    assert saliency.textcat.listeners[0] is saliency
    assert_saliencies_close(saliencies(nlp.pipe(TEXTS)), original, atol=0, rtol=0)


def test_doc_bytes_and_docbin_keep_saliency(saliency_nlp):
    docs = list(saliency_nlp.pipe(TEXTS))
    vocab = saliency_nlp.vocab
    for doc in docs:
        restored = Doc(vocab).from_bytes(doc.to_bytes())
        assert restored._.saliency == doc._.saliency
        assert [t._.saliency for t in restored] == doc._.saliency
        assert restored._.kexue_states is None
    data = DocBin(store_user_data=True, docs=docs).to_bytes()
    restored = list(DocBin().from_bytes(data).get_docs(vocab))
    assert saliencies(restored) == saliencies(docs)
    assert [[t._.saliency for t in d] for d in restored] == saliencies(docs)
    assert indices(restored[0]._.salient(2)) == indices(docs[0]._.salient(2))
    # without user data nothing is stored
    plain = list(DocBin(docs=docs).from_bytes(DocBin(docs=docs).to_bytes()).get_docs(vocab))
    assert all(d._.saliency is None for d in plain)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocess_pipe(saliency_dir, tmp_path, method):
    """n_process=2 gives the single-process saliencies under spawn, and does not hang under
    fork."""
    texts = TEXTS + [OOV_TEXT, "", "好吃" * 150]
    view = """
    def view(docs):
        return [[d._.saliency, d.cats, d._.kexue_states is None] for d in docs]
    """
    single, multi = pipe_in_subprocess(saliency_dir, texts, method, view, tmp_path)
    assert len(single) == len(multi) == len(texts)
    assert all(states_dropped for _, _, states_dropped in single + multi)
    assert_saliencies_close([m[0] for m in multi], [s[0] for s in single], atol=1e-5)
    for (_, cats_multi, _), (_, cats_single, _) in zip(multi, single, strict=True):
        assert cats_multi == pytest.approx(cats_single, abs=1e-5)
    expected = saliencies(spacy.load(saliency_dir).pipe(texts))
    assert_saliencies_close([s[0] for s in single], expected, atol=1e-5)


# --- the shipped pipeline -----------------------------------------------------------------------


@pytest.mark.skipif(
    "saliency" not in shipped_pipe_names(),
    reason="zh_kexue_sm is not installed, or it has no saliency component yet",
)
def test_shipped_pipeline():
    nlp = spacy.load("zh_kexue_sm")
    assert "saliency" in nlp.pipe_names
    saliency = nlp.get_pipe("saliency")
    assert isinstance(saliency, KexueSaliency)
    assert nlp.pipe_names.index("saliency") > nlp.pipe_names.index(saliency.textcat.name)
    assert saliency.textcat.keep_states is (saliency.method == "states")
    assert saliency.textcat.listeners == ([saliency] if saliency.method == "states" else [])
    texts = ["这个手机很好用，但是电池太差了", "", "非常满意！"]
    docs = list(nlp.pipe(texts))
    for doc in docs:
        assert len(doc._.saliency) == len(doc)
        assert all(np.isfinite(doc._.saliency))
        assert doc._.kexue_states is None
    assert len(docs[0]._.salient(3)) == 3
    assert_saliencies_close(saliencies(docs), saliencies(nlp(t) for t in texts), atol=1e-5)
