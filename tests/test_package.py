"""The installed package: import cost, entry points, the CLI, the default pipeline."""

import subprocess
import sys

import pytest
import spacy
from typer.testing import CliRunner

import spacy_kexue
from spacy_kexue.cli import app
from spacy_kexue.registry import registered_names, resolve

runner = CliRunner()


def _run(*code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *code], capture_output=True, text=True, timeout=300)


def test_import_is_cheap():
    proc = _run(
        "-c",
        "import sys, spacy_kexue; "
        "heavy = [m for m in ('torch', 'PIL') if m in sys.modules]; "
        "assert not heavy, heavy",
    )
    assert proc.returncode == 0, proc.stderr


def test_creating_a_zh_pipeline_stays_cheap():
    """spaCy imports every spacy_factories module when a Language is made: they must stay light.

    (thinc itself imports torch when it is installed, so only PIL and our model modules are checked.)
    """
    proc = _run(
        "-c",
        "import sys, spacy; spacy.blank('zh'); spacy.blank('en'); "
        "heavy = [m for m in sys.modules if m == 'PIL' or "
        "(m.startswith('spacy_kexue.') and m.rsplit('.', 1)[-1] in ('model', 'train'))]; "
        "assert not heavy, heavy",
    )
    assert proc.returncode == 0, proc.stderr


def test_version_matches_metadata():
    from importlib import metadata

    assert metadata.version("spacy-kexue") == spacy_kexue.__version__


def test_entry_points_resolve_through_spacy_registry():
    names = registered_names()
    for group, group_names in names.items():
        for name in group_names:
            assert callable(resolve(group, name)), (group, name)


def test_registered_names_are_versioned_or_plain_factories():
    for group, group_names in registered_names().items():
        for name in group_names:
            if group == "spacy_factories":
                assert "." not in name and name.startswith("kexue_"), name
            else:
                assert name.startswith("spacy_kexue.") and ".v" in name, name


def test_cli_help_and_version():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "info" in result.output
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert spacy_kexue.__version__ in result.output


def test_cli_info_lists_versions_and_names():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert f"spacy-kexue  {spacy_kexue.__version__}" in result.output
    assert f"spacy        {spacy.__version__}" in result.output
    for group_names in registered_names().values():
        for name in group_names:
            assert name in result.output
    assert "Default pipeline zh_kexue_sm:" in result.output


@pytest.mark.parametrize(
    "argv", [["-m", "spacy_kexue", "--help"], ["-m", "spacy_kexue", "--version"]]
)
def test_python_dash_m(argv):
    proc = _run(*argv)
    assert proc.returncode == 0, proc.stderr
    assert "kexue" in proc.stdout


def test_default_pipeline_is_installed_and_loads():
    nlp = spacy.load("zh_kexue_sm")
    assert nlp.lang == "zh"
    assert nlp.meta["requirements"][0] == f"spacy-kexue=={spacy_kexue.__version__}"
    text = "这家酒店服务很好，就是隔音太差。"
    assert nlp(text).text == text


def test_default_pipeline_splits_sentences():
    """doc.sents works (a sentencizer leads the pipeline); it changes no other annotation."""
    nlp = spacy.load("zh_kexue_sm")
    assert nlp.pipe_names[0] == "sentencizer"
    text = "这家酒店服务很好。就是隔音太差！下次还来吗？会的"
    doc = nlp(text)
    assert [s.text for s in doc.sents] == [
        "这家酒店服务很好。",
        "就是隔音太差！",
        "下次还来吗？",
        "会的",
    ]
    with nlp.select_pipes(disable=["sentencizer"]):
        plain = nlp(text)
    assert [t.text for t in plain] == [t.text for t in doc] and plain.cats == doc.cats
    assert [t._.saliency for t in plain] == [t._.saliency for t in doc]


def test_ci_runs_the_readme_test_command(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf8")
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf8")
    assert "<!-- test-command -->" in readme and "<!-- test-command -->" in ci
    assert "<!-- main-command -->" in readme


def test_a_wheel_carries_the_compiled_parts(tmp_path, repo_root):
    """A plain install (a wheel) carries the compiled loops: setup.py builds every .pyx."""
    import zipfile

    pytest.importorskip("Cython")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path), str(repo_root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = tmp_path.glob("spacy_kexue-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    sources = sorted((repo_root / "spacy_kexue").rglob("*.pyx"))
    assert sources
    for source in sources:
        module = source.relative_to(repo_root).with_suffix("").as_posix()
        assert any(n.startswith(module + ".") and n.endswith(".so") for n in names), module


def test_package_data_ships_the_ocr_reader():
    """A plain (non-editable) install must carry spacy_kexue/ocr/default: every file there
    matches a package_data pattern of setup.cfg."""
    import configparser
    import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg", encoding="utf-8")
    patterns = cfg["options.package_data"]
    package = root / "spacy_kexue" / "ocr"
    ocr_patterns = [p.strip() for p in patterns["spacy_kexue.ocr"].split(",")]
    files = [p for p in (package / "default").rglob("*") if p.is_file()]
    assert files
    for path in files:
        rel = path.relative_to(package).as_posix()
        # setuptools globs: "*" stays within one folder
        assert any(
            fnmatch.fnmatchcase(rel, p) and rel.count("/") == p.count("/") for p in ocr_patterns
        ), rel


def test_readme_main_command_runs(repo_root):
    """The README's main command, after its install step, runs on the installed pipeline and
    shows the sentiment, salient words, tokens and nearest neighbours."""
    import os
    import re

    readme = (repo_root / "README.md").read_text(encoding="utf8")
    block = re.search(r"<!-- main-command -->\s*```bash\n(.*?)\n```", readme, re.S)
    assert block, "no main-command block in README.md"
    *install, job = block.group(1).split(" && ")
    assert install and all(
        step.startswith(("pip install", "python -m pip install")) for step in install
    )
    assert "kexue" in job
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    proc = subprocess.run(
        job, shell=True, capture_output=True, text=True, timeout=300, env=env, cwd=repo_root
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^(POSITIVE|NEGATIVE) \d\.\d{3}  ", out, re.M)
    assert "top 5:" in out and out.count("nearest (") == 3
