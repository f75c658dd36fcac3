import pytest

from spacy_kexue.ocr.fonts import find_fonts


@pytest.fixture(scope="session")
def fonts():
    """The allowed training fonts installed here; tests needing one skip when there is none."""
    specs = find_fonts()
    if not specs:
        pytest.skip(
            "no allowed font installed (apt install fonts-noto-cjk fonts-wqy-zenhei "
            "fonts-wqy-microhei fonts-arphic-uming)"
        )
    return specs
