"""Nearest documents by document vector (spacy_kexue.vae.index) and ``kexue similar``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import spacy
from typer.testing import CliRunner

from spacy_kexue.cli import app
from spacy_kexue.corpus.similar import index_corpus
from spacy_kexue.errors import DataFileError
from spacy_kexue.vae.index import (
    IndexRecord,
    VectorIndex,
    model_identity,
    query_vectors,
    top_k,
    vae_fingerprint,
)
from tests.vae.test_component import TEXTS, make_nlp, train

runner = CliRunner()


def brute_force(queries, vectors, k, exclude_self=False):
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = q.astype(np.float64) @ v.T.astype(np.float64)
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


@pytest.mark.parametrize("n, k, block", [(50, 10, 1024), (50, 10, 7), (5, 10, 2), (300, 1, 64)])
def test_top_k_is_exact(n, k, block):
    rng = np.random.default_rng(n + k)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    queries = rng.standard_normal((13, 8)).astype(np.float32)
    ids, cosines = top_k(queries, vectors, k, block=block)
    expected_ids, expected = brute_force(queries, vectors, k)
    assert ids.shape == (13, min(k, n))
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(cosines, expected, atol=1e-6)
    assert np.all(np.diff(cosines, axis=1) <= 0)


def test_top_k_excluding_self_never_returns_the_query():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((40, 6)).astype(np.float32)
    ids, cosines = top_k(vectors, vectors, 5, exclude_self=True, block=9)
    assert not np.any(ids == np.arange(40)[:, None])
    np.testing.assert_array_equal(ids, brute_force(vectors, vectors, 5, exclude_self=True)[0])
    # k larger than the others: every other row, once
    ids, _ = top_k(vectors[:4], vectors[:4], 10, exclude_self=True)
    assert ids.shape == (4, 3)
    assert all(sorted(row) == sorted(set(range(4)) - {i}) for i, row in enumerate(ids.tolist()))


def test_top_k_orders_equal_cosines_by_id_and_handles_zero_rows():
    vectors = np.array([[1, 0], [2, 0], [0, 1], [0, 0]], dtype=np.float32)
    ids, cosines = top_k(np.array([[3, 0]], dtype=np.float32), vectors, 4)
    assert ids.tolist() == [[0, 1, 2, 3]]
    np.testing.assert_allclose(cosines, [[1, 1, 0, 0]], atol=1e-6)
    with pytest.raises(ValueError, match="same width"):
        top_k(np.zeros((2, 3)), np.zeros((4, 2)), 1)
    with pytest.raises(ValueError, match="exclude_self"):
        top_k(np.zeros((2, 2)), np.zeros((4, 2)), 1, exclude_self=True)


def small_index() -> VectorIndex:
    records = [IndexRecord("c.txt", i + 1, i, f"第{i}条") for i in range(4)]
    vectors = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    return VectorIndex(vectors, records, model="zh_test", model_version="1.2.3")


def test_index_round_trip_and_search(tmp_path):
    index = small_index()
    index.to_disk(tmp_path / "idx")
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert meta["count"] == 4 and meta["dim"] == 3 and meta["model"] == "zh_test"
    loaded = VectorIndex.from_disk(tmp_path / "idx")
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    assert loaded.records == index.records
    assert (loaded.model, loaded.model_version) == ("zh_test", "1.2.3")
    hits = loaded.search(np.array([1, 0.05, 0], dtype=np.float32), 2)
    assert [(r.line, round(c, 3)) for r, c in hits[0]] == [(1, 0.999), (2, 0.998)]


def test_index_needs_one_vector_a_record():
    with pytest.raises(ValueError, match="one vector a record"):
        VectorIndex(
            np.zeros((2, 3)), [IndexRecord("c.txt", 1, 0, "x")], model="m", model_version="1"
        )


def set_meta(folder, **fields) -> None:
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, **fields}))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "index.json").unlink(), r"index\.json: .*missing"),
        (lambda d: (d / "vectors.npy").unlink(), r"vectors\.npy: .*missing"),
        (
            lambda d: (d / "records.jsonl").write_text("{}\n"),
            r"records\.jsonl: SHA-256 checksum mismatch",
        ),
        (
            lambda d: (d / "index.json").write_text('{"format": "x"}'),
            r"not a spacy-kexue vector index",
        ),
        (lambda d: (d / "index.json").write_text("[1, 2"), r"index\.json: is not valid JSON"),
        (lambda d: set_meta(d, vae_sha256=7), r'index\.json: must give "vae_sha256" as a string'),
    ],
)
def test_a_damaged_index_names_the_file(tmp_path, damage, message):
    small_index().to_disk(tmp_path / "idx")
    damage(tmp_path / "idx")
    with pytest.raises(DataFileError, match=message):
        VectorIndex.from_disk(tmp_path / "idx")


def test_a_folder_that_is_not_an_index(tmp_path):
    with pytest.raises(DataFileError, match="index.json"):
        VectorIndex.from_disk(tmp_path)
    with pytest.raises(DataFileError, match="not an index folder"):
        VectorIndex.from_disk(tmp_path / "missing")


@pytest.fixture(scope="module")
def vae_nlp():
    nlp = make_nlp()
    train(nlp)
    return nlp


@pytest.fixture
def corpus(tmp_path):
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in TEXTS[:4]]
    lines.insert(2, "not json")
    lines.append(json.dumps({"label": 1}))
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_index_corpus_keeps_the_good_records_and_reports_the_bad(vae_nlp, corpus):
    index, rejects = index_corpus(vae_nlp, str(corpus))
    assert [r.text for r in index.records] == TEXTS[:4]
    assert [r.line for r in index.records] == [1, 2, 4, 5]
    assert [(r.line, r.reason) for r in rejects] == [(3, "invalid-json"), (6, "missing-text")]
    expected = np.stack([d._.vae_vector for d in vae_nlp.pipe(TEXTS[:4])])
    np.testing.assert_allclose(index.vectors, expected, atol=1e-6)
    assert (index.model, index.model_version) == ("zh_pipeline", vae_nlp.meta["version"])
    assert index.vae_sha256 == vae_fingerprint(vae_nlp) and len(index.vae_sha256) == 64
    # a text of the corpus is its own nearest neighbour
    hits = index.search(query_vectors(vae_nlp, index, [TEXTS[1]]), 1)
    assert hits[0][0][0].text == TEXTS[1] and hits[0][0][1] == pytest.approx(1.0, abs=1e-5)


def test_index_corpus_errors(vae_nlp, tmp_path):
    with pytest.raises(ValueError, match="no kexue_vae"):
        index_corpus(spacy.blank("zh"), str(tmp_path / "x.txt"))
    (tmp_path / "bad.jsonl").write_text("not json\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="no usable text"):
        index_corpus(vae_nlp, str(tmp_path / "bad.jsonl"))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"")
    with pytest.raises(DataFileError, match="holds images"):
        index_corpus(vae_nlp, str(tmp_path / "images"))


def test_query_refuses_another_pipeline(vae_nlp, corpus):
    index, _ = index_corpus(vae_nlp, str(corpus))
    other = VectorIndex(index.vectors, index.records, model="zh_other", model_version="9")
    with pytest.raises(ValueError, match="made with zh_other 9"):
        query_vectors(vae_nlp, other, ["好"])


def test_query_refuses_other_vae_weights_under_the_same_name(vae_nlp, corpus, tmp_path):
    index, _ = index_corpus(vae_nlp, str(corpus))
    index.to_disk(tmp_path / "idx")
    loaded = VectorIndex.from_disk(tmp_path / "idx")
    assert loaded.vae_sha256 == index.vae_sha256
    query_vectors(vae_nlp, loaded, ["好"])  # the pipeline that made it
    retrained = make_nlp()  # same name and version, other weights
    train(retrained, n_iter=3)
    assert model_identity(retrained) == model_identity(vae_nlp)
    with pytest.raises(ValueError, match="other VAE weights"):
        query_vectors(retrained, loaded, ["好"])
    # an index made by hand, without a fingerprint, is checked by name and version only
    by_hand = VectorIndex(
        index.vectors, index.records, model=index.model, model_version=index.model_version
    )
    assert query_vectors(retrained, by_hand, ["好"]).shape == (1, index.dim)


def test_the_commands(vae_nlp, corpus, tmp_path):
    vae_nlp.to_disk(tmp_path / "model")
    model = str(tmp_path / "model")
    out = tmp_path / "idx"
    result = runner.invoke(app, ["similar", "index", str(corpus), str(out), "--model", model])
    assert result.exit_code == 2, result.output  # two bad records
    assert "line 3: invalid-json" in result.output and "Indexed 4 documents" in result.output
    result = runner.invoke(
        app, ["similar", "query", str(out), TEXTS[2], "--model", model, "--top", "2"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"query: {TEXTS[2]}"
    assert lines[1].endswith(f"corpus.jsonl:4  {TEXTS[2]}") and lines[1].startswith("  +1.000")
    assert len(lines) == 3
    # the index names its pipeline: another one (here the default) is refused in one line
    result = runner.invoke(app, ["similar", "query", str(out), "好"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the index was made with zh_pipeline 0.0.0, not zh_")
    assert len(result.output.splitlines()) == 1
