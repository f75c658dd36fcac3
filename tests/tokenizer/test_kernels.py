"""The segmenter's inference without torch's per-call overhead: the numpy CNN tagger
(:mod:`spacy_kexue.tokenizer.kernels`), the compiled loops (:mod:`spacy_kexue.tokenizer._loops`)
and the one-piece-at-a-time path give what the torch module and the batched path give."""

from __future__ import annotations

import json

import numpy as np
import pytest
import spacy

from spacy_kexue.tokenizer import kernels
from spacy_kexue.tokenizer._loops import segment_piece
from spacy_kexue.tokenizer.decode import viterbi
from spacy_kexue.tokenizer.pseudo_sentences import tag_lengths
from spacy_kexue.tokenizer.unigram import UnigramSegmenter

torch = pytest.importorskip("torch")

from spacy_kexue.tokenizer.nets import CNNTagger  # noqa: E402


def random_tagger(seed: int, *, width: int = 16, depth: int = 3, dilate: bool = True):
    torch.manual_seed(seed)
    module = CNNTagger(50, width=width, depth=depth, window=3, dilate=dilate, dropout=0.0)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(0.3 * torch.randn(param.shape))
        module.embed.weight[0] = 0.0  # padding
    return module.eval()


def torch_logprobs(module, rows: list[np.ndarray]) -> list[np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    with torch.inference_mode():
        out = module(torch.from_numpy(ids)).numpy()
    return [out[i, : len(row)] for i, row in enumerate(rows)]


@pytest.mark.parametrize("dilate", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_numpy_tagger_equals_the_torch_module(seed, dilate):
    module = random_tagger(seed, dilate=dilate)
    kernel = kernels.NumpyCNNTagger.from_module(module)
    rng = np.random.default_rng(seed)
    # ids 1..49 (1: unknown characters), lengths 1..40, several pieces per call
    rows = [rng.integers(1, 50, size=int(n)) for n in rng.integers(1, 41, size=12)]
    expected = torch_logprobs(module, rows)
    for got, want in zip(kernel(rows), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-5)
    # a piece alone gives what it gives among others (no piece reads another's characters);
    # up to float32 rounding, since BLAS may pick another kernel for another batch shape
    for row, want in zip(rows, kernel(rows), strict=True):
        np.testing.assert_allclose(kernel([row])[0], want, atol=1e-5, rtol=1e-6)


def test_numpy_tagger_on_pieces_of_text():
    module = random_tagger(7)
    kernel = kernels.NumpyCNNTagger.from_module(module)

    class Chars:  # the CharTable interface tag_pieces reads
        def ids(self, text):
            return np.asarray([1 + ord(c) % 49 for c in text], dtype=np.int64)

    pieces = ["天气很好", "我们", "去公园散步吧好不好"]
    logits, starts = kernel.tag_pieces(pieces, Chars())
    assert starts == [0, 4, 6] and logits.shape == (15, 4)
    expected = torch_logprobs(module, [Chars().ids(p) for p in pieces])
    for piece, start, want in zip(pieces, starts, expected, strict=True):
        np.testing.assert_allclose(logits[start : start + len(piece)], want, atol=1e-4)
    assert kernel.tag_pieces([], Chars())[0].shape == (0, 4)


def test_one_blas_thread_restores_the_thread_count():
    from threadpoolctl import threadpool_info

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    with kernels.one_blas_thread():
        inside = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert all(n == 1 for n in inside)
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


LEXICON = UnigramSegmenter(
    ["天气", "很", "好", "我们", "公园", "散步", "天", "气", "去", "公", "园"],
    [50, 80, 90, 60, 30, 20, 10, 5, 40, 3, 2],
)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("vote", [True, False])
def test_segment_piece_equals_the_batched_path(seed, vote):
    """Route, vote and Viterbi of one piece in one call = _add_dictionary_path + viterbi."""
    rng = np.random.default_rng(seed)
    alphabet = "天气很好我们去公园散步吧"
    piece = "".join(rng.choice(list(alphabet), size=int(rng.integers(2, 30))))
    logprobs = np.log(rng.dirichlet(np.ones(4), size=len(piece))).astype(np.float32)
    weight = float(rng.choice([0.5, 1.0, 4.0]))
    scores = logprobs[None].copy()
    if vote:
        tags = tag_lengths(np.asarray([len(w) for w in LEXICON.segment(piece)], dtype=np.int64))
        scores[0, np.arange(len(piece)), tags] += weight
    tags = viterbi(scores, np.asarray([len(piece)]))[0]
    cuts = [i for i in range(len(piece)) if tags[i] in (0, 3)] + [len(piece)]
    expected = [piece[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    got = segment_piece(piece, logprobs, LEXICON.route_table() if vote else None, weight)
    assert got == expected


# --- against the shipped weights ------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    if not spacy.util.is_package("zh_kexue_sm"):
        pytest.skip("zh_kexue_sm is not installed")
    return spacy.load("zh_kexue_sm")


SHIPPED_TEXTS = [
    "这家酒店服务很好，就是隔音太差。",
    "發貨很快，設备雖然舊了，但是當然能用。",  # traditional characters: unknown to the tagger
    "iPhone手机2023年12月发布，售价5999元！",
    "南京市长江大桥于1968年建成通车。",
    "é\u0301和好\u20e3的组合字符，還有😀表情。",  # combining marks take the batched path
    "一" * 300,  # longer than max_chunk
]


def texts_for(data_dir_or_none) -> list[str]:
    texts = list(SHIPPED_TEXTS)
    if data_dir_or_none is not None:
        path = data_dir_or_none / "sentiment" / "test.jsonl"
        with path.open(encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line, _ in zip(f, range(300), strict=False)]
    return texts


@pytest.fixture(scope="module")
def some_texts():
    from tests.conftest import data_path

    path = data_path()
    return texts_for(path if (path / "sentiment" / "test.jsonl").exists() else None)


def test_shipped_tokens_equal_the_torch_path(shipped, some_texts):
    """The shipped tagger through numpy and the compiled loops gives the same tokens as through
    its torch module and the batched Viterbi (the path before issue 20)."""
    tokenizer = shipped.tokenizer
    fast = [[t.text for t in tokenizer(text)] for text in some_texts]
    kernel = tokenizer._kernel
    assert kernel is not None
    try:
        tokenizer._kernel = None  # the torch module and the batched path
        slow = [[t.text for t in tokenizer(text)] for text in some_texts]
    finally:
        tokenizer._kernel = kernel
    assert fast == slow
    batched = [[t.text for t in doc] for doc in tokenizer.pipe(some_texts)]
    assert batched == fast


def test_shipped_components_grouped_by_length_equal_one_padded_batch(shipped, some_texts):
    """The textcat and the VAE run their nets over rows grouped by length on one thread: the
    cats, saliency and vectors equal one padded batch's within 1e-4."""
    from spacy_kexue.textcat.featurize import featurize
    from spacy_kexue.textcat.model import get_encoder
    from spacy_kexue.textcat.probe import _torch_net
    from spacy_kexue.vae.model import batch_ids, torch_net

    docs = list(shipped.pipe(some_texts, batch_size=64))
    textcat = shipped.get_pipe("textcat")
    encoder = get_encoder(textcat.model)
    attrs = encoder.attrs
    plain = [shipped.make_doc(text) for text in some_texts]
    batch = featurize(plain, attrs["vocab"], attrs["unit"], attrs["max_length"])
    with torch.inference_mode():
        features = _torch_net(encoder)(torch.from_numpy(batch.ids), torch.from_numpy(batch.lengths))
    probs = textcat.model.get_ref("output").predict(features.numpy())
    cats = np.asarray([[doc.cats[label] for label in textcat.labels] for doc in docs])
    np.testing.assert_allclose(cats, probs, atol=1e-4)
    vae = shipped.get_pipe("vae")
    ids, lengths = batch_ids(vae.model, plain)
    with torch.inference_mode():
        mu, _ = torch_net(vae.model).eval().encode(torch.from_numpy(ids), torch.from_numpy(lengths))
    vectors = np.asarray([doc._.vae_vector for doc in docs])
    np.testing.assert_allclose(vectors, mu.numpy(), atol=1e-4)
    singles = [shipped(text) for text in some_texts[:40]]
    for one, doc in zip(singles, docs, strict=False):
        np.testing.assert_allclose(one._.saliency, doc._.saliency, atol=1e-4)
        assert [t.text for t in one] == [t.text for t in doc]


def test_torch_threads_are_restored_after_inference(shipped):
    before = torch.get_num_threads()
    shipped("很好的一次购物体验")
    assert torch.get_num_threads() == before
