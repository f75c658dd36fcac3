"""The ``kexue`` command line (also ``python -m spacy_kexue``)."""

from __future__ import annotations

import typer

from .about import __version__

app = typer.Typer(
    name="kexue",
    help="spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spacy-kexue {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool | None = typer.Option(
        None,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm."""


@app.command()
def info() -> None:
    """Versions, registered names, and where the default pipeline and the data are."""
    from importlib import metadata

    from .paths import DEFAULT_PIPELINE, data_dir, default_pipeline_path
    from .registry import registered_names

    def version_of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    typer.echo(f"spacy-kexue  {__version__}")
    for dist in ("spacy", "thinc", "torch", "jieba", "spacy-pkuseg"):
        typer.echo(f"{dist:<12} {version_of(dist)}")
    typer.echo("")
    typer.echo("Registered names:")
    names = registered_names()
    if not names:
        typer.echo("  (none: is spacy-kexue installed with pip?)")
    for group, group_names in names.items():
        for name in group_names:
            typer.echo(f"  {group:<22} {name}")
    typer.echo("")
    pipeline = default_pipeline_path()
    typer.echo(f"Default pipeline {DEFAULT_PIPELINE}: {pipeline or 'not installed'}")
    data = data_dir()
    typer.echo(f"Data directory ($KEXUE_DATA): {data}{'' if data.exists() else ' (missing)'}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
