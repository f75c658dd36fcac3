"""The training curves of text VAEs: KL and active units at every evaluation of
``spacy train`` (read from ``spacy.ConsoleLogger.v3``'s JSON-lines file, which holds the
scores with a non-null weight, times 100: configs/vae.cfg weighs ``vae_kl`` and ``vae_au`` 0),
drawn to a PNG.

matplotlib is needed for the picture only (``pip install matplotlib``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataFileError


def read_curve(path: str | Path) -> dict[str, list[float]]:
    """Steps, ``vae_kl`` and ``vae_au`` of every evaluation logged in ``path``."""
    path = Path(path)
    steps, kl, au = [], [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise DataFileError(f"cannot read the training log ({err.strerror})", path=path) from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            scores = record["scores"]
            step = record["step"]
        except (ValueError, KeyError, AttributeError):
            raise DataFileError(
                "not a spacy.ConsoleLogger.v3 JSON line (with 'step' and 'scores')",
                path=path,
                line=lineno,
            ) from None
        if "vae_kl" in scores and "vae_au" in scores:
            steps.append(step)
            kl.append(scores["vae_kl"] / 100)  # the logger stores scores x 100
            au.append(scores["vae_au"] / 100)
    if not steps:
        raise DataFileError(
            "no evaluation with vae_kl and vae_au scores (give them a weight of 0, not null, "
            "in [training.score_weights])",
            path=path,
        )
    return {"step": steps, "kl": kl, "au": au}


def plot_curves(curves: dict[str, dict[str, list[float]]], out: str | Path) -> Path:
    """One PNG, two panels (KL, active units over steps), a line per named run."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("drawing the curves needs matplotlib: pip install matplotlib") from None
    fig, (ax_kl, ax_au) = plt.subplots(1, 2, figsize=(10, 4))
    for name, curve in curves.items():
        ax_kl.plot(curve["step"], curve["kl"], marker="o", label=name)
        ax_au.plot(curve["step"], curve["au"], marker="o", label=name)
    ax_kl.set(xlabel="step", ylabel="KL (nats per text)", title="KL on dev")
    ax_au.set(xlabel="step", ylabel="active units", title="Active units on dev")
    ax_kl.legend()
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
