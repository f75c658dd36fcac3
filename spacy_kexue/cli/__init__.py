"""The ``kexue`` command line (also ``python -m spacy_kexue``): the root typer ``app`` and
``main``.

One module per command group, each command a thin wrapper (``*_cli``) over an importable
function that does the work, as in ``spacy/cli/``: :mod:`.info`, :mod:`.segment`,
:mod:`.pipe`, :mod:`.explain` (top-level commands), :mod:`.segmenter`, :mod:`.textcat`,
:mod:`.vae`, :mod:`.ocr` (groups); :mod:`._util` holds what they share. Importing this package
stays cheap: spaCy, torch and the models are imported inside the commands.
"""

from __future__ import annotations

import typer

from ..about import __version__
from .explain import explain_cli
from .info import info_cli
from .ocr import ocr_app
from .pipe import pipe_cli
from .segment import segment_cli
from .segmenter import segmenter_app
from .textcat import textcat_app
from .vae import vae_app

__all__ = ["app", "main"]

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


app.command("info")(info_cli)
app.command("segment")(segment_cli)
app.command("pipe")(pipe_cli)
app.command("explain")(explain_cli)
app.add_typer(segmenter_app, name="segmenter")
app.add_typer(textcat_app, name="textcat")
app.add_typer(vae_app, name="vae")
app.add_typer(ocr_app, name="ocr")


def main() -> None:
    """The ``kexue`` console script: run the app; a :class:`~spacy_kexue.errors.KexueError`
    that reaches here is printed without a traceback (exit status 1)."""
    from ..errors import KexueError

    try:
        app()
    except KexueError as err:
        typer.echo(f"Error: {err}", err=True)
        raise SystemExit(1) from None
