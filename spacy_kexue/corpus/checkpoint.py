"""The checkpoint of a ``kexue pipe`` run: the folder ``OUTPUT.parts/``.

It holds ``manifest.json`` (the run's settings) and, for every finished chunk ``k``, its
rejects ``chunk-{k:06d}.rejects.jsonl`` and then its output ``chunk-{k:06d}.jsonl`` (or
``.spacy``). Each file is written to a temporary name, fsynced, and renamed with
``os.replace``, so a file either is complete or does not exist; the output file is written
last, so its presence means the chunk is finished. The set of finished chunks is the
checkpoint. :meth:`Checkpoint.finish` concatenates the parts into ``OUTPUT`` (JSONL) or turns
the folder into the ``OUTPUT`` directory of shards (``.spacy``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .errors import CheckpointError

MANIFEST = "manifest.json"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it is either complete or absent."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Checkpoint:
    """``OUTPUT.parts/`` for ``output`` in ``format`` (``jsonl`` or ``spacy``)."""

    def __init__(self, output: str | os.PathLike, format: str):
        self.output = Path(output)
        self.format = format
        self.parts = self.output.with_name(self.output.name + ".parts")
        self.rejects_path = self.output.with_name(self.output.name + ".rejects.jsonl")

    # ------------------------------------------------------------------ set up

    def prepare(self, settings: dict, *, resume: bool, overwrite: bool) -> None:
        """Create (or, with ``resume``, check) the checkpoint for a run with ``settings``."""
        if resume and overwrite:
            raise CheckpointError("Give either --resume or --overwrite, not both.")
        if overwrite:
            self._remove_outputs()
        elif resume:
            if self.output.exists() and not self.parts.exists():
                raise CheckpointError(
                    f"{self.output} is already complete; pass --overwrite to process again."
                )
            if self.parts.exists():
                self._check_manifest(settings)
                return
        elif self.output.exists() or self.parts.exists():
            which = self.output if self.output.exists() else self.parts
            raise CheckpointError(
                f"{which} exists: pass --resume to continue the run that made it, "
                "or --overwrite to start again."
            )
        self.parts.mkdir(parents=True)
        write_atomic(
            self.parts / MANIFEST,
            json.dumps(settings, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8"),
        )
        _fsync_dir(self.parts.parent)

    def _check_manifest(self, settings: dict) -> None:
        try:
            saved = json.loads((self.parts / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError) as err:
            raise CheckpointError(
                f"{self.parts / MANIFEST} cannot be read ({err}); pass --overwrite to start again."
            ) from None
        keys = sorted(set(saved) | set(settings))
        diff = [
            f"{k}: {saved.get(k)!r} then, {settings.get(k)!r} now"
            for k in keys
            if saved.get(k) != settings.get(k)
        ]
        if diff:
            raise CheckpointError(
                f"cannot resume {self.parts}: it was made with other settings ("
                + "; ".join(diff)
                + "). Re-run with the same settings, or pass --overwrite to start again."
            )

    def _remove_outputs(self) -> None:
        if self.output.is_dir():
            others = [p for p in self.output.iterdir() if p.suffix != ".spacy"]
            if others:
                raise CheckpointError(
                    f"{self.output} is a directory holding more than .spacy shards "
                    f"(e.g. {others[0].name}); not removing it. Remove it yourself."
                )
            shutil.rmtree(self.output)
        elif self.output.exists():
            self.output.unlink()
        if self.parts.exists():
            shutil.rmtree(self.parts)
        if self.rejects_path.exists():
            self.rejects_path.unlink()

    def discard_if_empty(self) -> None:
        """Remove the checkpoint when no chunk was finished (a run that failed at once)."""
        if self.parts.is_dir() and not any(self.parts.glob(f"chunk-*.{self.format}")):
            shutil.rmtree(self.parts)

    # ------------------------------------------------------------------ chunks

    def chunk_path(self, k: int) -> Path:
        return self.parts / f"chunk-{k:06d}.{self.format}"

    def rejects_part(self, k: int) -> Path:
        return self.parts / f"chunk-{k:06d}.rejects.jsonl"

    def is_done(self, k: int) -> bool:
        return self.chunk_path(k).exists()

    def done_rejects(self, k: int) -> list[dict]:
        """The rejects a finished chunk recorded."""
        path = self.rejects_part(k)
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def write_chunk(self, k: int, data: bytes, rejects: list[dict]) -> None:
        """Commit chunk ``k``: its rejects first, then its output (the marker)."""
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects)
        write_atomic(self.rejects_part(k), lines.encode("utf-8"))
        write_atomic(self.chunk_path(k), data)
        _fsync_dir(self.parts)

    # ------------------------------------------------------------------ finish

    def finish(self, n_chunks: int) -> None:
        """All ``n_chunks`` chunks are done: build the final outputs, remove the checkpoint."""
        missing = [k for k in range(n_chunks) if not self.is_done(k)]
        if missing:
            raise CheckpointError(f"chunks {missing[:5]} are missing from {self.parts}")
        for path in self.parts.glob("chunk-*"):  # stale chunks past the end (never expected)
            if int(path.name.split(".")[0].removeprefix("chunk-")) >= n_chunks:
                path.unlink()
        self._concat(
            [self.rejects_part(k) for k in range(n_chunks)], self.rejects_path, keep_empty=False
        )
        if self.format == "jsonl":
            self._concat([self.chunk_path(k) for k in range(n_chunks)], self.output)
            shutil.rmtree(self.parts)
        else:
            for path in self.parts.iterdir():
                if path.suffix != ".spacy":
                    path.unlink()
            os.replace(self.parts, self.output)
        _fsync_dir(self.output.parent)

    @staticmethod
    def _concat(paths: list[Path], target: Path, keep_empty: bool = True) -> None:
        if not keep_empty and not any(p.exists() and p.stat().st_size for p in paths):
            if target.exists():
                target.unlink()
            return
        tmp = target.with_name(f".{target.name}.tmp")
        with open(tmp, "wb") as out:
            for path in paths:
                if path.exists():
                    with open(path, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
