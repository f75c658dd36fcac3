"""Units -> ids for the text VAE: the vocabulary, padding, truncation, unknown units, decoding."""

from __future__ import annotations

import numpy as np
import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_kexue.vae.vocab import (
    EOS_ID,
    N_SPECIAL,
    PAD_ID,
    UNK_ID,
    build_unit_vocab,
    decode,
    encode,
)

VOCAB = Vocab()


def char_doc(text: str) -> Doc:
    """A doc whose text is exactly ``text`` (one token per character, no trailing spaces)."""
    return Doc(VOCAB, words=list(text), spaces=[False] * len(text)) if text else Doc(VOCAB)


def word_doc(*words: str) -> Doc:
    return Doc(VOCAB, words=list(words))


def test_special_ids():
    assert (PAD_ID, EOS_ID, UNK_ID, N_SPECIAL) == (0, 1, 2, 3)


# -- build_unit_vocab ----------------------------------------------------------------------


def test_chars_numbered_from_three_by_frequency():
    docs = [char_doc("好好好坏"), char_doc("坏差好")]
    # 好 x4, 坏 x2, 差 x1
    assert build_unit_vocab(docs, "char", 10) == {"好": 3, "坏": 4, "差": 5}


def test_ties_broken_by_first_appearance():
    docs = [char_doc("cab"), char_doc("bca"), char_doc("zz")]
    # a, b, c, z each twice: order of first appearance c, a, b, z
    assert build_unit_vocab(docs, "char", 10) == {"c": 3, "a": 4, "b": 5, "z": 6}
    assert build_unit_vocab(docs, "char", 2) == {"c": 3, "a": 4}


def test_size_limits_the_vocabulary():
    docs = [char_doc("aaaabbbccd")]
    assert build_unit_vocab(docs, "char", 2) == {"a": 3, "b": 4}
    assert build_unit_vocab(docs, "char", 0) == {}


def test_whitespace_is_not_a_unit():
    docs = [char_doc("a b\tb \n"), word_doc("x", "y")]  # word_doc's text is "x y "
    vocab = build_unit_vocab(docs, "char", 10)
    assert vocab == {"b": 3, "a": 4, "x": 5, "y": 6}
    assert not any(u.isspace() for u in vocab)


def test_word_units():
    docs = [word_doc("很", "好", "很"), word_doc("不", "很", "好吃")]
    assert build_unit_vocab(docs, "word", 10) == {"很": 3, "好": 4, "不": 5, "好吃": 6}
    # the same docs as characters count 好 in 好吃 too
    assert build_unit_vocab(docs, "char", 10) == {"很": 3, "好": 4, "不": 5, "吃": 6}


def test_empty_corpus():
    assert build_unit_vocab([], "char", 10) == {}
    assert build_unit_vocab([char_doc("")], "word", 10) == {}


# -- encode --------------------------------------------------------------------------------


def test_encode_chars():
    vocab = {"好": 3, "坏": 4}
    ids, lengths = encode([char_doc("好坏好"), char_doc("坏")], vocab, "char", 10)
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    np.testing.assert_array_equal(ids, [[3, 4, 3], [4, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1])


def test_encode_unknown_units_are_kept_as_unk():
    vocab = {"好": 3}
    ids, lengths = encode([char_doc("好差好极")], vocab, "char", 10)
    np.testing.assert_array_equal(ids, [[3, UNK_ID, 3, UNK_ID]])
    np.testing.assert_array_equal(lengths, [4])


def test_encode_skips_whitespace():
    vocab = {"a": 3, "b": 4}
    ids, lengths = encode([char_doc(" a \t b\n"), char_doc("   ")], vocab, "char", 10)
    np.testing.assert_array_equal(ids, [[3, 4], [0, 0]])
    np.testing.assert_array_equal(lengths, [2, 0])


def test_encode_truncates_after_skipping_whitespace():
    vocab = {c: i + 3 for i, c in enumerate("abcdef")}
    ids, lengths = encode([char_doc("a b c d e f"), char_doc("ab")], vocab, "char", 3)
    np.testing.assert_array_equal(ids, [[3, 4, 5], [3, 4, 0]])
    np.testing.assert_array_equal(lengths, [3, 2])


def test_encode_pads_to_longest_row():
    vocab = {"x": 3}
    docs = [char_doc("x"), char_doc("xxxx"), char_doc("xx")]
    ids, lengths = encode(docs, vocab, "char", 100)
    assert ids.shape == (3, 4)
    np.testing.assert_array_equal(lengths, [1, 4, 2])
    # padding is 0, everything before a row's length is not
    for row, n in zip(ids, lengths, strict=True):
        assert (row[:n] != PAD_ID).all() and (row[n:] == PAD_ID).all()


@pytest.mark.parametrize("texts", [[""], ["", ""], ["  "]])
def test_encode_empty_docs(texts):
    ids, lengths = encode([char_doc(t) for t in texts], {"a": 3}, "char", 10)
    assert ids.shape == (len(texts), 1)
    assert (ids == PAD_ID).all()
    np.testing.assert_array_equal(lengths, [0] * len(texts))


def test_encode_no_docs():
    ids, lengths = encode([], {"a": 3}, "char", 10)
    assert ids.shape == (0, 1) and lengths.shape == (0,)


def test_encode_words():
    vocab = {"很": 3, "好": 4}
    docs = [word_doc("很", "好", "很好"), word_doc("好")]
    ids, lengths = encode(docs, vocab, "word", 10)
    np.testing.assert_array_equal(ids, [[3, 4, UNK_ID], [4, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1])
    # a whitespace token is skipped
    ids, lengths = encode([Doc(VOCAB, words=["很", " ", "好"])], vocab, "word", 10)
    np.testing.assert_array_equal(ids, [[3, 4]])
    np.testing.assert_array_equal(lengths, [2])


def test_encode_then_build_round_trip():
    docs = [char_doc("今天天气很好"), char_doc("天气不好")]
    vocab = build_unit_vocab(docs, "char", 100)
    ids, lengths = encode(docs, vocab, "char", 100)
    assert UNK_ID not in ids
    assert decode(ids[0], vocab, "char") == "今天天气很好"
    assert decode(ids[1], vocab, "char") == "天气不好"
    assert ids.min() >= 0 and ids[ids != PAD_ID].min() >= N_SPECIAL


# -- decode --------------------------------------------------------------------------------


def test_decode_stops_at_end_of_text():
    vocab = {"a": 3, "b": 4}
    assert decode([3, 4, EOS_ID, 3, 3], vocab, "char") == "ab"
    assert decode([EOS_ID, 3], vocab, "char") == ""
    assert decode([], vocab, "char") == ""


def test_decode_skips_padding():
    vocab = {"a": 3, "b": 4}
    assert decode([3, PAD_ID, 4, PAD_ID, PAD_ID], vocab, "char") == "ab"
    assert decode(np.array([3, 4, 0, 0], dtype=np.int64), vocab, "char") == "ab"


def test_decode_unknown_ids():
    vocab = {"a": 3}
    assert decode([3, UNK_ID, 99, 3], vocab, "char") == "a□□a"


def test_decode_words_joined_with_spaces():
    vocab = {"很": 3, "好吃": 4}
    assert decode([3, 4, UNK_ID, EOS_ID, 3], vocab, "word") == "很 好吃 □"
    assert decode(np.array([4, 0], dtype=np.int64), vocab, "word") == "好吃"
