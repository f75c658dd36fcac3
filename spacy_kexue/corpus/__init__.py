"""Readers and writers for corpora, and the ``kexue pipe`` runner (:func:`run`).

Importing this package is cheap (no spaCy, no torch): the pipeline loads when a run starts.
"""

from .pipe import CheckpointError, PipeError, PipeSummary, WorkerDiedError, run

__all__ = ["CheckpointError", "PipeError", "PipeSummary", "WorkerDiedError", "run"]
