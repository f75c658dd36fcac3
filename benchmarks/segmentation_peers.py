"""Chinese word segmentation peers, scored on PKU test and UD GSDSimp dev in one run.

Run it as a script::

    python benchmarks/segmentation_peers.py [--data-dir DIR] [--json OUT] [--systems a,b]

or import it to put another segmenter in the same table, measured in the same run::

    from segmentation_peers import format_table, peer_segmenters, score_all

    systems = {"ours": my_segment_lines, **peer_segmenters(data_dir)}
    rows = score_all(systems, data_dir)
    print(format_table(rows))

(or ``main(extra_systems={"ours": my_segment_lines})`` to reuse the command line).

A *segmenter* here is any callable ``segment(lines: list[str]) -> list[list[str]]``: one list
of words per input line. Every peer below keeps each line's characters: the words of a line,
joined, equal the line with its whitespace removed (the SIGHAN scorer ignores whitespace;
words never contain any). Peers are built lazily on their first call, so building the dict is
cheap and model loading is timed separately from segmentation.

PKU test is scored with the bakeoff's official ``score`` script (word list:
``pku_training_words.utf8``), UD dev with :func:`spacy_kexue.tokenizer.evaluate.prf`
(span matching; OOV relative to the same PKU word list). Both also get ``prf`` on PKU, so the
JSON output shows how closely the two scorers agree. Speed is characters per second of wall
time on the PKU test raw text, single process, after a one-line warm-up that loads the model.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from spacy_kexue.tokenizer.evaluate import (
    SegmentationMismatchError,
    official_score,
    prf,
    read_conllu,
    read_raw_lines,
    read_segmented,
    read_wordlist,
)

REPO = Path(__file__).resolve().parent.parent

Segmenter = Callable[[list[str]], list[list[str]]]

PKU_RAW = "cws/pku_test.utf8"
PKU_GOLD = "cws/pku_test_gold.utf8"
PKU_WORDS = "cws/pku_training_words.utf8"
UD_DEV = "cws/zh_gsdsimp-ud-dev.conllu"
MWSEG = "cws/mwseg.pl"

PEER_NAMES = ("jieba", "thulac", "snownlp", "spacy_char", "spacy_jieba", "mwseg_pku")


def default_data_dir() -> Path:
    """``$KEXUE_DATA`` if set, else ``../shared/data`` next to the repository root."""
    env = os.environ.get("KEXUE_DATA")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "data"


# --------------------------------------------------------------------------- alignment


def align_to_text(text: str, tokens: Iterable[str], *, system: str = "segmenter") -> list[str]:
    """Make a segmenter's tokens for ``text`` into words that keep ``text``'s characters.

    Whitespace is dropped (tokens are split at it). If the tokens' characters differ from the
    text's non-whitespace characters but have the same number (a segmenter that normalises,
    e.g. full-width to half-width), the text is cut at the same offsets, so the words are always
    substrings of the input. A different number of characters raises
    :class:`SegmentationMismatchError`.
    """
    target = "".join(text.split())
    pieces = [piece for token in tokens for piece in token.split()]
    joined = "".join(pieces)
    if joined == target:
        return pieces
    if len(joined) != len(target):
        raise SegmentationMismatchError(
            f"{system} changed the number of characters of the line {text[:40]!r}...: "
            f"{len(target)} non-whitespace characters in, {len(joined)} out"
        )
    words, start = [], 0
    for piece in pieces:
        words.append(target[start : start + len(piece)])
        start += len(piece)
    return words


def _per_line(name: str, build: Callable[[], Callable[[str], Iterable[str]]]) -> Segmenter:
    """A lazy segmenter from ``build() -> cut(line) -> tokens``, aligned to each line."""
    cut = None

    def segment(lines: list[str]) -> list[list[str]]:
        nonlocal cut
        if cut is None:
            cut = build()
        return [
            align_to_text(line, cut(line) if line.strip() else (), system=name) for line in lines
        ]

    segment.__name__ = f"segment_{name}"
    return segment


# --------------------------------------------------------------------------- peers


def jieba_segmenter() -> Segmenter:
    """jieba's default mode with HMM (``jieba.lcut(text)``), its bundled dictionary."""

    def build():
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba.lcut

    return _per_line("jieba", build)


def thulac_segmenter() -> Segmenter:
    """THULAC, segmentation only (``thulac.thulac(seg_only=True)``), its bundled model.

    THULAC collapses runs of spaces and drops the rest of the whitespace; :func:`align_to_text`
    restores the input's characters.
    """

    def build():
        import thulac

        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Model loaded succeed"
            model = thulac.thulac(seg_only=True)
        return lambda text: [word for word, _tag in model.cut(text)]

    return _per_line("thulac", build)


def snownlp_segmenter() -> Segmenter:
    """snownlp (``SnowNLP(text).words``): a character-based generative model (pure Python)."""

    def build():
        from snownlp import SnowNLP

        return lambda text: SnowNLP(text).words

    return _per_line("snownlp", build)


def _spacy_segmenter(name: str, config: dict | None) -> Segmenter:
    nlp = None

    def segment(lines: list[str]) -> list[list[str]]:
        nonlocal nlp
        if nlp is None:
            import spacy

            nlp = spacy.blank("zh", config=config or {})
        return [
            align_to_text(line, (t.text for t in doc), system=name)
            for line, doc in zip(lines, nlp.pipe(lines), strict=True)
        ]

    segment.__name__ = f"segment_{name}"
    return segment


def spacy_char_segmenter() -> Segmenter:
    """spaCy's stock zh tokenizer with its default ``char`` segmenter (``spacy.blank("zh")``)."""
    return _spacy_segmenter("spacy_char", None)


def spacy_jieba_segmenter() -> Segmenter:
    """spaCy's stock zh tokenizer with ``segmenter = "jieba"``."""
    return _spacy_segmenter("spacy_jieba", {"nlp": {"tokenizer": {"segmenter": "jieba"}}})


def mwseg_segmenter(
    data_dir: str | os.PathLike | None = None,
    wordlist: str | os.PathLike | None = None,
    script: str | os.PathLike | None = None,
    *,
    encoding: str = "gb18030",
) -> Segmenter:
    """The bakeoff's maximum-matching baseline: ``perl mwseg.pl WORDLIST < raw > seg``.

    ``wordlist`` defaults to the PKU training word list. ``mwseg.pl`` works on bytes and assumes
    a double-byte encoding (GB/Big5): its fallback for a character missing from the list eats
    two bytes. So by default the word list and the text are handed to it in GB18030 (the script
    then works as designed), and its output is mapped back onto the input: only boundaries that
    fall between characters are kept, so the words always keep the input's characters (even
    where a 4-byte GB18030 character gets cut).

    ``encoding="utf-8"`` feeds it UTF-8 bytes, as the published bakeoff baseline was evidently
    run: after an unknown character it then cuts characters apart, and the official scorer,
    given that raw output, reproduces the published PKU baseline (P 0.836, R 0.904, F 0.869).
    Mapped back onto whole characters as here, both encodings give F 0.874 on PKU test.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    wordlist = Path(wordlist) if wordlist is not None else data_dir / PKU_WORDS
    script = Path(script) if script is not None else data_dir / MWSEG

    def segment(lines: list[str]) -> list[list[str]]:
        for what, p in (("word list", wordlist), ("mwseg.pl", script)):
            if not p.is_file():
                raise FileNotFoundError(f"mwseg baseline: {what} {p} does not exist")
        texts = ["".join(line.split()) for line in lines]
        encoded = [t.encode(encoding) for t in texts]
        with tempfile.TemporaryDirectory(prefix="kexue-mwseg-") as tmp:
            wl = Path(tmp) / "words.gb"
            wl.write_bytes(
                b"".join(w.encode(encoding) + b"\n" for w in sorted(read_wordlist(wordlist)))
            )
            proc = subprocess.run(
                ["perl", str(script), str(wl)],
                input=b"".join(e + b"\n" for e in encoded),
                capture_output=True,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"{script} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
        out_lines = proc.stdout.split(b"\n")
        if len(out_lines) < len(texts):
            raise RuntimeError(f"{script} returned {len(out_lines)} lines for {len(texts)}")
        result = []
        for text, enc, out in zip(texts, encoded, out_lines[: len(texts)], strict=True):
            cuts, offset = set(), 0  # byte offsets where mwseg.pl put a space
            for piece in out.split(b" "):
                offset += len(piece)
                cuts.add(offset)
            if offset != len(enc) or out.replace(b" ", b"") != enc:
                raise SegmentationMismatchError(f"mwseg.pl changed the line {text[:40]!r}")
            words, start, byte_pos = [], 0, 0
            for end, ch in enumerate(text, start=1):
                byte_pos += len(ch.encode(encoding))
                if byte_pos in cuts or end == len(text):  # cuts inside a character are ignored
                    words.append(text[start:end])
                    start = end
            result.append(words)
        return result

    segment.__name__ = "segment_mwseg"
    return segment


def peer_segmenters(
    data_dir: str | os.PathLike | None = None, names: Sequence[str] | None = None
) -> dict[str, Segmenter]:
    """The peers by name (all of :data:`PEER_NAMES` by default), each a lazy ``Segmenter``."""
    factories: dict[str, Callable[[], Segmenter]] = {
        "jieba": jieba_segmenter,
        "thulac": thulac_segmenter,
        "snownlp": snownlp_segmenter,
        "spacy_char": spacy_char_segmenter,
        "spacy_jieba": spacy_jieba_segmenter,
        "mwseg_pku": lambda: mwseg_segmenter(data_dir),
    }
    names = list(names) if names is not None else list(PEER_NAMES)
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise ValueError(f"unknown peer(s) {unknown}; choose from {sorted(factories)}")
    return {name: factories[name]() for name in names}


# --------------------------------------------------------------------------- measuring


def throughput(fn: Segmenter, lines: list[str], repeat: int = 3, warmup: int = 1) -> float:
    """Characters per second of ``fn(lines)``: best wall time of ``repeat`` runs.

    ``fn`` is first called on ``lines[:warmup]`` so that lazy model loading is not timed.
    Characters are ``len`` of the input lines, whitespace included. Single process.
    """
    if warmup:
        fn(lines[:warmup])
    n_chars = sum(len(line) for line in lines)
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn(lines)
        best = min(best, time.perf_counter() - start)
    return n_chars / best if best > 0 else float("inf")


def _check_output(name: str, lines: list[str], pred) -> list[list[str]]:
    if len(pred) != len(lines):
        raise ValueError(f"{name} returned {len(pred)} segmentations for {len(lines)} lines")
    return [list(words) for words in pred]


def score_all(
    systems: dict[str, Segmenter],
    data_dir: str | os.PathLike | None = None,
    *,
    limit: int | None = None,
    repeat: int = 1,
    log: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> list[dict]:
    """Segment PKU test and UD dev with every system, time it, and score it.

    Segmentation runs first, one system after another, on an otherwise idle process (so the
    timings are comparable); the official PKU scorer (one ``diff`` per line, ~15 s a system)
    then runs for all systems in a thread pool of ``workers`` (default: the CPU count).
    ``limit`` keeps only the first N lines of each set (quick checks); ``repeat`` > 1 times that
    many passes over PKU test and keeps the fastest (less noise on a busy machine).

    Returns one dict per system: ``system``; ``pku_p``, ``pku_r``, ``pku_f``,
    ``pku_oov_recall``, ``pku_iv_recall`` (official scorer, 3 decimals); ``pku_f_prf`` (our
    span scorer on the same output); ``ud_p``, ``ud_r``, ``ud_f``, ``ud_oov_recall`` (``prf``,
    OOV relative to the PKU word list); ``chars_per_s`` (PKU test raw text, whitespace
    included), ``seconds`` (its wall time), ``load_s`` (the warm-up call: model loading).
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    missing = [p for p in (PKU_RAW, PKU_GOLD, PKU_WORDS, UD_DEV) if not (data_dir / p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{data_dir} lacks {missing}; pass --data-dir or set KEXUE_DATA to the folder "
            "that holds cws/"
        )
    log = log or (lambda msg: None)
    wordlist_path = data_dir / PKU_WORDS
    vocab = read_wordlist(wordlist_path)
    pku_raw = read_raw_lines(data_dir / PKU_RAW)[:limit]
    pku_gold = read_segmented(data_dir / PKU_GOLD)[:limit]
    ud = read_conllu(data_dir / UD_DEV)[:limit]
    ud_texts = [text for text, _ in ud]
    ud_gold = [words for _, words in ud]
    n_chars = sum(len(line) for line in pku_raw)

    rows, preds = [], {}
    for name, fn in systems.items():
        log(f"segmenting with {name} ...")
        start = time.perf_counter()
        fn(pku_raw[:1])
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        pku_pred = _check_output(name, pku_raw, fn(pku_raw))
        seconds = time.perf_counter() - start
        for _ in range(repeat - 1):  # more timed passes: keep the fastest
            start = time.perf_counter()
            fn(pku_raw)
            seconds = min(seconds, time.perf_counter() - start)
        ud_pred = _check_output(name, ud_texts, fn(ud_texts))
        preds[name] = pku_pred
        ours_pku = prf(pku_gold, pku_pred, vocab)
        ours_ud = prf(ud_gold, ud_pred, vocab)
        rows.append(
            {
                "system": name,
                "pku_f_prf": ours_pku["f"],
                "pku_p_prf": ours_pku["precision"],
                "pku_r_prf": ours_pku["recall"],
                "ud_p": ours_ud["precision"],
                "ud_r": ours_ud["recall"],
                "ud_f": ours_ud["f"],
                "ud_oov_recall": ours_ud["oov_recall"],
                "chars_per_s": n_chars / seconds if seconds > 0 else float("inf"),
                "seconds": seconds,
                "load_s": load_s,
            }
        )
        log(f"  {name}: {n_chars / seconds:,.0f} chars/s, UD F {ours_ud['f']:.3f}")

    with tempfile.TemporaryDirectory(prefix="kexue-peers-") as tmp:
        gold_path = data_dir / PKU_GOLD
        if limit is not None:
            gold_path = Path(tmp) / "gold.utf8"
            gold_path.write_text("".join(" ".join(ws) + "\n" for ws in pku_gold), encoding="utf-8")
        log("running the official SIGHAN scorer on PKU test ...")
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            futures = {
                name: pool.submit(official_score, wordlist_path, gold_path, pred)
                for name, pred in preds.items()
            }
            for row in rows:
                official = futures[row["system"]].result()
                row.update(
                    pku_p=official["precision"],
                    pku_r=official["recall"],
                    pku_f=official["f"],
                    pku_oov_recall=official["oov_recall"],
                    pku_iv_recall=official["iv_recall"],
                )
    order = [
        "system",
        "pku_p",
        "pku_r",
        "pku_f",
        "pku_oov_recall",
        "pku_iv_recall",
        "pku_p_prf",
        "pku_r_prf",
        "pku_f_prf",
        "ud_p",
        "ud_r",
        "ud_f",
        "ud_oov_recall",
        "chars_per_s",
        "seconds",
        "load_s",
    ]
    return [{key: row[key] for key in order} for row in rows]


def format_table(rows: list[dict]) -> str:
    """A plain-text table of :func:`score_all` rows, with the best PKU/UD F marked ``*``."""
    header = (
        f"{'system':<14} {'PKU P':>6} {'PKU R':>6} {'PKU F':>6} {'OOV-R':>6}  "
        f"{'UD P':>6} {'UD R':>6} {'UD F':>6}  {'chars/s':>10} {'load s':>7}"
    )
    lines = [header, "-" * len(header)]
    best_pku = max((r["pku_f"] for r in rows), default=None)
    best_ud = max((r["ud_f"] for r in rows), default=None)

    def fmt(x):
        return "   n/a" if x is None else f"{x:6.3f}"

    for r in rows:
        mark_pku = "*" if r["pku_f"] == best_pku else " "
        mark_ud = "*" if r["ud_f"] == best_ud else " "
        lines.append(
            f"{r['system']:<14} {fmt(r['pku_p'])} {fmt(r['pku_r'])} {fmt(r['pku_f'])}{mark_pku}"
            f"{fmt(r['pku_oov_recall'])}  {fmt(r['ud_p'])} {fmt(r['ud_r'])} {fmt(r['ud_f'])}"
            f"{mark_ud} {r['chars_per_s']:>10,.0f} {r['load_s']:>7.2f}"
        )
    lines.append(
        "PKU: SIGHAN 2005 PKU test, official scorer, OOV w.r.t. pku_training_words; "
        "UD: GSDSimp dev, span P/R/F; chars/s on PKU test raw text, 1 process."
    )
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None, extra_systems: dict[str, Segmenter] | None = None
) -> list[dict]:
    """Command line: score the peers (plus ``extra_systems``, listed first) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="folder holding cws/ (default: $KEXUE_DATA or ../shared/data from the repo root)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument(
        "--systems",
        default=",".join(PEER_NAMES),
        help=f"comma-separated peers to run (default: all of {','.join(PEER_NAMES)})",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N lines of each set only")
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed passes over PKU test; the fastest counts"
    )
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    systems = dict(extra_systems or {})
    systems.update(peer_segmenters(args.data_dir, names))
    rows = score_all(
        systems,
        args.data_dir,
        limit=args.limit,
        repeat=max(1, args.repeat),
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    print(format_table(rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "data_dir": str(args.data_dir),
            "limit": args.limit,
            "repeat": args.repeat,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "rows": rows,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
