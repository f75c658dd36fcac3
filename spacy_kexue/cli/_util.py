"""What the command modules share: their typer groups, loading a pipeline, failing with a
message, checking paths before work starts, --set overrides."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .errors import one_line


def command_group(help: str) -> typer.Typer:
    """A group of commands (``kexue ocr ...``): help text shown as written (no rich markup, so
    ``[reader]`` stays ``[reader]``), errors as one plain line."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def fail(err: Exception | str) -> None:
    """Print an error for the user (one line, no traceback) and exit with status 1."""
    typer.echo(f"Error: {one_line(err)}", err=True)
    raise typer.Exit(1)


def input_file(value: Path | str | None) -> Path | str | None:
    """Option callback: ``value`` is ``-`` (stdin), None, or a file that exists."""
    if value is None or str(value) == "-":
        return value
    path = Path(value)
    if not path.exists():
        raise typer.BadParameter(f"{value}: no such file; check the path.")
    if path.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file.")
    return value


def input_files(values: list[Path] | None) -> list[Path] | None:
    """Option callback: every one of ``values`` is a file that exists."""
    for value in values or ():
        input_file(value)
    return values


def output_file(value: Path | str | None) -> Path | str | None:
    """Option callback: ``value`` (None, or a file to write) can be written: its folder exists
    and it is not a folder itself."""
    if value is None or str(value) == "-":
        return value
    path = Path(value)
    if path.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file name.")
    folder = path.parent  # "." for a bare file name
    if not folder.is_dir():
        raise typer.BadParameter(f"{value}: the folder {folder} does not exist; create it first.")
    if not os.access(folder, os.W_OK):
        raise typer.BadParameter(f"{value}: the folder {folder} is not writable.")
    return value


def positive(value: float | None) -> float | None:
    """Option callback: ``value`` is None or greater than 0."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be greater than 0, got {value}.")
    return value


def input_folder(value: Path | str | None) -> Path | str | None:
    """Option callback: ``value`` is None or a folder that exists."""
    if value is not None and not Path(value).is_dir():
        what = "is a file" if Path(value).exists() else "does not exist"
        raise typer.BadParameter(f"{value} {what}; give a folder.")
    return value


def _nearest_folder(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a relative path ends at ".")."""
    return next((f for f in [path, *path.parents] if f.exists()), Path("."))


def output_path(value: Path | str | None) -> Path | str | None:
    """Option callback: ``value`` (None, or a file or folder that the command creates, with
    any missing parent folders) is not an existing file where a folder is needed, and the
    nearest folder that exists is writable."""
    if value is None:
        return value
    path = Path(value)
    existing = _nearest_folder(path.parent)
    if not existing.is_dir():
        raise typer.BadParameter(f"{value}: {existing} is a file, not a folder.")
    if not os.access(existing, os.W_OK):
        raise typer.BadParameter(f"{value}: the folder {existing} is not writable.")
    return value


def output_folder(value: Path | str | None) -> Path | str | None:
    """Option callback: ``value`` (a folder the command creates or fills) is not a file and
    can be written (see :func:`output_path`)."""
    if value is not None and Path(value).is_file():
        raise typer.BadParameter(f"{value} is a file; give a folder.")
    return output_path(value)


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
