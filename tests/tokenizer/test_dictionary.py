"""Word-frequency dictionaries: loading, validation, EM counts (spacy_kexue.tokenizer.dictionary)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_kexue.errors import DataFileError
from spacy_kexue.tokenizer.dictionary import (
    WordDict,
    adapt_dictionary,
    estimate_counts,
    load_dictionary,
)
from spacy_kexue.tokenizer.pretok import split_runs
from spacy_kexue.tokenizer.unigram import UnigramSegmenter


def write(tmp_path: Path, content: str | bytes, name: str = "dict.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def han_runs(lines):
    return [line[a:b] for line in lines for a, b, kind in split_runs(line) if kind == "han"]


# --- WordDict -----------------------------------------------------------------------------------


def test_word_dict_normalises_and_merges():
    wd = WordDict.from_pairs([(" 中国 ", 3), ("人民", 2.5), ("中国", 1)])
    assert wd.words == ["中国", "人民"]
    assert wd.counts.dtype == np.float64
    assert wd.counts.tolist() == [4.0, 2.5]
    assert wd.tags is None
    assert len(wd) == 2
    assert wd.probabilities().sum() == pytest.approx(1.0)
    assert wd.probabilities().tolist() == pytest.approx([4 / 6.5, 2.5 / 6.5])
    tagged = WordDict.from_pairs([("中国", 3, "ns"), ("人民", 2, "n"), ("中国", 1, "x")])
    assert tagged.tags == ["ns", "n"]
    assert tagged.to_dict() == {"中国": 4.0, "人民": 2.0}


@pytest.mark.parametrize(
    "pairs, message",
    [
        ([("", 1)], "empty"),
        ([("  ", 1)], "empty"),
        ([("a", 0)], "positive"),
        ([("a", -1)], "positive"),
        ([("a", float("inf"))], "positive"),
        ([("a\tb", 1)], "tab"),
        ([("a\nb", 1)], "line break"),
        ([("a\x00b", 1)], "NUL"),
    ],
)
def test_word_dict_rejects_bad_entries(pairs, message):
    with pytest.raises(ValueError, match=message):
        WordDict.from_pairs(pairs)


def test_word_dict_lengths_must_agree():
    with pytest.raises(ValueError, match="one count per word"):
        WordDict(["a", "b"], np.array([1.0]))


def test_write_and_load_round_trip(tmp_path):
    wd = WordDict.from_pairs(
        [("中国", 3, "ns"), ("New York", 2.5, "ns"), ("3", 1, "m"), ("#", 7, "")]
    )
    assert wd.to_lines() == ["中国\t3\tns", "New York\t2.5\tns", "3\t1\tm", "#\t7\t"]
    path = tmp_path / "out.tsv"
    wd.write(path)
    again = load_dictionary(path)
    assert again.words == wd.words
    assert again.counts.tolist() == wd.counts.tolist()
    assert again.tags == wd.tags


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(
            lambda w: w.strip() == w and w and not any(c in w for c in "\t\n\r\x00")
        ),
        st.floats(min_value=1e-6, max_value=1e12),
        min_size=1,
        max_size=10,
    )
)
def test_write_load_round_trip_property(tmp_path_factory, entries):
    path = tmp_path_factory.mktemp("rt") / "d.tsv"
    WordDict(list(entries), np.array(list(entries.values()))).write(path)
    assert load_dictionary(path).to_dict() == entries


# --- formats --------------------------------------------------------------------------------------


def test_jieba_format_with_spaces_in_words(tmp_path):
    path = write(tmp_path, "AT&T 3 nz\n中国 100 ns\nNew York 5 ns\nc++ 2\n\n的 500 uj\n")
    wd = load_dictionary(path)
    assert wd.to_dict() == {"AT&T": 3, "中国": 100, "New York": 5, "c++": 2, "的": 500}
    assert wd.tags == ["nz", "ns", "ns", "", "uj"]


def test_tab_format_bom_and_crlf(tmp_path):
    path = write(tmp_path, "\ufeff中国\t100\r\n人民\t2.5e1\r\n\r\n的\t7\r\n")
    wd = load_dictionary(path)
    assert wd.to_dict() == {"中国": 100.0, "人民": 25.0, "的": 7.0}
    assert wd.tags is None


def test_plain_word_list_needs_raw_text(tmp_path):
    path = write(tmp_path, "\ufeff中国\r\n人民\r\n1998\r\n共和国\r\n")
    with pytest.raises(DataFileError, match="raw_texts") as err:
        load_dictionary(path)
    assert str(path) in str(err.value)
    wd = load_dictionary(path, uniform_if_no_counts=True)
    assert wd.words == ["中国", "人民", "1998", "共和国"]
    assert wd.counts.tolist() == [1.0] * 4
    wd = load_dictionary(path, raw_texts=["中国人民", "中国"], em_iterations=2)
    got = wd.to_dict()
    assert got["中国"] > got["人民"] > got["共和国"]
    assert min(got.values()) > 0


def test_jieba_dictionary_loads():
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        pytest.skip("jieba is not installed")
    path = Path(spec.origin).parent / "dict.txt"
    n_lines = path.read_bytes().count(b"\n")
    wd = load_dictionary(path)
    assert n_lines > 300_000
    # duplicated lines (jieba lists "B超" twice) are merged
    assert n_lines - 10 <= len(wd) <= n_lines
    assert len(set(wd.words)) == len(wd)
    assert np.all(wd.counts > 0)
    assert wd.tags is not None and len(wd.tags) == len(wd)
    got = wd.to_dict()
    assert got["的"] > 100_000 and got["B超"] == 6  # "B超 3 n" twice
    assert wd.tags[wd.words.index("中国")] == "ns"


# --- errors ---------------------------------------------------------------------------------------


def assert_names(err: pytest.ExceptionInfo, path: Path, line: int | None) -> str:
    message = str(err.value)
    assert str(path) in message
    assert err.value.path == path
    assert err.value.line == line
    if line is not None:
        assert f"line {line}:" in message
    return message


@pytest.mark.parametrize(
    "content, line, words",
    [
        ("的 100 uj\n中国 50 ns\n人民\n共和国 3 n\n", 3, ["count column is missing", "人民"]),
        ("的\t100\n中国\n", 2, ["count column is missing"]),
        ("的 100\n中国 abc ns\n人民 3\n", 2, ["count column is missing", "not a number"]),
        ("的\t100\n中国\tmany\n", 2, ["'many' is not a number"]),
        ("的\t100\n\n中国\t-5\n", 3, ["negative"]),
        ("的 100 uj\n中国 -5 ns\n", 2, ["negative"]),
        ("的\t100\n中国\tinf\n", 2, ["not finite"]),
        ("的\t100\n中国\tnan\n", 2, ["not finite"]),
        ("的\t0\n", 1, ["zero"]),
        ("的\n中国\n人民\n共和国 5\n", 4, ["has a count column", "or none"]),
    ],
)
def test_bad_counts_name_file_and_line(tmp_path, content, line, words):
    path = write(tmp_path, content)
    with pytest.raises(DataFileError) as err:
        load_dictionary(path)
    message = assert_names(err, path, line)
    for word in words:
        assert word in message


def test_binary_file(tmp_path):
    path = write(tmp_path, "的 1\n".encode() + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DataFileError) as err:
        load_dictionary(path)
    message = assert_names(err, path, 4)  # the PNG signature holds a line feed
    assert "NUL" in message and "UTF-8" in message


def test_utf16_file_is_called_binary(tmp_path):
    path = write(tmp_path, "的 1\n中国 2\n".encode("utf-16"))
    with pytest.raises(DataFileError, match="UTF-16"):
        load_dictionary(path)


def test_undecodable_bytes(tmp_path):
    path = write(tmp_path, "的 1\n中国 2\n".encode() + "人民 3\n".encode("gbk"))
    with pytest.raises(DataFileError) as err:
        load_dictionary(path)
    message = assert_names(err, path, 3)
    assert "not valid UTF-8" in message and "iconv" in message


@pytest.mark.parametrize("content", ["", "\n\n  \r\n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(DataFileError) as err:
        load_dictionary(path)
    assert "empty" in assert_names(err, path, None)


def test_file_with_no_words(tmp_path):
    path = write(tmp_path, "\ufeff\n\n")
    with pytest.raises(DataFileError) as err:
        load_dictionary(path)
    assert "no words" in assert_names(err, path, None)


def test_missing_file_and_directory(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(DataFileError) as err:
        load_dictionary(path)
    assert "does not exist" in assert_names(err, path, None)
    with pytest.raises(DataFileError) as err:
        load_dictionary(tmp_path)
    assert "directory" in assert_names(err, tmp_path, None)


# --- estimating counts ------------------------------------------------------------------------


def test_estimate_counts_recounts_the_raw_text():
    words = ["中国", "人民", "中", "国", "人", "民", "共和国"]
    counts = estimate_counts(words, ["中国人民", "中国", "人"], iterations=3)
    got = dict(zip(words, counts.tolist(), strict=True))
    assert got["中国"] == 2.5 and got["人民"] == 1.5 and got["人"] == 1.5
    assert got["共和国"] == got["中"] == 0.5


def test_estimate_counts_with_prior():
    words = ["中国", "人民", "共和国"]
    prior = np.array([10.0, 10.0, 80.0])
    kept = estimate_counts(words, ["中国中国人民"], prior_counts=prior, mix=1.0)
    assert kept == pytest.approx(prior)
    assert estimate_counts(words, ["中国"], iterations=0, prior_counts=prior) == pytest.approx(
        prior
    )
    adapted = estimate_counts(words, ["中国中国人民"], prior_counts=prior, mix=0.5)
    assert adapted.sum() == pytest.approx(prior.sum())
    assert adapted[0] > adapted[1] > prior[1]
    assert adapted[2] < prior[2]
    assert np.all(adapted > 0)
    with pytest.raises(ValueError, match="mix"):
        estimate_counts(words, ["中国"], prior_counts=prior, mix=1.5)
    with pytest.raises(ValueError, match="prior counts"):
        estimate_counts(words, ["中国"], prior_counts=[1.0])


def test_pku_word_list_with_raw_text(data_dir):
    words_path = data_dir / "cws" / "pku_training_words.utf8"
    raw_path = data_dir / "cws" / "pku_test.utf8"
    gold_path = data_dir / "cws" / "pku_test_gold.utf8"
    if not (words_path.exists() and raw_path.exists() and gold_path.exists()):
        pytest.skip("SIGHAN PKU files not present")
    raw = raw_path.read_text(encoding="utf-8").splitlines()[:300]
    gold = gold_path.read_text(encoding="utf-8").splitlines()[:300]
    runs = han_runs(raw)
    wd = load_dictionary(words_path, raw_texts=runs, em_iterations=3)
    assert len(wd) > 50_000 and np.all(wd.counts > 0)
    got = wd.to_dict()
    text = "\n".join(runs)
    present = [w for w in wd.words if w in text]
    absent = [w for w in wd.words if w not in text]
    assert min(got[w] for w in absent) == max(got[w] for w in absent) == 0.5
    assert np.mean([got[w] for w in present]) > 2 * np.mean([got[w] for w in absent])
    assert got["的"] == max(got.values())
    assert got["中国"] > 10 and got["发展"] > 10

    def f1(counts):
        seg = UnigramSegmenter(wd.words, counts)
        tp = n_pred = n_gold = 0
        for line, gold_words in zip(raw, gold, strict=True):
            pred = [w for run in han_runs([line]) for w in seg.segment(run)]
            gold_han = [w for w in gold_words.split() if han_runs([w]) == [w]]
            tp += len(set(pred) & set(gold_han))
            n_pred, n_gold = n_pred + len(pred), n_gold + len(gold_han)
        return 2 * tp / (n_pred + n_gold)

    assert f1(wd.counts) > f1(np.ones(len(wd)))


# --- adapting -----------------------------------------------------------------------------------


def test_adapt_dictionary():
    wd = WordDict.from_pairs(
        [
            ("的", 5, "uj"),
            ("中国", 4, "ns"),
            ("共和国", 3, "n"),
            ("社会主义", 2, "n"),
            ("一心一意", 2, "i"),
            ("三个", 1, "m"),
            ("三", 1, "m"),
            ("AT&T", 1, "nz"),
            ("B超", 1, "n"),
        ]
    )
    out = adapt_dictionary(wd, max_word_length=3, keep_longer_tags=["i"], drop_tags=["m"])
    assert out.words == ["的", "中国", "共和国", "一心一意", "三", "B超"]
    out = adapt_dictionary(wd, han_only=True)
    assert "AT&T" not in out.words and "B超" not in out.words and "社会主义" in out.words
    assert out.tags is not None and len(out.tags) == len(out)
    with pytest.raises(ValueError, match="removed every word"):
        adapt_dictionary(wd, max_word_length=0)
    untagged = WordDict(wd.words, wd.counts)
    assert len(adapt_dictionary(untagged, max_word_length=2, keep_longer_tags=["i"])) == 5
