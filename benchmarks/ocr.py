"""OCR benchmark: our reader (with and without the LM) against Tesseract and RapidOCR.

    python benchmarks/ocr.py build [--out training/ocr_bench] [--lines 240] [--pages 12]
    python benchmarks/ocr.py run [--sets training/ocr_bench] [--json benchmarks/results/ocr.json]
                                 [--lofo training/ocr/recognizer_lofo_uming] [--limit N]
    python benchmarks/ocr.py tune [--recognizer DIR] [--tune-lines 120]   # choose lm_weight
    python benchmarks/ocr.py --report benchmarks/results/ocr.json [--markdown]  # reprint a run

``build`` makes labelled sets (folders of PNGs + ``labels.jsonl``, read by ``kexue ocr
evaluate``) through a different renderer than training: HTML pages screenshotted by headless
Chromium (Debian package ``chromium``; fonts through fontconfig). Texts: sentences of the SIGHAN
2005 PKU test set (news) and of UD Chinese GSDSimp dev (wiki, with ASCII digits, letters and
punctuation), cut into pieces of 6-22 characters; none of them is in the LM's corpus (the
sentiment train split and jieba's dictionary words). Full-width letters and digits are folded to
ASCII (NFKC) and pieces with a character outside the recogniser's classes (GB2312 level 2,
rare symbols) are left out: the share is printed and saved. Only the allowed fonts are used,
never the reserved ones.

- ``lines_clean``: one line per image, the seven allowed faces in turn, 18-32 px, black on white;
- ``lines_degraded``: the same texts, a third on coloured backgrounds (also white on dark), then
  blur, noise, JPEG, contrast loss and a slight rotation (``Augmenter.preset("degraded")``,
  :data:`spacy_kexue.ocr.augment.PRESETS`);
- ``pages``: 8-line pages, one face per page, 20-24 px;
- ``lines_uming``: the texts of ``lines_clean`` in AR PL UMing only, for the leave-one-font-out
  estimate of unseen-font accuracy (``--lofo``: a recogniser trained without that font, by
  ``kexue ocr train --exclude-family "AR PL UMing"``).

``tune`` chooses the reader's ``lm_weight`` on other texts: pieces of the sentiment *dev* split,
rendered by the training renderer (PIL), half of them degraded; never the benchmark's texts.

``run`` reads every set with each engine and reports the character error rate (whitespace
ignored; ASCII and full-width punctuation are different characters), the line exact-match rate
and characters per second (reference characters over wall time; one process; Tesseract reads a
whole set per process, with its model loaded once). Targets (issue 7): CER at most half
Tesseract's on printed lines; close to RapidOCR on clean lines; throughput at least Tesseract's.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

from spacy_kexue.ocr.evaluate import evaluate_engine, read_labels
from spacy_kexue.paths import data_dir as default_data_dir

REPO = Path(__file__).resolve().parent.parent

#: (CSS family, CSS weight, name) of the allowed faces, as fontconfig knows them.
FACES = [
    ("Noto Sans CJK SC", 400, "noto-sans"),
    ("Noto Sans CJK SC", 700, "noto-sans-bold"),
    ("Noto Serif CJK SC", 400, "noto-serif"),
    ("Noto Serif CJK SC", 700, "noto-serif-bold"),
    ("WenQuanYi Zen Hei", 400, "wqy-zenhei"),
    ("WenQuanYi Micro Hei", 400, "wqy-microhei"),
    ("AR PL UMing CN", 400, "ar-pl-uming"),
]
UMING = FACES[-1]
SIZES = (18, 20, 24, 28, 32)
COLOURS = [("#1a237e", "#fff8e1"), ("#ffffff", "#1565c0"), ("#212121", "#c8e6c9")]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--force-device-scale-factor=1",
]
PAD = 10
SETS = ("lines_clean", "lines_degraded", "pages", "lines_uming")


# ----------------------------------------------------------------------------- texts


def _fold(text: str) -> str:
    """Full-width letters and digits to ASCII (NFKC on those only); other characters kept."""
    return "".join(
        unicodedata.normalize("NFKC", ch) if "\uff10" <= ch <= "\uff5a" and ch.isalnum() else ch
        for ch in text
    )


def _pieces(sentence: str, rng: np.random.Generator) -> list[str]:
    """Cut a sentence into pieces of 6-22 characters (at punctuation when possible)."""
    out = []
    s = sentence.strip()
    while len(s) >= 6:
        n = int(rng.integers(10, 23))
        if len(s) <= n + 5:
            out.append(s)
            break
        cut = max((s.rfind(p, 6, n) for p in "，。、；："), default=-1)
        cut = cut + 1 if cut >= 6 else n
        out.append(s[:cut].strip())
        s = s[cut:].strip()
    return [p for p in out if len(p) >= 6]


def load_texts(data: Path, n: int, seed: int = 0) -> tuple[list[str], dict]:
    from spacy_kexue.ocr.charset import default_charset

    charset = set(default_charset().chars) | {" "}
    rng = np.random.default_rng(seed)
    pku = [
        _fold(line.strip())
        for line in (data / "cws" / "pku_test.utf8").read_text("utf-8").splitlines()
    ]
    ud = [
        line[len("# text = ") :].strip()
        for line in (data / "cws" / "zh_gsdsimp-ud-dev.conllu").read_text("utf-8").splitlines()
        if line.startswith("# text = ")
    ]
    kept, dropped = [], 0
    for source in (pku, ud):
        pieces = [p for s in source for p in _pieces(s, rng)]
        rng.shuffle(pieces)
        good = [p for p in pieces if set(p) <= charset]
        dropped += len(pieces) - len(good)
        kept.append(good)
    half = n // 2
    texts = kept[0][:half] + kept[1][: n - half]
    total = len(kept[0]) + len(kept[1]) + dropped
    stats = {
        "pieces": total,
        "out_of_charset_share": dropped / total if total else 0.0,
        "sources": {"pku_test": min(half, len(kept[0])), "ud_gsdsimp_dev": len(texts) - half},
    }
    return texts, stats


# ------------------------------------------------------------------------- rendering


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise SystemExit("chromium is not on PATH: apt-get install chromium (Debian).")
    return path


def _screenshot(
    chromium: str, page: Path, shot: Path, width: int, height: int, profile: Path
) -> None:
    """Headless Chromium's screenshot of ``page`` (a window of ``width`` x ``height``)."""
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            f"--window-size={width},{height}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


def render_html_lines(
    lines: list[dict], out_dir: Path, prefix: str, *, width: int = 1400
) -> list[np.ndarray]:
    """Screenshot ``lines`` (dicts: text, family, weight, size, fg, bg) with Chromium, 30 per page;
    return one cropped image array per line (the line's box plus ``PAD`` pixels)."""
    from PIL import Image

    chromium = _chromium()
    images: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for start in range(0, len(lines), 30):
            chunk = lines[start : start + 30]
            stride = 2 * max(line["size"] for line in chunk) + 2 * PAD
            divs, tops = [], []
            for i, line in enumerate(chunk):
                top = 20 + i * stride
                tops.append(top)
                divs.append(
                    f'<div style="position:absolute;left:20px;top:{top}px;padding:{PAD}px;'
                    f"white-space:pre;line-height:1.25;font-family:'{line['family']}';"
                    f"font-weight:{line['weight']};font-size:{line['size']}px;"
                    f'color:{line["fg"]};background:{line["bg"]}">{html.escape(line["text"])}</div>'
                )
            height = 40 + len(chunk) * stride
            page = tmp / f"{prefix}-{start}.html"
            page.write_text(
                '<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;'
                "background:#fff}</style></head><body>" + "".join(divs) + "</body></html>",
                encoding="utf-8",
            )
            shot = tmp / f"{prefix}-{start}.png"
            profile = tmp / "profile"
            _screenshot(chromium, page, shot, width, height, profile)
            sheet = np.asarray(Image.open(shot).convert("RGB"))
            for line, top in zip(chunk, tops, strict=True):
                box_h = round(line["size"] * 1.25) + 2 * PAD
                stripe = sheet[top : top + box_h, :]
                differs = np.any(np.abs(stripe.astype(int) - 255).sum(axis=2) > 30, axis=0)
                cols = np.flatnonzero(differs)
                # a white line ends PAD pixels after its ink; a coloured one at its box's edge
                margin = PAD if line["bg"] == "#ffffff" else 0
                right = min(stripe.shape[1], (cols[-1] + 1 if cols.size else 40) + margin)
                images.append(np.ascontiguousarray(stripe[:, 20:right]))
    return images


def _save_set(folder: Path, images: list[np.ndarray], texts: list[str], meta: list[dict]) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "labels.jsonl", "w", encoding="utf-8") as f:
        for i, (img, text, info) in enumerate(zip(images, texts, meta, strict=True)):
            name = f"{i:04d}.png"
            Image.fromarray(img).save(folder / name)
            f.write(json.dumps({"image": name, "text": text, **info}, ensure_ascii=False) + "\n")


def _degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from spacy_kexue.ocr.augment import Augmenter

    return Augmenter.preset("degraded")(img, rng)


def build(out: Path, data: Path, n_lines: int, n_pages: int, seed: int = 0) -> dict:
    texts, stats = load_texts(data, n_lines + 8 * n_pages, seed)
    line_texts, page_texts = texts[:n_lines], texts[n_lines:]
    rng = np.random.default_rng(seed + 1)

    def spec(text: str, face, size: int, fg: str = "#000000", bg: str = "#ffffff") -> dict:
        return {
            "text": text,
            "family": face[0],
            "weight": face[1],
            "size": size,
            "fg": fg,
            "bg": bg,
        }

    clean = [
        spec(t, FACES[i % len(FACES)], SIZES[i % len(SIZES)]) for i, t in enumerate(line_texts)
    ]
    meta = [{"font": FACES[i % len(FACES)][2], "size": s["size"]} for i, s in enumerate(clean)]
    _save_set(out / "lines_clean", render_html_lines(clean, out, "clean"), line_texts, meta)

    coloured = []
    for i, s in enumerate(clean):
        if i % 3 == 0:
            fg, bg = COLOURS[(i // 3) % len(COLOURS)]
            s = {**s, "fg": fg, "bg": bg}
        coloured.append(s)
    degraded = [_degrade(img, rng) for img in render_html_lines(coloured, out, "degraded")]
    meta_d = [{**m, "coloured": i % 3 == 0} for i, m in enumerate(meta)]
    _save_set(out / "lines_degraded", degraded, line_texts, meta_d)

    uming = [spec(t, UMING, SIZES[i % len(SIZES)]) for i, t in enumerate(line_texts)]
    meta_u = [{"font": UMING[2], "size": s["size"]} for s in uming]
    _save_set(out / "lines_uming", render_html_lines(uming, out, "uming"), line_texts, meta_u)

    pages, page_labels, page_meta = [], [], []
    for p in range(n_pages):
        face, size = FACES[p % len(FACES)], (20, 22, 24)[p % 3]
        lines = page_texts[8 * p : 8 * p + 8]
        pages.append(_render_page(lines, face, size))
        page_labels.append("\n".join(lines))
        page_meta.append({"font": face[2], "size": size})
    _save_set(out / "pages", pages, page_labels, page_meta)
    stats["sets"] = {name: len(read_labels(out / name)) for name in SETS}
    (out / "texts.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    return stats


def _render_page(lines: list[str], face, size: int) -> np.ndarray:
    """One page of ``lines`` (one ``div`` each, line height 1.6) screenshotted by Chromium."""
    from PIL import Image

    chromium = _chromium()
    body = "".join(f'<div style="white-space:pre">{html.escape(t)}</div>' for t in lines)
    height = int(len(lines) * size * 1.6) + 80
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        page = tmp / "page.html"
        page.write_text(
            '<!doctype html><html><head><meta charset="utf-8"><style>body{margin:40px;'
            f"background:#fff;color:#000;font-family:'{face[0]}';font-weight:{face[1]};"
            f"font-size:{size}px;line-height:1.6}}</style></head><body>{body}</body></html>",
            encoding="utf-8",
        )
        shot = tmp / "page.png"
        _screenshot(chromium, page, shot, 900, height, tmp / "profile")
        return np.asarray(Image.open(shot).convert("RGB"))


# --------------------------------------------------------------------------- engines


def tesseract_batch(items, *, psm: int) -> tuple[dict[Path, str], float]:
    """Read every image in one Tesseract process (chi_sim); outputs split at form feeds."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise SystemExit(
            "tesseract is not on PATH: apt-get install tesseract-ocr tesseract-ocr-chi-sim"
        )
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "images.txt"
        listing.write_text("\n".join(str(item.path) for item in items) + "\n", encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.run(
            [exe, str(listing), "stdout", "-l", "chi_sim", "--psm", str(psm)],
            capture_output=True,
            check=True,
        )
        seconds = time.perf_counter() - start
    pages = proc.stdout.decode("utf-8").split("\f")
    if len(pages) < len(items):
        raise RuntimeError(f"tesseract returned {len(pages)} pages for {len(items)} images")
    return {item.path: pages[i] for i, item in enumerate(items)}, seconds


def rapidocr_engine():
    """RapidOCR (PP-OCR models in ONNX): ``read(path, line=False)``. A single-line image is read
    by the recogniser alone (``use_det=False``: as ``--psm 7`` tells Tesseract it is one line;
    its detector letterboxes a wide line into a large square, slower and worse); a page goes
    through detection, then the lines are sorted top to bottom."""
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def read(path: Path, line: bool = False) -> str:
        if line:
            result, _ = engine(str(path), use_det=False, use_cls=False, use_rec=True)
            return "".join(r[0] for r in result or [])
        result, _ = engine(str(path))
        if not result:
            return ""
        boxes = sorted(result, key=lambda r: (round(min(p[1] for p in r[0]) / 10), r[0][0][0]))
        return "\n".join(r[1] for r in boxes)

    return read


def run(sets: Path, lofo: Path | None, limit: int, engines: list[str]) -> dict:
    from spacy_kexue.ocr.reader import OCRReader

    results: dict = {"sets": {}, "engines": engines}
    readers = {}
    if "ours" in engines:
        readers = {"ours_lm": OCRReader(), "ours_nolm": OCRReader(use_lm=False)}
    if lofo is not None and "ours" in engines:
        readers["lofo_lm"] = OCRReader(lofo)
        readers["lofo_nolm"] = OCRReader(lofo, use_lm=False)
    rapid = rapidocr_engine() if "rapidocr" in engines else None
    for name in SETS:
        folder = sets / name
        if not folder.is_dir():
            continue
        items = read_labels(folder, limit=limit)
        row = {}
        for engine, reader in readers.items():
            if engine.startswith("lofo") and name != "lines_uming":
                continue
            reader.read(items[0].path)  # load the models outside the timing
            row[engine] = evaluate_engine(lambda p, r=reader: r.read(p).text, items)
        if "tesseract" in engines:
            outputs, seconds = tesseract_batch(items, psm=6 if name == "pages" else 7)
            scores = evaluate_engine(outputs.__getitem__, items)
            scores["seconds"] = seconds
            scores["chars_per_s"] = scores["n_chars"] / seconds
            row["tesseract"] = scores
        if rapid is not None:
            line = name != "pages"
            rapid(items[0].path, line)
            row["rapidocr"] = evaluate_engine(lambda p, line=line: rapid(p, line), items)
        results["sets"][name] = row
        print(format_set(name, row), flush=True)
    results["targets"] = targets(results)
    return results


def tune(
    data: Path,
    recognizer: Path | None,
    n: int,
    weights: list[float],
    ratios: list[float],
    seed: int = 0,
) -> dict:
    """CER of our reader on rendered sentiment-dev pieces for each LM weight and min_ratio."""
    from spacy_kexue.ocr.charset import default_charset
    from spacy_kexue.ocr.evaluate import LabelledImage
    from spacy_kexue.ocr.fonts import find_fonts
    from spacy_kexue.ocr.reader import OCRReader
    from spacy_kexue.ocr.render import render_line
    from spacy_kexue.readers import read_records

    charset = set(default_charset().chars)
    rng = np.random.default_rng(seed)
    pieces = []
    for _, record in read_records(data / "sentiment" / "dev.jsonl"):
        pieces.extend(p for p in _pieces(record["text"], rng) if set(p) <= charset)
        if len(pieces) >= n:
            break
    fonts = find_fonts()
    images = {}
    for i, text in enumerate(pieces[:n]):
        img, _ = render_line(text, fonts[i % len(fonts)], font_px=SIZES[i % len(SIZES)], padding=8)
        images[Path(f"{i}")] = _degrade(img, rng) if i % 2 else img
    items = [
        LabelledImage(path, text, i)
        for i, (path, text) in enumerate(zip(images, pieces[: len(images)], strict=True))
    ]
    out = {}
    for w in weights:
        for ratio in ratios if w > 0 else [0.0]:
            reader = OCRReader(recognizer, use_lm=w > 0, lm_weight=w, min_ratio=ratio)
            scores = evaluate_engine(lambda p, r=reader: r.read(images[p]).text, items)
            out[f"{w}/{ratio}"] = scores["cer"]
            print(
                f"lm_weight {w:5.2f}  min_ratio {ratio:6.3f}  CER {scores['cer']:.4f}  "
                f"({scores['n_chars']} chars)",
                flush=True,
            )
    return out


# --------------------------------------------------------------------------- reports


def format_set(name: str, row: dict) -> str:
    out = [f"\n{name}", f"  {'engine':<12} {'CER':>8} {'exact':>7} {'chars/s':>9}  images chars"]
    for engine, s in row.items():
        out.append(
            f"  {engine:<12} {s['cer']:8.4f} {s['exact']:7.3f} {s['chars_per_s']:9.1f}  "
            f"{s['n_images']:6d} {s['n_chars']:5d}"
        )
    return "\n".join(out)


def targets(results: dict) -> dict:
    out = {}
    for name, row in results["sets"].items():
        if "ours_lm" not in row or "tesseract" not in row:
            continue
        ours, tess = row["ours_lm"], row["tesseract"]
        t = {
            "cer_ratio_vs_tesseract": ours["cer"] / tess["cer"] if tess["cer"] else None,
            "cer_at_most_half_of_tesseract": ours["cer"] <= 0.5 * tess["cer"],
            "speed_ratio_vs_tesseract": ours["chars_per_s"] / tess["chars_per_s"],
            "speed_at_least_tesseract": ours["chars_per_s"] >= tess["chars_per_s"],
        }
        if "rapidocr" in row:
            t["cer_minus_rapidocr"] = ours["cer"] - row["rapidocr"]["cer"]
        out[name] = t
    return out


def report(results: dict) -> str:
    lines = [format_set(name, row) for name, row in results["sets"].items()]
    lines.append("\nTargets (ours with LM):")
    for name, t in results.get("targets", targets(results)).items():
        parts = [
            f"CER/Tesseract {t['cer_ratio_vs_tesseract']:.3f} "
            f"({'met' if t['cer_at_most_half_of_tesseract'] else 'NOT met'}: <= 0.5)",
            f"speed/Tesseract {t['speed_ratio_vs_tesseract']:.2f} "
            f"({'met' if t['speed_at_least_tesseract'] else 'NOT met'}: >= 1)",
        ]
        if "cer_minus_rapidocr" in t:
            parts.append(f"CER - RapidOCR {t['cer_minus_rapidocr']:+.4f}")
        lines.append(f"  {name}: " + "; ".join(parts))
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The results as one markdown table (CER %, exact-match %, characters/s per set and engine)."""
    rows = ["| set | engine | CER | line exact | chars/s |", "|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for engine, s in row.items():
            rows.append(
                f"| {name} | {engine} | {100 * s['cer']:.2f}% | {100 * s['exact']:.1f}% | "
                f"{s['chars_per_s']:.0f} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("build", "run", "tune"), default="run")
    parser.add_argument("--out", type=Path, default=REPO / "training" / "ocr_bench")
    parser.add_argument("--sets", type=Path, default=REPO / "training" / "ocr_bench")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--lines", type=int, default=240)
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lofo", type=Path, default=None)
    parser.add_argument("--recognizer", type=Path, default=None)
    parser.add_argument("--tune-lines", type=int, default=120)
    parser.add_argument(
        "--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0, 1.5]
    )
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.0, 0.001, 0.01, 0.05])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["ours", "tesseract", "rapidocr"],
        choices=("ours", "tesseract", "rapidocr"),
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help="With --report: a markdown table.")
    args = parser.parse_args()
    if args.report is not None:
        results = json.loads(args.report.read_text("utf-8"))
        print(markdown(results) if args.markdown else report(results))
        return
    if args.command == "tune":
        data = args.data_dir or default_data_dir()
        tune(data, args.recognizer, args.tune_lines, args.weights, args.ratios, args.seed)
        return
    if args.command == "build":
        data = args.data_dir or default_data_dir()
        stats = build(args.out, data, args.lines, args.pages, args.seed)
        print(json.dumps(stats, indent=2))
        return
    results = run(args.sets, args.lofo, args.limit, args.engines)
    results["command"] = " ".join(["python", "benchmarks/ocr.py", *sys.argv[1:]])
    results["texts"] = json.loads((args.sets / "texts.json").read_text("utf-8"))
    print(report(results).split("\nTargets")[-1].join(["\nTargets", ""]))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("OMP_THREAD_LIMIT", "2")
    main()
