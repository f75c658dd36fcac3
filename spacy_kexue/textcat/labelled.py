"""Labelled sentiment data: JSONL records ``{"text": ..., "label": 0|1}`` -> Docs with cats.

``label`` 1 is POSITIVE, 0 is NEGATIVE (the layout of ../shared/data/sentiment). A record with
a missing, non-binary or non-numeric label, or a missing text, raises DataFileError naming the
file and line. :func:`convert` writes a DocBin for ``spacy train``, tokenized by the pipeline's
own tokenizer (so word-level encoders see the segmenter's words).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from ..errors import DataFileError
from ..readers import read_records
from ..text import check_text

POSITIVE, NEGATIVE = "POSITIVE", "NEGATIVE"


def label_cats(label: int) -> dict[str, float]:
    return {POSITIVE: float(label == 1), NEGATIVE: float(label == 0)}


def read_labelled(
    path: str | Path, *, text_key: str = "text", label_key: str = "label"
) -> Iterator[tuple[str, int]]:
    """Yield (text, label) for each record; bad records raise DataFileError naming the line."""
    for _, _, text, label in labelled_records(path, text_key=text_key, label_key=label_key):
        yield text, label


def labelled_records(
    path: str | Path, *, text_key: str = "text", label_key: str = "label"
) -> Iterator[tuple[int, dict, str, int]]:
    """Yield (line number, record, text, label) for each record, checked as in
    :func:`read_labelled` (for readers that need the record's other fields too)."""
    for lineno, record in read_records(path):
        text = record.get(text_key)
        if not isinstance(text, str):
            raise DataFileError(
                f"has no string field {text_key!r}: every record needs its text.",
                path=path,
                line=lineno,
            )
        try:
            check_text(text)
        except ValueError as err:
            raise DataFileError(str(err), path=path, line=lineno) from None
        if label_key not in record:
            raise DataFileError(
                f"has no {label_key!r} field: label every record 1 (positive) or 0 (negative).",
                path=path,
                line=lineno,
            )
        label = record[label_key]
        if isinstance(label, bool) or label not in (0, 1):
            raise DataFileError(
                f"has {label_key} = {label!r}: labels must be 1 (positive) or 0 (negative).",
                path=path,
                line=lineno,
            )
        yield lineno, record, text, int(label)


def convert(input_path: str | Path, output_path: str | Path, nlp, *, limit: int = 0) -> int:
    """Write the records of ``input_path`` as a DocBin at ``output_path``; returns the count."""
    from spacy.tokens import DocBin

    texts_labels = list(islice(read_labelled(input_path), limit or None))
    if not texts_labels:
        raise DataFileError(
            'holds no labelled records; give a JSONL file of {"text": ..., "label": 0|1} lines.',
            path=input_path,
        )
    docbin = DocBin(store_user_data=False)
    docs = nlp.tokenizer.pipe(text for text, _ in texts_labels)
    for doc, (_, label) in zip(docs, texts_labels, strict=True):
        doc.cats = label_cats(label)
        docbin.add(doc)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(output_path)
    return len(texts_labels)
