# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The segmenter's inner loops, compiled: what runs once per character.

- :func:`viterbi_rows`: the constrained BMES Viterbi (:func:`.decode.viterbi` checks the
  arguments and calls it).
- :class:`Lexicon`: the word lexicon as a character trie, and its maximum-probability route
  (:meth:`.unigram.UnigramSegmenter.segment` walks it).
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
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc

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


cdef inline uint64_t _mix(uint64_t key) noexcept nogil:
    key ^= key >> 33
    key *= 0xff51afd7ed558ccdULL
    key ^= key >> 33
    return key


cdef class Lexicon:
    """The word lexicon as a character trie in one open-addressing hash table: the edge
    (node, character) leads to a node, which knows the index of the word it spells (-1: a
    proper prefix only). Built from :class:`.unigram.UnigramSegmenter`'s tables: ``prefixes``
    (every word and proper prefix -> the word's index, -1 for a proper prefix), ``logp`` (each
    word's log-probability) and ``unknown`` (an unknown character's). Walking the trie reads one
    character at a time, where a dict needs a new substring for every candidate word."""

    cdef uint64_t* keys  # (node * 0x110000 + character) + 1; 0 = empty slot
    cdef int64_t* child
    cdef int64_t* word
    cdef double* logp
    cdef uint64_t mask
    cdef readonly double unknown
    cdef readonly Py_ssize_t n_nodes

    def __cinit__(self, dict prefixes, list logp, double unknown):
        cdef uint64_t capacity = 16, slot, key
        cdef Py_ssize_t i, n_words = len(logp)
        cdef int64_t node, index
        cdef Py_UCS4 ch
        cdef str text
        while capacity < 2 * (<uint64_t> len(prefixes) + 1):
            capacity *= 2
        self.mask = capacity - 1
        self.keys = <uint64_t*> calloc(capacity, sizeof(uint64_t))
        self.child = <int64_t*> malloc(capacity * sizeof(int64_t))
        self.word = <int64_t*> malloc(capacity * sizeof(int64_t))
        self.logp = <double*> malloc((n_words + 1) * sizeof(double))
        if not (self.keys and self.child and self.word and self.logp):
            raise MemoryError()
        for i in range(n_words):
            self.logp[i] = logp[i]
        self.unknown = unknown
        self.n_nodes = 1  # the root, node 0
        for text, index in prefixes.items():
            if index < 0:
                continue  # a proper prefix: made on the way to its words
            node = 0
            for ch in text:
                slot = self._find(node, ch)
                if self.keys[slot] == 0:  # a new edge, to a new node
                    self.keys[slot] = (<uint64_t> node) * 0x110000 + (<uint64_t> ch) + 1
                    self.child[slot] = self.n_nodes
                    self.word[slot] = -1
                    self.n_nodes += 1
                node = self.child[slot]
            self.word[slot] = index  # on the edge into the word's node

    def __dealloc__(self):
        free(self.keys)
        free(self.child)
        free(self.word)
        free(self.logp)

    cdef inline uint64_t _find(self, int64_t node, Py_UCS4 ch) noexcept nogil:
        """The slot of edge (node, ch): its own, or the empty one where it would go."""
        cdef uint64_t key = (<uint64_t> node) * 0x110000 + (<uint64_t> ch) + 1
        cdef uint64_t slot = _mix(key) & self.mask
        while self.keys[slot] != 0 and self.keys[slot] != key:
            slot = (slot + 1) & self.mask
        return slot

    cdef int _route(self, str text, Py_ssize_t* nxt, int64_t* widx) except -1:
        """``nxt[i]``: the end of the best first word from i; ``widx[i]``: its index (-1: an
        unknown character); the maximum-probability segmentation, from the right. Ties go to
        the longer word, as in jieba."""
        cdef Py_ssize_t n = len(text), i, end
        cdef double best, cand
        cdef int64_t node, index
        cdef uint64_t slot
        cdef double* score = <double*> malloc((n + 1) * sizeof(double))
        if score == NULL:
            raise MemoryError()
        score[n] = 0.0
        for i in range(n - 1, -1, -1):
            slot = self._find(0, text[i])
            if self.keys[slot] == 0:
                score[i] = self.unknown + score[i + 1]
                nxt[i] = i + 1
                widx[i] = -1
                continue
            node, index = self.child[slot], self.word[slot]
            best = (self.logp[index] if index >= 0 else self.unknown) + score[i + 1]
            nxt[i] = i + 1
            widx[i] = index
            for end in range(i + 2, n + 1):
                slot = self._find(node, text[end - 1])
                if self.keys[slot] == 0:
                    break
                node, index = self.child[slot], self.word[slot]
                if index >= 0:
                    cand = self.logp[index] + score[end]
                    if cand >= best:
                        best = cand
                        nxt[i] = end
                        widx[i] = index
            score[i] = best
        free(score)
        return 0

    def route(self, str text):
        """For every start position of ``text``: the end of the best first word and its index
        in the lexicon (-1: an unknown character), as two lists."""
        cdef Py_ssize_t n = len(text), i
        cdef Py_ssize_t* nxt = <Py_ssize_t*> malloc((n + 1) * sizeof(Py_ssize_t))
        cdef int64_t* widx = <int64_t*> malloc((n + 1) * sizeof(int64_t))
        try:
            if nxt == NULL or widx == NULL:
                raise MemoryError()
            self._route(text, nxt, widx)
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
    Lexicon lexicon,
    float weight,
):
    """The words of ``piece`` from the tagger's ``logprobs`` (len(piece), 4): with a
    ``lexicon``, ``weight`` is added (in float32) to the score of each character's tag on its
    maximum-probability path; then the Viterbi reads the words off. The same result as the
    segmenter's batched path (``_add_dictionary_path`` and :func:`viterbi_rows`)."""
    cdef Py_ssize_t n = len(piece), i = 0, j, t, k, start
    cdef bint vote = lexicon is not None
    cdef double* scores = <double*> malloc(4 * (n + 1) * sizeof(double))
    cdef signed char* tags = <signed char*> malloc(n + 1)
    cdef unsigned char* better_bm = <unsigned char*> malloc(n + 1)
    cdef unsigned char* better_es = <unsigned char*> malloc(n + 1)
    cdef Py_ssize_t* nxt = <Py_ssize_t*> malloc((n + 1) * sizeof(Py_ssize_t))
    cdef int64_t* widx = <int64_t*> malloc((n + 1) * sizeof(int64_t))
    cdef signed char dict_tag = S
    cdef float value
    try:
        if not (scores and tags and better_bm and better_es and nxt and widx):
            raise MemoryError()
        if vote:
            lexicon._route(piece, nxt, widx)
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
