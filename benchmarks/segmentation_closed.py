"""The closed-dictionary scenario: a segmenter trained from the SIGHAN closed-track PKU word
list (no counts) and the PKU test raw text only, scored on PKU test next to the bakeoff's
max-matching baseline (same word list), in one run.

    python benchmarks/segmentation_closed.py [--model-dir training/segmenter_closed] [--retrain]

The word list's counts are estimated by EM on the raw test text (unsupervised: no gold
segmentation is read before scoring). Training settings: configs/segmenter_closed.cfg.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from segmentation import tokenizer_segmenter
from segmentation_peers import (
    default_data_dir,
    format_table,
    peer_segmenters,
    score_all,
)

from spacy_kexue.tokenizer.evaluate import read_raw_lines

REPO = Path(__file__).resolve().parent.parent


def closed_segmenter(model_dir: Path, dictionary_weight: float | None = None):
    import spacy

    nlp = spacy.blank(
        "zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_kexue.DictSegmenter.v1"}}}
    )
    nlp.tokenizer.initialize(model=model_dir)
    if dictionary_weight is not None:
        nlp.tokenizer.dictionary_weight = dictionary_weight
    return tokenizer_segmenter(nlp.tokenizer)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--model-dir", type=Path, default=REPO / "training" / "segmenter_closed")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "segmenter_closed.cfg")
    parser.add_argument("--retrain", action="store_true", help="train even if --model-dir exists")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    command = shlex.join(
        ["python", "benchmarks/segmentation_closed.py", *(sys.argv[1:] if argv is None else argv)]
    )
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    words = args.data_dir / "cws" / "pku_training_words.utf8"
    raw = read_raw_lines(args.data_dir / "cws" / "pku_test.utf8")
    if args.retrain or not (args.model_dir / "model.safetensors").exists():
        from thinc.api import Config

        from spacy_kexue.tokenizer.train import train_segmenter

        train_segmenter(
            Config().from_disk(args.config),
            args.model_dir,
            dictionary=words,
            raw_texts=raw,
            log=log,
        )
    systems = {
        "kexue-closed": closed_segmenter(args.model_dir),
        "kexue-closed-tagger-only": closed_segmenter(args.model_dir, dictionary_weight=0.0),
        **peer_segmenters(args.data_dir, ["mwseg_pku"]),
    }
    rows = score_all(systems, args.data_dir, log=log)
    print(format_table(rows))
    ours = next(r for r in rows if r["system"] == "kexue-closed")
    base = next(r for r in rows if r["system"] == "mwseg_pku")
    print(
        f"\nclosed-dictionary PKU F: kexue {ours['pku_f']:.3f}, max-matching {base['pku_f']:.3f}, "
        f"ratio {ours['pku_f'] / base['pku_f']:.3f}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"command": command, "rows": rows}, indent=2, ensure_ascii=False) + "\n"
        )
    return rows


if __name__ == "__main__":
    main()
