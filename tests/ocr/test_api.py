"""The public names of spacy_kexue.ocr: importable from the package, loaded on first use."""

from __future__ import annotations

import importlib

import pytest

import spacy_kexue.ocr
from tests.imports import loaded_after

#: Each public name and the module that defines it.
HOMES = {
    "OCRReader": "reader",
    "OCRResult": "reader",
    "OCRLine": "reader",
    "OCRChar": "reader",
    "ProjectionLayout": "layout",
    "BigramLM": "lm",
    "Charset": "charset",
    "render_line": "render",
}


def test_import_loads_neither_torch_nor_pil_nor_spacy():
    assert loaded_after("spacy_kexue.ocr", ("torch", "PIL", "spacy", "thinc")) == []


def test_ocr_reader_from_the_package_is_the_reader_class():
    from spacy_kexue.ocr import OCRReader
    from spacy_kexue.ocr.reader import OCRReader as defined

    assert OCRReader is defined


@pytest.mark.parametrize("name", sorted(HOMES))
def test_every_public_name_is_its_modules_object(name):
    assert name in spacy_kexue.ocr.__all__ and name in dir(spacy_kexue.ocr)
    module = importlib.import_module(f"spacy_kexue.ocr.{HOMES[name]}")
    assert getattr(spacy_kexue.ocr, name) is getattr(module, name)


def test_all_lists_the_public_names_only():
    assert sorted(spacy_kexue.ocr.__all__) == sorted(HOMES)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        spacy_kexue.ocr.nothing  # noqa: B018


@pytest.mark.parametrize(
    "module",
    [
        "spacy_kexue.ocr.boxes",
        "spacy_kexue.ocr.ink",
        "spacy_kexue.ocr.profiles",
        "spacy_kexue.ocr.lines",
        "spacy_kexue.ocr.chars",
        "spacy_kexue.ocr.glyph",
    ],
)
def test_layout_steps_and_glyph_normalisation_are_light(module):
    """The layout's steps and the glyph normalisation are pure numpy at import (PIL lazily);
    only spacy_kexue.ocr.layout, which registers the builders, imports spaCy."""
    assert loaded_after(module, ("torch", "PIL", "spacy", "thinc")) == []
