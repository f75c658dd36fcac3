"""The recogniser's character set: an ordered list of characters, class id = position.

:func:`default_charset` is GB2312 level 1 (the 3,755 most common hanzi, in GB2312 order), then
the ten ASCII digits, the 52 ASCII letters, the 32 ASCII punctuation marks and
:data:`FULLWIDTH_PUNCT`, the common punctuation of Chinese text. Full-width and ASCII marks are
different classes (``，`` vs ``,``, ``（`` vs ``(``, ``：`` vs ``:``): they look alike once a glyph is
normalised, so telling them apart is left to the width rules and the language model, which use
:func:`char_kind`.

A :class:`Charset` is immutable and serialises to plain JSON (a list of characters). Unknown
characters raise :class:`UnknownCharError` (a ``ValueError``, never a bare ``KeyError``), except in
``ids(text, strict=False)``, which maps them to ``-1``.
"""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache

from ..errors import KexueError

__all__ = [
    "ASCII_PUNCT",
    "FULLWIDTH_PUNCT",
    "KINDS",
    "Charset",
    "CharsetError",
    "UnknownCharError",
    "char_kind",
    "default_charset",
    "gb2312_level1",
]

#: The 32 ASCII punctuation marks and symbols, in ASCII order.
ASCII_PUNCT: str = string.punctuation

#: Common punctuation of Chinese text, each set in a full-width cell. In order: comma, full stop,
#: enumeration comma, semicolon, colon, question and exclamation marks; double and single curly
#: quotes; parentheses; title marks 《》 and 〈〉; lenticular brackets 【】; corner brackets 「」 and
#: 『』; em dash (written doubled, ——), ellipsis (doubled, ……), middle dot (U+00B7, as in names
#: like 让·雅克); wave dash; full-width yen and percent signs. The dash and the middle dot are the
#: code points Chinese text uses (GB18030's mapping), not the U+2015/U+30FB that Python's
#: ``gb2312`` codec gives for the same GB2312 bytes.
FULLWIDTH_PUNCT: str = "，。、；：？！“”‘’（）《》〈〉【】「」『』—…·～￥％"

#: The values :func:`char_kind` returns.
KINDS: tuple[str, ...] = ("cjk", "latin", "digit", "punct_full", "punct_ascii")


class CharsetError(KexueError, ValueError):
    """A character set cannot be built or read (duplicate, empty or unclassifiable entry)."""


class UnknownCharError(CharsetError):
    """A character (or class id) is not in the character set."""


def char_kind(ch: str) -> str:
    """The kind of one character, for the width rules of the layout: one of :data:`KINDS`.

    - ``"digit"``: a decimal digit (``0``-``9`` and other ``Nd`` digits of normal width);
    - ``"latin"``: a letter of normal width (the ASCII letters, ``é``, Greek, ...);
    - ``"punct_ascii"``: half-width punctuation and symbols (ASCII ``string.punctuation`` and other
      narrow marks such as ``«``);
    - ``"punct_full"``: any other punctuation or symbol; Chinese text sets these in a full-width
      cell (full-width forms, CJK punctuation, and the East-Asian-ambiguous ``“ ” ‘ ’ — … ·``);
    - ``"cjk"``: hanzi and every other full-width letter or number (kana, hangul, ``Ａ``, ``１``):
      all occupy a square cell.

    Whitespace, control characters and combining marks have no glyph of their own and raise
    :class:`CharsetError`.
    """
    if not isinstance(ch, str) or len(ch) != 1:
        raise CharsetError(f"char_kind expects a single character, got {ch!r}.")
    if ch in string.digits:
        return "digit"
    if ch in string.ascii_letters:
        return "latin"
    if ch in ASCII_PUNCT:
        return "punct_ascii"
    category = unicodedata.category(ch)
    width = unicodedata.east_asian_width(ch)
    if category[0] in "LN":
        if width in ("W", "F"):
            return "cjk"
        return "digit" if category == "Nd" else "latin"
    if category[0] in "PS":
        if width in ("W", "F", "A") or _cjk_punct(ch):
            return "punct_full"
        return "punct_ascii"
    raise CharsetError(
        f"Character {ch!r} (U+{ord(ch):04X}, category {category}) has no glyph of its own "
        "(whitespace, control or combining mark) and cannot be a recogniser class. Remove it "
        "from the character set."
    )


def _cjk_punct(ch: str) -> bool:
    # CJK Symbols and Punctuation, Halfwidth and Fullwidth Forms, CJK Compatibility Forms.
    code = ord(ch)
    return 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF or 0xFE30 <= code <= 0xFE4F


@cache
def _gb2312_level1() -> tuple[str, ...]:
    chars = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:  # the last row ends at 0xD7F9
                continue
    return tuple(chars)


def gb2312_level1() -> list[str]:
    """The 3,755 hanzi of GB2312 level 1 (rows 0xB0-0xD7), in GB2312 (pinyin) order."""
    return list(_gb2312_level1())


class Charset:
    """An ordered, duplicate-free list of characters; a character's class id is its position.

    Every entry must be a single character that :func:`char_kind` can classify (no whitespace or
    control characters); a duplicate, an empty charset or a bad entry raises :class:`CharsetError`.
    Immutable and hashable; equal when the character lists are equal.
    """

    __slots__ = ("_chars", "_index")

    def __init__(self, chars: Iterable[str]):
        chars = tuple(chars)
        index: dict[str, int] = {}
        for i, ch in enumerate(chars):
            if not isinstance(ch, str) or len(ch) != 1:
                raise CharsetError(
                    f"Charset entry {i} is {ch!r}; every entry must be a single character."
                )
            char_kind(ch)  # raises for whitespace and control characters
            if ch in index:
                raise CharsetError(
                    f"Charset entry {i} ({ch!r}, U+{ord(ch):04X}) repeats entry {index[ch]}; "
                    "class ids must be unique. Remove the duplicate."
                )
            index[ch] = i
        if not chars:
            raise CharsetError("A charset needs at least one character.")
        self._chars = chars
        self._index = index

    @property
    def chars(self) -> tuple[str, ...]:
        """The characters, in class-id order."""
        return self._chars

    def __len__(self) -> int:
        return len(self._chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._chars)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charset) and self._chars == other._chars

    def __hash__(self) -> int:
        return hash(self._chars)

    def __repr__(self) -> str:
        head = "".join(self._chars[:8])
        return f"Charset({len(self)} chars: {head!r}...)"

    def __reduce__(self):
        return (Charset, (self._chars,))

    def index(self, ch: str) -> int:
        """The class id of ``ch``; :class:`UnknownCharError` when it is not in the charset."""
        try:
            return self._index[ch]
        except (KeyError, TypeError):
            raise UnknownCharError(
                f"{_describe(ch)} is not in the charset ({len(self)} characters). Add it to the "
                "charset (and retrain), or filter it out of the text first."
            ) from None

    def char(self, i: int) -> str:
        """The character of class id ``i`` (``0 <= i < len(self)``; negative ids are refused)."""
        if not isinstance(i, int) and hasattr(i, "__index__"):
            i = i.__index__()  # numpy integers
        if not isinstance(i, int) or not 0 <= i < len(self._chars):
            raise UnknownCharError(
                f"Class id {i!r} is outside 0..{len(self) - 1}: the model and the charset do not "
                "match. Load the charset saved with the model."
            )
        return self._chars[i]

    def ids(self, text: str, *, strict: bool = True) -> list[int]:
        """The class ids of the characters of ``text``.

        With ``strict=True`` (the default) an unknown character raises :class:`UnknownCharError`
        naming it and its position in ``text``; with ``strict=False`` it gets the id ``-1``.
        Spaces are characters like any other here: strip them first if they are not glyphs.
        """
        if strict:
            out = []
            for pos, ch in enumerate(text):
                i = self._index.get(ch)
                if i is None:
                    raise UnknownCharError(
                        f"{_describe(ch)} at position {pos} of the text is not in the charset "
                        f"({len(self)} characters). Filter it out, or call ids(text, "
                        "strict=False) to map unknown characters to -1."
                    )
                out.append(i)
            return out
        get = self._index.get
        return [get(ch, -1) for ch in text]

    def kind(self, ch: str) -> str:
        """:func:`char_kind` of ``ch`` (defined for any character, not only members)."""
        return char_kind(ch)

    def to_json(self) -> str:
        """The charset as a JSON list of characters (UTF-8 text, not ASCII-escaped)."""
        return json.dumps(list(self._chars), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> Charset:
        """Read what :meth:`to_json` wrote; malformed input raises :class:`CharsetError`."""
        try:
            chars = json.loads(data)
        except (ValueError, RecursionError) as err:  # bad JSON or UTF-8, a huge number, nesting
            raise CharsetError(
                f"The charset is not valid JSON ({err}). Expected a JSON list of characters, as "
                "written by Charset.to_json()."
            ) from None
        if not isinstance(chars, list):
            raise CharsetError(
                f"The charset JSON holds a {type(chars).__name__}, expected a list of characters "
                "as written by Charset.to_json()."
            )
        return cls(chars)


def _describe(ch: object) -> str:
    if isinstance(ch, str) and len(ch) == 1:
        return f"Character {ch!r} (U+{ord(ch):04X})"
    return f"{ch!r}"


@cache
def default_charset() -> Charset:
    """GB2312 level 1 (3,755 hanzi) + digits + ASCII letters + ASCII punctuation +
    :data:`FULLWIDTH_PUNCT`, in that order: 3,755 + 10 + 52 + 32 + 29 = 3,878 classes."""
    return Charset(
        (
            *_gb2312_level1(),
            *string.digits,
            *string.ascii_letters,
            *ASCII_PUNCT,
            *FULLWIDTH_PUNCT,
        )
    )
