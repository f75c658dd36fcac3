import pickle

import numpy as np
import pytest

from spacy_kexue.ocr.augment import BatchAugmenter
from spacy_kexue.ocr.charset import Charset
from spacy_kexue.ocr.fonts import FontSpec, ReservedFontError
from tests.imports import loaded_after

torch = pytest.importorskip("torch")

from spacy_kexue.ocr.model import (  # noqa: E402
    GlyphCNN,
    ModelFileError,
    Recognizer,
    build_glyph_cnn,
)
from spacy_kexue.ocr.train import (  # noqa: E402
    GlyphDataset,
    evaluate_glyphs,
    rank_class_weights,
    train_recognizer,
)
from tests.ocr.conftest import CHARS, SMALL  # noqa: E402


def random_glyphs(n, seed=0):
    return (np.random.default_rng(seed).random((n, 48, 48)) > 0.8).astype(np.uint8) * 255


@pytest.fixture(scope="module")
def charset():
    return Charset(CHARS)


@pytest.fixture(scope="module")
def font(fonts):
    return fonts[0]


@pytest.fixture(scope="module")
def trained(tiny_recognizer):
    """The overfitting run of conftest.py: 20 characters, one font, batch 32."""
    return tiny_recognizer


# --- network and recogniser -------------------------------------------------------------------


def test_glyph_cnn_shapes():
    net = build_glyph_cnn(3878)
    assert isinstance(net, GlyphCNN)
    net.eval()
    with torch.no_grad():
        out = net(torch.rand(5, 1, 48, 48))
    assert out.shape == (5, 3878)
    assert net.config() == {"n_classes": 3878, "width": 64, "hidden": 512, "dropout": 0.3}


def test_default_size_fits_budget():
    rec = Recognizer.build(Charset([chr(0x4E00 + i) for i in range(3900)]))
    assert len(rec.to_bytes()) <= 20_000_000


def test_recognizer_rejects_mismatched_net(charset):
    with pytest.raises(ValueError, match="outputs"):
        Recognizer(charset, build_glyph_cnn(len(charset) + 1, **SMALL))


def test_predict_probabilities_and_topk(charset):
    rec = Recognizer.build(charset, **SMALL)
    rec.batch_size = 4  # several batches
    glyphs = random_glyphs(10)
    probs = rec.predict(glyphs)
    assert probs.shape == (10, len(charset)) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    ids, top = rec.topk(glyphs, 3)
    assert ids.shape == top.shape == (10, 3)
    assert np.allclose(top, np.take_along_axis(probs, ids, axis=1))
    assert (np.diff(top, axis=1) <= 0).all()
    assert (ids[:, 0] == probs.argmax(axis=1)).all()
    assert rec.predict(np.zeros((0, 48, 48), np.uint8)).shape == (0, len(charset))


def test_predict_bad_input(charset):
    rec = Recognizer.build(charset, **SMALL)
    with pytest.raises(ValueError, match="shape"):
        rec.predict(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        rec.predict(np.zeros((2, 48, 48), np.float32))


# --- training -------------------------------------------------------------------------------


def test_rank_class_weights():
    w = rank_class_weights(3062)
    assert w.shape == (3062,) and abs(w.mean() - 1) < 1e-5
    assert (np.diff(w) < 0).all()
    assert w[0] / w[-1] == pytest.approx(8.0, rel=1e-2)


def test_dataset_deterministic_by_seed_and_step(charset, font):
    a = GlyphDataset(charset, [font], batch_size=8, seed=3)
    b = GlyphDataset(charset, [font], batch_size=8, seed=3)
    xa, ya = a.batch(0)
    xb, yb = b.batch(0)
    assert xa.shape == (8, 48, 48) and xa.dtype == np.uint8 and ya.dtype == np.int64
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    # batch 1 does not depend on having drawn batch 0
    assert np.array_equal(
        a.batch(1)[0],
        GlyphDataset(charset, [font], batch_size=8, seed=3, bank=a.bank).batch(1)[0],
    )
    assert not np.array_equal(a.batch(1)[0], xa)
    other = GlyphDataset(charset, [font], batch_size=8, seed=4, bank=a.bank)
    assert not np.array_equal(other.batch(0)[0], xa)


def test_trainer_refuses_reserved_font(charset, font):
    reserved = FontSpec(path="/usr/share/fonts/truetype/arphic/ukai.ttc", family="AR PL UKai")
    with pytest.raises(ReservedFontError):
        train_recognizer(
            charset, [reserved], steps=1, batch_size=2, seed=0, augmenter=None, log_every=1
        )
    renamed = FontSpec(path="/nonexistent/innocent.ttf", family="AR PL UKai")
    with pytest.raises(ReservedFontError):
        GlyphDataset(charset, [font, renamed])
    with pytest.raises(ReservedFontError):
        train_recognizer(
            charset,
            [font],
            steps=1,
            batch_size=2,
            seed=0,
            augmenter=None,
            log_every=1,
            eval_fonts=[renamed],
        )


def test_overfit_twenty_characters(trained, charset, font):
    rec, logs = trained
    assert [log["step"] for log in logs] == [40, 80, 120, 160]
    assert logs[-1]["loss"] < logs[0]["loss"]
    clean = evaluate_glyphs(rec, charset, [font], seed=11, n=300)
    noisy = evaluate_glyphs(rec, CHARS, [font], seed=12, n=300, augmenter=BatchAugmenter.method())
    assert clean >= 0.95, clean
    assert noisy >= 0.95, noisy
    assert not rec.net.training
    ids, _ = rec.topk(GlyphDataset(charset, [font], batch_size=20, seed=99).batch(0)[0], 1)
    assert ids.shape == (20, 1)


# --- serialisation -------------------------------------------------------------------------


def test_round_trips_give_same_predictions(trained, tmp_path):
    rec, _ = trained
    glyphs = random_glyphs(16, seed=5)
    ref = rec.predict(glyphs)
    from_bytes = Recognizer.from_bytes(rec.to_bytes())
    rec.to_disk(tmp_path / "rec")
    from_disk = Recognizer.from_disk(tmp_path / "rec")
    pickled = pickle.loads(pickle.dumps(rec))
    for other in (from_bytes, from_disk, pickled):
        assert other.charset == rec.charset
        assert other.net.config() == rec.net.config()
        assert np.allclose(other.predict(glyphs), ref, atol=2e-2)
        assert np.array_equal(other.predict(glyphs), from_bytes.predict(glyphs))
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == [
        "charset.json",
        "config.json",
        "weights.safetensors",
    ]


def test_tampered_weights_name_the_file(tmp_path, charset):
    rec = Recognizer.build(charset, **SMALL)
    rec.to_disk(tmp_path)
    weights = tmp_path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="weights.safetensors") as err:
        Recognizer.from_disk(tmp_path)
    assert "SHA-256" in str(err.value)
    weights.unlink()
    with pytest.raises(ModelFileError, match="weights.safetensors"):
        Recognizer.from_disk(tmp_path)


def test_model_file_errors_are_data_file_errors_naming_the_file(tmp_path, charset):
    import json

    import srsly

    from spacy_kexue.errors import DataFileError

    assert issubclass(ModelFileError, DataFileError)
    rec = Recognizer.build(charset, **SMALL)
    rec.to_disk(tmp_path)
    weights, config = tmp_path / "weights.safetensors", tmp_path / "config.json"
    weights.write_bytes(weights.read_bytes()[:-1])
    with pytest.raises(ModelFileError) as err:
        Recognizer.from_disk(tmp_path)
    assert err.value.path == weights and str(err.value).startswith(f"{weights}: ")
    # a config that records no checksum is refused too: the recogniser always required one
    config.write_text(
        json.dumps({k: v for k, v in json.loads(config.read_text()).items() if k != "sha256"})
    )
    with pytest.raises(ModelFileError, match="SHA-256") as err:
        Recognizer.from_disk(tmp_path)
    assert err.value.path == config
    config.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON") as err:
        Recognizer.from_disk(tmp_path)
    assert err.value.path == config
    # the bytes form is checked by the same function, with the same message
    msg = srsly.msgpack_loads(rec.to_bytes())
    msg["weights"] = msg["weights"][:-1] + bytes([msg["weights"][-1] ^ 0xFF])
    with pytest.raises(ModelFileError, match="recogniser bytes.*SHA-256 checksum mismatch"):
        Recognizer.from_bytes(srsly.msgpack_dumps(msg))
    with pytest.raises(ModelFileError, match="recogniser bytes: cannot be read"):
        Recognizer.from_bytes(b"\xc1 not msgpack")


def test_model_modules_not_imported_with_package():
    watched = ("torch", "spacy_kexue.ocr.model", "spacy_kexue.ocr.train")
    assert loaded_after("spacy_kexue, spacy_kexue.ocr", watched) == []


def test_training_deterministic_by_seed(charset, font):
    def run(seed):
        return train_recognizer(
            charset, [font], steps=3, batch_size=4, seed=seed, augmenter=None, log_every=10, **SMALL
        )

    glyphs = random_glyphs(4, seed=1)
    a, b, c = run(5), run(5), run(6)
    assert np.array_equal(a.predict(glyphs), b.predict(glyphs))
    assert not np.array_equal(a.predict(glyphs), c.predict(glyphs))


def test_training_continues_from_init(trained, charset, font):
    rec, _ = trained
    glyphs = GlyphDataset(charset, [font], batch_size=20, seed=7).batch(0)[0]
    before = rec.predict(glyphs)
    # one update at a tiny learning rate: close to the start, not a fresh network
    cont = train_recognizer(
        charset, [font], steps=1, batch_size=4, lr=1e-7, seed=3, init=rec, log_every=10
    )
    assert cont.net.config() == rec.net.config()
    assert np.abs(cont.predict(glyphs) - before).max() < 0.05
    assert np.array_equal(rec.predict(glyphs), before)  # the init itself is left alone
    with pytest.raises(ValueError, match="character set"):
        train_recognizer(Charset("的一"), [font], steps=1, batch_size=2, init=rec)
