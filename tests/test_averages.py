"""``use_averages = true`` reaches the PyTorch modules (torch_util.AveragedTorchPipe).

thinc's optimizer keys a torch parameter as ``(shim.id, name)`` while ``PyTorchShim.use_params``
reads ``"pytorch_{id}_{name}"``: without the mixin only the thinc layers (the softmax) were
averaged and ``spacy train`` evaluated and saved the torch encoder's last weights."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
from spacy.training import Example
from thinc.api import Adam, fix_random_seed, torch2xp

from tests.textcat.conftest import make_examples, make_nlp
from tests.vae.test_component import SMALL as VAE
from tests.vae.test_component import TEXTS


def torch_state(pipe) -> dict[str, np.ndarray]:
    shim = next(s for node in pipe.model.walk() for s in node.shims)
    return {name: torch2xp(value).copy() for name, value in shim._model.state_dict().items()}


def trained_with_averages(nlp, examples, steps: int = 15) -> Adam:
    fix_random_seed(0)
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01, use_averages=True)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return optimizer


@pytest.fixture(scope="module")
def textcat_run():
    nlp = make_nlp()
    return nlp, trained_with_averages(nlp, make_examples(nlp))


def test_textcat_uses_the_averaged_torch_weights_and_restores_the_last(textcat_run):
    nlp, optimizer = textcat_run
    pipe = nlp.get_pipe("kexue_textcat")
    shim = next(s for node in pipe.model.walk() for s in node.shims)
    last = torch_state(pipe)
    with nlp.use_params(optimizer.averages):
        inside = torch_state(pipe)
    for name, value in inside.items():
        np.testing.assert_allclose(value, optimizer.averages[(shim.id, name)], rtol=1e-6)
    assert any(not np.array_equal(inside[name], last[name]) for name in last)
    after = torch_state(pipe)
    assert all(np.array_equal(after[name], last[name]) for name in last)


def test_a_pipeline_saved_under_the_averages_predicts_with_them(textcat_run, tmp_path):
    nlp, optimizer = textcat_run
    last = [doc.cats["POSITIVE"] for doc in nlp.pipe(TEXTS)]
    with nlp.use_params(optimizer.averages):  # what spacy train does for model-best
        averaged = [doc.cats["POSITIVE"] for doc in nlp.pipe(TEXTS)]
        nlp.to_disk(tmp_path / "model-best")
    reloaded = spacy.load(tmp_path / "model-best")
    scores = [doc.cats["POSITIVE"] for doc in reloaded.pipe(TEXTS)]
    # weights are stored as float16
    np.testing.assert_allclose(scores, averaged, atol=2e-3)
    assert max(abs(a - b) for a, b in zip(averaged, last, strict=True)) > 1e-2


def test_vae_averages_keep_its_batch_norm_statistics():
    nlp = spacy.blank("zh")
    nlp.add_pipe("kexue_vae", config={"model": VAE})
    examples = [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in TEXTS]
    optimizer = trained_with_averages(nlp, examples)
    pipe = nlp.get_pipe("kexue_vae")
    last = torch_state(pipe)
    buffers = [name for name in last if "running_" in name]
    assert buffers  # the strict load of the shim needs them filled in from the current state
    with nlp.use_params(optimizer.averages):
        inside = torch_state(pipe)
        vectors = [doc._.vae_vector for doc in nlp.pipe(TEXTS)]
    assert all(np.array_equal(inside[name], last[name]) for name in buffers)
    assert any(not np.array_equal(inside[n], last[n]) for n in last if n not in buffers)
    assert all(np.isfinite(v).all() for v in vectors)
