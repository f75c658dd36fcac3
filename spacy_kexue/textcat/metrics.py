"""Accuracy and macro-F1 of binary (0/1) sentiment predictions, as the benchmarks report them,
and accuracy at a coverage: the least confident reviews abstain, with the confidence cut that
leaves a given share of a dev set (:func:`confidence_cuts`) applied to the test scores."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def binary_scores(gold: list[int], pred: list[int]) -> dict[str, float]:
    """``accuracy`` and ``macro_f1`` (the mean of the two classes' F1) of 0/1 predictions."""
    fs = []
    for cls in (0, 1):
        tp = sum(g == p == cls for g, p in zip(gold, pred, strict=True))
        n_pred, n_gold = pred.count(cls), gold.count(cls)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        fs.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    return {"accuracy": accuracy, "macro_f1": sum(fs) / 2}


def confidence_cuts(dev_scores: Sequence[float], coverages: Iterable[float]) -> dict[float, float]:
    """Per coverage c in (0, 1], the confidence |p - 0.5| at or above which a share c of the
    dev scores (P(POSITIVE)) is kept: the abstain band that answers for that share of dev."""
    ranked = sorted((abs(p - 0.5) for p in dev_scores), reverse=True)
    if not ranked:
        raise ValueError("confidence_cuts needs at least one dev score")
    cuts = {}
    for coverage in coverages:
        if not 0.0 < coverage <= 1.0:
            raise ValueError(f"a coverage is a share in (0, 1], got {coverage}")
        keep = max(1, round(coverage * len(ranked)))
        cuts[coverage] = 0.0 if coverage >= 1.0 else ranked[keep - 1]
    return cuts


def covered_accuracy(scores: Sequence[float], gold: Sequence[int], cut: float) -> dict[str, float]:
    """The share of reviews answered (confidence |p - 0.5| >= ``cut``) and the accuracy on
    them (0.0 when none is)."""
    kept = [(int(p >= 0.5), g) for p, g in zip(scores, gold, strict=True) if abs(p - 0.5) >= cut]
    return {
        "coverage": len(kept) / len(gold),
        "accuracy": sum(p == g for p, g in kept) / len(kept) if kept else 0.0,
    }
