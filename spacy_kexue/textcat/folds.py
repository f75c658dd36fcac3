"""Leave-one-category-out folds of a labelled review pool: the out-of-domain signal of the
sentiment benchmark (``benchmarks/sentiment_ood.py``).

Each record of the pool (JSONL ``{"text", "label", "category"}``, the layout of
../shared/data/sentiment) belongs to one product or service category, or to none. Fold *c*
trains on every record outside category *c* (the records without a category always stay in
training) and tests on category *c*. A text that occurs in more than one category is tested in
none of them, so no text is in the test part of two folds, and no fold trains on a text it
tests on. numpy-free, spaCy-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataFileError
from .labelled import labelled_records

__all__ = ["Fold", "Review", "category_folds", "read_reviews"]


@dataclass(frozen=True)
class Review:
    text: str
    label: int
    category: str | None


@dataclass(frozen=True)
class Fold:
    """Train on ``train``, test on ``test``: the reviews of ``category``."""

    category: str
    train: list[Review]
    test: list[Review]


def read_reviews(path: str | Path, *, category_key: str = "category") -> Iterator[Review]:
    """The pool's reviews; a category that is not a non-empty string or null raises
    DataFileError naming the line."""
    for lineno, record, text, label in labelled_records(path):
        category = record.get(category_key)
        if category is not None and not (isinstance(category, str) and category.strip()):
            raise DataFileError(
                f"has {category_key} = {category!r}: give the review's category as a "
                "non-empty string, or null when it has none.",
                path=path,
                line=lineno,
            )
        yield Review(text, label, category)


def category_folds(
    reviews: Iterable[Review], categories: Sequence[str] | None = None
) -> list[Fold]:
    """One fold per category (all of the pool's, sorted, or ``categories`` in that order)."""
    reviews = list(reviews)
    present = sorted({r.category for r in reviews if r.category is not None})
    if categories is None:
        categories = present
    unknown = [c for c in categories if c not in present]
    if unknown:
        raise ValueError(
            f"no reviews of the categories {unknown}; the pool has {present or 'none'}"
        )
    if len(present) < 2:
        raise ValueError(
            f"leave-one-category-out needs at least two categories; the pool has {present}"
        )
    seen_in: dict[str, set[str | None]] = {}
    for review in reviews:
        seen_in.setdefault(review.text, set()).add(review.category)
    shared = {text for text, cats in seen_in.items() if len(cats) > 1}
    folds = []
    for category in categories:
        tested: dict[str, Review] = {}
        for review in reviews:
            if review.category == category and review.text not in shared:
                tested.setdefault(review.text, review)
        train = [r for r in reviews if r.category != category and r.text not in tested]
        folds.append(Fold(category, train, list(tested.values())))
    return folds
