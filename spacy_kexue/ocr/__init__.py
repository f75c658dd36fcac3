"""Printed-Chinese OCR front end (METHODS.md, section 5).

Synthetic glyphs and lines rendered from the allowed fonts, scan/screenshot augmentations, layout
analysis (lines and characters), the character recogniser and the bigram language model.

The names users reach for are importable from here::

    from spacy_kexue.ocr import OCRReader

    result = OCRReader().read("page.png")   # an OCRResult: text, lines, characters and boxes

They load on first use, so ``import spacy_kexue.ocr`` stays cheap (no torch, PIL or spaCy).
"""

from ..lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BigramLM": ".lm",
        "Charset": ".charset",
        "OCRChar": ".reader",
        "OCRLine": ".reader",
        "OCRReader": ".reader",
        "OCRResult": ".reader",
        "ProjectionLayout": ".layout",
        "render_line": ".render",
    },
)
