"""The layout's results: pixel boxes, text lines, and the layout's error.

:class:`Box` is a half-open pixel box ``[x0, x1) x [y0, y1)``; :class:`Line` is one text line
with its character boxes left to right, the word-space candidates and the line's ideograph
height. :class:`~spacy_kexue.ocr.layout.ProjectionLayout` returns a list of :class:`Line`
(:mod:`spacy_kexue.ocr.layout` describes the whole pipeline); every layout step raises
:class:`LayoutError` for an array or a setting it cannot use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import KexueError

__all__ = ["Box", "LayoutError", "Line"]


class LayoutError(KexueError, ValueError):
    """An image array or a setting the layout cannot use."""


@dataclass(frozen=True)
class Box:
    """A half-open pixel box: columns ``x0 <= x < x1``, rows ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        """``x1 - x0``."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """``y1 - y0``."""
        return self.y1 - self.y0

    def to_list(self) -> list[int]:
        """``[x0, y0, x1, y1]`` as plain ints (JSON friendly)."""
        return [int(self.x0), int(self.y0), int(self.x1), int(self.y1)]

    def shift(self, dx: int, dy: int) -> Box:
        """The same box moved by ``(dx, dy)``."""
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)


@dataclass
class Line:
    """One text line: its ink box and its character boxes, left to right.

    ``space_before[i]`` is True when the white gap in front of ``chars[i]`` is wide
    enough to be a word space (see :func:`~spacy_kexue.ocr.chars.split_chars`). A flag is
    only a candidate: CJK text has wide gaps after full-width punctuation and none is a
    space, so the reader inserts a space only where both neighbours were recognised as
    Latin letters or digits. ``char_height`` is the reference character height (the
    ideograph height, :func:`~spacy_kexue.ocr.chars.estimate_char_height`) in pixels: a
    character's box relative to it and to the line's box tells ， from ' and 。 from o after
    the boxes are normalised.
    """

    box: Box
    chars: list[Box]
    space_before: list[bool] = field(default_factory=list)
    char_height: float = 0.0

    def __post_init__(self) -> None:
        if not self.space_before:
            self.space_before = [False] * len(self.chars)
        if len(self.space_before) != len(self.chars):
            raise LayoutError(
                f"Line.space_before has {len(self.space_before)} flags for "
                f"{len(self.chars)} character boxes; give one flag per box."
            )

    def to_dict(self) -> dict:
        """Plain JSON-friendly form: ``box``, ``chars`` (lists of 4 ints), flags, height."""
        return {
            "box": self.box.to_list(),
            "chars": [c.to_list() for c in self.chars],
            "space_before": [bool(f) for f in self.space_before],
            "char_height": float(self.char_height),
        }
