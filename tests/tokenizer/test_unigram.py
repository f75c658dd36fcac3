"""Maximum-probability segmentation under a unigram model (spacy_kexue.tokenizer.unigram)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.tokenizer.unigram import UnigramSegmenter

WORDS = {
    "结婚": 50,
    "的": 500,
    "和尚": 20,
    "和": 300,
    "尚未": 30,
    "未": 10,
    "尚": 5,
    "结": 5,
    "婚": 5,
}


def segmenter(words=WORDS, **kwargs) -> UnigramSegmenter:
    return UnigramSegmenter(list(words), list(words.values()), **kwargs)


def all_segmentations(text: str):
    if not text:
        yield []
        return
    for end in range(1, len(text) + 1):
        for rest in all_segmentations(text[end:]):
            yield [text[:end], *rest]


def test_max_probability_path_on_classic_example():
    seg = segmenter()
    assert seg.segment("结婚的和尚未结婚的") == ["结婚", "的", "和", "尚未", "结婚", "的"]


def test_path_changes_with_counts():
    words = dict(WORDS, 和尚=100000)
    assert segmenter(words).segment("和尚未") == ["和尚", "未"]


def test_best_path_matches_brute_force():
    seg = segmenter()
    text = "结婚的和尚未结婚"
    best = max(all_segmentations(text), key=seg.logprob)
    assert seg.segment(text) == best
    assert seg.logprob(seg.segment(text)) == pytest.approx(seg.logprob(best))


def test_unknown_characters_are_single_words():
    seg = segmenter(unknown_logprob=-10.0)
    assert seg.segment("她结婚了") == ["她", "结婚", "了"]
    assert seg.logprob(["她"]) == -10.0
    assert seg.logprob(["她她"]) == -math.inf


def test_default_unknown_logprob_is_rarest_word():
    seg = segmenter()
    total = sum(WORDS.values())
    assert seg.unknown_logprob == pytest.approx(math.log(5 / total))


def test_cheap_unknown_characters_win():
    seg = UnigramSegmenter(["结婚"], [1.0], unknown_logprob=0.0)
    # log p(结婚) = 0 = 2 * unknown: ties go to the longer word, as in jieba.
    assert seg.segment("结婚") == ["结婚"]
    seg = UnigramSegmenter(["结婚", "x"], [1.0, 1.0], unknown_logprob=0.0)
    assert seg.segment("结婚") == ["结", "婚"]


def test_zero_count_word_is_never_chosen():
    seg = UnigramSegmenter(["ab", "a", "b"], [0.0, 1.0, 1.0])
    assert seg.segment("ab") == ["a", "b"]


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one count per word"):
        UnigramSegmenter(["a"], [1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        UnigramSegmenter(["a"], [-1.0])
    with pytest.raises(ValueError, match="non-negative"):
        UnigramSegmenter(["a"], [float("nan")])
    with pytest.raises(ValueError, match="non-empty"):
        UnigramSegmenter([""], [1.0])


def test_duplicates_are_merged():
    seg = UnigramSegmenter(["ab", "a", "ab"], [1.0, 1.0, 2.0])
    assert seg.counts.tolist() == [3.0, 1.0, 0.0]
    counts = seg.count(["abab", "a"])
    assert counts.tolist() == [2.0, 1.0, 0.0]


def test_count_follows_segmentation():
    seg = segmenter()
    counts = seg.count(["结婚的和尚未结婚的", "", "和尚"])
    got = dict(zip(seg.words, counts.tolist(), strict=True))
    assert got["结婚"] == 2 and got["的"] == 2 and got["尚未"] == 1 and got["和"] == 1
    assert got["和尚"] == 1 and got["未"] == 0
    assert counts.dtype == np.float64


def test_empty_text():
    assert segmenter().segment("") == []


def test_pickle_round_trip():
    seg = segmenter(unknown_logprob=-7.0)
    again = pickle.loads(pickle.dumps(seg))
    assert again.unknown_logprob == -7.0
    assert again.segment("结婚的和尚未结婚的") == seg.segment("结婚的和尚未结婚的")


ALPHABET = "结婚的和尚未"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=40))
def test_text_is_preserved(text):
    seg = segmenter(dict(WORDS, **{" ": 3, "\n\n": 2, "😀a": 1}))
    words = seg.segment(text)
    assert "".join(words) == text
    assert all(words)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=8))
def test_segmentation_is_optimal(text):
    seg = segmenter()
    got = seg.logprob(seg.segment(text))
    best = max((seg.logprob(s) for s in all_segmentations(text)), default=0.0)
    assert got == pytest.approx(best)


def test_astral_characters_and_shared_prefixes_in_the_trie():
    """The compiled trie keys edges by (node, code point): characters beyond the BMP, and words
    sharing long prefixes, are found as the dict found them."""
    words = {"𠀀𠀁": 40, "𠀀": 5, "𠀁": 5, "一二三四": 30, "一二三": 20, "一二": 10, "四": 50}
    seg = segmenter(words)
    assert seg.segment("𠀀𠀁一二三四") == ["𠀀𠀁", "一二三四"]
    assert seg.segment("一二三五") == ["一二三", "五"]  # 五 is unknown
    table = seg.route_table()
    # one node per distinct prefix, plus the root
    prefixes = {w[:i] for w in words for i in range(1, len(w) + 1)}
    assert table.n_nodes == len(prefixes) + 1
    text = "一二三四𠀀𠀁四"
    assert seg.segment(text) == min(
        all_segmentations(text),
        key=lambda s: -seg.logprob(s) if seg.logprob(s) > -math.inf else math.inf,
    )
