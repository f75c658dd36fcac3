"""The base error types. Each part defines its own subclasses beside the code that raises
them (``CheckpointError`` in :mod:`spacy_kexue.corpus.errors`, ``ImageError`` in
:mod:`spacy_kexue.ocr.imageio`, ...), all under :class:`KexueError`.

Messages are written where they are raised, with the values that explain them: every message
says what went wrong, where (file, line, field) and what to do.
"""


class KexueError(Exception):
    """Base class of every error spacy-kexue raises on purpose."""


class DataFileError(KexueError, ValueError):
    """An input file (dictionary, corpus, user dictionary, ...) cannot be used.

    ``path`` and ``line`` (1-based, or None for whole-file problems) say where.
    """

    def __init__(self, message: str, *, path=None, line=None):
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line
