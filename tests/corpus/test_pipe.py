"""kexue pipe / spacy_kexue.corpus.run: formats, rejects, order, resume, workers, the CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.corpus import CheckpointError, PipeError, WorkerDiedError, run
from tests.conftest import skip_missing_fonts

from .conftest import COMPONENTS

TEXTS = ["我爱北京", "你好", "", "天安门上太阳升", "一二三", "四五", "六", "七八九十"]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_txt(path: Path, texts=TEXTS) -> Path:
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    return path


def test_jsonl_output(tmp_path, blank_model):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"text": "你好", "id": 1}\n{"text": 5}\n{"text": "再见", "id": 2, "meta": {"a": [1]}}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    summary = run(src, out, model=blank_model, chunk_size=2)
    assert read_jsonl(out) == [
        {
            "source": str(src),
            "line": 1,
            "index": 0,
            "text": "你好",
            "tokens": ["你", "好"],
            "context": {"id": 1},
        },
        {
            "source": str(src),
            "line": 3,
            "index": 2,
            "text": "再见",
            "tokens": ["再", "见"],
            "context": {"id": 2, "meta": {"a": [1]}},
        },
    ]
    assert read_jsonl(tmp_path / "out.jsonl.rejects.jsonl") == [
        {
            "index": 1,
            "source": str(src),
            "line": 2,
            "reason": "text-not-a-string",
            "detail": "'text' is int",
        }
    ]
    assert (summary.read, summary.written, summary.rejected) == (3, 2, {"text-not-a-string": 1})
    assert summary.chunks == 2 and not (tmp_path / "out.jsonl.parts").exists()


@pytest.mark.parametrize("name", ["in.txt", "in.txt.gz", "in.csv", "in.tsv.gz", "docs"])
def test_input_formats(tmp_path, blank_model, name):
    import gzip

    texts = ["你好", "再见", "一二"]
    path = tmp_path / name
    if name == "docs":
        path.mkdir()
        for i, t in enumerate(texts):
            (path / f"{i:02d}.txt").write_text(t, encoding="utf-8")
    else:
        sep = "\t" if ".tsv" in name else ","
        if ".txt" in name:
            data = "".join(t + "\n" for t in texts)
        else:
            data = f"text{sep}n\n" + "".join(f"{t}{sep}{i}\n" for i, t in enumerate(texts))
        raw = data.encode("utf-8")
        path.write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    out = tmp_path / "out.jsonl"
    summary = run(path, out, model=blank_model)
    records = read_jsonl(out)
    assert [r["text"] for r in records] == texts
    assert summary.written == 3 and not summary.rejected
    if ".csv" in name or ".tsv" in name:
        assert [r["context"] for r in records] == [{"n": str(i)} for i in range(3)]
        assert [r["line"] for r in records] == [2, 3, 4]
    elif name == "docs":
        assert [r["line"] for r in records] == [None] * 3
        assert records[0]["source"] == str(path / "00.txt")


def test_spacy_output(tmp_path, blank_model):
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    src = write_txt(tmp_path / "in.txt")
    out = tmp_path / "out.spacy"
    summary = run(src, out, model=blank_model, chunk_size=3, limit=7)
    shards = sorted(out.iterdir())
    assert [p.name for p in shards] == [
        "chunk-000000.spacy",
        "chunk-000001.spacy",
        "chunk-000002.spacy",
    ]
    docs = [d for p in shards for d in DocBin().from_disk(p).get_docs(Vocab())]
    assert [d.text for d in docs] == TEXTS[:7]
    assert docs[3].user_data["kexue"] == {
        "source": str(src),
        "line": 4,
        "index": 3,
        "context": None,
    }
    assert summary.written == 7


def test_max_chars_and_limit(tmp_path, blank_model):
    src = write_txt(tmp_path / "in.txt")
    summary = run(src, tmp_path / "out.jsonl", model=blank_model, max_chars=3, limit=5)
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["你好", "", "一二三"]
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [(r["line"], r["reason"]) for r in rejects] == [(1, "too-long"), (4, "too-long")]
    assert summary.rejected == {"too-long": 2}


def test_pipeline_error_rejects_the_record_only(tmp_path, fussy_model):
    src = write_txt(tmp_path / "in.txt", ["好", "坏了", "好好", "很坏"])
    summary = run(src, tmp_path / "out.jsonl", model=fussy_model, code=COMPONENTS, chunk_size=3)
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["好", "好好"]
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (2, "pipeline-error"),
        (4, "pipeline-error"),
    ]
    assert "refuses" in rejects[0]["detail"]
    assert summary.rejected == {"pipeline-error": 2}


def test_bad_settings(tmp_path, blank_model):

    src = write_txt(tmp_path / "in.txt")
    with pytest.raises(PipeError, match="chunk_size must be >= 1"):
        run(src, tmp_path / "out.jsonl", model=blank_model, chunk_size=0)
    with pytest.raises(PipeError, match="format must be one of"):
        run(src, tmp_path / "out.jsonl", model=blank_model, format="xml")
    with pytest.raises(PipeError, match="pipeline failed.*cannot disable no_such_pipe"):
        run(src, tmp_path / "out.jsonl", model=blank_model, disable=["no_such_pipe"])
    assert not (tmp_path / "out.jsonl.parts").exists()  # nothing finished: nothing kept


@pytest.mark.parametrize(
    "name, format, message",
    [
        ("out.xml", None, r"must end with \.jsonl .* or \.spacy .*not '\.xml'"),
        ("out", None, r"not 'no suffix'"),
        ("out.json", "jsonl", r"not '\.json'"),
        (
            "out.spacy",
            "jsonl",
            r"--format jsonl disagrees with the output's name \(\.spacy is spacy\)",
        ),
        ("out.jsonl", "spacy", r"--format spacy disagrees"),
    ],
)
def test_the_output_name_sets_the_format(tmp_path, blank_model, name, format, message):
    src = write_txt(tmp_path / "in.txt")
    with pytest.raises(PipeError, match=message):
        run(src, tmp_path / name, model=blank_model, format=format)
    assert list(tmp_path.iterdir()) == [src]  # nothing written


def test_format_agreeing_with_the_name_is_accepted(tmp_path, blank_model):
    from spacy_kexue.corpus.pipe import output_format

    assert output_format("a/out.JSONL") == "jsonl"
    assert output_format("a/out.spacy/", "spacy") == "spacy"
    src = write_txt(tmp_path / "in.txt")
    run(src, tmp_path / "out.jsonl", model=blank_model, format="jsonl")
    assert (tmp_path / "out.jsonl").exists()


def test_existing_output_refused(tmp_path, blank_model):
    src = write_txt(tmp_path / "in.txt")
    out = tmp_path / "out.jsonl"
    run(src, out, model=blank_model)
    before = out.read_bytes()
    with pytest.raises(CheckpointError, match="--resume.*--overwrite"):
        run(src, out, model=blank_model)
    with pytest.raises(CheckpointError, match="already complete"):
        run(src, out, model=blank_model, resume=True)
    run(src, out, model=blank_model, overwrite=True)
    assert out.read_bytes() == before


def interrupt_after(monkeypatch, n_chunks: int):
    """Make the in-process backend raise KeyboardInterrupt on chunk ``n_chunks`` (0-based)."""
    from spacy_kexue.corpus import pipe

    calls = []
    real = pipe.process_chunk

    def flaky(settings, records):
        calls.append(1)
        if len(calls) > n_chunks:
            raise KeyboardInterrupt
        return real(settings, records)

    monkeypatch.setattr(pipe, "process_chunk", flaky)


def test_interrupt_then_resume(tmp_path, blank_model, monkeypatch):
    src = write_txt(tmp_path / "in.txt")
    run(src, tmp_path / "ref.jsonl", model=blank_model, chunk_size=3)
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        with pytest.raises(KeyboardInterrupt):
            run(src, out, model=blank_model, chunk_size=3)
    parts = tmp_path / "out.jsonl.parts"
    assert sorted(p.name for p in parts.iterdir()) == [
        "chunk-000000.jsonl",
        "chunk-000000.rejects.jsonl",
        "chunk-000001.jsonl",
        "chunk-000001.rejects.jsonl",
        "manifest.json",
    ]
    assert not out.exists()
    with pytest.raises(CheckpointError, match="other settings.*chunk_size: 3 then, 2 now"):
        run(src, out, model=blank_model, chunk_size=2, resume=True)
    with pytest.raises(CheckpointError, match="other settings.*limit: 0 then, 5 now"):
        run(src, out, model=blank_model, chunk_size=3, limit=5, resume=True)
    with pytest.raises(CheckpointError, match="exists: pass --resume"):
        run(src, out, model=blank_model, chunk_size=3)
    summary = run(src, out, model=blank_model, chunk_size=3, resume=True)
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert (summary.skipped_chunks, summary.chunks, summary.processed) == (2, 3, 2)
    assert (summary.read, summary.written) == (8, 8)
    assert not parts.exists()


def test_changed_input_refuses_resume(tmp_path, blank_model, monkeypatch):
    src = write_txt(tmp_path / "in.txt")
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as m:
        interrupt_after(m, 1)
        with pytest.raises(KeyboardInterrupt):
            run(src, out, model=blank_model, chunk_size=3)
    write_txt(src, TEXTS + ["新的一行"])
    with pytest.raises(CheckpointError, match="input_size"):
        run(src, out, model=blank_model, chunk_size=3, resume=True)


def test_progress_bar(tmp_path, blank_model, capsys):
    src = write_txt(tmp_path / "in.txt")
    run(src, tmp_path / "out.jsonl", model=blank_model, progress=True)
    assert "8doc" in capsys.readouterr().err.replace(" ", "")


def test_n_process_keeps_order(tmp_path, blank_model):
    texts = [f"第{i}行文本" for i in range(40)]
    src = write_txt(tmp_path / "in.txt", texts)
    one = run(src, tmp_path / "one.jsonl", model=blank_model, chunk_size=3)
    two = run(src, tmp_path / "two.jsonl", model=blank_model, chunk_size=3, n_process=2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert [r["text"] for r in read_jsonl(tmp_path / "two.jsonl")] == texts
    assert one.written == two.written == 40


def test_dying_worker_fails_clearly(tmp_path, dying_model):
    src = write_txt(tmp_path / "in.txt", [f"第{i}行" for i in range(19)] + ["死"])
    out = tmp_path / "out.jsonl"
    started = time.monotonic()
    with pytest.raises(WorkerDiedError, match="worker process died.*--resume"):
        run(src, out, model=dying_model, code=COMPONENTS, n_process=2, chunk_size=2)
    assert time.monotonic() - started < 120
    parts = tmp_path / "out.jsonl.parts"
    done = sorted(p.name for p in parts.glob("chunk-*.jsonl") if "rejects" not in p.name)
    assert done == [f"chunk-{k:06d}.jsonl" for k in range(len(done))]  # a prefix, in order
    assert "chunk-000009.jsonl" not in done


def kexue(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "spacy_kexue", "pipe", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_cli_dying_worker_exit_1(tmp_path, dying_model):
    src = write_txt(tmp_path / "in.txt", [*TEXTS, "死"])
    proc = kexue(
        src, tmp_path / "out.jsonl", "-m", dying_model, "--code", COMPONENTS, "--n-process", "2"
    )
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 1
    assert "worker process died" in err and "--resume" in err
    assert "Traceback" not in err


def wait_for_parts(parts: Path, n: int, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            parts.exists()
            and len(list(parts.glob("chunk-*.jsonl")))
            - len(list(parts.glob("chunk-*.rejects.jsonl")))
            >= n
        ):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no parts appeared")


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(
    "sig,n_process",
    [
        (signal.SIGKILL, 1),
        pytest.param(signal.SIGKILL, 2, marks=pytest.mark.slow),
        (signal.SIGINT, 2),
    ],
)
def test_resume_after_kill_is_byte_identical(tmp_path, sleepy_model, sig, n_process):
    texts = [f"文本{i}" for i in range(24)]
    src = tmp_path / "in.txt"
    src.write_bytes("".join(t + "\n" for t in texts).encode() + b"\xff\n")  # + a reject
    common = ["-m", sleepy_model, "--code", COMPONENTS, "--chunk-size", "2"]
    env = {**os.environ, "KEXUE_TEST_SLEEP": "0.05"}
    ref = kexue(src, tmp_path / "ref.jsonl", *common, env=env)
    ref.communicate(timeout=180)
    assert ref.returncode == 2  # one reject
    out = tmp_path / "out.jsonl"
    args = [*common, "--n-process", str(n_process)]
    proc = kexue(src, out, *args, env=env)
    wait_for_parts(tmp_path / "out.jsonl.parts", 2, proc)
    workers = children(proc.pid)
    assert len(workers) >= n_process - 1  # the pool's workers (and a resource tracker)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "--resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30  # no worker outlives its parent
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in workers)
    assert not out.exists()
    again = kexue(src, out, *args, env=env)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 1 and "pass --resume" in err
    resumed = kexue(src, out, *args, "--resume", env=env)
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 2, err
    assert "chunks finished before" in err
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert (tmp_path / "out.jsonl.rejects.jsonl").read_bytes() == (
        tmp_path / "ref.jsonl.rejects.jsonl"
    ).read_bytes()
    assert [r["index"] for r in read_jsonl(out)] == list(range(24))
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_cli_stdin_and_exit_codes(tmp_path, blank_model):
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["pipe", "-", str(out), "-m", blank_model], input="你好\n再见\n")
    assert result.exit_code == 0, result.output
    assert [(r["source"], r["line"], r["text"]) for r in read_jsonl(out)] == [
        ("<stdin>", 1, "你好"),
        ("<stdin>", 2, "再见"),
    ]
    assert not (tmp_path / "out.jsonl.rejects.jsonl").exists()
    result = runner.invoke(
        app,
        ["pipe", "-", str(out), "-m", blank_model, "--overwrite", "--max-chars", "1"],
        input="你好\n再\n",
    )
    assert result.exit_code == 2
    assert "rejected 1 (too-long 1)" in result.output
    result = runner.invoke(
        app, ["pipe", str(tmp_path / "missing.txt"), str(tmp_path / "x.jsonl"), "-m", blank_model]
    )
    assert result.exit_code == 1 and "does not exist" in result.output
    result = runner.invoke(app, ["pipe", "-", str(tmp_path / "x.jsonl"), "-m", "no_such_model"])
    assert result.exit_code == 1 and "cannot find the pipeline" in result.output


def test_directory_of_images(tmp_path, blank_model):
    from PIL import Image

    from spacy_kexue.ocr.fonts import find_fonts
    from spacy_kexue.ocr.render import render_line

    fonts = find_fonts()
    if not fonts:
        skip_missing_fonts()
    folder = tmp_path / "scans"
    folder.mkdir()
    lines = ["中国人", "我们的"]
    for i, text in enumerate(lines):
        image, _ = render_line(text, fonts[0], font_px=32, padding=8)
        Image.fromarray(image).save(folder / f"{i}.png")
    (folder / "2.png").write_bytes(b"not a png")
    out = tmp_path / "out.jsonl"
    summary = run(folder, out, model=blank_model)
    records = read_jsonl(out)
    assert [r["source"] for r in records] == [str(folder / "0.png"), str(folder / "1.png")]
    assert [r["text"] for r in records] == lines
    assert [r["tokens"] for r in records] == [list(t) for t in lines]
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [(r["source"], r["reason"]) for r in rejects] == [
        (str(folder / "2.png"), "unreadable-image")
    ]
    assert summary.read == 3


def test_default_pipeline(tmp_path):
    pytest.importorskip("zh_kexue_sm")
    src = write_txt(tmp_path / "in.txt", ["这家酒店服务很好", "手机电池太差了"])
    out = tmp_path / "out.jsonl"
    run(src, out, model="zh_kexue_sm", top_k=2, vector=True)
    first = read_jsonl(out)[0]
    assert "".join(first["tokens"]) == "这家酒店服务很好"
    assert set(first["cats"]) == {"POSITIVE", "NEGATIVE"}
    assert len(first["salient"]) == 2 and all(tok in first["tokens"] for tok, _ in first["salient"])
    assert len(first["vector"]) > 0
