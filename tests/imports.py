"""What an import statement loads, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(imports: str, watched: tuple[str, ...]) -> list[str]:
    """The modules of ``watched`` present in ``sys.modules`` after ``import {imports}``."""
    code = f"import sys, {imports}\nprint(','.join(m for m in {watched!r} if m in sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in out.stdout.strip().split(",") if m]
