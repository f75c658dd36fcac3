"""Where things live: the data directory and the default pipeline."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PIPELINE = "zh_kexue_sm"


def data_dir() -> Path:
    """The evaluation/training data directory.

    ``$KEXUE_DATA`` when set, else ``../shared/data`` seen from the current
    directory (the layout of a checkout of this repository).
    """
    env = os.environ.get("KEXUE_DATA")
    if env:
        return Path(env).expanduser()
    return (Path.cwd() / ".." / "shared" / "data").resolve()


def default_pipeline_path() -> Path | None:
    """The installed default pipeline's data directory, or None if not installed."""
    import importlib.util

    spec = importlib.util.find_spec(DEFAULT_PIPELINE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent
