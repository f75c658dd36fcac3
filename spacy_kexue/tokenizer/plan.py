"""A text's plan: the runs the segmenter handles, and the Han pieces its tagger sees.

:func:`~.pretok.split_runs` cuts a text into runs by kind (Han, Latin, number, space, ...); Han
runs longer than ``max_chunk`` characters are tagged in pieces. User words are honoured across
both cuts, which a word list applied piece by piece could not do:

- a user word whose match **crosses a run boundary** ("iPhone手机", "A股", "T恤") is matched in
  the whole text first and becomes one token, as long as it does not cut into a Latin word or a
  number: an end of the match that is not Han must be a run boundary of the text ("xiPhone手机"
  keeps "xiPhone"), and the match may not end right before an attached character;
- a long Han run is **never cut inside a user word's match**: a cut that would fall inside one
  moves back to the match's start (or past its end when the match starts the piece).

Words inside one piece are left to the constrained Viterbi (:func:`.decode.force_words_mask`),
as before; matching is forward maximum matching everywhere (:meth:`.decode.UserDictionary.find`).
"""

from __future__ import annotations

from bisect import bisect_left

from .decode import UserDictionary
from .pretok import is_attached, split_runs

__all__ = ["USER", "plan_text"]

USER = "user"
"""Kind of a plan entry that is one user word spanning several runs: it becomes one token."""


def plan_text(
    text: str, max_chunk: int, user_words: UserDictionary, pieces: list[str]
) -> list[tuple[str, int, int]]:
    """The plan of ``text``: ``(kind, a, b)`` entries in text order.

    For ``"han"`` entries ``a:b`` indexes ``pieces`` (which this appends the run's pieces to);
    for every other kind, :data:`USER` included, ``a:b`` are the text offsets of one token.
    """
    runs = split_runs(text)
    if len(user_words):
        runs = _join_cross_run_words(text, runs, user_words)
    plan: list[tuple[str, int, int]] = []
    for start, end, kind in runs:
        if kind != "han":
            plan.append((kind, start, end))
            continue
        first = len(pieces)
        guarded = user_words.find(text[start:end]) if end - start > max_chunk else []
        a = start
        while a < end:
            b = min(end, a + max_chunk)
            while a + 1 < b < end and is_attached(text[b]):  # not inside a grapheme
                b -= 1
            b = _outside_matches(b, a, start, guarded)
            pieces.append(text[a:b])
            a = b
        plan.append((kind, first, len(pieces)))
    return plan


def _outside_matches(b: int, a: int, offset: int, matches: list[tuple[int, int]]) -> int:
    """``b``, or the nearest cut that does not fall inside one of ``matches`` (run offsets)."""
    i = bisect_left(matches, (b - offset + 1,)) - 1  # the last match starting at or before b
    if i < 0:
        return b
    s, e = matches[i][0] + offset, matches[i][1] + offset
    if not s < b < e:
        return b
    return s if s > a else e


def _join_cross_run_words(
    text: str, runs: list[tuple[int, int, str]], user_words: UserDictionary
) -> list[tuple[int, int, str]]:
    """``runs`` with each user-word match that crosses a run boundary made one :data:`USER` run
    (the Han runs it starts or ends inside are trimmed to what is left of them)."""
    starts = [start for start, _, _ in runs]
    kind_at = [kind for _, _, kind in runs]
    bounds = {*starts, len(text)}

    def run_of(position: int) -> int:
        return bisect_left(starts, position + 1) - 1

    def accept(s: int, e: int) -> bool:
        first, last = run_of(s), run_of(e - 1)
        return (
            first != last
            and not is_attached(text[s])
            and (s in bounds or kind_at[first] == "han")
            and (e in bounds or kind_at[last] == "han")
            and not (e < len(text) and is_attached(text[e]))
        )

    matches = user_words.find(text, accept=accept)
    if not matches:
        return runs
    joined: list[tuple[int, int, str]] = []
    m = 0
    for start, end, kind in runs:
        while m < len(matches) and matches[m][1] <= start:
            m += 1
        a = start
        while m < len(matches) and matches[m][0] < end:
            s, e = matches[m]
            if a < s:
                joined.append((a, s, kind))
            if s >= start:
                joined.append((s, e, USER))
            a = max(a, e)
            if e > end:
                break
            m += 1
        if a < end:
            joined.append((a, end, kind))
    return joined
