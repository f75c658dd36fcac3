"""Public names of a package that load on first use, so that importing the package stays cheap.

A subpackage's ``__init__`` lists its public names and the submodule each comes from; the module
(and torch, PIL or spaCy with it) is imported only when the name is first looked up::

    __all__ = ["KexueSegmenter", "load_dictionary"]
    __getattr__, __dir__ = lazy_exports(__name__, {
        "KexueSegmenter": ".segmenter",
        "load_dictionary": ".dictionary",
    })
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` that imports ``exports[name]`` (relative to ``package``) on first
    use and a ``__dir__`` that lists the exported names."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(importlib.import_module(package), name, value)  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
