"""The summary of benchmarks/sentiment_ood.py (pure functions over the per-fold results)."""

from __future__ import annotations

import importlib.util
import sys
import unicodedata

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))  # the script imports its sibling sentiment.py
    try:
        path = REPO / "benchmarks" / "sentiment_ood.py"
        spec = importlib.util.spec_from_file_location("bench_sentiment_ood", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return module


def columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def cell(accuracy: float) -> dict:
    coverage = {
        "1.0": {"coverage": 1.0, "accuracy": accuracy},
        "0.9": {"coverage": 0.9, "accuracy": accuracy + 0.02},
        "0.8": {"coverage": 0.8, "accuracy": accuracy + 0.04},
    }
    return {"accuracy": accuracy, "coverage": coverage, "docs_per_second": 100.0}


def test_summary_compares_each_variant_with_the_best_stock_route(bench):
    results = {
        "书籍": {"ours": cell(0.90), "spacy-ensemble": cell(0.88), "spacy-bow": cell(0.85)},
        "酒店": {"ours": cell(0.80), "spacy-ensemble": cell(0.84), "spacy-bow": cell(0.83)},
        "水果": {"ours": cell(0.95)},  # a fold the peers have not finished is left out
    }
    summary = bench.summarise(results, ["ours", "spacy-ensemble", "spacy-bow"])
    assert summary["ours"]["folds"] == 3
    assert summary["ours"]["mean_accuracy"] == pytest.approx((0.90 + 0.80 + 0.95) / 3)
    assert summary["spacy-bow"]["mean_by_coverage"]["0.8"] == pytest.approx(0.88)
    against = summary["ours"]["against_best_peer"]
    assert against["peer"] == "spacy-ensemble"
    assert against["folds"] == 2 and against["folds_ahead"] == 1
    assert against["margin_points"] == pytest.approx(100 * (0.85 - 0.86))
    report = bench.format_report(
        results, summary, ["ours", "spacy-ensemble", "spacy-bow"], {"书籍": 9, "酒店": 8, "水果": 7}
    )
    lines = report.splitlines()
    rows = [line for line in lines if line.startswith(("书籍", "酒店", "category"))]
    # a CJK character takes two terminal columns: the rows line up with the header
    assert len({columns(line) for line in rows}) == 1 and len(rows) == 3
    assert "-1.00 points against spacy-ensemble over 2 folds, ahead on 1 of them" in report
    folds_row = next(line for line in lines if line.startswith("folds"))
    assert folds_row.split()[1:4] == ["3", "2", "2"]


def test_a_variant_is_name_equals_config_then_overrides(bench):
    name, path, extra = bench.parse_variant("bag=configs/sentiment_bag.cfg --training.max_steps 9")
    assert (name, path, extra) == (
        "bag",
        REPO / "configs" / "sentiment_bag.cfg",
        ["--training.max_steps", "9"],
    )
    with pytest.raises(SystemExit, match="name=path"):
        bench.parse_variant("configs/sentiment.cfg")
    with pytest.raises(SystemExit, match="no config"):
        bench.parse_variant("x=configs/missing.cfg")


def test_a_run_adds_its_folds_to_a_saved_file_and_refuses_a_renamed_setting(bench, tmp_path):
    path = tmp_path / "ood.json"
    kexue = {"config": "configs/sentiment.cfg", "overrides": []}
    bow = {"config": "configs/sentiment_spacy_bow.cfg", "overrides": []}
    first = {"书籍": {"kexue": cell(0.9), "spacy-bow": cell(0.8)}}
    bench.write_json(path, {"kexue": kexue, "spacy-bow": bow}, {"书籍": 9}, first)
    systems, sizes, results = bench.load_saved(path, {"kexue": kexue})
    assert systems == {"kexue": kexue, "spacy-bow": bow} and sizes == {"书籍": 9}
    results["酒店"] = {"kexue": cell(0.7)}
    bench.write_json(path, systems, {**sizes, "酒店": 8}, results)
    saved = bench.json.loads(path.read_text())
    assert list(saved["folds"]) == ["书籍", "酒店"] and saved["test_sizes"]["酒店"] == 8
    assert saved["summary"]["kexue"]["folds"] == 2 and saved["summary"]["spacy-bow"]["folds"] == 1
    assert len(saved["commands"]) == 1  # the same command twice is recorded once
    other = {"config": "configs/sentiment.cfg", "overrides": ["--training.max_steps", "9"]}
    with pytest.raises(SystemExit, match="'kexue' was trained with"):
        bench.load_saved(path, {"kexue": other})
    assert bench.load_saved(tmp_path / "missing.json", {"kexue": kexue}) == ({}, {}, {})
