"""The target checks of benchmarks/vae.py (pure functions over the results dict)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_vae", REPO / "benchmarks" / "vae.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(nll: float, kl: float, au: int, latent: int = 32, tau: float = 0.5) -> dict:
    return dict(
        nll=nll, ppl=1.0, neg_elbo=nll, rec=nll - kl, kl=kl, mi=0.0, au=au, latent=latent, tau=tau
    )


def results(
    vanilla_kl=0.2, vanilla_au=0, su_kl=9.0, su_au=32, su_nll=50.0, lm_nll=51.0, mu=0.6, emb=0.5
):
    return {
        "generative": {
            "vanilla": run(52.0, vanilla_kl, vanilla_au),
            "bn_su": run(su_nll, su_kl, su_au),
            "lm": run(lm_nll, 0.0, 0, latent=0),
        },
        "probes": {
            "mu (bn_su)": {"category": mu, "sentiment": 0.8},
            "mean char embedding (segmenter)": {"category": emb, "sentiment": 0.8},
        },
    }


def met(targets: list[dict]) -> dict[str, bool]:
    return {t["target"]: t["met"] for t in targets}


def test_all_targets_met(bench):
    targets = bench.check_targets(results())
    assert len(targets) == 6
    assert all(met(targets).values())
    nll = next(t for t in targets if "NLL" in t["target"])
    assert nll["ratio"] == pytest.approx(50.0 / 51.0)
    gap = next(t for t in targets if "gap_points" in t)
    assert gap["gap_points"] == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"vanilla_kl": 1.0}, "vanilla KL < 1"),
        ({"vanilla_au": 4}, "vanilla AU <= 3"),
        ({"su_au": 31}, "bn_su AU = d"),
        ({"su_kl": 7.99}, "bn_su KL >= d*tau/2"),
        ({"su_nll": 51.5}, "bn_su NLL <= LSTM-LM NLL"),
        ({"mu": 0.549}, "mu (bn_su) category >= mean embedding + 5 points"),
    ],
)
def test_each_target_can_fail(bench, change, failing):
    verdicts = met(bench.check_targets(results(**change)))
    assert verdicts.pop(failing) is False
    assert all(verdicts.values())


def test_missing_runs_give_fewer_targets(bench):
    partial = results()
    del partial["generative"]["lm"], partial["generative"]["vanilla"]
    names = set(met(bench.check_targets(partial)))
    assert names == {
        "bn_su AU = d",
        "bn_su KL >= d*tau/2",
        "mu (bn_su) category >= mean embedding + 5 points",
    }


def test_report_prints_targets(bench):
    res = results(su_nll=52.0)
    res["targets"] = bench.check_targets(res)
    report = bench.format_report(res)
    assert "bn_su NLL <= LSTM-LM NLL" in report and "NO" in report and "ratio 1.0196" in report


def test_the_shipped_variant_is_checked_like_bn_su(bench):
    res = results()
    res["generative"]["bn_su_rms"] = run(60.0, 7.0, 32)
    res["probes"]["mu (bn_su_rms)"] = {"category": 0.53, "sentiment": 0.8}
    verdicts = met(bench.check_targets(res))
    assert verdicts["bn_su AU = d"] and verdicts["bn_su_rms AU = d"]
    assert verdicts["bn_su_rms KL >= d*tau/2"] is False
    assert verdicts["bn_su_rms NLL <= LSTM-LM NLL"] is False
    assert verdicts["mu (bn_su_rms) category >= mean embedding + 5 points"] is False
