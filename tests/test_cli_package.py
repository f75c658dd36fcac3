"""The ``kexue`` CLI as a package (spacy_kexue/cli/): one module per command group, each command
a thin wrapper over a function that can be imported and called without typer."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
import typer

from spacy_kexue.cli import app
from spacy_kexue.cli.explain import nearest
from spacy_kexue.cli.segment import segment
from spacy_kexue.errors import DataFileError
from spacy_kexue.ocr.train import augmenter_preset, training_fonts

COMMANDS = {
    "info": "info",
    "segment": "segment",
    "pipe": "pipe",
    "explain": "explain",
    "segmenter train": "segmenter",
    "segmenter prepare-raw": "segmenter",
    "textcat convert": "textcat",
    "textcat pretrain": "textcat",
    "vae evaluate": "vae",
    "vae sample": "vae",
    "vae reconstruct": "vae",
    "vae interpolate": "vae",
    "similar index": "similar",
    "similar query": "similar",
    "ocr train": "ocr",
    "ocr build-lm": "ocr",
    "ocr read": "ocr",
    "ocr evaluate": "ocr",
}


def test_every_command_lives_in_its_group_module():
    root = typer.main.get_command(app)
    found = {}
    for name, cmd in root.commands.items():
        for sub, subcmd in getattr(cmd, "commands", {name: cmd}).items():
            key = name if sub == name else f"{name} {sub}"
            found[key] = subcmd.callback.__module__
    assert found == {key: f"spacy_kexue.cli.{module}" for key, module in COMMANDS.items()}


def test_segment_is_callable_without_the_cli():
    nlp = spacy.blank("zh")  # characters
    assert list(segment(nlp, ["中国 人\n".encode(), b"\n"], "x.txt")) == ["中  国  人", ""]
    with pytest.raises(DataFileError, match="x.txt"):
        list(segment(nlp, [b"\xff\n"], "x.txt"))


def test_nearest_orders_by_cosine():
    class Doc:
        def __init__(self, vector):
            self._ = type("Underscore", (), {"vae_vector": np.asarray(vector, dtype=float)})

    docs = [Doc([1, 0]), Doc([0.9, 0.1]), Doc([0, 1])]
    assert [[j for j, _ in row] for row in nearest(docs, 2)] == [[1, 2], [0, 2], [1, 0]]
    assert nearest(docs[:1], 3) == [[]]


def test_ocr_train_options_raise_value_errors():
    assert augmenter_preset("none") is None
    with pytest.raises(ValueError, match="--augmenter must be one of"):
        augmenter_preset("wild")
    with pytest.raises(ValueError, match="Unknown font families"):
        training_fonts(["AR PL UKai"])
    with pytest.raises(ValueError, match="Unknown font families"):
        training_fonts(exclude=["Foo"])
