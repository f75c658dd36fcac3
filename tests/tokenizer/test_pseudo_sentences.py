"""Pseudo-sentence generation with BMES tags (spacy_kexue.tokenizer.pseudo_sentences)."""

from __future__ import annotations

import pickle
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.tokenizer.dictionary import WordDict
from spacy_kexue.tokenizer.pseudo_sentences import (
    PAD_TAG,
    TAGS,
    B,
    E,
    M,
    PseudoCorpus,
    S,
    tag_words,
    tags_to_words,
)

# Every word is made of its own characters, so a tagged sentence can be read back unambiguously.
SMALL = WordDict(
    ["的", "中国", "人民", "共和国", "了", "社会主义", "好"],
    np.array([40.0, 12.0, 8.0, 3.0, 20.0, 1.0, 16.0]),
)


def legal(tags) -> bool:
    seq = [int(t) for t in tags]
    if not seq or seq[0] not in (B, S) or seq[-1] not in (E, S):
        return False
    return all((a in (B, M)) == (b in (M, E)) for a, b in pairwise(seq))


def chi_square(observed: np.ndarray, expected_p: np.ndarray) -> float:
    expected = expected_p * observed.sum()
    return float(((observed - expected) ** 2 / expected).sum())


def word_counts(corpus: PseudoCorpus, n: int) -> np.ndarray:
    chars, tags, lengths = corpus.batch_arrays(n)
    flat = chars.astype("<u4").tobytes().decode("utf-32-le")
    width = corpus.max_chars
    seen: Counter[str] = Counter()
    for i, k in enumerate(lengths.tolist()):
        seen.update(tags_to_words(flat[i * width : i * width + k], tags[i, :k]))
    assert set(seen) <= set(corpus.words)
    return np.array([seen[w] for w in corpus.words], dtype=np.float64)


# Critical value of chi-square with 6 degrees of freedom at p = 0.001.
CHI2_6_999 = 22.46


@pytest.mark.parametrize("smoothing", [1.0, 0.5, 0.0])
def test_word_frequencies_follow_the_dictionary(smoothing):
    corpus = PseudoCorpus(SMALL, seed=1, max_chars=200, smoothing=smoothing)
    expected = SMALL.counts**smoothing / (SMALL.counts**smoothing).sum()
    assert np.allclose(corpus.probabilities, expected)
    observed = word_counts(corpus, 4000)
    assert observed.sum() > 30000
    assert chi_square(observed, expected) < CHI2_6_999
    # and a wrong distribution is rejected by the same test
    uniform = np.full(len(SMALL), 1 / len(SMALL))
    if smoothing > 0:
        assert chi_square(observed, uniform) > 10 * CHI2_6_999


def test_sentence_lengths_in_words_are_uniform():
    corpus = PseudoCorpus(SMALL, seed=1, min_words=2, max_words=5, max_chars=100)
    texts, tags = corpus.batch(4000)
    n_words = np.array([len(tags_to_words(t, g)) for t, g in zip(texts, tags, strict=True)])
    assert n_words.min() == 2 and n_words.max() == 5
    freq = np.bincount(n_words, minlength=6)[2:] / len(n_words)
    assert np.all(np.abs(freq - 0.25) < 0.03)


def test_same_seed_same_stream_and_different_seeds_differ():
    a, b, c = (PseudoCorpus(SMALL, seed=s) for s in (3, 3, 4))
    for _ in range(3):
        ta, ga = a.batch(50)
        tb, gb = b.batch(50)
        tc, _ = c.batch(50)
        assert ta == tb
        assert all(np.array_equal(x, y) for x, y in zip(ga, gb, strict=True))
        assert ta != tc
    xa = a.batch_arrays(20)
    xb = b.batch_arrays(20)
    assert all(np.array_equal(x, y) for x, y in zip(xa, xb, strict=True))


def test_batch_matches_batch_arrays():
    texts, tags = PseudoCorpus(SMALL, seed=5).batch(100)
    chars, tag_arr, lengths = PseudoCorpus(SMALL, seed=5).batch_arrays(100)
    for i, (text, t) in enumerate(zip(texts, tags, strict=True)):
        assert len(text) == lengths[i] == len(t)
        assert [ord(ch) for ch in text] == chars[i, : lengths[i]].tolist()
        assert np.array_equal(t, tag_arr[i, : lengths[i]])
        assert t.dtype == np.uint8


def test_tags_are_legal_and_max_chars_is_respected():
    words = ["一", "二三", "四五六七", "八九十百千万亿兆", "甲乙丙丁戊己庚辛壬癸子丑", "寅"]
    wdict = WordDict(words, np.array([5.0, 4.0, 3.0, 6.0, 2.0, 1.0]))
    corpus = PseudoCorpus(wdict, seed=0, max_words=16, max_chars=10)
    assert "甲乙丙丁戊己庚辛壬癸子丑" not in corpus.words  # can never fit
    chars, tags, lengths = corpus.batch_arrays(3000)
    assert chars.shape == tags.shape == (3000, 10)
    assert lengths.min() >= 1 and lengths.max() <= 10
    assert (lengths == 10).any()
    for i, k in enumerate(lengths.tolist()):
        assert legal(tags[i, :k])
        assert np.all(tags[i, k:] == PAD_TAG) and np.all(chars[i, k:] == 0)
        text = "".join(map(chr, chars[i, :k]))
        assert all(w in corpus.words for w in tags_to_words(text, tags[i, :k]))


def test_codepoint_map_gives_ids():
    corpus = PseudoCorpus(SMALL, seed=2)
    table = {ch: i + 1 for i, ch in enumerate(sorted(set("".join(SMALL.words))))}
    lut = np.zeros(0x10000, dtype=np.int32)
    for ch, i in table.items():
        lut[ord(ch)] = i

    def to_ids(codepoints):
        return lut[codepoints]

    ids, _, lengths = corpus.batch_arrays(50, to_ids)
    chars, _, _ = PseudoCorpus(SMALL, seed=2).batch_arrays(50)
    assert np.array_equal(ids, lut[chars] * (chars > 0))
    assert ids[0, : lengths[0]].min() >= 1


def test_pickle_keeps_the_stream():
    corpus = PseudoCorpus(SMALL, seed=9)
    corpus.batch_arrays(3, lambda cp: cp + 1)  # a cached lambda must not break pickling
    again = pickle.loads(pickle.dumps(corpus))
    a_texts, _ = again.batch(20)
    b_texts, _ = corpus.batch(20)
    assert a_texts == b_texts


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="min_words"):
        PseudoCorpus(SMALL, min_words=3, max_words=2)
    with pytest.raises(ValueError, match="smoothing"):
        PseudoCorpus(SMALL, smoothing=-1.0)
    with pytest.raises(ValueError, match="longer than max_chars"):
        PseudoCorpus(WordDict(["社会主义"], np.array([1.0])), max_chars=3)


def test_tag_words():
    assert tag_words(["中国", "的", "社会主义"]).tolist() == [B, E, S, B, M, M, E]
    assert "".join(TAGS[t] for t in tag_words(["a", "bcd"])) == "SBME"
    assert tag_words([]).tolist() == []
    with pytest.raises(ValueError, match="empty word"):
        tag_words(["a", ""])


def test_tags_to_words_accepts_letters_and_repairs_illegal_sequences():
    assert tags_to_words("中国的", "BES") == ["中国", "的"]
    assert tags_to_words("中国的", "bes") == ["中国", "的"]
    assert tags_to_words("abc", [M, M, B]) == ["ab", "c"]
    assert tags_to_words("abc", [E, E, E]) == ["a", "b", "c"]
    assert tags_to_words("", []) == []
    with pytest.raises(ValueError, match="one tag per character"):
        tags_to_words("ab", "S")
    with pytest.raises(ValueError, match="letters"):
        tags_to_words("ab", "SX")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), max_size=12))
def test_tags_to_words_round_trip(words):
    tags = tag_words(words)
    text = "".join(words)
    assert len(tags) == len(text)
    assert tags_to_words(text, tags) == words
    if words:
        assert legal(tags)
