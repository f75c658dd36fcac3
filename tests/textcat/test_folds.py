"""Leave-one-category-out folds (spacy_kexue.textcat.folds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spacy_kexue.errors import DataFileError
from spacy_kexue.textcat.folds import Review, category_folds, read_reviews

POOL = [
    Review("书很好", 1, "书籍"),
    Review("书太差", 0, "书籍"),
    Review("酒店干净", 1, "酒店"),
    Review("房间很吵", 0, "酒店"),
    Review("房间很吵", 0, "酒店"),  # a repeat within one category is tested once
    Review("水果新鲜", 1, "水果"),
    Review("还行吧", 1, "水果"),
    Review("还行吧", 1, "酒店"),  # the same text in two categories is tested in neither
    Review("一般般", 0, None),
]


def test_every_category_is_held_out_once_in_sorted_order():
    folds = category_folds(POOL)
    assert [f.category for f in folds] == ["书籍", "水果", "酒店"]
    for fold in folds:
        assert {r.category for r in fold.test} == {fold.category}
        assert fold.category not in {r.category for r in fold.train}


def test_no_text_is_tested_in_two_folds_or_trained_on_where_it_is_tested():
    folds = category_folds(POOL)
    tested = [r.text for f in folds for r in f.test]
    assert len(tested) == len(set(tested))
    assert "还行吧" not in tested
    for fold in folds:
        assert not {r.text for r in fold.test} & {r.text for r in fold.train}


def test_reviews_without_a_category_always_train():
    for fold in category_folds(POOL):
        assert Review("一般般", 0, None) in fold.train
    hotels = category_folds(POOL, ["酒店"])[0]
    assert sorted(r.text for r in hotels.test) == ["房间很吵", "酒店干净"]
    # everything outside the held-out category trains, the shared text included
    assert len(hotels.train) == len([r for r in POOL if r.category != "酒店"])


def test_categories_are_checked():
    with pytest.raises(ValueError, match="no reviews of the categories"):
        category_folds(POOL, ["手机"])
    with pytest.raises(ValueError, match="at least two categories"):
        category_folds([Review("好", 1, "书籍"), Review("差", 0, None)])


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_read_reviews_keeps_the_category(tmp_path):
    path = write(
        tmp_path / "pool.jsonl",
        [{"text": "好", "label": 1, "category": "书籍"}, {"text": "差", "label": 0}],
    )
    assert list(read_reviews(path)) == [Review("好", 1, "书籍"), Review("差", 0, None)]


@pytest.mark.parametrize("category", [3, "", "  ", ["书籍"]])
def test_read_reviews_names_the_line_of_a_bad_category(tmp_path, category):
    path = write(
        tmp_path / "pool.jsonl",
        [
            {"text": "好", "label": 1, "category": "书籍"},
            {"text": "差", "label": 0, "category": category},
        ],
    )
    with pytest.raises(DataFileError, match="line 2") as err:
        list(read_reviews(path))
    assert "category" in str(err.value) and "pool.jsonl" in str(err.value)
