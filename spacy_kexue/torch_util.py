"""Small helpers shared by the torch-backed parts (this module imports torch lazily).

- :func:`install_fork_hook`: forked children run torch with one thread.
- :func:`inference_threads`, :func:`length_groups`: how the components run their nets at
  inference: on one intra-op thread, over rows grouped by length.
- :func:`serialize_module` / :func:`deserialize_module`: a module's state dict as safetensors
  bytes (no pickle: loading a stranger's model cannot run code), floats optionally stored as
  float16. They plug into thinc's ``PyTorchWrapper_v3`` (``serialize_model`` /
  ``deserialize_model``) in place of thinc's default ``torch.save``.
- :class:`AveragedTorchPipe`: ``use_params(optimizer.averages)`` swaps in the averaged
  weights of the PyTorch modules too (``use_averages = true`` in a training config).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

_FORK_HOOK_INSTALLED = False


def _use_one_thread_after_fork() -> None:
    """A forked child must not reuse the parent's OpenMP thread pool: torch deadlocks in
    its first parallel op (this is what hangs ``nlp.pipe(n_process=2)`` under ``fork``).
    With one intra-op thread the child never touches that pool."""
    import torch

    torch.set_num_threads(1)


def install_fork_hook() -> None:
    global _FORK_HOOK_INSTALLED
    if not _FORK_HOOK_INSTALLED:
        os.register_at_fork(after_in_child=_use_one_thread_after_fork)
        _FORK_HOOK_INSTALLED = True


@contextmanager
def inference_threads() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, then restore the caller's setting.

    The components' nets are chains of small matrix products (an LSTM step over a few dozen
    rows): a second thread gains little on an idle machine and stalls each step when the
    other core is busy (measured: 0.69 ms a doc on one thread against 2.05 ms on two with a
    CPU-bound process beside it). Throughput across cores comes from ``nlp.pipe(n_process=N)``,
    as for spaCy's own CPU models."""
    import torch

    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


def length_groups(
    ids: np.ndarray, lengths: np.ndarray, size: int = 64
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The rows of a padded (n, T) ``ids`` batch in groups of at most ``size``, by increasing
    length: per group its row indices, its ids cut to its own longest row (at least 1 column)
    and its lengths. A batch padded to its longest row of 150 characters, with 70 on average,
    spends half its LSTM steps on padding; a group wastes little."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), size):
        rows = order[start : start + size]
        width = max(1, int(lengths[rows].max()))
        yield rows, ids[rows, :width], lengths[rows]


def serialize_module(module: Any, *, half: bool = False) -> bytes:
    """The module's parameters and buffers as safetensors bytes (float16 if ``half``)."""
    import torch
    from safetensors.torch import save

    state = {}
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        if half and tensor.dtype == torch.float32:
            tensor = tensor.to(torch.float16)
        state[name] = tensor
    return save(state)


def check_state_dict(state: dict, own: dict) -> None:
    """Raise ValueError unless ``state`` has exactly ``own``'s tensor names, each with the same
    shape and a dtype we write for it: the same dtype, or float16 for a float32 tensor (the
    half-precision files of :func:`serialize_module`). Loading then never casts integers or
    booleans into weights, and never broadcasts a wrongly shaped tensor."""
    import torch

    if set(state) != set(own):
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        raise ValueError(
            f"the saved weights do not fit this model (missing {missing}, unexpected {extra}): "
            "was it saved from a model with other settings?"
        )
    for name, tensor in state.items():
        want = own[name]
        if tuple(tensor.shape) != tuple(want.shape):
            raise ValueError(
                f"tensor {name!r} has shape {tuple(tensor.shape)}, the model expects "
                f"{tuple(want.shape)}: the weights were saved from a model with other settings"
            )
        allowed = {want.dtype} | ({torch.float16} if want.dtype == torch.float32 else set())
        if tensor.dtype not in allowed:
            raise ValueError(
                f"tensor {name!r} has dtype {tensor.dtype}, the model expects {want.dtype}"
            )


def deserialize_module(module: Any, data: bytes, device: Any = None) -> Any:
    """Load :func:`serialize_module` bytes into ``module``, casting back to its own dtypes.

    Raises ValueError for anything but safetensors bytes whose tensors fit the module
    (:func:`check_state_dict`); nothing in ``data`` is ever unpickled."""
    from safetensors.torch import load

    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"expected safetensors bytes, got {type(data).__name__}")
    try:
        state = load(bytes(data))
    except Exception as err:  # safetensors raises its own SafetensorError
        raise ValueError(f"not a valid safetensors model ({err})") from None
    own = module.state_dict()
    check_state_dict(state, own)
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    if device is not None:
        module.to(device)
    return module


def _convert_id_inputs(model: Any, X: tuple, is_train: bool):
    """(ids, lengths) numpy arrays -> the module's two tensor arguments (no input gradient)."""
    import torch
    from thinc.api import ArgsKwargs

    ids, lengths = X
    return ArgsKwargs(args=(torch.from_numpy(ids), torch.from_numpy(lengths)), kwargs={}), (
        lambda d_inputs: []
    )


def wrap_id_module(net: Any) -> Any:
    """A PyTorch module taking (ids, lengths) as a thinc layer whose weights serialize as
    float16 safetensors (never pickles)."""
    from functools import partial

    from thinc.api import PyTorchWrapper_v3

    return PyTorchWrapper_v3(
        net,
        convert_inputs=_convert_id_inputs,
        serialize_model=partial(serialize_module, half=True),
        deserialize_model=deserialize_module,
    )


def shim_averages(model: Any, params: dict) -> dict:
    """``params`` (an optimizer's ``averages``) plus the entries thinc's ``PyTorchShim.use_params``
    looks for. The optimizer keys a torch parameter as ``(shim.id, name)`` but the shim reads
    ``"pytorch_{id}_{name}"``, so without these the averaged torch weights are computed and
    never used. Each shim's entry set is completed from its current state dict (buffers such
    as batch-norm statistics are not averaged), since the shim loads it strictly."""
    from thinc.api import torch2xp

    aliased = dict(params)
    for node in model.walk():
        for shim in node.shims:
            names = {key[1] for key in params if isinstance(key, tuple) and key[0] == shim.id}
            if not names:
                continue
            for name, value in shim._model.state_dict().items():
                source = params[(shim.id, name)] if name in names else torch2xp(value)
                aliased[f"pytorch_{shim.id}_{name}"] = source
    return aliased


class AveragedTorchPipe:
    """Mixin for a ``TrainablePipe`` whose model wraps PyTorch modules: ``use_params`` (what
    ``spacy train`` calls to evaluate and save with averaged weights) reaches the modules.
    A plain generator, like spaCy's own: ``Language.use_params`` steps it with ``next``."""

    def use_params(self, params: dict) -> Iterator[None]:
        with self.model.use_params(shim_averages(self.model, params)):
            yield
