"""Accuracy and macro-F1 of binary (0/1) sentiment predictions, as the benchmarks report them."""

from __future__ import annotations


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
