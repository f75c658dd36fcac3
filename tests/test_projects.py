"""The example projects under projects/: each smoke workflow runs on a copy and writes real outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECTS = Path(__file__).resolve().parent.parent / "projects"
OUTPUTS = ("corpus", "training", "metrics", "project.lock")


def copy_project(name: str, tmp_path: Path) -> Path:
    """A clean copy of projects/NAME (without outputs of earlier runs)."""
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns(*OUTPUTS))
    return target


def run(cmd: list[str], cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def run_smoke(project: Path, data_dir: Path) -> None:
    proc = run(
        [
            sys.executable,
            "-m",
            "spacy",
            "project",
            "run",
            "smoke",
            str(project),
            "--vars.data_dir",
            str(data_dir),
        ],
        cwd=project,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("name", ["sentiment_ablation", "ocr_to_sentiment"])
def test_project_is_self_contained(name):
    """No project reaches into the repository outside its folder (data goes through data_dir)."""
    root = PROJECTS / name
    assert (root / "project.yml").exists() and (root / "README.md").exists()
    text = (root / "project.yml").read_text(encoding="utf-8")
    assert 'data_dir: "../../../shared/data"' in text
    for path in [root / "project.yml", *root.glob("scripts/*.py")]:
        source = path.read_text(encoding="utf-8")
        assert "benchmarks" not in source, path
        assert "../../configs" not in source, path
        assert '- "kexue ' not in source and '"kexue"' not in source, path
    ignored = (root / ".gitignore").read_text(encoding="utf-8").split()
    assert {"corpus/", "training/", "metrics/", "project.lock"} <= set(ignored)


def test_sentiment_ablation_smoke(tmp_path, data_dir):
    project = copy_project("sentiment_ablation", tmp_path)
    run_smoke(project, data_dir)
    result = json.loads((project / "metrics" / "ablation_smoke.json").read_text(encoding="utf-8"))
    assert result["n_test"] == 200
    expected = {
        f"{g} / {loss}"
        for g in ("char-onehot", "char", "word")
        for loss in ("cross-entropy", "threshold")
    }
    assert set(result["cells"]) == expected
    for key, cell in result["cells"].items():
        assert 0.0 <= cell["accuracy_mean"] <= 1.0, key
        assert 0.0 <= cell["macro_f1_mean"] <= 1.0, key
        assert len(cell["runs"]) == 1
        granularity, loss = key.split(" / ")
        config = (
            project
            / "training"
            / "smoke"
            / f"{granularity}-{loss}-s0"
            / "model-best"
            / "config.cfg"
        ).read_text(encoding="utf-8")
        registered = "CrossEntropy.v1" if loss == "cross-entropy" else "ThresholdLoss.v1"
        assert f'@losses = "spacy_kexue.{registered}"' in config, key
    assert result["cells"]["char / cross-entropy"]["reported_accuracy"] == pytest.approx(0.8955)
    assert "| granularity | loss |" in result["table"]


def check_ocr_records(path: Path, images: list[str]) -> None:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["image"] for r in records] == images
    for r in records:
        assert r["text"].strip() and r["tokens"], r["image"]
        rebuilt = "".join(
            t + (" " if s else "") for t, s in zip(r["tokens"], r["spaces"], strict=True)
        )
        assert rebuilt == r["text"], r["image"]
        assert set(r["cats"]) == {"POSITIVE", "NEGATIVE"}
        assert sum(r["cats"].values()) == pytest.approx(1.0, abs=1e-4)
        assert 1 <= len(r["salient"]) <= 3
        assert all(tok in r["tokens"] and isinstance(s, float) for tok, s in r["salient"])
        assert 0.0 < r["ocr_confidence"] <= 1.0


def test_ocr_to_sentiment_smoke_and_rejects(tmp_path, data_dir):
    project = copy_project("ocr_to_sentiment", tmp_path)
    run_smoke(project, data_dir)
    smoke = project / "corpus" / "smoke"
    images = sorted(p.name for p in (smoke / "images").glob("*.png"))
    assert len(images) == 3
    check_ocr_records(smoke / "ocr.jsonl", images)
    assert (smoke / "ocr.rejects.jsonl").read_text(encoding="utf-8") == ""
    metrics = json.loads(
        (project / "metrics" / "ocr_to_sentiment_smoke.json").read_text(encoding="utf-8")
    )
    assert metrics["n_read"] == 3
    assert 0.0 <= metrics["cer"] < 0.2  # clean renders in an allowed font
    assert 0.0 <= metrics["sentiment_agreement"] <= 1.0

    # A corrupt image is rejected with its name and reason; the others are still written.
    (smoke / "images" / "0001_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    out = tmp_path / "out" / "ocr.jsonl"
    proc = run(
        [sys.executable, "scripts/ocr_to_jsonl.py", str(smoke / "images"), str(out)], cwd=project
    )
    assert proc.returncode == 1, proc.stderr
    assert "0001_corrupt.png" in proc.stderr
    check_ocr_records(out, images)
    rejects = [
        json.loads(line) for line in out.with_suffix(".rejects.jsonl").read_text().splitlines()
    ]
    assert [r["image"] for r in rejects] == ["0001_corrupt.png"]
    assert rejects[0]["reason"]
