"""Evaluate an assembled pipeline and write its package meta and model card from the numbers.

    python benchmarks/pipeline.py evaluate training/zh_kexue_sm --json benchmarks/results/pipeline.json
    python benchmarks/pipeline.py meta training/zh_kexue_sm benchmarks/results/pipeline.json \\
        --meta configs/meta_zh_kexue_sm.json --card configs/zh_kexue_sm_card.md

``evaluate`` scores every part of one pipeline on held-out data, without peers (the peer
comparisons are the ``benchmarks`` workflow's): the tokenizer on PKU test (the official SIGHAN
scorer) and UD Chinese GSDSimp dev, ``kexue_textcat`` on the sentiment test split (raw texts
through the whole pipeline), ``kexue_vae`` on the first ``--vae-limit`` test texts, and
``nlp.pipe`` speed on the PKU test text.

``meta`` writes the pipeline directory's ``meta.json`` (the base meta with ``performance``
from the evaluation) and its ``README.md``, the model card that ``spacy package`` ships: the
card template with ``{placeholders}`` filled from the measured numbers. Nothing is typed in by
hand: a number the evaluation did not produce is an error.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from segmentation import tokenizer_segmenter
from segmentation_peers import PKU_RAW, default_data_dir, score_all

from spacy_kexue.textcat.labelled import POSITIVE, read_labelled
from spacy_kexue.textcat.metrics import binary_scores
from spacy_kexue.tokenizer.evaluate import read_raw_lines

REPO = Path(__file__).resolve().parent.parent


def git_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` for uncommitted changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def evaluate_segmentation(nlp, data_dir: Path, limit: int | None = None) -> dict:
    (row,) = score_all({"kexue": tokenizer_segmenter(nlp.tokenizer)}, data_dir, limit=limit)
    keys = ("pku_p", "pku_r", "pku_f", "pku_oov_recall", "pku_iv_recall", "ud_f")
    return {k: row[k] for k in keys}


def evaluate_textcat(nlp, data_dir: Path, limit: int | None = None) -> dict:
    path = data_dir / "sentiment" / "test.jsonl"
    texts, gold = zip(*list(read_labelled(path))[:limit], strict=True)
    docs = nlp.pipe(texts, batch_size=256)
    pred = [int(max(doc.cats, key=doc.cats.get) == POSITIVE) for doc in docs]
    result = binary_scores(list(gold), pred)
    return {"cats_accuracy": result["accuracy"], "cats_macro_f": result["macro_f1"], "n": len(gold)}


def evaluate_vae(nlp, data_dir: Path, limit: int, iw_samples: int) -> dict:
    from spacy_kexue.vae.component import KexueVAE
    from spacy_kexue.vae.evaluate import evaluate_texts

    vae = next((pipe for _, pipe in nlp.pipeline if isinstance(pipe, KexueVAE)), None)
    if vae is None:
        return {}
    texts = [text for text, _ in read_labelled(data_dir / "sentiment" / "test.jsonl")][:limit]
    result = evaluate_texts(vae.model, list(nlp.tokenizer.pipe(texts)), iw_samples=iw_samples)
    return {f"vae_{k}": result[k] for k in ("nll", "ppl", "kl", "mi", "au")} | {"vae_n": len(texts)}


def pipe_speed(nlp, lines: list[str]) -> dict:
    list(nlp.pipe(lines[:10]))  # warm up: lazily built parts, first allocations
    start = time.perf_counter()
    docs = list(nlp.pipe(lines, batch_size=256))
    seconds = time.perf_counter() - start
    return {
        "chars_per_s": sum(len(line) for line in lines) / seconds,
        "docs_per_s": len(docs) / seconds,
    }


def evaluate(
    model: str, data_dir: Path, vae_limit: int, iw_samples: int, limit: int | None = None
) -> dict:
    """Every score of ``model``; ``limit`` keeps the first N lines of each set (quick checks)."""
    import spacy

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    nlp = spacy.load(model)
    result: dict = {
        "command": shlex.join(["python", "benchmarks/pipeline.py", *sys.argv[1:]]),
        "model": str(model),
        "commit": git_commit(),
    }
    log("segmentation: PKU test and UD dev ...")
    result["tokenizer"] = evaluate_segmentation(nlp, data_dir, limit)
    if "textcat" in nlp.pipe_names:
        log("sentiment: the test split through the whole pipeline ...")
        result["textcat"] = evaluate_textcat(nlp, data_dir, limit)
    log(f"VAE: the first {vae_limit} test texts ...")
    result["vae"] = evaluate_vae(nlp, data_dir, vae_limit, iw_samples)
    log("speed: nlp.pipe over PKU test ...")
    result["speed"] = pipe_speed(nlp, read_raw_lines(data_dir / PKU_RAW)[:limit])
    result["limit"] = limit
    result["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return result


def performance(result: dict) -> dict:
    """The flat ``performance`` block of meta.json (spaCy's own keys where there are any)."""
    seg = result["tokenizer"]
    perf = {
        "token_p": seg["pku_p"],
        "token_r": seg["pku_r"],
        "token_f": seg["pku_f"],
        "token_oov_recall": seg["pku_oov_recall"],
        "ud_token_f": seg["ud_f"],
    }
    perf.update({k: v for k, v in result.get("textcat", {}).items() if k != "n"})
    perf.update({k: v for k, v in result.get("vae", {}).items() if k != "vae_n"})
    perf["pipe_chars_per_s"] = result["speed"]["chars_per_s"]
    return perf


class _Strict(dict):
    def __missing__(self, key):
        raise KeyError(f"the model card asks for {{{key}}}, which the evaluation did not produce")


def card_values(result: dict, meta: dict) -> dict:
    values = {k: v for k, v in performance(result).items()}
    for key in ("cats_accuracy", "cats_macro_f"):
        if key in values:
            values[key] = 100 * values[key]
    values.update(
        textcat_n=result.get("textcat", {}).get("n"),
        vae_n=result.get("vae", {}).get("vae_n"),
        commit=result.get("commit") or "unknown",
        date=result["date"],
        version=meta["version"],
        requirements=", ".join(f"`{r}`" for r in meta.get("requirements", [])),
    )
    return values


def write_meta(model_dir: Path, result: dict, base_meta: Path, card: Path | None) -> dict:
    meta = json.loads(base_meta.read_text(encoding="utf8"))
    own = json.loads((model_dir / "meta.json").read_text(encoding="utf8"))
    own.update(meta)
    own["performance"] = performance(result)
    (model_dir / "meta.json").write_text(
        json.dumps(own, indent=2, ensure_ascii=False) + "\n", encoding="utf8"
    )
    if card is not None:
        text = card.read_text(encoding="utf8").format_map(_Strict(card_values(result, own)))
        (model_dir / "README.md").write_text(text, encoding="utf8")
    return own


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="score one pipeline on held-out data")
    ev.add_argument("model", help="a pipeline: package name or path")
    ev.add_argument("--data-dir", type=Path, default=default_data_dir())
    ev.add_argument("--vae-limit", type=int, default=1000)
    ev.add_argument("--iw-samples", type=int, default=20)
    ev.add_argument("--limit", type=int, default=None, help="first N lines of each set only")
    ev.add_argument("--json", type=Path, required=True)
    me = sub.add_parser("meta", help="write meta.json performance and README.md into a pipeline")
    me.add_argument("model_dir", type=Path)
    me.add_argument("results", type=Path, help="the JSON `evaluate` wrote")
    me.add_argument("--meta", type=Path, required=True, help="the base meta.json")
    me.add_argument("--card", type=Path, default=None, help="the model card template")
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        result = evaluate(args.model, args.data_dir, args.vae_limit, args.iw_samples, args.limit)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        meta = write_meta(
            args.model_dir, json.loads(args.results.read_text()), args.meta, args.card
        )
        print(json.dumps(meta["performance"], indent=2))


if __name__ == "__main__":
    main()
