import subprocess
import sys
from pathlib import Path

import pytest

COMPONENTS = Path(__file__).with_name("components.py")

MAKE = """
import sys
import spacy
from spacy.util import import_file

import_file("kexue_test_components", sys.argv[2])
nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.zh.ChineseTokenizer", "segmenter": "char"}}})
for name in sys.argv[3:]:
    nlp.add_pipe(name)
nlp.to_disk(sys.argv[1])
"""


def make_model(path: Path, *pipes: str) -> str:
    """A blank zh pipeline (character segmenter) with the test components ``pipes``, saved to
    ``path`` (built in a subprocess so this process registers no test component)."""
    subprocess.run(
        [sys.executable, "-c", MAKE, str(path), str(COMPONENTS), *pipes], check=True, timeout=600
    )
    return str(path)


@pytest.fixture(scope="session")
def blank_model(tmp_path_factory) -> str:
    return make_model(tmp_path_factory.mktemp("models") / "blank")


@pytest.fixture(scope="session")
def sleepy_model(tmp_path_factory) -> str:
    return make_model(tmp_path_factory.mktemp("models") / "sleepy", "kexue_test_sleepy")


@pytest.fixture(scope="session")
def dying_model(tmp_path_factory) -> str:
    return make_model(tmp_path_factory.mktemp("models") / "dying", "kexue_test_die")


@pytest.fixture(scope="session")
def fussy_model(tmp_path_factory) -> str:
    return make_model(tmp_path_factory.mktemp("models") / "fussy", "kexue_test_fussy")
