"""The package's shape (issue 19): public names per subpackage, cheap imports, one registration
rule, no import cycles, no module over 700 lines, nothing under vae/ importing textcat/."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_kexue.registry import registered_names

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_kexue"
SUBPACKAGES = [
    "spacy_kexue",
    *(f"spacy_kexue.{p.parent.name}" for p in sorted(PACKAGE.glob("*/__init__.py"))),
]
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the spacy_kexue modules it imports, lazy imports inside functions included
    (importing ``a.b.c`` also runs the ``__init__`` of ``a.b``, so that counts too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                parts = target.split(".")
                for i in range(1, len(parts) + 1):  # the target and every package above it
                    prefix = ".".join(parts[:i])
                    if prefix in modules and prefix != "spacy_kexue":
                        deps.add(prefix)
        deps.discard(name)
        # a package's own __init__ runs before its submodules: not an edge back up
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_vae_does_not_import_the_textcat():
    graph = import_graph()
    crossing = {
        (name, dep)
        for name, deps in graph.items()
        if name.startswith("spacy_kexue.vae")
        for dep in deps
        if dep.startswith("spacy_kexue.textcat")
    }
    assert crossing == set()


def test_parts_do_not_import_the_runner_or_the_cli():
    """readers, units and integrity sit below every part; the runner and the CLI above them."""
    graph = import_graph()
    top = ("spacy_kexue.corpus", "spacy_kexue.cli")
    upward = {
        (name, dep)
        for name, deps in graph.items()
        if not name.startswith(top) and name != "spacy_kexue.__main__"
        for dep in deps
        if dep.startswith(top)
    }
    assert upward == set()


def test_no_module_is_too_long():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_public_names_resolve(package):
    module = importlib.import_module(package)
    assert module.__all__, f"{package} lists no public names"
    for name in module.__all__:
        assert getattr(module, name) is not None, (package, name)
        assert name in dir(module)


def test_importing_the_subpackages_stays_cheap():
    code = (
        f"import sys\nfor p in {SUBPACKAGES!r}: __import__(p)\n"
        "print(','.join(m for m in ('torch', 'PIL', 'spacy', 'thinc') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_an_unknown_name_is_an_attribute_error():
    import spacy_kexue.tokenizer

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        spacy_kexue.tokenizer.nope  # noqa: B018


ENTRY_POINT_GROUPS = {  # entry-point group -> the catalogue namespace its decorator fills
    "spacy_architectures": ("spacy", "architectures"),
    "spacy_tokenizers": ("spacy", "tokenizers"),
    "spacy_misc": ("spacy", "misc"),
    "spacy_scorers": ("spacy", "scorers"),
    "spacy_factories": ("spacy", "internal_factories"),  # where Language.factory puts them
    "thinc_losses": ("thinc", "losses"),
}


def test_one_registration_rule_decorator_and_entry_point():
    """Every name in setup.cfg's entry points is also registered by a decorator on the function
    it points to: importing the entry point's module, with entry points never consulted, fills
    the registry (checked in a fresh interpreter, looking at catalogue's own table)."""
    from importlib import metadata

    dist = metadata.distribution("spacy-kexue")
    points = [ep for ep in dist.entry_points if ep.group in ENTRY_POINT_GROUPS]
    assert {ep.group for ep in points} == set(registered_names()) - {"spacy_models"}
    checks = "\n".join(
        f"importlib.import_module({ep.module!r})\n"
        f"assert catalogue.check_exists(*{ENTRY_POINT_GROUPS[ep.group]!r}, {ep.name!r}), {ep.name!r}"
        for ep in points
    )
    code = f"import importlib\nimport catalogue\nimport spacy\n{checks}\nprint('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
