"""Speed of zh_kexue_sm through plain ``nlp.pipe``, against spaCy's stock Chinese routes and jieba.

    python benchmarks/speed.py [--data-dir DATA] [--repeats 3] [--conditions idle,busy,n2] \\
        [--json benchmarks/results/speed.json]

Every row runs in its own fresh subprocess on the same texts: the shared sentiment test reviews
(3,000) and the SIGHAN 2005 PKU test lines (1,945). A row's figure is the best of ``--repeats``
passes over its texts (after one warm-up pass of 100 texts); docs/s and chars/s from it, the
subprocess's peak RSS (``getrusage``) and its load time (``spacy.load`` after ``import spacy``,
which imports torch through thinc wherever torch is installed; for jieba, its first cut).

Systems:
- ``kexue``: ``spacy.load("zh_kexue_sm")``, the whole pipeline (sentencizer, textcat, saliency,
  VAE), ``nlp.pipe(texts, batch_size=256)``;
- ``kexue-tokenizer``: the same with every component excluded, through ``nlp.pipe``;
- ``kexue-tokenizer-batched``: ``nlp.tokenizer.pipe(texts)``;
- ``spacy-jieba``: spaCy's zh tokenizer with ``segmenter = "jieba"``, through ``nlp.pipe``;
- ``spacy-jieba-ensemble`` / ``spacy-jieba-bow``: that tokenizer with spaCy's default textcat
  (``spacy.TextCatEnsemble.v2``, from ``configs/sentiment_spacy_stock.cfg``) / with
  ``spacy.TextCatBOW.v3``. Both are initialised on 2,000 training reviews, not trained: a
  textcat's cost does not depend on its weights' values (the same layers and sizes);
- ``jieba``: ``jieba.lcut`` on each text; ``rjieba``: ``rjieba.cut`` (jieba-rs, the speed anchor).

Conditions: ``idle``; ``busy``: a CPU-bound process runs beside the row the whole time (the
machine has two cores); ``n2``: the ``nlp.pipe`` rows with ``n_process=2`` (spawn).
Then ``python -m spacy benchmark speed`` on a DocBin of the reviews for zh_kexue_sm and the
stock routes (it times the components only: its corpus reader tokenizes the docs), and whole
processes on a file: ``kexue segment FILE`` against ``python -m jieba FILE`` (the training
reviews, a review a line; wall time of the whole command, startup included, best of
``--repeats``; ``--processes-only`` runs just these). The report ends with the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STOCK_CONFIG = REPO / "configs" / "sentiment_spacy_stock.cfg"
PIPE_SYSTEMS = (
    "kexue",
    "kexue-tokenizer",
    "spacy-jieba",
    "spacy-jieba-ensemble",
    "spacy-jieba-bow",
)
SYSTEMS = (
    "kexue",
    "kexue-tokenizer",
    "kexue-tokenizer-batched",
    "spacy-jieba",
    "spacy-jieba-ensemble",
    "spacy-jieba-bow",
    "jieba",
    "rjieba",
)
BATCH_SIZE = 256


# --------------------------------------------------------------------------- corpora and peers


def read_corpora(data: Path) -> dict[str, list[str]]:
    from spacy_kexue.textcat.labelled import read_labelled

    reviews = [text for text, _ in read_labelled(data / "sentiment" / "test.jsonl")]
    pku_file = data / "cws" / "pku_test.utf8"
    pku = [line.rstrip("\r\n") for line in pku_file.read_text(encoding="utf-8").splitlines()]
    return {"reviews": reviews, "pku": [line for line in pku if line]}


def build_stock(data: Path, out: Path) -> None:
    """Save the two stock textcat routes (jieba tokenizer), initialised on training reviews."""
    import spacy
    from spacy.training import Example
    from spacy.util import load_config, load_model_from_config

    from spacy_kexue.textcat.labelled import read_labelled

    records = list(read_labelled(data / "sentiment" / "train.jsonl"))[:2000]
    labels = ["NEGATIVE", "POSITIVE"]  # the labels are 0 / 1
    architectures = {
        "spacy-jieba-ensemble": None,  # the config's own: spacy.TextCatEnsemble.v2
        "spacy-jieba-bow": {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": True,
            "ngram_size": 1,
            "no_output_layer": False,
            "length": 262144,
        },
    }
    for name, architecture in architectures.items():
        config = load_config(STOCK_CONFIG)
        if architecture is not None:
            config["components"]["textcat"]["model"] = architecture
        nlp = load_model_from_config(config, auto_fill=True)
        examples = []
        for text, label in records:
            doc = nlp.make_doc(text)
            cats = {name: float(i == label) for i, name in enumerate(labels)}
            examples.append(Example.from_dict(doc, {"cats": cats}))
        nlp.initialize(lambda examples=examples: examples)
        nlp.to_disk(out / name)
    spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}}).to_disk(
        out / "spacy-jieba"
    )


# --------------------------------------------------------------------------- one row (a child)


def load_system(system: str, stock: Path):
    """(load seconds, a function from a list of texts to the number of docs it made)."""
    start = time.perf_counter()
    if system in ("jieba", "rjieba"):
        module = __import__(system)
        cut = module.lcut if system == "jieba" else module.cut
        cut("预热")

        def run(texts, n_process=1):
            return sum(1 for text in texts if cut(text) is not None)

        return time.perf_counter() - start, run
    import spacy

    start = time.perf_counter()  # the load alone (import spacy is the same for every pipeline)
    if system.startswith("kexue"):
        exclude = ["sentencizer", "textcat", "saliency", "vae"] if system != "kexue" else []
        nlp = spacy.load("zh_kexue_sm", exclude=exclude)
    else:
        nlp = spacy.load(stock / system)
    seconds = time.perf_counter() - start
    if system == "kexue-tokenizer-batched":

        def run(texts, n_process=1):
            return sum(1 for _ in nlp.tokenizer.pipe(texts))

    else:

        def run(texts, n_process=1):
            return sum(1 for _ in nlp.pipe(texts, batch_size=BATCH_SIZE, n_process=n_process))

    return seconds, run


def child(spec: dict) -> None:
    import resource

    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    load_seconds, run = load_system(spec["system"], Path(spec["stock"]))
    n_process = spec.get("n_process", 1)
    run(texts[:100], n_process=1)
    best = float("inf")
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        made = run(texts, n_process=n_process)
        best = min(best, time.perf_counter() - start)
        assert made == len(texts), (made, len(texts))
    chars = sum(len(text) for text in texts)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "docs_per_second": len(texts) / best,
                "chars_per_second": chars / best,
                "seconds": best,
                "load_seconds": load_seconds,
                "peak_rss_mb": rss_kb / 1024,
            }
        )
    )


def measure(spec: dict, busy: bool) -> dict:
    """Run one row in a fresh subprocess (with a CPU-bound process beside it if ``busy``)."""
    burner = None
    if busy:
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "_child", json.dumps(spec)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['system']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- spaCy's own benchmark


def spacy_benchmark_speed(model: str, docbin: Path) -> float | None:
    """Mean words/s that ``python -m spacy benchmark speed`` prints (components only)."""
    cmd = [sys.executable, "-m", "spacy", "benchmark", "speed", model, str(docbin)]
    cmd += ["--batch-size", str(BATCH_SIZE), "--no-shuffle", "--batches", "30", "--warmup", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = re.search(r"Mean:\s*([\d.]+)\s*words/s", proc.stdout)
    if proc.returncode != 0 or not found:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        return None
    return float(found.group(1))


def write_docbin(texts: list[str], path: Path) -> None:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("zh")  # the char tokenizer: the reader re-tokenizes with each pipeline
    DocBin(docs=[nlp.make_doc(text) for text in texts]).to_disk(path)


# ------------------------------------------------------------------------- whole processes


def process_rows(data: Path, repeats: int, tmp: Path) -> dict:
    """Wall seconds of ``kexue segment FILE`` and ``python -m jieba FILE`` (output discarded)."""
    from spacy_kexue.textcat.labelled import read_labelled

    texts = [
        text.replace("\n", " ") for text, _ in read_labelled(data / "sentiment" / "train.jsonl")
    ]
    path = tmp / "train_reviews.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    chars = sum(len(text) for text in texts)
    commands = {
        "kexue segment": [sys.executable, "-m", "spacy_kexue", "segment", str(path)],
        "python -m jieba": [sys.executable, "-m", "jieba", str(path)],
    }
    out = {"file_lines": len(texts), "file_chars": chars}
    for name, cmd in commands.items():
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            best = min(best, time.perf_counter() - start)
        out[name] = {"seconds": best, "chars_per_second": chars / best}
        print(f"{name:<20} {best:7.2f} s  {chars / best:10.0f} chars/s", flush=True)
    out["ratio kexue segment / python -m jieba (speed)"] = (
        out["python -m jieba"]["seconds"] / out["kexue segment"]["seconds"]
    )
    return out


# ------------------------------------------------------------------------------------ report


def ratios(rows: dict) -> dict:
    def rate(corpus, system, condition="idle"):
        row = rows.get(f"{corpus}/{system}/{condition}")
        return row["docs_per_second"] if row else None

    out = {}
    for corpus in ("reviews", "pku"):
        for condition in ("idle", "busy", "n2"):
            pairs = {
                "tokenizer nlp.pipe / spaCy jieba tokenizer": ("kexue-tokenizer", "spacy-jieba"),
                "tokenizer nlp.pipe / raw jieba.lcut": ("kexue-tokenizer", "jieba"),
                "whole pipeline / stock jieba + ensemble": ("kexue", "spacy-jieba-ensemble"),
                "whole pipeline / stock jieba + BOW": ("kexue", "spacy-jieba-bow"),
            }
            for name, (ours, peer) in pairs.items():
                a, b = rate(corpus, ours, condition), rate(corpus, peer, condition)
                if a and b:
                    out[f"{corpus}/{condition}: {name}"] = a / b
        ours, peer = (
            rows.get(f"{corpus}/kexue/idle"),
            rows.get(f"{corpus}/spacy-jieba-ensemble/idle"),
        )
        if ours and peer:
            out[f"{corpus}/idle: peak RSS whole pipeline / stock ensemble"] = (
                ours["peak_rss_mb"] / peer["peak_rss_mb"]
            )
    return out


def format_table(rows: dict) -> str:
    lines = [
        f"{'corpus/system/condition':<44} {'docs/s':>9} {'chars/s':>10} {'RSS MB':>7} {'load s':>7}"
    ]
    for key, row in rows.items():
        lines.append(
            f"{key:<44} {row['docs_per_second']:9.0f} {row['chars_per_second']:10.0f} "
            f"{row['peak_rss_mb']:7.0f} {row['load_seconds']:7.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "_child":
        child(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--corpora", default="reviews,pku")
    parser.add_argument("--conditions", default="idle,busy,n2")
    parser.add_argument("--no-spacy-benchmark", action="store_true")
    parser.add_argument("--processes-only", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from spacy_kexue.paths import data_dir as default_data_dir

    data = args.data_dir or default_data_dir()
    if args.processes_only:
        with tempfile.TemporaryDirectory() as tmp:
            processes = process_rows(data, args.repeats, Path(tmp))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            payload = {"command": "python " + " ".join(sys.argv), "processes": processes}
            args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    corpora = read_corpora(data)
    systems = [s for s in args.systems.split(",") if s]
    conditions = [c for c in args.conditions.split(",") if c]
    rows: dict[str, dict] = {}
    spacy_speed: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_stock(data, tmp)
        for corpus in [c for c in args.corpora.split(",") if c]:
            texts_file = tmp / f"{corpus}.json"
            texts_file.write_text(json.dumps(corpora[corpus], ensure_ascii=False), encoding="utf-8")
            for condition in conditions:
                for system in systems:
                    if condition == "n2" and system not in PIPE_SYSTEMS:
                        continue
                    spec = {
                        "system": system,
                        "texts": str(texts_file),
                        "stock": str(tmp),
                        "repeats": args.repeats,
                        "n_process": 2 if condition == "n2" else 1,
                    }
                    key = f"{corpus}/{system}/{condition}"
                    rows[key] = measure(spec, busy=condition == "busy")
                    row = rows[key]
                    print(
                        f"{key:<44} {row['docs_per_second']:9.0f} docs/s "
                        f"{row['chars_per_second']:10.0f} chars/s",
                        flush=True,
                    )
        if not args.no_spacy_benchmark:
            docbin = tmp / "reviews.spacy"
            write_docbin(corpora["reviews"], docbin)
            for name, model in (
                ("kexue", "zh_kexue_sm"),
                ("spacy-jieba-ensemble", str(tmp / "spacy-jieba-ensemble")),
                ("spacy-jieba-bow", str(tmp / "spacy-jieba-bow")),
            ):
                spacy_speed[name] = spacy_benchmark_speed(model, docbin)
                print(f"spacy benchmark speed {name}: {spacy_speed[name]} words/s", flush=True)
        processes = process_rows(data, args.repeats, tmp)
    found = ratios(rows)
    if spacy_speed.get("kexue") and spacy_speed.get("spacy-jieba-ensemble"):
        found["spacy benchmark speed: kexue / stock ensemble"] = (
            spacy_speed["kexue"] / spacy_speed["spacy-jieba-ensemble"]
        )
    print()
    print(format_table(rows))
    print()
    for name, value in found.items():
        print(f"{name}: {value:.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": "python " + " ".join(sys.argv),
            "batch_size": BATCH_SIZE,
            "repeats": args.repeats,
            "cpu_count": os.cpu_count(),
            "rows": rows,
            "spacy_benchmark_speed_words_per_second": spacy_speed,
            "processes": processes,
            "ratios": found,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
