"""benchmarks/report.py: the markdown report built from the committed benchmark results."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def _load_module():
    spec = importlib.util.spec_from_file_location("report", REPO / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _load_module()


def _json(name: str) -> dict:
    return json.loads((RESULTS / name).read_text("utf-8"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not RESULTS.is_dir():
        pytest.skip("benchmarks/results not present")
    out = tmp_path_factory.mktemp("report")
    path = report.build_report(RESULTS, out)
    return out, path, path.read_text("utf-8")


def test_report_has_every_section(built):
    out, path, text = built
    assert path == out / "REPORT.md"
    assert text.startswith("# Benchmark report")
    for heading in (
        "## Segmentation\n",
        "## Segmentation, closed track",
        "## Sentiment\n",
        "## Sentiment, shipped pipeline",
        "## Saliency",
        "## VAE",
        "## OCR",
        "## Plots",
    ):
        assert heading in text, heading
    assert "is missing" not in text
    assert "Code commit: `" in text
    assert "- Date: " in text


def test_report_stores_commands(built):
    _, _, text = built
    for name in report.RESULT_FILES:
        path = RESULTS / name
        if path.exists() and _json(name).get("command"):
            assert f"`{_json(name)['command']}`" in text


def test_segmentation_numbers(built):
    _, _, text = built
    data = _json("segmentation.json")
    kexue = next(r for r in data["rows"] if r["system"] == "kexue")
    assert f"| kexue | {kexue['pku_p']:.3f} | {kexue['pku_r']:.3f} | {kexue['pku_f']:.3f} |" in text
    assert f"{kexue['chars_per_s']:,.0f}" in text
    for row in data["rows"]:
        assert f"| {row['system']} | {row['pku_p']:.3f} |" in text
        assert f"{row['ud_f']:.3f}" in text
    for name, value in data["throughput"].items():
        assert f"| {name} | {value:,.0f} |" in text
    closed = _json("segmentation_closed.json")["rows"][0]
    assert f"| {closed['system']} | {closed['pku_p']:.3f} | {closed['pku_r']:.3f} |" in text


def test_sentiment_numbers(built):
    _, _, text = built
    data = _json("sentiment.json")
    for name, cell in data["cells"].items():
        encoder, _, loss = name.partition(" / ")
        acc = f"{cell['accuracy_mean']:.4f}"
        if len(cell["seeds"]) > 1:
            acc += f" ± {cell['accuracy_std']:.4f}"
        assert f"| {encoder} | {loss} | {len(cell['seeds'])} | {acc} |" in text
    for name, peer in data["peers"].items():
        assert f"| {name} | {peer['accuracy']:.4f} | {peer['macro_f1']:.4f} |" in text
    shipped = _json("sentiment_shipped.json")
    for peer in shipped["peers"].values():
        assert f"| {peer['docs_per_second']:.0f} |" in text


def test_saliency_numbers(built):
    _, _, text = built
    data = _json("saliency.json")
    for name, method in data["methods"].items():
        drop = method["drop"]
        assert (
            f"| {name} | {drop['1']:.4f} | {drop['3']:.4f} | {drop['5']:.4f} | "
            f"{method['aopc']:.4f} |" in text
        )
    summary = data["summary"]
    assert f"| drop k=3 vs occlusion | {summary['default_vs_occlusion_drop_k3']:.1%} |" in text
    assert f"| pipeline slowdown | {summary['pipeline_slowdown']:.1%} |" in text


def test_vae_numbers(built):
    _, _, text = built
    data = _json("vae.json")
    for name, r in data["generative"].items():
        assert (
            f"| {name} | {r['latent']} | {r['nll']:.2f} | {r['ppl']:.2f} | {r['neg_elbo']:.2f} | "
            f"{r['rec']:.2f} | {r['kl']:.2f} | {r['mi']:.2f} | {r['au']} |" in text
        )
    for name, r in data["probes"].items():
        assert f"| {name} | {r['category']:.4f} | {r['sentiment']:.4f} |" in text
    for t in data["targets"]:
        assert f"| {t['target']} | {t['ours']:.4f} | {t['reference']:.4f} |" in text


def test_ocr_numbers(built):
    _, _, text = built
    data = _json("ocr.json")
    for set_name, row in data["sets"].items():
        for engine, s in row.items():
            assert (
                f"| {set_name} | {engine} | {100 * s['cer']:.2f}% | {s['exact']:.1%} | "
                f"{s['chars_per_s']:.0f} |" in text
            )


def test_plots_are_valid_pngs(built):
    out, _, text = built
    names = [report.SEGMENTATION_PLOT, report.SENTIMENT_PLOT, report.OCR_PLOT]
    if (RESULTS / report.VAE_CURVES).exists():
        names.append(report.VAE_CURVES)
    for name in names:
        path = out / name
        assert path.exists(), name
        assert f"({name})" in text, name
        with Image.open(path) as image:
            assert image.format == "PNG"
            image.verify()


def test_missing_files_are_reported(tmp_path):
    if not (RESULTS / "ocr.json").exists():
        pytest.skip("benchmarks/results/ocr.json not present")
    results = tmp_path / "results"
    results.mkdir()
    shutil.copyfile(RESULTS / "ocr.json", results / "ocr.json")
    path = report.build_report(results, tmp_path / "out")
    text = path.read_text("utf-8")
    for name in report.RESULT_FILES:
        if name != "ocr.json":
            assert f"`{name}` is missing" in text, name
    assert "## OCR" in text
    assert "is missing" not in text.split("## OCR")[1].split("\n## ")[0]
    assert (tmp_path / "out" / report.OCR_PLOT).exists()
    assert not (tmp_path / "out" / report.SEGMENTATION_PLOT).exists()
    assert not (tmp_path / "out" / report.VAE_CURVES).exists()


def test_missing_results_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        report.build_report(tmp_path / "nope", tmp_path / "out")
    with pytest.raises(SystemExit):
        report.main(["--results", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_pipeline_section_shows_the_evaluation(built):
    _, _, text = built
    data = _json("pipeline.json")
    assert "## The shipped pipeline on held-out data" in text
    seg = data["tokenizer"]
    assert f"{seg['pku_p']:.3f} / {seg['pku_r']:.3f} / {seg['pku_f']:.3f}" in text
    assert f"{data['vae']['vae_kl']:.2f}" in text


def test_run_log_gives_each_step_its_wall_time(tmp_path):
    log = tmp_path / "all_run.log"
    log.write_text(
        "100\t\x1b[38;5;4mℹ Running workflow 'all'\x1b[0m\n"
        "100\t\x1b[1m\n"
        "100\t================ prepare-raw ================\x1b[0m\n"
        "102\tWrote 14484 lines\n"
        "103\t============== train-segmenter ==============\n"
        "700\tstep 2500\n"
        "760\t=================== package ===================\n"
        "790\tdone\n",
        encoding="utf-8",
    )
    (tmp_path / "all_run.status").write_text("rc=0 seconds=690 commit=abc123\n")
    run = report.read_run_log(log)
    assert run["steps"] == [
        {"step": "prepare-raw", "seconds": 3},
        {"step": "train-segmenter", "seconds": 657},
        {"step": "package", "seconds": 30},
    ]
    text = report.section_run(run, log.name)
    assert "exit code 0" in text and "`abc123`" in text and "0 h 11 min 30 s" in text
    assert "| train-segmenter | 10 min 57 s |" in text


def test_run_log_with_a_bad_line_names_it(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("100\tok\nnot a stamp\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"run.log:2"):
        report.read_run_log(log)


def test_results_without_a_command_are_attributed_to_their_project_command():
    written_by = report.project_outputs()
    assert written_by["segmentation.json"].startswith("benchmark-segmenter: python benchmarks/")
    assert written_by["pipeline.json"].startswith("evaluate: python benchmarks/pipeline.py")


def test_missing_run_log_says_how_to_make_one(tmp_path):
    path = report.build_report(RESULTS, tmp_path / "out", tmp_path / "all_run.log")
    text = path.read_text("utf-8")
    assert "run_workflow.sh all" in text and "No run log" in text


def test_pipe_section_shows_each_run(built):
    _, _, text = built
    data = _json("pipe.json")
    assert "## Corpus runs: `kexue pipe`" in text
    for row in data["rows"]:
        assert f"| {row['config']} | {row['size']:,} | {row['seconds']:.1f} |" in text


def test_robustness_section_shows_each_system(built):
    _, _, text = built
    data = _json("robustness.json")
    assert "## Odd and hostile text" in text
    for row in data["rows"]:
        hostile = row["hostile"]
        assert f"| {row['system']} | kept {hostile['kept']}, changed {hostile['changed']}" in text
