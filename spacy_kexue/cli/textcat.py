"""``kexue textcat``: sentiment data for ``spacy train`` (a thin wrapper over
:func:`spacy_kexue.textcat.labelled.convert`)."""

from __future__ import annotations

import typer

from ._util import command_group, input_file, load_nlp, output_path

textcat_app = command_group("Sentiment data and models (kexue_textcat).")


@textcat_app.command("convert")
def convert_cli(
    input: str = typer.Argument(
        ..., help='JSONL, one {"text": ..., "label": 0|1} a line.', callback=input_file
    ),
    output: str = typer.Argument(
        ..., help="The DocBin (.spacy) to write (missing folders are made).", callback=output_path
    ),
    model: str = typer.Option(
        "zh_kexue_sm", "--model", "-m", help="Pipeline whose tokenizer splits the texts."
    ),
    limit: int = typer.Option(0, min=0, help="Convert at most this many records (0: all)."),
) -> None:
    """Convert labelled JSONL to a DocBin for `spacy train` (cats POSITIVE/NEGATIVE)."""
    from ..textcat.labelled import convert

    n = convert(input, output, load_nlp(model), limit=limit)
    typer.echo(f"Wrote {n} docs to {output}")
