"""The encoders of ``kexue_textcat``: featurization (spacy_kexue.textcat.featurize), the
registered architectures (spacy_kexue.textcat.model), and an overfitting test per architecture
and loss."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Linear

from spacy_kexue.textcat.featurize import build_vocab, doc_units, featurize
from spacy_kexue.textcat.model import (
    build_char_bag_lstm_encoder,
    build_char_cnn_encoder,
    build_char_lstm_encoder,
    get_encoder,
)
from tests.textcat.conftest import (
    CROSS_ENTROPY,
    ENCODERS,
    HIDDEN,
    NEGATIVE_TEXTS,
    POSITIVE_TEXTS,
    label_cats,
    make_examples,
    make_nlp,
    predicted_labels,
    train,
)

TEXTS = POSITIVE_TEXTS + NEGATIVE_TEXTS
GOLD = [True] * len(POSITIVE_TEXTS) + [False] * len(NEGATIVE_TEXTS)


@pytest.fixture(scope="module")
def zh():
    return spacy.blank("zh")


def words_doc(nlp, words, spaces=None) -> Doc:
    return Doc(nlp.vocab, words=words, spaces=spaces or [False] * len(words))


# --- featurize ----------------------------------------------------------------------------------


def test_doc_units_char_owners(zh):
    doc = words_doc(zh, ["很好", "吃", "饭"], spaces=[False, True, False])
    units, owners = doc_units(doc, "char")
    assert units == ["很", "好", "吃", " ", "饭"]
    assert owners.tolist() == [0, 0, 1, 1, 2]  # a trailing space belongs to its token
    units, owners = doc_units(doc, "word")
    assert units == ["很好", "吃", "饭"]
    assert owners.tolist() == [0, 1, 2]


def test_build_vocab_frequency_size_and_min_count(zh):
    docs = [zh.make_doc("乙甲甲 丙"), zh.make_doc("甲 乙丁")]
    # 甲 3, 乙 2, 丙 1, 丁 1; whitespace is never a unit; ids start at 1 (0 is padding)
    assert build_vocab(docs, "char", 10) == {"甲": 1, "乙": 2, "丙": 3, "丁": 4}
    assert build_vocab(docs, "char", 2) == {"甲": 1, "乙": 2}
    assert build_vocab(docs, "char", 10, min_count=2) == {"甲": 1, "乙": 2}
    # ties keep the order of first appearance
    assert build_vocab([zh.make_doc("乙甲")], "char", 10) == {"乙": 1, "甲": 2}
    assert build_vocab([words_doc(zh, ["好吃", "饭", "好吃"])], "word", 10) == {"好吃": 1, "饭": 2}


def test_featurize_drops_oov_units(zh):
    vocab = {"好": 1, "吃": 2}
    batch = featurize([zh.make_doc("很好鑫吃很")], vocab, "char", 100)
    assert batch.ids.tolist() == [[1, 2]]
    assert batch.lengths.tolist() == [2]
    # 很 precedes every kept unit (-1); 鑫 and the final 很 add no step: they share the
    # previous token's step
    assert batch.token_steps[0].tolist() == [-1, 0, 0, 1, 1]


def test_featurize_pads_and_handles_empty_docs(zh):
    vocab = {"好": 1, "吃": 2, "饭": 3}
    docs = [zh.make_doc("好吃饭"), zh.make_doc(""), zh.make_doc("鑫"), zh.make_doc("饭")]
    batch = featurize(docs, vocab, "char", 100)
    assert batch.ids.tolist() == [[1, 2, 3], [0, 0, 0], [0, 0, 0], [3, 0, 0]]
    assert batch.lengths.tolist() == [3, 0, 0, 1]
    assert [s.tolist() for s in batch.token_steps] == [[0, 1, 2], [], [-1], [0]]
    empty = featurize([zh.make_doc(""), zh.make_doc(" ")], vocab, "char", 100)
    assert empty.ids.shape == (2, 1)
    assert empty.lengths.tolist() == [0, 0]


@pytest.mark.parametrize("max_length, kept", [(4, [0, 1, 8, 9]), (5, [0, 1, 7, 8, 9])])
def test_featurize_keeps_head_and_tail(zh, max_length, kept):
    text = "零一二三四五六七八九"
    vocab = {ch: i + 1 for i, ch in enumerate(text)}
    # OOV characters between the units do not count towards max_length
    doc = zh.make_doc("鑫".join(text))
    batch = featurize([doc], vocab, "char", max_length)
    assert batch.ids[0].tolist() == [i + 1 for i in kept]
    steps = batch.token_steps[0]
    assert len(steps) == len(doc)
    for i, ch in enumerate(text):
        token = 2 * i  # the i-th digit's token; the OOV 鑫 sits between
        expected = kept.index(i) if i in kept else max(j for j, k in enumerate(kept) if k < i)
        assert steps[token] == expected, ch
        if token + 1 < len(doc):
            assert steps[token + 1] == steps[token]


def test_featurize_word_units(zh):
    vocab = {"好吃": 1, "饭": 2}
    doc = words_doc(zh, ["很", "好吃", "的", "饭"])
    batch = featurize([doc], vocab, "word", 10)
    assert batch.ids.tolist() == [[1, 2]]
    assert batch.token_steps[0].tolist() == [-1, 0, 0, 1]


# --- architectures ----------------------------------------------------------------------------


def test_encoders_are_registered():
    for name, cfg in ENCODERS.items():
        encoder = registry.resolve({"x": cfg})["x"]
        assert encoder.name == "kexue_encoder", name
        assert encoder.attrs["unit"] == ("word" if name == "word_lstm" else "char")
    assert ENCODERS["char_lstm"]["hidden"] == HIDDEN
    lstm = build_char_lstm_encoder(width=8, hidden=HIDDEN, pooling="last", bidirectional=False)
    assert lstm.get_dim("nO") == HIDDEN
    assert build_char_lstm_encoder(width=8, hidden=HIDDEN).get_dim("nO") == 4 * HIDDEN
    assert build_char_cnn_encoder(width=8, hidden=12).get_dim("nO") == 12


def test_bad_architecture_settings():
    with pytest.raises(ValueError, match="pooling"):
        build_char_lstm_encoder(width=8, hidden=8, pooling="sum")
    with pytest.raises(ValueError, match="max_length"):
        build_char_lstm_encoder(width=8, hidden=8, max_length=0)
    with pytest.raises(ValueError, match="kexue encoder"):
        get_encoder(Linear(2, 2))
    with pytest.raises(ValueError, match="bag_buckets"):
        build_char_bag_lstm_encoder(width=8, hidden=8, bag_buckets=-1)
    with pytest.raises(ValueError, match="bag_width"):
        build_char_bag_lstm_encoder(width=8, hidden=8, bag_buckets=10, bag_width=0)


def test_bag_features_are_the_mean_over_units_and_bigrams():
    """The bag of a row: its units' and its bigrams' embeddings, averaged; padding is ignored,
    so a text's features do not depend on what it is batched with."""
    import torch

    from spacy_kexue.textcat.nets import BIGRAM_PRIME, RNNEncoderNet

    torch.manual_seed(0)
    net = RNNEncoderNet(10, 4, 4, bag_buckets=7, bag_width=3).eval()
    assert net.n_out == 4 * 2 * 2 + 3
    ids = torch.tensor([[3, 5, 2, 0, 0], [1, 2, 3, 4, 5]])
    lengths = torch.tensor([3, 5])
    valid = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)
    bag = net.bag_features(ids, valid)
    rows = [3, 5, 2] + [10 + (a * BIGRAM_PRIME + b) % 7 for a, b in ((3, 5), (5, 2))]
    expected = net.bag.weight[rows].mean(dim=0)
    assert torch.allclose(bag[0], expected)
    with torch.no_grad():
        alone = net(ids[:1, :3], lengths[:1])
        batched = net(ids, lengths)
    assert torch.allclose(alone[0], batched[0], atol=1e-6)


def test_vocab_comes_from_every_training_doc():
    """thinc initializes a model on a sample of ten docs; the vocabulary must see them all."""
    nlp = make_nlp("char_lstm")
    examples = make_examples(nlp) + make_examples(nlp, pos=["鑫鑫"], neg=["淼"])
    assert len(examples) > 10
    nlp.initialize(lambda: examples)
    vocab = get_encoder(nlp.get_pipe("kexue_textcat").model).attrs["vocab"]
    assert {"鑫", "淼"} <= set(vocab)
    assert set(vocab) == set("".join(POSITIVE_TEXTS + NEGATIVE_TEXTS) + "鑫淼")


def test_vocab_respects_n_vocab():
    encoder = dict(ENCODERS["char_lstm"], n_vocab=4)
    nlp = make_nlp(encoder)
    nlp.initialize(lambda: make_examples(nlp))
    vocab = get_encoder(nlp.get_pipe("kexue_textcat").model).attrs["vocab"]
    assert sorted(vocab.values()) == [1, 2, 3]


# --- overfitting ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_overfit_cross_entropy(encoder):
    nlp = make_nlp(encoder, loss=CROSS_ENTROPY)
    examples = make_examples(nlp)
    history = train(nlp, examples, n_iter=40)
    assert history[-1] < 0.1 * history[0]
    assert predicted_labels(nlp, TEXTS) == GOLD
    for doc, gold in zip(nlp.pipe(TEXTS), GOLD, strict=True):
        assert doc.cats["POSITIVE"] == pytest.approx(1.0 - doc.cats["NEGATIVE"], abs=1e-6)
        assert doc.cats["POSITIVE" if gold else "NEGATIVE"] > 0.8


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_overfit_threshold_loss(encoder):
    """The default loss: training reaches zero loss (every sample past the margin)."""
    nlp = make_nlp(encoder)
    textcat = nlp.get_pipe("kexue_textcat")
    assert type(textcat.loss).__name__ == "ThresholdLoss"
    assert textcat.loss.margin == 0.6
    history = train(nlp, make_examples(nlp), n_iter=60, until_zero=True)
    assert history[0] > 0.5
    assert history[-1] == 0.0
    assert predicted_labels(nlp, TEXTS) == GOLD


@pytest.mark.parametrize(
    "settings",
    [{"pooling": "last"}, {"pooling": "last", "bidirectional": False}, {"depth": 2}],
)
def test_overfit_lstm_variants(settings):
    nlp = make_nlp(dict(ENCODERS["char_lstm"], **settings), loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=40)
    assert predicted_labels(nlp, TEXTS) == GOLD


def test_overfit_soft_threshold_loss():
    nlp = make_nlp("char_lstm", loss={"@losses": "spacy_kexue.SoftThresholdLoss.v1"})
    history = train(nlp, make_examples(nlp), n_iter=40)
    assert history[-1] < 0.5 * history[0]
    assert predicted_labels(nlp, TEXTS) == GOLD


def test_overfit_word_lstm_on_multichar_words():
    """Word units are the Doc's tokens: the same characters in other words are other units."""
    nlp = make_nlp("word_lstm", loss=CROSS_ENTROPY)
    pos = [["很", "好吃"], ["好", "吃饭"], ["非常", "好吃"]]
    neg = [["很", "不好吃"], ["好吃", "不"], ["不", "好", "吃饭"]]
    docs = [words_doc(nlp, w) for w in pos + neg]
    gold = [True] * 3 + [False] * 3
    examples = [
        Example.from_dict(d, {"cats": label_cats(g)}) for d, g in zip(docs, gold, strict=True)
    ]
    train(nlp, examples, n_iter=50)
    vocab = get_encoder(nlp.get_pipe("kexue_textcat").model).attrs["vocab"]
    assert {"好吃", "不好吃", "吃饭", "非常"} <= set(vocab)
    assert "饭" not in vocab
    textcat = nlp.get_pipe("kexue_textcat")
    fresh = [words_doc(nlp, w) for w in pos + neg]
    assert [d.cats["POSITIVE"] > 0.5 for d in textcat.pipe(fresh)] == gold


def test_one_hot_lstm_input_weights_stay_identity():
    nlp = make_nlp("char_onehot_lstm", loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=5)
    net = get_encoder(nlp.get_pipe("kexue_textcat").model).layers[0].shims[0]._model
    assert net.embed.weight.shape[1] == 4 * HIDDEN
    for name, param in net.named_parameters():
        if "weight_ih" in name:
            assert not param.requires_grad
            assert torch.equal(param, torch.eye(4 * HIDDEN)), name


@pytest.mark.parametrize("window", [1, 5])
def test_cnn_odd_windows(window):
    nlp = make_nlp(dict(ENCODERS["char_cnn"], window=window), loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=40)
    assert predicted_labels(nlp, TEXTS) == GOLD


@pytest.mark.parametrize("window", [2, 4])
def test_cnn_even_window_is_rejected(window):
    with pytest.raises(ValueError, match="window must be a positive odd number"):
        make_nlp(dict(ENCODERS["char_cnn"], window=window), loss=CROSS_ENTROPY)


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_training_with_empty_docs_in_the_batch(encoder):
    nlp = make_nlp(encoder, loss=CROSS_ENTROPY)
    examples = make_examples(nlp) + [
        Example.from_dict(nlp.make_doc(""), {"cats": label_cats(True)}),
        Example.from_dict(nlp.make_doc("  "), {"cats": label_cats(False)}),
    ]
    history = train(nlp, examples, n_iter=15)
    assert all(np.isfinite(history))
    assert history[-1] < history[0]
    net = get_encoder(nlp.get_pipe("kexue_textcat").model).layers[0].shims[0]._model
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert predicted_labels(nlp, TEXTS) == GOLD
