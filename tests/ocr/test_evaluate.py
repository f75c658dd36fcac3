"""read_labels (labels.jsonl checks) and evaluate_engine (CER, exact match, speed)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spacy_kexue.errors import DataFileError
from spacy_kexue.ocr.evaluate import LabelledImage, evaluate_engine, read_labels


def make_set(folder: Path, lines: list[str], images=("a.png", "b.png", "sub/c.png")) -> Path:
    """A labelled folder: small PNGs named ``images`` and ``labels.jsonl`` holding ``lines``."""
    for name in images:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 16), 255, np.uint8)).save(path)
    (folder / "labels.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


def record(image: str, text: str) -> str:
    return json.dumps({"image": image, "text": text}, ensure_ascii=False)


GOOD = [
    record("a.png", "你好"),
    "",
    "   ",
    record("b.png", "第一行\n第二行"),
    record("sub/c.png", ""),
]


def test_read_labels_good_file(tmp_path):
    items = read_labels(make_set(tmp_path, GOOD))
    assert [i.text for i in items] == ["你好", "第一行\n第二行", ""]
    assert [i.line for i in items] == [1, 4, 5]  # blank lines skipped but counted
    assert [i.path for i in items] == [
        (tmp_path / n).resolve() for n in ("a.png", "b.png", "sub/c.png")
    ]
    assert all(isinstance(i, LabelledImage) and i.path.is_file() for i in items)
    # a str folder works as well
    assert read_labels(str(tmp_path)) == items


def test_read_labels_limit(tmp_path):
    make_set(tmp_path, GOOD)
    assert [i.text for i in read_labels(tmp_path, limit=1)] == ["你好"]
    assert len(read_labels(tmp_path, limit=2)) == 2
    assert len(read_labels(tmp_path, limit=0)) == 3
    assert len(read_labels(tmp_path, limit=10)) == 3


def test_read_labels_limit_stops_before_bad_line(tmp_path):
    make_set(tmp_path, [record("a.png", "x"), "{bad json"])
    assert len(read_labels(tmp_path, limit=1)) == 1
    with pytest.raises(DataFileError, match="line 2"):
        read_labels(tmp_path)


def test_read_labels_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="labels.jsonl") as err:
        read_labels(tmp_path)
    assert err.value.path == tmp_path / "labels.jsonl" and err.value.line is None
    assert isinstance(err.value, ValueError)
    with pytest.raises(DataFileError):
        read_labels(tmp_path / "does-not-exist")


@pytest.mark.parametrize(
    "bad, words",
    [
        ("{not json", "not valid JSON"),
        ('["a.png", "text"]', "JSON object"),
        ('"just a string"', "JSON object"),
        ('{"image": "b.png"}', '"text"'),
        ('{"text": "你好"}', '"image"'),
        ('{"image": "b.png", "text": 3}', '"text"'),
        ('{"image": null, "text": "你好"}', '"image"'),
        ('{"image": ["b.png"], "text": "你好"}', '"image"'),
        (record("../x.png", "你好"), "outside the folder"),
        (record("missing.png", "你好"), "does not exist"),
        (record("sub", "你好"), "does not exist"),  # a folder is not an image
    ],
)
def test_read_labels_bad_line(tmp_path, bad, words):
    folder = tmp_path / "set"
    folder.mkdir()
    (tmp_path / "x.png").write_bytes(b"not checked")  # exists, but outside the set
    make_set(folder, [record("a.png", "好"), bad, record("b.png", "坏")])
    with pytest.raises(DataFileError) as err:
        read_labels(folder)
    message = str(err.value)
    assert "labels.jsonl" in message and "line 2" in message
    assert words in message
    assert err.value.line == 2


def test_read_labels_absolute_path_outside(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    outside = tmp_path / "x.png"
    outside.write_bytes(b"")
    make_set(folder, [record(str(outside), "你好")])
    with pytest.raises(DataFileError, match="outside the folder"):
        read_labels(folder)


def test_read_labels_not_utf8(tmp_path):
    make_set(tmp_path, [record("a.png", "你好")])
    with open(tmp_path / "labels.jsonl", "ab") as f:
        f.write('{"image": "b.png", "text": "你好"}\n'.encode("gbk"))
    with pytest.raises(DataFileError, match="not UTF-8") as err:
        read_labels(tmp_path)
    assert "labels.jsonl" in str(err.value) and "line 2" in str(err.value)


# --- evaluate_engine -------------------------------------------------------------------------


def items_for(texts: list[str]) -> list[LabelledImage]:
    return [LabelledImage(Path(f"/data/img{i}.png"), t, i + 1) for i, t in enumerate(texts)]


def fake_engine(outputs: dict[str, str]):
    calls = []

    def read(path: Path) -> str:
        calls.append(path)
        return outputs[path.name]

    return read, calls


def test_evaluate_engine_scores():
    items = items_for(["你好世界", "今天天气", "好"])
    read, calls = fake_engine({"img0.png": "你好世", "img1.png": "今天 天气\n", "img2.png": "坏"})
    result = evaluate_engine(read, items)
    assert calls == [i.path for i in items]  # each image read once, in order
    assert result["n_images"] == 3
    assert result["n_chars"] == 9
    assert result["cer"] == pytest.approx(2 / 9)  # one deletion + one substitution
    assert result["exact"] == pytest.approx(1 / 3)
    assert result["seconds"] >= 0
    assert "outputs" not in result


def test_evaluate_engine_single_deletion():
    read, _ = fake_engine({"img0.png": "你好世"})
    result = evaluate_engine(read, items_for(["你好世界"]))
    assert result["cer"] == pytest.approx(0.25)
    assert result["exact"] == 0.0
    assert result["n_chars"] == 4


def test_evaluate_engine_ignores_whitespace():
    read, _ = fake_engine({"img0.png": "你 好\n世界", "img1.png": "第一行第二行"})
    result = evaluate_engine(read, items_for(["你好世界", "第一行\n第二行 "]))
    assert result["cer"] == 0.0
    assert result["exact"] == 1.0
    assert result["n_chars"] == 10  # reference whitespace not counted


def test_evaluate_engine_keep_outputs():
    items = items_for(["你好世界", "一二"])
    read, _ = fake_engine({"img0.png": "你 好\n世界", "img1.png": "一三四"})
    result = evaluate_engine(read, items, keep_outputs=True)
    assert result["outputs"] == [
        {"image": "img0.png", "reference": "你好世界", "prediction": "你 好\n世界", "errors": 0},
        {"image": "img1.png", "reference": "一二", "prediction": "一三四", "errors": 2},
    ]
    assert result["cer"] == pytest.approx(2 / 6)
    assert result["exact"] == pytest.approx(0.5)


def test_evaluate_engine_speed():
    import time

    def slow_read(path: Path) -> str:
        time.sleep(0.01)
        return "你好"

    result = evaluate_engine(slow_read, items_for(["你好", "你好"]))
    assert result["seconds"] >= 0.02
    assert 0 < result["chars_per_s"] <= 4 / 0.02
    assert result["chars_per_s"] == pytest.approx(4 / result["seconds"])


def test_evaluate_engine_empty():
    def read(path: Path) -> str:
        raise AssertionError("not called")

    result = evaluate_engine(read, [])
    assert result["cer"] == 0.0 and result["exact"] == 0.0
    assert result["n_images"] == 0 and result["n_chars"] == 0
    assert result["chars_per_s"] == 0.0
    assert evaluate_engine(read, [], keep_outputs=True)["outputs"] == []


def test_evaluate_engine_on_read_labels(tmp_path):
    """The two together: the engine gets the resolved image paths of the folder."""
    make_set(tmp_path, GOOD)
    items = read_labels(tmp_path)
    answers = {"a.png": "你好", "b.png": "第一行第二行", "c.png": "多余"}
    result = evaluate_engine(lambda p: answers[p.name], items, keep_outputs=True)
    # '' reference with a 2-char prediction: 2 errors, 0 reference characters
    assert result["n_chars"] == 8
    assert result["cer"] == pytest.approx(2 / 8)
    assert result["exact"] == pytest.approx(2 / 3)
    assert [o["errors"] for o in result["outputs"]] == [0, 0, 2]
