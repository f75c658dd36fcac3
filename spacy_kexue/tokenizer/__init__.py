"""The dictionary-trained word segmenter, used as spaCy's zh tokenizer.

Light to import: torch is imported inside the functions that need it.
"""
