"""Index a corpus by its document vectors: every usable record of any ``kexue pipe`` input,
encoded by the pipeline's ``kexue_vae`` (the index itself: :mod:`spacy_kexue.vae.index`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import DataFileError
from ..vae.index import IndexRecord, VectorIndex, model_identity, vae_fingerprint, vae_name

__all__ = ["index_corpus"]


def index_corpus(
    nlp,
    path: str,
    *,
    text_key: str = "text",
    max_chars: int = 1_000_000,
    limit: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> tuple[VectorIndex, list]:
    """Encode every usable record of the corpus ``path`` (any input of ``kexue pipe``) with the
    pipeline's ``kexue_vae``; returns the index and the records skipped as
    :class:`~spacy_kexue.corpus.sources.Reject` (bad UTF-8 or JSON, no text, too long, ...)."""
    from itertools import islice

    from ..corpus.sources import Reject, iter_items

    name = vae_name(nlp)
    records: list[IndexRecord] = []
    rejects: list[Reject] = []

    def texts() -> Iterable[str]:
        for item in islice(iter_items(path, text_key=text_key, max_chars=max_chars), limit or None):
            if isinstance(item, Reject):
                rejects.append(item)
                continue
            if item.text is None:
                raise DataFileError(
                    "holds images; run kexue pipe over them (OCR) and index its .jsonl output.",
                    path=path,
                )
            records.append(IndexRecord(item.source, item.line, item.index, item.text))
            yield item.text

    vectors = []
    bar = _progress_bar(progress)
    with nlp.select_pipes(enable=[name]):
        for doc in nlp.pipe(texts(), batch_size=batch_size):
            vectors.append(doc._.vae_vector)
            bar.update(1)
    bar.close()
    if not records:
        raise DataFileError("holds no usable text to index; give a non-empty corpus.", path=path)
    model, version = model_identity(nlp)
    index = VectorIndex(
        np.stack(vectors),
        records,
        model=model,
        model_version=version,
        vae_sha256=vae_fingerprint(nlp),
    )
    return index, rejects


def _progress_bar(enabled: bool):
    import sys

    from tqdm import tqdm

    return tqdm(unit="doc", file=sys.stderr, disable=not enabled, dynamic_ncols=True)
