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
from ..readers import decode_file


def read_curve(path: str | Path) -> dict[str, list[float]]:
    """Steps, ``vae_kl`` and ``vae_au`` of every evaluation logged in ``path``."""
    path = Path(path)
    steps, kl, au = [], [], []
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataFileError(f"cannot read the training log ({err.strerror})", path=path) from None
    text = decode_file(data, path, "pass the JSON-lines log that spacy.ConsoleLogger.v3 wrote")
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # bad JSON, a huge number, too deeply nested
            record = None
        scores = record.get("scores") if isinstance(record, dict) else None
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(scores, dict) or not _is_number(step):
            raise DataFileError(
                "not a spacy.ConsoleLogger.v3 JSON line (with 'step' and 'scores')",
                path=path,
                line=lineno,
            )
        if "vae_kl" in scores and "vae_au" in scores:
            if not (_is_number(scores["vae_kl"]) and _is_number(scores["vae_au"])):
                raise DataFileError(
                    f"vae_kl ({scores['vae_kl']!r}) and vae_au ({scores['vae_au']!r}) must be "
                    "numbers (give them a weight of 0, not null, in [training.score_weights])",
                    path=path,
                    line=lineno,
                )
            steps.append(step)
            kl.append(float(scores["vae_kl"]) / 100)  # the logger stores scores x 100
            au.append(float(scores["vae_au"]) / 100)
    if not steps:
        raise DataFileError(
            "no evaluation with vae_kl and vae_au scores (give them a weight of 0, not null, "
            "in [training.score_weights])",
            path=path,
        )
    return {"step": steps, "kl": kl, "au": au}


def _is_number(value) -> bool:
    """A JSON number that fits a float (not a bool, not an integer of 400 digits)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


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
