"""Long texts through the default pipeline: 1 MB texts, spaCy's max_length, bounded memory.

Issue 10: a 1 MB text of any shape (mixed Chinese, one giant Han run without punctuation, one
character repeated, emoji, combining marks, ASCII) gives a Doc with ``doc.text == text``; texts
are chunked internally, never fed whole into a network (proved by spying on the torch modules'
inputs, and by the peak RSS of a subprocess); and the segmentation does not depend on where the
text was cut at a mandatory cut (after sentence-final punctuation or a line break).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import defaultdict
from contextlib import contextmanager
from functools import cache

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from spacy_kexue.tokenizer import pretok
from spacy_kexue.tokenizer.pretok import is_attached

from .conftest import budget
from .test_text_properties import HAN_WORDS, LONG_HAN, TEXTS, assert_annotations, assert_tiles

MEGABYTE = 1_000_000
PUNCTUATION = "，。！？、；：“”（）《》…"


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def mixed_chinese(n_bytes: int, seed: int = 0) -> str:
    """Chinese words and random ideographs with punctuation every few words, ``n_bytes`` of
    UTF-8 (about n_bytes / 3 characters)."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < n_bytes:
        if rng.random() < 0.6:
            piece = rng.choice(HAN_WORDS)
        else:
            piece = chr(rng.randrange(0x4E00, 0x9FA6))
        if rng.random() < 0.15:
            piece += rng.choice(PUNCTUATION)
        parts.append(piece)
        size += utf8_size(piece)
    return "".join(parts)


def giant_han_run(n_bytes: int, seed: int = 1) -> str:
    """One Han run, no punctuation or whitespace at all."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(-(-n_bytes // 3)))


EMOJI = [
    "😀",
    "👍🏽",
    "🇨🇳",
    "👨\u200d👩\u200d👧\u200d👦",
    "1\ufe0f\u20e3",
    "☺\ufe0f",
    "🏳\ufe0f\u200d🌈",
]


def emoji_text(n_bytes: int, seed: int = 2) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < n_bytes:
        parts.append(rng.choice(EMOJI))
        size += utf8_size(parts[-1])
    return "".join(parts)


def combining_marks(n_bytes: int, seed: int = 3) -> str:
    """Combining marks only (2 bytes each): no base at all, the worst case of attachment."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x0300, 0x0370)) for _ in range(n_bytes // 2))


def ascii_text(n_chars: int, seed: int = 4) -> str:
    rng = random.Random(seed)
    return "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyz      0123456789.,!?-'") for _ in range(n_chars)
    )


BUILDERS = {
    "mixed": lambda: mixed_chinese(MEGABYTE),
    "giant_han_run": lambda: giant_han_run(MEGABYTE),
    "one_character": lambda: "好" * -(-MEGABYTE // 3),
    "emoji": lambda: emoji_text(MEGABYTE),
    "combining_marks": lambda: combining_marks(MEGABYTE),
    "ascii_max_length": lambda: ascii_text(1_000_000),  # exactly spaCy's default nlp.max_length
}


@cache
def long_text(name: str) -> str:
    """The 1 MB text ``name``, built once per session (and only when a test needs it)."""
    text = BUILDERS[name]()
    assert utf8_size(text) >= MEGABYTE, name
    return text


# --- 1 MB texts --------------------------------------------------------------------------------


@pytest.mark.slow  # the slowest (~3-10 s); the same text runs in the non-slow RSS test below
def test_one_megabyte_of_chinese_whole_pipeline(default_nlp):
    text = long_text("mixed")
    assert 330_000 <= len(text) <= 345_000
    doc = default_nlp(text)
    assert_tiles(doc, text)
    assert_annotations(doc)


@pytest.mark.parametrize(
    "name",
    [
        "emoji",
        "combining_marks",
        # The slowest (~2-9 s each on a loaded 2-core machine). The 1 MB giant Han run goes
        # through the whole pipeline in test_long_texts_are_chunked_before_the_networks.
        pytest.param("one_character", marks=pytest.mark.slow),
        pytest.param("ascii_max_length", marks=pytest.mark.slow),
    ],
)
def test_one_megabyte_texts_of_every_shape(default_nlp, name):
    text = long_text(name)
    doc = default_nlp(text)
    assert_tiles(doc, text)
    assert_annotations(doc)


def test_max_length_is_spacys_documented_limit(default_nlp, monkeypatch):
    """Texts longer than nlp.max_length (1,000,000 characters) raise spaCy's E088 ValueError
    (nlp(), make_doc and nlp.pipe; the tokenizer itself has no limit); raising nlp.max_length
    lets the text through."""
    assert default_nlp.max_length == 1_000_000
    # Cheap to process (one latin token: "a" and the marks attached to it);
    # the gate only looks at len(text). (1 MB of ASCII at exactly max_length: the slow set.)
    text = "a" + long_text("combining_marks") * 2
    assert len(text) == default_nlp.max_length + 1
    for call in (default_nlp, default_nlp.make_doc, lambda t: list(default_nlp.pipe([t]))):
        with pytest.raises(ValueError, match=r"\[E088\]"):
            call(text)
    monkeypatch.setattr(default_nlp, "max_length", len(text))
    doc = default_nlp(text)
    assert doc.text == text
    assert_annotations(doc)


# --- memory: chunked before the networks -------------------------------------------------------


def _sequence_length(value) -> int | None:
    """The time dimension of a network input: ids (batch, length), LSTM input (batch, length,
    width) with batch_first, or a PackedSequence (as many steps as batch_sizes entries)."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(value, PackedSequence):
        return int(value.batch_sizes.shape[0])
    if isinstance(value, torch.Tensor) and value.dim() >= 2:
        return int(value.shape[1])
    return None


def _torch_nets(default_nlp) -> dict[str, list]:
    """Per network, the modules whose inputs we spy on: for the textcat's and the VAE's nets
    (reached through their PyTorchWrapper shims) every embedding and LSTM (they may be called
    through ``net.encode``, not ``forward``). The tokenizer's tagger runs as numpy
    (:mod:`spacy_kexue.tokenizer.kernels`): :func:`spy_on_networks` wraps its entry point."""
    from torch import nn

    nets = {}
    for name in ("textcat", "vae"):
        modules = []
        for node in default_nlp.get_pipe(name).model.walk():
            for shim in node.shims:
                net = shim._model
                modules += [m for m in net.modules() if isinstance(m, nn.Embedding | nn.LSTM)]
        nets[name] = modules
    return nets


@contextmanager
def spy_on_networks(default_nlp):
    """Records, per network, the largest sequence length and the largest number of elements
    any of its modules was called with."""
    seen: dict[str, dict[str, int]] = defaultdict(lambda: {"length": 0, "numel": 0, "calls": 0})
    handles = []

    def hook_for(name):
        def hook(module, args):
            value = args[0]
            length = _sequence_length(value)
            if length is not None:
                record = seen[name]
                record["calls"] += 1
                record["length"] = max(record["length"], length)
                data = getattr(value, "data", value)  # a PackedSequence's steps, flat
                record["numel"] = max(record["numel"], int(data.numel()))

        return hook

    kernel = default_nlp.tokenizer._kernel
    logprobs = kernel.logprobs

    def spy_logprobs(ids, lengths):  # pieces laid end to end: the longest piece, all chars
        record = seen["tokenizer"]
        record["calls"] += 1
        record["length"] = max(record["length"], int(max(lengths, default=0)))
        record["numel"] = max(record["numel"], len(ids))
        return logprobs(ids, lengths)

    try:
        kernel.logprobs = spy_logprobs
        for name, modules in _torch_nets(default_nlp).items():
            assert modules, name
            for module in modules:
                handles.append(module.register_forward_pre_hook(hook_for(name)))
        yield seen
    finally:
        del kernel.logprobs
        for handle in handles:
            handle.remove()


def _bounds(default_nlp) -> dict[str, int]:
    """The documented per-call sequence limits: the segmenter's max_chunk, the encoders'
    max_length (the textcat keeps the first and last max_length / 2 units, the VAE the first
    max_length)."""

    def max_length(name):
        (value,) = {
            node.attrs["max_length"]
            for node in default_nlp.get_pipe(name).model.walk()
            if "max_length" in node.attrs
        }
        return value

    return {
        "tokenizer": default_nlp.tokenizer.max_chunk,
        "textcat": max_length("textcat"),
        "vae": max_length("vae"),
    }


def test_long_texts_are_chunked_before_the_networks(default_nlp):
    """Spy on every network's inputs: the longest sequence any network sees is the same
    constant for a 10 KB text and for a 1 MB Han run without a single cut point, and no call
    is larger than the segmenter's batch_chars."""
    bounds = _bounds(default_nlp)
    # zh_kexue_sm ships 128, 150 and 64: constants, whatever the text's length.
    assert all(0 < bound <= 1024 for bound in bounds.values()), bounds
    text = long_text("giant_han_run")
    maxima = {}
    for size in (10_000, MEGABYTE):
        piece = text[: -(-size // 3)]
        with spy_on_networks(default_nlp) as seen:
            doc = default_nlp(piece)
        assert_tiles(doc, piece)
        assert_annotations(doc)
        maxima[size] = {name: record["length"] for name, record in seen.items()}
        assert set(maxima[size]) == set(bounds)
        for name, record in seen.items():
            assert record["calls"] > 0, name
            assert record["length"] <= bounds[name], (size, name, record)
        tagger = seen["tokenizer"]
        assert tagger["numel"] <= max(default_nlp.tokenizer.batch_chars, bounds["tokenizer"])
    # Saturated at the bound already for 10 KB: a 100x longer text changes nothing.
    assert maxima[10_000] == maxima[MEGABYTE] == bounds


RSS_SCRIPT = r"""
import json, resource, sys


def peak_rss_kib():
    # VmHWM: this process's own peak RSS. ru_maxrss would do on a fresh process, but Linux
    # carries the parent's peak over fork + exec into the child's ru_maxrss (here: pytest's,
    # which holds the pipeline and 1 MB docs), hiding the growth we want to see.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


import spacy

small = open(sys.argv[1], encoding="utf-8").read()
big = open(sys.argv[2], encoding="utf-8").read()
nlp = spacy.load("zh_kexue_sm")
doc = nlp(small)
assert doc.text == small
before = peak_rss_kib()
doc = nlp(big)
assert doc.text == big
after = peak_rss_kib()
print(json.dumps({"before_kib": before, "after_kib": after, "tokens": len(doc)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_of_a_megabyte_text_is_bounded(tmp_path):
    """Peak RSS of a fresh process after loading the pipeline and a 10 KB text, then after the
    1 MB mixed Chinese text (whose Doc, ~240k tokens, stays alive).

    Measured (loaded 2-core dev machine, eight runs): ~420 MB after the 10 KB text, growth
    65-210 MB for the 1 MB text (the Doc's tokens and lexemes, featurize's per-character arrays,
    the tagger's batches of at most batch_chars characters; the spread is the allocator's and
    the thread pools'). With the limits switched off (textcat/VAE max_length and the segmenter's
    max_chunk set to 10**7, so the whole text goes into each network) the growth was 1.9 GB.
    The bound, 800 MB, is ~4x the largest growth measured and less than half of that."""
    small = tmp_path / "small.txt"
    big = tmp_path / "big.txt"
    small.write_text(long_text("mixed")[:3_400], encoding="utf-8")
    big.write_text(long_text("mixed"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(small), str(big)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rss = json.loads(result.stdout.strip().splitlines()[-1])
    growth_mb = (rss["after_kib"] - rss["before_kib"]) / 1024
    print(f"peak RSS {rss['before_kib'] / 1024:.0f} MB -> {rss['after_kib'] / 1024:.0f} MB")
    assert growth_mb < 800, rss


# --- independence from where the text was cut -------------------------------------------------

SEPARATORS = ["。", "！", "？", "!", "?", "；", ";", "…", "……", "\n", "\r\n", "\u2028", "。”", "！）", "？」\n"]  # fmt: skip


def starts_a_new_span(text: str) -> bool:
    """Whether ``text`` after a mandatory cut starts a new span: not a character that would
    extend the cut (more sentence punctuation, a closing quote, whitespace, an attached
    character; pretok.chunk_spans documents these)."""
    first = text[0]
    return not (
        first in pretok._SENTENCE_END
        or first in pretok._CLOSERS
        or first.isspace()
        or is_attached(first)
    )


def tokens(doc) -> list[tuple[str, str]]:
    return [(t.text, t.whitespace_) for t in doc]


@budget(50)
@given(
    first=st.one_of(TEXTS, LONG_HAN),
    separator=st.sampled_from(SEPARATORS),
    second=st.one_of(TEXTS, LONG_HAN),
)
def test_segmentation_does_not_depend_on_where_the_text_was_cut(
    default_nlp, first, separator, second
):
    """Segmenting A + "。" + B gives the tokens of A + "。" followed by those of B, for every
    mandatory cut of pretok.chunk_spans (sentence-final punctuation with its closing quotes,
    line breaks), as long as B does not begin with what would extend the cut."""
    assume(second and starts_a_new_span(second))
    head = first + separator
    whole = default_nlp.tokenizer(head + second)
    assert tokens(whole) == tokens(default_nlp.tokenizer(head)) + tokens(
        default_nlp.tokenizer(second)
    )
