"""``kexue ocr``: read images, train the recogniser, build the bigram language model, evaluate
(thin wrappers over :mod:`spacy_kexue.ocr`)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._util import (
    command_group,
    fail,
    input_file,
    input_files,
    input_folder,
    load_nlp,
    output_file,
    output_folder,
    output_path,
    positive,
)

ocr_app = command_group(
    "Printed-Chinese OCR: read images, train the recogniser, build the bigram LM, evaluate."
)


@ocr_app.command("train")
def train_cli(
    output: Path = typer.Argument(
        ..., help="Folder to write the recogniser to.", callback=output_folder
    ),
    family: list[str] = typer.Option(
        [], "--family", help="Train on this allowed font family only (repeatable; default all)."
    ),
    exclude_family: list[str] = typer.Option(
        [], "--exclude-family", help="Leave this family out (leave-one-font-out runs)."
    ),
    steps: int = typer.Option(8000, min=1, help="Adam updates."),
    batch_size: int = typer.Option(128, min=1, help="Glyphs per update."),
    lr: float = typer.Option(1e-3, help="Peak learning rate.", callback=positive),
    seed: int = typer.Option(0, min=0, help="Seed of the data, the augmentation and the weights."),
    width: int = typer.Option(64, min=1, help="Channels of the CNN's third stage."),
    hidden: int = typer.Option(512, min=1, help="Units of the dense hidden layer."),
    augmenter: str = typer.Option(
        "default", help="Glyph degradations: default, strong (BatchAugmenter.strong) or none."
    ),
    init: Path | None = typer.Option(
        None, help="Continue from this recogniser folder.", callback=input_folder
    ),
    threads: int = typer.Option(0, min=0, help="torch threads (0: torch's default)."),
    log_every: int = typer.Option(250, min=1, help="Log the loss every that many steps."),
) -> None:
    """Train the character recogniser on glyphs rendered from the allowed fonts (never the
    fonts reserved for evaluation) and save it with its training log (training.jsonl)."""
    import logging

    import torch

    from ..ocr.train import augmenter_preset, train_to_disk, training_fonts

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    augment = augmenter_preset(augmenter)
    start_from = None
    if init is not None:
        from ..ocr.model import Recognizer

        start_from = Recognizer.from_disk(init)
    if threads > 0:
        torch.set_num_threads(threads)
    fonts = training_fonts(family, exclude_family)
    typer.echo(f"Training on {len(fonts)} faces: " + ", ".join(f.name for f in fonts))
    meta = train_to_disk(
        output,
        fonts,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        width=width,
        hidden=hidden,
        augmenter=augment,
        init=start_from,
        init_from=init,
        excluded_families=exclude_family,
        log_every=log_every,
    )
    typer.echo(f"Saved the recogniser to {output} ({meta['seconds']:.0f} s).")


@ocr_app.command("build-lm")
def build_lm_cli(
    output: Path = typer.Argument(
        ..., help="The model file to write (.npz).", callback=output_path
    ),
    inputs: list[Path] = typer.Argument(
        ..., help=".txt or .jsonl(.gz) files, one text a line.", callback=input_files
    ),
    text_key: str = typer.Option("text", help="The text field of .jsonl lines."),
    dictionary: list[str] = typer.Option(
        [],
        "--dict",
        help="Also count each word of this word-frequency dictionary once ('jieba': the jieba "
        "package's dict.txt).",
    ),
    min_count: int = typer.Option(2, min=1, help="Drop bigrams seen fewer times (smaller file)."),
    max_bigrams: int = typer.Option(0, min=0, help="Keep at most this many bigrams (0: no limit)."),
) -> None:
    """Count the character bigrams of a corpus into the OCR reader's language model (the
    recogniser's characters only), and write its model card next to it (OUTPUT.json)."""
    from ..ocr.build_lm import count_bigrams, write_lm

    counter, sources = count_bigrams(inputs, text_key=text_key, dictionaries=dictionary)
    lm = write_lm(counter, sources, output, min_count=min_count, max_bigrams=max_bigrams or None)
    typer.echo(f"Saved {output}: {lm.n_bigrams} bigrams over {lm.vocab_size} characters.")


def ocr_reader(
    model: Path | None, no_lm: bool, lm_weight: float | None, config: Path | None = None
):
    """The OCR reader of the options: from ``config`` (a [reader] block), the folder ``model``,
    or the shipped one; ``no_lm`` and ``lm_weight`` override its language-model settings."""
    from ..ocr.reader import OCRReader, load_reader_config

    overrides: dict = {"use_lm": False} if no_lm else {}
    if lm_weight is not None:
        overrides["lm_weight"] = lm_weight
    if config is not None:
        if model is not None:
            fail(ValueError("Give either --model or --config, not both."))
        return load_reader_config(config, {f"reader.{k}": v for k, v in overrides.items()})
    if model is None:
        return OCRReader(**overrides)
    return OCRReader.from_disk(model, **overrides)


# the reader's options, shared by read and evaluate
READER_MODEL = typer.Option(
    None, help="An OCR reader folder (default: the shipped).", callback=input_folder
)
NO_LM = typer.Option(False, "--no-lm", help="Skip the language-model correction.")
LM_WEIGHT = typer.Option(None, min=0.0, help="Weight of the language model.")
READER_CONFIG = typer.Option(
    None, help="A config with a [reader] block (configs/ocr.cfg).", callback=input_file
)


@ocr_app.command("read")
def read_cli(
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, TIFF, BMP, ...)."),
    model: Path | None = READER_MODEL,
    no_lm: bool = NO_LM,
    lm_weight: float | None = LM_WEIGHT,
    config: Path | None = READER_CONFIG,
    show: Path | None = typer.Option(
        None,
        help="Draw line (blue) and token (red) boxes over the image into this PNG file "
        "(with several images: FILE-1.png, FILE-2.png, ...).",
        callback=output_file,
    ),
    pipeline: str = typer.Option("zh_kexue_sm", help="Tokenizer for --show's token boxes."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON lines."),
) -> None:
    """Print the text of each image. An unreadable image is reported and skipped (exit 1)."""
    import json

    from ..ocr.imageio import ImageError

    reader = ocr_reader(model, no_lm, lm_weight, config)
    nlp = load_nlp(pipeline) if show is not None and pipeline else None
    failed = 0
    for n, image in enumerate(images, start=1):
        try:
            result = reader.read(image)
        except ImageError as err:
            typer.echo(f"Error: {err}", err=True)
            failed += 1
            continue
        if as_json:
            typer.echo(json.dumps({"image": str(image), **result.to_dict()}, ensure_ascii=False))
        else:
            if len(images) > 1:
                typer.echo(f"== {image}")
            typer.echo(result.text)
        if show is not None:
            from ..ocr.show import draw_result

            out = show if len(images) == 1 else show.with_name(f"{show.stem}-{n}{show.suffix}")
            draw_result(image, result, out, nlp=nlp)
            typer.echo(f"Boxes drawn into {out}", err=True)
    if failed:
        raise typer.Exit(1)


@ocr_app.command("evaluate")
def evaluate_cli(
    folder: Path = typer.Argument(
        ..., help="A folder with images and labels.jsonl.", callback=input_folder
    ),
    model: Path | None = READER_MODEL,
    no_lm: bool = NO_LM,
    lm_weight: float | None = LM_WEIGHT,
    config: Path | None = READER_CONFIG,
    limit: int = typer.Option(0, min=0, help="Evaluate the first N images only (0: all)."),
    output: Path | None = typer.Option(
        None, help="Write the scores and every reading as JSON.", callback=output_file
    ),
) -> None:
    """Character error rate (whitespace ignored), line exact match and characters/second."""
    import json

    from ..errors import DataFileError
    from ..ocr.evaluate import evaluate_engine, read_labels

    items = read_labels(folder, limit=limit)
    if not items:
        raise DataFileError("lists no images; nothing to evaluate.", path=folder / "labels.jsonl")
    reader = ocr_reader(model, no_lm, lm_weight, config)
    reader.read(items[0].path)  # load the models outside the timing
    scores = evaluate_engine(lambda p: reader.read(p).text, items, keep_outputs=output is not None)
    typer.echo(
        f"images {scores['n_images']}  chars {scores['n_chars']}  CER {scores['cer']:.4f}  "
        f"exact {scores['exact']:.4f}  chars/s {scores['chars_per_s']:.1f}"
    )
    if output is not None:
        output.write_text(json.dumps(scores, ensure_ascii=False, indent=1), encoding="utf-8")
