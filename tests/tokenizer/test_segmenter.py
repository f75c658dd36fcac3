"""The registered zh tokenizer KexueSegmenter (spacy_kexue.tokenizer.segmenter), with a tiny
tagger trained once per session on a synthetic dictionary (see conftest.py)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import pathlib
import pickle
import random
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import spacy
import srsly
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import Model

from spacy_kexue.errors import DataFileError
from spacy_kexue.text import LoneSurrogateError
from spacy_kexue.tokenizer.pretok import split_runs
from spacy_kexue.tokenizer.segmenter import (
    SERIALIZATION_PARTS,
    KexueSegmenter,
    SegmenterNotInitializedError,
    create_dict_segmenter,
)
from spacy_kexue.tokenizer.unigram import UnigramSegmenter
from tests.multiprocess import pipe_in_subprocess
from tests.tokenizer.conftest import AMBIGUOUS_WORDS, UNIQUE_WORDS, blank_zh

SAMPLE_TEXTS = [
    "",
    "我喜欢中国的音乐。",
    "他去医院看老师和学生，你很喜欢吃巧克力！",
    "结婚的和尚未结婚的",
    "人民公园 的熊猫很美丽\n2024年5月 city of 森林",
    "博物馆运动员巧克力" * 20,
    "  ",
    "中",
]


def words(doc: Doc) -> list[str]:
    return [t.text for t in doc]


def token_view(doc: Doc) -> list[tuple[str, str]]:
    return [(t.text, t.whitespace_) for t in doc]


def random_sentences(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    vocab = list(UNIQUE_WORDS)
    return [[rng.choice(vocab) for _ in range(rng.randint(2, 12))] for _ in range(n)]


def spans(ws: list[str]) -> set[tuple[int, int]]:
    out, pos = set(), 0
    for w in ws:
        out.add((pos, pos + len(w)))
        pos += len(w)
    return out


def word_f1(gold: list[list[str]], pred: list[list[str]]) -> float:
    correct = n_gold = n_pred = 0
    for g, p in zip(gold, pred, strict=True):
        assert "".join(g) == "".join(p)
        correct += len(spans(g) & spans(p))
        n_gold += len(g)
        n_pred += len(p)
    precision, recall = correct / n_pred, correct / n_gold
    return 2 * precision * recall / (precision + recall) if correct else 0.0


# --- the tiny tagger learns its dictionary ---------------------------------------------------


def test_overfits_the_tiny_dictionary(nlp):
    """Concatenations of words whose characters occur nowhere else have one segmentation.

    The tagger alone (dictionary_weight 0): the lexicon's vote must not do its work."""
    nlp.tokenizer.dictionary_weight = 0.0
    gold = random_sentences(50, seed=1)
    pred = [words(doc) for doc in nlp.tokenizer.pipe("".join(s) for s in gold)]
    assert word_f1(gold, pred) >= 0.9
    assert sum(g == p for g, p in zip(gold, pred, strict=True)) >= 40


def test_overfitting_check_fails_with_random_weights(nlp):
    """Control: the same check on an untrained tagger scores far below the threshold."""
    import torch

    nlp.tokenizer.dictionary_weight = 0.0
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in nlp.tokenizer.tagger.parameters():
            param.copy_(torch.randn(param.shape, generator=gen))
    nlp.tokenizer.tagger = nlp.tokenizer.tagger  # weights changed in place: set it again
    gold = random_sentences(50, seed=1)
    pred = [words(doc) for doc in nlp.tokenizer.pipe("".join(s) for s in gold)]
    assert word_f1(gold, pred) < 0.9


# --- doc.text == text -------------------------------------------------------------------------

HAN_AND_MARKS = sorted(set("".join(UNIQUE_WORDS) + "".join(AMBIGUOUS_WORDS) + "龘〇々")) + [
    "\u0301",  # combining acute
    "\ufe0f",  # variation selector 16
    "\U000e0100",  # ideographic variation selector
    "\u200d",  # ZWJ
    " ",
    "\n",
    "1",
    "a",
]
ANY_CHAR = st.characters(blacklist_categories=("Cs",))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.one_of(ANY_CHAR, st.sampled_from(HAN_AND_MARKS)), max_size=80))
def test_doc_text_is_text(session_nlp, text):
    doc = session_nlp.tokenizer(text)
    assert doc.text == text
    assert all(t.text for t in doc)
    assert doc.text_with_ws == text


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=ANY_CHAR))
def test_doc_text_is_text_any_chars(session_nlp, text):
    assert session_nlp.tokenizer(text).text == text


EXPLICIT_TEXTS = [
    "",
    " ",
    "  a  b\n",
    "\x00",
    "中\x00国",
    "\t中文\r\n",
    "\r\n\r\n",
    "👨\u200d👩\u200d👧\u200d👦一家人",
    "👍🏽很好",
    "🏳\ufe0f\u200d🌈彩虹",
    "🇨🇳中国🇺🇸美国🇯",
    "1\ufe0f\u20e3号",
    "e\u0301te\u0301中国",
    "\u0301开头的组合符",
    "中\u0301国人\u0302民",
    "葛\U000e0100城",
    "\u202e中国\u202c\u200f",
    "\u200fשלום 中国 مرحبا",
    "ＡＢＣ１２３，中国。",
    "　中国　人民　",
    "中国\u00a0人民\u2028学生\u2029",
    "\ufeff中国",
    "2024年5月1日10:30，增长3.5%",
    "C++和Python很好",
    "……——！！！",
]


@pytest.mark.parametrize("text", EXPLICIT_TEXTS)
def test_doc_text_explicit(session_nlp, text):
    doc = session_nlp.tokenizer(text)
    assert doc.text == text
    assert all(t.text for t in doc)
    assert session_nlp(text).text == text


def test_spaces_become_whitespace_or_space_tokens(session_nlp):
    doc = session_nlp.tokenizer("我 喜欢  音乐\n")
    assert token_view(doc) == [("我", " "), ("喜欢", " "), (" ", ""), ("音乐", ""), ("\n", "")]


def test_long_text_is_chunked(session_nlp):
    rng = random.Random(3)
    vocab = list(UNIQUE_WORDS)
    han = []
    size = 0
    while size < 200_000:
        han.append(rng.choice(vocab))
        size += len(han[-1])
    long_han = "".join(han)
    text = long_han[:100_000] + "x" * 1000 + " " * 300 + long_han[100_000:]
    tok = session_nlp.tokenizer
    doc = tok(text)
    assert doc.text == text
    long_tokens = [t.text for t in doc if len(t.text) > tok.max_chunk]
    assert long_tokens == ["x" * 1000, " " * 299]  # non-Han runs are not chunked
    assert all(kind != "han" for t in long_tokens for _, _, kind in split_runs(t))
    assert len(doc) > 200_000 / 3


def test_small_max_chunk_from_config(tiny_model_dir):
    nlp = spacy.blank(
        "zh",
        config={
            "nlp": {"tokenizer": {"@tokenizers": "spacy_kexue.DictSegmenter.v1", "max_chunk": 5}}
        },
    )
    nlp.tokenizer.initialize(model=tiny_model_dir)
    assert nlp.tokenizer.max_chunk == 5
    text = "博物馆运动员巧克力" * 7 + "abc"
    doc = nlp.tokenizer(text)
    assert doc.text == text
    assert max(len(t) for t in doc if t.text != "abc") <= 5


@pytest.mark.parametrize("text", ["中国人\u0301民", "葛\U000e0100城中国", "我\u0301\u0302喜欢"])
def test_no_token_starts_with_an_attached_character(session_nlp, text):
    doc = session_nlp.tokenizer(text)
    assert doc.text == text
    assert not any(t.text[0] in "\u0301\u0302\U000e0100" for t in doc), words(doc)


# --- lone surrogates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, position", [("\ud800", 0), ("中国\udfff人民", 2), ("ab c\ud83d", 4), ("😀\udc00", 1)]
)
def test_lone_surrogate_raises(session_nlp, text, position):
    with pytest.raises(LoneSurrogateError, match=f"position {position}") as info:
        session_nlp.tokenizer(text)
    assert isinstance(info.value, ValueError)
    assert info.value.position == position
    with pytest.raises(LoneSurrogateError):
        list(session_nlp.tokenizer.pipe(["好", text]))
    with pytest.raises(LoneSurrogateError):
        session_nlp(text)
    with pytest.raises(LoneSurrogateError):
        blank_zh().tokenizer(text)  # checked before any model is needed


# --- pipe --------------------------------------------------------------------------------------


def test_pipe_matches_call(session_nlp):
    tok = session_nlp.tokenizer
    texts = SAMPLE_TEXTS + ["".join(s) for s in random_sentences(30, seed=5)] + SAMPLE_TEXTS
    single = [token_view(tok(t)) for t in texts]
    for batch_size in (1, 3, 1000):
        assert [token_view(d) for d in tok.pipe(texts, batch_size=batch_size)] == single
    assert [token_view(d) for d in tok.pipe(iter(texts))] == single
    assert [token_view(d) for d in session_nlp.pipe(texts, batch_size=4)] == single
    assert list(tok.pipe([])) == []


def test_pipe_words_are_the_docs_words(session_nlp):
    tok = session_nlp.tokenizer
    texts = SAMPLE_TEXTS + ["".join(s) for s in random_sentences(30, seed=6)] + ["a  b\n", ""]
    expected = [
        ([t.text for t in doc], [bool(t.whitespace_) for t in doc]) for doc in tok.pipe(texts)
    ]
    assert list(tok.pipe_words(texts, batch_size=7)) == expected


# --- user words --------------------------------------------------------------------------------


def test_add_words_forces_tokens(nlp):
    text = "结婚的和尚未结婚的"
    before = words(nlp.tokenizer(text))
    assert before[:2] == ["结婚", "的"]
    nlp.tokenizer.add_words(["和尚未"])
    doc = nlp.tokenizer(text)
    assert doc.text == text
    assert words(doc) == ["结婚", "的", "和尚未", "结婚", "的"]
    # a word across the boundaries the model is sure of is forced too
    nlp.tokenizer.add_words(iter(["婚的和"]))  # any iterable, generators included
    assert "婚的和" in words(nlp.tokenizer(text))
    assert "婚的和" in nlp.tokenizer.user_words
    # ... and in pipe
    assert [words(d) for d in nlp.tokenizer.pipe([text, "我" + text])] == [
        words(nlp.tokenizer(text)),
        words(nlp.tokenizer("我" + text)),
    ]


def test_add_words_single_string(nlp):
    nlp.tokenizer.add_words("婚的和")
    assert list(nlp.tokenizer.user_words) == ["婚的和"]
    assert "婚的和" in words(nlp.tokenizer("结婚的和尚未结婚的"))


@pytest.mark.parametrize("bad", [[""], ["两个 词"], ["tab\there"], [3], [None], ["坏\ud800"]])
def test_add_words_rejects_bad_words(nlp, bad):
    with pytest.raises(ValueError):
        nlp.tokenizer.add_words(bad)
    assert len(nlp.tokenizer.user_words) == 0


def test_load_user_dict(nlp, tmp_path):
    path = tmp_path / "user.txt"
    content = "# my words\r\n和尚未 10 n\r\n\r\n   婚的和\t3\n# 不是词\n"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
    nlp.tokenizer.load_user_dict(path)
    assert list(nlp.tokenizer.user_words) == ["和尚未", "婚的和"]
    assert words(nlp.tokenizer("和尚未婚")) == ["和尚未", "婚"]
    assert "婚的和" in words(nlp.tokenizer("结婚的和"))

    fresh = blank_zh()
    fresh.tokenizer.initialize(user_dict=str(path))
    assert list(fresh.tokenizer.user_words) == ["和尚未", "婚的和"]


@pytest.mark.parametrize(
    "content, line, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "UTF-8"),
        (b"\xff\xfe\x2d\x4e\xfd\x56\n\x00", 1, "UTF-8"),  # UTF-16
        ("好词\n# 注释\n".encode() + b"\xd6\xd0\xce\xc4\n", 3, "UTF-8"),  # GBK
        ("好词\n".encode() + b"ab\x00cd\n", 2, "NUL"),
    ],
)
def test_bad_user_dict(nlp, tmp_path, content, line, message):
    path = tmp_path / "bad_user.txt"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message) as info:
        nlp.tokenizer.load_user_dict(path)
    assert str(path) in str(info.value)
    assert f"line {line}" in str(info.value)
    assert info.value.line == line
    assert len(nlp.tokenizer.user_words) == 0


def test_missing_user_dict(nlp, tmp_path):
    with pytest.raises(DataFileError, match="missing.txt"):
        nlp.tokenizer.initialize(user_dict=tmp_path / "missing.txt")


def test_user_words_survive_serialization(nlp, tmp_path):
    nlp.tokenizer.add_words(["和尚未", "婚的"])
    text = "结婚的和尚未结婚的和尚"
    expected = words(nlp.tokenizer(text))
    assert "和尚未" in expected

    from_bytes = KexueSegmenter(nlp.vocab).from_bytes(nlp.tokenizer.to_bytes())
    assert list(from_bytes.user_words) == ["和尚未", "婚的"]
    assert words(from_bytes(text)) == expected

    nlp.tokenizer.to_disk(tmp_path / "tok")
    from_disk = KexueSegmenter(nlp.vocab).from_disk(tmp_path / "tok")
    assert list(from_disk.user_words) == ["和尚未", "婚的"]
    assert words(from_disk(text)) == expected


def test_user_words_without_model_serialize(tmp_path):
    tok = blank_zh().tokenizer
    tok.add_words(["和尚未"])
    assert list(KexueSegmenter(tok.vocab).from_bytes(tok.to_bytes()).user_words) == ["和尚未"]
    tok.to_disk(tmp_path / "tok")
    assert sorted(p.name for p in (tmp_path / "tok").iterdir()) == [
        "settings.json",
        "user_words.json",
    ]
    restored = KexueSegmenter(tok.vocab).from_disk(tmp_path / "tok")
    assert list(restored.user_words) == ["和尚未"]
    assert restored.tagger is None


# --- serialization -----------------------------------------------------------------------------


def assert_same_segmentation(a, b) -> None:
    for text in SAMPLE_TEXTS:
        assert token_view(a(text)) == token_view(b(text)), text


def test_to_bytes_round_trip(session_nlp):
    tok = session_nlp.tokenizer
    data = tok.to_bytes()
    restored = KexueSegmenter(spacy.blank("zh").vocab).from_bytes(data)
    assert_same_segmentation(tok, restored)
    assert restored.model_cfg["sha256"] == tok.model_cfg["sha256"]
    assert restored.to_bytes() == data


def test_to_disk_round_trip_writes_only_json_and_safetensors(session_nlp, tmp_path):
    tok = session_nlp.tokenizer
    tok.to_disk(tmp_path / "tok")
    names = sorted(p.name for p in (tmp_path / "tok").iterdir())
    assert names == [
        "cfg.json",
        "chars.json",
        "lexicon.json",
        "model.safetensors",
        "settings.json",
        "user_words.json",
    ]
    for name in names:
        data = (tmp_path / "tok" / name).read_bytes()
        assert not data.startswith(b"\x80")  # no pickle protocol header
        if name.endswith(".json"):
            json.loads(data)
    weights = (tmp_path / "tok" / "model.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8 : 8 + header_len])
    assert all(v["dtype"] == "F32" for k, v in header.items() if k != "__metadata__")
    cfg = json.loads((tmp_path / "tok" / "cfg.json").read_bytes())
    assert cfg["sha256"] == hashlib.sha256(weights).hexdigest()

    restored = KexueSegmenter(spacy.blank("zh").vocab).from_disk(tmp_path / "tok")
    assert_same_segmentation(tok, restored)


def test_nlp_to_disk_and_spacy_load(session_nlp, tiny_pipeline_dir):
    tok_dir = tiny_pipeline_dir / "tokenizer"
    for path in tok_dir.rglob("*"):
        assert path.suffix == ".json" or path.name == "model.safetensors", path
    loaded = spacy.load(tiny_pipeline_dir)
    assert isinstance(loaded.tokenizer, KexueSegmenter)
    assert_same_segmentation(session_nlp.tokenizer, loaded.tokenizer)
    assert [token_view(d) for d in loaded.pipe(SAMPLE_TEXTS)] == [
        token_view(session_nlp(t)) for t in SAMPLE_TEXTS
    ]


# --- exclude: the named parts of a saved tokenizer -----------------------------------------

# what each part of SERIALIZATION_PARTS writes: files on disk, keys of the msgpack bytes
PART_FILES = {
    "settings": {"settings.json"},
    "user_words": {"user_words.json"},
    "model": {"cfg.json", "chars.json", "model.safetensors"},
    "lexicon": {"lexicon.json"},
}
PART_KEYS = {
    "settings": {"settings"},
    "user_words": {"user_words"},
    "model": {"model_cfg", "chars", "weights"},
    "lexicon": {"lexicon"},
}


def test_the_parts_are_the_ones_named():
    assert set(SERIALIZATION_PARTS) == set(PART_FILES) == set(PART_KEYS)


def part_views(tok: KexueSegmenter) -> dict:
    """A comparable value of each part."""
    return {
        "settings": tok._settings(),
        "user_words": list(tok.user_words),
        "model": (tok.model_cfg.get("sha256"), tok.chars.chars),
        "lexicon": None
        if tok.lexicon is None
        else (tok.lexicon.words, tok.lexicon.counts.tolist()),
    }


@pytest.fixture
def source(nlp) -> KexueSegmenter:
    """A tokenizer with every part set: settings, user words, a tagger and a lexicon."""
    tok = nlp.tokenizer
    assert tok.tagger is not None and tok.lexicon is not None
    tok.add_words(["和尚未"])
    tok.max_chunk = 64
    return tok


def other_tokenizer() -> KexueSegmenter:
    """A tokenizer whose every part differs from ``source``'s."""
    tok = blank_zh().tokenizer
    tok.max_chunk, tok.batch_chars, tok.number_units = 16, 1024, frozenset("年")
    tok.add_words(["婚的"])
    tok.lexicon = UnigramSegmenter(["中国", "人民"], [3, 1])
    return tok


@pytest.mark.parametrize("part", SERIALIZATION_PARTS)
def test_an_excluded_part_is_not_written(source, tmp_path, part):
    source.to_disk(tmp_path / "tok", exclude=[part])
    written = {p.name for p in (tmp_path / "tok").iterdir()}
    assert written == set().union(*PART_FILES.values()) - PART_FILES[part]
    msg = srsly.msgpack_loads(source.to_bytes(exclude=[part]))
    assert set(msg) == set().union(*PART_KEYS.values()) - PART_KEYS[part]


@pytest.mark.parametrize("how", ["disk", "bytes"])
@pytest.mark.parametrize("part", SERIALIZATION_PARTS)
def test_an_excluded_part_keeps_its_current_value_on_load(source, tmp_path, part, how):
    target = other_tokenizer()
    before, tagger, lexicon = part_views(target), target.tagger, target.lexicon
    if how == "disk":
        source.to_disk(tmp_path / "tok")
        target.from_disk(tmp_path / "tok", exclude=[part])
    else:
        target.from_bytes(source.to_bytes(), exclude=[part])
    after, saved = part_views(target), part_views(source)
    for name in SERIALIZATION_PARTS:
        assert after[name] == (before[name] if name == part else saved[name]), name
    assert (target.tagger is tagger) == (part == "model")
    assert (target.lexicon is lexicon) == (part == "lexicon")


def test_excluding_every_part_writes_and_reads_nothing(source, tmp_path):
    source.to_disk(tmp_path / "tok", exclude=SERIALIZATION_PARTS)
    assert list((tmp_path / "tok").iterdir()) == []
    assert srsly.msgpack_loads(source.to_bytes(exclude=SERIALIZATION_PARTS)) == {}
    target = other_tokenizer()
    before = part_views(target)
    source.to_disk(tmp_path / "full")
    target.from_disk(tmp_path / "full", exclude=SERIALIZATION_PARTS)
    target.from_bytes(source.to_bytes(), exclude=list(SERIALIZATION_PARTS))
    assert part_views(target) == before and target.tagger is None


def test_vocab_which_nlp_passes_excludes_nothing(source, tmp_path):
    """nlp.to_disk / spacy.load call the tokenizer with exclude=["vocab"]: it saves no vocab."""
    assert source.to_bytes(exclude=["vocab"]) == source.to_bytes()
    source.to_disk(tmp_path / "tok", exclude=["vocab"])
    assert {p.name for p in (tmp_path / "tok").iterdir()} == set().union(*PART_FILES.values())
    restored = other_tokenizer().from_disk(tmp_path / "tok", exclude=["vocab"])
    assert part_views(restored) == part_views(source)
    assert_same_segmentation(source, restored)


def test_an_excluded_part_is_not_read(source, tmp_path):
    """An excluded part's file is not even opened: a damaged one does not stop the load."""
    source.to_disk(tmp_path / "tok")
    for name in PART_FILES["model"] | PART_FILES["lexicon"]:
        (tmp_path / "tok" / name).write_bytes(b"\x80 not JSON, not safetensors")
    target = other_tokenizer()
    target.from_disk(tmp_path / "tok", exclude=["model", "lexicon"])
    assert list(target.user_words) == list(source.user_words)
    with pytest.raises(DataFileError):
        other_tokenizer().from_disk(tmp_path / "tok", exclude=["lexicon"])


def test_pickle_round_trip(session_nlp):
    tok = pickle.loads(pickle.dumps(session_nlp.tokenizer))
    assert isinstance(tok, KexueSegmenter)
    assert_same_segmentation(session_nlp.tokenizer, tok)
    nlp2 = pickle.loads(pickle.dumps(session_nlp))
    assert_same_segmentation(session_nlp.tokenizer, nlp2.tokenizer)
    assert [token_view(nlp2(t)) for t in SAMPLE_TEXTS] == [
        token_view(session_nlp(t)) for t in SAMPLE_TEXTS
    ]


def test_pickled_tokenizer_holds_no_torch_pickle(session_nlp):
    """The pickle payload is (vocab, msgpack bytes): the weights travel as safetensors."""
    reduced = session_nlp.tokenizer.__reduce__()
    assert reduced[1][1] == session_nlp.tokenizer.to_bytes()
    data = srsly.msgpack_loads(reduced[1][1])
    (header_len,) = struct.unpack("<Q", data["weights"][:8])
    json.loads(data["weights"][8 : 8 + header_len])


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocess_pipe(session_nlp, tiny_pipeline_dir, tmp_path, method):
    """n_process=2 gives the single-process result under spawn, and does not hang under fork."""
    texts = SAMPLE_TEXTS + ["".join(s) for s in random_sentences(20, seed=7)]
    view = """
    def view(docs):
        return [[(t.text, t.whitespace_) for t in d] for d in docs]
    """
    single, multi = pipe_in_subprocess(tiny_pipeline_dir, texts, method, view, tmp_path)
    assert multi == single
    expected = [[list(x) for x in token_view(session_nlp(t))] for t in texts]
    assert single == expected


# --- tampered or broken model directories ------------------------------------------------------


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path) -> Path:
    path = tmp_path / "model"
    shutil.copytree(tiny_model_dir, path)
    return path


def set_checksum(model_dir: Path, data: bytes | None) -> None:
    cfg = json.loads((model_dir / "cfg.json").read_text(encoding="utf-8"))
    if data is None:
        cfg.pop("sha256")
    else:
        cfg["sha256"] = hashlib.sha256(data).hexdigest()
    (model_dir / "cfg.json").write_text(json.dumps(cfg), encoding="utf-8")


def load_fails(model_dir: Path, match: str) -> DataFileError:
    tok = blank_zh().tokenizer
    with pytest.raises(DataFileError, match=match) as info:
        tok.initialize(model=model_dir)
    assert tok.tagger is None
    return info.value


def test_model_dir_loads(model_copy):
    tok = blank_zh().tokenizer
    tok.initialize(model=model_copy)
    assert tok.tagger is not None
    assert tok.model_cfg["arch"] == "cnn"


def test_altered_weights_fail_checksum(model_copy):
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0x01  # one bit of one float
    weights.write_bytes(bytes(data))
    err = load_fails(model_copy, "checksum")
    assert str(weights) in str(err)
    assert err.path == weights


def test_truncated_weights(model_copy):
    weights = model_copy / "model.safetensors"
    data = weights.read_bytes()[:-100]
    weights.write_bytes(data)
    assert str(weights) in str(load_fails(model_copy, "checksum"))
    set_checksum(model_copy, data)  # checksum matching the truncated file
    assert str(weights) in str(load_fails(model_copy, "safetensors"))
    set_checksum(model_copy, None)  # no checksum at all
    assert str(weights) in str(load_fails(model_copy, "safetensors"))


class _TouchOnUnpickle:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickle_payload_is_never_unpickled(model_copy, tmp_path):
    control = tmp_path / "control_marker"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(control)))
    assert control.exists()  # the payload works when unpickled

    marker = tmp_path / "marker"
    payload = pickle.dumps({"embed.weight": _TouchOnUnpickle(marker)})
    weights = model_copy / "model.safetensors"
    weights.write_bytes(payload)
    assert str(weights) in str(load_fails(model_copy, "checksum"))
    assert not marker.exists()
    set_checksum(model_copy, payload)
    assert str(weights) in str(load_fails(model_copy, "safetensors"))
    assert not marker.exists()


def _segmenter_bytes(model_dir: Path, weights: bytes) -> bytes:
    cfg = json.loads((model_dir / "cfg.json").read_text(encoding="utf-8"))
    cfg["sha256"] = hashlib.sha256(weights).hexdigest()
    chars = json.loads((model_dir / "chars.json").read_text(encoding="utf-8"))
    return srsly.msgpack_dumps(
        {"settings": {}, "user_words": [], "model_cfg": cfg, "chars": chars, "weights": weights}
    )


def test_from_bytes_rejects_bad_weights(tiny_model_dir, tmp_path):
    """The same checks on the to_bytes / pickling (n_process) path."""
    marker = tmp_path / "marker"
    payload = pickle.dumps({"embed.weight": _TouchOnUnpickle(marker)})
    tok = blank_zh().tokenizer
    with pytest.raises(DataFileError, match="<bytes>.*safetensors"):
        tok.from_bytes(_segmenter_bytes(tiny_model_dir, payload))
    assert not marker.exists()
    good = (tiny_model_dir / "model.safetensors").read_bytes()
    data = srsly.msgpack_loads(_segmenter_bytes(tiny_model_dir, good))
    data["weights"] = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(DataFileError, match="checksum"):
        tok.from_bytes(srsly.msgpack_dumps(data))
    assert tok.tagger is None


def test_extra_chars_do_not_fit_the_weights(model_copy):
    chars = json.loads((model_copy / "chars.json").read_text(encoding="utf-8"))
    extra = [c for c in "甲乙丙丁" if c not in chars]
    (model_copy / "chars.json").write_text(json.dumps(chars + extra), encoding="utf-8")
    err = load_fails(model_copy, "do not fit")
    assert str(model_copy / "model.safetensors") in str(err)


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("chars.json", '["中", "ab"]', "single characters"),
        ("chars.json", '{"中": 1}', "single characters"),
        ("chars.json", "[not json", "chars.json: is not valid JSON"),
        ("cfg.json", "\xff", "cfg.json: is not valid JSON"),
        ("cfg.json", '{"arch": "transformer", "settings": {}}', "do not fit"),
        ("cfg.json", '{"arch": "cnn", "settings": {"width": 7}}', "do not fit"),
    ],
)
def test_broken_model_files(model_copy, name, content, match):
    if name == "cfg.json" and content.startswith("{"):
        cfg = json.loads(content)
        cfg["sha256"] = json.loads((model_copy / "cfg.json").read_text())["sha256"]
        content = json.dumps(cfg)
    (model_copy / name).write_text(content, encoding="latin-1" if "\xff" in content else "utf-8")
    load_fails(model_copy, match)


@pytest.mark.parametrize("missing", ["cfg.json", "chars.json", "model.safetensors"])
def test_missing_model_file(model_copy, missing):
    (model_copy / missing).unlink()
    err = load_fails(model_copy, missing)
    assert str(model_copy / missing) in str(err)


def test_model_path_not_a_directory(tmp_path):
    load_fails(tmp_path / "nowhere", "not a segmenter model directory")
    (tmp_path / "file").write_text("x")
    load_fails(tmp_path / "file", "not a segmenter model directory")


# --- uninitialized -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "hello, world! 123", "  \n\t", "。，！", "中", "a中b 3.14 人", "😀🇨🇳", "ＡＢＣ"]
)
def test_uninitialized_without_han_runs(text):
    """Text without Han runs of two or more characters needs no tagger."""
    tok = blank_zh().tokenizer
    assert tok.tagger is None
    assert tok(text).text == text


def test_uninitialized_on_chinese():
    nlp = blank_zh()
    with pytest.raises(SegmenterNotInitializedError) as info:
        nlp("我喜欢音乐")
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "kexue segmenter train" in message
    assert "initialize" in message
    with pytest.raises(SegmenterNotInitializedError):
        list(nlp.tokenizer.pipe(["ok", "中国"]))


# --- score -------------------------------------------------------------------------------------


def gold_doc(vocab, ws: list[str]) -> Doc:
    # explicit spaces: spaCy's scorer skips references whose spaces are unknown
    return Doc(vocab, words=ws, spaces=[False] * len(ws))


def test_score(session_nlp):
    gold = random_sentences(10, seed=11)
    examples = [
        Example(session_nlp.make_doc("".join(ws)), gold_doc(session_nlp.vocab, ws)) for ws in gold
    ]
    scores = session_nlp.tokenizer.score(examples)
    assert set(scores) == {"token_acc", "token_p", "token_r", "token_f"}
    assert scores["token_f"] >= 0.9
    assert all(0.0 <= v <= 1.0 for v in scores.values())

    perfect = session_nlp.tokenizer.score(
        [Example(session_nlp.make_doc(t), session_nlp.make_doc(t)) for t in SAMPLE_TEXTS[1:4]]
    )
    assert perfect["token_f"] == pytest.approx(1.0)
    assert perfect["token_acc"] == pytest.approx(1.0)

    lumped = session_nlp.tokenizer.score(
        [Example(session_nlp.make_doc(t), gold_doc(session_nlp.vocab, [t])) for t in ["中国人民"]]
    )
    assert lumped["token_p"] == pytest.approx(0.0)
    with pytest.raises(TypeError):
        session_nlp.tokenizer.score([session_nlp.make_doc("中国")])


# --- registration ------------------------------------------------------------------------------


def test_tokenizer_entry_point():
    eps = importlib.metadata.entry_points(group="spacy_tokenizers")
    (ep,) = [ep for ep in eps if ep.name == "spacy_kexue.DictSegmenter.v1"]
    assert ep.load() is create_dict_segmenter
    factory = registry.tokenizers.get("spacy_kexue.DictSegmenter.v1")
    assert factory is create_dict_segmenter
    tok = factory(number_units="年", max_chunk=64)(spacy.blank("zh"))
    assert isinstance(tok, KexueSegmenter)
    assert tok.max_chunk == 64
    assert tok.number_units == frozenset("年")
    assert isinstance(blank_zh().tokenizer, KexueSegmenter)


ARCHS = {
    "spacy_kexue.CharCNNTagger.v1": {"width": 8, "depth": 2, "window": 3, "dropout": 0.0},
    "spacy_kexue.CharLSTMTagger.v1": {"width": 8, "hidden": 6, "depth": 1, "dropout": 0.0},
}


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_architectures_build_and_forward(name):
    eps = importlib.metadata.entry_points(group="spacy_architectures")
    assert name in {ep.name for ep in eps}
    model = registry.resolve({"model": {"@architectures": name, "n_chars": 30, **ARCHS[name]}})[
        "model"
    ]
    assert isinstance(model, Model)
    assert isinstance(registry.architectures.get(name)(n_chars=30), Model)
    ids = np.array([[2, 3, 4, 5, 0, 0, 0], [6, 7, 8, 9, 10, 11, 1], [12, 0, 0, 0, 0, 0, 0]])
    out = np.asarray(model.predict(ids))
    assert out.shape == (3, 7, 4)
    assert out.dtype == np.float32
    assert np.allclose(np.exp(out).sum(axis=-1), 1.0, atol=1e-5)
    # padding does not change the scores of the real characters
    alone = np.asarray(model.predict(ids[:1, :4]))
    assert np.allclose(alone[0], out[0, :4], atol=1e-5)


# --- the dictionary path's vote (dictionary_weight) ----------------------------------------------


def test_trained_model_carries_its_lexicon(nlp):
    assert nlp.tokenizer.lexicon is not None
    assert "结婚" in nlp.tokenizer.lexicon.words


def test_dictionary_weight_lets_the_lexicon_decide(nlp):
    from spacy_kexue.tokenizer.unigram import UnigramSegmenter

    text = "结婚的和尚未结婚的"
    tok = nlp.tokenizer
    # a lexicon in which 和尚未 is a very frequent word: with a large weight its path wins
    tok.lexicon = UnigramSegmenter(["结婚", "的", "和尚未"], [10.0, 10.0, 1000.0])
    tok.dictionary_weight = 50.0
    assert words(tok(text)) == ["结婚", "的", "和尚未", "结婚", "的"]
    # with weight 0 the tagger alone decides, and it was never taught 和尚未
    tok.dictionary_weight = 0.0
    assert "和尚未" not in words(tok(text))


def test_lexicon_and_weight_survive_serialization(nlp, tmp_path):
    from spacy_kexue.tokenizer.unigram import UnigramSegmenter

    tok = nlp.tokenizer
    tok.lexicon = UnigramSegmenter(["结婚", "的", "和尚未"], [10.0, 10.0, 1000.0])
    tok.dictionary_weight = 50.0
    expected = words(tok("结婚的和尚未结婚的"))
    restored = KexueSegmenter(tok.vocab).from_bytes(tok.to_bytes())
    assert restored.dictionary_weight == 50.0
    assert words(restored("结婚的和尚未结婚的")) == expected
    tok.to_disk(tmp_path / "tok")
    from_disk = KexueSegmenter(tok.vocab).from_disk(tmp_path / "tok")
    assert words(from_disk("结婚的和尚未结婚的")) == expected
    assert words(pickle.loads(pickle.dumps(tok))("结婚的和尚未结婚的")) == expected


def test_bad_lexicon_names_the_file(model_copy):
    (model_copy / "lexicon.json").write_text(
        '{"words": ["中国"], "counts": [1, 2]}', encoding="utf-8"
    )
    tok = blank_zh().tokenizer
    with pytest.raises(DataFileError, match="lexicon.json"):
        tok.load_model(model_copy)


def test_cnn_small_input_path_matches_the_convolution():
    """The matrix-product path for small inputs computes what the Conv1d path computes."""
    import torch

    from spacy_kexue.tokenizer.nets import CNNTagger

    torch.manual_seed(0)
    tagger = CNNTagger(50, width=16, depth=3, window=3, dilate=True, dropout=0.0).eval()
    ids = torch.randint(2, 50, (3, 11))
    ids[1, 7:] = 0  # padding
    small = tagger(ids)
    tagger.SMALL_INPUT = 0  # force the Conv1d path
    assert torch.allclose(small, tagger(ids), atol=1e-5)


@pytest.mark.parametrize("steps", [4, 5, 20])
def test_short_training_runs_keep_a_warm_up(tiny_data, tmp_path, steps):
    """A few steps (the smoke workflow trains 20) must not leave the one-cycle warm-up empty."""
    from spacy_kexue.tokenizer.train import train_segmenter
    from tests.tokenizer.conftest import RAW_LINES, single_torch_thread, tiny_config

    with single_torch_thread():
        summary = train_segmenter(
            tiny_config(steps),
            tmp_path,
            dictionary=tiny_data["dictionary"],
            raw_texts=RAW_LINES,
            log=lambda msg: None,
        )
    assert summary["steps"] == steps
    assert (tmp_path / "model.safetensors").is_file()


def test_too_few_training_steps_are_refused_before_any_work(tiny_data, tmp_path):
    from spacy_kexue.tokenizer.train import train_segmenter
    from tests.tokenizer.conftest import tiny_config

    with pytest.raises(ValueError, match=r"\[training\] steps = 3"):
        train_segmenter(tiny_config(3), tmp_path, dictionary=tiny_data["dictionary"])
    assert not any(tmp_path.iterdir())
