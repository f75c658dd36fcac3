"""Inference of the CNN char tagger in numpy: what the segmenter runs, torch or no torch.

The trained ``CNNTagger`` (:mod:`.nets`) is embedding -> residual dilated Conv1d blocks ->
linear -> log-softmax. :class:`NumpyCNNTagger` computes the same function from the module's
weights, built for the way the tokenizer calls it (one short text at a time inside
``nlp.pipe``, or a whole batch from ``nlp.tokenizer.pipe``):

- **One sequence per call.** The pieces of a batch are laid end to end, and a convolution's
  taps that would reach past a piece's ends read zeros, as the module's padding does: each
  layer is one matrix product over every character of the batch, with no padding rows.
- **The first convolution is a table lookup.** Embedding then convolution is linear in the
  one-hot character: tap ``j`` of the first layer applied to character ``c`` is row ``c`` of
  ``E @ W_j.T``, computed once when the weights are loaded.
- **No thread pool for small inputs.** A product over fewer than :data:`THREADED_ROWS`
  characters runs on one BLAS thread, so a single text never waits for a second core that a busy
  machine does not give it; large batches use the BLAS threads.

The numbers equal the torch module's up to float32 rounding (the tokens are the same; the test
suite compares both on the shipped weights). numpy only: nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import product
from typing import Any

import numpy as np

from ._loops import cnn_logprobs

#: Characters per call from which the matrix products may use more than one BLAS thread.
THREADED_ROWS = 2048


class NumpyCNNTagger:
    """The ``CNNTagger`` forward pass (inference only) from its state dict."""

    def __init__(self, state: Mapping[str, Any], dilations: list[int]) -> None:
        """``state``: the module's state dict as arrays; ``dilations``: each block's."""
        arrays = {key: np.asarray(value, dtype=np.float32) for key, value in state.items()}
        depth = len(dilations)
        embed = arrays["embed.weight"]  # (n_chars, width); row 0 (padding) is zero
        self.dilations = [int(d) for d in dilations]
        convs = []
        for i in range(depth):
            weight = arrays[f"convs.{i}.weight"]  # (out, in, window)
            # (in, window * out): one product gives every tap's contribution at once
            taps = np.ascontiguousarray(weight.transpose(1, 2, 0).reshape(weight.shape[1], -1))
            convs.append((taps, arrays[f"convs.{i}.bias"]))
        first_taps, first_bias = convs[0]
        # the first layer as a lookup: (n_chars, window * out)
        self.first = np.ascontiguousarray(embed @ first_taps)
        self.first_bias = first_bias
        self.embed = embed
        self.convs = convs[1:]
        self.out_weight = np.ascontiguousarray(arrays["out.weight"].T)  # (width, 4)
        self.out_bias = arrays["out.bias"]
        self.width = embed.shape[1]

    @classmethod
    def from_module(cls, module: Any) -> NumpyCNNTagger:
        """The numpy copy of a ``CNNTagger`` module's weights."""
        state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        return cls(state, [conv.dilation[0] for conv in module.convs])

    def __call__(self, ids: list[np.ndarray]) -> list[np.ndarray]:
        """Per sequence of character ids (1-D int arrays), its log-probabilities over B, M, E,
        S: float32 arrays of shape (len, 4)."""
        lengths = np.asarray([len(row) for row in ids], dtype=np.int64)
        flat = np.concatenate([np.asarray(row, dtype=np.int64) for row in ids]) if ids else lengths
        logits = self.logprobs(flat, lengths)
        starts = np.cumsum(lengths) - lengths
        return [logits[a : a + n] for a, n in zip(starts.tolist(), lengths.tolist(), strict=True)]

    def tag_pieces(self, pieces: list[str], chars: Any) -> tuple[np.ndarray, list[int]]:
        """The log-probabilities of every character of ``pieces`` laid end to end, and where
        each piece starts; ``chars``: the segmenter's :class:`~.segmenter.CharTable`."""
        lengths = [len(piece) for piece in pieces]
        starts = np.cumsum([0, *lengths[:-1]]).tolist() if pieces else []
        logits = self.logprobs(chars.ids("".join(pieces)), np.asarray(lengths, dtype=np.int64))
        return logits, starts

    def logprobs(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(len(ids), 4) float32 log-probabilities over B, M, E, S of pieces laid end to end
        (``lengths``: each piece's; no piece reads another's characters)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with one_blas_thread(len(ids) < THREADED_ROWS):
            return cnn_logprobs(
                ids,
                np.ascontiguousarray(lengths, dtype=np.int64),
                self.embed,
                self.first,
                self.first_bias,
                self.convs,
                self.dilations,
                self.out_weight,
                self.out_bias,
            )


@contextmanager
def one_blas_thread(active: bool = True) -> Iterator[None]:
    """numpy's BLAS on one thread inside the block (if ``active``), then as before."""
    libraries = _blas_libraries() if active else []
    previous = [get() for get, _ in libraries]
    for (_, set_threads), threads in zip(libraries, previous, strict=True):
        if threads != 1:
            set_threads(1)
    try:
        yield
    finally:
        for (_, set_threads), threads in zip(libraries, previous, strict=True):
            if threads != 1:
                set_threads(threads)


_LIBRARIES: list[list[tuple[Any, Any]]] = []


def _blas_libraries() -> list[tuple[Any, Any]]:
    """(get_num_threads, set_num_threads) of each BLAS library loaded, found once with
    threadpoolctl: OpenBLAS's own C functions where they can be found (half a microsecond a
    call, against several for threadpoolctl's wrappers), else threadpoolctl's."""
    if not _LIBRARIES:
        import ctypes

        from threadpoolctl import ThreadpoolController

        found = []
        for lib in ThreadpoolController().lib_controllers:
            if lib.user_api != "blas":
                continue
            pair = (lib.get_num_threads, lib.set_num_threads)
            if lib.internal_api == "openblas":
                dynlib = ctypes.CDLL(lib.filepath)
                for prefix, suffix in product(("scipy_openblas", "openblas"), ("64_", "")):
                    get = getattr(dynlib, f"{prefix}_get_num_threads{suffix}", None)
                    set_threads = getattr(dynlib, f"{prefix}_set_num_threads{suffix}", None)
                    if get is not None and set_threads is not None:
                        pair = (get, set_threads)
                        break
            found.append(pair)
        _LIBRARIES.append(found)
    return _LIBRARIES[0]
