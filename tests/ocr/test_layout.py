"""Tests of the registered projection layout (spacy_kexue.ocr.layout): its builders, its two
replaceable stages, pickling, and the names it re-exports from the step modules.

The steps have their own tests: test_boxes.py, test_ink.py, test_lines.py, test_chars.py.
"""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

from spacy_kexue.ocr.layout import (
    Box,
    LayoutError,
    ProjectionLayout,
    build_projection_layout,
)
from tests.ocr.drawing import draw


def test_builder_defaults_are_the_layout_defaults():
    built = build_projection_layout()
    assert isinstance(built, ProjectionLayout)
    builder = inspect.signature(build_projection_layout).parameters
    cls = inspect.signature(ProjectionLayout).parameters
    assert list(builder) == list(cls)
    for name, param in builder.items():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        assert param.default == cls[name].default, name
        assert param.annotation != inspect.Parameter.empty, name
    assert vars(build_projection_layout(cjk_max_width=1.05))["cjk_max_width"] == 1.05
    with pytest.raises(LayoutError, match="grey_method"):
        ProjectionLayout(grey_method="sepia")


def test_registered_builder_resolves_from_a_config():
    from spacy.util import registry
    from thinc.api import Config

    name = "spacy_kexue.ProjectionLayout.v1"
    if name not in registry.misc:  # entry point not installed yet: register for the test
        name = "spacy_kexue.test_layout.ProjectionLayout.v1"
        registry.misc.register(name, func=build_projection_layout)
    cfg = Config().from_str(f'[layout]\n@misc = "{name}"\nspace_gap = 0.3\n')
    layout = registry.resolve(cfg)["layout"]
    assert isinstance(layout, ProjectionLayout) and layout.space_gap == 0.3


def test_layout_and_lines_pickle(layout):
    img, _ = draw(["北京"])
    lines = layout(img)
    clone = pickle.loads(pickle.dumps(layout))
    assert repr(clone) == repr(layout)
    assert clone(img) == lines
    assert pickle.loads(pickle.dumps(lines)) == lines


def test_both_stages_are_registered_and_replaceable():
    from spacy.util import registry
    from thinc.api import Config

    from spacy_kexue.ocr.layout import (
        ProjectionChars,
        ProjectionLines,
        build_projection_chars,
        build_projection_lines,
    )

    ink = np.zeros((40, 120), dtype=bool)
    ink[5:15, 10:20] = ink[5:15, 30:40] = ink[25:35, 10:20] = True
    default = ProjectionLayout()(ink)
    assert len(default) == 2 and [len(line.chars) for line in default] == [2, 1]
    # a line finder that sees one line only, a splitter that keeps each line whole
    one_line = ProjectionLayout(line_finder=lambda mask: [Box(0, 0, 120, 20)])
    assert len(one_line(ink)) == 1
    whole = ProjectionLayout(
        char_splitter=lambda crop: ([Box(0, 0, crop.shape[1], crop.shape[0])], [False], 10.0)
    )
    assert [len(line.chars) for line in whole(ink)] == [1, 1]
    # the built-in stages are the registered ones, with the same defaults
    assert isinstance(ProjectionLayout().line_finder, ProjectionLines)
    assert vars(build_projection_chars()) == vars(ProjectionLayout().char_splitter)
    assert vars(build_projection_lines(merge_gap=0.5)) == vars(
        ProjectionLayout(merge_gap=0.5).line_finder
    )
    names = {
        "spacy_kexue.ProjectionLayout.v1": build_projection_layout,
        "spacy_kexue.ProjectionLines.v1": build_projection_lines,
        "spacy_kexue.ProjectionChars.v1": build_projection_chars,
    }
    for name, func in names.items():
        if name not in registry.misc:  # entry points not installed yet: register for the test
            registry.misc.register(name, func=func)
    cfg = Config().from_str(
        '[layout]\n@misc = "spacy_kexue.ProjectionLayout.v1"\n\n'
        '[layout.char_splitter]\n@misc = "spacy_kexue.ProjectionChars.v1"\nspace_gap = 0.4\n\n'
        '[layout.line_finder]\n@misc = "spacy_kexue.ProjectionLines.v1"\nmin_height = 3\n'
    )
    layout = registry.resolve(cfg)["layout"]
    assert layout.char_splitter.space_gap == 0.4 and layout.line_finder.min_height == 3
    assert [len(line.chars) for line in layout(ink)] == [2, 1]
    with pytest.raises(LayoutError, match="cjk_min_width"):
        ProjectionChars(cjk_min_width=2.0, cjk_max_width=1.0)


def test_layout_reexports_the_names_of_the_step_modules():
    from spacy_kexue.ocr import boxes, chars, ink, layout, lines

    homes = {
        boxes: ("Box", "Line", "LayoutError"),
        ink: ("to_grey", "binarize", "despeckle"),
        lines: ("find_lines",),
        chars: ("split_chars", "estimate_char_height"),
    }
    for module, names in homes.items():
        for name in names:
            assert name in layout.__all__ and name in module.__all__
            assert getattr(layout, name) is getattr(module, name), name


@pytest.mark.parametrize(
    "name,builder",
    [
        ("spacy_kexue.ProjectionLayout.v1", "build_projection_layout"),
        ("spacy_kexue.ProjectionLines.v1", "build_projection_lines"),
        ("spacy_kexue.ProjectionChars.v1", "build_projection_chars"),
    ],
)
def test_builders_are_registered_by_their_decorators(name, builder):
    """Registered on import (decorator), not only through the setup.cfg entry points."""
    import catalogue
    from spacy.util import registry

    from spacy_kexue.ocr import layout

    func = getattr(layout, builder)
    assert catalogue._get([*registry.misc.namespace, name]) is func
    assert registry.misc.get(name) is func
