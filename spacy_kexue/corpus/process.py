"""Process one chunk of records through a spaCy pipeline: the unit of work of ``kexue pipe``.

:func:`process_chunk` is a plain module-level function of ``(settings, records)`` returning a
:class:`ChunkResult`, so any backend can run it: in-process, a ``ProcessPoolExecutor`` worker,
or a Dask worker. The pipeline (and the OCR reader, for images) is loaded once per
process and cached by its settings (under a lock, so a worker running chunks in several threads,
as a multi-threaded Dask worker does, loads it once too).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from .sources import Record, Reject, check_length

FORMATS = ("jsonl", "spacy")


@dataclass(frozen=True)
class ChunkSettings:
    """Everything a worker needs to turn records into output (picklable, hashable)."""

    model: str = "zh_kexue_sm"
    disable: tuple[str, ...] = ()
    code: str | None = None
    format: str = "jsonl"
    batch_size: int = 64
    max_chars: int = 0
    top_k: int = 5
    vector: bool = False


@dataclass
class ChunkResult:
    """A chunk's output: ``data`` (JSONL bytes, one line per accepted record, or DocBin bytes),
    ``n_written`` docs, and the ``rejects`` found while processing (OCR, length, pipeline)."""

    data: bytes
    n_written: int
    rejects: list[Reject] = field(default_factory=list)


_CACHE: dict[Any, Any] = {}
_LOCK = threading.Lock()


def load_pipeline(settings: ChunkSettings):
    """The pipeline for ``settings`` (loaded once per process)."""
    key = ("nlp", settings.model, settings.disable, settings.code)
    if key in _CACHE:
        return _CACHE[key]
    with _LOCK:
        return _load_pipeline(key, settings)


def _load_pipeline(key, settings: ChunkSettings):
    if key not in _CACHE:
        import spacy

        if settings.code:
            from spacy.util import import_file

            import_file("kexue_pipe_code", settings.code)
        nlp = spacy.load(settings.model, disable=list(settings.disable))
        unknown = [name for name in settings.disable if name not in nlp.component_names]
        if unknown:
            raise ValueError(
                f"cannot disable {', '.join(unknown)}: the pipeline's components are "
                f"{', '.join(nlp.component_names) or '(none)'}."
            )
        _CACHE[key] = nlp
    return _CACHE[key]


def _ocr_reader():
    if "ocr" not in _CACHE:
        with _LOCK:
            if "ocr" not in _CACHE:
                from ..ocr.reader import OCRReader

                _CACHE["ocr"] = OCRReader()
    return _CACHE["ocr"]


def _ocr(records: list[Record], settings: ChunkSettings) -> list[Record | Reject]:
    """Records whose images have been read into text (unreadable ones become rejects)."""
    out: list[Record | Reject] = []
    for rec in records:
        if rec.image is None:
            out.append(rec)
            continue
        try:
            text = _ocr_reader().read(rec.image).text
        except Exception as err:  # an unreadable image must not stop the run
            out.append(Reject(rec.index, rec.source, rec.line, "unreadable-image", str(err)))
            continue
        rec = Record(rec.index, rec.source, rec.line, text, rec.context, rec.image)
        out.append(check_length(rec, settings.max_chars))
    return out


def _docs(nlp, records: list[Record], batch_size: int, rejects: list[Reject]):
    """(record, doc) pairs; if the pipeline fails on the batch, each text is retried alone and
    the ones it fails on become ``pipeline-error`` rejects."""
    texts = [r.text for r in records]
    try:
        # the tokenizer batched across the texts (nlp.pipe would call it once a text), then the
        # components: the same docs, faster
        made = nlp.tokenizer.pipe(texts, batch_size=batch_size)
        return list(zip(records, nlp.pipe(made, batch_size=batch_size), strict=True))
    except Exception:
        pass
    pairs = []
    for rec in records:
        try:
            pairs.append((rec, nlp(rec.text)))
        except Exception as err:
            detail = f"{type(err).__name__}: {err}"
            rejects.append(Reject(rec.index, rec.source, rec.line, "pipeline-error", detail))
    return pairs


def _floats(values, digits: int = 6) -> list[float]:
    return [round(float(v), digits) for v in values]


def doc_to_dict(rec: Record, doc, settings: ChunkSettings) -> dict:
    """The JSONL record of one doc: source, line, index, text, tokens, and when the pipeline
    gives them cats, salient (top ``top_k`` tokens by saliency), vector (``vector=True``) and
    the record's context."""
    out: dict[str, Any] = {
        "source": rec.source,
        "line": rec.line,
        "index": rec.index,
        "text": rec.text,
        "tokens": [t.text for t in doc],
    }
    if doc.cats:
        out["cats"] = {k: round(float(v), 6) for k, v in doc.cats.items()}
    if settings.top_k > 0 and doc.has_extension("salient") and doc._.get("saliency") is not None:
        out["salient"] = [
            [t.text, round(float(t._.saliency), 6)] for t in doc._.salient(settings.top_k)
        ]
    if settings.vector and doc.has_extension("vae_vector"):
        vector = doc._.get("vae_vector")
        if vector is not None:
            out["vector"] = _floats(vector)
    if rec.context is not None:
        out["context"] = rec.context
    return out


def process_chunk(settings: ChunkSettings, records: list[Record]) -> ChunkResult:
    """Run the pipeline over one chunk's accepted records (in order) and serialise the docs."""
    rejects: list[Reject] = []
    ready: list[Record] = []
    for item in _ocr(records, settings):
        (rejects if isinstance(item, Reject) else ready).append(item)
    nlp = load_pipeline(settings)
    pairs = _docs(nlp, ready, settings.batch_size, rejects) if ready else []
    rejects.sort(key=lambda r: r.index)
    if settings.format == "spacy":
        from spacy.tokens import DocBin

        docbin = DocBin(store_user_data=True)
        for rec, doc in pairs:
            doc.user_data["kexue"] = {
                "source": rec.source,
                "line": rec.line,
                "index": rec.index,
                "context": rec.context,
            }
            docbin.add(doc)
        return ChunkResult(docbin.to_bytes(), len(pairs), rejects)
    lines = [
        json.dumps(doc_to_dict(rec, doc, settings), ensure_ascii=False) + "\n" for rec, doc in pairs
    ]
    return ChunkResult("".join(lines).encode("utf-8"), len(pairs), rejects)


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    import os
    import time

    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def init_worker(settings: ChunkSettings, n_threads: int) -> None:
    """ProcessPoolExecutor initializer: ignore Ctrl-C (the parent handles it), exit when the
    parent dies (a killed parent must not leave workers behind, waiting forever on a queue
    they hold both ends of), load the pipeline once, keep torch to its share of the cores."""
    import os
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="kexue-parent-watch"
    ).start()
    try:
        load_pipeline(settings)
    except Exception:  # reported by process_chunk, where the parent sees the real error
        return
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, n_threads))
