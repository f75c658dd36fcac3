"""Score the OCR -> sentiment records against the texts the images were rendered from.

    python scripts/evaluate.py OCR.jsonl LABELS.jsonl [--model zh_kexue_sm] [--json OUT.json]

LABELS.jsonl is what scripts/render_samples.py writes ({"image", "text", "label"}). Reports the
character error rate of the OCR text against the source text (whitespace ignored, micro-averaged:
:func:`spacy_kexue.ocr.metrics.character_error_rate`), the sentiment agreement (the share of images
whose OCR text gets the same label from the pipeline as the source text), and, where the sources
carry gold labels, the pipeline's accuracy on the OCR texts and on the source texts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from spacy_kexue.errors import DataFileError
from spacy_kexue.ocr.metrics import character_error_rate
from spacy_kexue.readers import read_records

POSITIVE = "POSITIVE"


def read_jsonl(path: Path, fields: tuple[str, ...]) -> list[dict]:
    """Records of a JSONL file (spacy_kexue's reader); a bad line stops the run with its file
    and line number."""
    records = []
    try:
        for lineno, record in read_records(path):
            missing = [k for k in fields if k not in record]
            if missing:
                sys.exit(f"{path}, line {lineno}: missing field(s) {', '.join(missing)}")
            records.append(record)
    except DataFileError as err:
        sys.exit(str(err))
    return records


def positive(cats: dict) -> int:
    return int(max(cats, key=cats.get) == POSITIVE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ocr", type=Path, help="The output of scripts/ocr_to_jsonl.py.")
    parser.add_argument("labels", type=Path, help="labels.jsonl of scripts/render_samples.py.")
    parser.add_argument("--model", default="zh_kexue_sm")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import spacy

    sources = {r["image"]: r for r in read_jsonl(args.labels, ("image", "text"))}
    ocr = [r for r in read_jsonl(args.ocr, ("image", "text", "cats")) if r["image"] in sources]
    if not ocr:
        sys.exit(f"{args.ocr}: no record matches an image of {args.labels}")
    nlp = spacy.load(args.model)
    source_texts = [sources[r["image"]]["text"] for r in ocr]
    source_pred = [positive(doc.cats) for doc in nlp.pipe(source_texts)]
    ocr_pred = [positive(r["cats"]) for r in ocr]
    result = {
        "n_images": len(sources),
        "n_read": len(ocr),
        "cer": character_error_rate([r["text"] for r in ocr], source_texts),
        "sentiment_agreement": sum(a == b for a, b in zip(ocr_pred, source_pred, strict=True))
        / len(ocr),
    }
    gold = [sources[r["image"]].get("label") for r in ocr]
    if all(g in (0, 1) for g in gold):
        result["accuracy_ocr"] = sum(p == g for p, g in zip(ocr_pred, gold, strict=True)) / len(ocr)
        result["accuracy_source"] = sum(
            p == g for p, g in zip(source_pred, gold, strict=True)
        ) / len(ocr)
    text = "  ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()
    )
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
