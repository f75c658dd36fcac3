import os
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: The Debian packages some tests need (the OCR tests render with the allowed fonts, the
#: saliency page is checked in a real browser); .ci/run installs them.
FONT_PACKAGES = ("fonts-noto-cjk", "fonts-wqy-zenhei", "fonts-wqy-microhei", "fonts-arphic-uming")
CHROMIUM_PACKAGE = "chromium"
_MISSING = "missing system package"
_NO_DATA = "missing data folder"


def skip_missing_system(packages: str | tuple[str, ...], what: str) -> None:
    """Skip a test that needs Debian ``packages``; the run ends by naming them and how many
    tests they cost (:func:`pytest_terminal_summary`)."""
    names = " ".join([packages] if isinstance(packages, str) else packages)
    pytest.skip(f"{_MISSING} [{names}]: {what}")


def skip_missing_fonts(what: str = "no allowed font installed") -> None:
    skip_missing_system(FONT_PACKAGES, what)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def data_path() -> Path:
    return Path(os.environ.get("KEXUE_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder; tests needing it skip when it is absent."""
    path = data_path()
    if not path.exists():
        pytest.skip(f"{_NO_DATA} [{path}]: data directory {path} not present")
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say what the skipped tests were missing, and how to install it."""
    packages: Counter[str] = Counter()
    data: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if match := re.search(rf"{_MISSING} \[([^\]]+)\]", reason):
            packages[match.group(1)] += 1
        elif match := re.search(rf"{_NO_DATA} \[([^\]]+)\]", reason):
            data[match.group(1)] += 1
    if not packages and not data:
        return
    total = sum(packages.values()) + sum(data.values())
    terminalreporter.section(f"{total} tests skipped for something this machine lacks")
    for names, n in sorted(packages.items()):
        terminalreporter.line(f"{n} tests skipped: missing Debian packages {names}")
    for folder, n in sorted(data.items()):
        terminalreporter.line(
            f"{n} tests skipped: no data folder at {folder} (set KEXUE_DATA to the folder "
            "holding cws/ and sentiment/)"
        )
    if packages:
        wanted = sorted({name for names in packages for name in names.split()})
        terminalreporter.line(f"Install them with: sudo apt-get install {' '.join(wanted)}")
