import pytest

from spacy_kexue.textcat.metrics import binary_scores


def test_binary_scores_by_hand():
    # class 1: tp 2, predicted 2, gold 3 -> P 1, R 2/3, F 0.8; class 0: tp 1, predicted 2,
    # gold 1 -> P 0.5, R 1, F 2/3
    result = binary_scores([1, 0, 1, 1], [1, 0, 0, 1])
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)


def test_binary_scores_with_a_class_never_predicted():
    result = binary_scores([0, 1], [1, 1])
    assert result == {"accuracy": 0.5, "macro_f1": pytest.approx((0.0 + 2 / 3) / 2)}


def test_binary_scores_needs_equal_lengths():
    with pytest.raises(ValueError):
        binary_scores([0, 1], [1])
