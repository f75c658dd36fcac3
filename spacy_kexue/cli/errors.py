"""One error path for the whole ``kexue`` command line.

Every command runs inside :class:`KexueGroup`, the root typer group. An error that reaches it
becomes one line on stderr, ``Error: ...`` naming the file or option and what to do, and exit
status 1; a traceback only with ``kexue --verbose ...`` or ``KEXUE_DEBUG=1``. Bad options are
click's usage errors (exit status 2), also one ``Error:`` line. Each kind of error has its
sentence in :func:`describe`:

- :class:`~spacy_kexue.errors.KexueError`: its own message (it already names file and line);
- ``OSError`` on a named path (a missing file, a folder that is not there, no permission);
- spaCy's and confection's config errors (``--set``/``--config``), and any other ``OSError``
  or ``ValueError`` (spaCy's ``[E050]`` unknown pipeline, ``[E088]`` too long a text);
- a missing optional dependency (PIL, fontTools, matplotlib, dask, snownlp), with the extra
  that installs it;
- anything else is a bug: one line saying so, and how to see the traceback.
"""

from __future__ import annotations

import errno
import os

import typer
from typer.core import TyperGroup

from ..errors import KexueError

__all__ = ["DEBUG_ENV", "KexueGroup", "describe", "one_line"]

#: Set to 1 for tracebacks (as ``kexue --verbose``).
DEBUG_ENV = "KEXUE_DEBUG"
VERBOSE_KEY = "kexue.verbose"

#: Optional imports -> (the distribution to install, the spacy-kexue extra that has it).
EXTRAS = {
    "PIL": ("Pillow", "ocr"),
    "fontTools": ("fonttools", "ocr"),
    "matplotlib": ("matplotlib", "ocr"),
    "dask": ("dask[distributed]", "cluster"),
    "distributed": ("dask[distributed]", "cluster"),
    "snownlp": ("snownlp", "train"),
    "thulac": ("thulac", "bench"),
    "sklearn": ("scikit-learn", "bench"),
}

_OS_ADVICE = {
    errno.ENOENT: "no such file or folder; check the path",
    errno.EACCES: "permission denied; choose a path you can read and write",
    errno.EPERM: "operation not permitted; choose another path",
    errno.EISDIR: "is a folder; give a file",
    errno.ENOTDIR: "a part of the path is not a folder; check the path",
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
}


def one_line(text: str) -> str:
    """``text`` with its lines joined, so that an error is always one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def describe(err: BaseException) -> str:
    """The one-line message of ``err`` for a user of the command line."""
    from confection import ConfigValidationError

    if isinstance(err, KexueError):
        return one_line(err)
    if isinstance(err, ModuleNotFoundError) and err.name:
        top = err.name.partition(".")[0]
        if top in EXTRAS:
            dist, extra = EXTRAS[top]
            return (
                f"this command needs the Python package {dist}, which is not installed: "
                f"pip install 'spacy-kexue[{extra}]' (or pip install {dist})"
            )
        return one_line(f"missing Python module {err.name!r}: {err}")
    if isinstance(err, OSError) and err.filename is not None:
        advice = _OS_ADVICE.get(err.errno or -1, err.strerror or str(err))
        return one_line(f"{err.filename}: {advice}")
    if isinstance(err, ConfigValidationError):
        problems = "; ".join(
            f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg', '')}" for e in err.errors
        )
        return one_line(f"{err.title}: {problems or err.desc or ''}")
    if isinstance(err, (OSError, ValueError)):
        return one_line(err)
    return one_line(
        f"unexpected {type(err).__name__}: {err} (this is a bug; run again with --verbose or "
        f"{DEBUG_ENV}=1 for the traceback, and please report it)"
    )


#: What the command line itself handles: exits, aborts, and usage errors (click's
#: ClickException, vendored by recent typer).
_PASSED_ON = (
    typer.Exit,
    typer.Abort,
    *(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException"),
)


def verbose(ctx: typer.Context) -> bool:
    return bool(ctx.meta.get(VERBOSE_KEY)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


class KexueGroup(TyperGroup):
    """The root group: runs the command and turns what escapes it into one ``Error:`` line."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except _PASSED_ON:
            raise
        except Exception as err:
            if verbose(ctx):
                raise
            typer.echo(f"Error: {describe(err)}", err=True)
            raise typer.Exit(1) from None
