"""``kexue textcat``: sentiment data for ``spacy train`` (a thin wrapper over
:func:`spacy_kexue.textcat.labelled.convert`)."""

from __future__ import annotations

import typer

from ._util import fail, load_nlp

textcat_app = typer.Typer(help="Sentiment data and models (kexue_textcat).", no_args_is_help=True)


@textcat_app.command("convert")
def convert_cli(
    input: str = typer.Argument(..., help='JSONL, one {"text": ..., "label": 0|1} a line.'),
    output: str = typer.Argument(..., help="The DocBin (.spacy) to write."),
    model: str = typer.Option(
        "zh_kexue_sm", "--model", "-m", help="Pipeline whose tokenizer splits the texts."
    ),
    limit: int = typer.Option(0, help="Convert at most this many records (0: all)."),
) -> None:
    """Convert labelled JSONL to a DocBin for `spacy train` (cats POSITIVE/NEGATIVE)."""
    from ..errors import KexueError
    from ..textcat.labelled import convert

    nlp = load_nlp(model)
    try:
        n = convert(input, output, nlp, limit=limit)
    except KexueError as err:
        fail(err)
    typer.echo(f"Wrote {n} docs to {output}")
