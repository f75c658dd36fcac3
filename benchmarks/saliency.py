"""Saliency benchmark: faithfulness and cost of ``kexue_saliency``, in one run.

    python benchmarks/saliency.py [--model zh_kexue_sm] [--limit 0] [--json benchmarks/results/saliency.json]

1. Faithfulness on the shared sentiment test split (docs with more than 5 tokens). For each
   method, delete the k most salient tokens (k = 1..5) and measure the drop of the predicted
   class's probability; also the k least salient, and k random tokens (the mean over
   ``--draws`` draws per doc). Reported: the mean drop at k = 1, 3, 5, AOPC (the mean drop over
   k = 1..5), how often the method's top-3 deletion beats the random one (strictly), and the
   ratio of its k = 3 drop to occlusion's. Occlusion (leave-one-out) is the reference: it
   scores each token by the very quantity this metric measures at k = 1.
   Methods: Su's formula on each state definition of ``spacy_kexue.saliency.scores`` (the
   LSTM's own states as in the post, the pooled prefix states, the decision state), its
   first-order "projection" form, and occlusion.
2. Cost: docs/second of the textcat + saliency step (tokenized docs) with each method, and of
   the textcat alone (so the time each adds to the textcat's pass); and
   of the whole pipeline on raw texts with and without ``kexue_saliency`` (best of
   ``--repeats`` runs each, alternating; occlusion runs once).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from spacy_kexue.paths import data_dir as default_data_dir
from spacy_kexue.textcat.labelled import read_labelled

REPO = Path(__file__).resolve().parent.parent

KS = (1, 2, 3, 4, 5)
MIN_TOKENS = 6
BASE_SETTINGS = {
    "method": "states",
    "state": "decision",
    "direction": "both",
    "formula": "distance",
}
DEFAULT = "projection: decision, both"
# name -> kexue_saliency settings (the default configuration first)
METHODS = {
    DEFAULT: {"state": "decision", "direction": "both", "formula": "projection"},
    "su: decision, both": {"state": "decision", "direction": "both"},
    "su: lstm, forward (the post)": {"state": "lstm", "direction": "forward"},
    "su: lstm, both": {"state": "lstm", "direction": "both"},
    "su: pooled, both": {"state": "pooled", "direction": "both"},
    "su: decision, forward": {"state": "decision", "direction": "forward"},
    "occlusion": {"method": "occlusion"},
}


def saliencies(nlp, docs, settings: dict | None, repeats: int) -> tuple[list[np.ndarray], float]:
    """Each doc's saliency under ``settings`` and the best seconds of ``repeats`` runs of the
    textcat + saliency step (``settings`` None: the textcat alone, states off)."""
    textcat, saliency = nlp.get_pipe("textcat"), nlp.get_pipe("saliency")
    if settings is not None:
        saliency.configure(**{**BASE_SETTINGS, **settings})
    listening = saliency in textcat.listeners
    best, out = float("inf"), []
    for _ in range(repeats):
        copies = [doc.copy() for doc in docs]
        start = time.perf_counter()
        if settings is None:
            textcat.remove_listener(saliency, saliency.name)
            out = list(textcat.pipe(copies, batch_size=64))
        else:
            out = list(saliency.pipe(textcat.pipe(copies, batch_size=64), batch_size=64))
        best = min(best, time.perf_counter() - start)
    if listening:
        textcat.add_listener(saliency, saliency.name)
    return [np.asarray(doc._.saliency) for doc in out if doc._.saliency is not None], best


def faithfulness(model, docs, scores: dict[str, list[np.ndarray]], draws: int, seed: int) -> dict:
    """Per method: drops of the predicted class's probability after deleting top / least /
    random k tokens."""
    from spacy_kexue.textcat.probe import predict_deletions

    rng = np.random.default_rng(seed)
    names = list(scores)
    top = {name: {k: [] for k in KS} for name in names}
    least = {name: {k: [] for k in KS} for name in names}
    rand = {k: [] for k in KS}
    for d, doc in enumerate(docs):
        n = len(doc)
        deletions: list[tuple[int, ...]] = [()]
        for name in names:
            order = np.argsort(-scores[name][d], kind="stable")
            reverse = np.argsort(scores[name][d], kind="stable")
            for k in KS:
                deletions.append(tuple(order[:k].tolist()))
                deletions.append(tuple(reverse[:k].tolist()))
        for k in KS:
            for _ in range(draws):
                deletions.append(tuple(rng.choice(n, size=k, replace=False).tolist()))
        probs = predict_deletions(model, doc, deletions)
        label = int(np.argmax(probs[0]))
        drops = probs[0, label] - probs[1:, label]
        i = 0
        for name in names:
            for k in KS:
                top[name][k].append(drops[i])
                least[name][k].append(drops[i + 1])
                i += 2
        for k in KS:
            rand[k].append(float(np.mean(drops[i : i + draws])))
            i += draws
    rand_arr = {k: np.asarray(v) for k, v in rand.items()}
    results = {}
    for name in names:
        t = {k: np.asarray(v) for k, v in top[name].items()}
        lo = {k: np.asarray(v) for k, v in least[name].items()}
        results[name] = {
            "drop": {k: float(t[k].mean()) for k in KS},
            "least_drop": {k: float(lo[k].mean()) for k in KS},
            "aopc": float(np.mean([t[k].mean() for k in KS])),
            "beats_random_k3": float((t[3] > rand_arr[3]).mean()),
            "top_beats_least_k3": float((t[3] > lo[3]).mean()),
        }
    results["random"] = {
        "drop": {k: float(rand_arr[k].mean()) for k in KS},
        "aopc": float(np.mean([rand_arr[k].mean() for k in KS])),
    }
    return results


def pipeline_speed(nlp, texts: list[str], repeats: int) -> dict:
    """Docs/second of the whole pipeline with and without the saliency component."""
    best = {"with": float("inf"), "without": float("inf")}
    for _ in range(repeats):
        for key in ("without", "with"):
            disabled = ["saliency"] if key == "without" else []
            with nlp.select_pipes(disable=disabled):
                start = time.perf_counter()
                for _doc in nlp.pipe(texts, batch_size=64):
                    pass
                best[key] = min(best[key], time.perf_counter() - start)
    return {key: len(texts) / seconds for key, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="zh_kexue_sm")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0, help="Use the first N test docs (0: all).")
    parser.add_argument("--draws", type=int, default=5, help="Random deletions per doc and k.")
    parser.add_argument("--repeats", type=int, default=3, help="Timing runs (best is kept).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import spacy
    import torch

    torch.set_num_threads(args.threads)
    data = args.data_dir or default_data_dir()
    records = list(read_labelled(data / "sentiment" / "test.jsonl"))
    texts = [text for text, _ in records]
    if args.limit:
        texts = texts[: args.limit]
    nlp = spacy.load(args.model)
    if "saliency" not in nlp.pipe_names:
        nlp.add_pipe("kexue_saliency", name="saliency")
    model = nlp.get_pipe("textcat").model
    with nlp.select_pipes(enable=[]):
        docs = [doc for doc in nlp.pipe(texts) if len(doc) >= MIN_TOKENS]
    print(f"{len(docs)} of {len(texts)} test docs have >= {MIN_TOKENS} tokens", flush=True)

    scores, seconds = {}, {}
    _, textcat_seconds = saliencies(nlp, docs, None, args.repeats)
    print(f"  textcat alone: {len(docs) / textcat_seconds:.0f} docs/s", flush=True)
    for name, settings in METHODS.items():
        repeats = 1 if settings.get("method") == "occlusion" else args.repeats
        scores[name], seconds[name] = saliencies(nlp, docs, settings, repeats)
        print(f"  {name}: {len(docs) / seconds[name]:.0f} docs/s", flush=True)
    results = faithfulness(model, docs, scores, args.draws, args.seed)
    for name in METHODS:
        results[name]["docs_per_second"] = len(docs) / seconds[name]
    nlp.get_pipe("saliency").configure(**{**BASE_SETTINGS, **METHODS[DEFAULT]})
    speed = pipeline_speed(nlp, texts, args.repeats)

    occl = results["occlusion"]
    # seconds the saliency adds to the textcat's own pass, occlusion's over the default's;
    # None when the default adds less than 2% of that pass (timing noise, not a ratio)
    added = seconds[DEFAULT] - textcat_seconds
    marginal = (seconds["occlusion"] - textcat_seconds) / added
    summary = {
        "docs": len(docs),
        "default": DEFAULT,
        "default_vs_occlusion_drop_k3": results[DEFAULT]["drop"][3] / occl["drop"][3],
        "default_vs_occlusion_aopc": results[DEFAULT]["aopc"] / occl["aopc"],
        "default_beats_random_k3": results[DEFAULT]["beats_random_k3"],
        "speed_vs_occlusion": results[DEFAULT]["docs_per_second"] / occl["docs_per_second"],
        "textcat_docs_per_second": len(docs) / textcat_seconds,
        "marginal_speed_vs_occlusion": marginal if added > 0.02 * textcat_seconds else None,
        "pipeline_docs_per_second": speed,
        "pipeline_slowdown": 1 - speed["with"] / speed["without"],
    }
    print(format_report(results, summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": "python " + " ".join(sys.argv),
            "model": args.model,
            "summary": summary,
            "methods": results,
            "draws": args.draws,
            "torch_threads": args.threads,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def format_report(results: dict, summary: dict) -> str:
    lines = [
        "",
        f"Faithfulness on {summary['docs']} test docs (drop of the predicted class's probability)",
        f"{'method':<30} {'k=1':>7} {'k=3':>7} {'k=5':>7} {'AOPC':>7} {'least k=3':>9} "
        f"{'>random k=3':>11} {'docs/s':>8}",
    ]
    for name, r in results.items():
        least = f"{r['least_drop'][3]:9.4f}" if "least_drop" in r else f"{'':9}"
        beats = f"{r['beats_random_k3']:11.1%}" if "beats_random_k3" in r else f"{'':11}"
        speed = f"{r['docs_per_second']:8.0f}" if "docs_per_second" in r else f"{'':8}"
        lines.append(
            f"{name:<30} {r['drop'][1]:7.4f} {r['drop'][3]:7.4f} {r['drop'][5]:7.4f} "
            f"{r['aopc']:7.4f} {least} {beats} {speed}"
        )
    s = summary
    lines += [
        "",
        f"Default ({s['default']}) vs occlusion: drop at k=3 {s['default_vs_occlusion_drop_k3']:.1%}"
        f" of occlusion's, AOPC {s['default_vs_occlusion_aopc']:.1%}; beats random on "
        f"{s['default_beats_random_k3']:.1%} of docs at k=3; {s['speed_vs_occlusion']:.1f}x "
        "occlusion's speed (textcat + saliency; the textcat alone: "
        f"{s['textcat_docs_per_second']:.0f} docs/s); the time added to the textcat's pass: "
        + (
            f"{s['marginal_speed_vs_occlusion']:.0f}x less than occlusion's"
            if s["marginal_speed_vs_occlusion"] is not None
            else "within the timing noise (under 2% of the textcat's own pass)"
        ),
        f"Pipeline: {s['pipeline_docs_per_second']['without']:.0f} docs/s without saliency, "
        f"{s['pipeline_docs_per_second']['with']:.0f} with: {s['pipeline_slowdown']:.1%} slower",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
