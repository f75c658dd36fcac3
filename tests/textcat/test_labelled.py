"""Labelled sentiment data (spacy_kexue.textcat.labelled) and ``kexue textcat convert``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.errors import DataFileError
from spacy_kexue.textcat.labelled import NEGATIVE, POSITIVE, convert, label_cats, read_labelled

runner = CliRunner()

RECORDS = [
    {"text": "这个很好", "label": 1},
    {"text": "太差了", "label": 0},
    {"text": "很好 但是 太贵", "label": 0, "id": 7},
    {"text": "", "label": 1},
    {"text": "非常满意！", "label": 1.0},
]


def write_jsonl(path: Path, lines: list) -> Path:
    """``lines``: dicts (written as JSON) or raw strings (written as they are)."""
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
        for line in lines
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def zh():
    return spacy.blank("zh")


@pytest.fixture(scope="module")
def blank_pipeline(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blank_zh") / "zh_blank"
    spacy.blank("zh").to_disk(path)
    return path


# --- read_labelled ------------------------------------------------------------------------------


def test_label_cats():
    assert label_cats(1) == {POSITIVE: 1.0, NEGATIVE: 0.0}
    assert label_cats(0) == {POSITIVE: 0.0, NEGATIVE: 1.0}


def test_read_labelled(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [RECORDS[0], "", "   ", *RECORDS[1:]])
    got = list(read_labelled(path))
    assert got == [(r["text"], int(r["label"])) for r in RECORDS]
    assert all(type(label) is int for _, label in got)


def test_read_labelled_keys_and_gzip(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    data = "".join(json.dumps({"review": t, "y": y}) + "\n" for t, y in [("好", 1), ("差", 0)])
    path.write_bytes(gzip.compress(data.encode("utf-8")))
    assert list(read_labelled(path, text_key="review", label_key="y")) == [("好", 1), ("差", 0)]
    with pytest.raises(DataFileError, match="'text'"):
        list(read_labelled(path))


GOOD = {"text": "好", "label": 1}


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"text": "好"}, "no 'label' field"),
        ({"text": "好", "label": 2}, "label = 2"),
        ({"text": "好", "label": -1}, "label = -1"),
        ({"text": "好", "label": 0.5}, "label = 0.5"),
        ({"text": "好", "label": "1"}, "label = '1'"),
        ({"text": "好", "label": True}, "label = True"),
        ({"text": "好", "label": False}, "label = False"),
        ({"text": "好", "label": None}, "label = None"),
        ({"text": "好", "label": [1]}, r"label = \[1\]"),
        ({"label": 1}, "no string field 'text'"),
        ({"text": None, "label": 1}, "no string field 'text'"),
        ({"text": 3, "label": 1}, "no string field 'text'"),
        ('{"text": "好", "label": 1', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"text": "\\ud800好", "label": 1}', "surrogate"),
    ],
)
@pytest.mark.parametrize("line", [1, 3])
def test_read_labelled_errors_name_file_and_line(tmp_path, bad, match, line):
    # on line 3: a good record and a blank line (skipped, but counted) come first
    lines = [bad, GOOD] if line == 1 else [GOOD, "", bad, GOOD]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    records = read_labelled(path)
    if line == 3:
        assert next(records) == ("好", 1)
    with pytest.raises(DataFileError, match=match) as info:
        next(records)
    message = str(info.value)
    assert message.startswith(f"{path}, line {line}: ")
    assert info.value.line == line
    assert Path(info.value.path) == path


def test_read_labelled_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="does not exist") as info:
        list(read_labelled(tmp_path / "missing.jsonl"))
    assert str(tmp_path / "missing.jsonl") in str(info.value)


# --- convert ------------------------------------------------------------------------------------


def read_docbin(path: Path, nlp) -> list:
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def test_convert(tmp_path, zh):
    source = write_jsonl(tmp_path / "a.jsonl", RECORDS)
    out = tmp_path / "sub" / "dir" / "train.spacy"
    assert convert(source, out, zh) == len(RECORDS)
    docs = read_docbin(out, zh)
    assert [d.text for d in docs] == [r["text"] for r in RECORDS]
    for doc, record in zip(docs, RECORDS, strict=True):
        positive = record["label"] == 1
        assert doc.cats == {POSITIVE: float(positive), NEGATIVE: float(not positive)}
        # the pipeline's tokenizer split the text: one token per character for blank zh
        assert [t.text for t in doc] == [t.text for t in zh.make_doc(record["text"])]
    assert len(docs[0]) == 4


def test_convert_limit(tmp_path, zh):
    source = write_jsonl(tmp_path / "a.jsonl", RECORDS)
    out = tmp_path / "train.spacy"
    assert convert(source, out, zh, limit=2) == 2
    docs = read_docbin(out, zh)
    assert [d.text for d in docs] == ["这个很好", "太差了"]
    assert [d.cats[POSITIVE] for d in docs] == [1.0, 0.0]


def test_convert_bad_record_writes_nothing(tmp_path, zh):
    source = write_jsonl(tmp_path / "a.jsonl", [*RECORDS, {"text": "好", "label": 3}])
    out = tmp_path / "train.spacy"
    with pytest.raises(DataFileError, match=f"line {len(RECORDS) + 1}"):
        convert(source, out, zh)
    assert not out.exists()


# --- kexue textcat convert ------------------------------------------------------------------


def test_cli_convert(tmp_path, blank_pipeline, zh):
    source = write_jsonl(tmp_path / "a.jsonl", RECORDS)
    out = tmp_path / "out" / "train.spacy"
    result = runner.invoke(
        app, ["textcat", "convert", str(source), str(out), "--model", str(blank_pipeline)]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"Wrote {len(RECORDS)} docs to {out}" in result.stdout
    docs = read_docbin(out, zh)
    assert [d.cats[POSITIVE] for d in docs] == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert [d.cats[NEGATIVE] for d in docs] == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert [d.text for d in docs] == [r["text"] for r in RECORDS]


def test_cli_convert_limit(tmp_path, blank_pipeline, zh):
    source = write_jsonl(tmp_path / "a.jsonl", RECORDS)
    out = tmp_path / "train.spacy"
    result = runner.invoke(
        app,
        ["textcat", "convert", str(source), str(out), "-m", str(blank_pipeline), "--limit", "3"],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert len(read_docbin(out, zh)) == 3


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"text": "好", "label": 2}, "labels must be 1"),
        ({"text": "好"}, "no 'label' field"),
        ("not json", "not valid JSON"),
    ],
)
def test_cli_convert_bad_file(tmp_path, blank_pipeline, bad, match):
    source = write_jsonl(tmp_path / "bad.jsonl", [*RECORDS[:2], bad])
    out = tmp_path / "train.spacy"
    result = runner.invoke(
        app, ["textcat", "convert", str(source), str(out), "--model", str(blank_pipeline)]
    )
    assert result.exit_code == 1
    assert f"{source}, line 3" in result.stderr
    assert match in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_convert_missing_input(tmp_path, blank_pipeline):
    source = tmp_path / "missing.jsonl"
    result = runner.invoke(
        app,
        ["textcat", "convert", str(source), str(tmp_path / "o.spacy"), "-m", str(blank_pipeline)],
    )
    assert result.exit_code == 2  # a usage error: checked before the pipeline loads
    assert f"{source}: no such file" in result.stderr
