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


def test_confidence_cuts_keep_the_share_of_dev():
    from spacy_kexue.textcat.metrics import confidence_cuts

    dev = [0.99, 0.02, 0.7, 0.45, 0.9, 0.1, 0.55, 0.3, 0.8, 0.6]  # confidences .49 .48 .2 ...
    cuts = confidence_cuts(dev, (1.0, 0.8, 0.5))
    assert cuts[1.0] == 0.0
    kept = {c: sum(abs(p - 0.5) >= cut for p in dev) for c, cut in cuts.items()}
    assert kept == {1.0: 10, 0.8: 8, 0.5: 5}


@pytest.mark.parametrize("coverage", [0.0, -0.1, 1.5])
def test_confidence_cuts_refuse_a_share_outside_0_1(coverage):
    from spacy_kexue.textcat.metrics import confidence_cuts

    with pytest.raises(ValueError, match="coverage"):
        confidence_cuts([0.2, 0.9], (coverage,))
    with pytest.raises(ValueError, match="at least one"):
        confidence_cuts([], (0.5,))


def test_covered_accuracy_by_hand():
    from spacy_kexue.textcat.metrics import covered_accuracy

    scores, gold = [0.95, 0.52, 0.1, 0.45], [1, 0, 1, 0]
    assert covered_accuracy(scores, gold, 0.0) == {"coverage": 1.0, "accuracy": 0.5}
    # cut 0.3 answers 0.95 (right) and 0.1 (wrong)
    assert covered_accuracy(scores, gold, 0.3) == {"coverage": 0.5, "accuracy": 0.5}
    assert covered_accuracy(scores, gold, 0.5) == {"coverage": 0.0, "accuracy": 0.0}
