"""Su's saliency formula and its variants (spacy_kexue.saliency.scores): hand-computed values,
the h_0 = 0 convention, exact zeros, per-token states of both directions, the decision state,
and the properties the formula guarantees (telescoping, invariances) on random states and on
a trained character LSTM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spacy_kexue.saliency.scores import (
    DIRECTIONS,
    FORMULAS,
    STATES,
    prefix_pool,
    state_saliency,
    token_saliency,
)
from spacy_kexue.textcat.probe import decision_weights, predict_with_states, state_layout
from tests.saliency.conftest import words_doc

SQ2, SQ5 = math.sqrt(2.0), math.sqrt(5.0)
# h_1..h_3 = (1,0), (1,1), (0,2): ‖h_3‖ = 2, ‖h_3 − h_i‖ = 2, √5, √2, 0 for i = 0..3
STATES_2D = [[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]
DISTANCE_2D = [1 - SQ5 / 2, (SQ5 - SQ2) / 2, SQ2 / 2]


def close(got, expected, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, atol=atol, rtol=0)


# --- state_saliency ---------------------------------------------------------------------------


def test_distance_formula_by_hand_2d():
    scores = state_saliency(np.array(STATES_2D))
    assert scores.dtype == np.float32
    assert scores.shape == (3,)
    close(scores, DISTANCE_2D)
    assert float(scores.sum()) == pytest.approx(1.0, abs=1e-6)


def test_distance_formula_by_hand_1d():
    # ‖h_3 − h_i‖ / ‖h_3‖ = 1, 1/2, 1/2, 0
    close(state_saliency(np.array([[1.0], [3.0], [2.0]])), [0.5, 0.0, 0.5])
    close(state_saliency(np.array([[-1.0], [-3.0], [-2.0]])), [0.5, 0.0, 0.5])
    # a step away from the final state is negative
    close(state_saliency(np.array([[-1.0], [2.0]])), [-0.5, 1.5])


def test_first_state_is_measured_from_zero():
    """h_0 = 0: the first word's score is 1 − ‖h_n − h_1‖ / ‖h_n‖."""
    close(state_saliency(np.array([[3.0, 4.0]])), [1.0])
    close(state_saliency(np.array([[3.0, 0.0], [3.0, 4.0]])), [1 - 4 / 5, 4 / 5])
    # float32 input gives the same values as float64
    close(state_saliency(np.array(STATES_2D, dtype=np.float32)), DISTANCE_2D)


def test_unmoved_state_scores_exactly_zero():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 16)).astype(np.float32)
    for formula in FORMULAS:
        scores = state_saliency(np.stack([a, a, b, b, b, c, c]), formula)
        assert scores[1] == 0.0, formula
        assert scores[3] == 0.0 and scores[4] == 0.0, formula
        assert scores[6] == 0.0, formula
        assert np.all(scores[[0, 2, 5]] != 0.0), formula


@pytest.mark.parametrize("formula", FORMULAS)
def test_zero_final_state_gives_zeros(formula):
    for states in ([[1.0, 2.0], [0.0, 0.0]], [[0.0, 0.0]], np.zeros((4, 3))):
        scores = state_saliency(np.array(states), formula)
        assert scores.dtype == np.float32
        assert scores.tolist() == [0.0] * len(states)


@pytest.mark.parametrize("formula", FORMULAS)
def test_empty_states(formula):
    scores = state_saliency(np.zeros((0, 4)), formula)
    assert scores.shape == (0,)
    assert scores.dtype == np.float32


def test_projection_formula_by_hand():
    # ⟨h_i − h_{i−1}, h_n⟩ / ‖h_n‖²: ⟨h_i, h_n⟩ = 0, 0, 2, 4 for i = 0..3
    scores = state_saliency(np.array(STATES_2D), "projection")
    assert scores.dtype == np.float32
    close(scores, [0.0, 0.5, 0.5])
    close(state_saliency(np.array([[1.0], [3.0], [2.0]]), "projection"), [0.5, 1.0, -0.5])
    assert float(scores.sum()) == pytest.approx(1.0, abs=1e-6)


def test_unknown_formula():
    with pytest.raises(ValueError, match="formula"):
        state_saliency(np.array(STATES_2D), "cosine")


# --- prefix_pool ---------------------------------------------------------------------------------

STEPS = np.array([[1.0, -1.0], [3.0, -5.0], [2.0, 0.0]])


def test_prefix_pool_max_mean_by_hand():
    pooled = prefix_pool(STEPS, "max_mean")
    assert pooled.shape == (3, 4)
    # running max, then the running sum divided by the text's length
    close(pooled[:, :2], [[1, -1], [3, -1], [3, 0]])
    close(pooled[:, 2:], [[1 / 3, -1 / 3], [4 / 3, -2], [2, -2]])
    # the last row is the pooled features: max and mean over the whole text
    close(pooled[-1], np.concatenate([STEPS.max(axis=0), STEPS.mean(axis=0)]))


def test_prefix_pool_last_and_empty():
    np.testing.assert_array_equal(prefix_pool(STEPS, "last"), STEPS)
    assert prefix_pool(np.zeros((0, 5), dtype=np.float32), "max_mean").shape == (0, 10)
    assert prefix_pool(np.zeros((0, 5), dtype=np.float32), "last").shape == (0, 5)


# --- token_saliency on hand-built states ---------------------------------------------------------

# Five tokens: t0 (out of vocabulary, before any unit), t1 (unit 0), t2 (out of vocabulary),
# t3 (unit 1), t4 (unit 2).
TOKEN_STEPS = np.array([-1, 0, 0, 1, 2])
NEXT_STEPS = np.array([0, 0, 1, 1, 2])
# Backward states are indexed by position: backward[j] is the state after reading units j..2
# from the right, so in reading order (t4, t3, t2, t1, t0) the states are (1,0), (1,1), (1,1),
# (0,2), (0,2): the same path as STATES_2D.
BACKWARD_2D = [[0.0, 2.0], [1.0, 1.0], [1.0, 0.0]]
FORWARD_BY_TOKEN = [0.0, DISTANCE_2D[0], 0.0, DISTANCE_2D[1], DISTANCE_2D[2]]
BACKWARD_BY_TOKEN = [0.0, DISTANCE_2D[2], 0.0, DISTANCE_2D[1], DISTANCE_2D[0]]


def bi_states() -> dict[str, np.ndarray]:
    return {
        "forward": np.array(STATES_2D, dtype=np.float32),
        "token_steps": TOKEN_STEPS,
        "backward": np.array(BACKWARD_2D, dtype=np.float32),
        "next_steps": NEXT_STEPS,
    }


def uni_states() -> dict[str, np.ndarray]:
    return {"forward": np.array(STATES_2D, dtype=np.float32), "token_steps": TOKEN_STEPS}


def test_token_saliency_forward_by_hand():
    for states in (bi_states(), uni_states()):
        scores = token_saliency(states, direction="forward", state="lstm")
        assert scores.dtype == np.float32
        close(scores, FORWARD_BY_TOKEN)
        assert scores[0] == 0.0 and scores[2] == 0.0  # no unit: exactly zero


def test_token_saliency_backward_reads_from_the_right():
    scores = token_saliency(bi_states(), direction="backward", state="lstm")
    close(scores, BACKWARD_BY_TOKEN)
    assert scores[0] == 0.0 and scores[2] == 0.0


def test_token_saliency_both_is_the_mean():
    both = token_saliency(bi_states(), direction="both", state="lstm")
    close(both, (np.array(FORWARD_BY_TOKEN) + BACKWARD_BY_TOKEN) / 2)
    # a unidirectional encoder: "both" is the forward scores
    close(token_saliency(uni_states(), direction="both", state="lstm"), FORWARD_BY_TOKEN)


def test_token_saliency_projection_by_hand():
    scores = token_saliency(uni_states(), direction="forward", state="lstm", formula="projection")
    close(scores, [0.0, 0.0, 0.0, 0.5, 0.5])


def test_token_saliency_pooled_by_hand():
    # max_mean accumulators after each unit: (1,0 | 1/3,0), (1,1 | 2/3,1/3), (1,2 | 2/3,1)
    pooled = [[1, 0, 1 / 3, 0], [1, 1, 2 / 3, 1 / 3], [1, 2, 2 / 3, 1]]
    expected = state_saliency(np.array(pooled))
    scores = token_saliency(uni_states(), direction="forward", state="pooled")
    close(scores, [0.0, expected[0], 0.0, expected[1], expected[2]])
    # with pooling "last" the pooled state is the LSTM state itself
    last = token_saliency(uni_states(), direction="forward", state="pooled", pooling="last")
    close(last, FORWARD_BY_TOKEN)


def test_token_saliency_decision_by_hand():
    states = {"forward": np.array(STATES_2D), "token_steps": np.array([0, 1, 2])}
    # pooling "last": the decision state is ⟨h_i, w⟩ = 1, 2, 2
    weights = {"forward": np.array([1.0, 1.0])}
    close(
        token_saliency(states, direction="forward", pooling="last", weights=weights),
        [0.5, 0.5, 0.0],
    )
    # max_mean: ⟨pooled_i, w⟩ = 4/3, 3, 14/3
    weights = {"forward": np.ones(4)}
    close(
        token_saliency(states, direction="forward", pooling="max_mean", weights=weights),
        [2 / 7, 5 / 14, 5 / 14],
    )


def test_decision_scores_point_toward_the_predicted_class():
    """A direction whose final contribution is negative has its scores' sign flipped."""
    states = {"forward": np.array(STATES_2D), "token_steps": np.array([0, 1, 2])}
    weights = {"forward": np.array([-1.0, -1.0])}  # decision states −1, −2, −2
    close(
        token_saliency(states, direction="forward", pooling="last", weights=weights),
        [-0.5, -0.5, 0.0],
    )


def test_decision_both_weighs_directions_by_their_contribution():
    states = {
        "forward": np.array(STATES_2D),
        "token_steps": np.array([0, 1, 2]),
        "backward": np.array(BACKWARD_2D),
        "next_steps": np.array([0, 1, 2]),
    }
    weights = {"forward": np.array([1.0, 1.0]), "backward": np.array([1.0, -1.0])}
    # forward: decision states 1, 2, 2 -> [1/2, 1/2, 0], final contribution +2.
    # backward: ⟨backward_j, w⟩ = −2, 0, 1, read t2, t1, t0: 1, 0, −2 -> distances to −2 of
    # 2, 3, 2, 0 (over ‖−2‖) -> reading-order scores −1/2, 1/2, 1 -> text order [1, 1/2, −1/2],
    # final contribution −2.  Mixed: (2/4)·fw + (−2/4)·bw.
    fw = token_saliency(states, direction="forward", pooling="last", weights=weights)
    bw = token_saliency(states, direction="backward", pooling="last", weights=weights)
    close(fw, [0.5, 0.5, 0.0])
    close(bw, [-1.0, -0.5, 0.5])  # sign flipped: the backward contribution is negative
    both = token_saliency(states, direction="both", pooling="last", weights=weights)
    close(both, [-0.25, 0.0, 0.25])


def test_decision_with_zero_contribution_gives_zeros():
    # ⟨h_3, w⟩ = ⟨(0, 2), (1, 0)⟩ = 0: the direction adds nothing to the margin
    states = {"forward": np.array(STATES_2D), "token_steps": np.array([0, 1, 2])}
    weights = {"forward": np.array([1.0, 0.0])}
    for direction in ("forward", "both"):
        scores = token_saliency(states, direction=direction, pooling="last", weights=weights)
        assert scores.tolist() == [0.0, 0.0, 0.0]


def test_token_saliency_errors():
    with pytest.raises(ValueError, match="direction"):
        token_saliency(bi_states(), direction="left", state="lstm")
    with pytest.raises(ValueError, match="state"):
        token_saliency(bi_states(), state="cell")
    with pytest.raises(ValueError, match="formula"):
        token_saliency(bi_states(), state="lstm", formula="cosine")
    with pytest.raises(ValueError, match="weights"):
        token_saliency(bi_states(), state="decision")
    with pytest.raises(ValueError, match="bidirectional"):
        token_saliency(uni_states(), direction="backward", state="lstm")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_token_saliency_empty_doc(state, direction):
    states = {
        "forward": np.zeros((0, 2), dtype=np.float32),
        "token_steps": np.zeros(0, dtype=np.int64),
        "backward": np.zeros((0, 2), dtype=np.float32),
        "next_steps": np.zeros(0, dtype=np.int64),
    }
    weights = {"forward": np.ones(4), "backward": np.ones(4)}
    scores = token_saliency(states, direction=direction, state=state, weights=weights)
    assert scores.shape == (0,)
    # tokens but no units (out of vocabulary, whitespace): zeros
    states["token_steps"] = np.array([-1, -1])
    states["next_steps"] = np.array([0, 0])
    scores = token_saliency(states, direction=direction, state=state, weights=weights)
    assert scores.tolist() == [0.0, 0.0]


# --- properties on random states -----------------------------------------------------------------

FLOATS = st.floats(-10, 10, width=32, allow_subnormal=False)


@st.composite
def state_paths(draw, max_steps=8, max_dim=4):
    n = draw(st.integers(1, max_steps))
    d = draw(st.integers(1, max_dim))
    states = draw(hnp.arrays(np.float32, (n, d), elements=FLOATS))
    assume(np.linalg.norm(states[-1].astype(np.float64)) > 0.1)
    return states


def tolerance(scores: np.ndarray) -> float:
    return 1e-6 * len(scores) * (1.0 + float(np.abs(scores).max()))


@settings(max_examples=100, deadline=None)
@given(state_paths(), st.sampled_from(FORMULAS))
def test_scores_sum_to_one(states, formula):
    """Both formulas telescope: the distances go from ‖h_n − 0‖/‖h_n‖ = 1 to 0, the
    projections from 0 to ⟨h_n, h_n⟩/‖h_n‖² = 1."""
    scores = state_saliency(states, formula)
    assert abs(float(scores.astype(np.float64).sum()) - 1.0) <= tolerance(scores)


@settings(max_examples=100, deadline=None)
@given(state_paths())
def test_distance_score_is_bounded_by_the_step(states):
    """Triangle inequality: |sal_i| ≤ ‖h_i − h_{i−1}‖ / ‖h_n‖."""
    x = states.astype(np.float64)
    steps = np.linalg.norm(np.diff(np.concatenate([np.zeros((1, x.shape[1])), x]), axis=0), axis=1)
    bound = steps / np.linalg.norm(x[-1])
    assert np.all(np.abs(state_saliency(states)) <= bound + 1e-5 * (1 + bound))


@settings(max_examples=60, deadline=None)
@given(state_paths(), st.floats(0.01, 100), st.integers(0, 2**32 - 1), st.sampled_from(FORMULAS))
def test_scores_ignore_scale_and_rotation(states, scale, seed, formula):
    d = states.shape[1]
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    scores = state_saliency(states, formula)
    moved = state_saliency(scale * states.astype(np.float64) @ q, formula)
    np.testing.assert_allclose(moved, scores, atol=10 * tolerance(scores), rtol=0)


@st.composite
def doc_states(draw):
    """Random BiLSTM states of a doc with n_tokens tokens, some without units."""
    owners = draw(st.lists(st.integers(0, 5), min_size=1, max_size=8))
    owners = np.sort(np.asarray(owners, dtype=np.int64))
    n_tokens = int(owners[-1]) + 1 + draw(st.integers(0, 2))
    length, hidden = len(owners), draw(st.integers(1, 3))
    forward = draw(hnp.arrays(np.float32, (length, hidden), elements=FLOATS))
    backward = draw(hnp.arrays(np.float32, (length, hidden), elements=FLOATS))
    tokens = np.arange(n_tokens)
    return {
        "forward": forward,
        "backward": backward,
        "token_steps": np.searchsorted(owners, tokens, side="right") - 1,
        "next_steps": np.searchsorted(owners, tokens, side="left"),
        "owners": owners,
    }


@settings(max_examples=100, deadline=None)
@given(doc_states(), st.sampled_from(STATES), st.sampled_from(FORMULAS), st.booleans())
def test_backward_is_forward_on_the_mirrored_doc(states, state, formula, last):
    """The backward direction on a doc equals the forward direction on the doc read right to
    left (tokens and units mirrored)."""
    n_tokens = len(states["token_steps"])
    pooling = "last" if last else "max_mean"
    hidden = states["forward"].shape[1]
    w = np.linspace(-1.0, 1.0, hidden if last else 2 * hidden)
    mirrored_owners = np.sort(n_tokens - 1 - states["owners"])
    tokens = np.arange(n_tokens)
    mirrored = {
        "forward": states["backward"][::-1].copy(),
        "token_steps": np.searchsorted(mirrored_owners, tokens, side="right") - 1,
    }
    backward = token_saliency(
        states,
        direction="backward",
        state=state,
        formula=formula,
        pooling=pooling,
        weights={"forward": w, "backward": w},
    )
    forward = token_saliency(
        mirrored,
        direction="forward",
        state=state,
        formula=formula,
        pooling=pooling,
        weights={"forward": w},
    )
    np.testing.assert_allclose(backward, forward[::-1], atol=1e-5 * (1 + np.abs(forward).max()))


@settings(max_examples=100, deadline=None)
@given(doc_states(), st.sampled_from(["lstm", "pooled"]), st.sampled_from(FORMULAS))
def test_tokens_without_units_score_zero_and_scores_sum_to_one(states, state, formula):
    scores = token_saliency(states, direction="forward", state=state, formula=formula)
    repeated = np.diff(np.r_[-1, states["token_steps"]]) == 0
    assert np.all(scores[repeated] == 0.0)
    pooled = prefix_pool(states["forward"], "max_mean") if state == "pooled" else states["forward"]
    if np.linalg.norm(pooled[-1].astype(np.float64)) > 0.1:
        assert abs(float(scores.astype(np.float64).sum()) - 1.0) <= 10 * tolerance(scores)


# --- a trained character LSTM: a token's score is the sum of its characters' ----------------------

TEXT_WORDS = ["这个", "很好鑫", "但", "太差了", "质量"]  # 鑫 and 但 are out of vocabulary


@pytest.fixture(scope="module")
def char_model(trained):
    nlp = trained("char_lstm")
    return nlp, nlp.get_pipe("kexue_textcat").model


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("state", STATES)
def test_token_score_is_the_sum_of_its_characters(char_model, state, direction, formula):
    nlp, model = char_model
    text = "".join(TEXT_WORDS)
    chars = nlp.make_doc(text)  # spacy.blank("zh"): one token per character
    words = words_doc(nlp, TEXT_WORDS)
    assert len(chars) == len(text) and words.text == text
    probs, (char_states, word_states) = predict_with_states(model, [chars, words])
    np.testing.assert_array_equal(probs[0], probs[1])
    weights = decision_weights(model, int(np.argmax(probs[0])))
    settings_ = dict(
        direction=direction,
        state=state,
        formula=formula,
        pooling=state_layout(model)["pooling"],
        weights=weights,
    )
    per_char = token_saliency(char_states, **settings_)
    per_word = token_saliency(word_states, **settings_)
    bounds = np.cumsum([0] + [len(w) for w in TEXT_WORDS])
    summed = [
        per_char[a:b].sum(dtype=np.float64) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    np.testing.assert_allclose(per_word, summed, atol=1e-5, rtol=1e-6)
    assert per_char[text.index("鑫")] == 0.0
    assert per_word[2] == 0.0  # 但: no unit
    assert np.abs(per_word).max() > 1e-3  # the comparison is not between zeros


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_compiled_decision_path_equals_the_pooled_states(seed, reverse):
    """The compiled decision state (running max and running mean, projected) equals the
    projection of prefix_pool's (L, 2H) pooled states, in reading order."""
    from spacy_kexue.saliency._paths import decision_path

    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(int(rng.integers(1, 60)), 8)).astype(np.float32)
    weights = rng.normal(size=16)
    ordered = steps[::-1] if reverse else steps
    expected = prefix_pool(ordered, "max_mean").astype(np.float64) @ weights
    got = decision_path(np.ascontiguousarray(steps), weights, reverse)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
