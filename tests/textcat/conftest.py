"""Shared helpers of the ``kexue_textcat`` tests: tiny encoders, a tiny labelled set, a trainer.

Every model here is small (widths 16) and trains for a few dozen updates on eight short
reviews with one torch thread, so each training takes well under a second.
"""

from __future__ import annotations

import copy

import pytest
import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from tests.tokenizer.conftest import single_torch_thread

HIDDEN = 16

POSITIVE_TEXTS = ["这个很好", "非常满意", "好吃好玩", "质量不错", "推荐购买"]
NEGATIVE_TEXTS = ["太差了", "很失望", "难吃死了", "质量糟糕", "不要买"]

ENCODERS = {
    "char_onehot_lstm": {
        "@architectures": "spacy_kexue.CharOneHotLSTMEncoder.v1",
        "hidden": HIDDEN,
        "dropout": 0.0,
    },
    "char_lstm": {
        "@architectures": "spacy_kexue.CharLSTMEncoder.v1",
        "hidden": HIDDEN,
        "width": HIDDEN,
        "dropout": 0.0,
    },
    "char_bag_lstm": {
        "@architectures": "spacy_kexue.CharBagLSTMEncoder.v1",
        "hidden": HIDDEN,
        "width": HIDDEN,
        "dropout": 0.0,
        "bag_buckets": 97,
        "bag_width": 8,
    },
    "word_lstm": {
        "@architectures": "spacy_kexue.WordLSTMEncoder.v1",
        "hidden": HIDDEN,
        "width": HIDDEN,
        "dropout": 0.0,
    },
    "char_cnn": {
        "@architectures": "spacy_kexue.CharCNNEncoder.v1",
        "hidden": HIDDEN,
        "width": HIDDEN,
        "dropout": 0.0,
    },
}
LSTM_ENCODERS = ["char_onehot_lstm", "char_lstm", "char_bag_lstm", "word_lstm"]

CROSS_ENTROPY = {"@losses": "spacy_kexue.CrossEntropy.v1"}


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Run the textcat tests with one torch thread (restored at the end of the session)."""
    with single_torch_thread():
        yield


def textcat_config(encoder: str | dict = "char_lstm", **settings) -> dict:
    enc = copy.deepcopy(ENCODERS[encoder] if isinstance(encoder, str) else encoder)
    return {
        "model": {"@architectures": "spacy_kexue.TextClassifier.v1", "encoder": enc},
        **settings,
    }


def make_nlp(encoder: str | dict = "char_lstm", **settings) -> Language:
    """``spacy.blank("zh")`` (one token per character) with an untrained ``kexue_textcat``."""
    nlp = spacy.blank("zh")
    nlp.add_pipe("kexue_textcat", config=textcat_config(encoder, **settings))
    return nlp


def label_cats(positive: bool) -> dict[str, float]:
    return {"POSITIVE": float(positive), "NEGATIVE": float(not positive)}


def make_examples(nlp: Language, pos=POSITIVE_TEXTS, neg=NEGATIVE_TEXTS) -> list[Example]:
    return [
        Example.from_dict(nlp.make_doc(text), {"cats": label_cats(label)})
        for texts, label in ((pos, True), (neg, False))
        for text in texts
    ]


def train(
    nlp: Language,
    examples: list[Example],
    n_iter: int = 40,
    lr: float = 0.01,
    seed: int = 0,
    until_zero: bool = False,
) -> list[float]:
    """Initialize and train on the whole set at once; returns the loss of every update
    (stops early at the first zero loss when ``until_zero``)."""
    fix_random_seed(seed)
    nlp.initialize(lambda: examples)
    optimizer = Adam(lr)
    history = []
    for _ in range(n_iter):
        losses: dict[str, float] = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
        history.append(losses["kexue_textcat"])
        if until_zero and history[-1] == 0.0:
            break
    return history


def predicted_labels(nlp: Language, texts) -> list[bool]:
    return [doc.cats["POSITIVE"] > doc.cats["NEGATIVE"] for doc in nlp.pipe(texts)]


@pytest.fixture(scope="module")
def trained_nlp() -> Language:
    """A char-LSTM textcat trained (cross-entropy) to separate the tiny set. Do not mutate."""
    nlp = make_nlp("char_lstm", loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=30)
    return nlp
