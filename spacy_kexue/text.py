"""Text policy shared by every component: what we do with strings spaCy cannot store.

Lone surrogates (``"\\ud800"``; ``json.loads`` makes them from ``\\ud800`` escapes) cannot be
encoded as UTF-8, so spaCy's string store cannot hold them. spacy-kexue's one answer,
everywhere: building a Doc from such a string raises :class:`LoneSurrogateError` (a
``ValueError``) naming the first offending position. Callers who prefer to keep going
call :func:`replace_surrogates`, which swaps each lone surrogate for U+FFFD and nothing
else, so the repaired text has the same length and offsets as the input.
"""

from __future__ import annotations

import re

from .errors import KexueError

REPLACEMENT_CHARACTER = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


class LoneSurrogateError(KexueError, ValueError):
    """The text holds a lone surrogate code point, which cannot be stored in a Doc."""

    def __init__(self, position: int, char: str):
        super().__init__(
            f"Lone surrogate U+{ord(char):04X} at position {position}: spaCy cannot store it. "
            "Repair the text with spacy_kexue.text.replace_surrogates(text), which replaces "
            "lone surrogates by U+FFFD, or drop the record."
        )
        self.position = position


def check_text(text: str) -> None:
    """Raise LoneSurrogateError if ``text`` holds a lone surrogate; cheap for valid text."""
    if not isinstance(text, str):
        raise TypeError(f"Expected str, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise LoneSurrogateError(err.start, text[err.start]) from None


def replace_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (same length, same offsets)."""
    return _SURROGATE.sub(REPLACEMENT_CHARACTER, text)
