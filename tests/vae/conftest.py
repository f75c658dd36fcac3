"""Shared setup of the text-VAE tests: one torch thread for the whole session."""

from __future__ import annotations

import pytest

from tests.tokenizer.conftest import single_torch_thread


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Run the VAE tests with one torch thread (restored at the end of the session)."""
    with single_torch_thread():
        yield
