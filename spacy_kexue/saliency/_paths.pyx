# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The decision state along a text, compiled: what ``kexue_saliency`` computes per step.

For an encoder pooling max and mean over its LSTM states h_1..h_L, the decision state after
step i is ⟨max(h_1..h_i), w_max⟩ + ⟨h_1 + ... + h_i, w_mean⟩ / L
(:func:`spacy_kexue.saliency.scores.token_states`); numpy needs the running maximum of the
whole (L, H) array, which its ``maximum.accumulate`` computes one element at a time.
"""

import numpy as np

from libc.math cimport INFINITY


def decision_path(const float[:, ::1] steps, const double[::1] weights, bint reverse):
    """(L,) float64: the decision state after each step, in reading order (``reverse``: the
    steps are read from the last row up); ``weights`` = [w_max (H), w_mean (H)]."""
    cdef Py_ssize_t n = steps.shape[0], width = steps.shape[1], i, t, o
    cdef double total = 0.0, value, peak
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] path = out
    running = np.full(width, -INFINITY, dtype=np.float64)
    cdef double[::1] top = running
    for i in range(n):
        t = n - 1 - i if reverse else i
        peak = 0.0
        for o in range(width):
            value = steps[t, o]
            if value > top[o]:
                top[o] = value
            peak += top[o] * weights[o]
            total += value * weights[width + o]
        path[i] = peak + total / n
    return out
