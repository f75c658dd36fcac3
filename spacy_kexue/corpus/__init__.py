"""The ``kexue pipe`` runner (:func:`run`): sources, checkpointed chunks, worker processes and
the Dask backend. (Low-level file readers live in :mod:`spacy_kexue.readers`.)

Importing this package is cheap (no spaCy, no torch): the pipeline loads when a run starts.
"""

from .errors import CheckpointError, PipeError, WorkerDiedError
from .pipe import PipeSummary, run

__all__ = ["CheckpointError", "PipeError", "PipeSummary", "WorkerDiedError", "run"]
