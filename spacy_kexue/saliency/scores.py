"""Saliency from RNN states (kexue.fm, "RNN模型中输入的重要性的评估", 2017).

With h_0 = 0 and h_n the final state, word i's saliency is how much it moved the state toward
the final one:

    sal(w_i) = (‖h_n − h_{i−1}‖ − ‖h_n − h_i‖) / ‖h_n‖          (formula = "distance")

Positive: the word pushed the state toward the final decision. A word that does not move the
state (out of vocabulary, or cut by truncation) scores exactly 0. ``formula = "projection"`` is
its first-order form, the step projected on the final state: ⟨h_i − h_{i−1}, h_n⟩ / ‖h_n‖²
(the scores then sum to 1 over the text).

Which state h (``state``):

- ``"lstm"``: the LSTM's hidden state after each unit, as in the post. For an encoder whose
  features are its final states (pooling ``"last"``) this is exactly the post's method.
- ``"pooled"``: the encoder's pooling accumulators over the text read so far: for pooling
  ``"max_mean"`` the running max of the states and their running sum divided by the text's
  length (so each unit adds exactly its share of the final mean); for ``"last"`` the state
  itself. h_n is then the direction's part of the features the classifier reads.
- ``"decision"``: that pooled state projected on the output layer's direction for the predicted
  class (its weight row minus the mean of the other rows): a one-dimensional state, the
  direction's contribution to the predicted class's logit margin. Each direction's scores are
  multiplied by the sign of its final contribution and, for ``"both"``, weighted by its share
  of the two contributions' sizes, so positive always means "toward the predicted class".

Per token, the state is the one after the token's last unit, so for a character encoder a
token's score is the sum of its characters' scores (both formulas telescope). A BiLSTM's
backward LSTM reads the text from the right: the formula runs over its states in reverse token
order. ``direction = "both"`` combines the forward and backward scores (the mean, or for the
decision state the signed weighting above; for a unidirectional encoder, the forward scores).
"""

from __future__ import annotations

import numpy as np

from ._paths import decision_path

DIRECTIONS = ("forward", "backward", "both")
STATES = ("lstm", "pooled", "decision")
FORMULAS = ("distance", "projection")
# A final state this small next to the path's extent counts as zero: below float32 resolution.
NEGLIGIBLE = 1e-9


def state_saliency(states: np.ndarray, formula: str = "distance") -> np.ndarray:
    """Saliency of each step from the states after each step, in reading order.

    ``states``: (n, d), the state after step 1..n (h_0 = 0 is implied, h_n = states[-1]).
    Returns (n,) float32; all zeros when h_n = 0 (nothing was read) or when ‖h_n‖ is
    negligible (≤ 1e-9) next to the largest distance on the path.
    """
    states = np.asarray(states, dtype=np.float64)
    n = len(states)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    with_start = np.concatenate([np.zeros((1, states.shape[1])), states])
    final = states[-1]
    if formula not in FORMULAS:
        raise ValueError(f"formula must be one of {FORMULAS}, got {formula!r}")
    # One norm routine for every distance, so equal states give bit-equal distances (and an
    # unmoved state scores exactly 0); the first distance is ‖0 − h_n‖ = ‖h_n‖.
    dist = np.linalg.norm(with_start - final, axis=1)
    if dist[0] <= NEGLIGIBLE * dist.max():
        return np.zeros(n, dtype=np.float32)
    if formula == "projection":
        return (np.diff(with_start @ final) / (final @ final)).astype(np.float32)
    dist /= dist[0]
    return (dist[:-1] - dist[1:]).astype(np.float32)


def prefix_pool(steps: np.ndarray, pooling: str) -> np.ndarray:
    """The pooling accumulators after steps 1..i, for every i: (L, H) -> (L, H) for ``"last"``,
    (L, 2H) [running max, running sum / L] for ``"max_mean"`` (row L is the pooled features)."""
    if pooling == "last" or len(steps) == 0:
        return steps if pooling == "last" else np.zeros((0, 2 * steps.shape[1]), steps.dtype)
    partial_mean = np.cumsum(steps, axis=0) / len(steps)
    return np.concatenate([np.maximum.accumulate(steps, axis=0), partial_mean], axis=1)


def token_states(
    steps: np.ndarray,
    after_token: np.ndarray,
    *,
    state: str,
    pooling: str,
    weights: np.ndarray | None = None,
    reverse: bool = False,
) -> np.ndarray:
    """One direction's state after each token, in that direction's reading order.

    ``steps``: (L, H) LSTM states in text order; ``after_token``: per token, the step whose
    state follows it (-1 or L: nothing read yet, the zero state); ``reverse``: the direction
    reads from the right.
    """
    if state == "decision" and pooling == "max_mean" and len(steps):
        # ⟨[running max, running sum / L], w⟩ in one compiled pass (_paths.pyx), without the
        # (L, 2H) pooled states
        w = np.ascontiguousarray(weights, dtype=np.float64)
        decision = decision_path(np.ascontiguousarray(steps, dtype=np.float32), w, reverse)
        steps = decision[::-1, None] if reverse else decision[:, None]
    elif state != "lstm":
        steps = prefix_pool(steps[::-1] if reverse else steps, pooling)
        steps = steps[::-1] if reverse else steps
        if state == "decision":
            steps = steps @ np.asarray(weights)[:, None]
    zero = np.zeros((1, steps.shape[1]), dtype=np.float64)
    per_token = np.concatenate([zero, steps, zero])[after_token + 1]
    return per_token[::-1] if reverse else per_token


def token_saliency(
    states: dict[str, np.ndarray],
    *,
    direction: str = "both",
    state: str = "decision",
    formula: str = "distance",
    pooling: str = "max_mean",
    weights: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Saliency per token from one doc's ``predict_with_states`` states.

    ``states``: ``forward`` (L, H) step states, ``token_steps`` (per token, the last step at or
    before it, -1 if none) and, for a BiLSTM, ``backward`` (L, H) and ``next_steps`` (per token,
    the first step at or after it, L if none). ``weights[direction]``: the decision direction
    over that direction's pooled state (needed for ``state = "decision"``).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if state not in STATES:
        raise ValueError(f"state must be one of {STATES}, got {state!r}")
    bidirectional = states.get("backward") is not None
    if direction == "backward" and not bidirectional:
        raise ValueError(
            'direction "backward" needs a bidirectional LSTM encoder; this one reads forward '
            'only (use direction = "forward" or "both")'
        )
    if state == "decision" and weights is None:
        raise ValueError('state = "decision" needs the output layer\'s weights')
    reads = {"forward": ("token_steps", False), "backward": ("next_steps", True)}
    if direction == "both":
        used = ("forward", "backward") if bidirectional else ("forward",)
    else:
        used = (direction,)
    scores, finals = [], []
    for name in used:
        after_token, reverse = reads[name]
        sequence = token_states(
            states[name],
            states[after_token],
            state=state,
            pooling=pooling,
            weights=None if weights is None else weights[name],
            reverse=reverse,
        )
        direction_scores = state_saliency(sequence, formula)
        scores.append(direction_scores[::-1] if reverse else direction_scores)
        finals.append(float(sequence[-1, 0]) if len(sequence) else 0.0)
    if state != "decision":
        return np.ascontiguousarray(np.mean(scores, axis=0), dtype=np.float32)
    # Decision state: weigh each direction by its signed share of the logit margin, so that
    # positive always means "toward the predicted class".
    total = sum(abs(f) for f in finals)
    if total == 0.0:
        return np.zeros(len(scores[0]), dtype=np.float32)
    mixed = sum(
        (f / total) * np.asarray(sc, dtype=np.float64) for f, sc in zip(finals, scores, strict=True)
    )
    return np.ascontiguousarray(mixed, dtype=np.float32)
