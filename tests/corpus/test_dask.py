"""kexue pipe on Dask: a LocalCluster on loopback (``cluster="local:2"``) or an existing
scheduler (``scheduler="tcp://127.0.0.1:..."``): the same bytes as in-process, in input order,
resume, option checks, Ctrl-C, the CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.corpus import PipeError, WorkerDiedError, run

from .conftest import COMPONENTS
from .test_pipe import interrupt_after

distributed = pytest.importorskip("distributed")

TEXTS = [f"第{i}行文本" for i in range(30)] + ["", "天安门"]


def write_txt(path: Path, texts=TEXTS) -> Path:
    path.write_bytes("".join(t + "\n" for t in texts).encode("utf-8") + b"\xff\n")  # + a reject
    return path


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster of our own (2 single-threaded worker processes): its tcp:// address."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def reference(tmp_path_factory, blank_model):
    """The in-process run's output and rejects (chunk_size 3)."""
    folder = tmp_path_factory.mktemp("ref")
    src = write_txt(folder / "in.txt")
    out = folder / "ref.jsonl"
    run(src, out, model=blank_model, chunk_size=3)
    return src, out.read_bytes(), (folder / "ref.jsonl.rejects.jsonl").read_bytes()


def test_local_cluster_same_bytes_in_order(tmp_path, blank_model, reference):
    src, ref, ref_rejects = reference
    out = tmp_path / "out.jsonl"
    summary = run(src, out, model=blank_model, chunk_size=3, cluster="local:2")
    assert out.read_bytes() == ref
    assert (tmp_path / "out.jsonl.rejects.jsonl").read_bytes() == ref_rejects
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["text"] for r in records] == TEXTS
    assert [r["index"] for r in records] == list(range(len(TEXTS)))
    assert (summary.read, summary.written, summary.rejected) == (33, 32, {"invalid-utf8": 1})
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_existing_scheduler(tmp_path, blank_model, reference, scheduler):
    assert scheduler.startswith("tcp://127.0.0.1:")
    src, ref, _ = reference
    out = tmp_path / "out.jsonl"
    run(src, out, model=blank_model, chunk_size=3, scheduler=scheduler)
    assert out.read_bytes() == ref
    # the pipeline was loaded once per worker process, not per chunk
    from spacy_kexue.corpus import process

    def n_loaded():
        return sum(1 for key in process._CACHE if key[0] == "nlp")

    with distributed.Client(scheduler, set_as_default=False) as client:
        assert set(client.run(n_loaded).values()) <= {0, 1}
        assert sum(client.run(n_loaded).values()) >= 1


def test_interrupt_then_resume(tmp_path, blank_model, reference, scheduler, monkeypatch):
    """Ctrl-C after two chunks on Dask (futures cancelled, parts kept), then resume on Dask;
    and an interrupted in-process run resumed on Dask: the same bytes every way."""
    from spacy_kexue.corpus import cluster

    src, ref, ref_rejects = reference
    out = tmp_path / "out.jsonl"
    real = cluster._Dask.result
    calls = []

    def flaky(self, future):
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(self, future)

    with monkeypatch.context() as m:
        m.setattr(cluster._Dask, "result", flaky)
        with pytest.raises(KeyboardInterrupt):
            run(src, out, model=blank_model, chunk_size=3, scheduler=scheduler)
    parts = tmp_path / "out.jsonl.parts"
    done = sorted(p.name for p in parts.glob("chunk-*.jsonl") if "rejects" not in p.name)
    assert done == ["chunk-000000.jsonl", "chunk-000001.jsonl"]
    assert not out.exists()
    summary = run(src, out, model=blank_model, chunk_size=3, scheduler=scheduler, resume=True)
    assert (summary.skipped_chunks, summary.chunks) == (2, 11)
    assert out.read_bytes() == ref
    assert (tmp_path / "out.jsonl.rejects.jsonl").read_bytes() == ref_rejects

    # parts from an interrupted in-process run, finished on Dask
    out2 = tmp_path / "out2.jsonl"
    with monkeypatch.context() as m:
        interrupt_after(m, 4)
        with pytest.raises(KeyboardInterrupt):
            run(src, out2, model=blank_model, chunk_size=3)
    summary = run(src, out2, model=blank_model, chunk_size=3, scheduler=scheduler, resume=True)
    assert (summary.skipped_chunks, summary.processed) == (4, 33 - 12)
    assert out2.read_bytes() == ref


def test_bad_options(tmp_path, blank_model, monkeypatch):
    from spacy_kexue.corpus import cluster

    monkeypatch.setattr(cluster, "_CONNECT_TIMEOUT_S", 1.0)
    src = write_txt(tmp_path / "in.txt")
    out = tmp_path / "out.jsonl"
    cases = [
        ({"cluster": "local:2", "n_process": 2}, "n_process > 1 and cluster exclude"),
        (
            {"cluster": "local:2", "scheduler": "tcp://127.0.0.1:1"},
            "scheduler and cluster exclude",
        ),
        ({"scheduler": "tcp://127.0.0.1:1", "n_process": 2}, "n_process > 1 and scheduler"),
        ({"cluster": "local:0"}, "local:N"),
        ({"cluster": "remote"}, "local:N"),
        ({"scheduler": "127.0.0.1:8786"}, "tcp://HOST:PORT"),
    ]
    for kwargs, message in cases:
        with pytest.raises(PipeError, match=message):
            run(src, out, model=blank_model, **kwargs)
    with pytest.raises(PipeError, match="cannot connect to the Dask scheduler"):
        run(src, out, model=blank_model, scheduler="tcp://127.0.0.1:9")
    assert not (tmp_path / "out.jsonl.parts").exists() and not out.exists()


def test_without_dask(tmp_path, blank_model, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    src = write_txt(tmp_path / "in.txt")
    with pytest.raises(PipeError, match=r"spacy-kexue\[cluster\]"):
        run(src, tmp_path / "out.jsonl", model=blank_model, cluster="local:1")
    run(src, tmp_path / "out.jsonl", model=blank_model)  # the other backends need no dask


def test_model_missing_on_workers(tmp_path, scheduler):
    src = write_txt(tmp_path / "in.txt")
    with pytest.raises(PipeError, match="pipeline failed.*no_such_model"):
        run(src, tmp_path / "out.jsonl", model="no_such_model", scheduler=scheduler)
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_cli_local_cluster(tmp_path, blank_model):
    src = tmp_path / "in.txt"
    src.write_text("".join(f"第{i}行\n" for i in range(7)), encoding="utf-8")
    common = [str(src), "-m", blank_model, "--chunk-size", "2"]
    runner = CliRunner()
    result = runner.invoke(app, ["pipe", *common[:1], str(tmp_path / "ref.jsonl"), *common[1:]])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["pipe", str(src), str(out), *common[1:], "--cluster", "local:2"])
    assert result.exit_code == 0, result.output
    assert "wrote 7 docs" in result.output
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    args = ["pipe", str(src), str(tmp_path / "x.jsonl"), *common[1:], "--n-process", "2"]
    result = runner.invoke(app, [*args, "--cluster", "local:2"])
    assert result.exit_code == 1 and "exclude each other" in result.output


def test_dying_worker_fails_clearly(tmp_path, dying_model):
    """A task that kills its worker is retried (allowed-failures), then KilledWorker."""
    import dask

    src = tmp_path / "in.txt"
    src.write_text("".join(f"第{i}行\n" for i in range(6)) + "死\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with pytest.raises(WorkerDiedError, match="Dask workers died.*--resume"):
            run(src, out, model=dying_model, code=COMPONENTS, chunk_size=2, cluster="local:2")
    done = sorted(p.name for p in out.with_name("out.jsonl.parts").glob("chunk-00000[0-9].jsonl"))
    assert done == [f"chunk-{k:06d}.jsonl" for k in range(len(done))]  # a prefix, in order
    assert "chunk-000003.jsonl" not in done


def test_cli_ctrl_c_stops_the_local_cluster(tmp_path, sleepy_model):
    """SIGINT to the process group: exit 130, no worker traceback, no process left, resume."""
    import os
    import signal
    import time

    from .test_pipe import alive, children, kexue, wait_for_parts

    src = tmp_path / "in.txt"
    src.write_text("".join(f"文本{i}\n" for i in range(40)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = [src, out, "-m", sleepy_model, "--code", COMPONENTS, "--chunk-size", "2"]
    env = {**os.environ, "KEXUE_TEST_SLEEP": "0.05"}
    proc = kexue(*args, "--cluster", "local:2", env=env, start_new_session=True)
    wait_for_parts(tmp_path / "out.jsonl.parts", 2, proc)
    tree = children(proc.pid)
    tree += [p for c in tree for p in children(c)]
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process of the group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "KeyboardInterrupt" not in err and "Traceback" not in err
    deadline = time.monotonic() + 30
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in tree)
    resumed = kexue(*args, "--resume", env=env)
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    assert [json.loads(line)["index"] for line in out.read_text("utf-8").splitlines()] == list(
        range(40)
    )
