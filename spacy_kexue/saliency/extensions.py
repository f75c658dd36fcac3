"""The saliency attributes on ``Doc``, ``Span`` and ``Token`` (registered on import).

- ``doc._.saliency``: a list of floats, one per token (None until ``kexue_saliency`` ran). It is
  the only stored value, so it survives ``Doc.to_bytes``, ``DocBin`` (with user data) and
  ``nlp.pipe(n_process=...)``; everything else is computed from it.
- ``token._.saliency``: the token's float (None if the doc has none).
- ``span._.saliency``: the span's tokens' floats.
- ``doc._.kexue_states``: the LSTM states the saliency was computed from, only when the
  component's ``keep_states`` is set (the dict ``textcat.probe.predict_with_states`` describes).
- ``doc._.salient(k=5, least=False)`` / ``span._.salient(...)``: the k most (or least) salient
  tokens, highest first (ties: earlier token first).
"""

from __future__ import annotations

from spacy.tokens import Doc, Span, Token

from ..errors import KexueError

SALIENCY_ATTR = "saliency"
STATES_ATTR = "kexue_states"  # the LSTM states, only with kexue_saliency's keep_states


class NoSaliencyError(KexueError, ValueError):
    """The doc has no saliencies: it did not go through ``kexue_saliency`` (a ``KexueError``,
    and a ``ValueError`` so that ``except ValueError`` still catches it)."""


def _token_saliency(token: Token) -> float | None:
    values = token.doc._.get(SALIENCY_ATTR)
    return None if values is None else values[token.i]


def _span_saliency(span: Span) -> list[float] | None:
    values = span.doc._.get(SALIENCY_ATTR)
    return None if values is None else values[span.start : span.end]


def _salient(tokens: Doc | Span, k: int = 5, least: bool = False) -> list[Token]:
    doc = tokens if isinstance(tokens, Doc) else tokens.doc
    values = doc._.get(SALIENCY_ATTR)
    if values is None:
        raise NoSaliencyError(
            "this doc has no saliencies: process it with a pipeline that has kexue_saliency "
            "after kexue_textcat (e.g. spacy.load('zh_kexue_sm'))"
        )
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    sign = 1.0 if least else -1.0
    ranked = sorted(tokens, key=lambda t: (sign * values[t.i], t.i))
    return ranked[:k]


def register_extensions() -> None:
    if not Doc.has_extension(STATES_ATTR):
        Doc.set_extension(STATES_ATTR, default=None)
    if not Doc.has_extension(SALIENCY_ATTR):
        Doc.set_extension(SALIENCY_ATTR, default=None)
    if not Token.has_extension(SALIENCY_ATTR):
        Token.set_extension(SALIENCY_ATTR, getter=_token_saliency)
    if not Span.has_extension(SALIENCY_ATTR):
        Span.set_extension(SALIENCY_ATTR, getter=_span_saliency)
    for cls in (Doc, Span):
        if not cls.has_extension("salient"):
            cls.set_extension("salient", method=_salient)


register_extensions()
