"""What the command modules share: loading a pipeline, failing with a message, --set overrides."""

from __future__ import annotations

import typer


def fail(err: Exception) -> None:
    """Print an error for the user (no traceback) and exit with status 1."""
    typer.echo(f"Error: {err}", err=True)
    raise typer.Exit(1)


def load_nlp(model: str):
    """``spacy.load(model)``; a pipeline that cannot be found or read fails the command."""
    import spacy

    try:
        return spacy.load(model)
    except OSError as err:
        fail(ValueError(f"cannot load the pipeline {model!r}: {err}"))


def parse_overrides(items: list[str]) -> dict:
    """``--set key=value`` options as a config overrides dict (values parsed as JSON when they
    are JSON, strings otherwise)."""
    import srsly

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set expects key=value, got {item!r}")
        try:
            overrides[key] = srsly.json_loads(value)
        except ValueError:
            overrides[key] = value
    return overrides
