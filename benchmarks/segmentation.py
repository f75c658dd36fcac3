"""Benchmark of the dictionary-trained segmenter against its peers, in one run.

    python benchmarks/segmentation.py [--model zh_kexue_sm] [--json benchmarks/results/segmentation.json]

Prints, for our segmenter (``--model``: a pipeline name or path) and every peer of
``segmentation_peers``: PKU test P/R/F with the official SIGHAN scorer, UD GSDSimp dev F,
and single-process speed. Then throughput through ``nlp.pipe`` on the PKU test text:
ours with ``n_process`` 1 and 2, against raw ``jieba.lcut`` (the harder baseline) and
spaCy's stock zh tokenizer with ``segmenter = "jieba"`` through ``nlp.pipe``, with ratios.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from segmentation_peers import (
    PEER_NAMES,
    default_data_dir,
    format_table,
    peer_segmenters,
    score_all,
)

from spacy_kexue.tokenizer.evaluate import read_raw_lines

REPO = Path(__file__).resolve().parent.parent


def ours(model: str, dictionary_weight: float | None = None):
    """Our pipeline and a segment function; ``dictionary_weight`` overrides the tokenizer's
    (0 = the neural tagger alone, without the dictionary path's vote)."""
    import spacy

    nlp = spacy.load(model)
    if dictionary_weight is not None:
        nlp.tokenizer.dictionary_weight = dictionary_weight
    return nlp, tokenizer_segmenter(nlp.tokenizer)


def tokenizer_segmenter(tokenizer):
    """A ``segment(lines) -> words per line`` function from a spaCy tokenizer (batched pipe)."""

    def segment(lines: list[str]) -> list[list[str]]:
        return [[t.text for t in doc if not t.is_space] for doc in tokenizer.pipe(lines)]

    return segment


def pkuseg_segmenter(model_dir: Path):
    """spaCy's stock zh tokenizer with a pkuseg model trained by our pkuseg backend."""
    import spacy

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
    nlp.tokenizer.initialize(pkuseg_model=str(model_dir))
    return tokenizer_segmenter(nlp.tokenizer)


def pipe_throughput(nlp, lines: list[str], n_process: int, repeat: int) -> float:
    """Characters per second through ``nlp.pipe`` (best of ``repeat`` passes)."""
    n_chars = sum(map(len, lines))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _doc in nlp.pipe(lines, n_process=n_process, batch_size=500):
            pass
        best = min(best, time.perf_counter() - start)
    return n_chars / best


def jieba_throughput(lines: list[str], repeat: int) -> float:
    import jieba

    jieba.initialize()
    n_chars = sum(map(len, lines))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for line in lines:
            jieba.lcut(line)
        best = min(best, time.perf_counter() - start)
    return n_chars / best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="zh_kexue_sm", help="our pipeline: a package name or a path"
    )
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest counts")
    parser.add_argument("--systems", default=",".join(PEER_NAMES))
    parser.add_argument(
        "--pkuseg-model",
        type=Path,
        default=None,
        help="also score a model from `kexue segmenter train --backend pkuseg` (the CRF ablation)",
    )
    args = parser.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    nlp, segment = ours(args.model)
    systems = {"kexue": segment, "kexue-tagger-only": ours(args.model, dictionary_weight=0.0)[1]}
    if args.pkuseg_model is not None:
        systems["kexue-pkuseg-crf"] = pkuseg_segmenter(args.pkuseg_model)
    systems.update(peer_segmenters(args.data_dir, [n for n in args.systems.split(",") if n]))
    rows = score_all(systems, args.data_dir, repeat=args.repeat, log=log)
    print(format_table(rows))
    best_pku = max(
        (r for r in rows if not r["system"].startswith("kexue")), key=lambda r: r["pku_f"]
    )
    kexue = next(r for r in rows if r["system"] == "kexue")
    print(
        f"\nPKU F: kexue {kexue['pku_f']:.3f}, best peer {best_pku['system']} {best_pku['pku_f']:.3f}, "
        f"ratio {kexue['pku_f'] / best_pku['pku_f']:.3f}"
    )

    import spacy

    lines = read_raw_lines(args.data_dir / "cws" / "pku_test.utf8")
    log("throughput through nlp.pipe ...")
    speed = {
        "jieba.lcut": jieba_throughput(lines, args.repeat),
        "spacy zh jieba, nlp.pipe": pipe_throughput(
            spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}}),
            lines,
            1,
            args.repeat,
        ),
    }
    for n_process in (1, 2):
        speed[f"kexue nlp.pipe n_process={n_process}"] = pipe_throughput(
            nlp, lines, n_process, args.repeat
        )
    print(f"\nthroughput on PKU test (characters/second, best of {args.repeat})")
    for name, value in speed.items():
        print(
            f"  {name:<32} {value:>10,.0f}   ratio to jieba.lcut {value / speed['jieba.lcut']:.2f}, "
            f"to spaCy zh jieba {value / speed['spacy zh jieba, nlp.pipe']:.2f}"
        )
    command = shlex.join(
        ["python", "benchmarks/segmentation.py", *(sys.argv[1:] if argv is None else argv)]
    )
    result = {"command": command, "rows": rows, "throughput": speed, "model": args.model}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    main()
