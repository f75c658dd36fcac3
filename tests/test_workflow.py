"""The root project.yml: its workflows, its assets, the smoke workflow run for real, and the
step that writes the package's meta.json performance and model card (benchmarks/pipeline.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from pipeline import performance, write_meta

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def project() -> dict:
    return srsly.read_yaml(REPO / "project.yml")


def test_every_workflow_step_is_a_command(project):
    names = {cmd["name"] for cmd in project["commands"]}
    for workflow, steps in project["workflows"].items():
        assert steps, workflow
        missing = [step for step in steps if step not in names]
        assert not missing, f"workflow {workflow} runs unknown commands {missing}"


def test_all_rebuilds_every_shipped_part_and_packages_it(project):
    steps = project["workflows"]["all"]
    for step in ("train-segmenter", "train-sentiment", "train-vae", "train-ocr", "package"):
        assert step in steps
    # each step comes after what it consumes
    order = {step: i for i, step in enumerate(steps)}
    assert order["train-segmenter"] < order["assemble-tokenizer"] < order["convert-sentiment"]
    assert order["convert-sentiment"] < order["train-sentiment"] < order["assemble"]
    assert order["train-vae"] < order["assemble"] < order["evaluate"] < order["package"]
    assert (
        order["build-ocr-lm"] < order["package-ocr"] and order["train-ocr"] < order["package-ocr"]
    )
    assert not any(step.startswith("benchmark") for step in steps), "benchmarks stay out of all"


def test_sentiment_and_vae_tokenize_with_the_new_segmenter(project):
    """`all` must not lean on the installed zh_kexue_sm: it is what `all` rebuilds."""
    commands = {cmd["name"]: cmd for cmd in project["commands"]}
    for name in ("convert-sentiment", "train-sentiment", "train-vae"):
        for line in commands[name]["script"]:
            assert "training/tokenizer" in line, (name, line)


def test_data_assets_have_checksums_that_match_the_local_copies(project, data_dir):
    data_assets = [a for a in project["assets"] if "${vars.data_dir}" in a["dest"]]
    assert len(data_assets) >= 8
    for asset in data_assets:
        path = Path(asset["dest"].replace("${vars.data_dir}", str(data_dir)))
        assert "url" not in asset, f"{asset['dest']}: a download would overwrite the local copy"
        digest = hashlib.md5(path.read_bytes()).hexdigest()
        assert digest == asset["checksum"], asset["dest"]
        assert asset["description"]
    extras = [a for a in project["assets"] if a.get("extra")]
    assert extras and all(a["url"].startswith("http") for a in extras)


def _evaluation() -> dict:
    return {
        "model": "training/zh_kexue_sm",
        "commit": "0123abc",
        "date": "2026-11-24",
        "tokenizer": {
            "pku_p": 0.884,
            "pku_r": 0.898,
            "pku_f": 0.891,
            "pku_oov_recall": 0.72,
            "pku_iv_recall": 0.909,
            "ud_f": 0.798,
        },
        "textcat": {"cats_accuracy": 0.914, "cats_macro_f": 0.9139, "n": 3000},
        "vae": {
            "vae_nll": 165.8,
            "vae_ppl": 76.7,
            "vae_kl": 16.77,
            "vae_mi": 6.7,
            "vae_au": 32,
            "vae_n": 1000,
        },
        "speed": {"chars_per_s": 13677.0, "docs_per_s": 154.0},
    }


def test_meta_and_model_card_carry_the_evaluation(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"lang": "zh", "name": "x", "pipeline": []}))
    meta = write_meta(
        tmp_path,
        _evaluation(),
        REPO / "configs" / "meta_zh_kexue_sm.json",
        REPO / "configs" / "zh_kexue_sm_card.md",
    )
    assert meta["name"] == "kexue_sm"  # the base meta wins over what assemble wrote
    assert meta["pipeline"] == []  # ... and keeps what only assemble knows
    saved = json.loads((tmp_path / "meta.json").read_text())
    assert saved["performance"] == performance(_evaluation())
    assert saved["performance"]["token_f"] == 0.891
    assert saved["performance"]["cats_accuracy"] == 0.914
    card = (tmp_path / "README.md").read_text()
    assert "| 0.891 |" in card and "91.40%" in card and "16.77 / 6.70 / 32" in card
    assert "`0123abc`" in card and "3000 reviews" in card and "13,677" in card
    assert "{" not in card, "a placeholder was left unfilled"


def test_model_card_refuses_a_number_the_evaluation_lacks(tmp_path):
    (tmp_path / "meta.json").write_text("{}")
    card = tmp_path / "card.md"
    card.write_text("F1 {token_f:.3f}, BLEU {bleu}\n")
    with pytest.raises(KeyError, match="bleu"):
        write_meta(tmp_path, _evaluation(), REPO / "configs" / "meta_zh_kexue_sm.json", card)


def test_smoke_workflow_trains_assembles_evaluates_and_packages(tmp_path, data_dir):
    """`spacy project run smoke`, for real, in a copy of the project (nothing shipped changes)."""
    for name in ("project.yml", "configs", "benchmarks"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("results"))
        else:
            shutil.copy(source, tmp_path / name)
    cmd = [sys.executable, "-m", "spacy", "project", "run", "smoke", str(tmp_path)]
    cmd += ["--vars.data_dir", str(data_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    training = tmp_path / "training" / "smoke"

    nlp = spacy.load(training / "zh_kexue_sm")
    assert nlp.pipe_names == ["sentencizer", "textcat", "saliency", "vae"]
    doc = nlp("这家酒店服务很好，早餐也丰富")
    assert doc.text == "这家酒店服务很好，早餐也丰富"
    assert set(doc.cats) == {"POSITIVE", "NEGATIVE"}
    assert doc._.vae_vector.shape == (4,)  # the smoke VAE's latent size

    evaluation = json.loads((training / "pipeline.json").read_text())
    assert evaluation["limit"] == 50 and evaluation["textcat"]["n"] == 50
    package = training / "packages" / "zh_kexue_sm-0.1.0"
    meta = json.loads((package / "meta.json").read_text())
    assert meta["performance"]["token_f"] == evaluation["tokenizer"]["pku_f"]
    assert "spacy-kexue==0.1.0" in meta["requirements"]
    assert f"| {evaluation['tokenizer']['pku_f']:.3f} |" in (package / "README.md").read_text()
    assert (training / "ocr" / "recognizer" / "weights.safetensors").is_file()
    assert (training / "ocr" / "lm.npz").is_file()


def test_readme_documents_every_command_and_workflow(project):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = [cmd["name"] for cmd in project["commands"]] + list(project["workflows"])
    undocumented = [
        name
        for name in names
        if f"`{name}`" not in readme and f"`spacy project run {name}`" not in readme
    ]
    assert not undocumented, f"README.md does not mention {undocumented}"


def test_the_package_requires_the_spacy_kexue_it_was_built_with(project):
    import spacy_kexue

    base = json.loads((REPO / "configs" / "meta_zh_kexue_sm.json").read_text())
    assert f"spacy-kexue=={spacy_kexue.__version__}" in base["requirements"]
    assert project["vars"]["version"] == base["version"] == spacy_kexue.__version__
