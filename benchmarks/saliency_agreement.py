"""How far each saliency method agrees with occlusion, per band of the textcat's confidence.

    python benchmarks/saliency_agreement.py [--model zh_kexue_sm] [--split dev] [--limit 0] \\
        [--json benchmarks/results/saliency_agreement.json]

Occlusion (leave-one-out) scores each token by the drop of the predicted class's probability
when the token is deleted: the reference. For every method of ``benchmarks/saliency.py`` and
every doc with at least 6 tokens, the Spearman correlation of its scores with occlusion's; docs
are grouped by the predicted class's probability (0.5-0.6, 0.6-0.7, ..., 0.9-1.0). Reported
per band and method: the mean correlation and the share of docs where it is negative (the
method points the other way). Settings are chosen on the dev split (the default), never test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from saliency import METHODS, MIN_TOKENS, saliencies

from spacy_kexue.paths import data_dir as default_data_dir
from spacy_kexue.textcat.labelled import read_labelled

BANDS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0000001)
REFERENCE = "occlusion"


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (what Spearman's correlation correlates)."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x), dtype=np.float64)
    r[order] = np.arange(len(x))
    for value in np.unique(x):  # average the ranks of ties
        tied = x == value
        r[tied] = r[tied].mean()
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's correlation of two score vectors (0 when either is constant)."""
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / norm) if norm > 0 else 0.0


def agreement(scores: dict[str, list[np.ndarray]], confidence: np.ndarray) -> dict:
    """band -> method -> {"docs", "mean_rho", "negative"} against :data:`REFERENCE`."""
    out: dict[str, dict] = {}
    bands = [
        (f"{lo:.1f}-{min(hi, 1.0):.1f}", lo, hi) for lo, hi in zip(BANDS, BANDS[1:], strict=False)
    ]
    for label, low, high in [*bands, ("all", BANDS[0], BANDS[-1])]:
        in_band = np.flatnonzero((confidence >= low) & (confidence < high))
        out[label] = {}
        for name, per_doc in scores.items():
            if name == REFERENCE:
                continue
            rhos = np.asarray([spearman(per_doc[i], scores[REFERENCE][i]) for i in in_band])
            out[label][name] = {
                "docs": int(len(in_band)),
                "mean_rho": float(rhos.mean()) if len(rhos) else None,
                "negative": float((rhos < 0).mean()) if len(rhos) else None,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="zh_kexue_sm")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--limit", type=int, default=0, help="The first N docs (0: all).")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import spacy
    import torch

    torch.set_num_threads(1)
    data = args.data_dir or default_data_dir()
    texts = [text for text, _ in read_labelled(data / "sentiment" / f"{args.split}.jsonl")]
    texts = texts[: args.limit or None]
    nlp = spacy.load(args.model)
    with nlp.select_pipes(enable=[]):
        docs = [doc for doc in nlp.pipe(texts) if len(doc) >= MIN_TOKENS]
    scored = list(nlp.get_pipe("textcat").pipe([d.copy() for d in docs]))
    confidence = np.asarray([max(d.cats.values()) for d in scored])
    scores = {name: saliencies(nlp, docs, settings, 1)[0] for name, settings in METHODS.items()}
    result = agreement(scores, confidence)
    names = [n for n in METHODS if n != REFERENCE]
    print(f"Agreement with occlusion on {len(docs)} {args.split} docs (Spearman; share < 0)")
    print(f"{'confidence':<11} {'docs':>5}  " + "  ".join(f"{n[:26]:>26}" for n in names))
    for band, row in result.items():
        cells = [
            f"{row[n]['mean_rho']:+.3f} ({row[n]['negative']:.0%})" if row[n]["docs"] else "-"
            for n in names
        ]
        print(f"{band:<11} {row[names[0]]['docs']:>5}  " + "  ".join(f"{c:>26}" for c in cells))
    if args.json:
        payload = {"command": "python " + " ".join(sys.argv), "docs": len(docs), "bands": result}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
