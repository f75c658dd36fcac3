"""User words across the segmenter's cuts (spacy_kexue.tokenizer.plan): words that cross a run
boundary ("iPhone手机") and Han words that a ``max_chunk`` cut would split."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.tokenizer.decode import UserDictionary
from spacy_kexue.tokenizer.plan import USER, plan_text
from spacy_kexue.tokenizer.pretok import split_runs

MIXED = ["iPhone手机", "A股", "T恤", "3D打印", "Wi-Fi密码"]
LONG_HAN = "博物馆运动员巧克力"  # three words of the tiny dictionary, one user word here


def words(doc) -> list[str]:
    return [t.text for t in doc]


def test_find_with_accept_takes_the_longest_accepted_match():
    found = UserDictionary(["ab", "abc", "bc", "c"])
    assert found.find("abc") == [(0, 3)]
    assert found.find("abc", accept=lambda s, e: e - s < 3) == [(0, 2), (2, 3)]
    # a start with no accepted match is passed over, and the next start is tried
    assert found.find("abc", accept=lambda s, e: s > 0) == [(1, 3)]
    assert found.find("abc", accept=lambda s, e: False) == []


def test_mixed_script_user_words_are_single_tokens(nlp):
    text = "我买了iPhone手机和T恤，看A股，学3D打印，问Wi-Fi密码。"
    before = words(nlp.tokenizer(text))
    assert not set(MIXED) & set(before)  # the runs split them without user words
    nlp.tokenizer.add_words(MIXED)
    doc = nlp.tokenizer(text)
    assert doc.text == text
    assert set(MIXED) <= set(words(doc))
    assert words(doc)[:3] == before[:3] == ["我", "买", "了"]


def test_mixed_word_leaves_the_rest_of_its_han_run_to_the_tagger(nlp):
    nlp.tokenizer.add_words(["iPhone手机"])
    assert words(nlp.tokenizer("iPhone手机中国人民")) == ["iPhone手机", "中国", "人民"]
    assert words(nlp.tokenizer("中国iPhone手机")) == ["中国", "iPhone手机"]


@pytest.mark.parametrize(
    "text, first",
    [
        ("xiPhone手机", "xiPhone"),  # the match would cut into a Latin word
        ("3A股", "3A"),  # 3A is one Latin run
        ("A股\u0301", "A"),  # the match would end right before a combining mark
    ],
)
def test_mixed_words_do_not_cut_into_latin_words_or_graphemes(nlp, text, first):
    nlp.tokenizer.add_words(["iPhone手机", "A股"])
    doc = nlp.tokenizer(text)
    assert doc.text == text
    assert words(doc)[0] == first
    assert not {"iPhone手机", "A股"} & set(words(doc))


def test_mixed_word_ending_in_han_before_a_latin_run(nlp):
    nlp.tokenizer.add_words(["iPhone手机"])
    assert words(nlp.tokenizer("iPhone手机x")) == ["iPhone手机", "x"]


def test_overlapping_mixed_matches_take_the_leftmost_longest(nlp):
    nlp.tokenizer.add_words(["A股", "A股市场", "场B"])
    assert words(nlp.tokenizer("A股市场B")) == ["A股市场", "B"]


@pytest.mark.parametrize("max_chunk", [2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5])
def test_user_word_across_a_chunk_cut_stays_whole(nlp, max_chunk, offset):
    text = "中国人民我你"[:offset] + "学生老师" + "电脑苹果天气"
    nlp.tokenizer.max_chunk = max_chunk
    nlp.tokenizer.add_words(["学生老师"])
    doc = nlp.tokenizer(text)
    assert doc.text == text
    assert "学生老师" in words(doc)


def test_user_word_longer_than_max_chunk_stays_whole(nlp):
    nlp.tokenizer.max_chunk = 3
    text = "我" + LONG_HAN + "你" + LONG_HAN
    without = words(nlp.tokenizer(text))
    assert LONG_HAN not in without
    nlp.tokenizer.add_words([LONG_HAN])
    assert words(nlp.tokenizer(text)) == ["我", LONG_HAN, "你", LONG_HAN]


def test_plan_pieces_respect_max_chunk_except_for_a_long_user_word():
    user = UserDictionary(["丙丁戊"])
    text = "甲乙丙丁戊己庚辛" * 3
    for max_chunk in range(1, 10):
        pieces: list[str] = []
        plan = plan_text(text, max_chunk, user, pieces)
        assert "".join(pieces) == text
        assert [(kind, a, b) for kind, a, b in plan] == [("han", 0, len(pieces))]
        for piece in pieces:
            assert len(piece) <= max_chunk or "丙丁戊" in piece
        # no cut inside a match of the word
        cuts = {sum(map(len, pieces[:i])) for i in range(len(pieces) + 1)}
        for s, e in user.find(text):
            assert not any(s < c < e for c in cuts)


def test_plan_without_user_words_is_the_runs():
    text = "我买了iPhone手机 3.5GHz，好！"
    pieces: list[str] = []
    plan = plan_text(text, 128, UserDictionary(), pieces)
    runs = split_runs(text)
    assert [kind for kind, _, _ in plan] == [kind for _, _, kind in runs]
    assert pieces == [text[a:b] for a, b, kind in runs if kind == "han"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["iPhone", "手机", "A", "股", "x", " ", "中国", "3", "\u0301", "，", "T恤"]
        ),
        max_size=12,
    ).map("".join),
    st.integers(1, 6),
)
def test_plan_covers_the_text_with_user_words(text, max_chunk):
    user = UserDictionary(["iPhone手机", "A股", "机A", "T恤", "手机手"])
    pieces: list[str] = []
    plan = plan_text(text, max_chunk, user, pieces)
    rebuilt = "".join("".join(pieces[a:b]) if kind == "han" else text[a:b] for kind, a, b in plan)
    assert rebuilt == text
    bounds = {start for start, _, _ in split_runs(text)}
    for kind, a, b in plan:
        if kind == USER:  # a user word that crosses a run boundary of the text
            assert text[a:b] in user
            assert any(a < c < b for c in bounds)
        elif kind != "han":  # other runs are runs of the text
            assert a in bounds


def test_user_words_across_cuts_in_pipe_and_pickle(nlp):
    nlp.tokenizer.max_chunk = 3
    nlp.tokenizer.add_words(["iPhone手机", LONG_HAN])
    texts = ["我买了iPhone手机", "你" + LONG_HAN, "中国人民"]
    single = [words(nlp.tokenizer(t)) for t in texts]
    assert [words(d) for d in nlp.tokenizer.pipe(texts)] == single
    restored = pickle.loads(pickle.dumps(nlp.tokenizer))
    assert [words(restored(t)) for t in texts] == single
    assert "iPhone手机" in single[0] and LONG_HAN in single[1]
