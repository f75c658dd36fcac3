"""``kexue textcat``: sentiment data for ``spacy train`` (:func:`spacy_kexue.textcat.labelled.convert`)
and the encoder's language-model pretraining (:mod:`spacy_kexue.textcat.pretrain`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..textcat.pretrain import DEFAULTS
from ._util import (
    command_group,
    fail,
    input_file,
    input_files,
    load_nlp,
    output_path,
    parse_overrides,
    positive,
)

textcat_app = command_group("Sentiment data and models (kexue_textcat).")


@textcat_app.command("convert")
def convert_cli(
    input: str = typer.Argument(
        ..., help='JSONL, one {"text": ..., "label": 0|1} a line.', callback=input_file
    ),
    output: str = typer.Argument(
        ..., help="The DocBin (.spacy) to write (missing folders are made).", callback=output_path
    ),
    model: str = typer.Option(
        "zh_kexue_sm", "--model", "-m", help="Pipeline whose tokenizer splits the texts."
    ),
    limit: int = typer.Option(0, min=0, help="Convert at most this many records (0: all)."),
) -> None:
    """Convert labelled JSONL to a DocBin for `spacy train` (cats POSITIVE/NEGATIVE)."""
    from ..textcat.labelled import convert

    n = convert(input, output, load_nlp(model), limit=limit)
    typer.echo(f"Wrote {n} docs to {output}")


@textcat_app.command("pretrain")
def pretrain_cli(
    config_path: Path = typer.Argument(
        ...,
        help="The textcat's training config (its encoder settings are used).",
        callback=input_file,
    ),
    output: Path = typer.Argument(
        ..., help="Encoder file to write (a .json summary goes beside it).", callback=output_path
    ),
    raw_text: list[Path] = typer.Option(
        ...,
        "--raw-text",
        help="Raw text: .txt (a document a line) or .jsonl (text field). Repeatable. Include "
        "the textcat's training texts: the encoder's vocabulary is built from this text.",
        callback=input_files,
    ),
    component: str = typer.Option("textcat", help="The kexue_textcat component of the config."),
    base: str = typer.Option(
        "zh_kexue_sm", help="Pipeline whose tokenizer gives a word encoder its units."
    ),
    steps: int = typer.Option(DEFAULTS["steps"], min=1, help="Training batches."),
    batch_size: int = typer.Option(DEFAULTS["batch_size"], min=1, help="Texts a batch."),
    learn_rate: float = typer.Option(
        DEFAULTS["learn_rate"], help="Adam's step size.", callback=positive
    ),
    max_length: int = typer.Option(
        DEFAULTS["max_length"], min=2, help="Units a text (a random window of longer ones)."
    ),
    seed: int = typer.Option(DEFAULTS["seed"], min=0, help="Random seed."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Config override, e.g. --set components.textcat.model.encoder.width=64."
    ),
) -> None:
    """Pretrain the textcat's LSTM encoder as a bidirectional language model on raw text;
    train with it: spacy train CONFIG --paths.init_encoder OUTPUT."""
    from itertools import chain

    from thinc.api import Config
    from tqdm import tqdm

    from ..readers import read_texts
    from ..textcat.pretrain import encoder_from_config, pretrain_encoder, save_encoder

    config = Config().from_disk(config_path, overrides=parse_overrides(overrides))
    try:
        encoder = encoder_from_config(config, component)
    except ValueError as err:
        fail(err)
    tokenizer = load_nlp(base).tokenizer if encoder.attrs["unit"] == "word" else None
    texts = chain.from_iterable(read_texts(path) for path in raw_text)
    with tqdm(total=steps, unit="step", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:

        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")

        try:
            summary = pretrain_encoder(
                encoder,
                texts,
                tokenizer=tokenizer,
                steps=steps,
                batch_size=batch_size,
                learn_rate=learn_rate,
                max_length=max_length,
                seed=seed,
                on_step=on_step,
            )
        except ValueError as err:
            fail(err)
    save_encoder(encoder, output, summary)
    typer.echo(
        f"Saved the encoder to {output}: {summary['texts']} texts, loss {summary['first_loss']:.3f}"
        f" -> {summary['last_loss']:.3f} in {summary['seconds']} s. Train with it: "
        f"spacy train {config_path} --paths.init_encoder {output}"
    )
