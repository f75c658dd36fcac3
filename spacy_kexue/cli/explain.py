"""``kexue explain``: which words drove the sentiment, and (with a kexue_vae) the nearest texts.

:func:`add_saliency` gives a pipeline its kexue_saliency, :func:`explain` turns the processed
docs into :class:`Explanation` records, and :func:`explain_cli` prints them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import typer

from ._util import fail, load_nlp, output_file


class Explanation(NamedTuple):
    """One text explained: the predicted ``label`` and its ``score``, the ``top`` most salient
    tokens and every (non-space) token as (text, saliency), in the text's order for ``tokens``,
    and the ``nearest`` other texts as (text, cosine of the document vectors)."""

    text: str
    label: str
    score: float
    top: list[tuple[str, float]]
    tokens: list[tuple[str, float]]
    nearest: list[tuple[str, float]]


def add_saliency(nlp, method: str | None = None):
    """The pipeline's kexue_saliency component, added when it has none (a pipeline without a
    kexue_textcat raises ValueError), set to ``method`` (None: its own setting)."""
    from ..saliency.component import KexueSaliency

    saliency = next((p for _, p in nlp.pipeline if isinstance(p, KexueSaliency)), None)
    settings = {} if method is None else {"method": method}
    if saliency is None:  # add one (this raises if there is no kexue_textcat)
        saliency = nlp.add_pipe("kexue_saliency", config=settings)
    saliency.configure(**settings)
    return saliency


def nearest(docs: list, n: int) -> list[list[tuple[int, float]]]:
    """For each doc, the ``n`` other docs with the most similar ``doc._.vae_vector`` (cosine)."""
    import numpy as np

    from ..vae.index import top_k

    if len(docs) < 2:
        return [[] for _ in docs]
    vectors = np.stack([np.asarray(d._.vae_vector, dtype=np.float32) for d in docs])
    ids, cosines = top_k(vectors, vectors, n, exclude_self=True)
    return [
        [(int(j), float(c)) for j, c in zip(row, sims, strict=True)]
        for row, sims in zip(ids, cosines, strict=True)
    ]


def explain(docs: Sequence, *, top: int = 5, neighbours: int = 0) -> Iterator[Explanation]:
    """An :class:`Explanation` of each doc processed by a pipeline with kexue_saliency; with
    ``neighbours``, each doc's that many nearest other docs by ``doc._.vae_vector``
    (the pipeline needs a kexue_vae)."""
    docs = list(docs)
    near = nearest(docs, neighbours) if neighbours else None
    for i, doc in enumerate(docs):
        label = max(doc.cats, key=doc.cats.get)
        yield Explanation(
            text=doc.text,
            label=label,
            score=doc.cats[label],
            top=[(t.text, t._.saliency) for t in doc._.salient(top)],
            tokens=[(t.text, t._.saliency) for t in doc if not t.is_space],
            nearest=[(docs[j].text, cosine) for j, cosine in near[i]] if near is not None else [],
        )


def explain_cli(
    texts: list[str] = typer.Argument(
        ..., help="Texts to explain, or - to read one a line from stdin."
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    html: Path | None = typer.Option(
        None, "--html", help="Also write a standalone HTML page here.", callback=output_file
    ),
    method: str | None = typer.Option(
        None, help="states (Su's formula, the default) or occlusion (leave-one-out, slower)."
    ),
    top: int = typer.Option(5, min=0, help="How many of the most salient tokens to list."),
    neighbours: int = typer.Option(
        0,
        min=0,
        help="Also list each text's N nearest other texts by document vector (kexue_vae).",
    ),
) -> None:
    """Which words drove the sentiment: prediction, top tokens and every token's saliency;
    with --neighbours, the texts nearest to each by the BN-VAE document vector."""
    import sys

    from ..saliency import render_saliency
    from ..text import check_text

    nlp = load_nlp(model)
    add_saliency(nlp, method)
    if texts == ["-"]:
        texts = [line.rstrip("\r\n") for line in sys.stdin]
    for i, text in enumerate(texts, start=1):
        check_text(text)
        if len(text) > nlp.max_length:
            raise ValueError(
                f"text {i} has {len(text):,} characters, more than the pipeline's limit of "
                f"{nlp.max_length:,} (nlp.max_length); split it, or use kexue pipe with "
                "--max-chars to skip such texts."
            )
    if neighbours:
        from ..vae.component import KexueVAE

        if not any(isinstance(p, KexueVAE) for _, p in nlp.pipeline):
            fail(ValueError(f"--neighbours needs a kexue_vae component; {model} has none."))
    docs = list(nlp.pipe(texts))
    for item in explain(docs, top=top, neighbours=neighbours):
        typer.echo(f"{item.label} {item.score:.3f}  {item.text}")
        salient = "  ".join(f"{text}({saliency:+.3f})" for text, saliency in item.top)
        typer.echo(f"  top {top}: {salient}")
        typer.echo("  " + " ".join(f"{text}/{saliency:+.3f}" for text, saliency in item.tokens))
        for text, cosine in item.nearest:
            typer.echo(f"  nearest ({cosine:+.3f}): {text}")
    if html is not None:
        html.write_text(render_saliency(docs), encoding="utf-8")
        typer.echo(f"Wrote {html}")
