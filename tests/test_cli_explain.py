"""``kexue explain`` (spacy_kexue.cli): prediction, top tokens and every token's saliency of
tiny trained pipelines, the HTML page, the method option, stdin, and its errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.saliency.component import DEFAULTS
from tests.saliency.conftest import parse, train_variant
from tests.tokenizer.conftest import single_torch_thread

runner = CliRunner()
TEXTS = ["这个很好", "太差了鑫", "非常满意质量糟糕"]


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    with single_torch_thread():
        yield


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Pipelines saved with ``nlp.to_disk``: a char BiLSTM textcat without saliency
    ("plain"), the same with a non-default kexue_saliency ("lstm_state"), a char CNN textcat
    ("cnn") and a pipeline without any kexue_textcat ("no_textcat")."""
    root = tmp_path_factory.mktemp("explain_models")
    lstm = train_variant("char_lstm")
    lstm.to_disk(root / "plain")
    with_saliency = pickle.loads(pickle.dumps(lstm))
    with_saliency.add_pipe("kexue_saliency", config={"state": "lstm"})
    with_saliency.to_disk(root / "lstm_state")
    train_variant("char_cnn").to_disk(root / "cnn")
    blank = spacy.blank("zh")
    blank.add_pipe("sentencizer")
    blank.to_disk(root / "no_textcat")
    return {name: root / name for name in ("plain", "lstm_state", "cnn", "no_textcat")}


def explain(*args: str, input: str | None = None):
    return runner.invoke(app, ["explain", *args], input=input)


def expected_lines(model: Path, texts: list[str], top: int = 5, **config) -> list[str]:
    """What ``kexue explain`` prints for ``texts``, from the same pipeline in-process."""
    nlp = spacy.load(model)
    if "kexue_saliency" not in nlp.pipe_names:
        nlp.add_pipe("kexue_saliency")
    if config:
        nlp.get_pipe("kexue_saliency").configure(**config)
    lines = []
    for doc in nlp.pipe(texts):
        label = max(doc.cats, key=doc.cats.get)
        lines.append(f"{label} {doc.cats[label]:.3f}  {doc.text}")
        top_tokens = "  ".join(f"{t.text}({t._.saliency:+.3f})" for t in doc._.salient(top))
        lines.append(f"  top {top}: {top_tokens}".rstrip())
        lines.append("  " + " ".join(f"{t.text}/{t._.saliency:+.3f}" for t in doc))
    return lines


def output_lines(result) -> list[str]:
    return [line.rstrip() for line in result.stdout.splitlines()]


def test_prediction_and_top_tokens(models):
    result = explain(*TEXTS, "--model", str(models["plain"]), "--top", "2")
    assert result.exit_code == 0, result.output
    assert output_lines(result) == [x.rstrip() for x in expected_lines(models["plain"], TEXTS, 2)]
    first = output_lines(result)[:2]
    assert first[0].startswith(("POSITIVE ", "NEGATIVE ")) and first[0].endswith("  这个很好")
    assert first[1].startswith("  top 2: ") and first[1].count("(") == 2


def test_uses_the_pipelines_own_saliency(models):
    nlp = spacy.load(models["lstm_state"])
    assert nlp.get_pipe("kexue_saliency").cfg == {**DEFAULTS, "state": "lstm"}
    result = explain(*TEXTS, "--model", str(models["lstm_state"]))
    assert result.exit_code == 0, result.output
    assert output_lines(result) == [x.rstrip() for x in expected_lines(models["lstm_state"], TEXTS)]
    # the default decision state gives other values
    assert output_lines(result) != [x.rstrip() for x in expected_lines(models["plain"], TEXTS)]


def test_html_page(models, tmp_path):
    out = tmp_path / "explain.html"
    text = "<script>alert(1)</script>很好"
    result = explain(text, "太差了", "--model", str(models["plain"]), "--html", str(out))
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stdout
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert "&lt;" in html
    assert parse(html).blocks == [text, "太差了"]  # the texts, as text


def test_method_occlusion(models):
    result = explain(*TEXTS, "--model", str(models["plain"]), "--method", "occlusion")
    assert result.exit_code == 0, result.output
    expected = expected_lines(models["plain"], TEXTS, method="occlusion")
    assert output_lines(result) == [x.rstrip() for x in expected]
    assert expected != expected_lines(models["plain"], TEXTS)


def test_method_occlusion_on_a_cnn_textcat(models):
    """The CNN encoder has no states, but occlusion needs none."""
    result = explain(*TEXTS, "--model", str(models["cnn"]), "--method", "occlusion")
    assert result.exit_code == 0, result.output
    assert len(output_lines(result)) == 3 * len(TEXTS)


def test_cnn_textcat_without_method_names_occlusion(models):
    result = explain(*TEXTS, "--model", str(models["cnn"]))
    assert result.exit_code == 1
    assert "occlusion" in result.output and "Traceback" not in result.output


def test_bad_method(models):
    result = explain("很好", "--model", str(models["plain"]), "--method", "bogus")
    assert result.exit_code == 1
    assert "method must be one of" in result.output and "'bogus'" in result.output


def test_pipeline_without_kexue_textcat(models):
    result = explain("很好", "--model", str(models["no_textcat"]))
    assert result.exit_code == 1
    assert "Error:" in result.output and "kexue_textcat" in result.output


def test_negative_top_is_a_clean_error(models):
    result = explain("很好", "--model", str(models["plain"]), "--top", "-1")
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "top" in result.output


def test_stdin(models):
    lines = ["这个很好", "", "太差了"]
    result = explain("-", "--model", str(models["plain"]), input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert output_lines(result) == [x.rstrip() for x in expected_lines(models["plain"], lines)]
    assert output_lines(result)[3].startswith(("POSITIVE ", "NEGATIVE "))  # the empty line


def test_neighbours_by_document_vector():
    """With the shipped pipeline, each text's nearest other text is the one whose BN-VAE
    vector is most similar (doc._.vae_similarity, computed in-process)."""
    texts = ["这家酒店服务很好，早餐也丰富", "手机电池太差了，不推荐", "酒店的房间很干净，服务周到"]
    result = explain("-", "--neighbours", "1", input="\n".join(texts) + "\n")
    assert result.exit_code == 0, result.output
    nearest = [line for line in result.stdout.splitlines() if "nearest (" in line]
    assert len(nearest) == len(texts)
    docs = list(spacy.load("zh_kexue_sm").pipe(texts))
    for i, (doc, line) in enumerate(zip(docs, nearest, strict=True)):
        others = [j for j in range(len(docs)) if j != i]
        best = max(others, key=lambda j: doc._.vae_similarity(docs[j]))
        assert line.endswith(texts[best])
        assert f"{doc._.vae_similarity(docs[best]):+.3f}" in line


def test_neighbours_need_a_vae(models):
    result = explain(TEXTS[0], TEXTS[1], "--model", str(models["plain"]), "--neighbours", "1")
    assert result.exit_code == 1
    assert "kexue_vae" in result.stderr
