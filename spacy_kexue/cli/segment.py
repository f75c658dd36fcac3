"""``kexue segment``: print each line of a file (or stdin) segmented, words separated by spaces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

import typer

from ._util import input_file, load_nlp


def segment(nlp, stream: Iterable[bytes], name: str, *, batch_size: int = 1000) -> Iterator[str]:
    """The lines of ``stream`` (raw bytes, a document a line) segmented by ``nlp``'s tokenizer,
    words separated by two spaces (the SIGHAN scorer's format), whitespace tokens dropped.

    A line that is not UTF-8 or not valid text raises :class:`~spacy_kexue.errors.DataFileError`
    naming ``name`` and the line, when the iteration reaches it.
    """
    from ..errors import DataFileError
    from ..readers import decode_line
    from ..text import check_text

    def lines():
        for lineno, raw in enumerate(stream, start=1):
            line = decode_line(raw, lineno, name)
            try:
                check_text(line)
            except ValueError as err:
                raise DataFileError(str(err), path=name, line=lineno) from None
            yield line

    tokenizer = nlp.tokenizer
    if hasattr(tokenizer, "pipe_words"):  # ours: the words without making Docs
        for words, _ in tokenizer.pipe_words(lines(), batch_size=batch_size):
            yield "  ".join(w for w in words if not w.isspace())
        return
    for doc in tokenizer.pipe(lines(), batch_size=batch_size):
        yield "  ".join(t.text for t in doc if not t.is_space)


def segment_cli(
    input: str = typer.Argument(
        ..., help="A UTF-8 text file, one document a line, or - for stdin.", callback=input_file
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    batch_size: int = typer.Option(1000, min=1, help="Lines per batch."),
) -> None:
    """Print each line segmented, words separated by spaces (the SIGHAN scorer's format)."""
    import sys

    nlp = load_nlp(model)
    stream: BinaryIO = sys.stdin.buffer if input == "-" else open(input, "rb")
    name = "<stdin>" if input == "-" else input
    try:
        for line in segment(nlp, stream, name, batch_size=batch_size):
            sys.stdout.write(line + "\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
