"""Error types and numbered messages, in the style of spaCy's ``spacy.errors``.

Every message says what went wrong, where (file, line, field) and what to do.
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


class Errors:
    E001 = (
        "The data directory {path} does not exist. Set the environment variable KEXUE_DATA "
        "to the folder that holds cws/ and sentiment/, or pass the path explicitly."
    )
