"""``kexue pipe``: run a pipeline over a whole corpus (a thin wrapper over
:func:`spacy_kexue.corpus.pipe.run`)."""

from __future__ import annotations

from pathlib import Path

import typer


def pipe_cli(
    input: str = typer.Argument(
        ...,
        help="A .txt (a doc a line), .jsonl, .csv or .tsv file (or .gz), a directory of .txt "
        "files or images, or - for stdin.",
    ),
    output: str = typer.Argument(
        ...,
        help="A .jsonl file, or a directory of DocBin shards ending with .spacy (the name sets "
        "the format; any other suffix is refused).",
    ),
    model: str = typer.Option("zh_kexue_sm", "--model", "-m", help="Pipeline name or path."),
    format: str | None = typer.Option(
        None,
        "--format",
        help="jsonl or spacy; it must agree with OUTPUT's name (.jsonl or .spacy), which sets it.",
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

    from ..corpus.pipe import run

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
