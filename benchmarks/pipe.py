"""Throughput and peak memory of ``kexue pipe`` (the :func:`spacy_kexue.corpus.run` API).

    python benchmarks/pipe.py --sizes 10000,100000 --configs plain,n1,n2,dask2 \\
        --json benchmarks/results/pipe.json

The corpus: the ``text`` of ``DATA/sentiment/train.jsonl`` (review texts; line breaks inside a
text become spaces), cycled to reach each size, as a .txt file (a doc a line). Configurations:

- ``plain``: the baseline, ``for doc in nlp.pipe(texts): write a JSON line`` (the same
  records as run's JSONL, from :func:`spacy_kexue.corpus.process.doc_to_dict`; the script
  checks the bytes are identical to n1's when both run);
- ``n1`` / ``n2``: ``run(..., n_process=1 / 2)``; ``dask2``: ``run(..., cluster="local:2")``
  (a Dask LocalCluster of 2 single-threaded worker processes, started and closed in the run).

Each (configuration, size) runs in a fresh subprocess writing into its own temporary
directory. Its time is the wall time of the plain loop / the ``run()`` call, model loading
and worker start-up included (which is why s per 1k docs falls with size; it must not grow:
streaming means linear cost). Peak memory is the largest summed RSS of the subprocess and all
its descendants (workers), sampled every 0.1 s with psutil; without psutil, the largest single
process's max RSS from ``getrusage`` (also reported as ``max_rss_one_mb``). It must stay flat
with size. Torch threads: the in-process configurations (plain, n1) use torch's default (every
core) unless ``--torch-threads`` says otherwise; each pool / Dask worker uses one. On a machine
that is busy with other work, multi-threaded torch can be much slower than one thread: run the
benchmark on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from itertools import cycle, islice
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFIGS = ("plain", "n1", "n2", "dask2")


# ---------------------------------------------------------------------------- one configuration


def plain_loop(model: str, input: str, output: str, batch_size: int) -> int:
    """The baseline: nlp.pipe over the lines, a JSON line per doc (run's record content)."""
    import spacy

    from spacy_kexue.corpus.process import ChunkSettings, doc_to_dict
    from spacy_kexue.corpus.sources import Record

    nlp = spacy.load(model)
    settings = ChunkSettings(model=model, batch_size=batch_size)

    def lines():
        with open(input, "rb") as f:
            for i, raw in enumerate(f):
                yield raw.decode("utf-8").rstrip("\r\n"), i

    n = 0
    with open(output, "w", encoding="utf-8") as out:
        for doc, i in nlp.pipe(lines(), batch_size=batch_size, as_tuples=True):
            rec = Record(i, input, i + 1, doc.text)
            out.write(json.dumps(doc_to_dict(rec, doc, settings), ensure_ascii=False) + "\n")
            n += 1
    return n


def child(spec: dict) -> None:
    """Run one configuration (in its own process) and print its result as JSON."""
    import resource

    config, input, output = spec["config"], spec["input"], spec["output"]
    if spec.get("torch_threads"):  # the in-process configurations (workers set their own)
        import torch

        torch.set_num_threads(spec["torch_threads"])
    start = time.perf_counter()
    if config == "plain":
        written = plain_loop(spec["model"], input, output, spec["batch_size"])
    else:
        from spacy_kexue.corpus import run

        kwargs = {"n1": {}, "n2": {"n_process": 2}, "dask2": {"cluster": "local:2"}}[config]
        summary = run(
            input,
            output,
            model=spec["model"],
            batch_size=spec["batch_size"],
            chunk_size=spec["chunk_size"],
            progress=False,
            **kwargs,
        )
        written = summary.written
    seconds = time.perf_counter() - start
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {"seconds": seconds, "written": written, "max_rss_one_kb": max(self_kb, children_kb)}
        )
    )


def measure(spec: dict) -> dict:
    """Run ``spec`` in a fresh subprocess; its result plus the tree's sampled peak RSS."""
    try:
        import psutil
    except ImportError:
        psutil = None
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", json.dumps(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    if psutil is not None:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            time.sleep(0.1)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['config']} at {spec['size']} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    one_mb = result.pop("max_rss_one_kb") / 1024
    result["max_rss_one_mb"] = round(one_mb, 1)
    result["peak_mb"] = round(peak / 2**20, 1) if peak else round(one_mb, 1)
    result["peak_source"] = "psutil tree sum" if peak else "getrusage max of one process"
    return result


# ---------------------------------------------------------------------------- the benchmark


def review_texts(data_dir: Path) -> list[str]:
    path = data_dir / "sentiment" / "train.jsonl"
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                text = json.loads(line)["text"]
                texts.append(" ".join(text.replace("\r", "\n").split("\n")))
    if not texts:
        raise SystemExit(f"no texts in {path}")
    return texts


def write_corpus(texts: list[str], size: int, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for text in islice(cycle(texts), size):
            f.write(text + "\n")


def table(rows: list[dict]) -> str:
    head = f"{'config':<7} {'size':>8} {'seconds':>9} {'docs/s':>9} {'s/1k':>7} {'peak MB':>8} {'vs plain':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = f"{r['ratio_to_plain']:.2f}" if r.get("ratio_to_plain") is not None else "-"
        lines.append(
            f"{r['config']:<7} {r['size']:>8} {r['seconds']:>9.2f} {r['docs_per_s']:>9.1f} "
            f"{r['s_per_1k']:>7.3f} {r['peak_mb']:>8.1f} {ratio:>8}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from spacy_kexue.paths import data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="Docs per run, comma-separated.")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"Of {', '.join(CONFIGS)}.")
    parser.add_argument("--model", default="zh_kexue_sm")
    parser.add_argument("--data-dir", type=Path, default=None, help="Default: $KEXUE_DATA.")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch threads of plain and n1 (0: torch's default, every core).",
    )
    parser.add_argument("--tmp-dir", default=None, help="Where the temporary directories go.")
    parser.add_argument("--json", type=Path, default=None, help="Write the results here.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown or not configs or not sizes or min(sizes) < 1:
        parser.error(f"--configs from {', '.join(CONFIGS)} (got {unknown}), --sizes >= 1")
    texts = review_texts(args.data_dir or data_dir())

    rows = []
    with tempfile.TemporaryDirectory(prefix="kexue-bench-pipe-", dir=args.tmp_dir) as tmp:
        tmp = Path(tmp)
        for size in sizes:
            corpus = tmp / f"reviews-{size}.txt"
            write_corpus(texts, size, corpus)
            outputs = {}
            for config in configs:
                work = Path(tempfile.mkdtemp(prefix=f"{config}-{size}-", dir=tmp))
                spec = {
                    "config": config,
                    "size": size,
                    "input": str(corpus),
                    "output": str(work / "out.jsonl"),
                    "model": args.model,
                    "batch_size": args.batch_size,
                    "chunk_size": args.chunk_size,
                    "torch_threads": args.torch_threads,
                }
                result = measure(spec)
                if result["written"] != size:
                    raise SystemExit(f"{config} at {size}: wrote {result['written']} docs")
                seconds = result["seconds"]
                row = {
                    "config": config,
                    "size": size,
                    "seconds": round(seconds, 3),
                    "docs_per_s": round(size / seconds, 1),
                    "s_per_1k": round(seconds / size * 1000, 4),
                    "peak_mb": result["peak_mb"],
                    "max_rss_one_mb": result["max_rss_one_mb"],
                    "peak_source": result["peak_source"],
                }
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
                outputs[config] = work / "out.jsonl"
            if "plain" in outputs and "n1" in outputs:
                same = outputs["plain"].read_bytes() == outputs["n1"].read_bytes()
                if not same:
                    raise SystemExit(f"at {size}: the plain loop's output differs from run's")
            for path in outputs.values():  # keep the disk use to one size at a time
                path.unlink(missing_ok=True)
            corpus.unlink()

    plain = {r["size"]: r["seconds"] for r in rows if r["config"] == "plain"}
    n2 = {r["size"]: r["seconds"] for r in rows if r["config"] == "n2"}
    for r in rows:
        r["ratio_to_plain"] = (
            round(r["seconds"] / plain[r["size"]], 3) if r["size"] in plain else None
        )
    scaling = {}
    for config in configs:
        mine = sorted((r["size"], r) for r in rows if r["config"] == config)
        first, last = mine[0][1], mine[-1][1]
        scaling[config] = {
            "s_per_1k": {str(size): r["s_per_1k"] for size, r in mine},
            "s_per_1k_ratio_largest_to_smallest": round(last["s_per_1k"] / first["s_per_1k"], 3),
            "peak_mb": {str(size): r["peak_mb"] for size, r in mine},
            "peak_mb_ratio_largest_to_smallest": round(last["peak_mb"] / first["peak_mb"], 3),
        }
    dask_vs_n2 = {
        str(r["size"]): round(r["seconds"] / n2[r["size"]], 3)
        for r in rows
        if r["config"] == "dask2" and r["size"] in n2
    }
    print()
    print(table(rows))
    print()
    for config, s in scaling.items():
        print(
            f"{config:<7} s/1k ratio (largest/smallest size) "
            f"{s['s_per_1k_ratio_largest_to_smallest']:.3f}, peak MB ratio "
            f"{s['peak_mb_ratio_largest_to_smallest']:.3f}"
        )
    if dask_vs_n2:
        print("dask2 / n2 seconds:", dask_vs_n2)
    if args.json:
        import platform

        from spacy_kexue.about import __version__

        report = {
            "command": shlex.join(["python", *sys.argv]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "spacy_kexue": __version__,
            "model": args.model,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "sizes": sizes,
            "configs": configs,
            "batch_size": args.batch_size,
            "chunk_size": args.chunk_size,
            "torch_threads": args.torch_threads or "default",
            "rows": rows,
            "scaling": scaling,
            "dask2_over_n2_seconds": dask_vs_n2,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_child":
        child(json.loads(sys.argv[2]))
    else:
        main()
