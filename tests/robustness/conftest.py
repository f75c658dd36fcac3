"""Shared pieces of the robustness suites (property tests and fuzzing).

Example budgets are fixed so the suites fit CI's time budget; ``KEXUE_FUZZ_SCALE`` multiplies
every budget for a longer local run, e.g. ``KEXUE_FUZZ_SCALE=20 python -m pytest tests/robustness
--hypothesis-show-statistics`` (the statistics line of each test says how many cases it ran).
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

import pytest
import spacy
from hypothesis import HealthCheck, settings

FUZZ_SCALE = max(1, int(os.environ.get("KEXUE_FUZZ_SCALE", "1")))


def budget(examples: int, **kwargs) -> settings:
    """Hypothesis settings running ``examples`` cases (times KEXUE_FUZZ_SCALE), no deadline
    (the machines are shared), no health check about slow generation or fixtures, and a
    failure printed with its ``@reproduce_failure`` blob, so a CI failure can be replayed."""
    return settings(
        max_examples=examples * FUZZ_SCALE,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
        **kwargs,
    )


@pytest.fixture(scope="session")
def default_nlp():
    """The installed default pipeline zh_kexue_sm, loaded once."""
    if not spacy.util.is_package("zh_kexue_sm"):
        pytest.skip("zh_kexue_sm is not installed")
    return spacy.load("zh_kexue_sm")


class Hang(BaseException):
    """Code under test ran past its time limit (a BaseException, so no parser can swallow it)."""


@contextmanager
def time_limit(seconds: int = 20, what: str = "the parser"):
    """Fail (raise :class:`Hang`) when the block runs longer than ``seconds`` (main thread,
    POSIX; elsewhere the block runs unguarded)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"{what} was still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
