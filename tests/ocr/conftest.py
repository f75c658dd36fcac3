import pytest

from spacy_kexue.ocr.fonts import find_fonts
from tests.conftest import skip_missing_fonts


@pytest.fixture(scope="session")
def fonts():
    """The allowed training fonts installed here; tests needing one skip when there is none."""
    specs = find_fonts()
    if not specs:
        skip_missing_fonts()
    return specs


#: The overfitting run's characters and network size (tests/ocr/test_model.py, test_reader.py).
CHARS = "的一是在不了有和人这中大为上个国我以要他"
SMALL = {"width": 16, "hidden": 128}


@pytest.fixture(scope="session")
def tiny_recognizer(fonts):
    """The overfitting run: 20 characters, one font, batch 32, the method's 5% pixel flips.
    Returns ``(recognizer, training logs)``."""
    pytest.importorskip("torch")
    from spacy_kexue.ocr.augment import BatchAugmenter
    from spacy_kexue.ocr.charset import Charset
    from spacy_kexue.ocr.train import train_recognizer

    logs = []
    rec = train_recognizer(
        Charset(CHARS),
        [fonts[0]],
        steps=160,
        batch_size=32,
        lr=3e-3,
        seed=0,
        augmenter=BatchAugmenter.method(),
        log_every=40,
        callback=logs.append,
        dropout=0.1,
        **SMALL,
    )
    return rec, logs


@pytest.fixture(scope="module")
def layout():
    """The projection layout with its tuned defaults (test_lines.py, test_chars.py, test_layout.py)."""
    from spacy_kexue.ocr.layout import ProjectionLayout

    return ProjectionLayout()
