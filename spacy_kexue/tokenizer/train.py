"""Train the segmenter's char tagger from a word-frequency dictionary and raw text.

The recipe (spacy_kexue/tokenizer/segmenter.cfg, linked from configs/, sets every number):

1. Load the dictionary and adapt it to the target standard by length and POS rules
   (``[dictionary]``; the defaults were chosen on the dev set, see the README).
2. Optionally re-estimate its counts on the raw text by EM (``em_iterations``).
3. Build the training stream: pseudo-sentences sampled from the dictionary
   (kexue.fm's method) mixed with the raw text's Han runs segmented by the
   dictionary's maximum-probability path (self-training: real contexts, labelled by
   the same unigram model that the pseudo-sentences imitate). ``self_training`` is the
   share of the latter in every batch.
4. Train the registered tagger (``[model]``) with Adam and a one-cycle schedule.

The output directory holds cfg.json (architecture, settings, checksums, training
summary), chars.json, model.safetensors and lexicon.json (the adapted dictionary, whose
max-probability path votes in the segmenter's Viterbi): what ``KexueSegmenter.load_model`` reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from thinc.api import Config

from .dictionary import WordDict, adapt_dictionary, estimate_counts, load_dictionary
from .pretok import split_runs
from .pseudo_sentences import PseudoCorpus, tag_lengths
from .segmenter import CharTable
from .unigram import UnigramSegmenter

IGNORE = -100


def han_runs(texts: Iterable[str]) -> list[str]:
    """The Han runs of ``texts``, the only parts the tagger ever sees."""
    return [text[a:b] for text in texts for a, b, kind in split_runs(text) if kind == "han"]


class SelfTrainingSet:
    """Raw-text Han runs segmented by a unigram teacher, cut into pieces of at most
    ``max_chars`` characters at word boundaries, stored as one flat array."""

    def __init__(self, runs: list[str], teacher: UnigramSegmenter, max_chars: int, seed: int):
        texts: list[str] = []
        word_lengths: list[int] = []
        for run in runs:
            piece: list[str] = []
            size = 0
            for word in (w[:max_chars] for w in teacher.segment(run)):
                if size + len(word) > max_chars:  # never on an empty piece: words fit alone
                    texts.append("".join(piece))
                    piece, size = [], 0
                piece.append(word)
                size += len(word)
                word_lengths.append(len(word))
            if piece:
                texts.append("".join(piece))
        self.texts = texts
        self.tags = tag_lengths(np.asarray(word_lengths, dtype=np.int64)).astype(np.int64)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.texts)

    def batch(self, n: int) -> tuple[list[str], list[np.ndarray]]:
        rows = self.rng.integers(0, len(self.texts), size=n)
        return (
            [self.texts[r] for r in rows],
            [self.tags[self.offsets[r] : self.offsets[r + 1]] for r in rows],
        )


def _encode_batch(table: CharTable, texts: list[str], tags: list[np.ndarray]):
    ids = table.encode(texts)
    gold = np.full(ids.shape, IGNORE, dtype=np.int64)
    for i, t in enumerate(tags):
        gold[i, : len(t)] = t
    return ids, gold


def build_char_list(words: Iterable[str], raw_runs: Iterable[str], min_count: int) -> list[str]:
    """Every character of the dictionary's words, plus raw-text characters seen ``min_count`` times."""
    chars = set("".join(words))
    counts: dict[str, int] = {}
    for run in raw_runs:
        for ch in run:
            counts[ch] = counts.get(ch, 0) + 1
    chars.update(ch for ch, c in counts.items() if c >= min_count)
    return sorted(chars)


def prepare_dictionary(
    config: Config, dictionary: str | Path | None, raw_runs: list[str], log: Callable
) -> WordDict:
    dcfg = config["dictionary"]
    path = dictionary or default_dictionary_path()
    wdict = load_dictionary(path, raw_texts=raw_runs or None)
    log(f"dictionary {path}: {len(wdict)} words")
    wdict = adapt_dictionary(
        wdict,
        max_word_length=dcfg["max_word_length"],
        keep_longer_tags=dcfg["keep_longer_tags"],
        drop_tags=dcfg["drop_tags"],
        han_only=True,
    )
    log(f"adapted to the target standard: {len(wdict)} Han words")
    if dcfg["em_iterations"] and raw_runs:
        counts = estimate_counts(
            wdict.words,
            raw_runs,
            iterations=dcfg["em_iterations"],
            prior_counts=wdict.counts,
            mix=dcfg["em_mix"],
        )
        wdict = WordDict(wdict.words, counts, wdict.tags)
        log(f"counts re-estimated by {dcfg['em_iterations']} EM iterations on the raw text")
    return wdict


def default_dictionary_path() -> Path:
    """jieba's dict.txt, from the installed jieba package (the default dictionary)."""
    import importlib.util

    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "jieba is not installed: pip install jieba, or pass a dictionary path."
        )
    return Path(spec.origin).parent / "dict.txt"


def train_segmenter(
    config: Config,
    output: str | Path,
    *,
    dictionary: str | Path | None = None,
    raw_texts: Iterable[str] = (),
    dev: tuple[list[list[str]], list[str]] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train a tagger as ``config`` says and write it to ``output``; returns the summary.

    dev: optional (gold words per line, raw lines) scored at the end (and every
    ``eval_every`` steps) with the segmenter assembled from the new weights.
    """
    import torch
    from spacy.util import registry

    tcfg = config["training"]
    ccfg = config["corpus"]
    steps = int(tcfg["steps"])
    if steps < 4:
        raise ValueError(f"[training] steps = {steps}: the one-cycle schedule needs at least 4")
    seed = int(tcfg["seed"])
    torch.manual_seed(seed)
    t_start = time.time()
    raw_runs = han_runs(raw_texts)
    log(f"raw text: {len(raw_runs)} Han runs, {sum(map(len, raw_runs))} characters")
    wdict = prepare_dictionary(config, dictionary, raw_runs, log)
    pseudo = PseudoCorpus(
        wdict,
        seed=seed,
        max_words=ccfg["max_words"],
        max_chars=ccfg["max_chars"],
        smoothing=ccfg["smoothing"],
    )
    share = float(ccfg["self_training"]) if raw_runs else 0.0
    selfset = None
    if share > 0:
        teacher = UnigramSegmenter(wdict.words, wdict.counts)
        selfset = SelfTrainingSet(raw_runs, teacher, ccfg["max_chars"], seed + 1)
        log(f"self-training set: {len(selfset)} sequences labelled by the unigram teacher")
    chars = build_char_list(wdict.words, raw_runs, int(ccfg["min_char_count"]))
    table = CharTable(chars)
    model_cfg = dict(config["model"])
    model_cfg["n_chars"] = len(table)
    thinc_model = registry.resolve({"model": model_cfg})["model"]
    tagger = thinc_model.shims[0]._model
    arch_name = model_cfg["@architectures"]
    log(
        f"tagger {arch_name}: {sum(p.numel() for p in tagger.parameters())} parameters, {len(chars)} characters"
    )

    batch_size = int(tcfg["batch_size"])
    optimizer = torch.optim.Adam(tagger.parameters(), lr=float(tcfg["learning_rate"]))
    # warm up over 5% of the steps, and over at least 2 (shorter runs leave the warm-up empty)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=float(tcfg["learning_rate"]),
        total_steps=steps,
        pct_start=max(0.05, 2 / steps),
    )
    loss_fn = torch.nn.NLLLoss(ignore_index=IGNORE)
    n_self = int(round(batch_size * share))
    history = []
    for step in range(1, steps + 1):
        tagger.train()
        texts, tags = pseudo.batch(batch_size - n_self)
        if n_self:
            more_texts, more_tags = selfset.batch(n_self)
            texts += more_texts
            tags += more_tags
        ids, gold = _encode_batch(table, texts, tags)
        logprobs = tagger(torch.from_numpy(ids))
        loss = loss_fn(logprobs.reshape(-1, logprobs.shape[-1]), torch.from_numpy(gold).reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % int(tcfg["log_every"]) == 0 or step == steps:
            entry = {
                "step": step,
                "loss": round(loss.item(), 4),
                "seconds": round(time.time() - t_start, 1),
            }
            if dev is not None and (step % int(tcfg["eval_every"]) == 0 or step == steps):
                entry["dev"] = evaluate_tagger(tagger, chars, dev)
            history.append(entry)
            log(" ".join(f"{k} {v}" for k, v in entry.items()))
    tagger.eval()
    if dev is not None:
        dev_with_dictionary = evaluate_tagger(tagger, chars, dev, lexicon=wdict)
        log(f"dev F1 with the dictionary's vote (dictionary_weight): {dev_with_dictionary}")
        history.append({"step": steps, "dev_with_dictionary": dev_with_dictionary})
    summary = {
        "dictionary": str(dictionary or default_dictionary_path()),
        "dictionary_words": len(wdict),
        "raw_characters": sum(map(len, raw_runs)),
        "steps": steps,
        "seconds": round(time.time() - t_start, 1),
        "history": history,
    }
    arch, settings = _settings_of(thinc_model)
    segmenter = _segmenter(tagger, chars, lexicon=wdict)
    segmenter.model_cfg = {
        "arch": arch,
        "architecture": arch_name,
        "settings": settings,
        "training": summary,
        "config": config.to_str(),
    }
    segmenter.save_model(output)
    return summary


def _settings_of(thinc_model) -> tuple[str, dict]:
    settings = dict(thinc_model.attrs["tagger_settings"])
    settings.pop("n_chars")
    return thinc_model.attrs["tagger_arch"], settings


def _segmenter(tagger, chars: list[str], lexicon: WordDict | None = None):
    """A KexueSegmenter around a freshly trained tagger (and the adapted dictionary)."""
    import spacy

    from .segmenter import KexueSegmenter

    seg = KexueSegmenter(spacy.blank("zh").vocab)
    seg.tagger = tagger
    seg.chars = CharTable(chars)
    if lexicon is not None:
        seg.lexicon = UnigramSegmenter(lexicon.words, lexicon.counts)
    return seg


def evaluate_tagger(tagger, chars, dev, lexicon: WordDict | None = None) -> float:
    """Word F1 of a segmenter using ``tagger`` on dev (gold words per line, raw lines);
    with ``lexicon``, its max-probability path votes with the default dictionary_weight."""
    from .evaluate import prf

    seg = _segmenter(tagger, chars, lexicon)
    was_training = tagger.training
    tagger.eval()
    gold, raw = dev
    pred = [[t.text for t in doc if not t.is_space] for doc in seg.pipe(raw)]
    tagger.train(was_training)
    return round(prf(gold, pred)["f"], 4)
