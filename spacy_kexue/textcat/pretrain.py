"""Pretraining ``kexue_textcat``'s LSTM encoder as a bidirectional language model on raw text.

The forward LSTM's state after unit *t* predicts unit *t + 1*, the backward LSTM's state after
reading units *t..end* predicts unit *t - 1* (ELMo's objective), with one adaptive-softmax
head per direction over the encoder's unit vocabulary (a full softmax over 6,000 characters
made a step about 4x slower). Only the encoder is kept: its bytes (the unit
vocabulary, built from the raw text, and the weights) initialise a textcat through

    [initialize.components.textcat]
    init_encoder = "pretrain/encoder.bin"

(``spacy train configs/sentiment.cfg --paths.init_encoder pretrain/encoder.bin``). The encoder
settings come from the training config, so the weights fit the model ``spacy train`` builds.

- :func:`encoder_from_config`: the untrained encoder node of a training config's textcat;
- :func:`pretrain_encoder`: train it on texts, return a summary (losses, seconds);
- :func:`load_pretrained_encoder`: fill an encoder from a file written by :func:`save_encoder`.

Light to import (the CLI reads :data:`DEFAULTS`): spaCy, thinc and torch load inside functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataFileError

if TYPE_CHECKING:
    from thinc.api import Model

DEFAULTS = {"steps": 2000, "batch_size": 64, "learn_rate": 0.002, "seed": 0, "max_length": 150}


def encoder_from_config(config: Any, component: str = "textcat") -> Model:
    """The (untrained) ``kexue_encoder`` of ``component`` in a training config."""
    from spacy.util import load_model_from_config

    from .model import get_encoder

    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    if component not in nlp.pipe_names:
        raise ValueError(f"the config has no component {component!r} (it has {nlp.pipe_names})")
    return get_encoder(nlp.get_pipe(component).model)


def _rnn_net(encoder: Model) -> Any:
    from .nets import RNNEncoderNet

    net = encoder.layers[0].shims[0]._model
    if not isinstance(net, RNNEncoderNet) or net.lstm_reverse is None:
        raise ValueError(
            "language-model pretraining needs a bidirectional LSTM encoder "
            f"(CharLSTMEncoder / WordLSTMEncoder), not {type(net).__name__}"
        )
    return net


def text_units(texts: Iterable[str], unit: str, tokenizer: Callable | None = None):
    """Each text's units, as :func:`spacy_kexue.units.unit_texts` reads them from its doc: a
    word encoder needs the pipeline's ``tokenizer``; a char encoder's units are the text's
    characters whatever the tokens."""
    from ..units import unit_texts

    if unit != "word":
        yield from (list(text) for text in texts)
        return
    if tokenizer is None:
        raise ValueError("a word encoder needs the tokenizer its textcat is trained with")
    yield from (unit_texts(doc, unit) for doc in tokenizer.pipe(texts))


#: Adaptive softmax cluster boundaries: unit ids are numbered by frequency (id 1 the most
#: frequent), so the head holds the frequent units and the rare ones cost little.
CUTOFFS = (256, 1024)


class _LanguageModel:
    """The encoder's net with a softmax head per direction (adaptive over a vocabulary larger
    than the first cutoff); ``loss`` is the mean cross-entropy of every valid next (forward)
    and previous (backward) unit."""

    def __init__(self, net: Any) -> None:
        import torch

        self.net = net
        n_vocab = net.embed.num_embeddings
        cutoffs = [c for c in CUTOFFS if c < n_vocab - 1]

        def head() -> Any:
            if not cutoffs:
                return torch.nn.Linear(net.hidden, n_vocab)
            return torch.nn.AdaptiveLogSoftmaxWithLoss(net.hidden, n_vocab, cutoffs, div_value=4.0)

        self.heads = torch.nn.ModuleList([head(), head()])

    def parameters(self) -> list:
        return [*self.net.parameters(), *self.heads.parameters()]

    def loss(self, ids: Any, lengths: Any) -> Any:
        import torch

        _, forward_states, backward_states = self.net.encode(ids, lengths)
        valid = (torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1))[:, 1:]
        pairs = (
            (self.heads[0], forward_states[:, :-1][valid], ids[:, 1:][valid]),
            (self.heads[1], backward_states[:, 1:][valid], ids[:, :-1][valid]),
        )
        return sum(_nll(head, states, targets) for head, states, targets in pairs) / 2


def _nll(head: Any, states: Any, targets: Any) -> Any:
    import torch

    if isinstance(head, torch.nn.AdaptiveLogSoftmaxWithLoss):
        return head(states, targets).loss
    return torch.nn.functional.cross_entropy(head(states), targets)


def _batch(rows: Sequence[np.ndarray], max_length: int, rng: np.random.Generator):
    """Pad rows, each cut to a random window of ``max_length`` units."""
    import torch

    from .featurize import PAD_ID

    cut = []
    for ids in rows:
        start = int(rng.integers(0, len(ids) - max_length + 1)) if len(ids) > max_length else 0
        cut.append(ids[start : start + max_length])
    lengths = np.asarray([len(ids) for ids in cut], dtype=np.int64)
    padded = np.full((len(cut), int(lengths.max())), PAD_ID, dtype=np.int64)
    for i, ids in enumerate(cut):
        padded[i, : len(ids)] = ids
    return torch.from_numpy(padded), torch.from_numpy(lengths)


def pretrain_encoder(
    encoder: Model,
    texts: Iterable[str],
    *,
    tokenizer: Callable | None = None,
    steps: int = DEFAULTS["steps"],
    batch_size: int = DEFAULTS["batch_size"],
    learn_rate: float = DEFAULTS["learn_rate"],
    max_length: int = DEFAULTS["max_length"],
    seed: int = DEFAULTS["seed"],
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Build ``encoder``'s vocabulary from ``texts`` and train its net as a bidirectional LM
    for ``steps`` batches of ``batch_size`` random texts (rows of fewer than two units carry
    no target and are left out). ``on_step(step, loss)`` is called after every step. Returns
    the summary: texts, units, the first and last 100-step mean loss, seconds."""
    import torch

    from ..units import vocab_of_units
    from .featurize import known_ids

    if steps < 1 or batch_size < 1 or max_length < 2:
        raise ValueError("steps and batch_size must be >= 1 and max_length >= 2")
    start = time.perf_counter()
    units = list(text_units(texts, encoder.attrs["unit"], tokenizer))
    vocab = vocab_of_units(units, encoder.attrs["n_vocab"] - 1)  # id 0 is padding
    if not vocab:
        raise ValueError("the pretraining texts have no characters or words to learn from")
    encoder.attrs["vocab"] = vocab
    rows = [ids for ids in (known_ids(us, vocab)[0] for us in units) if len(ids) > 1]
    if not rows:
        raise ValueError("no pretraining text has two units in the encoder's vocabulary")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lm = _LanguageModel(_rnn_net(encoder))
    optimizer = torch.optim.Adam(lm.parameters(), lr=learn_rate)
    lm.net.train()
    losses = []
    for step in range(1, steps + 1):
        chosen = rng.integers(0, len(rows), size=min(batch_size, len(rows)))
        loss = lm.loss(*_batch([rows[i] for i in chosen], max_length, rng))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    lm.net.eval()
    window = max(1, min(100, steps // 4))
    return {
        "texts": len(rows),
        "units": int(sum(len(ids) for ids in rows)),
        "vocab": len(encoder.attrs["vocab"]),
        "steps": steps,
        "first_loss": float(np.mean(losses[:window])),
        "last_loss": float(np.mean(losses[-window:])),
        "seconds": round(time.perf_counter() - start, 1),
    }


def save_encoder(encoder: Model, path: Path, summary: dict[str, Any]) -> None:
    """The encoder's bytes to ``path``, the summary and the SHA-256 beside it (``.json``)."""
    import srsly

    from ..integrity import write_checked

    path.parent.mkdir(parents=True, exist_ok=True)
    digest = write_checked(path, encoder.to_bytes())
    srsly.write_json(path.with_suffix(".json"), {**summary, "sha256": digest})


def load_pretrained_encoder(encoder: Model, path: str | Path) -> None:
    """Fill ``encoder`` (vocabulary and weights) from a file :func:`save_encoder` wrote; its
    checksum is verified when the summary beside it records one."""
    from ..integrity import read_checked, read_json_file

    path = Path(path)
    summary = path.with_suffix(".json")
    recorded = read_json_file(summary).get("sha256") if summary.exists() else None
    data = read_checked(path, recorded, "the pretrained encoder")
    try:
        encoder.from_bytes(data)
    except Exception as err:  # msgpack, thinc and safetensors each raise their own
        raise DataFileError(
            f"cannot be loaded into the textcat's encoder ({type(err).__name__}: {err}). "
            "Pretrain it with the same encoder settings as the training config "
            "(kexue textcat pretrain CONFIG ...).",
            path=path,
        ) from err
