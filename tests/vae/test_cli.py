"""``kexue vae evaluate / sample / reconstruct / interpolate`` and the training curves."""

from __future__ import annotations

import json

import pytest
import spacy
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.errors import DataFileError
from spacy_kexue.vae.curves import plot_curves, read_curve
from tests.vae.test_component import TEXTS, make_nlp, train

runner = CliRunner()


def log_line(step: int, kl: float, au: int) -> str:
    """A line as spacy.ConsoleLogger.v3 writes it (scores x 100)."""
    scores = {"vae_elbo": -500.0, "vae_rec": 0.0, "vae_kl": kl * 100, "vae_au": au * 100}
    return json.dumps({"epoch": 0, "step": step, "losses": {}, "scores": scores, "score": -5.0})


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("vae_cli")
    paths = {}
    for name, settings in (("vae", {}), ("lm", {"latent": 0})):
        nlp = make_nlp(**settings)
        train(nlp, n_iter=40)
        (root / name).mkdir()
        nlp.to_disk(root / name / "model-best")
        paths[name] = root / name / "model-best"
    (root / "vae" / "train_log.jsonl").write_text(
        "\n".join([log_line(0, 0.5, 1), log_line(250, 3.0, 4)]) + "\n", encoding="utf-8"
    )
    (root / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    paths["texts"] = root / "texts.txt"
    return paths


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_evaluate_prints_writes_json_and_plots(models, tmp_path):
    out, png = tmp_path / "scores.json", tmp_path / "curves.png"
    result = invoke(
        "vae", "evaluate", models["vae"], models["lm"], "--data", models["texts"],
        "--iw-samples", "5", "--json", out, "--plot", png,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text())
    assert set(scores) == {str(models["vae"]), str(models["lm"])}
    assert scores[str(models["vae"])]["au"] == 4 and scores[str(models["lm"])]["kl"] == 0.0
    assert str(models["vae"]) in result.output and "NLL" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_limit_and_bad_data(models, tmp_path):
    result = invoke("vae", "evaluate", models["vae"], "--data", models["texts"], "--limit", "2",
                    "--iw-samples", "2", "--json", tmp_path / "s.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "s.json").read_text())[str(models["vae"])]["docs"] == 2
    result = invoke("vae", "evaluate", models["vae"], "--data", tmp_path / "missing.txt")
    assert result.exit_code == 2 and "missing.txt: no such file" in result.output  # usage error


def test_sample_reconstruct_interpolate(models):
    result = invoke("vae", "sample", models["vae"], "-n", "3", "--max-length", "5")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3 and all(len(line) <= 5 for line in lines)
    assert invoke("vae", "sample", models["vae"], "-n", "3", "--max-length", "5").output == (
        result.output
    )  # seeded
    result = invoke("vae", "reconstruct", models["vae"], "这个很好", "太差了")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.output.splitlines()] == ["这个很好", "太差了"]
    result = invoke("vae", "interpolate", models["vae"], "这个很好", "太差了", "--steps", "3")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.output.splitlines()] == ["0.00", "0.50", "1.00"]


def test_language_model_has_no_codes_but_samples(models):
    result = invoke("vae", "reconstruct", models["lm"], "很好")
    assert result.exit_code == 1 and "no codes" in result.output
    assert invoke("vae", "sample", models["lm"], "-n", "2").exit_code == 0


def test_pipeline_without_vae_and_missing_pipeline(tmp_path):
    spacy.blank("zh").to_disk(tmp_path / "blank")
    result = invoke("vae", "sample", tmp_path / "blank")
    assert result.exit_code == 1 and "no kexue_vae" in result.output
    result = invoke("vae", "sample", tmp_path / "nowhere")
    assert result.exit_code == 1 and "cannot load the pipeline" in result.output


def test_read_curve_and_its_errors(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(log_line(0, 0.25, 2) + "\n\n" + log_line(10, 1.5, 3) + "\n", encoding="utf-8")
    assert read_curve(log) == {"step": [0, 10], "kl": [0.25, 1.5], "au": [2.0, 3.0]}
    log.write_text(log_line(0, 0.25, 2) + "\nnot json\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="line 2"):
        read_curve(log)
    log.write_text(json.dumps({"step": 1, "scores": {"vae_elbo": 1.0}}) + "\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="weight of 0"):
        read_curve(log)
    with pytest.raises(DataFileError, match="cannot read"):
        read_curve(tmp_path / "missing.jsonl")


def test_plot_curves_writes_a_png(tmp_path):
    curve = {"step": [0, 1], "kl": [0.1, 0.2], "au": [1, 2]}
    out = plot_curves({"a": curve, "b": curve}, tmp_path / "c.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
