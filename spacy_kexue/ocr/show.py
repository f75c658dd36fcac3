"""Draw what the reader saw: line boxes (blue) and token boxes (red) over the image.

With a spaCy pipeline the red boxes are its tokens (``nlp.make_doc``: the tokenizer only), so a
person can check segmentation and OCR at a glance; without one they are the characters. PIL is
imported lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .imageio import load_image
from .reader import OCRResult

__all__ = ["draw_result", "token_boxes"]

LINE_COLOUR = (30, 90, 230)
TOKEN_COLOUR = (220, 30, 30)


def token_boxes(result: OCRResult, nlp: Any = None) -> list[tuple[int, int, int, int]]:
    """The box of every token of ``result.text`` (``nlp.make_doc``), or of every character when
    ``nlp`` is None; tokens without ink (spaces) have none."""
    boxes = result.char_boxes()
    if nlp is None:
        return [tuple(b) for b in boxes if b]
    out = []
    for token in nlp.make_doc(result.text):
        inked = [b for b in boxes[token.idx : token.idx + len(token.text)] if b]
        if inked:
            out.append(
                (
                    min(b[0] for b in inked),
                    min(b[1] for b in inked),
                    max(b[2] for b in inked),
                    max(b[3] for b in inked),
                )
            )
    return out


def draw_result(image: Any, result: OCRResult, output: str | Path, *, nlp: Any = None) -> Path:
    """Write ``image`` with ``result``'s line and token boxes drawn over it to ``output`` (PNG)."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(load_image(image, max_pixels=None)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for line in result.lines:
        x0, y0, x1, y1 = line.box
        draw.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=LINE_COLOUR, width=1)
    for x0, y0, x1, y1 in token_boxes(result, nlp):
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=TOKEN_COLOUR, width=1)
    output = Path(output)
    canvas.save(output, format="PNG")
    return output
