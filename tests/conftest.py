import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder; tests needing it skip when it is absent."""
    path = Path(os.environ.get("KEXUE_DATA", REPO.parent / "shared" / "data"))
    if not path.exists():
        pytest.skip(f"data directory {path} not present")
    return path
