"""Loading a model directory from a stranger cannot run code, and damaged weights are refused.

Every weight file spacy-kexue writes (the tokenizer's ``model.safetensors``, the ``model`` of
``kexue_textcat`` and ``kexue_vae``, the OCR recogniser's ``weights.safetensors`` and the OCR
language model ``lm.npz``) is replaced by crafted content: a pickle whose unpickling creates a
marker file, a ``torch.save`` file carrying the same payload, a truncated file, tensors with the
wrong shape or dtype, a missing tensor. Each is tried with the recorded SHA-256 left as it was
(the checksum catches it) and with the checksum rewritten to match (as an attacker who controls
the whole directory would): loading must raise a ValueError subclass from spacy-kexue that names
the file, and the marker must not exist afterwards. ``test_the_payload_works_when_unpickled``
shows the payload does create the marker when something unpickles it, so the other tests can
fail.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import spacy
import srsly

from spacy_kexue.errors import KexueError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class Payload:
    """Unpickling this opens (creates) the marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "payload-ran"
    yield path
    assert not path.exists(), "the payload ran: something unpickled a model file"


def pickle_payload(marker: Path) -> bytes:
    return pickle.dumps({"weight": Payload(marker)})


def torch_payload(marker: Path) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save({"weight": Payload(marker)}, buffer)
    return buffer.getvalue()


def test_the_payload_works_when_unpickled(tmp_path):
    import torch

    marker = tmp_path / "control"
    pickle.loads(pickle_payload(marker))
    assert marker.exists()
    marker.unlink()
    torch.load(io.BytesIO(torch_payload(marker)), weights_only=False)
    assert marker.exists()


# --- crafted safetensors blobs -------------------------------------------------------------


def _tensors(blob: bytes) -> dict:
    from safetensors.torch import load

    return load(blob)


def _save(tensors: dict) -> bytes:
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in tensors.items()})


def _largest(tensors: dict) -> str:
    return max(
        (k for k in tensors if tensors[k].is_floating_point()), key=lambda k: tensors[k].numel()
    )


def wrong_shape(blob: bytes) -> bytes:
    import torch

    tensors = _tensors(blob)
    name = _largest(tensors)
    t = tensors[name]
    tensors[name] = torch.cat([t, t[:1]]) if t.dim() else t.reshape(1)
    return _save(tensors)


def wrong_dtype(blob: bytes) -> bytes:
    import torch

    tensors = _tensors(blob)
    name = _largest(tensors)
    tensors[name] = tensors[name].to(torch.int32)
    return _save(tensors)


def missing_tensor(blob: bytes) -> bytes:
    tensors = _tensors(blob)
    del tensors[_largest(tensors)]
    return _save(tensors)


def truncated(blob: bytes) -> bytes:
    return blob[: len(blob) // 2]


BLOB_CRAFTS = {
    "pickle": lambda blob, marker: pickle_payload(marker),
    "torch.save": lambda blob, marker: torch_payload(marker),
    "truncated": lambda blob, marker: truncated(blob),
    "empty": lambda blob, marker: b"",
    "wrong-shape": lambda blob, marker: wrong_shape(blob),
    "wrong-dtype": lambda blob, marker: wrong_dtype(blob),
    "missing-tensor": lambda blob, marker: missing_tensor(blob),
}


def assert_refused(excinfo, path: Path) -> None:
    err = excinfo.value
    assert isinstance(err, KexueError) and isinstance(err, ValueError), repr(err)
    assert str(path) in str(err), f"the error does not name {path}: {err}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the default pipeline ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped_dir() -> Path:
    if not spacy.util.is_package("zh_kexue_sm"):
        pytest.skip("zh_kexue_sm is not installed")
    root = spacy.util.get_package_path("zh_kexue_sm")
    return sorted(root.glob("zh_kexue_sm-*"))[-1]


@pytest.fixture(scope="module")
def scratch_nlp(shipped_dir):
    """A pipeline of this module's own, whose components the tests reload from crafted
    folders (a refused load may leave a component half-changed)."""
    return spacy.load(shipped_dir)


def _copy_component(shipped_dir: Path, name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(shipped_dir / name, folder)
    return folder


def _with_shim_state(model_bytes: bytes, craft) -> bytes:
    """thinc's msgpack ``model`` file with the PyTorch shim's state (safetensors) crafted."""
    msg = srsly.msgpack_loads(model_bytes)
    for shims in msg["shims"]:
        for i, shim_bytes in enumerate(shims):
            shim = srsly.msgpack_loads(shim_bytes)
            shim["state"] = craft(shim["state"])
            shims[i] = srsly.msgpack_dumps(shim)
    return srsly.msgpack_dumps(msg)


@pytest.mark.parametrize("component", ["textcat", "vae"])
@pytest.mark.parametrize("craft", sorted(BLOB_CRAFTS))
@pytest.mark.parametrize("checksum", ["kept", "rewritten"])
def test_trainable_pipe_refuses_crafted_weights(
    shipped_dir, scratch_nlp, tmp_path, marker, component, craft, checksum
):
    folder = _copy_component(shipped_dir, component, tmp_path)
    model = folder / "model"
    crafted = _with_shim_state(model.read_bytes(), lambda blob: BLOB_CRAFTS[craft](blob, marker))
    model.write_bytes(crafted)
    if checksum == "rewritten":
        (folder / "checksum.json").write_text(json.dumps({"model": sha256(crafted)}))
    with pytest.raises(ValueError) as excinfo:
        scratch_nlp.get_pipe(component).from_disk(folder, exclude=["vocab"])
    assert_refused(excinfo, model)
    if checksum == "kept":
        assert "checksum" in str(excinfo.value)


@pytest.mark.parametrize("component", ["textcat", "vae"])
@pytest.mark.parametrize("content", ["pickle", "truncated", "bit-flip"])
def test_trainable_pipe_refuses_a_damaged_folder(
    shipped_dir, scratch_nlp, tmp_path, marker, component, content
):
    folder = _copy_component(shipped_dir, component, tmp_path)
    model = folder / "model"
    data = model.read_bytes()
    if content == "pickle":
        model.write_bytes(pickle_payload(marker))
        (folder / "checksum.json").unlink()  # no checksum at all: the format still refuses it
    elif content == "truncated":
        model.write_bytes(truncated(data))
    else:
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x01
        model.write_bytes(bytes(flipped))
    with pytest.raises(ValueError) as excinfo:
        scratch_nlp.get_pipe(component).from_disk(folder, exclude=["vocab"])
    assert_refused(excinfo, model)


@pytest.mark.parametrize("component", ["tokenizer", "textcat", "vae"])
def test_spacy_load_of_a_crafted_pipeline_never_runs_the_payload(
    shipped_dir, tmp_path, marker, component
):
    """The whole path a user takes, spacy.load(DIR), with the checksum rewritten to match."""
    pipeline = tmp_path / "pipeline"
    shutil.copytree(shipped_dir, pipeline)
    payload = torch_payload(marker)
    if component == "tokenizer":
        weights = pipeline / "tokenizer" / "model.safetensors"
        weights.write_bytes(payload)
        cfg_path = pipeline / "tokenizer" / "cfg.json"
        cfg_path.write_text(
            json.dumps(dict(json.loads(cfg_path.read_text()), sha256=sha256(payload)))
        )
    else:
        weights = pipeline / component / "model"
        crafted = _with_shim_state(weights.read_bytes(), lambda blob: payload)
        weights.write_bytes(crafted)
        (pipeline / component / "checksum.json").write_text(json.dumps({"model": sha256(crafted)}))
    with pytest.raises(ValueError) as excinfo:
        spacy.load(pipeline)
    assert_refused(excinfo, weights)


@pytest.mark.parametrize("target", ["vocab/vectors", "vocab/key2row", "vocab/lookups.bin"])
def test_spacys_own_files_never_unpickle(shipped_dir, tmp_path, marker, target):
    """spaCy reads the vocab's arrays with numpy's allow_pickle=False and msgpack's numpy
    decoder, which refuses object arrays: a pickle hidden there is an error, never run."""
    pipeline = tmp_path / "pipeline"
    shutil.copytree(shipped_dir, pipeline)
    path = pipeline / target
    if target == "vocab/vectors":
        with path.open("wb") as f:
            np.save(f, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(
            srsly.msgpack_dumps(
                {
                    b"nd": True,
                    b"type": "|O",
                    b"kind": b"",
                    b"shape": [1],
                    b"data": pickle_payload(marker),
                }
            )
        )
    with pytest.raises(ValueError, match="allow_pickle|cannot create an OBJECT array|object"):
        spacy.load(pipeline)


# --- the OCR front end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ocr_default() -> Path:
    from spacy_kexue.ocr.reader import DEFAULT_MODEL_DIR

    return DEFAULT_MODEL_DIR


def _object_npz(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array([1]), chars=np.array([Payload(marker)], dtype=object))
    return buffer.getvalue()


# A flipped bit that the zip CRC does not cover is only caught by the checksum: that case is
# tried with the checksum kept only.
LM_CASES = [
    (content, checksum)
    for content in ("pickle", "object-npz", "truncated", "bit-flip")
    for checksum in ("kept", "rewritten", "absent")
    if content != "bit-flip" or checksum == "kept"
]


@pytest.mark.parametrize(("content", "checksum"), LM_CASES)
def test_ocr_reader_refuses_a_crafted_language_model(
    ocr_default, tmp_path, marker, content, checksum
):
    from spacy_kexue.ocr.reader import LM_CHECKSUM_KEY, OCRReader

    folder = tmp_path / "reader"
    shutil.copytree(ocr_default, folder)
    lm = folder / "lm.npz"
    data = lm.read_bytes()
    crafted = {
        "pickle": lambda: pickle_payload(marker),
        "object-npz": lambda: _object_npz(marker),
        "truncated": lambda: truncated(data),
        "bit-flip": lambda: data[:100] + bytes([data[100] ^ 0x01]) + data[101:],
    }[content]()
    lm.write_bytes(crafted)
    settings_file = folder / "reader.json"
    settings = json.loads(settings_file.read_text())
    if checksum == "rewritten":
        settings[LM_CHECKSUM_KEY] = sha256(crafted)
    elif checksum == "absent":
        del settings[LM_CHECKSUM_KEY]
    settings_file.write_text(json.dumps(settings))
    with pytest.raises(ValueError) as excinfo:
        OCRReader.from_disk(folder)
    assert_refused(excinfo, lm)


def test_the_shipped_checksums_match(shipped_dir, ocr_default):
    """Every shipped weight file has its SHA-256 recorded next to it, and it matches."""
    from spacy_kexue.ocr.reader import LM_CHECKSUM_KEY

    recorded = {
        shipped_dir / "tokenizer" / "model.safetensors": json.loads(
            (shipped_dir / "tokenizer" / "cfg.json").read_text()
        )["sha256"],
        ocr_default / "recognizer" / "weights.safetensors": json.loads(
            (ocr_default / "recognizer" / "config.json").read_text()
        )["sha256"],
        ocr_default / "lm.npz": json.loads((ocr_default / "reader.json").read_text())[
            LM_CHECKSUM_KEY
        ],
    }
    for component in ("textcat", "vae"):
        checksums = json.loads((shipped_dir / component / "checksum.json").read_text())
        recorded[shipped_dir / component / "model"] = checksums["model"]
    for path, digest in recorded.items():
        assert sha256(path.read_bytes()) == digest, path


# --- settings and other JSON beside the weights --------------------------------------------

DEEP = b"[" * 100_000  # a RecursionError inside json.loads
HUGE = b'{"a": ' + b"9" * 5_000 + b"}"  # a ValueError (int digits limit) inside json.loads
NOT_JSON = b"\x80\x04{"

# (what is loaded, the file changed, its new content)
SETTINGS_CASES = [
    *[
        (kind, file, content)
        for kind, file in [
            ("tokenizer", "settings.json"),
            ("tokenizer", "user_words.json"),
            ("tokenizer", "cfg.json"),
            ("tokenizer", "chars.json"),
            ("textcat", "cfg"),
            ("textcat", "checksum.json"),
            ("vae", "cfg"),
            ("saliency", "cfg.json"),
            ("recognizer", "config.json"),
            ("recognizer", "charset.json"),
            ("reader", "reader.json"),
        ]
        for content in (NOT_JSON, DEEP, HUGE)
    ],
    ("tokenizer", "settings.json", b"[]"),
    ("tokenizer", "settings.json", b'{"max_chunk": 0}'),
    ("tokenizer", "settings.json", b'{"batch_chars": "many"}'),
    ("tokenizer", "settings.json", b'{"number_units": 5}'),
    ("tokenizer", "user_words.json", b"[1]"),
    ("tokenizer", "user_words.json", b'{"a": 1}'),
    ("tokenizer", "user_words.json", b'["a b"]'),
    ("tokenizer", "cfg.json", b"[]"),
    ("tokenizer", "cfg.json", b'{"arch": "cnn"}'),
    ("tokenizer", "cfg.json", b'{"arch": "rnn", "settings": {}}'),
    ("textcat", "cfg", b"[1, 2]"),
    ("textcat", "checksum.json", b"{}"),
    ("vae", "cfg", b'"cfg"'),
    ("saliency", "cfg.json", b"[]"),
    ("saliency", "cfg.json", b'{"method": "magic"}'),
    ("saliency", "cfg.json", b'{"no_such_setting": 1}'),
    ("recognizer", "config.json", b"[]"),
    ("recognizer", "config.json", b"MERGE:settings:null"),
    ("recognizer", "config.json", b'MERGE:settings:"cnn"'),
    ("recognizer", "config.json", b'MERGE:settings:{"n_classes": "many"}'),
    ("reader", "reader.json", b'{"use_lm": true, "top_k": 0}'),
    ("reader", "reader.json", b'{"lm_sha256": 5}'),
    ("reader", "lm.npz", None),  # missing, while reader.json records its checksum
]


def _load(kind: str, folder: Path, nlp) -> None:
    from spacy_kexue.ocr.model import Recognizer
    from spacy_kexue.ocr.reader import OCRReader

    if kind == "tokenizer":
        nlp.tokenizer.from_disk(folder)
    elif kind in ("textcat", "vae", "saliency"):
        nlp.get_pipe(kind).from_disk(folder, exclude=["vocab"])
    elif kind == "recognizer":
        Recognizer.from_disk(folder)
    else:
        OCRReader.from_disk(folder)


def _folder(kind: str, shipped_dir: Path, ocr_default: Path, tmp_path: Path) -> Path:
    if kind == "reader":
        folder = tmp_path / "reader"
        shutil.copytree(ocr_default, folder)
    elif kind == "recognizer":
        folder = tmp_path / "recognizer"
        shutil.copytree(ocr_default / "recognizer", folder)
    else:
        # the tokenizer's lexicon.json (9 MB) is left out: reading it is slow and beside the point
        folder = _copy_component(shipped_dir, kind, tmp_path)
        (folder / "lexicon.json").unlink(missing_ok=True)
    return folder


@pytest.mark.parametrize(("kind", "file", "content"), SETTINGS_CASES)
def test_unusable_settings_are_refused_naming_the_file(
    shipped_dir, ocr_default, scratch_nlp, tmp_path, kind, file, content
):
    """Each JSON file beside the weights: not JSON, too deep for the parser, a number too big
    for it, the wrong type, or values the component cannot use. Refused with a spacy-kexue
    ValueError naming the file (the weights' folder for a config that does not fit them)."""
    folder = _folder(kind, shipped_dir, ocr_default, tmp_path)
    path = folder / file
    named = path if content in (NOT_JSON, DEEP, HUGE) or file.endswith("settings.json") else folder
    if content is None:
        path.unlink()
    elif content.startswith(b"MERGE:"):
        _, key, value = content.decode().split(":", 2)
        path.write_text(json.dumps(dict(json.loads(path.read_text()), **{key: json.loads(value)})))
    else:
        path.write_bytes(content)
    if file in ("cfg.json",) and kind == "tokenizer" and content not in (NOT_JSON, DEEP, HUGE):
        if content != b"[]":  # a config that passes its checksum, so the shape check is reached
            weights = (folder / "model.safetensors").read_bytes()
            path.write_text(json.dumps(dict(json.loads(content), sha256=sha256(weights))))
    with pytest.raises(ValueError) as excinfo:
        _load(kind, folder, scratch_nlp)
    assert_refused(excinfo, named)


# the weights file and the JSON that records its SHA-256 (as "sha256")
SAFETENSORS_FILES = {
    "tokenizer": ("model.safetensors", "cfg.json"),
    "recognizer": ("weights.safetensors", "config.json"),
}


@pytest.mark.parametrize("kind", sorted(SAFETENSORS_FILES))
@pytest.mark.parametrize("craft", sorted(BLOB_CRAFTS))
@pytest.mark.parametrize("checksum", ["kept", "rewritten"])
def test_safetensors_weights_refuse_crafted_content(
    shipped_dir, ocr_default, scratch_nlp, tmp_path, marker, kind, craft, checksum
):
    folder = _folder(kind, shipped_dir, ocr_default, tmp_path)
    weights_name, config_name = SAFETENSORS_FILES[kind]
    weights, config = folder / weights_name, folder / config_name
    crafted = BLOB_CRAFTS[craft](weights.read_bytes(), marker)
    weights.write_bytes(crafted)
    if checksum == "rewritten":
        config.write_text(json.dumps(dict(json.loads(config.read_text()), sha256=sha256(crafted))))
    with pytest.raises(ValueError) as excinfo:
        _load(kind, folder, scratch_nlp)
    assert_refused(excinfo, weights)


# --- one check for every part ----------------------------------------------------------------

WEIGHT_FILES = {
    "tokenizer": "model.safetensors",
    "textcat": "model",
    "vae": "model",
    "recognizer": "weights.safetensors",
    "reader": "lm.npz",
}


@pytest.mark.parametrize("kind", sorted(WEIGHT_FILES))
def test_every_part_refuses_a_changed_weight_file_with_the_one_message(
    shipped_dir, ocr_default, scratch_nlp, tmp_path, kind
):
    """Each part checks its weights with spacy_kexue.integrity: one flipped bit gives the same
    DataFileError (or subclass), naming the file, with the recorded and the actual digest."""
    from spacy_kexue.errors import DataFileError

    folder = _folder(kind, shipped_dir, ocr_default, tmp_path)
    path = folder / WEIGHT_FILES[kind]
    data = bytearray(path.read_bytes())
    recorded = sha256(bytes(data))
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError) as excinfo:
        _load(kind, folder, scratch_nlp)
    assert excinfo.value.path == path
    assert str(excinfo.value).startswith(
        f"{path}: SHA-256 checksum mismatch (recorded {recorded}, the file hashes to "
        f"{sha256(bytes(data))})"
    )
