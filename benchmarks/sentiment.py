"""Sentiment benchmark: the kexue.fm ablation and the peers, in one run.

    python benchmarks/sentiment.py [--data-dir ../shared/data] [--json benchmarks/results/sentiment.json]

1. The ablation of 文本情感分类（三）/（四）: {cross-entropy, threshold (m = 0.6), soft threshold
   (K = 1)} x {char one-hot, char embedding, word embedding} BiLSTM encoders, plus the char CNN,
   each trained with ``spacy train`` on the shared train split (settings from configs/sentiment*.cfg;
   only the loss block is swapped) and scored on the shared test split: accuracy, macro-F1,
   training time. The headline cells (the default encoder with each loss) run ``--seeds`` seeds.
2. Peers on the same test split in the same run: snownlp's sentiment (its shipped model) and
   spaCy's stock zh route (jieba tokenizer + spaCy's default textcat, configs/sentiment_spacy_stock.cfg)
   trained on the same train split. Inference docs/second through ``nlp.pipe`` for ours and theirs.

Trained models are kept under ``--work-dir``; a cell whose directory already holds a finished run
(``train.json``) is evaluated again without retraining. Timings are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from spacy_kexue.paths import data_dir as default_data_dir
from spacy_kexue.textcat.labelled import POSITIVE, read_labelled
from spacy_kexue.textcat.metrics import binary_scores, confidence_cuts, covered_accuracy

REPO = Path(__file__).resolve().parent.parent

LOSSES = {
    "cross-entropy": {"@losses": "spacy_kexue.CrossEntropy.v1"},
    "threshold": {"@losses": "spacy_kexue.ThresholdLoss.v1", "margin": 0.6},
    "soft-threshold": {"@losses": "spacy_kexue.SoftThresholdLoss.v1", "sharpness": 1.0},
}
ENCODERS = {
    "char-onehot": REPO / "configs" / "sentiment_char_onehot.cfg",
    "char": REPO / "configs" / "sentiment.cfg",
    "word": REPO / "configs" / "sentiment_word.cfg",
    "cnn": REPO / "configs" / "sentiment_cnn.cfg",
}
DEFAULT_ENCODER, DEFAULT_LOSS = "char", "threshold"
STOCK_CONFIG = REPO / "configs" / "sentiment_spacy_stock.cfg"
COVERAGES = (1.0, 0.9, 0.8)


def train(
    config_path: Path,
    out_dir: Path,
    corpus_dir: Path,
    *,
    seed: int,
    loss: str | None,
    extra: list[str],
) -> float:
    """Train with ``spacy train`` in a subprocess (reusing a finished run); returns seconds."""
    from thinc.api import Config

    record = out_dir / "train.json"
    if record.exists():
        return json.loads(record.read_text())["train_seconds"]
    out_dir.mkdir(parents=True, exist_ok=True)
    config = Config().from_disk(config_path, interpolate=False)
    if loss is not None:
        config["components"]["textcat"]["loss"] = LOSSES[loss]
    config_file = out_dir / "config.cfg"
    config.to_disk(config_file)
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(config_file),
        "--output",
        str(out_dir),
        "--system.seed",
        str(seed),
        "--paths.train",
        str(corpus_dir / "train.spacy"),
        "--paths.dev",
        str(corpus_dir / "dev.spacy"),
        *extra,
    ]
    start = time.perf_counter()
    with open(out_dir / "train.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    seconds = time.perf_counter() - start
    record.write_text(json.dumps({"train_seconds": seconds, "command": cmd}, indent=2))
    return seconds


def evaluate_pipeline(
    model_dir: Path, texts: list[str], gold: list[int], dev: list[str] | None = None
) -> dict:
    """Score a trained pipeline on raw test texts (its own tokenizer included) and time nlp.pipe.
    With ``dev`` texts, also the accuracy at 90% and 80% coverage, the least confident test
    reviews abstaining by the confidence cut that keeps that share of dev."""
    import spacy

    nlp = spacy.load(model_dir)
    start = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=256))
    seconds = time.perf_counter() - start
    pred = [int(max(doc.cats, key=doc.cats.get) == POSITIVE) for doc in docs]
    result = binary_scores(gold, pred)
    result["docs_per_second"] = len(texts) / seconds
    if dev:
        dev_scores = [doc.cats[POSITIVE] for doc in nlp.pipe(dev, batch_size=256)]
        scores = [doc.cats[POSITIVE] for doc in docs]
        result["coverage"] = {
            str(c): covered_accuracy(scores, gold, cut)
            for c, cut in confidence_cuts(dev_scores, COVERAGES).items()
        }
    uncertain = [doc._.get("sentiment_uncertain") for doc in docs] if doc_has_band(docs) else []
    if uncertain:
        kept = [(g, p) for g, p, u in zip(gold, pred, uncertain, strict=True) if not u]
        result["uncertain_rate"] = 1 - len(kept) / len(gold)
        result["accuracy_outside_band"] = sum(g == p for g, p in kept) / max(1, len(kept))
    return result


def doc_has_band(docs) -> bool:
    return (
        bool(docs)
        and docs[0].has_extension("sentiment_uncertain")
        and (docs[0]._.get("sentiment_uncertain") is not None)
    )


def dev_scores(model_dir: Path) -> dict:
    """The dev-set scores spaCy recorded for the checkpoint it kept (model selection uses dev)."""
    performance = json.loads((model_dir / "meta.json").read_text()).get("performance", {})
    return {k: v for k, v in performance.items() if k in ("cats_accuracy", "cats_macro_f")}


def evaluate_snownlp(texts: list[str], gold: list[int]) -> dict:
    from snownlp import SnowNLP

    start = time.perf_counter()
    probs = [SnowNLP(text).sentiments if text.strip() else 0.5 for text in texts]
    seconds = time.perf_counter() - start
    result = binary_scores(gold, [int(p >= 0.5) for p in probs])
    result["docs_per_second"] = len(texts) / seconds
    return result


def ensure_corpus(corpus_dir: Path, data: Path) -> None:
    """Convert the shared JSONL splits to DocBins (tokenized by zh_kexue_sm) if missing."""
    for split in ("train", "dev"):
        target = corpus_dir / f"{split}.spacy"
        if not target.exists():
            subprocess.run(
                [
                    "kexue",
                    "textcat",
                    "convert",
                    str(data / "sentiment" / f"{split}.jsonl"),
                    str(target),
                ],
                check=True,
            )


def summarise(runs: list[dict]) -> dict:
    accs = [r["accuracy"] for r in runs]
    return {
        "seeds": [r["seed"] for r in runs],
        "accuracy_mean": statistics.mean(accs),
        "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "macro_f1_mean": statistics.mean(r["macro_f1"] for r in runs),
        "dev_accuracy_mean": statistics.mean(r["dev"].get("cats_accuracy") or 0.0 for r in runs),
        "train_seconds_mean": statistics.mean(r["train_seconds"] for r in runs),
        "docs_per_second_mean": statistics.mean(r["docs_per_second"] for r in runs),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--corpus-dir", type=Path, default=REPO / "corpus" / "sentiment")
    parser.add_argument("--work-dir", type=Path, default=REPO / "training" / "sentiment_ablation")
    parser.add_argument("--seeds", type=int, default=3, help="Seeds for the headline cells.")
    parser.add_argument(
        "--encoders", nargs="+", default=["char-onehot", "char", "word"], choices=sorted(ENCODERS)
    )
    parser.add_argument("--cnn", action="store_true", help="Add the char CNN (threshold loss).")
    parser.add_argument(
        "--stock-max-steps",
        type=int,
        default=None,
        help="Cap the stock spaCy textcat's training steps (default: its config's).",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="Override max_steps of our configs (e.g. for a quick run).",
    )
    parser.add_argument("--limit", type=int, default=0, help="Score on the first N test docs.")
    parser.add_argument(
        "--shipped",
        default=None,
        help="Also score this pipeline (e.g. zh_kexue_sm, the default trained for its full budget).",
    )
    parser.add_argument(
        "--skip-ablation", action="store_true", help="Only the shipped pipeline and the peers."
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    data = args.data_dir or default_data_dir()
    ensure_corpus(args.corpus_dir, data)
    test = list(read_labelled(data / "sentiment" / "test.jsonl"))
    if args.limit:
        test = test[: args.limit]
    texts, gold = [t for t, _ in test], [y for _, y in test]
    dev = [t for t, _ in read_labelled(data / "sentiment" / "dev.jsonl")]
    ours_extra = ["--training.max_steps", str(args.max_steps)] if args.max_steps else []

    cells = [] if args.skip_ablation else [(enc, loss) for enc in args.encoders for loss in LOSSES]
    if args.cnn and not args.skip_ablation:
        cells.append(("cnn", DEFAULT_LOSS))
    cells.sort(key=lambda cell: cell[0] != DEFAULT_ENCODER)
    runs: dict[tuple[str, str], list[dict]] = {cell: [] for cell in cells}
    # Seed 0 of every cell first, then the headline cells' other seeds.
    for seed in range(args.seeds):
        for enc, loss in cells:
            if seed > 0 and enc != DEFAULT_ENCODER:
                continue
            out = args.work_dir / f"{enc}-{loss}-s{seed}"
            seconds = train(
                ENCODERS[enc], out, args.corpus_dir, seed=seed, loss=loss, extra=ours_extra
            )
            run = evaluate_pipeline(out / "model-best", texts, gold)
            run.update(seed=seed, train_seconds=seconds, dev=dev_scores(out / "model-best"))
            runs[(enc, loss)].append(run)
            print(
                f"  {enc:12s} {loss:15s} seed {seed}: accuracy {run['accuracy']:.4f}",
                file=sys.stderr,
                flush=True,
            )
    results = {f"{enc} / {loss}": summarise(cell_runs) for (enc, loss), cell_runs in runs.items()}

    peers: dict[str, dict] = {}
    stock_extra = (
        ["--training.max_steps", str(args.stock_max_steps)] if args.stock_max_steps else []
    )
    stock_dir = args.work_dir / "spacy-stock-s0"
    seconds = train(STOCK_CONFIG, stock_dir, args.corpus_dir, seed=0, loss=None, extra=stock_extra)
    peers["spaCy stock (jieba + textcat)"] = dict(
        evaluate_pipeline(stock_dir / "model-best", texts, gold, dev), train_seconds=seconds
    )
    peers["snownlp"] = evaluate_snownlp(texts, gold)
    shipped = evaluate_pipeline(args.shipped, texts, gold, dev) if args.shipped else None

    report = format_report(results, peers, len(texts), shipped, args.shipped)
    print(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "command": shlex.join(["python", "benchmarks/sentiment.py", *sys.argv[1:]]),
                    "n_test": len(texts),
                    "cells": results,
                    "peers": peers,
                    **({"shipped": shipped, "shipped_name": args.shipped} if shipped else {}),
                },
                indent=2,
                ensure_ascii=False,
            )
        )


def format_report(
    results: dict, peers: dict, n_test: int, shipped: dict | None = None, shipped_name: str = ""
) -> str:
    lines = [f"Sentiment, shared test split ({n_test} reviews)", ""]
    header = (
        f"{'encoder / loss':32s} {'seeds':>5s} {'dev acc':>8s} {'test accuracy':>16s} "
        f"{'macro-F1':>9s} {'train s':>8s} {'docs/s':>8s}"
    )
    lines += [header, "-" * len(header)]
    for name, cell in results.items():
        acc = f"{cell['accuracy_mean']:.4f}"
        if len(cell["seeds"]) > 1:
            acc += f" ±{cell['accuracy_std']:.4f}"
        lines.append(
            f"{name:32s} {len(cell['seeds']):5d} {cell['dev_accuracy_mean']:8.4f} {acc:>16s} "
            f"{cell['macro_f1_mean']:9.4f} "
            f"{cell['train_seconds_mean']:8.0f} {cell['docs_per_second_mean']:8.0f}"
        )
    for name, peer in peers.items():
        train_s = f"{peer['train_seconds']:8.0f}" if "train_seconds" in peer else f"{'-':>8s}"
        lines.append(
            f"{name:32s} {'':5s} {'':8s} {peer['accuracy']:16.4f} {peer['macro_f1']:9.4f} {train_s} "
            f"{peer['docs_per_second']:8.0f}"
        )
    if shipped:
        best_name, best = max(peers.items(), key=lambda item: item[1]["accuracy"])
        stock = peers["spaCy stock (jieba + textcat)"]
        lines += [
            "",
            f"shipped {shipped_name}: accuracy {shipped['accuracy']:.4f}, macro-F1 "
            f"{shipped['macro_f1']:.4f}, {shipped['docs_per_second']:.0f} docs/s; best peer "
            f"{best_name} {best['accuracy']:.4f}: {shipped['accuracy'] - best['accuracy']:+.4f} "
            f"(ratio {shipped['accuracy'] / best['accuracy']:.3f}); docs/s ratio to spaCy stock "
            f"{shipped['docs_per_second'] / stock['docs_per_second']:.2f}",
        ]
        if "coverage" in shipped and "coverage" in stock:
            for cov in ("0.9", "0.8"):
                ours, theirs = shipped["coverage"][cov], stock["coverage"][cov]
                lines.append(
                    f"at {float(cov):.0%} of dev answered: shipped {ours['accuracy']:.4f} on "
                    f"{ours['coverage']:.1%} of test, spaCy stock {theirs['accuracy']:.4f} on "
                    f"{theirs['coverage']:.1%}"
                )
    default = results.get(f"{DEFAULT_ENCODER} / {DEFAULT_LOSS}")
    if default:
        best_name, best = max(peers.items(), key=lambda item: item[1]["accuracy"])
        stock = peers["spaCy stock (jieba + textcat)"]
        lines += [
            "",
            f"default ({DEFAULT_ENCODER} / {DEFAULT_LOSS}) accuracy {default['accuracy_mean']:.4f} "
            f"vs best peer {best_name} {best['accuracy']:.4f}: "
            f"{default['accuracy_mean'] - best['accuracy']:+.4f} "
            f"(ratio {default['accuracy_mean'] / best['accuracy']:.3f})",
            f"inference: ours {default['docs_per_second_mean']:.0f} docs/s vs spaCy stock "
            f"{stock['docs_per_second']:.0f} docs/s (ratio "
            f"{default['docs_per_second_mean'] / stock['docs_per_second']:.2f})",
        ]
        for loss in LOSSES:
            cell = results.get(f"{DEFAULT_ENCODER} / {loss}")
            ce = results.get(f"{DEFAULT_ENCODER} / cross-entropy")
            if cell and ce and loss != "cross-entropy":
                lines.append(
                    f"{DEFAULT_ENCODER} encoder: {loss} minus cross-entropy = "
                    f"{cell['accuracy_mean'] - ce['accuracy_mean']:+.4f} accuracy "
                    f"(std {cell['accuracy_std']:.4f} / {ce['accuracy_std']:.4f} over "
                    f"{len(cell['seeds'])} seeds)"
                )
        if "uncertain_rate" in default["runs"][0]:
            run = default["runs"][0]
            lines.append(
                f"abstain band [0.4, 0.6] (seed 0): {run['uncertain_rate']:.1%} of reviews "
                f"uncertain; accuracy on the rest {run['accuracy_outside_band']:.4f}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
