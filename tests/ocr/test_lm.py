"""Character bigram LM and Viterbi correction (spacy_kexue.ocr.lm)."""

from __future__ import annotations

import io
import itertools
import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.errors import DataFileError
from spacy_kexue.ocr.lm import BOUNDARY, MIN_PROB, UNKNOWN, BigramCounter, BigramLM, viterbi

TV_TEXTS = ["我在家看电视", "电视节目很好看", "这台电视机很贵", "柳树发芽了", "电视"] * 10
TV_CANDIDATES = [[("电", 0.9), ("龟", 0.05)], [("柳", 0.5), ("视", 0.4), ("枧", 0.1)]]


# -- the method's example ------------------------------------------------------------


def test_method_example_lm_corrects_dianliu():
    lm = BigramLM.build(TV_TEXTS)
    assert "".join(viterbi(TV_CANDIDATES, lm)) == "电视"


def test_method_example_without_lm_keeps_classifier_choice():
    lm = BigramLM.build(TV_TEXTS)
    assert "".join(viterbi(TV_CANDIDATES, lm, lm_weight=0.0)) == "电柳"
    assert "".join(viterbi(TV_CANDIDATES, None)) == "电柳"


def test_method_example_with_charset_lm():
    charset = "电龟柳视枧我在家看节目很好这台机贵树发芽了"
    lm = BigramLM.build(TV_TEXTS, charset=charset)
    assert lm.chars == tuple(charset)
    assert viterbi(TV_CANDIDATES, lm) == ["电", "视"]


# -- counting ---------------------------------------------------------------------


def test_counts_on_hand_built_corpus():
    # segments: <b>ab<b> | <b>ba<b>b<b> | <b>a<b>  (the space and the line ends are boundaries)
    lm = BigramLM.build(["ab", "ba b", "a"])
    assert lm.chars == ("a", "b")  # equal frequency: ordered by code point
    expected = {
        (None, "a"): 2,
        ("a", "b"): 1,
        ("b", None): 2,
        (None, "b"): 2,
        ("b", "a"): 1,
        ("a", None): 2,
        ("a", "a"): 0,
        ("b", "b"): 0,
    }
    for (prev, ch), count in expected.items():
        assert lm.bigram_count(prev, ch) == count, (prev, ch)
    assert lm.unigram_count(None) == 4  # segments
    assert lm.unigram_count("a") == 3
    assert lm.unigram_count("b") == 3
    assert lm.n_bigrams == 6


def test_vocabulary_ordered_by_frequency():
    lm = BigramLM.build(["cccc", "bb", "a", "b"])
    assert lm.chars == ("c", "b", "a")


def test_out_of_charset_characters_are_boundaries():
    lm = BigramLM.build(["axb", "a\tb"], charset="ab")
    assert lm.bigram_count("a", "b") == 0
    assert lm.bigram_count("a", None) == 2
    assert lm.bigram_count(None, "b") == 2
    assert lm.unigram_count(None) == 4
    assert lm.char_id("x") == UNKNOWN
    assert lm.char_id(" ") == lm.char_id("\u3000") == lm.char_id(None) == BOUNDARY


def test_unseen_charset_characters_get_smoothing_only():
    lm = BigramLM.build(["ab"], charset="abz", alpha=0.5)
    assert lm.unigram_count("z") == 0
    # context z never seen: uniform over the 4 next symbols (a, b, z, boundary)
    assert lm.prob("z", "a") == pytest.approx(0.25)


def test_smoothing_gives_unseen_bigrams_nonzero_probability():
    alpha = 0.1
    lm = BigramLM.build(["ab", "ab", "ba"], alpha=alpha)
    v1 = lm.vocab_size + 1
    assert lm.bigram_count("a", "a") == 0
    p = lm.prob("a", "a")
    assert p > 0
    assert p == pytest.approx(alpha / (lm.unigram_count("a") + alpha * v1))
    seen = lm.prob("a", "b")
    assert seen == pytest.approx((2 + alpha) / (3 + alpha * v1))
    assert seen > p


def test_conditional_distributions_sum_to_one():
    lm = BigramLM.build(["我爱北京", "北京欢迎你", "你 好", "爱你"])
    ids = np.arange(lm.vocab_size + 1)
    for prev in range(1, lm.vocab_size + 1):
        total = np.exp(lm.log_prob_ids(prev, ids)).sum()
        assert total == pytest.approx(1.0)


def test_score_is_sum_of_log_probs():
    lm = BigramLM.build(TV_TEXTS)
    expected = lm.log_prob(None, "电") + lm.log_prob("电", "视") + lm.log_prob("视", None)
    assert lm.score("电视") == pytest.approx(expected)
    # whitespace and unknown characters act as boundaries; runs of them cost nothing
    split = lm.score("电") + lm.score("视")
    assert lm.score("电 视") == pytest.approx(split)
    assert lm.score("电 \u3000 视") == pytest.approx(split)
    assert lm.score("") == 0.0
    assert lm.score("电视") > lm.score("电柳")


def test_unknown_characters_score_like_unseen_ones():
    alpha = 0.1
    lm = BigramLM.build(["电视", "电视机", "看电视"], alpha=alpha)
    v1 = lm.vocab_size + 1
    assert lm.unigram_count("龟") == 0 and lm.bigram_count("电", "龟") == 0
    assert lm.prob("电", "龟") == pytest.approx(alpha / (lm.unigram_count("电") + alpha * v1))
    assert lm.prob("电", "龟") == pytest.approx(lm.prob("电", "看"))  # seen char, unseen bigram
    assert lm.prob("龟", "视") == pytest.approx(1 / v1)
    assert lm.prob("龟", None) == pytest.approx(1 / v1)
    assert lm.prob("龟", "龟") == pytest.approx(1 / v1)
    # an unknown character is not a free boundary: 龟 does not beat 电 before a space
    assert lm.score("龟") < lm.score("电")
    assert lm.score("龟视") < lm.score("电视")


def test_log_prob_rejects_strings():
    lm = BigramLM.build(["ab"])
    with pytest.raises(ValueError, match="single character"):
        lm.log_prob("ab", "a")


@pytest.mark.parametrize("bad", [" ", "ab", "", "\ud800"])
def test_bad_charset_is_refused(bad):
    with pytest.raises(ValueError, match="charset item 1"):
        BigramLM.build(["a"], charset=["a", bad])


def test_alpha_must_be_positive():
    with pytest.raises(ValueError, match="alpha"):
        BigramLM.build(["ab"], alpha=0.0)


def test_texts_must_be_strings():
    with pytest.raises(TypeError, match="str"):
        BigramLM.build(["ab", b"cd"])
    with pytest.raises(TypeError, match="not a single str"):
        BigramLM.build("电视")


def test_streaming_chunks_give_the_same_model():
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("abcde xy"), size=rng.integers(0, 12))) for _ in range(300)]
    whole = BigramLM.build(texts)
    chunked = BigramLM.build(texts, chunk_chars=5)
    assert whole == chunked
    with_charset = BigramLM.build(texts, charset="edcba", chunk_chars=7)
    assert with_charset == BigramLM.build(texts, charset="edcba")
    counter = BigramCounter(chunk_chars=3)
    for text in texts:
        counter.add(text)
    assert counter.build() == whole
    assert counter.n_texts == len(texts)


def test_build_from_files(tmp_path):
    (tmp_path / "a.txt").write_text("我在看电视\n电视很好\n", encoding="utf-8")
    with (tmp_path / "b.jsonl").open("w", encoding="utf-8") as f:
        for text in ["电视机", "柳树"]:
            f.write(json.dumps({"content": text}, ensure_ascii=False) + "\n")
    lm = BigramLM.build_from_files(
        [tmp_path / "a.txt", tmp_path / "b.jsonl"], text_key="content", chunk_chars=4
    )
    assert lm == BigramLM.build(["我在看电视", "电视很好", "电视机", "柳树"])


def test_build_from_files_bad_line_names_it(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "好"}\n{"text": 3}\n', encoding="utf-8")
    with pytest.raises(DataFileError, match="line 2"):
        BigramLM.build_from_files(path)


def test_prune():
    lm = BigramLM.build(["ab", "ab", "ab", "ac", "bc"], alpha=0.1)
    pruned = lm.prune(2)
    assert pruned.bigram_count("a", "b") == 3
    assert pruned.bigram_count("a", "c") == 0
    assert pruned.bigram_count("b", "c") == 0
    assert pruned.n_bigrams < lm.n_bigrams
    assert (pruned.bigram_counts >= 2).all()
    # unigram counts are kept: a pruned bigram gets exactly an unseen bigram's mass
    assert pruned.prob("a", "c") == pytest.approx(pruned.prob("a", "a"))
    assert pruned.unigram_count("a") == lm.unigram_count("a")
    top = lm.prune(1, max_bigrams=2)
    assert top.n_bigrams == 2
    assert top.bigram_count("a", "b") == 3
    assert lm.n_bigrams == 7  # the original is untouched
    assert np.all(np.diff(top.bigram_keys) > 0)


# -- serialization ----------------------------------------------------------------


def test_bytes_round_trip_exact():
    lm = BigramLM.build(TV_TEXTS, alpha=0.37)
    loaded = BigramLM.from_bytes(lm.to_bytes())
    assert loaded == lm
    assert loaded.alpha == 0.37
    assert loaded.score("我在家看电视") == lm.score("我在家看电视")
    assert loaded.bigram_keys.dtype == np.int64


def test_disk_round_trip_exact(tmp_path):
    lm = BigramLM.build(TV_TEXTS, charset="电视柳我在家看")
    path = tmp_path / "model" / "lm.npz"
    lm.to_disk(path)
    loaded = BigramLM.from_disk(path)
    assert loaded == lm
    assert viterbi(TV_CANDIDATES, loaded) == ["电", "视"]


def test_pickle_round_trip():
    lm = BigramLM.build(TV_TEXTS)
    assert pickle.loads(pickle.dumps(lm)) == lm


def test_empty_model_round_trip():
    lm = BigramLM.build([])
    assert lm.vocab_size == 0 and lm.n_bigrams == 0
    assert BigramLM.from_bytes(lm.to_bytes()) == lm
    assert lm.score("abc") == 0.0


class _Evil:
    def __reduce__(self):
        return (print, ("UNPICKLED: arbitrary code ran",))


def _model_arrays(lm: BigramLM) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(lm.to_bytes()), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def test_object_array_in_model_file_is_refused(tmp_path, capsys):
    arrays = _model_arrays(BigramLM.build(["ab"]))
    arrays["chars"] = np.array([_Evil(), "b"], dtype=object)
    path = tmp_path / "evil.npz"
    with path.open("wb") as f:
        np.savez(f, **arrays)  # pickles the object array
    with pytest.raises(DataFileError, match="evil.npz.*unpickling"):
        BigramLM.from_disk(path)
    assert "UNPICKLED" not in capsys.readouterr().out


def test_extra_object_member_is_refused_too():
    arrays = _model_arrays(BigramLM.build(["ab"]))
    arrays["extra"] = np.array([{"x": 1}], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(DataFileError, match="unpickling"):
        BigramLM.from_bytes(buf.getvalue())


def test_not_a_model_file(tmp_path):
    path = tmp_path / "lm.npz"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(DataFileError, match="lm.npz.*not a BigramLM file"):
        BigramLM.from_disk(path)
    with pytest.raises(DataFileError, match="does not exist"):
        BigramLM.from_disk(tmp_path / "missing.npz")


def test_inconsistent_model_file_is_refused():
    arrays = _model_arrays(BigramLM.build(["ab", "ba"]))
    arrays["bigram_keys"] = arrays["bigram_keys"][::-1].copy()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(DataFileError, match="strictly increasing"):
        BigramLM.from_bytes(buf.getvalue())
    del arrays["alpha"]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(DataFileError, match="missing alpha"):
        BigramLM.from_bytes(buf.getvalue())


# -- Viterbi ----------------------------------------------------------------------


def _path_score(lm, path, probs, lm_weight):
    emissions = sum(math.log(max(p, MIN_PROB)) for p in probs)
    return emissions + lm_weight * lm.score("".join(s if s else " " for s in path))


def _brute_force(candidates, lm, lm_weight, top_k):
    lists = [sorted(pos, key=lambda c: -c[1])[:top_k] for pos in candidates]
    best = -math.inf
    for combo in itertools.product(*lists):
        score = _path_score(lm, [s for s, _ in combo], [p for _, p in combo], lm_weight)
        best = max(best, score)
    return best


def _score_of(candidates, path, lm, lm_weight):
    probs = [dict(pos)[s] for pos, s in zip(candidates, path, strict=True)]
    return _path_score(lm, path, probs, lm_weight)


SYMBOLS = st.sampled_from(["a", "b", "c", "d", "x", " ", "", "ab", "电"])


@st.composite
def candidate_lists(draw):
    n = draw(st.integers(1, 5))
    positions = []
    for _ in range(n):
        strings = draw(st.lists(SYMBOLS, min_size=1, max_size=4, unique=True))
        probs = draw(
            st.lists(
                st.floats(0.001, 1.0, allow_nan=False),
                min_size=len(strings),
                max_size=len(strings),
            )
        )
        positions.append(list(zip(strings, probs, strict=True)))
    return positions


@settings(max_examples=150, deadline=None)
@given(
    candidates=candidate_lists(),
    texts=st.lists(st.text(alphabet="abcd y", max_size=8), max_size=6),
    lm_weight=st.floats(0.0, 3.0),
    top_k=st.integers(1, 4),
    alpha=st.floats(0.01, 2.0),
)
def test_viterbi_equals_brute_force(candidates, texts, lm_weight, top_k, alpha):
    lm = BigramLM.build(texts, alpha=alpha)
    path = viterbi(candidates, lm, lm_weight=lm_weight, top_k=top_k)
    assert len(path) == len(candidates)
    for pos, s in zip(candidates, path, strict=True):
        assert s in [c for c, _ in sorted(pos, key=lambda c: -c[1])[:top_k]]
    best = _brute_force(candidates, lm, lm_weight, top_k)
    assert _score_of(candidates, path, lm, lm_weight) == pytest.approx(best, rel=1e-9, abs=1e-9)


def test_viterbi_brute_force_random_seeded():
    rng = np.random.default_rng(1)
    lm = BigramLM.build(["".join(rng.choice(list("abcdef"), size=10)) for _ in range(50)])
    for _ in range(50):
        n = int(rng.integers(1, 6))
        candidates = []
        for _ in range(n):
            k = int(rng.integers(1, 5))
            chars = rng.choice(list("abcdefg "), size=k, replace=False)
            probs = rng.dirichlet(np.ones(k))
            candidates.append([(str(c), float(p)) for c, p in zip(chars, probs, strict=True)])
        path = viterbi(candidates, lm, lm_weight=1.5, top_k=3)
        best = _brute_force(candidates, lm, 1.5, 3)
        assert _score_of(candidates, path, lm, 1.5) == pytest.approx(best)


def test_viterbi_edge_cases():
    lm = BigramLM.build(TV_TEXTS)
    assert viterbi([], lm) == []
    assert viterbi([[(" ", 1.0)]], lm) == [" "]
    # a fixed position (a space) between two corrected characters
    assert viterbi([TV_CANDIDATES[0], [(" ", 1.0)], *TV_CANDIDATES], lm) == ["电", " ", "电", "视"]
    # top_k=1: the classifier's choice, whatever the LM says
    assert viterbi(TV_CANDIDATES, lm, top_k=1) == ["电", "柳"]
    # candidates need not be sorted
    assert viterbi([[("龟", 0.05), ("电", 0.9)], TV_CANDIDATES[1][::-1]], lm) == ["电", "视"]


def test_viterbi_bad_input():
    lm = BigramLM.build(TV_TEXTS)
    with pytest.raises(ValueError, match="Position 1 has no candidates"):
        viterbi([[("电", 1.0)], []], lm)
    with pytest.raises(ValueError, match="not logits"):
        viterbi([[("电", 3.2)]], lm)
    with pytest.raises(ValueError, match="pairs"):
        viterbi([["电"]], lm)
    with pytest.raises(ValueError, match="top_k"):
        viterbi(TV_CANDIDATES, lm, top_k=0)
    with pytest.raises(ValueError, match="lm_weight"):
        viterbi(TV_CANDIDATES, lm, lm_weight=-1.0)


def test_viterbi_long_line_is_fast():
    import time

    lm = BigramLM.build(TV_TEXTS)
    candidates = [TV_CANDIDATES[0], TV_CANDIDATES[1]] * 1000
    start = time.perf_counter()
    path = viterbi(candidates, lm)
    assert time.perf_counter() - start < 2.0
    assert "".join(path) == "电视" * 1000
