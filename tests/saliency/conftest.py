"""Shared fixtures of the ``kexue_saliency`` tests: tiny trained textcats (one per encoder
variant, trained once per session) and helpers to add the saliency component to copies.

The trained pipelines hold only ``kexue_textcat``; never mutate them: :func:`with_saliency`
returns a copy (pickle) with ``kexue_saliency`` added.
"""

from __future__ import annotations

import pickle
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from tests.textcat.conftest import (
    CROSS_ENTROPY,
    ENCODERS,
    NEGATIVE_TEXTS,
    POSITIVE_TEXTS,
    make_examples,
    make_nlp,
    train,
)
from tests.tokenizer.conftest import single_torch_thread

# encoder variant -> encoder config; all LSTMs are bidirectional with max_mean pooling unless
# the name says otherwise
VARIANTS = {
    "char_lstm": ENCODERS["char_lstm"],
    "char_onehot_lstm": ENCODERS["char_onehot_lstm"],
    "char_bag_lstm": ENCODERS["char_bag_lstm"],
    "word_lstm": ENCODERS["word_lstm"],
    "char_lstm_forward": dict(ENCODERS["char_lstm"], bidirectional=False),
    "char_lstm_last": dict(ENCODERS["char_lstm"], pooling="last"),
    "char_cnn": ENCODERS["char_cnn"],
}
LSTM_VARIANTS = [
    "char_lstm",
    "char_onehot_lstm",
    "char_bag_lstm",
    "word_lstm",
    "char_lstm_forward",
    "char_lstm_last",
]

TEXTS = [
    *POSITIVE_TEXTS,
    *NEGATIVE_TEXTS,
    "这个很好鑫但是太差了",  # 鑫 and 但是 are out of vocabulary
    "质量不错 推荐购买",
    "非常满意质量糟糕",
]
OOV_TEXT = "鑫淼"  # no character of it is in the vocabulary


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Run the saliency tests with one torch thread (restored at the end of the session)."""
    with single_torch_thread():
        yield


def train_variant(name: str, n_iter: int = 30) -> Language:
    nlp = make_nlp(VARIANTS[name], loss=CROSS_ENTROPY)
    train(nlp, make_examples(nlp), n_iter=n_iter)
    return nlp


@pytest.fixture(scope="session")
def trained():
    """``trained(name)``: the session's textcat-only pipeline of that encoder variant (trained
    on first use). Do not mutate: use :func:`with_saliency` for a copy."""
    cache: dict[str, Language] = {}

    def get(name: str) -> Language:
        if name not in cache:
            cache[name] = train_variant(name)
        return cache[name]

    return get


def copy_nlp(nlp: Language) -> Language:
    return pickle.loads(pickle.dumps(nlp))


def with_saliency(nlp: Language, **config) -> Language:
    """A copy of ``nlp`` with ``kexue_saliency`` (``config``) added at the end."""
    copy = copy_nlp(nlp)
    copy.add_pipe("kexue_saliency", config=config)
    return copy


@pytest.fixture(scope="session")
def saliency_nlp(trained) -> Language:
    """The char BiLSTM pipeline with a default ``kexue_saliency``. Do not mutate."""
    return with_saliency(trained("char_lstm"))


@pytest.fixture(scope="session")
def saliency_dir(saliency_nlp, tmp_path_factory) -> Path:
    """``saliency_nlp`` saved with ``nlp.to_disk`` (for spacy.load and subprocesses)."""
    path = tmp_path_factory.mktemp("saliency_pipeline") / "zh_saliency"
    saliency_nlp.to_disk(path)
    return path


def words_doc(nlp: Language, words: list[str], spaces: list[bool] | None = None) -> Doc:
    return Doc(nlp.vocab, words=words, spaces=spaces or [False] * len(words))


def saliencies(docs) -> list[list[float]]:
    return [list(doc._.saliency) for doc in docs]


# Weights go to disk and bytes as float16, whose rounding is relative (2**-11 of each weight),
# so after a round trip a large saliency moves in proportion to its size, not by a fixed amount.
FLOAT16_WEIGHTS = {"atol": 2e-3, "rtol": 5e-3}


def assert_saliencies_close(got, expected, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Equal up to float noise: the LSTM's float32 results depend slightly on the batch, and
    normalising by a small final state scales that noise up (rtol)."""
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert len(g) == len(e)
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), e, atol=atol, rtol=rtol)


def blank_zh() -> Language:
    return spacy.blank("zh")


class TextCollector(HTMLParser):
    """Collects each ``kx-text`` block's text (entities decoded), each token span's style and
    title, and every tag seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.spans: list[dict] = []
        self.tags: list[str] = []
        self._depth = 0  # > 0 inside a kx-text block

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if self._depth:
            self._depth += 1
            if attrs.get("class") == "kx-tok":
                self.spans.append({"style": attrs.get("style"), "title": attrs.get("title")})
        elif attrs.get("class") == "kx-text":
            self._depth = 1
            self.blocks.append("")

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.blocks[-1] += data


def parse(html: str) -> TextCollector:
    collector = TextCollector()
    collector.feed(html)
    collector.close()
    return collector
