"""``kexue_vae``: unsupervised training inside spaCy, vectors, similarity, serialization."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from tests.multiprocess import pipe_in_subprocess
from tests.shipped import shipped_pipe_names

TEXTS = ["这个很好", "非常满意", "太差了", "很失望", "质量不错", "不要买", "好吃好玩", "推荐购买"]
SMALL = {
    "@architectures": "spacy_kexue.TextVAE.v1",
    "width": 16,
    "enc_hidden": 16,
    "dec_hidden": 32,
    "latent": 4,
    "dropout": 0.0,
}


def make_nlp(**settings) -> Language:
    nlp = spacy.blank("zh")
    nlp.add_pipe("kexue_vae", config={"model": {**SMALL, **settings}})
    return nlp


def examples(nlp: Language, texts=TEXTS) -> list[Example]:
    return [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in texts]


def train(nlp: Language, n_iter: int = 40, seed: int = 0) -> list[float]:
    fix_random_seed(seed)
    egs = examples(nlp)
    nlp.initialize(lambda: egs)
    optimizer = Adam(0.01)
    history = []
    for _ in range(n_iter):
        losses: dict[str, float] = {}
        nlp.update(egs, sgd=optimizer, losses=losses)
        history.append(losses["kexue_vae"])
    return history


@pytest.fixture(scope="module")
def trained() -> Language:
    nlp = make_nlp()
    train(nlp)
    return nlp


def test_training_lowers_the_negative_elbo():
    history = train(make_nlp(), n_iter=60)
    assert history[-1] < 0.3 * history[0]


def test_scores_and_kl_floor(trained):
    scores = trained.evaluate(examples(trained))
    assert scores["vae_elbo"] == pytest.approx(-(scores["vae_rec"] + scores["vae_kl"]))
    assert scores["vae_rec"] > 0
    # bn_su: E[KL] >= d * tau / 2 = 1 holds for training batches; at inference (running
    # statistics) it stays well away from zero
    assert scores["vae_kl"] > 0.5
    assert scores["vae_au"] == 4


def test_vectors_and_similarity(trained):
    docs = list(trained.pipe(TEXTS))
    for doc in docs:
        assert doc._.vae_vector.dtype == np.float32 and doc._.vae_vector.shape == (4,)
    assert docs[0]._.vae_similarity(docs[0]) == pytest.approx(1.0)
    assert -1.0 <= docs[0]._.vae_similarity(docs[2]) <= 1.0
    with pytest.raises(ValueError, match="kexue_vae"):
        docs[0]._.vae_similarity(trained.make_doc("好"))


def test_spacy_vector_and_similarity_read_the_vae_vector(trained):
    import warnings

    docs = list(trained.pipe(TEXTS))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no W007/W008: the pipeline has a document vector
        for doc in docs:
            assert doc.has_vector
            np.testing.assert_array_equal(doc.vector, doc._.vae_vector)
        assert docs[0].similarity(docs[2]) == pytest.approx(docs[0]._.vae_similarity(docs[2]))
        assert docs[0].similarity(docs[0]) == pytest.approx(1.0)
        assert docs[0].vector_norm == pytest.approx(float(np.linalg.norm(docs[0]._.vae_vector)))
    with pytest.raises(ValueError, match="two Docs"):
        docs[0].similarity(docs[1][0])
    with pytest.raises(ValueError, match="kexue_vae"):
        docs[0].similarity(trained.make_doc("好"))
    back = pickle.loads(pickle.dumps(docs[0]))
    assert back.similarity(docs[2]) == pytest.approx(docs[0].similarity(docs[2]))
    # Doc.to_bytes does not keep user_hooks: the extension still works there
    restored = Doc(trained.vocab).from_bytes(docs[0].to_bytes())
    assert restored._.vae_similarity(docs[2]) == pytest.approx(docs[0].similarity(docs[2]))


def test_a_doc_gets_the_same_vector_alone_as_in_a_batch(trained):
    batch = list(trained.pipe(TEXTS, batch_size=8))
    for text, doc in zip(TEXTS, batch, strict=True):
        np.testing.assert_allclose(trained(text)._.vae_vector, doc._.vae_vector, atol=1e-6)


def test_empty_and_unknown_texts_get_vectors(trained):
    for text in ["", " ", "鑫淼"]:
        assert trained(text)._.vae_vector.shape == (4,)


def test_serialization_round_trips(trained, tmp_path):
    reference = [d._.vae_vector for d in trained.pipe(TEXTS)]
    again = make_nlp()
    again.from_bytes(trained.to_bytes())
    trained.to_disk(tmp_path / "vae")
    for nlp in (again, spacy.load(tmp_path / "vae"), pickle.loads(pickle.dumps(trained))):
        got = [d._.vae_vector for d in nlp.pipe(TEXTS)]
        np.testing.assert_allclose(np.stack(got), np.stack(reference), atol=0.02)  # float16 file


def test_vectors_survive_doc_bytes_and_docbin(trained):
    docs = list(trained.pipe(TEXTS))
    restored = Doc(trained.vocab).from_bytes(docs[0].to_bytes())
    np.testing.assert_array_equal(restored._.vae_vector, docs[0]._.vae_vector)
    data = DocBin(docs=docs, store_user_data=True).to_bytes()
    for doc, back in zip(docs, DocBin().from_bytes(data).get_docs(trained.vocab), strict=True):
        np.testing.assert_array_equal(back._.vae_vector, doc._.vae_vector)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocess_pipe(trained, tmp_path, method):
    trained.to_disk(tmp_path / "vae")
    view = """
    def view(docs):
        return [d._.vae_vector.tolist() for d in docs]
    """
    single, multi = pipe_in_subprocess(tmp_path / "vae", TEXTS, method, view, tmp_path)
    np.testing.assert_allclose(multi, single, atol=1e-6)


def test_bag_weight_variant_trains_and_round_trips(tmp_path):
    """bag_weight adds the bag-of-units term to the loss update() minimises; its head is saved
    and loaded with the rest, and the ELBO the scores report leaves it out."""
    from spacy_kexue.vae.model import torch_net

    nlp = make_nlp(bag_weight=1.0)
    history = train(nlp, n_iter=40)
    assert history[-1] < 0.5 * history[0]
    net = torch_net(nlp.get_pipe("kexue_vae").model)
    assert (
        net.bag_weight == 1.0
        and net.bag.weight.shape[0] == nlp.get_pipe("kexue_vae").model.attrs["n_vocab"]
    )
    scores = nlp.evaluate(examples(nlp))
    assert scores["vae_elbo"] == pytest.approx(-(scores["vae_rec"] + scores["vae_kl"]))
    nlp.to_disk(tmp_path / "bag")
    loaded = spacy.load(tmp_path / "bag")
    got = np.stack([d._.vae_vector for d in loaded.pipe(TEXTS)])
    np.testing.assert_allclose(got, np.stack([d._.vae_vector for d in nlp.pipe(TEXTS)]), atol=0.02)
    assert torch_net(loaded.get_pipe("kexue_vae").model).bag_weight == 1.0


def test_language_model_variant_has_no_vector_but_trains():
    nlp = make_nlp(latent=0)
    history = train(nlp, n_iter=30)
    assert history[-1] < history[0]
    assert nlp("很好")._.vae_vector.shape == (0,)
    assert nlp.evaluate(examples(nlp))["vae_kl"] == 0.0


def test_initialize_needs_text():
    nlp = make_nlp()
    with pytest.raises(ValueError, match="vocabulary"):
        nlp.initialize(lambda: examples(nlp, ["", " "]))


def test_forward_refuses_training_mode(trained):
    with pytest.raises(ValueError, match="update"):
        trained.get_pipe("kexue_vae").model.begin_update([trained.make_doc("好")])


@pytest.mark.parametrize("settings", [{"posterior": "bogus"}, {"unit": "byte"}, {"latent": -1}])
def test_bad_settings(settings):
    with pytest.raises(ValueError):
        make_nlp(**settings)


def test_update_without_optimizer_defers_the_step():
    """sgd=False or None (spaCy's gradient accumulation) leaves the weights alone until
    finish_update."""
    nlp = make_nlp()
    egs = examples(nlp)
    nlp.initialize(lambda: egs)
    vae = nlp.get_pipe("kexue_vae")
    net = vae.model.layers[0].shims[0]._model

    def weights() -> np.ndarray:
        return np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])

    before = weights()
    vae.update(egs, sgd=False)
    vae.update(egs, sgd=None)
    np.testing.assert_array_equal(weights(), before)
    vae.finish_update(Adam(0.01))
    assert not np.array_equal(weights(), before)


# --- the shipped pipeline -----------------------------------------------------------------------


@pytest.mark.skipif(
    "vae" not in shipped_pipe_names(),
    reason="zh_kexue_sm is not installed, or it has no vae component yet",
)
def test_shipped_pipeline_vectors():
    from spacy_kexue.vae.component import KexueVAE

    nlp = spacy.load("zh_kexue_sm")
    vae = nlp.get_pipe("vae")
    assert isinstance(vae, KexueVAE)
    texts = ["这个手机很好用，但是电池太差了", "手机很好用，电池不太行", "酒店的早餐很丰富", ""]
    docs = list(nlp.pipe(texts))
    vectors = np.stack([d._.vae_vector for d in docs])
    assert vectors.shape == (len(texts), vae.model.get_dim("nO"))
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(nlp(texts[0])._.vae_vector, vectors[0], atol=1e-5)
    # the two phone reviews are closer to each other than to the hotel one
    assert docs[0]._.vae_similarity(docs[1]) > docs[0]._.vae_similarity(docs[2])
