"""Pipelines saved by earlier releases still load and still give the same outputs.

``tests/fixtures/compat/zh_kexue_<version>`` is a toy pipeline with every part of zh_kexue_sm,
saved by that release with ``tests/fixtures/build_compat_pipeline.py``, with the outputs it gave
then (``expected.json``). A change that breaks loading (a renamed factory or registered name, a
changed file format) or silently changes what a saved model computes fails here.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import spacy

pytest.importorskip("torch")

COMPAT = Path(__file__).parent / "fixtures" / "compat"
SAVED = sorted(p for p in COMPAT.iterdir() if p.is_dir())
TOL = 1e-3


def test_there_is_a_saved_pipeline():
    assert SAVED, f"no saved pipelines in {COMPAT}"


@pytest.mark.parametrize("folder", SAVED, ids=[p.name for p in SAVED])
def test_saved_pipeline_loads_and_gives_the_same_outputs(folder):
    expected = json.loads((folder / "expected.json").read_text("utf-8"))
    nlp = spacy.load(folder)
    assert nlp.pipe_names == ["kexue_textcat", "kexue_saliency", "kexue_vae"]
    assert nlp.meta["version"] == expected["version"]
    probes = expected["probes"]
    for doc, want in zip(nlp.pipe([p["text"] for p in probes]), probes, strict=True):
        assert doc.text == want["text"]
        assert [t.text for t in doc] == want["tokens"]
        assert doc.cats.keys() == want["cats"].keys()
        for label, score in want["cats"].items():
            assert doc.cats[label] == pytest.approx(score, abs=TOL)
        assert np.allclose([t._.saliency for t in doc], want["saliency"], atol=TOL)
        assert np.allclose(doc._.vae_vector, want["vae_vector"], atol=TOL)
