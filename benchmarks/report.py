"""Assemble the saved benchmark results into one markdown report with plots.

    python benchmarks/report.py [--results benchmarks/results] [--out reports] [--run-log reports/all_run.log]

Reads the JSON files the benchmark scripts write (``pipeline.json`` from the ``evaluate`` step
on the shipped pipeline, ``pipeline_rebuild.json`` from the same step in the last ``all`` run,
``segmentation.json``, ``segmentation_closed.json``, ``sentiment.json``,
``sentiment_shipped.json``, ``saliency.json``, ``vae.json``, ``ocr.json``, ``pipe.json``,
``pipe_100k.json``, ``robustness.json``) and writes ``REPORT.md`` into ``--out``,
with the git commit of the code, the date, the command stored in each results file, every
metric table (the numbers exactly as saved, only formatted) and PNG plots next to it:
segmentation F1 against throughput, sentiment accuracy per encoder and loss, OCR CER per
set and engine, and a copy of ``vae_curves.png`` when the VAE benchmark saved one. A
missing results file gets a line saying so; nothing is re-run or recomputed. A results file
that stores no command is attributed to the project.yml command that lists it as an output.

``--run-log`` adds the wall time of each step of a ``spacy project run`` workflow, from a log
whose lines are ``EPOCH_SECONDS<TAB>output line`` (what ``benchmarks/run_workflow.sh`` writes),
and its status file next to it (``rc=... seconds=... commit=...``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RESULT_FILES = (
    "pipeline.json",
    "pipeline_rebuild.json",
    "segmentation.json",
    "segmentation_closed.json",
    "sentiment.json",
    "sentiment_shipped.json",
    "saliency.json",
    "vae.json",
    "ocr.json",
    "pipe.json",
    "pipe_100k.json",
    "speed.json",
    "speed_segment.json",
    "robustness.json",
)
VAE_CURVES = "vae_curves.png"
SEGMENTATION_PLOT = "segmentation_f1_vs_speed.png"
SENTIMENT_PLOT = "sentiment_accuracy.png"
OCR_PLOT = "ocr_cer.png"


# --------------------------------------------------------------------------- helpers


def git_commit(repo: Path = REPO) -> str:
    """``git rev-parse HEAD`` of ``repo``, or ``"unknown"`` when git cannot say."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def load_results(results_dir: Path) -> dict[str, dict | None]:
    """Every known results file parsed, ``None`` for the missing ones."""
    out: dict[str, dict | None] = {}
    for name in RESULT_FILES:
        path = results_dir / name
        out[name] = json.loads(path.read_text("utf-8")) if path.exists() else None
    return out


def table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> str:
    """A markdown table; the first ``text_columns`` left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] * text_columns + ["---:"] * (len(header) - text_columns)) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(value, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _at_k(scores: dict, k: int):
    """``scores[k]`` whether the JSON keys are strings (as saved) or ints."""
    return scores.get(str(k), scores.get(k))


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


# --------------------------------------------------------------------------- sections


def _segmentation_rows(rows: list[dict]) -> str:
    header = ["system", "PKU P", "PKU R", "PKU F", "PKU OOV-R", "PKU IV-R"]
    header += ["UD P", "UD R", "UD F", "UD OOV-R", "chars/s", "load s"]
    body = [
        [
            r["system"],
            _num(r.get("pku_p"), ".3f"),
            _num(r.get("pku_r"), ".3f"),
            _num(r.get("pku_f"), ".3f"),
            _num(r.get("pku_oov_recall"), ".3f"),
            _num(r.get("pku_iv_recall"), ".3f"),
            _num(r.get("ud_p"), ".3f"),
            _num(r.get("ud_r"), ".3f"),
            _num(r.get("ud_f"), ".3f"),
            _num(r.get("ud_oov_recall"), ".3f"),
            _num(r.get("chars_per_s"), ",.0f"),
            _num(r.get("load_s"), ".2f"),
        ]
        for r in rows
    ]
    return table(header, body)


def section_segmentation(data: dict) -> str:
    lines = ["## Segmentation", ""]
    if data.get("model"):
        lines += [f"Model: `{data['model']}`.", ""]
    lines += [
        "PKU: SIGHAN 2005 PKU test, official scorer (OOV w.r.t. the PKU training words); "
        "UD: GSDSimp dev, span P/R/F; chars/s on the PKU test raw text, one process.",
        "",
        _segmentation_rows(data.get("rows", [])),
    ]
    if data.get("throughput"):
        lines += ["", "### Throughput through `nlp.pipe` (PKU test text)", ""]
        lines.append(
            table(
                ["system", "chars/s"],
                [[name, _num(v, ",.0f")] for name, v in data["throughput"].items()],
            )
        )
    return "\n".join(lines)


def section_segmentation_closed(data: dict) -> str:
    lines = [
        "## Segmentation, closed track",
        "",
        "Segmenter trained from the SIGHAN closed-track PKU word list (no counts) and the PKU "
        "test raw text only, next to the bakeoff's max-matching baseline; same scoring as above.",
        "",
        _segmentation_rows(data.get("rows", [])),
    ]
    return "\n".join(lines)


def _sentiment_tables(data: dict) -> list[str]:
    lines = [f"Shared test split: {data.get('n_test', 'n/a')} reviews.", ""]
    cells = data.get("cells") or {}
    if cells:
        with_dev = any("dev_accuracy_mean" in cell for cell in cells.values())
        body = []
        for name, cell in cells.items():
            encoder, _, loss = name.partition(" / ")
            acc = _num(cell.get("accuracy_mean"), ".4f")
            if len(cell.get("seeds", [])) > 1 and cell.get("accuracy_std") is not None:
                acc += f" ± {cell['accuracy_std']:.4f}"
            row = [encoder, loss or "-", str(len(cell.get("seeds", [])))]
            if with_dev:
                row.append(_num(cell.get("dev_accuracy_mean"), ".4f"))
            row += [
                acc,
                _num(cell.get("macro_f1_mean"), ".4f"),
                _num(cell.get("train_seconds_mean"), ".0f"),
                _num(cell.get("docs_per_second_mean"), ".0f"),
            ]
            body.append(row)
        header = ["encoder (granularity)", "loss", "seeds"] + ["dev accuracy"] * with_dev
        header += ["test accuracy", "macro-F1", "train s", "docs/s"]
        lines += [table(header, body, text_columns=2), ""]
    if data.get("shipped"):
        s = data["shipped"]
        lines += [
            "Shipped pipeline:",
            "",
            table(
                ["pipeline", "accuracy", "macro-F1", "docs/s"],
                [
                    [
                        str(data.get("shipped_name", "shipped")),
                        _num(s.get("accuracy"), ".4f"),
                        _num(s.get("macro_f1"), ".4f"),
                        _num(s.get("docs_per_second"), ".0f"),
                    ]
                ],
            ),
            "",
        ]
    peers = data.get("peers") or {}
    if peers:
        lines += [
            "Peers:",
            "",
            table(
                ["peer", "accuracy", "macro-F1", "train s", "docs/s"],
                [
                    [
                        name,
                        _num(p.get("accuracy"), ".4f"),
                        _num(p.get("macro_f1"), ".4f"),
                        _num(p.get("train_seconds"), ".0f") if "train_seconds" in p else "-",
                        _num(p.get("docs_per_second"), ".0f"),
                    ]
                    for name, p in peers.items()
                ],
            ),
        ]
    return lines


def section_sentiment(data: dict) -> str:
    lines = ["## Sentiment", "", "Accuracy per encoder (granularity) and loss, mean over seeds."]
    lines += [""] + _sentiment_tables(data)
    return "\n".join(lines).rstrip()


def section_sentiment_shipped(data: dict) -> str:
    lines = ["## Sentiment, shipped pipeline", ""] + _sentiment_tables(data)
    return "\n".join(lines).rstrip()


def section_saliency(data: dict) -> str:
    lines = ["## Saliency", ""]
    s = data.get("summary") or {}
    if data.get("model"):
        lines += [f"Model: `{data['model']}`.", ""]
    lines += [
        f"Faithfulness on {s.get('docs', 'n/a')} test docs: drop of the predicted class's "
        "probability when the top-k tokens are removed (AOPC over k=1..5); "
        f"random deletion: mean over {data.get('draws', 'n/a')} draws per doc.",
        "",
    ]
    body = []
    for name, r in (data.get("methods") or {}).items():
        drop = r.get("drop", {})
        least = r.get("least_drop")
        body.append(
            [
                name,
                _num(_at_k(drop, 1), ".4f"),
                _num(_at_k(drop, 3), ".4f"),
                _num(_at_k(drop, 5), ".4f"),
                _num(r.get("aopc"), ".4f"),
                _num(_at_k(least, 3), ".4f") if least else "-",
                _num(r["beats_random_k3"], ".1%") if "beats_random_k3" in r else "-",
                _num(r["top_beats_least_k3"], ".1%") if "top_beats_least_k3" in r else "-",
                _num(r["docs_per_second"], ".0f") if "docs_per_second" in r else "-",
            ]
        )
    header = ["method", "drop k=1", "drop k=3", "drop k=5", "AOPC", "least drop k=3"]
    header += ["> random k=3", "top > least k=3", "docs/s"]
    lines.append(table(header, body))
    if s:
        rows = [
            ["default method", str(s.get("default", "n/a"))],
            ["drop k=3 vs occlusion", _num(s.get("default_vs_occlusion_drop_k3"), ".1%")],
            ["AOPC vs occlusion", _num(s.get("default_vs_occlusion_aopc"), ".1%")],
            ["beats random at k=3", _num(s.get("default_beats_random_k3"), ".1%")],
            ["speed vs occlusion", _num(s.get("speed_vs_occlusion"), ".1f") + "x"],
            ["textcat alone, docs/s", _num(s.get("textcat_docs_per_second"), ".0f")],
            [
                "added time vs occlusion's",
                "within timing noise"
                if s.get("marginal_speed_vs_occlusion") is None
                else _num(s["marginal_speed_vs_occlusion"], ".0f") + "x less",
            ],
        ]
        pipe = s.get("pipeline_docs_per_second") or {}
        if pipe:
            rows += [
                ["pipeline docs/s without saliency", _num(pipe.get("without"), ".0f")],
                ["pipeline docs/s with saliency", _num(pipe.get("with"), ".0f")],
            ]
        if "pipeline_slowdown" in s:
            rows.append(["pipeline slowdown", _num(s["pipeline_slowdown"], ".1%")])
        lines += ["", "### Summary", "", table(["quantity", "value"], rows)]
    return "\n".join(lines)


def section_vae(data: dict, curves: str | None = None) -> str:
    lines = ["## VAE", "", "Generative scores (importance-weighted NLL):", ""]
    body = [
        [
            name,
            str(r.get("latent", "n/a")),
            _num(r.get("nll"), ".2f"),
            _num(r.get("ppl"), ".2f"),
            _num(r.get("neg_elbo"), ".2f"),
            _num(r.get("rec"), ".2f"),
            _num(r.get("kl"), ".2f"),
            _num(r.get("mi"), ".2f"),
            str(r.get("au", "n/a")),
        ]
        for name, r in (data.get("generative") or {}).items()
    ]
    header = ["run", "latent", "NLL", "PPL", "-ELBO", "rec", "KL", "MI", "AU"]
    lines.append(table(header, body))
    if data.get("probes"):
        lines += ["", "Linear probes (test accuracy):", ""]
        lines.append(
            table(
                ["probe features", "category", "sentiment"],
                [
                    [name, _num(r.get("category"), ".4f"), _num(r.get("sentiment"), ".4f")]
                    for name, r in data["probes"].items()
                ],
            )
        )
    if data.get("targets"):
        rows = []
        for t in data["targets"]:
            extra = []
            if "ratio" in t:
                extra.append(f"ratio {t['ratio']:.4f}")
            if "gap_points" in t:
                extra.append(f"gap {t['gap_points']:+.2f} points")
            rows.append(
                [
                    t["target"],
                    _num(t.get("ours"), ".4f"),
                    _num(t.get("reference"), ".4f"),
                    "yes" if t.get("met") else "NO",
                    "; ".join(extra) or "-",
                ]
            )
        lines += ["", "Targets:", ""]
        lines.append(table(["target", "ours", "reference", "met", "note"], rows))
    if curves:
        lines += ["", f"![VAE training curves]({curves})"]
    return "\n".join(lines)


def section_ocr(data: dict) -> str:
    lines = ["## OCR", "", "CER, line exact-match and characters per second per set and engine:"]
    lines.append("")
    texts = data.get("texts") or {}
    sets_n = texts.get("sets") or {}
    body = []
    for set_name, row in (data.get("sets") or {}).items():
        for engine, s in row.items():
            body.append(
                [
                    set_name,
                    engine,
                    _pct(s.get("cer")),
                    _num(s.get("exact"), ".1%"),
                    _num(s.get("chars_per_s"), ".0f"),
                    str(s.get("n_images", "n/a")),
                    str(s.get("n_chars", "n/a")),
                ]
            )
    header = ["set", "engine", "CER", "line exact", "chars/s", "images", "chars"]
    lines.append(table(header, body, text_columns=2))
    targets = data.get("targets") or {}
    if targets:
        rows = []
        for set_name, t in targets.items():
            rows.append(
                [
                    set_name,
                    _num(t.get("cer_ratio_vs_tesseract"), ".3f"),
                    "yes" if t.get("cer_at_most_half_of_tesseract") else "NO",
                    _num(t.get("speed_ratio_vs_tesseract"), ".2f"),
                    "yes" if t.get("speed_at_least_tesseract") else "NO",
                    _num(t["cer_minus_rapidocr"], "+.4f") if "cer_minus_rapidocr" in t else "-",
                ]
            )
        lines += ["", "Targets (ours with LM):", ""]
        header = ["set", "CER / Tesseract", "<= 0.5", "speed / Tesseract", ">= 1"]
        header.append("CER - RapidOCR")
        lines.append(table(header, rows))
    if sets_n:
        lines += [
            "",
            f"Texts: {texts.get('pieces', 'n/a')} pieces, out-of-charset share "
            f"{_num(texts.get('out_of_charset_share'), '.2%')}.",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (PNG) and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_segmentation(open_data: dict | None, closed_data: dict | None, path: Path) -> Path | None:
    """PKU F1 against chars/s for every system; ours (``kexue*``) in one colour."""
    points = []
    for data, suffix in ((open_data, ""), (closed_data, " (closed)")):
        for r in (data or {}).get("rows", []):
            if r.get("pku_f") is None or not r.get("chars_per_s"):
                continue
            name = r["system"]
            if suffix and "closed" not in name:
                name += suffix
            points.append((name, r["chars_per_s"], r["pku_f"], name.startswith("kexue")))
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 6.5))
    for ours, colour, label in ((True, "tab:red", "ours"), (False, "tab:blue", "peers")):
        sel = [p for p in points if p[3] == ours]
        if sel:
            ax.scatter([p[1] for p in sel], [p[2] for p in sel], c=colour, label=label, s=40)
    # Stagger the labels (with leader lines), in throughput order: neighbours sit close.
    offsets = ((8, 10), (8, -16), (-8, 24), (-8, -30))
    for i, (name, x, y, _) in enumerate(sorted(points, key=lambda p: p[1])):
        dx, dy = offsets[i % len(offsets)]
        ax.annotate(
            name,
            (x, y),
            textcoords="offset points",
            xytext=(dx, dy),
            ha="left" if dx > 0 else "right",
            va="center",
            fontsize=7,
            arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5},
        )
    ax.set_xscale("log")
    ax.set_xlabel("chars/s (PKU test, 1 process, log scale)")
    ax.set_ylabel("PKU test F1")
    ax.set_title("Segmentation: F1 vs throughput")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(plt, fig, path)


def plot_sentiment(data: dict | None, path: Path) -> Path | None:
    """Grouped bars: test accuracy per encoder (granularity), one bar per loss; peers as lines."""
    cells = (data or {}).get("cells") or {}
    if not cells:
        return None
    encoders: list[str] = []
    losses: list[str] = []
    for name in cells:
        encoder, _, loss = name.partition(" / ")
        if encoder not in encoders:
            encoders.append(encoder)
        if loss not in losses:
            losses.append(loss)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    width = 0.8 / len(losses)
    for j, loss in enumerate(losses):
        xs, ys, errs = [], [], []
        for i, encoder in enumerate(encoders):
            cell = cells.get(f"{encoder} / {loss}" if loss else encoder)
            if cell is None or cell.get("accuracy_mean") is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(cell["accuracy_mean"])
            errs.append(cell.get("accuracy_std") or 0.0)
        ax.bar(xs, ys, width, yerr=errs, capsize=3, label=loss or "-")
    styles = iter(("--", ":", "-.", (0, (5, 1))))
    for name, peer in ((data or {}).get("peers") or {}).items():
        if peer.get("accuracy") is not None:
            ax.axhline(peer["accuracy"], color="grey", linestyle=next(styles, "--"), label=name)
    all_acc = [c["accuracy_mean"] for c in cells.values() if c.get("accuracy_mean") is not None]
    all_acc += [p["accuracy"] for p in (data.get("peers") or {}).values() if p.get("accuracy")]
    ax.set_ylim(max(0.0, min(all_acc) - 0.05), min(1.0, max(all_acc) + 0.03))
    ax.set_xticks(range(len(encoders)))
    ax.set_xticklabels(encoders)
    ax.set_xlabel("encoder (granularity)")
    ax.set_ylabel("test accuracy (mean over seeds, ± std)")
    ax.set_title("Sentiment accuracy per loss and granularity")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(plt, fig, path)


def plot_ocr(data: dict | None, path: Path) -> Path | None:
    """Grouped bars: CER per set, one bar per engine."""
    sets = (data or {}).get("sets") or {}
    if not sets:
        return None
    engines: list[str] = []
    for row in sets.values():
        for engine in row:
            if engine not in engines:
                engines.append(engine)
    names = list(sets)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    width = 0.8 / len(engines)
    for j, engine in enumerate(engines):
        xs, ys = [], []
        for i, name in enumerate(names):
            s = sets[name].get(engine)
            if s is None or s.get("cer") is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(100 * s["cer"])
        ax.bar(xs, ys, width, label=engine)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_xlabel("set")
    ax.set_ylabel("CER (%)")
    ax.set_title("OCR character error rate per set and engine")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(plt, fig, path)


def section_pipeline(
    data: dict,
    title: str = "The shipped pipeline on held-out data",
    note: str = "These are the numbers in its meta.json and model card.",
) -> str:
    """A pipeline's own held-out scores (``spacy project run evaluate``)."""
    seg, cats, vae, speed = (
        data["tokenizer"],
        data.get("textcat", {}),
        data.get("vae", {}),
        data["speed"],
    )
    rows = [
        [
            "tokenizer",
            "PKU test word P / R / F1 (official scorer)",
            f"{seg['pku_p']:.3f} / {seg['pku_r']:.3f} / {seg['pku_f']:.3f}",
        ],
        [
            "tokenizer",
            "PKU test OOV / IV recall",
            f"{seg['pku_oov_recall']:.3f} / {seg['pku_iv_recall']:.3f}",
        ],
        ["tokenizer", "UD GSDSimp dev word F1", f"{seg['ud_f']:.3f}"],
    ]
    if cats:
        rows.append(
            [
                "kexue_textcat",
                f"sentiment test accuracy / macro F1 ({cats['n']} reviews)",
                f"{_pct(cats['cats_accuracy'])} / {_pct(cats['cats_macro_f'])}",
            ]
        )
    if vae:
        rows.append(
            [
                "kexue_vae",
                f"NLL / PPL / KL / MI / AU (first {vae['vae_n']} test reviews)",
                f"{vae['vae_nll']:.2f} / {vae['vae_ppl']:.2f} / {vae['vae_kl']:.2f} / "
                f"{vae['vae_mi']:.2f} / {vae['vae_au']}",
            ]
        )
    rows.append(
        [
            "pipeline",
            "nlp.pipe chars/s, docs/s (PKU test, one process)",
            f"{speed['chars_per_s']:,.0f}, {speed['docs_per_s']:,.1f}",
        ]
    )
    return "\n".join(
        [
            f"## {title}",
            "",
            f"`{data['model']}` at commit `{data.get('commit') or 'unknown'}`, {data['date']}. {note}",
            "",
            table(["part", "metric", "value"], rows, text_columns=2),
        ]
    )


def section_pipe(data: dict) -> str:
    """``kexue pipe`` throughput and peak memory (benchmarks/pipe.py), one row per run."""
    rows = [
        [
            r["config"],
            f"{r['size']:,}",
            f"{r['seconds']:.1f}",
            f"{r['docs_per_s']:.1f}",
            f"{r['s_per_1k']:.3f}",
            f"{r['peak_mb']:.0f}",
            "-" if r.get("ratio_to_plain") is None else f"{r['ratio_to_plain']:.3f}",
        ]
        for r in data["rows"]
    ]
    return "\n".join(
        [
            f"## Corpus runs: `kexue pipe` ({', '.join(f'{n:,}' for n in data['sizes'])} docs)",
            "",
            f"`{data['model']}` on review texts, {data['cpu_count']} CPUs, {data['date']}. "
            "plain: a `for doc in nlp.pipe(texts)` loop writing JSONL; n1/n2: `run()` with "
            "1/2 processes; dask2: `run()` on a Dask LocalCluster of 2 workers. Peak MB: summed "
            "RSS of the process and its workers.",
            "",
            table(
                ["config", "docs", "seconds", "docs/s", "s per 1k", "peak MB", "time vs plain"],
                rows,
            ),
        ]
    )


def section_speed(data: dict) -> str:
    """zh_kexue_sm through plain ``nlp.pipe`` against the stock routes (benchmarks/speed.py)."""
    rows = [
        [
            key,
            f"{r['docs_per_second']:,.0f}",
            f"{r['chars_per_second']:,.0f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['load_seconds']:.2f}",
        ]
        for key, r in data["rows"].items()
    ]
    ratios = [[name, f"{value:.2f}x"] for name, value in data["ratios"].items()]
    spacy_speed = data.get("spacy_benchmark_speed_words_per_second") or {}
    return "\n".join(
        [
            "## Speed: plain `nlp.pipe`, ours and spaCy's stock zh routes",
            "",
            f"`{data['command']}`: each row in its own subprocess, best of {data['repeats']} "
            f"passes, batch size {data['batch_size']}, {data['cpu_count']} CPUs; busy: a "
            "CPU-bound process on the other core; n2: `n_process=2` (peak RSS: the parent's).",
            "",
            table(["corpus/system/condition", "docs/s", "chars/s", "peak RSS MB", "load s"], rows),
            "",
            table(["ratio (same run)", "value"], ratios),
            "",
            "`python -m spacy benchmark speed` (components only), words/s: "
            + ", ".join(f"{name} {_num(value, ',.0f')}" for name, value in spacy_speed.items()),
            *_process_lines(data.get("processes")),
        ]
    )


def section_speed_segment(data: dict) -> str:
    """``kexue segment`` against ``python -m jieba`` as whole processes (speed.py)."""
    return "\n".join(
        ["## Whole processes: `kexue segment` and `python -m jieba`", "", f"`{data['command']}`"]
        + _process_lines(data["processes"])
    )


def _process_lines(processes: dict | None) -> list[str]:
    if not processes:
        return []
    commands = [k for k, v in processes.items() if isinstance(v, dict)]
    return [
        "",
        f"Whole processes on {processes['file_lines']:,} lines ({processes['file_chars']:,} "
        "characters): "
        + "; ".join(
            f"`{name}` {processes[name]['seconds']:.2f} s "
            f"({processes[name]['chars_per_second']:,.0f} chars/s)"
            for name in commands
        ),
    ]


def _outcome(result: dict) -> str:
    raised = ", ".join(f"{name.rsplit('.', 1)[-1]} {n}" for name, n in result["raised"].items())
    return f"kept {result['kept']}, changed {result['changed']}" + (
        f", raised {raised}" if raised else ""
    )


def section_robustness(data: dict) -> str:
    """Odd and hostile text through each system (benchmarks/robustness.py)."""
    rows = [
        [
            r["system"],
            _outcome(r["hostile"]),
            _outcome(r["surrogate"]),
            f"{_outcome(r['megabyte'])} in {r['megabyte']['seconds']:.1f} s",
        ]
        for r in data["rows"]
    ]
    return "\n".join(
        [
            "## Odd and hostile text",
            "",
            f"{data['n']:,} seeded strings of every Unicode kind (seed {data['seed']}), "
            f"{data['n_surrogate']} of them with a lone surrogate inserted, and one text of "
            f"{data['megabyte_chars']:,} Chinese characters (1 MB), {data['date']}. Kept: the "
            "tokens give the text back; changed: they do not.",
            "",
            table(["system", "hostile texts", "with a lone surrogate", "1 MB text"], rows, 4),
        ]
    )


_STEP = re.compile(r"^=+ (\S+) =+")


def read_run_log(log_path: Path) -> dict:
    """Per-step wall seconds of a timestamped ``spacy project run`` log, and its status file."""
    steps: list[list] = []
    first = last = None
    for lineno, line in enumerate(log_path.read_text("utf-8").splitlines(), 1):
        stamp, _, text = line.partition("\t")
        try:
            t = int(stamp)
        except ValueError:
            raise ValueError(f"{log_path}:{lineno}: expected EPOCH_SECONDS<TAB>text") from None
        first = t if first is None else first
        last = t
        match = _STEP.match(re.sub(r"\x1b\[[0-9;]*m", "", text).strip())
        if match:
            steps.append([match.group(1), t])
    timed = [
        {"step": name, "seconds": (steps[i + 1][1] if i + 1 < len(steps) else last) - start}
        for i, (name, start) in enumerate(steps)
    ]
    status: dict = {}
    status_path = log_path.with_suffix(".status")
    if status_path.exists():
        status = dict(item.split("=", 1) for item in status_path.read_text().split())
    return {"steps": timed, "seconds": (last - first) if first is not None else 0, "status": status}


def section_run(run: dict, log_name: str) -> str:
    status = run["status"]
    total = int(status.get("seconds", run["seconds"]))
    lines = [
        "## The rebuild: `spacy project run all`",
        "",
        f"From `{log_name}`: exit code {status.get('rc', 'unknown')}, "
        f"code commit `{status.get('commit', 'unknown')}`, "
        f"{total // 3600} h {total % 3600 // 60} min {total % 60} s in all.",
        "",
        table(
            ["step", "wall time"],
            [[r["step"], f"{r['seconds'] // 60} min {r['seconds'] % 60} s"] for r in run["steps"]],
        ),
    ]
    return "\n".join(lines)


def project_outputs(project_file: Path = REPO / "project.yml") -> dict[str, str]:
    """``{output file name: the project.yml command (name and script) that writes it}``."""
    import srsly

    if not project_file.exists():
        return {}
    found = {}
    for cmd in srsly.read_yaml(project_file).get("commands", []):
        for out in cmd.get("outputs", []):
            if out.startswith("benchmarks/results/"):
                script = [line for line in cmd["script"] if out in line] or cmd["script"]
                found[Path(out).name] = f"{cmd['name']}: {script[0]}"
    return found


# --------------------------------------------------------------------------- report


SECTIONS = {
    "pipeline.json": section_pipeline,
    "pipeline_rebuild.json": lambda data: section_pipeline(
        data,
        "The same pipeline rebuilt from scratch by `spacy project run all`",
        "Its weights are committed only where these numbers beat the shipped ones.",
    ),
    "segmentation.json": section_segmentation,
    "segmentation_closed.json": section_segmentation_closed,
    "sentiment.json": section_sentiment,
    "sentiment_shipped.json": section_sentiment_shipped,
    "saliency.json": section_saliency,
    "vae.json": section_vae,
    "ocr.json": section_ocr,
    "pipe.json": section_pipe,
    "pipe_100k.json": section_pipe,
    "speed.json": section_speed,
    "speed_segment.json": section_speed_segment,
    "robustness.json": section_robustness,
}


def header(results: dict[str, dict | None], results_dir: Path, commit: str) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        shown = results_dir.resolve().relative_to(REPO)
    except ValueError:
        shown = results_dir
    lines = [
        "# Benchmark report",
        "",
        f"- Code commit: `{commit}`",
        f"- Date: {now}",
        f"- Results: `{shown}`",
        "",
        "Commands that produced the results:",
        "",
    ]
    written_by = project_outputs()
    for name, data in results.items():
        if data is None:
            lines.append(f"- `{name}`: missing")
        elif data.get("command"):
            lines.append(f"- `{name}`: `{data['command']}`")
        elif name in written_by:
            lines.append(
                f"- `{name}`: no command stored in the file; written by `{written_by[name]}`"
            )
        else:
            lines.append(f"- `{name}`: no command stored")
    return "\n".join(lines)


def build_report(results_dir: Path, out_dir: Path, run_log: Path | None = None) -> Path:
    """Write ``out_dir/REPORT.md`` (and its plots) from the JSON files in ``results_dir``."""
    results_dir = Path(results_dir)
    out_dir = Path(out_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results directory {results_dir} does not exist")
    results = load_results(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    parts = [header(results, results_dir, git_commit())]
    if run_log is not None and Path(run_log).exists():
        parts.append(section_run(read_run_log(Path(run_log)), Path(run_log).name))
    elif run_log is not None:
        parts.append(
            "## The rebuild: `spacy project run all`\n\n"
            f"_No run log at `{run_log}`: `bash benchmarks/run_workflow.sh all {run_log}` "
            "runs the workflow and writes one._"
        )
    for name, section in SECTIONS.items():
        data = results[name]
        if data is None:
            title = name.removesuffix(".json")
            parts.append(f"## {title}\n\n_`{name}` is missing from `{results_dir}`._")
            continue
        if name == "vae.json":
            curves = None
            src = results_dir / VAE_CURVES
            if src.exists():
                shutil.copyfile(src, out_dir / VAE_CURVES)
                curves = VAE_CURVES
            parts.append(section(data, curves))
        else:
            parts.append(section(data))

    plots = [
        (
            "Segmentation: PKU F1 vs throughput",
            plot_segmentation(
                results["segmentation.json"],
                results["segmentation_closed.json"],
                out_dir / SEGMENTATION_PLOT,
            ),
        ),
        (
            "Sentiment accuracy per loss and granularity",
            plot_sentiment(results["sentiment.json"], out_dir / SENTIMENT_PLOT),
        ),
        ("OCR CER per set and engine", plot_ocr(results["ocr.json"], out_dir / OCR_PLOT)),
    ]
    plot_lines = ["## Plots", "", "The VAE training curves are in the VAE section above.", ""]
    for title, path in plots:
        if path is not None:
            plot_lines += [f"### {title}", "", f"![{title}]({path.name})", ""]
    if any(path is not None for _, path in plots):
        parts.append("\n".join(plot_lines).rstrip())

    report = out_dir / "REPORT.md"
    report.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return report


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--results",
        type=Path,
        default=REPO / "benchmarks" / "results",
        help="Folder with the benchmark JSON files.",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "reports", help="Folder for REPORT.md and plots."
    )
    parser.add_argument(
        "--run-log",
        type=Path,
        default=None,
        help="A timestamped workflow log (benchmarks/run_workflow.sh) to time each step from.",
    )
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        parser.error(f"results directory {args.results} does not exist")
    path = build_report(args.results, args.out, args.run_log)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
