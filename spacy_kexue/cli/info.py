"""``kexue info``: versions, registered names, and where the default pipeline and the data are."""

from __future__ import annotations

from pathlib import Path

import typer

from ..about import __version__

DISTRIBUTIONS = ("spacy", "thinc", "torch", "jieba", "spacy-pkuseg")


def info() -> dict:
    """What ``kexue info`` prints, as data: ``versions`` (distribution -> version or "not
    installed", spacy-kexue first), ``names`` (:func:`~spacy_kexue.registry.registered_names`),
    ``pipeline`` (the name of the default pipeline), ``pipeline_path`` (where it is installed, or
    None) and ``data_dir`` ($KEXUE_DATA)."""
    from importlib import metadata

    from ..paths import DEFAULT_PIPELINE, data_dir, default_pipeline_path
    from ..registry import registered_names

    def version_of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "versions": {"spacy-kexue": __version__, **{d: version_of(d) for d in DISTRIBUTIONS}},
        "names": registered_names(),
        "pipeline": DEFAULT_PIPELINE,
        "pipeline_path": default_pipeline_path(),
        "data_dir": data_dir(),
    }


def info_cli() -> None:
    """Versions, registered names, and where the default pipeline and the data are."""
    data = info()
    for dist, version in data["versions"].items():
        typer.echo(f"{dist:<12} {version}")
    typer.echo("")
    typer.echo("Registered names:")
    if not data["names"]:
        typer.echo("  (none: is spacy-kexue installed with pip?)")
    for group, group_names in data["names"].items():
        for name in group_names:
            typer.echo(f"  {group:<22} {name}")
    typer.echo("")
    pipeline = data["pipeline_path"]
    typer.echo(f"Default pipeline {data['pipeline']}: {pipeline or 'not installed'}")
    folder: Path = data["data_dir"]
    typer.echo(f"Data directory ($KEXUE_DATA): {folder}{'' if folder.exists() else ' (missing)'}")
