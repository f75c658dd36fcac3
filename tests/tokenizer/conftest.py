"""Shared fixtures of the segmenter tests: one tiny tagger, trained once per session.

The dictionary has two parts:

- ``UNIQUE_WORDS``: words none of whose characters occur in any other dictionary word, so any
  concatenation of them has exactly one segmentation into dictionary words (the overfitting
  test);
- ``AMBIGUOUS_WORDS``: the classic 结婚的和尚未结婚的 words, for the user-dictionary tests.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
import spacy
from thinc.api import Config

REPO = Path(__file__).resolve().parents[2]
SEGMENTER_CFG = REPO / "configs" / "segmenter.cfg"

UNIQUE_WORDS = {
    "中国": 300,
    "人民": 280,
    "学生": 260,
    "老师": 240,
    "电脑": 220,
    "苹果": 200,
    "天气": 190,
    "朋友": 180,
    "医院": 170,
    "飞机": 160,
    "汽车": 150,
    "音乐": 140,
    "历史": 130,
    "地图": 120,
    "银行": 110,
    "公园": 100,
    "咖啡": 95,
    "熊猫": 90,
    "森林": 85,
    "海洋": 80,
    "美丽": 75,
    "喜欢": 70,
    "工作": 65,
    "城市": 60,
    "阳光": 55,
    "博物馆": 50,
    "运动员": 45,
    "巧克力": 40,
    "我": 400,
    "你": 350,
    "他": 320,
    "吃": 150,
    "看": 150,
    "去": 140,
    "很": 130,
}
AMBIGUOUS_WORDS = {
    "结婚": 120,
    "的": 500,
    "和尚": 200,
    "尚未": 30,
    "和": 150,
    "未": 20,
    "尚": 10,
}
RAW_LINES = [
    "我喜欢中国的音乐。",
    "他去医院看老师和学生。",
    "你很喜欢吃巧克力和苹果！",
    "结婚的和尚未结婚的",
    "人民公园的熊猫很美丽，city 2024年",
]


def _check_unique() -> None:
    seen: dict[str, str] = {ch: "AMBIGUOUS_WORDS" for ch in "".join(AMBIGUOUS_WORDS)}
    for word in UNIQUE_WORDS:
        for ch in word:
            assert seen.setdefault(ch, word) == word, f"{ch} is in {seen[ch]} and {word}"


_check_unique()


def tiny_config(steps: int = 200, **extra) -> Config:
    overrides = {
        "model.width": 32,
        "model.depth": 2,
        "model.dropout": 0.0,
        "corpus.self_training": 0.2,
        "training.steps": steps,
        "training.batch_size": 64,
        "training.learning_rate": 0.01,
        "training.log_every": 100000,
        "training.eval_every": 100000,
        **extra,
    }
    return Config().from_disk(SEGMENTER_CFG, overrides=overrides)


@contextmanager
def single_torch_thread():
    """Train with one torch thread: tiny models gain nothing from more, and on a loaded
    two-core machine intra-op threads contending with other processes make training ~6x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Run the tokenizer tests with one torch thread (restored at the end of the session)."""
    with single_torch_thread():
        yield


def write_dictionary(path: Path) -> Path:
    entries = {**UNIQUE_WORDS, **AMBIGUOUS_WORDS}
    path.write_text("".join(f"{w}\t{c}\n" for w, c in entries.items()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """The tiny dictionary and raw text files (tab-separated word<TAB>count; a line a text)."""
    root = tmp_path_factory.mktemp("tiny_data")
    raw = root / "raw.txt"
    raw.write_text("\n".join(RAW_LINES) + "\n", encoding="utf-8")
    return {"dictionary": write_dictionary(root / "dict.txt"), "raw": raw}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_data) -> Path:
    """A tiny CNN tagger (width 32, depth 2, 200 steps) trained on the tiny dictionary."""
    from spacy_kexue.tokenizer.train import train_segmenter

    out = tmp_path_factory.mktemp("tiny_model")
    with single_torch_thread():
        train_segmenter(
            tiny_config(),
            out,
            dictionary=tiny_data["dictionary"],
            raw_texts=RAW_LINES,
            dev=None,
            log=lambda msg: None,
        )
    return out


def blank_zh():
    return spacy.blank(
        "zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_kexue.DictSegmenter.v1"}}}
    )


@pytest.fixture(scope="session")
def session_nlp(tiny_model_dir):
    """A blank zh pipeline whose tokenizer holds the tiny tagger. Do not mutate: use ``nlp``."""
    nlp = blank_zh()
    nlp.tokenizer.initialize(model=tiny_model_dir)
    return nlp


@pytest.fixture
def nlp(tiny_model_dir):
    """A fresh pipeline with the tiny tagger, free to mutate (user words, settings)."""
    nlp = blank_zh()
    nlp.tokenizer.initialize(model=tiny_model_dir)
    return nlp


@pytest.fixture(scope="session")
def tiny_pipeline_dir(tmp_path_factory, session_nlp) -> Path:
    """``session_nlp`` saved with ``nlp.to_disk`` (for spacy.load and the CLI)."""
    out = tmp_path_factory.mktemp("tiny_pipeline") / "zh_tiny"
    session_nlp.to_disk(out)
    return out
