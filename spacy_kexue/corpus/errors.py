"""The errors of the ``kexue pipe`` runner, in a module of their own so that every part of the
runner (the pipe loop, the checkpoint, the Dask backend) can raise them without importing the
others."""

from __future__ import annotations

from ..errors import KexueError

__all__ = ["CheckpointError", "PipeError", "WorkerDiedError"]


class PipeError(KexueError, RuntimeError):
    """``kexue pipe`` cannot go on (bad settings, a pipeline that fails, a dead worker)."""


class WorkerDiedError(PipeError):
    """A worker process died (killed, out of memory, ``os._exit``)."""


class CheckpointError(KexueError, ValueError):
    """The output or its checkpoint cannot be used as asked (exists, other settings, ...)."""
