"""``kexue pipe``: run a spaCy pipeline over a whole corpus, streaming, resumable, lossless.

The input (:mod:`~spacy_kexue.corpus.sources`) is cut into chunks of ``chunk_size`` records by
their running index (rejects count too, so the cut never depends on the pipeline). Each chunk
goes through :func:`~spacy_kexue.corpus.process.process_chunk`, in-process (``n_process=1``),
in a pool of ``spawn`` worker processes (at most ``2 * n_process`` chunks in flight, results
taken in input order) or on a Dask cluster (:mod:`~spacy_kexue.corpus.cluster`: at most
2 x its worker threads in flight, in input order too), and is committed to the checkpoint
(:mod:`~spacy_kexue.corpus.checkpoint`). A re-run with ``resume=True`` reads the input again
but skips the chunks already finished. The result is byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from ..errors import KexueError
from .checkpoint import Checkpoint
from .errors import CheckpointError, PipeError, WorkerDiedError
from .process import FORMATS, ChunkResult, ChunkSettings, init_worker, process_chunk
from .sources import Item, Record, Reject, count_records, input_kind, iter_items

__all__ = ["CheckpointError", "PipeError", "PipeSummary", "WorkerDiedError", "run"]


@dataclass
class PipeSummary:
    """What a run did. ``read``: input records (rejects included, finished chunks included);
    ``written``: docs in the output; ``rejected``: reason -> count; ``processed``: records run
    through the pipeline by this call; ``skipped_chunks``: chunks finished before (resume)."""

    output: str
    rejects_path: str
    read: int = 0
    written: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    processed: int = 0
    chunks: int = 0
    skipped_chunks: int = 0
    seconds: float = 0.0

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def docs_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "output": self.output,
            "rejects_path": self.rejects_path,
            "read": self.read,
            "written": self.written,
            "rejected": dict(self.rejected),
            "n_rejected": self.n_rejected,
            "processed": self.processed,
            "chunks": self.chunks,
            "skipped_chunks": self.skipped_chunks,
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(self.docs_per_second, 1),
        }

    def format(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items())) or "none"
        text = (
            f"read {self.read} records, wrote {self.written} docs to {self.output}, "
            f"rejected {self.n_rejected} ({reasons})"
        )
        if self.n_rejected:
            text += f" -> {self.rejects_path}"
        text += f"; {self.seconds:.1f} s, {self.docs_per_second:.1f} docs/s"
        if self.skipped_chunks:
            text += f" ({self.skipped_chunks} of {self.chunks} chunks finished before)"
        return text


def _chunks(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while True:
        chunk = list(islice(items, size))
        if not chunk:
            return
        yield chunk


def _check_model(model: str, code: str | None) -> None:
    from spacy.util import is_package

    if code is not None and not Path(code).is_file():
        raise PipeError(f"--code {code}: no such file.")
    if not (is_package(model) or Path(model).exists()):
        raise PipeError(
            f"cannot find the pipeline {model!r}: give an installed package name or a path."
        )


class _InProcess:
    """Runs each chunk at once, here."""

    def __init__(self, settings: ChunkSettings):
        self.settings = settings

    def submit(self, records: list[Record]):
        return records  # processed when its result is asked for

    def result(self, records: list[Record]) -> ChunkResult:
        return process_chunk(self.settings, records)

    max_in_flight = 1

    def close(self, *, abort: bool = False) -> None:
        pass


class _Pool:
    """A ``spawn`` ProcessPoolExecutor whose workers load the pipeline once."""

    def __init__(self, settings: ChunkSettings, n_process: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.settings = settings
        threads = max(1, (os.cpu_count() or 1) // n_process)
        self.executor = ProcessPoolExecutor(
            max_workers=n_process,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(settings, threads),
        )
        self.max_in_flight = 2 * n_process

    def submit(self, records: list[Record]):
        return self.executor.submit(process_chunk, self.settings, records)

    def result(self, handle) -> ChunkResult:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return handle.result()
        except BrokenProcessPool:
            raise WorkerDiedError(
                "a worker process died (killed, out of memory, or exited); finished chunks "
                "are kept, re-run with --resume (fewer --n-process or a smaller --chunk-size "
                "use less memory)."
            ) from None

    def close(self, *, abort: bool = False) -> None:
        if abort:
            # Stop at once: chunks in flight are lost (they are not committed) and redone
            # on --resume. _processes is private, but shutdown() alone would wait for them.
            for proc in list((getattr(self.executor, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.terminate()
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            self.executor.shutdown(wait=True)


def run(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    model: str = "zh_kexue_sm",
    format: str | None = None,
    text_key: str = "text",
    batch_size: int = 64,
    n_process: int = 1,
    disable: Sequence[str] = (),
    code: str | os.PathLike | None = None,
    limit: int = 0,
    max_chars: int = 1_000_000,
    chunk_size: int = 1000,
    resume: bool = False,
    overwrite: bool = False,
    top_k: int = 5,
    vector: bool = False,
    progress: bool | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
) -> PipeSummary:
    """Process the corpus ``input`` with the pipeline ``model`` into ``output``.

    input: a .txt/.jsonl/.csv/.tsv file (or .gz), a directory of .txt files or images, or "-"
        (stdin); see :mod:`spacy_kexue.corpus.sources`.
    output: a .jsonl file (one line per accepted record, in input order), or with
        ``format="spacy"`` (the default when it ends with .spacy) a directory of DocBin shards.
        Rejected records go to ``OUTPUT.rejects.jsonl``.
    resume / overwrite: continue an interrupted run from ``OUTPUT.parts/`` (same settings
        only) / remove what an earlier run left. Without either, existing output is an error.
    limit: the first N input records only (0: all). max_chars: longer texts are rejected
        (0: no limit). top_k, vector: what the JSONL records carry.
    progress: a tqdm bar on stderr (default: when stderr is a terminal).
    scheduler: run the chunks on the Dask cluster of this scheduler (``tcp://HOST:PORT``); its
        workers need spacy-kexue and must load ``model`` (a package installed on every worker,
        or a path they all see) and ``code``. cluster: ``"local:N"`` starts a Dask
        ``LocalCluster`` of N worker processes on 127.0.0.1 for the run. Both need the
        ``cluster`` extra; at most one of ``n_process > 1``, ``scheduler``, ``cluster``.

    Returns a :class:`PipeSummary`. Raises :class:`~spacy_kexue.errors.DataFileError` (input),
    :class:`CheckpointError` (output/resume), :class:`PipeError` (settings, pipeline, workers),
    and KeyboardInterrupt after stopping the workers (finished chunks are kept).
    """
    start = time.perf_counter()
    input = str(input)
    output = str(output)
    format = output_format(output, format)
    for name, value, least in (
        ("chunk_size", chunk_size, 1),
        ("batch_size", batch_size, 1),
        ("n_process", n_process, 1),
        ("limit", limit, 0),
        ("max_chars", max_chars, 0),
        ("top_k", top_k, 0),
    ):
        if value < least:
            raise PipeError(f"{name} must be >= {least}, got {value}.")
    n_local = _check_backend(n_process, scheduler, cluster)
    kind = input_kind(input)
    code = None if code is None else str(code)
    if scheduler is None:  # on a cluster, the workers must find them (they say if they cannot)
        _check_model(model, code)
    disable = tuple(d for d in disable if d)
    settings = ChunkSettings(
        model=model,
        disable=disable,
        code=code,
        format=format,
        batch_size=batch_size,
        max_chars=max_chars,
        top_k=top_k,
        vector=vector,
    )
    manifest = {
        "input": input if kind == "stdin" else str(Path(input).resolve()),
        "input_size": _input_size(input, kind),
        "model": model,
        "disable": list(disable),
        "code": code,
        "format": format,
        "text_key": text_key,
        "chunk_size": chunk_size,
        "limit": limit,
        "max_chars": max_chars,
        "top_k": top_k,
        "vector": vector,
    }
    checkpoint = Checkpoint(output, format)
    checkpoint.prepare(manifest, resume=resume, overwrite=overwrite)
    summary = PipeSummary(output=output, rejects_path=str(checkpoint.rejects_path))

    items = iter_items(input, text_key=text_key, max_chars=max_chars)
    if limit:
        items = islice(items, limit)
    total = count_records(input)
    if limit:
        total = min(total, limit) if total is not None else None
    bar = _progress_bar(progress, total)
    backend = None
    rejected: Counter[str] = Counter()
    pending: deque = deque()

    def commit(k: int, n: int, reader_rejects: list[Reject], result: ChunkResult) -> None:
        rejects = sorted(reader_rejects + result.rejects, key=lambda r: r.index)
        checkpoint.write_chunk(k, result.data, [r.to_dict() for r in rejects])
        rejected.update(r.reason for r in rejects)
        summary.written += result.n_written
        summary.processed += n
        if bar is not None:
            bar.update(n)

    abort = True
    try:
        backend = _backend(settings, n_process, scheduler, n_local)
        for k, chunk in enumerate(_chunks(items, chunk_size)):
            summary.chunks += 1
            summary.read += len(chunk)
            if checkpoint.is_done(k):
                done = checkpoint.done_rejects(k)
                rejected.update(r["reason"] for r in done)
                summary.written += len(chunk) - len(done)
                summary.skipped_chunks += 1
                if bar is not None:
                    bar.update(len(chunk))
                continue
            records = [it for it in chunk if isinstance(it, Record)]
            reader_rejects = [it for it in chunk if isinstance(it, Reject)]
            pending.append((k, len(chunk), reader_rejects, backend.submit(records)))
            while len(pending) >= backend.max_in_flight:
                k0, n0, rej0, handle = pending.popleft()
                commit(k0, n0, rej0, _result(backend, handle))
        while pending:
            k0, n0, rej0, handle = pending.popleft()
            commit(k0, n0, rej0, _result(backend, handle))
        abort = False
    finally:
        if backend is not None:
            backend.close(abort=abort)
        if bar is not None:
            bar.close()
        if abort:
            checkpoint.discard_if_empty()
    checkpoint.finish(summary.chunks)
    summary.rejected = dict(sorted(rejected.items()))
    summary.seconds = time.perf_counter() - start
    return summary


def output_format(output: str, format: str | None = None) -> str:
    """The format of ``output``: its suffix says it (``.jsonl``: JSON lines, ``.spacy``: a
    folder of DocBin shards), and ``format``, when given, must agree; anything else is a
    :class:`PipeError` saying what to do."""
    if format is not None and format not in FORMATS:
        raise PipeError(f"format must be one of {', '.join(FORMATS)}, got {format!r}.")
    suffix = Path(output.rstrip("/\\")).suffix.lower()
    implied = {f".{name}": name for name in FORMATS}.get(suffix)
    if implied is None:
        raise PipeError(
            f"{output}: the output's name must end with .jsonl (JSON lines) or .spacy (a folder "
            f"of DocBin shards), not {suffix or 'no suffix'!r}; the format follows the name."
        )
    if format is not None and format != implied:
        raise PipeError(
            f"{output}: --format {format} disagrees with the output's name ({suffix} is "
            f"{implied}); rename the output or drop --format."
        )
    return implied


def _check_backend(n_process: int, scheduler: str | None, cluster: str | None) -> int:
    """Check the backend options; returns N of ``cluster="local:N"`` (0 otherwise)."""
    given = [
        name
        for name, on in (
            ("n_process > 1", n_process > 1),
            ("scheduler", scheduler is not None),
            ("cluster", cluster is not None),
        )
        if on
    ]
    if len(given) > 1:
        raise PipeError(
            f"{' and '.join(given)} exclude each other: give one of --n-process, --scheduler "
            "(an existing Dask cluster) or --cluster local:N (a Dask cluster for this run)."
        )
    if scheduler is None and cluster is None:
        return 0
    from .cluster import check_scheduler, import_distributed, parse_local

    n_local = 0
    if scheduler is not None:
        check_scheduler(scheduler)
    else:
        n_local = parse_local(cluster)
    import_distributed()
    return n_local


def _backend(settings: ChunkSettings, n_process: int, scheduler: str | None, n_local: int):
    if scheduler is not None or n_local:
        from .cluster import _Dask

        return _Dask(settings, scheduler=scheduler, n_local=n_local)
    return _InProcess(settings) if n_process == 1 else _Pool(settings, n_process)


def _input_size(input: str, kind: str) -> int | None:
    """Bytes of an input file, files in an input directory: a changed input refuses --resume."""
    if kind == "stdin":
        return None
    if kind == "dir":
        return count_records(input)
    return Path(input).stat().st_size


def _result(backend, handle) -> ChunkResult:
    try:
        return backend.result(handle)
    except KexueError:
        raise
    except Exception as err:  # e.g. the pipeline cannot load: say so without a traceback
        raise PipeError(f"the pipeline failed: {type(err).__name__}: {err}") from err


def _progress_bar(progress: bool | None, total: int | None):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="doc", dynamic_ncols=True, file=sys.stderr)
