"""Render review texts as PNG pages, for an OCR demo with known source texts.

    python scripts/render_samples.py SOURCE OUT_DIR [--n 20] [--font "Noto Sans CJK SC"]
        [--font-px 32] [--chars-per-line 24]

SOURCE is a JSONL file with a ``text`` field (and optionally ``label`` 1/0), such as the shared
sentiment/test.jsonl, or a .txt file with one text a line. The first N non-empty texts are drawn
line by line with the package's :func:`spacy_kexue.ocr.render.render_line` in an allowed font
(never the fonts reserved for evaluation) and stacked into a page. Writes ``OUT_DIR/0000.png``...
and ``OUT_DIR/labels.jsonl`` ({"image", "text", "label"}; the layout of ``kexue ocr evaluate``):
``text`` is what was drawn, its lines joined by ``\\n`` (characters the font lacks are dropped).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from spacy_kexue.ocr.fonts import coverage, find_fonts
from spacy_kexue.ocr.render import render_line


def read_source(path: Path, n: int) -> list[dict]:
    """The first ``n`` non-empty records of a .jsonl (text, label) or .txt (one text a line)."""
    records = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            if path.suffix == ".jsonl":
                try:
                    record = json.loads(line)
                    text = record["text"]
                except (ValueError, KeyError, TypeError) as err:
                    sys.exit(f"{path}:{lineno}: not a JSON object with a 'text' field ({err})")
                label = record.get("label")
            else:
                text, label = line.rstrip("\n"), None
            text = re.sub(r"\s+", " ", str(text)).strip()
            if text:
                records.append({"text": text, "label": label, "source_line": lineno})
            if len(records) >= n:
                break
    return records


def wrap(text: str, width: int) -> list[str]:
    """Cut a text into lines of at most ``width`` characters (no line starts with a space)."""
    lines, rest = [], text
    while rest:
        lines.append(rest[:width].rstrip())
        rest = rest[width:].lstrip()
    return [line for line in lines if line]


def render_page(lines: list[str], font, font_px: int, gap: int, margin: int) -> np.ndarray:
    """Stack the rendered lines (dark on white) with ``gap`` pixels between them."""
    images = [render_line(line, font, font_px=font_px, padding=0)[0] for line in lines]
    width = max(img.shape[1] for img in images) + 2 * margin
    height = sum(img.shape[0] for img in images) + gap * (len(images) - 1) + 2 * margin
    page = np.full((height, width), 255, dtype=np.uint8)
    y = margin
    for img in images:
        page[y : y + img.shape[0], margin : margin + img.shape[1]] = img
        y += img.shape[0] + gap
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="A .jsonl (text, label) or .txt file.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=20, help="How many texts to render.")
    parser.add_argument("--font", default="Noto Sans CJK SC", help="An allowed font family.")
    parser.add_argument("--font-px", type=int, default=32)
    parser.add_argument("--chars-per-line", type=int, default=24)
    args = parser.parse_args()
    from PIL import Image

    if not args.source.exists():
        sys.exit(f"{args.source}: no such file")
    fonts = find_fonts((args.font,))  # refuses the fonts reserved for evaluation
    if not fonts:
        sys.exit(f"font family {args.font!r} is not installed")
    font = fonts[0]
    records = read_source(args.source, args.n)
    if not records:
        sys.exit(f"{args.source}: no texts")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    labels = []
    for i, record in enumerate(records):
        covered = coverage(font, set(record["text"]))
        text = "".join(ch for ch in record["text"] if ch == " " or ch in covered)
        lines = wrap(text, args.chars_per_line)
        if not lines:
            print(
                f"{args.source}:{record['source_line']}: nothing drawable, skipped", file=sys.stderr
            )
            continue
        name = f"{i:04d}.png"
        page = render_page(lines, font, args.font_px, gap=args.font_px // 2, margin=args.font_px)
        Image.fromarray(page).save(args.out_dir / name)
        labels.append({"image": name, "text": "\n".join(lines), "label": record["label"]})
    with (args.out_dir / "labels.jsonl").open("w", encoding="utf-8") as f:
        for label in labels:
            f.write(json.dumps(label, ensure_ascii=False) + "\n")
    print(f"Wrote {len(labels)} pages in {font.family} to {args.out_dir}")


if __name__ == "__main__":
    main()
