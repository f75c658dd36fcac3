"""``kexue vae``: evaluate, sample, reconstruct and interpolate with a pipeline's BN-VAE
(``kexue_vae``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer

from ._util import command_group, fail, input_file, load_nlp, output_file

vae_app = command_group(
    "BN-VAE document vectors (kexue_vae): evaluate, sample, reconstruct, interpolate."
)


def load_vae(model: str):
    """The pipeline ``model`` and its kexue_vae component; a pipeline without one fails the
    command."""
    from ..vae.component import KexueVAE

    nlp = load_nlp(model)
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, KexueVAE):
            return nlp, pipe
    fail(ValueError(f"{model}: the pipeline has no kexue_vae component"))


def read_texts(path: str, limit: int = 0) -> list[str]:
    """The first ``limit`` texts (0: all) of a .txt (a line each) or .jsonl file."""
    from itertools import islice

    from ..errors import DataFileError
    from ..readers import read_texts

    texts = list(islice(read_texts(path), limit or None))
    if not texts:
        raise DataFileError("holds no texts to evaluate on; give a non-empty file.", path=path)
    return texts


def evaluate(
    models: Iterable[str], texts: list[str], *, iw_samples: int = 100, curves: bool = False
) -> tuple[dict[str, dict], dict[str, list]]:
    """Score each pipeline of ``models`` on ``texts``
    (:func:`~spacy_kexue.vae.evaluate.evaluate_texts`): model -> scores; with ``curves``, also
    each model's training curve (from the train_log.jsonl next to it, where there is one), keyed
    by the model's folder name."""
    from ..vae.curves import read_curve
    from ..vae.evaluate import evaluate_texts

    results, found = {}, {}
    for name in models:
        nlp, vae = load_vae(name)
        docs = list(nlp.tokenizer.pipe(texts))
        results[name] = evaluate_texts(vae.model, docs, iw_samples=iw_samples)
        log = Path(name).parent / "train_log.jsonl"
        if curves and log.exists():
            found[Path(name).parent.name or name] = read_curve(log)
    return results, found


@vae_app.command("evaluate")
def evaluate_cli(
    models: list[str] = typer.Argument(..., help="Pipelines (names or paths) with kexue_vae."),
    data: str = typer.Option(
        ..., "--data", help="Texts: a .txt (a line each) or .jsonl file.", callback=input_file
    ),
    limit: int = typer.Option(0, min=0, help="Use the first N texts (0: all)."),
    iw_samples: int = typer.Option(100, min=1, help="Samples for the importance-weighted NLL."),
    plot: Path | None = typer.Option(
        None,
        help="Also draw KL and active units over training (from each model's train_log.jsonl).",
        callback=output_file,
    ),
    json_out: Path | None = typer.Option(
        None, "--json", help="Write the scores as JSON.", callback=output_file
    ),
) -> None:
    """NLL, perplexity, negative ELBO, reconstruction, KL, mutual information, active units."""
    import srsly

    from ..vae.curves import plot_curves

    texts = read_texts(data, limit)
    results, curves = evaluate(models, texts, iw_samples=iw_samples, curves=plot is not None)
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
            fail(ValueError("no train_log.jsonl next to any model: nothing to plot"))
        typer.echo(f"Wrote {plot_curves(curves, plot)}")


def sample(
    vae, n: int = 5, max_length: int = 60, *, temperature: float = 1.0, seed: int = 0
) -> list[str]:
    """``n`` texts decoded by the kexue_vae component ``vae`` from codes drawn from the prior
    N(0, I) (temperature 0: greedy decoding), reproducible by ``seed``."""
    import torch

    from ..vae.model import torch_net
    from ..vae.vocab import decode

    net = torch_net(vae.model)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, net.latent, generator=generator) if net.latent else None
    ids = net.generate(z, n, max_length, temperature=temperature, generator=generator)
    return [decode(i, vae.model.attrs["vocab"], vae.model.attrs["unit"]) for i in ids]


@vae_app.command("sample")
def sample_cli(
    model: str = typer.Argument(..., help="Pipeline with kexue_vae."),
    n: int = typer.Option(5, "-n", min=1, help="How many texts."),
    max_length: int = typer.Option(60, min=1, help="Units per text at most."),
    temperature: float = typer.Option(1.0, min=0.0, help="0: greedy decoding."),
    seed: int = typer.Option(0, min=0, help="Random seed."),
) -> None:
    """Texts decoded from codes drawn from the prior N(0, I)."""
    _, vae = load_vae(model)
    for text in sample(vae, n, max_length, temperature=temperature, seed=seed):
        typer.echo(text)


def decode_codes(vae, codes, max_length: int) -> list[str]:
    """The greedy decodings of ``codes`` (an array, a code a row) by the kexue_vae ``vae``."""
    import torch

    from ..vae.model import torch_net
    from ..vae.vocab import decode

    net = torch_net(vae.model)
    z = torch.from_numpy(codes.astype("float32"))
    attrs = vae.model.attrs
    return [
        decode(ids, attrs["vocab"], attrs["unit"]) for ids in net.generate(z, len(z), max_length)
    ]


@vae_app.command("reconstruct")
def reconstruct_cli(
    model: str = typer.Argument(..., help="Pipeline with kexue_vae."),
    texts: list[str] = typer.Argument(..., help="Texts to encode and decode again."),
    max_length: int = typer.Option(80, min=1, help="Units per text at most."),
) -> None:
    """Each text, then the greedy decoding of its posterior mean."""
    nlp, vae = load_vae(model)
    codes = vae.predict([nlp.make_doc(t) for t in texts])
    if codes.shape[1] == 0:
        fail(ValueError(f"{model}: a language model (latent = 0) has no codes"))
    for text, decoded in zip(texts, decode_codes(vae, codes, max_length), strict=True):
        typer.echo(f"{text}\t{decoded}")


def interpolate(start, end, steps: int = 5):
    """``steps`` points on the straight line from the code ``start`` to ``end``, both included:
    the weights of ``end`` (from 0 to 1) and the points (an array, a point a row)."""
    import numpy as np

    weights = np.linspace(0.0, 1.0, steps)[:, None]
    return weights[:, 0], (1 - weights) * start + weights * end


@vae_app.command("interpolate")
def interpolate_cli(
    model: str = typer.Argument(..., help="Pipeline with kexue_vae."),
    start: str = typer.Argument(..., help="First text."),
    end: str = typer.Argument(..., help="Last text."),
    steps: int = typer.Option(5, min=2, help="Points on the line, both ends included."),
    max_length: int = typer.Option(80, min=1, help="Units per text at most."),
) -> None:
    """Greedy decodings along the straight line between two texts' posterior means."""
    nlp, vae = load_vae(model)
    codes = vae.predict([nlp.make_doc(start), nlp.make_doc(end)])
    if codes.shape[1] == 0:
        fail(ValueError(f"{model}: a language model (latent = 0) has no codes"))
    weights, line = interpolate(codes[0], codes[1], steps)
    for t, decoded in zip(weights, decode_codes(vae, line, max_length), strict=True):
        typer.echo(f"{t:.2f}\t{decoded}")
