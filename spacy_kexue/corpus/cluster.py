"""The Dask backend of ``kexue pipe``: chunks run on the workers of a ``dask.distributed`` cluster.

``run(..., scheduler="tcp://HOST:PORT")`` connects to a running cluster; ``run(...,
cluster="local:N")`` starts a ``LocalCluster`` of N single-threaded worker processes on
loopback for the run and closes it after. Each chunk is one task,
``client.submit(process_chunk, settings, records, pure=False)``; at most twice as many chunks
as the cluster has worker threads are in flight, and results are taken in input order, so the
main process writes the checkpoint and the output exactly as the other backends do (resume
works the same, across backends too).

The workers need spacy-kexue (the same version) and must be able to load the pipeline: give
an installed package name (installed on every worker) or a path every worker can read (a
shared file system); the same for ``code``. Each worker process loads the pipeline once, on
its first chunk (:func:`~spacy_kexue.corpus.process.load_pipeline` caches it per process).

dask is imported only here, only when a Dask run starts (the ``cluster`` extra:
``pip install 'spacy-kexue[cluster]'``).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

from .errors import PipeError, WorkerDiedError
from .process import ChunkResult, ChunkSettings, process_chunk

_LOCAL = re.compile(r"^local:(\d+)$")
_WAIT_FOR_WORKERS_S = 60.0
_CONNECT_TIMEOUT_S = 30.0


def parse_local(cluster: str) -> int:
    """N from ``"local:N"`` (N >= 1), else :class:`PipeError`."""
    match = _LOCAL.match(cluster.strip())
    if not match or int(match.group(1)) < 1:
        raise PipeError(f"cluster must be 'local:N' with N >= 1 worker processes, got {cluster!r}.")
    return int(match.group(1))


def check_scheduler(scheduler: str) -> None:
    if "://" not in scheduler:
        raise PipeError(
            f"scheduler must be a Dask scheduler address like tcp://HOST:PORT, got {scheduler!r}."
        )


def import_distributed():
    """The ``distributed`` module, or a :class:`PipeError` naming the extra to install."""
    try:
        import distributed
    except ImportError as err:
        raise PipeError(
            f"the Dask backend needs dask.distributed ({err}): pip install 'spacy-kexue[cluster]'."
        ) from None
    return distributed


def _absolute(path: str | None, *, package_ok: bool) -> str | None:
    """A local relative path made absolute (workers may have another working directory)."""
    if path is None:
        return None
    if package_ok:
        from spacy.util import is_package

        if is_package(path):
            return path
    return str(Path(path).resolve()) if Path(path).exists() else path


class _IgnoreSigint:
    """Ignore Ctrl-C while the local workers are started: they inherit SIG_IGN (Python keeps
    an ignored SIGINT ignored), so Ctrl-C reaches the main process only, which stops them."""

    def __enter__(self):
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)


class _Dask:
    """Chunks as tasks on a Dask cluster (an existing one, or a LocalCluster of our own)."""

    def __init__(self, settings: ChunkSettings, *, scheduler: str | None = None, n_local: int = 0):
        distributed = import_distributed()
        self.settings = replace(
            settings,
            model=_absolute(settings.model, package_ok=True),
            code=_absolute(settings.code, package_ok=False),
        )
        self.cluster = None
        self.client = None
        self.futures: set = set()
        self._threads = 0
        self._checked = float("-inf")
        try:
            if scheduler is None:
                with _IgnoreSigint():
                    self.cluster = distributed.LocalCluster(
                        n_workers=n_local,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        # no dashboard; its HTTP server (health checks) on a free loopback port
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    )
                self.address = self.cluster.scheduler_address
                self.client = distributed.Client(self.cluster, set_as_default=False)
            else:
                self.address = scheduler
                try:
                    self.client = distributed.Client(
                        scheduler, set_as_default=False, timeout=_CONNECT_TIMEOUT_S
                    )
                except (OSError, TimeoutError) as err:
                    raise PipeError(
                        f"cannot connect to the Dask scheduler {scheduler}: {err}"
                    ) from None
            try:
                self.client.wait_for_workers(1, timeout=_WAIT_FOR_WORKERS_S)
            except (OSError, TimeoutError):
                raise PipeError(
                    f"no Dask worker joined the scheduler {self.address} within "
                    f"{_WAIT_FOR_WORKERS_S:.0f} s: start some with `dask worker {self.address}`."
                ) from None
        except BaseException:
            self.close(abort=True)
            raise

    @property
    def max_in_flight(self) -> int:
        """2 x the cluster's worker threads (re-read every few seconds: workers come and go)."""
        now = time.monotonic()
        if now - self._checked > 5.0:
            try:
                self._threads = sum(self.client.nthreads().values())
            except Exception:  # the scheduler is gone: result() says so
                pass
            self._checked = now
        return 2 * max(1, self._threads)

    def submit(self, records):
        future = self.client.submit(process_chunk, self.settings, records, pure=False)
        self.futures.add(future)
        return future

    def result(self, future) -> ChunkResult:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker
        from distributed.comm import CommClosedError

        try:
            return future.result()
        except KilledWorker as err:
            raise WorkerDiedError(
                f"Dask workers died running a chunk ({err}; killed, out of memory, or exited, "
                "on every retry); finished chunks are kept, re-run with --resume (a smaller "
                "--chunk-size or workers with more memory may help)."
            ) from None
        except (CancelledError, CommClosedError) as err:
            raise WorkerDiedError(
                f"lost the Dask scheduler {self.address} ({type(err).__name__}: {err}); "
                "finished chunks are kept, re-run with --resume."
            ) from None
        finally:
            self.futures.discard(future)

    def close(self, *, abort: bool = False) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        try:
            if client is not None:
                if abort and self.futures:
                    try:
                        client.cancel(list(self.futures), force=True)
                    except Exception:
                        pass
                self.futures.clear()
                client.close()
        finally:
            if cluster is not None:
                cluster.close()
