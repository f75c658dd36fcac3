"""OCRReader: reading rendered lines and pages, boxes, the width rule, Docs, serialisation and
every kind of bad input (with the tiny recogniser of conftest.py)."""

import io
import json
import pickle

import numpy as np
import pytest

from spacy_kexue.ocr.imageio import ImageError
from spacy_kexue.ocr.layout import Box
from tests.ocr.conftest import CHARS

pytest.importorskip("torch")
PIL = pytest.importorskip("PIL.Image")

from spacy_kexue.ocr.reader import (  # noqa: E402
    OCRReader,
    ReaderError,
    build_ocr_reader,
    cell_width,
    register_extensions,
)
from spacy_kexue.ocr.render import render_line  # noqa: E402

LINES = ["中国人是大的", "我以为他要在这个国", "一个人"]


@pytest.fixture(scope="module")
def reader(tiny_recognizer):
    return OCRReader(tiny_recognizer[0], None, use_lm=False)


@pytest.fixture(scope="module")
def font(fonts):
    return fonts[0]


def page(font, lines, px=28, gap=20):
    """A white page with ``lines`` stacked, dark ink."""
    images = [render_line(t, font, font_px=px, padding=6)[0] for t in lines]
    width = max(im.shape[1] for im in images) + 20
    rows = []
    for im in images:
        rows.append(np.pad(im, ((0, gap), (10, width - im.shape[1] - 10)), constant_values=255))
    return np.concatenate(rows)


@pytest.mark.parametrize("px", [16, 24, 36])
def test_reads_rendered_lines(reader, font, px):
    for text in LINES:
        image, boxes = render_line(text, font, font_px=px, box="ink")
        result = reader.read(image)
        assert result.text == text
        assert len(result.lines) == 1 and len(result.chars) == len(text)
        for char, truth in zip(result.chars, boxes, strict=True):
            assert all(abs(a - b) <= 1 for a, b in zip(char.box, truth, strict=True))
            assert 0.0 < char.confidence <= 1.0
        assert result.size == (image.shape[1], image.shape[0])


def test_reads_a_page_line_by_line(reader, font):
    image = page(font, LINES)
    result = reader.read(image)
    assert result.text == "\n".join(LINES)
    tops = [line.box[1] for line in result.lines]
    assert tops == sorted(tops)
    assert len(result.char_boxes()) == len(result.text)
    assert [b is None for b in result.char_boxes()].count(True) == len(LINES) - 1


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "RGB", "LA"])
def test_every_image_mode_reads_the_same(reader, font, mode, tmp_path):
    image, _ = render_line(LINES[1], font, font_px=28)
    pil = PIL.fromarray(image)
    if mode == "I;16":
        pil = PIL.fromarray(image.astype(np.uint16) * 257)
    else:
        pil = pil.convert(mode)
    path = tmp_path / "line.png"
    pil.save(path)
    assert reader.read(path).text == LINES[1]
    assert reader.read(pil).text == LINES[1]


def test_coloured_and_inverted_backgrounds(reader, font):
    text = LINES[0]
    dark_on_colour, _ = render_line(text, font, font_px=28, fg=(20, 40, 120), bg=(250, 230, 160))
    light_on_dark, _ = render_line(text, font, font_px=28, fg=255, bg=30)
    assert reader.read(dark_on_colour).text == text
    assert reader.read(light_on_dark).text == text


def test_images_without_text_give_an_empty_result(reader):
    for blank in (
        np.full((60, 200), 255, np.uint8),
        np.zeros((60, 200, 3), np.uint8),
        np.full((1, 1), 255, np.uint8),
        np.full((1, 300), 0, np.uint8),
    ):
        result = reader.read(blank)
        assert result.text == "" and result.lines == [] and result.chars == []


def test_bad_input_gives_clear_errors(reader, font, tmp_path):
    not_image = tmp_path / "notes.png"
    not_image.write_text("这不是图片", encoding="utf-8")
    with pytest.raises(ImageError, match="notes.png"):
        reader.read(not_image)
    image, _ = render_line(LINES[0], font, font_px=28)
    buffer = io.BytesIO()
    PIL.fromarray(image).save(buffer, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated.png"):
        reader.read(truncated)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png"):
        reader.read(empty)
    with pytest.raises(ImageError):
        reader.read(tmp_path / "missing.png")
    with pytest.raises(ImageError):
        reader.read(np.zeros((0, 10), np.uint8))


def test_pixel_limit_refuses_huge_images(tiny_recognizer, tmp_path):
    small = OCRReader(tiny_recognizer[0], None, use_lm=False, max_pixels=10_000)
    path = tmp_path / "big.png"
    PIL.new("L", (200, 200), 255).save(path)
    with pytest.raises(ImageError, match="pixel"):
        small.read(path)
    with pytest.raises(ImageError, match="pixel"):
        small.read(np.zeros((200, 200), np.uint8))


def test_cell_width_and_width_rule():
    em = 20.0
    # a comma with a wide gap after it (full-width cell) between two ideographs
    boxes = [Box(0, 0, 19, 20), Box(22, 14, 26, 22), Box(40, 0, 59, 20)]
    assert cell_width(boxes, 1, em) == pytest.approx((4 + 3 + 14) / 20)
    assert cell_width(boxes, 0, em) is None and cell_width(boxes, 2, em) is None
    rule = OCRReader._width_rule
    cands = [(",", 0.6), ("，", 0.3), ("。", 0.1)]
    assert rule(cands, 1.05)[0] == ("，", pytest.approx(0.9))
    assert rule(cands, 0.4)[0] == (",", pytest.approx(0.9))
    assert rule(cands, 0.75) == cands  # undecided: the recogniser's choice stands
    assert rule(cands, None) == cands
    assert rule([("（", 1.0)], 0.3) == [("(", 1.0)]


def test_reader_settings_are_checked(tiny_recognizer):
    with pytest.raises(ReaderError):
        OCRReader(tiny_recognizer[0], None, top_k=0)
    with pytest.raises(ReaderError):
        OCRReader(tiny_recognizer[0], None, lm_weight=float("nan"))


def test_to_disk_pickle_and_config_round_trips(reader, font, tmp_path):
    image, _ = render_line(LINES[1], font, font_px=28)
    reader.to_disk(tmp_path / "reader")
    loaded = OCRReader.from_disk(tmp_path / "reader")
    assert loaded.settings() == reader.settings()
    assert loaded.read(image).text == LINES[1]
    assert pickle.loads(pickle.dumps(reader)).read(image).text == LINES[1]
    built = build_ocr_reader(str(tmp_path / "reader" / "recognizer"), None, use_lm=False)
    assert built.read(image).text == LINES[1]
    (tmp_path / "reader" / "reader.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReaderError, match="reader.json"):
        OCRReader.from_disk(tmp_path / "reader")
    with pytest.raises(ReaderError, match="reader.json"):
        OCRReader.from_disk(tmp_path / "nowhere")


def test_reader_errors_are_data_file_errors_naming_the_file(reader, tmp_path):
    from spacy_kexue.errors import DataFileError
    from spacy_kexue.integrity import sha256_bytes

    assert issubclass(ReaderError, DataFileError)
    folder = tmp_path / "reader"
    reader.to_disk(folder)
    settings_file, lm_file = folder / "reader.json", folder / "lm.npz"
    assert not lm_file.exists() and "lm_sha256" not in json.loads(settings_file.read_text())
    settings_file.write_text(json.dumps({"top_k": 0}))
    with pytest.raises(ReaderError, match="top_k") as err:
        OCRReader.from_disk(folder)
    assert err.value.path == settings_file
    settings_file.write_text(json.dumps({"lm_sha256": sha256_bytes(b"")}))
    with pytest.raises(ReaderError, match="records its checksum") as err:
        OCRReader.from_disk(folder)
    assert err.value.path == lm_file
    settings_file.unlink()
    with pytest.raises(ReaderError, match="missing") as err:
        OCRReader.from_disk(folder)
    assert err.value.path == settings_file


def test_config_file_builds_the_reader(reader, font, tmp_path):
    from spacy_kexue.ocr.reader import load_reader_config

    reader.recognizer.to_disk(tmp_path / "rec")
    cfg = tmp_path / "ocr.cfg"
    cfg.write_text(
        '[paths]\nrecognizer = null\n\n[reader]\n@misc = "spacy_kexue.OCRReader.v1"\n'
        "recognizer = ${paths.recognizer}\nlm = null\nuse_lm = false\n\n"
        '[reader.layout]\n@misc = "spacy_kexue.ProjectionLayout.v1"\nmin_line_height = 4\n',
        encoding="utf-8",
    )
    built = load_reader_config(cfg, {"paths.recognizer": str(tmp_path / "rec")})
    image, _ = render_line(LINES[0], font, font_px=28)
    assert built.read(image).text == LINES[0]
    assert built.layout.min_line_height == 4


def test_texts_feed_nlp_pipe(reader, font):
    images = [render_line(t, font, font_px=28)[0] for t in LINES]
    assert list(reader.texts(images)) == LINES


def _blank_nlp():
    import spacy

    return spacy.blank("xx")


def test_to_doc_boxes_survive_docbin(reader, font):
    from spacy.tokens import DocBin

    nlp = _blank_nlp()
    image = page(font, LINES[:2])
    doc = reader.to_doc(nlp, image)
    assert doc.text == "\n".join(LINES[:2])
    assert len(doc._.ocr["char_boxes"]) == len(doc.text)
    token = doc[0]
    boxes = [b for b in doc._.ocr["char_boxes"][token.idx : token.idx + len(token)] if b]
    assert token._.bbox == [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    data = DocBin(docs=[doc], store_user_data=True).to_bytes()
    back = next(DocBin().from_bytes(data).get_docs(nlp.vocab))
    # msgpack gives tuples for lists: the same values
    assert json.loads(json.dumps(back._.ocr)) == json.loads(json.dumps(doc._.ocr))
    assert [t._.bbox for t in back] == [t._.bbox for t in doc]


def test_docs_with_two_processes(reader, font):
    register_extensions()
    nlp = _blank_nlp()
    images = [render_line(t, font, font_px=28)[0] for t in LINES]
    docs = list(reader.docs(nlp, images, n_process=2, batch_size=1))
    assert [d.text for d in docs] == LINES
    assert all(d._.ocr["text"] == d.text for d in docs)
    assert docs[2][0]._.bbox is not None


def test_tiny_charset_is_what_the_fixture_trained(tiny_recognizer):
    assert "".join(tiny_recognizer[0].charset.chars) == CHARS


def test_marks_of_the_other_width_are_demoted():
    rule = OCRReader._width_rule
    # a full cell: an ASCII mark without a look-alike drops below the full-width one
    assert rule([(".", 0.6), ("。", 0.4)], 1.0)[0][0] == "。"
    assert rule([(".", 0.6), ("。", 0.4)], 0.4)[0][0] == "."
    assert rule([("、", 0.6), (".", 0.4)], 0.4)[0][0] == "."
    # letters and ideographs are never demoted
    assert rule([("l", 0.6), ("丨", 0.4)], 1.0)[0][0] == "l"


def test_line_end_marks_follow_their_neighbour():
    from spacy_kexue.ocr.reader import _room_from_neighbour

    raw = [[("好", 0.9)], [(",", 0.5), ("，", 0.5)]]
    assert _room_from_neighbour(raw, 1) == 1.0  # after an ideograph: full width
    assert OCRReader._width_rule(raw[1], _room_from_neighbour(raw, 1))[0][0] == "，"
    raw = [[("9", 0.9)], [("，", 0.6), (",", 0.4)]]
    assert _room_from_neighbour(raw, 1) == 0.0  # after a digit: ASCII
    assert OCRReader._width_rule(raw[1], 0.0)[0][0] == ","
    assert _room_from_neighbour([[("，", 1.0)]], 0) is None  # nothing beside it


def test_min_ratio_one_leaves_the_recogniser_alone(tiny_recognizer, font):
    from spacy_kexue.ocr.lm import BigramLM

    # an LM that has only ever seen 大大大: with a heavy weight it rewrites the line
    lm = BigramLM.build(["大大大大大大"] * 50, charset=CHARS)
    image, _ = render_line(LINES[1], font, font_px=28)
    plain = OCRReader(tiny_recognizer[0], None, use_lm=False).read(image).text
    pushed = OCRReader(tiny_recognizer[0], lm, lm_weight=50.0, top_k=20).read(image).text
    gated = OCRReader(tiny_recognizer[0], lm, lm_weight=50.0, top_k=20, min_ratio=1.0)
    assert plain == LINES[1]
    assert pushed != plain
    assert gated.read(image).text == plain
    with pytest.raises(ReaderError):
        OCRReader(tiny_recognizer[0], lm, min_ratio=1.5)


def test_shipped_config_resolves(tiny_recognizer, font, tmp_path):
    from pathlib import Path

    from spacy_kexue.ocr.layout import ProjectionChars, ProjectionLines
    from spacy_kexue.ocr.reader import load_reader_config

    tiny_recognizer[0].to_disk(tmp_path / "rec")
    cfg = Path(__file__).resolve().parents[2] / "configs" / "ocr.cfg"
    reader = load_reader_config(cfg, {"paths.recognizer": str(tmp_path / "rec"), "paths.lm": None})
    assert isinstance(reader.layout.line_finder, ProjectionLines)
    assert isinstance(reader.layout.char_splitter, ProjectionChars)
    assert reader.lm is None and reader.lm_weight == 0.75
    image, _ = render_line(LINES[2], font, font_px=28)
    assert reader.read(image).text == LINES[2]
