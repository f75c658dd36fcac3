"""OCR every image of a folder, run the spaCy pipeline on the text and write one JSON line per image.

    python scripts/ocr_to_jsonl.py IMAGES_DIR OUT.jsonl [--model zh_kexue_sm] [--top-k 3]

Images (.png .jpg .jpeg .bmp .gif .tif .tiff .webp, sorted by name) are read with the shipped
``OCRReader()`` and turned into Docs with its ``docs(nlp, ...)``. Each line of OUT.jsonl:

    {"image": name, "text": OCR text (lines joined by \\n), "tokens": [...], "spaces": [...],
     "cats": {"POSITIVE": p, "NEGATIVE": 1 - p}, "salient": [[token, saliency], ...],
     "ocr_confidence": mean recogniser probability of the characters, "n_chars": ...}

``tokens``/``spaces`` follow spaCy's ``Doc(vocab, words, spaces)``: joined with a space where
``spaces`` is true they give ``text`` back. An image that cannot be read (corrupt, not an image,
too large) or holds no text is reported on stderr with its file name and written to
``OUT.rejects.jsonl`` ({"image", "reason"}); the run goes on and exits with code 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def record(doc, name: str, top_k: int) -> dict:
    """The JSON record of one OCR'd Doc."""
    chars = [c for line in doc._.ocr["lines"] for c in line["chars"]]
    salient = doc._.salient(k=top_k) if doc.has_extension("salient") else []
    return {
        "image": name,
        "text": doc.text,
        "tokens": [t.text for t in doc],
        "spaces": [bool(t.whitespace_) for t in doc],
        "cats": {label: round(float(p), 6) for label, p in doc.cats.items()},
        "salient": [[t.text, round(float(t._.saliency), 4)] for t in salient],
        "ocr_confidence": round(statistics.mean(c["confidence"] for c in chars), 4),
        "n_chars": len(chars),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", type=Path, help="A folder of images.")
    parser.add_argument("output", type=Path, help="The JSONL to write.")
    parser.add_argument("--model", default="zh_kexue_sm", help="The spaCy pipeline to run.")
    parser.add_argument("--top-k", type=int, default=3, help="Most salient tokens to keep.")
    args = parser.parse_args()
    if not args.images.is_dir():
        sys.exit(f"{args.images}: not a folder")
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        sys.exit(f"{args.images}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")

    import spacy

    from spacy_kexue.errors import KexueError
    from spacy_kexue.ocr.reader import OCRReader

    nlp = spacy.load(args.model)
    reader = OCRReader()
    rejects_path = args.output.with_suffix(".rejects.jsonl")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    n_ok = n_rejected = 0
    with (
        args.output.open("w", encoding="utf-8") as out,
        rejects_path.open("w", encoding="utf-8") as rejects,
    ):
        for path in paths:
            try:
                # one image at a time, so that one bad file does not stop the stream
                doc = next(reader.docs(nlp, [path]))
                if not doc._.ocr["lines"]:
                    raise ValueError("no text found in the image")
                line = record(doc, path.name, args.top_k)
            except (KexueError, OSError, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
                print(f"{path}: rejected ({reason})", file=sys.stderr)
                rejects.write(json.dumps({"image": path.name, "reason": reason}) + "\n")
                n_rejected += 1
                continue
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            n_ok += 1
    print(f"Wrote {n_ok} records to {args.output}; {n_rejected} rejected ({rejects_path})")
    return 1 if n_rejected else 0


if __name__ == "__main__":
    sys.exit(main())
