# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The segmenter's inner loops, compiled: what runs once per character.

- :func:`viterbi_rows`: the constrained BMES Viterbi (:func:`.decode.viterbi` checks the
  arguments and calls it).
- :func:`unigram_route`: the word lexicon's maximum-probability route
  (:meth:`.unigram.UnigramSegmenter.segment` calls it).
- :func:`first_layer`, :func:`conv_layer`, :func:`log_softmax_rows`: the element-wise parts of
  the CNN tagger's forward pass (:mod:`.kernels` does the matrix products with numpy's BLAS).
- :func:`segment_piece`: one Han piece from its tag log-probabilities to its words: the
  lexicon's route, its vote and the Viterbi, in one call (the segmenter's common case: no
  user words or combining marks in the piece).

Each loops over one sequence at a time in C, so a short text costs microseconds, not one numpy
call per character, and a row's result never depends on its batch. The arithmetic is that of
the definitions in the callers' docstrings, in the same order and precision (the Viterbi in
float64, the tagger in float32).
"""

import numpy as np

from libc.math cimport INFINITY, expf, isnan, logf
from libc.stdlib cimport free, malloc

# tags
cdef enum:
    B = 0
    M = 1
    E = 2
    S = 3

cdef double LIMIT = 1e9


# ----------------------------------------------------------------------------------- Viterbi


cdef inline double _emission(double value) noexcept nogil:
    """NaN and -inf count as -LIMIT, and +inf as LIMIT: every legal path has a finite score."""
    if isnan(value) or value < -LIMIT:
        return -LIMIT
    if value > LIMIT:
        return LIMIT
    return value


cdef bint _decode(
    const double* scores,
    const unsigned char* allowed,
    Py_ssize_t length,
    signed char* out,
    unsigned char* better_bm,
    unsigned char* better_es,
) noexcept nogil:
    """Best legal path over ``length`` steps of row-major (length, 4) ``scores`` into ``out``;
    ``allowed`` (same layout) or NULL. False if the constraints admit no path."""
    cdef double b = -INFINITY, m = -INFINITY, e = -INFINITY, s = -INFINITY
    cdef double best_bm, best_es, value
    cdef double emit[4]
    cdef Py_ssize_t t, k
    cdef signed char tag
    for t in range(length):
        for k in range(4):
            value = _emission(scores[4 * t + k])
            if allowed != NULL and not allowed[4 * t + k]:
                value = -INFINITY
            emit[k] = value
        if t == 0:
            b, s = emit[B], emit[S]  # a word starts at 0
            continue
        # the best predecessor of B and S is the better of E and S, of M and E the better of B
        # and M (ties to B and to S)
        better_bm[t] = m > b
        better_es[t] = e > s
        best_bm = m if m > b else b
        best_es = e if e > s else s
        b, m, e, s = emit[B] + best_es, emit[M] + best_bm, emit[E] + best_bm, emit[S] + best_es
    if e > s:
        tag, value = E, e
    else:
        tag, value = S, s
    if value == -INFINITY:
        return False
    for t in range(length - 1, -1, -1):
        out[t] = tag
        if t:
            if tag == M or tag == E:
                tag = M if better_bm[t] else B
            else:
                tag = E if better_es[t] else S
    return True


def viterbi_rows(
    const double[:, :, ::1] scores,
    const long long[:] lengths,
    const unsigned char[:, :, ::1] allowed,
    signed char[:, ::1] out,
):
    """Decode each row ``i`` of ``scores`` (batch, T, 4) over ``lengths[i]`` steps into
    ``out[i]`` (filled with -1 beforehand by the caller). ``allowed`` (batch, T, 4), or None:
    the hard constraints; a row they make impossible is decoded without them."""
    cdef Py_ssize_t n = scores.shape[0], steps = scores.shape[1], i
    cdef unsigned char* better_bm = <unsigned char*> malloc(steps + 1)
    cdef unsigned char* better_es = <unsigned char*> malloc(steps + 1)
    if better_bm == NULL or better_es == NULL:
        free(better_bm)
        free(better_es)
        raise MemoryError()
    try:
        for i in range(n):
            if lengths[i] <= 0:
                continue
            if allowed is not None and _decode(
                &scores[i, 0, 0], &allowed[i, 0, 0], lengths[i], &out[i, 0], better_bm, better_es
            ):
                continue
            _decode(&scores[i, 0, 0], NULL, lengths[i], &out[i, 0], better_bm, better_es)
    finally:
        free(better_bm)
        free(better_es)


# -------------------------------------------------------------------------- the lexicon's route


cdef int _route(
    str text, dict prefixes, list logp, double unknown, Py_ssize_t* nxt, long* widx
) except -1:
    """Fill ``nxt[i]`` (the end of the best first word from i) and ``widx[i]`` (its index in
    the lexicon, -1 for an unknown character) for every start position, from the right."""
    cdef Py_ssize_t n = len(text), i, end, best_end
    cdef double best, cand
    cdef long idx, best_idx
    cdef double* score = <double*> malloc((n + 1) * sizeof(double))
    if score == NULL:
        raise MemoryError()
    try:
        score[n] = 0.0
        for i in range(n - 1, -1, -1):
            found = prefixes.get(text[i])
            if found is None:
                score[i] = unknown + score[i + 1]
                nxt[i] = i + 1
                widx[i] = -1
                continue
            idx = found
            best = (<double> logp[idx] if idx >= 0 else unknown) + score[i + 1]
            best_end = i + 1
            best_idx = idx
            end = i + 2
            while end <= n:
                found = prefixes.get(text[i:end])
                if found is None:
                    break
                idx = found
                if idx >= 0:
                    cand = <double> logp[idx] + score[end]
                    if cand >= best:  # ties go to the longer word, as in jieba
                        best, best_end, best_idx = cand, end, idx
                end += 1
            score[i] = best
            nxt[i] = best_end
            widx[i] = best_idx
    finally:
        free(score)
    return 0


def unigram_route(str text, dict prefixes, list logp, double unknown):
    """For every start position of ``text``: the end of the best first word and its index in
    the lexicon (-1: an unknown character), as two lists. ``prefixes`` maps every word and
    proper prefix of a word to the word's index (-1 for a proper prefix only); ``logp`` holds
    each word's log-probability."""
    cdef Py_ssize_t n = len(text), i
    cdef Py_ssize_t* nxt = <Py_ssize_t*> malloc((n + 1) * sizeof(Py_ssize_t))
    cdef long* widx = <long*> malloc((n + 1) * sizeof(long))
    if nxt == NULL or widx == NULL:
        free(nxt)
        free(widx)
        raise MemoryError()
    try:
        _route(text, prefixes, logp, unknown, nxt, widx)
        return [nxt[i] for i in range(n)], [widx[i] for i in range(n)]
    finally:
        free(nxt)
        free(widx)


# ------------------------------------------------------------------------------ the CNN tagger


cdef int _residual_block(
    const float* tapped,
    Py_ssize_t row,
    const float* bias,
    Py_ssize_t width,
    Py_ssize_t window,
    Py_ssize_t dilation,
    const long long* lengths,
    Py_ssize_t n_pieces,
    const float* base,
    Py_ssize_t base_row,
    float* x,
    const long long* ids,
    bint lookup,
    float* v,
) except -1 nogil:
    """x[t] = base[t] + relu(bias + Σ_j tap j at t + (j - K//2)·d), for every character t of
    every piece (taps reaching outside the piece read zeros). ``tapped`` holds each tap's
    output: row t of it (``lookup`` false), or row ids[t] of a table (``lookup``). Sums in
    float32 in the order centre, bias, then the taps left to right; ``v`` is scratch of
    ``width`` floats (``base`` may be ``x`` itself: row t of it is read before it is written)."""
    cdef Py_ssize_t half = window // 2, t = 0, start, end, i, j, o, p
    cdef const float* src
    cdef float* out
    for i in range(n_pieces):
        start, end = t, t + lengths[i]
        for t in range(start, end):
            src = tapped + (ids[t] if lookup else t) * row + half * width
            for o in range(width):
                v[o] = src[o] + bias[o]
            for j in range(window):
                p = t + (j - half) * dilation
                if j == half or p < start or p >= end:
                    continue
                src = tapped + (ids[p] if lookup else p) * row + j * width
                for o in range(width):
                    v[o] += src[o]
            src = base + (ids[t] if lookup else t) * base_row
            out = x + t * width
            for o in range(width):
                out[o] = src[o] + (v[o] if v[o] > 0 else 0.0)
        t = end
    return 0


cdef void _log_softmax_rows(float[:, ::1] logits, const float[::1] bias) noexcept:
    """logits[t] = log_softmax(logits[t] + bias), in place."""
    cdef Py_ssize_t n = logits.shape[0], k = logits.shape[1], t, j
    cdef float top, total
    for t in range(n):
        top = -INFINITY
        for j in range(k):
            logits[t, j] += bias[j]
            if logits[t, j] > top:
                top = logits[t, j]
        total = 0.0
        for j in range(k):
            logits[t, j] -= top
            total += expf(logits[t, j])
        total = logf(total)
        for j in range(k):
            logits[t, j] -= total


def cnn_logprobs(
    const long long[::1] ids,
    const long long[::1] lengths,
    const float[:, ::1] embed,
    const float[:, ::1] first,
    const float[::1] first_bias,
    list blocks,
    list dilations,
    out_weight,
    const float[::1] out_bias,
):
    """The CNN tagger's log-probabilities (len(ids), 4) for pieces laid end to end (their
    ``lengths``): the first block from the table ``first`` = embed @ taps (each character's
    contribution through each tap), the others from ``x @ taps`` (numpy's BLAS), each
    ``blocks[i]`` = (taps (W, K·W), bias) with ``dilations[i]``; then the output layer and a
    log-softmax per row."""
    cdef Py_ssize_t n = ids.shape[0], width = embed.shape[1], row, window, i
    cdef float[:, ::1] x_view
    cdef const float[:, ::1] tapped
    cdef const float[::1] bias
    cdef float* v
    if n == 0:
        return np.zeros((0, 4), dtype=np.float32)
    x = np.empty((n, width), dtype=np.float32)
    x_view = x
    v = <float*> malloc(width * sizeof(float))
    if v == NULL:
        raise MemoryError()
    try:
        row = first.shape[1]
        window = row // width
        _residual_block(
            &first[0, 0], row, &first_bias[0], width, window, dilations[0], &lengths[0],
            lengths.shape[0], &embed[0, 0], width, &x_view[0, 0], &ids[0], True, v,
        )
        for i in range(1, len(dilations)):
            taps, bias = blocks[i - 1]
            tapped = x @ taps  # every tap of every position, from the block's input
            row = tapped.shape[1]
            window = row // width
            _residual_block(
                &tapped[0, 0], row, &bias[0], width, window, dilations[i], &lengths[0],
                lengths.shape[0], &x_view[0, 0], width, &x_view[0, 0], &ids[0], False, v,
            )
    finally:
        free(v)
    logits = x @ out_weight
    _log_softmax_rows(logits, out_bias)
    return logits


# ------------------------------------------------------------------------- one piece, whole


def segment_piece(
    str piece,
    const float[:, ::1] logprobs,
    dict prefixes,
    list logp,
    double unknown,
    float weight,
    bint vote,
):
    """The words of ``piece`` from the tagger's ``logprobs`` (len(piece), 4): with ``vote``,
    ``weight`` is added (in float32) to the score of each character's tag on the lexicon's
    maximum-probability path (``prefixes``, ``logp``, ``unknown``: as in
    :func:`unigram_route`), then the Viterbi reads the words off. The same result as the
    segmenter's batched path (``_add_dictionary_path`` and :func:`viterbi_rows`)."""
    cdef Py_ssize_t n = len(piece), i, j, t, k, start
    cdef double* scores = <double*> malloc(4 * (n + 1) * sizeof(double))
    cdef signed char* tags = <signed char*> malloc(n + 1)
    cdef unsigned char* better_bm = <unsigned char*> malloc(n + 1)
    cdef unsigned char* better_es = <unsigned char*> malloc(n + 1)
    cdef Py_ssize_t* nxt = <Py_ssize_t*> malloc((n + 1) * sizeof(Py_ssize_t))
    cdef long* widx = <long*> malloc((n + 1) * sizeof(long))
    cdef signed char dict_tag = S
    cdef float value
    try:
        if not (scores and tags and better_bm and better_es and nxt and widx):
            raise MemoryError()
        if vote:
            _route(piece, prefixes, logp, unknown, nxt, widx)
        i = 0
        for t in range(n):
            if vote:
                if t == i:  # a word of the route starts here
                    j = nxt[i]
                    i = j
                    dict_tag = S if j - t == 1 else B
                else:
                    dict_tag = E if t == i - 1 else M
            for k in range(4):
                value = logprobs[t, k]
                if vote and k == dict_tag:
                    value = value + weight
                scores[4 * t + k] = value
        _decode(scores, NULL, n, tags, better_bm, better_es)
        words = []
        start = 0
        for t in range(1, n):
            if tags[t] == B or tags[t] == S:
                words.append(piece[start:t])
                start = t
        words.append(piece[start:n])
        return words
    finally:
        free(scores)
        free(tags)
        free(better_bm)
        free(better_es)
        free(nxt)
        free(widx)
