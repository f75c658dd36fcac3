"""Printed-Chinese OCR front end (METHODS.md, section 5).

Synthetic glyphs and lines rendered from the allowed fonts, scan/screenshot augmentations, layout
analysis (lines and characters), the character recogniser and the bigram language model.

The names users reach for are importable from here::

    from spacy_kexue.ocr import OCRReader

    result = OCRReader().read("page.png")   # an OCRResult: text, lines, characters and boxes

They load on first use, so ``import spacy_kexue.ocr`` stays cheap (no torch, PIL or spaCy).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .charset import Charset
    from .layout import ProjectionLayout
    from .lm import BigramLM
    from .reader import OCRChar, OCRLine, OCRReader, OCRResult
    from .render import render_line

#: Public name -> the module (under ``spacy_kexue.ocr``) that defines it.
_PUBLIC = {
    "OCRReader": "reader",
    "OCRResult": "reader",
    "OCRLine": "reader",
    "OCRChar": "reader",
    "ProjectionLayout": "layout",
    "BigramLM": "lm",
    "Charset": "charset",
    "render_line": "render",
}

__all__ = [
    "BigramLM",
    "Charset",
    "OCRChar",
    "OCRLine",
    "OCRReader",
    "OCRResult",
    "ProjectionLayout",
    "render_line",
]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `import spacy_kexue.ocr` stays cheap.
    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
