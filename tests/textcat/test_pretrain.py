"""The encoder's language-model pretraining (spacy_kexue.textcat.pretrain, ``kexue textcat
pretrain``) and a textcat initialised from it (``[initialize.components.textcat] init_encoder``)."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
import srsly
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.errors import DataFileError
from spacy_kexue.textcat.model import get_encoder
from spacy_kexue.textcat.pretrain import (
    encoder_from_config,
    load_pretrained_encoder,
    pretrain_encoder,
    save_encoder,
    text_units,
)
from tests.textcat.conftest import (
    ENCODERS,
    NEGATIVE_TEXTS,
    POSITIVE_TEXTS,
    make_examples,
    make_nlp,
    predicted_labels,
    train,
)

# a tiny raw corpus with strong patterns to learn; like a real one (the reviews' texts) it
# holds the labelled texts, whose units the pretrained vocabulary then covers
RAW = ["我们喜欢这个好东西", "他们不喜欢那个坏东西", "东西很好我们喜欢", "那个东西坏了"] * 6
RAW += POSITIVE_TEXTS + NEGATIVE_TEXTS
# the same with spaces between words, for a word encoder read with spaCy's English tokenizer
WORDS = ["我们 喜欢 这个 好 东西", "他们 不 喜欢 那个 坏 东西", "东西 很 好 我们 喜欢"] * 8


def encoder_of(nlp) -> object:
    return get_encoder(nlp.get_pipe("kexue_textcat").model)


def torch_state(encoder) -> dict[str, np.ndarray]:
    net = encoder.layers[0].shims[0]._model
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A char-LSTM encoder pretrained on RAW, saved to a file."""
    encoder = encoder_of(make_nlp("char_lstm"))
    summary = pretrain_encoder(encoder, RAW, steps=60, batch_size=8, learn_rate=0.02)
    path = tmp_path_factory.mktemp("pretrain") / "encoder.bin"
    save_encoder(encoder, path, summary)
    return encoder, summary, path


def test_pretraining_lowers_the_language_model_loss(pretrained):
    encoder, summary, _ = pretrained
    assert summary["texts"] == len(RAW) and summary["steps"] == 60
    assert summary["last_loss"] < 0.6 * summary["first_loss"]
    assert set(encoder.attrs["vocab"]) == set("".join(RAW))  # built from the raw text


@pytest.mark.parametrize("name", ["char_onehot_lstm", "char_bag_lstm", "word_lstm"])
def test_every_lstm_encoder_pretrains(name):
    encoder = encoder_of(make_nlp(name))
    tokenizer = spacy.blank("en").tokenizer if name == "word_lstm" else None
    texts = WORDS if name == "word_lstm" else RAW
    summary = pretrain_encoder(encoder, texts, tokenizer=tokenizer, steps=30, learn_rate=0.02)
    assert summary["last_loss"] < summary["first_loss"]


def test_a_word_encoder_needs_the_tokenizer_and_a_cnn_cannot_pretrain():
    with pytest.raises(ValueError, match="needs the tokenizer"):
        pretrain_encoder(encoder_of(make_nlp("word_lstm")), RAW, steps=1)
    with pytest.raises(ValueError, match="bidirectional LSTM"):
        pretrain_encoder(encoder_of(make_nlp("char_cnn")), RAW, steps=1)
    with pytest.raises(ValueError, match="no characters"):
        pretrain_encoder(encoder_of(make_nlp("char_lstm")), ["  ", ""], steps=1)


def test_char_units_are_the_characters_the_textcat_reads():
    nlp = spacy.blank("zh")
    texts = ["好 东西！", "ab c"]
    from spacy_kexue.units import unit_texts

    assert list(text_units(texts, "char")) == [unit_texts(nlp(t), "char") for t in texts]


def test_a_textcat_initialised_from_the_file_starts_from_its_weights(pretrained):
    encoder, _, path = pretrained
    nlp = make_nlp("char_lstm")
    nlp.config["initialize"]["components"]["kexue_textcat"] = {"init_encoder": str(path)}
    nlp.initialize(lambda: make_examples(nlp))
    loaded = encoder_of(nlp)
    assert loaded.attrs["vocab"] == encoder.attrs["vocab"]
    expected, got = torch_state(encoder), torch_state(loaded)
    for name in expected:  # stored as float16
        np.testing.assert_allclose(got[name], expected[name], atol=2e-3, rtol=1e-2)
    # and it trains on: the tiny set is learnt from the pretrained start
    train(nlp, make_examples(nlp), n_iter=40)
    texts = POSITIVE_TEXTS + NEGATIVE_TEXTS
    assert predicted_labels(nlp, texts) == [True] * 5 + [False] * 5


def test_a_file_of_other_settings_or_a_changed_file_is_a_clear_error(pretrained, tmp_path):
    _, summary, path = pretrained
    wider = dict(ENCODERS["char_lstm"], width=32, hidden=32)
    with pytest.raises(DataFileError, match="same encoder settings") as err:
        load_pretrained_encoder(encoder_of(make_nlp(wider)), path)
    assert str(path) in str(err.value)
    copy = tmp_path / "encoder.bin"
    copy.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    srsly.write_json(tmp_path / "encoder.json", srsly.read_json(path.with_suffix(".json")))
    with pytest.raises(DataFileError, match="encoder.bin"):
        load_pretrained_encoder(encoder_of(make_nlp("char_lstm")), copy)
    with pytest.raises(DataFileError, match="missing.bin"):
        load_pretrained_encoder(encoder_of(make_nlp("char_lstm")), tmp_path / "missing.bin")


def test_the_command_pretrains_the_encoder_of_a_training_config(tmp_path):
    config = tmp_path / "textcat.cfg"
    make_nlp("char_lstm").config.to_disk(config)
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(RAW) + "\n", encoding="utf8")
    output = tmp_path / "out" / "encoder.bin"
    args = ["textcat", "pretrain", str(config), str(output), "--raw-text", str(raw)]
    result = CliRunner().invoke(app, [*args, "--steps", "5", "--component", "kexue_textcat"])
    assert result.exit_code == 0, result.output
    assert "--paths.init_encoder" in result.output
    summary = srsly.read_json(output.with_suffix(".json"))
    assert summary["steps"] == 5 and len(summary["sha256"]) == 64
    encoder = encoder_from_config(spacy.util.load_config(config), "kexue_textcat")
    load_pretrained_encoder(encoder, output)
    assert set(encoder.attrs["vocab"]) == set("".join(RAW))
    missing = CliRunner().invoke(app, [*args, "--steps", "5"])  # no component 'textcat'
    assert missing.exit_code != 0 and "no component 'textcat'" in missing.output
