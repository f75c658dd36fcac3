"""The reader shipped in spacy_kexue/ocr/default: present, small, documented, and reading."""

import json

import pytest

from spacy_kexue.ocr.reader import DEFAULT_MODEL_DIR

pytest.importorskip("torch")
pytest.importorskip("PIL")


def test_shipped_files_are_complete_and_small():
    names = {p.relative_to(DEFAULT_MODEL_DIR).as_posix() for p in DEFAULT_MODEL_DIR.rglob("*")}
    assert {
        "README.md",
        "reader.json",
        "lm.npz",
        "lm.npz.json",
        "recognizer/config.json",
        "recognizer/charset.json",
        "recognizer/weights.safetensors",
        "recognizer/training.json",
    } <= names
    assert not any(n.endswith((".pkl", ".pickle", ".pt", ".bin")) for n in names)
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file())
    assert size <= 40 * 2**20
    training = json.loads((DEFAULT_MODEL_DIR / "recognizer" / "training.json").read_text("utf-8"))
    assert {f["family"] for f in training["fonts"]}.isdisjoint(
        {"AR PL UKai", "AR PL KaitiM GB", "AR PL SungtiL GB"}
    )
    card = (DEFAULT_MODEL_DIR / "README.md").read_text("utf-8")
    assert "train split" in card and "jieba" in card  # the LM's corpus is named


def test_shipped_reader_reads_printed_lines(fonts):
    from spacy_kexue.ocr.reader import OCRReader
    from spacy_kexue.ocr.render import render_line

    reader = OCRReader()
    assert reader.use_lm and reader.lm is not None
    for text, px in [("这家酒店的服务很好，早餐也不错。", 28), ("电视机的价格是1999元", 22)]:
        image, _ = render_line(text, fonts[0], font_px=px)
        assert reader.read(image).text == text
