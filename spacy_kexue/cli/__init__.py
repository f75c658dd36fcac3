"""The ``kexue`` command line (also ``python -m spacy_kexue``): the root typer ``app`` and
``main``.

One module per command group, each command a thin wrapper (``*_cli``) over an importable
function that does the work, as in ``spacy/cli/``: :mod:`.info`, :mod:`.segment`,
:mod:`.pipe`, :mod:`.explain` (top-level commands), :mod:`.segmenter`, :mod:`.textcat`,
:mod:`.vae`, :mod:`.similar`, :mod:`.ocr` (groups); :mod:`._util` holds what they share. Importing this package
stays cheap: spaCy, torch and the models are imported inside the commands. Every error ends
as one ``Error:`` line and a non-zero exit status (:mod:`.errors`); ``kexue --verbose ...`` or
``KEXUE_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import typer

from ..about import __version__
from .errors import VERBOSE_KEY, KexueGroup
from .explain import explain_cli
from .info import info_cli
from .ocr import ocr_app
from .pipe import pipe_cli
from .segment import segment_cli
from .segmenter import segmenter_app
from .similar import similar_app
from .textcat import textcat_app
from .vae import vae_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="kexue",
    help="spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm.",
    cls=KexueGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spacy-kexue {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: bool | None = typer.Option(
        None,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="Show the traceback of an error (also: KEXUE_DEBUG=1)."
    ),
) -> None:
    """spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm."""
    ctx.meta[VERBOSE_KEY] = verbose


app.command("info")(info_cli)
app.command("segment")(segment_cli)
app.command("pipe")(pipe_cli)
app.command("explain")(explain_cli)
app.add_typer(segmenter_app, name="segmenter")
app.add_typer(textcat_app, name="textcat")
app.add_typer(vae_app, name="vae")
app.add_typer(similar_app, name="similar")
app.add_typer(ocr_app, name="ocr")


def main() -> None:
    """The ``kexue`` console script (errors: see :mod:`.errors`)."""
    app()
