"""The pkuseg backend (a spacy-pkuseg CRF on the segmenter's data) and the tagger-free
dictionary segmenter it is taught by."""

from __future__ import annotations

import random

import spacy

from spacy_kexue.tokenizer.pkuseg_backend import teacher_segmenter, train_pkuseg, training_lines
from spacy_kexue.tokenizer.unigram import UnigramSegmenter
from tests.tokenizer.conftest import RAW_LINES, UNIQUE_WORDS, blank_zh, tiny_config


def words(doc):
    return [t.text for t in doc if not t.is_space]


def test_lexicon_only_segmenter_follows_the_max_probability_path():
    seg = blank_zh().tokenizer
    seg.lexicon = UnigramSegmenter(["结婚", "的", "和", "尚未", "和尚"], [100, 100, 50, 50, 10])
    text = "结婚的和尚未结婚的。"
    assert words(seg(text)) == seg.lexicon.segment("结婚的和尚未结婚的") + ["。"]
    seg.add_words(["和尚未"])  # user words still bind without a tagger
    assert "和尚未" in words(seg(text))


def test_training_lines_keep_the_raw_text_and_add_pseudo_sentences(tiny_data):
    config = tiny_config(**{"pkuseg.pseudo_sentences": 30})
    lines = training_lines(config, tiny_data["dictionary"], RAW_LINES, log=lambda m: None)
    raw = [line for line in RAW_LINES if line.strip()]
    assert len(lines) == len(raw) + 30
    for line, text in zip(lines, raw, strict=False):
        assert "".join(line.split()) == "".join(text.split())
    teacher = teacher_segmenter(list(UNIQUE_WORDS), list(UNIQUE_WORDS.values()))
    assert lines[0].split() == words(teacher(raw[0]))


def test_pkuseg_backend_trains_a_model_spacy_loads(tiny_data, tmp_path):
    config = tiny_config(
        **{"pkuseg.pseudo_sentences": 300, "pkuseg.iterations": 2, "pkuseg.heldout": 20}
    )
    train_pkuseg(
        config,
        tmp_path / "pkuseg",
        dictionary=tiny_data["dictionary"],
        raw_texts=RAW_LINES,
        log=lambda m: None,
    )
    assert {p.name for p in (tmp_path / "pkuseg").iterdir()} >= {"features.msgpack", "weights.npz"}
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
    nlp.tokenizer.initialize(pkuseg_model=str(tmp_path / "pkuseg"))
    rng = random.Random(0)
    exact = 0
    for _ in range(30):
        sentence = rng.sample(list(UNIQUE_WORDS), 5)
        doc = nlp("".join(sentence))
        assert doc.text == "".join(sentence)
        exact += [t.text for t in doc] == sentence
    assert exact >= 25  # the CRF learned the dictionary's words


def test_lexicon_only_segmenter_round_trips_through_disk(tmp_path):
    seg = blank_zh().tokenizer
    seg.lexicon = UnigramSegmenter(["结婚", "的", "和", "尚未", "和尚"], [100, 100, 50, 50, 10])
    seg.to_disk(tmp_path / "tok")
    restored = blank_zh().tokenizer.from_disk(tmp_path / "tok")
    assert words(restored("结婚的和尚未结婚的")) == words(seg("结婚的和尚未结婚的"))
