"""``kexue similar``: index a corpus by its BN-VAE document vectors, then find the documents
nearest to a query (thin wrappers over :mod:`spacy_kexue.vae.index`)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._util import command_group, fail, input_folder, load_nlp, output_folder

similar_app = command_group(
    "Nearest documents by document vector (kexue_vae): index a corpus, then query it."
)


@similar_app.command("index")
def index_cli(
    input: str = typer.Argument(
        ..., help="A .txt (a doc a line), .jsonl, .csv or .tsv file (or .gz), or - for stdin."
    ),
    output: Path = typer.Argument(
        ...,
        help="The index folder to write (index.json, vectors.npy, records.jsonl).",
        callback=output_folder,
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    text_key: str = typer.Option(
        "text", "--text-key", help="The text's field (.jsonl) or column (.csv/.tsv)."
    ),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Texts per nlp.pipe batch."),
    limit: int = typer.Option(0, "--limit", min=0, help="Index the first N records only (0: all)."),
    max_chars: int = typer.Option(
        1_000_000, "--max-chars", min=0, help="Skip longer texts (0: no limit)."
    ),
) -> None:
    """Encode every record of a corpus with the pipeline's kexue_vae and save the vectors with
    the records (a progress bar on a terminal). Bad records are skipped and listed; exit status
    2 when there were some."""
    import sys

    from ..corpus.similar import index_corpus

    nlp = load_nlp(model)
    index, rejects = index_corpus(
        nlp,
        input,
        text_key=text_key,
        max_chars=max_chars,
        limit=limit,
        batch_size=batch_size,
        progress=sys.stderr.isatty(),
    )
    index.to_disk(output)
    for reject in rejects:
        where = f"{reject.source}, line {reject.line}" if reject.line else reject.source
        typer.echo(f"skipped {where}: {reject.reason} ({reject.detail})", err=True)
    typer.echo(
        f"Indexed {len(index):,} documents ({index.dim}-d vectors of {index.model} "
        f"{index.model_version}) in {output}; skipped {len(rejects):,}.",
        err=True,
    )
    if rejects:
        raise typer.Exit(2)


@similar_app.command("query")
def query_cli(
    index_dir: Path = typer.Argument(
        ..., help="A folder written by kexue similar index.", callback=input_folder
    ),
    texts: list[str] = typer.Argument(..., help="Query texts, or - to read one a line from stdin."),
    model: str = typer.Option(
        "zh_kexue_sm",
        "--model",
        "-m",
        help="Pipeline name or path: the one the index was made with.",
    ),
    top: int = typer.Option(10, "--top", "-k", min=1, help="How many neighbours to list."),
) -> None:
    """The documents of the index nearest to each query text, by cosine of the document
    vectors, best first: the cosine, where the document is (file:line) and its text."""
    import sys

    from ..text import check_text
    from ..vae.index import VectorIndex, query_vectors

    index = VectorIndex.from_disk(index_dir)
    if texts == ["-"]:
        texts = [line.rstrip("\r\n") for line in sys.stdin]
    for text in texts:
        check_text(text)
    nlp = load_nlp(model)
    try:
        queries = query_vectors(nlp, index, texts)
    except ValueError as err:
        fail(err)
    for text, hits in zip(texts, index.search(queries, top), strict=True):
        typer.echo(f"query: {text}")
        for record, cosine in hits:
            where = f"{record.source}:{record.line}" if record.line else record.source
            typer.echo(f"  {cosine:+.3f}  {where}  {record.text}")
