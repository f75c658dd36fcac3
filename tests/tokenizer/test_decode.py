"""Constrained Viterbi over BMES tags and user-dictionary constraints (spacy_kexue.tokenizer.decode)."""

import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.tokenizer.decode import (
    PAD,
    B,
    E,
    M,
    S,
    UserDictionary,
    boundaries,
    force_words_mask,
    is_legal,
    spans_mask,
    tags_to_spans,
    viterbi,
    words_from_tags,
)

LEGAL_NEXT = {B: {M, E}, M: {M, E}, E: {B, S}, S: {B, S}}


def legal_sequences(length):
    for seq in itertools.product(range(4), repeat=length):
        if is_legal(seq):
            yield seq


LEGAL = {n: np.array(list(legal_sequences(n)), dtype=np.int64) for n in range(1, 7)}


def path_score(scores, tags):
    return float(scores[np.arange(len(tags)), tags].sum())


def brute_force(scores, allowed=None):
    """Best score over all legal sequences (satisfying ``allowed`` if any does)."""
    seqs = LEGAL[len(scores)]
    totals = scores[np.arange(len(scores)), seqs].sum(axis=1)
    if allowed is not None:
        ok = allowed[np.arange(len(scores)), seqs].all(axis=1)
        if ok.any():
            return float(totals[ok].max())
    return float(totals.max())


def log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def random_scores(rng, n, t):
    return log_softmax(rng.normal(scale=2.0, size=(n, t, 4))).astype(np.float32)


def test_is_legal():
    assert is_legal([]) and is_legal([S]) and is_legal([B, E]) and is_legal([B, M, M, E, S])
    assert not is_legal([B]) and not is_legal([M, E]) and not is_legal([S, E])
    assert not is_legal([B, S]) and not is_legal([E]) and not is_legal([B, E, M, E])


def test_matches_brute_force_on_short_sequences():
    rng = np.random.default_rng(0)
    for length in range(1, 7):
        scores = random_scores(rng, 40, length)
        tags = viterbi(scores, np.full(40, length))
        for row in range(40):
            assert is_legal(tags[row])
            best = brute_force(scores[row].astype(np.float64))
            assert path_score(scores[row], tags[row]) == pytest.approx(best, abs=1e-4)


def test_matches_brute_force_with_constraints():
    rng = np.random.default_rng(1)
    for length in range(1, 7):
        scores = random_scores(rng, 60, length)
        allowed = rng.random((60, length, 4)) < 0.7
        tags = viterbi(scores, np.full(60, length), allowed)
        for row in range(60):
            seq = tags[row]
            assert is_legal(seq)
            best = brute_force(scores[row].astype(np.float64), allowed[row])
            assert path_score(scores[row], seq) == pytest.approx(best, abs=1e-4)
            feasible = allowed[row][np.arange(length), LEGAL[length]].all(axis=1).any()
            assert allowed[row, np.arange(length), seq].all() == feasible


def test_batch_equals_single_rows_and_padding():
    rng = np.random.default_rng(2)
    scores = random_scores(rng, 33, 17)
    lengths = rng.integers(0, 18, size=33)
    lengths[:3] = [0, 1, 17]
    tags = viterbi(scores, lengths)
    assert tags.shape == (33, 17) and tags.dtype == np.int8
    for row, length in enumerate(lengths):
        alone = viterbi(scores[row : row + 1, :length], [length])[0]
        np.testing.assert_array_equal(tags[row, :length], alone)
        assert (tags[row, length:] == PAD).all()
        assert is_legal(tags[row, :length])
    assert (tags[0] == PAD).all()
    assert tags[1, 0] == S


def test_padding_scores_are_ignored():
    rng = np.random.default_rng(3)
    scores = random_scores(rng, 8, 12)
    lengths = np.array([12, 11, 7, 5, 3, 2, 1, 0])
    noisy = scores.copy()
    for row, length in enumerate(lengths):
        noisy[row, length:] = rng.normal(scale=100.0, size=(12 - length, 4))
        noisy[row, length:, 0] = np.nan
    np.testing.assert_array_equal(viterbi(scores, lengths), viterbi(noisy, lengths))


def test_edge_shapes_and_bad_input():
    assert viterbi(np.zeros((0, 5, 4), np.float32), np.zeros(0, int)).shape == (0, 5)
    assert viterbi(np.zeros((3, 0, 4), np.float32), np.zeros(3, int)).shape == (3, 0)
    np.testing.assert_array_equal(viterbi(np.zeros((2, 1, 4), np.float32)), [[S], [S]])
    # length 1 is S even when the model is sure of B
    assert viterbi(np.log([[[0.97, 0.01, 0.01, 0.01]]]), [1])[0, 0] == S
    with pytest.raises(ValueError):
        viterbi(np.zeros((2, 3, 4)), [4, 1])
    with pytest.raises(ValueError):
        viterbi(np.zeros((2, 3, 4)), [-1, 1])
    with pytest.raises(ValueError):
        viterbi(np.zeros((2, 3, 5)), [3, 3])
    with pytest.raises(ValueError):
        viterbi(np.zeros((2, 3, 4)), [3, 3], np.ones((2, 3, 3), bool))


def test_non_finite_scores_still_give_legal_sequences():
    scores = np.full((4, 6, 4), -np.inf, dtype=np.float32)
    scores[1] = np.nan
    scores[2, :, B] = np.inf
    scores[3, :, M] = 0.0  # only M is possible, which is never legal at the start or end
    tags = viterbi(scores, [6, 6, 5, 6])
    for row, length in enumerate([6, 6, 5, 6]):
        assert is_legal(tags[row, :length])
    assert tags[3, 1:5].tolist() == [M, M, M, M]


@st.composite
def batches(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 6))
    t = draw(st.integers(0, 12))
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, t + 1, size=n)
    scores = random_scores(rng, n, t)
    if draw(st.booleans()):
        scores[rng.random(scores.shape) < 0.1] = -np.inf
    kind = draw(st.sampled_from(["none", "random", "feasible", "words"]))
    allowed = None
    if kind == "random":
        allowed = rng.random((n, t, 4)) < draw(st.floats(0.2, 1.0))
    elif kind == "feasible":
        # a random legal path is always allowed, plus random extra tags
        allowed = rng.random((n, t, 4)) < 0.3
        for row, length in enumerate(lengths):
            if length:
                seqs = LEGAL.get(length)
                path = seqs[rng.integers(len(seqs))] if seqs is not None else None
                if path is None:  # longer than the brute-force table: words of 1-3 chars
                    path, pos = [], 0
                    while pos < length:
                        size = min(int(rng.integers(1, 4)), length - pos)
                        path += [S] if size == 1 else [B] + [M] * (size - 2) + [E]
                        pos += size
                allowed[row, np.arange(length), path] = True
    elif kind == "words":
        spans = []
        for length in lengths:
            row, pos = [], 0
            while pos < length:
                size = int(rng.integers(1, 5))
                if pos + size <= length and rng.random() < 0.5:
                    row.append((pos, pos + size))
                pos += size
            spans.append(row)
        allowed = spans_mask(spans, t)
    return scores, lengths, allowed, kind


@settings(max_examples=200, deadline=None)
@given(batches())
def test_viterbi_never_emits_an_illegal_sequence(batch):
    scores, lengths, allowed, kind = batch
    tags = viterbi(scores, lengths, allowed)
    assert tags.shape == scores.shape[:2]
    for row, length in enumerate(lengths):
        seq = tags[row, :length]
        assert is_legal(seq)
        assert ((seq >= 0) & (seq < 4)).all()
        assert (tags[row, length:] == PAD).all()
        if kind in ("feasible", "words") and length:
            assert allowed[row, np.arange(length), seq].all()


def test_user_words_are_honoured():
    rng = np.random.default_rng(4)
    words = UserDictionary(["微信号", "结婚", "和尚", "尚未", "的", "北京大学"])
    texts = ["结婚的和尚未结婚的", "我的微信号是北京大学", "和尚未", "", "的"]
    T = max(map(len, texts))
    allowed = force_words_mask(texts, T, words)
    for _ in range(20):
        scores = random_scores(rng, len(texts), T)
        tags = viterbi(scores, [len(t) for t in texts], allowed)
        for text, row in zip(texts, tags, strict=True):
            assert "".join(words_from_tags(text, row)) == text
            assert set(tags_to_spans(row, len(text))) >= set(words.find(text))
    assert words.find("结婚的和尚未结婚的") == [(0, 2), (2, 3), (3, 5), (6, 8), (8, 9)]


def test_forced_words_sit_at_their_positions():
    text = "他说微信号码"
    allowed = force_words_mask([text], 8, ["微信号"])
    scores = np.zeros((1, 8, 4), np.float32)
    scores[0, :, S] = 5.0  # the model wants single characters
    tags = viterbi(scores, [len(text)], allowed)[0]
    assert tags_to_spans(tags) == [(0, 1), (1, 2), (2, 5), (5, 6)]
    assert words_from_tags(text, tags) == ["他", "说", "微信号", "码"]


def test_spans_mask_constraints():
    mask = spans_mask([[(1, 3), (3, 4)]], 6)[0]
    assert mask[0].tolist() == [False, False, True, True]  # before a word: E or S
    assert mask[1].tolist() == [True, False, False, False]
    assert mask[2].tolist() == [False, False, True, False]
    assert mask[3].tolist() == [False, False, False, True]
    assert mask[4].tolist() == [True, False, False, True]  # after a word: B or S
    assert mask[5].all()
    with pytest.raises(ValueError):
        spans_mask([[(2, 7)]], 6)
    with pytest.raises(ValueError):
        force_words_mask(["太长的文本"], 3, ["文本"])


def test_overlapping_spans_fall_back_to_unconstrained():
    allowed = spans_mask([[(0, 3), (2, 4)]], 4)
    scores = random_scores(np.random.default_rng(5), 1, 4)
    tags = viterbi(scores, [4], allowed)
    np.testing.assert_array_equal(tags, viterbi(scores, [4]))


def test_tags_to_spans_and_boundaries():
    tags = np.array([[B, E, S, B, M, E, PAD], [S, PAD, PAD, PAD, PAD, PAD, PAD]], np.int8)
    assert tags_to_spans(tags[0]) == [(0, 2), (2, 3), (3, 6)]
    assert tags_to_spans(tags[1]) == [(0, 1)]
    assert tags_to_spans(tags[0], 0) == []
    assert tags_to_spans([M, M, E, E], 4) == [(0, 3), (3, 4)]  # illegal input still partitions
    assert words_from_tags("北京大学", [B, E, B, E]) == ["北京", "大学"]
    starts = boundaries(tags, [6, 1])
    assert starts.tolist() == [
        [True, False, True, True, False, False, False],
        [True, False, False, False, False, False, False],
    ]


def test_user_dictionary_basics_and_serialization():
    words = UserDictionary(["abc", "ab", "b"])
    words.add("abc")
    words.add(["x-y", "[", "]"])
    assert len(words) == 6 and "ab" in words and "a" not in words
    assert words.find("abcab b[x-y]") == [(0, 3), (3, 5), (6, 7), (7, 8), (8, 11), (11, 12)]
    assert UserDictionary.from_list(words.to_list()) == words
    assert UserDictionary.from_bytes(words.to_bytes()).to_list() == words.to_list()
    assert UserDictionary().find("anything") == []
    with pytest.raises(ValueError):
        words.add("")
    with pytest.raises(ValueError):
        words.add([None])


def naive_find(words, text):
    found, i = [], 0
    while i < len(text):
        for j in range(len(text), i, -1):
            if text[i:j] in words:
                found.append((i, j))
                i = j
                break
        else:
            i += 1
    return found


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text("abc中文", min_size=1, max_size=4), max_size=8),
    st.text("abc中文x", max_size=30),
)
def test_find_is_longest_leftmost(words, text):
    assert UserDictionary(words).find(text) == naive_find(set(words), text)


def test_decode_does_not_import_torch():
    import subprocess

    code = "import sys, spacy_kexue.tokenizer.decode; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
