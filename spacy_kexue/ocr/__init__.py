"""Printed-Chinese OCR front end (METHODS.md, section 5).

Synthetic glyphs and lines rendered from the allowed fonts, scan/screenshot augmentations, layout
analysis (lines and characters), the character recogniser and the bigram language model.
"""
