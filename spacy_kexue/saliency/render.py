"""``render_saliency(docs)``: a standalone HTML page with each token shaded by its saliency.

displaCy-like: one block per doc, tokens as inline boxes whose background is orange for
positive saliency (pushed toward the prediction) and blue for negative, the opacity scaled by
the token's |saliency| against the largest in its doc. Hovering a token shows its value. The
page has no scripts and no external assets; all text is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from spacy.tokens import Doc

from .extensions import SALIENCY_ATTR

POSITIVE_RGB = (237, 125, 49)  # orange: toward the predicted class
NEGATIVE_RGB = (46, 117, 182)  # blue: away from it
MAX_ALPHA = 0.85

STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
       margin: 2em; color: #222; background: #fff; }
.kx-doc { margin: 0 0 1.5em 0; padding: 0.8em 1em; border: 1px solid #ddd; border-radius: 6px; }
.kx-meta { font-size: 0.85em; color: #555; margin-bottom: 0.5em; }
.kx-text { font-size: 1.4em; line-height: 2.2; white-space: pre-wrap; }
.kx-tok { padding: 0.15em 0.1em; border-radius: 3px; }
.kx-legend { font-size: 0.85em; color: #555; margin-bottom: 1.5em; }
.kx-legend span { padding: 0.1em 0.5em; border-radius: 3px; }
"""


def _rgba(value: float, scale: float) -> str:
    if scale <= 0.0 or value == 0.0:
        return "transparent"
    alpha = MAX_ALPHA * min(1.0, abs(value) / scale)
    r, g, b = POSITIVE_RGB if value > 0 else NEGATIVE_RGB
    return f"rgba({r}, {g}, {b}, {alpha:.3f})"


def _meta(doc: Doc) -> str:
    parts = []
    if doc.cats:
        label = max(doc.cats, key=doc.cats.get)
        parts.append(f"prediction: <b>{html.escape(label)}</b> ({doc.cats[label]:.3f})")
    if doc._.get(SALIENCY_ATTR) is None:
        parts.append("no saliency (not processed by kexue_saliency)")
    return " · ".join(parts)


def render_doc(doc: Doc) -> str:
    """One doc's block (a ``<div>``)."""
    values = doc._.get(SALIENCY_ATTR)
    scale = max((abs(v) for v in values), default=0.0) if values is not None else 0.0
    tokens = []
    for token in doc:
        text = html.escape(token.text_with_ws)
        if values is None:
            tokens.append(text)
            continue
        value = values[token.i]
        tokens.append(
            f'<span class="kx-tok" style="background: {_rgba(value, scale)}" '
            f'title="{value:+.4f}">{text}</span>'
        )
    meta = _meta(doc)
    meta_html = f'<div class="kx-meta">{meta}</div>' if meta else ""
    return f'<div class="kx-doc">{meta_html}<div class="kx-text">{"".join(tokens)}</div></div>'


def render_saliency(
    docs: Doc | Iterable[Doc], *, page: bool = True, title: str = "Token saliency"
) -> str:
    """HTML for ``docs`` (a Doc or an iterable of Docs): a whole standalone page, or with
    ``page=False`` only the blocks (to embed, e.g. in a notebook)."""
    if isinstance(docs, Doc):
        docs = [docs]
    blocks = "\n".join(render_doc(doc) for doc in docs)
    if not page:
        return f"<style>{STYLE}</style>\n{blocks}"
    r, g, b = POSITIVE_RGB
    nr, ng, nb = NEGATIVE_RGB
    legend = (
        f'<div class="kx-legend"><span style="background: rgba({r}, {g}, {b}, {MAX_ALPHA})">'
        f'toward the prediction</span> <span style="background: rgba({nr}, {ng}, {nb}, '
        f"{MAX_ALPHA})\">away from it</span> — shade: |saliency| relative to the doc's largest"
        "</div>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{legend}\n{blocks}\n</body></html>\n"
    )
