"""``kexue ocr read / evaluate / build-lm / train`` through the CLI (tiny recogniser)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
PIL = pytest.importorskip("PIL.Image")

from spacy_kexue.cli import app  # noqa: E402
from spacy_kexue.ocr.reader import OCRReader  # noqa: E402
from spacy_kexue.ocr.render import render_line  # noqa: E402

runner = CliRunner()
TEXTS = ["中国人是大的", "我以为他要在这个国"]


@pytest.fixture(scope="module")
def model_dir(tiny_recognizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reader")
    OCRReader(tiny_recognizer[0], None, use_lm=False).to_disk(folder)
    return folder


@pytest.fixture(scope="module")
def labelled(fonts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("labelled")
    with open(folder / "labels.jsonl", "w", encoding="utf-8") as f:
        for i, text in enumerate(TEXTS):
            image, _ = render_line(text, fonts[0], font_px=28)
            PIL.fromarray(image).save(folder / f"{i}.png")
            f.write(json.dumps({"image": f"{i}.png", "text": text}, ensure_ascii=False) + "\n")
    return folder


def test_read_prints_text_and_draws_boxes(model_dir, labelled, tmp_path):
    out = tmp_path / "boxes.png"
    result = runner.invoke(
        app,
        [
            "ocr",
            "read",
            str(labelled / "1.png"),
            "--model",
            str(model_dir),
            "--show",
            str(out),
            "--pipeline",
            "",
        ],
    )
    assert result.exit_code == 0, result.output
    assert TEXTS[1] in result.stdout
    drawn = np.asarray(PIL.open(out).convert("RGB")).astype(int)
    red = (drawn[..., 0] > 180) & (drawn[..., 1] < 80) & (drawn[..., 2] < 80)
    blue = (drawn[..., 2] > 180) & (drawn[..., 0] < 80)
    assert red.sum() > 100 and blue.sum() > 50  # token (character) and line boxes


def test_read_json_and_several_images(model_dir, labelled):
    paths = [str(labelled / "0.png"), str(labelled / "1.png")]
    result = runner.invoke(app, ["ocr", "read", *paths, "--model", str(model_dir), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == TEXTS
    assert len(rows[0]["char_boxes"]) == len(TEXTS[0])


def test_read_reports_a_bad_image_and_goes_on(model_dir, labelled, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = runner.invoke(
        app, ["ocr", "read", str(bad), str(labelled / "0.png"), "--model", str(model_dir)]
    )
    assert result.exit_code == 1
    assert "bad.png" in result.stderr
    assert TEXTS[0] in result.stdout


def test_evaluate_scores_a_labelled_folder(model_dir, labelled, tmp_path):
    out = tmp_path / "scores.json"
    result = runner.invoke(
        app, ["ocr", "evaluate", str(labelled), "--model", str(model_dir), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "CER 0.0000" in result.stdout and "exact 1.0000" in result.stdout
    scores = json.loads(out.read_text("utf-8"))
    assert scores["n_chars"] == sum(map(len, TEXTS))
    assert [o["prediction"] for o in scores["outputs"]] == TEXTS


def test_evaluate_names_a_bad_labels_line(model_dir, tmp_path):
    (tmp_path / "labels.jsonl").write_text('{"image": "a.png", "text": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["ocr", "evaluate", str(tmp_path), "--model", str(model_dir)])
    assert result.exit_code == 1
    assert "labels.jsonl, line 1" in result.stderr and "a.png" in result.stderr


def test_build_lm_writes_model_and_card(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("我们看电视\n电视很好看\n", encoding="utf-8")
    out = tmp_path / "lm.npz"
    result = runner.invoke(app, ["ocr", "build-lm", str(out), str(corpus), "--min-count", "1"])
    assert result.exit_code == 0, result.output
    from spacy_kexue.ocr.lm import BigramLM

    lm = BigramLM.from_disk(out)
    assert lm.bigram_count("电", "视") == 2
    card = json.loads((tmp_path / "lm.npz.json").read_text("utf-8"))
    assert card["sources"][0]["name"] == "corpus.txt" and len(card["sources"][0]["sha256"]) == 64
    missing = runner.invoke(app, ["ocr", "build-lm", str(out), str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2 and "nope.txt: no such file" in missing.stderr  # usage error


def test_train_refuses_unknown_and_reserved_families(tmp_path):
    result = runner.invoke(
        app, ["ocr", "train", str(tmp_path / "m"), "--family", "AR PL UKai", "--steps", "1"]
    )
    assert result.exit_code == 1
    assert "AR PL UKai" in result.stderr


def test_train_refuses_an_unknown_augmenter(tmp_path):
    result = runner.invoke(
        app, ["ocr", "train", str(tmp_path / "m"), "--augmenter", "wild", "--steps", "1"]
    )
    assert result.exit_code == 1 and "--augmenter" in result.stderr
