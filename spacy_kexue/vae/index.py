"""Nearest documents by document vector: exact cosine top-k, and a saved index of a corpus.

:func:`top_k` is the search (numpy, exact: the queries' unit vectors times the corpus', in blocks
of queries so memory stays bounded, then a partial sort). :class:`VectorIndex` holds a corpus's
vectors with the records they came from, and saves as plain files, never pickles:

``index.json``
    what the index is: the pipeline (name and version) whose ``kexue_vae`` made the vectors and
    the SHA-256 of that VAE's weights (a query through other weights is refused), the vectors'
    count and dimension, and the SHA-256 of the two files below;
``vectors.npy``
    the posterior means μ, float32, ``(count, dim)`` (``numpy.save``, read without pickle);
``records.jsonl``
    one JSON object a vector: the record's ``source``, ``line`` and ``index`` in its corpus and
    its ``text``.

Brute force is the right tool at the sizes a corpus is encoded at: at d = 32 a query against a
million documents is one 32-MFLOP product, while encoding that million takes the VAE far longer
(``benchmarks/similar_index.py`` times numpy against faiss and hnswlib).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from ..integrity import read_checked, read_json_file, recorded_digest, write_checked

__all__ = [
    "INDEX_FORMAT",
    "IndexRecord",
    "VectorIndex",
    "model_identity",
    "query_vectors",
    "top_k",
    "unit_rows",
    "vae_name",
]

INDEX_FORMAT = "spacy-kexue.vector-index.v1"
INDEX_FILE, VECTORS_FILE, RECORDS_FILE = "index.json", "vectors.npy", "records.jsonl"
_REBUILD = "rebuild it with kexue similar index"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (float32) scaled to unit length row by row; zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def top_k(
    queries: np.ndarray,
    vectors: np.ndarray,
    k: int,
    *,
    exclude_self: bool = False,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``vectors`` most cosine-similar to each row of ``queries``.

    Returns ``(ids, cosines)``, both ``(len(queries), min(k, n))``, best first (equal cosines
    in id order). With ``exclude_self``, ``queries`` are ``vectors`` themselves and a row is never
    its own neighbour (then at most ``n - 1`` are returned).
    """
    queries, vectors = unit_rows(queries), unit_rows(vectors)
    if queries.ndim != 2 or vectors.ndim != 2 or queries.shape[1] != vectors.shape[1]:
        raise ValueError(
            f"queries {queries.shape} and vectors {vectors.shape} must be 2-d with the same width"
        )
    if exclude_self and len(queries) != len(vectors):
        raise ValueError("exclude_self needs the queries to be the vectors themselves")
    n = len(vectors)
    k = max(0, min(k, n - 1 if exclude_self else n))
    ids = np.zeros((len(queries), k), dtype=np.int64)
    cosines = np.zeros((len(queries), k), dtype=np.float32)
    if k == 0:
        return ids, cosines
    for start in range(0, len(queries), block):
        sims = queries[start : start + block] @ vectors.T
        rows = np.arange(len(sims))
        if exclude_self:
            sims[rows, rows + start] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.lexsort((part, -part_sims), axis=1)
        ids[start : start + len(sims)] = np.take_along_axis(part, order, axis=1)
        cosines[start : start + len(sims)] = np.take_along_axis(part_sims, order, axis=1)
    return ids, cosines


@dataclass(frozen=True)
class IndexRecord:
    """Where an indexed vector came from: its corpus file, 1-based line (None for whole
    files), record index, and text."""

    source: str
    line: int | None
    index: int
    text: str


class VectorIndex:
    """A corpus's document vectors and records, searched with :func:`top_k`."""

    def __init__(
        self,
        vectors: np.ndarray,
        records: Sequence[IndexRecord],
        *,
        model: str,
        model_version: str,
        vae_sha256: str | None = None,
    ):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(records):
            raise ValueError(
                f"need one vector a record: vectors {vectors.shape}, {len(records)} records"
            )
        self.vectors = vectors
        self.records = list(records)
        self.model, self.model_version = model, model_version
        # the SHA-256 of the VAE's weights (vae_fingerprint): None in an index made by hand
        self.vae_sha256 = vae_sha256
        self._unit = unit_rows(vectors)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[IndexRecord, float]]]:
        """The ``k`` nearest records of each query vector, with their cosines, best first."""
        ids, cosines = top_k(np.atleast_2d(queries), self._unit, k)
        return [
            [(self.records[j], float(c)) for j, c in zip(row, sims, strict=True)]
            for row, sims in zip(ids, cosines, strict=True)
        ]

    # ------------------------------------------------------------- files
    def to_disk(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, self.vectors, allow_pickle=False)
        lines = (
            json.dumps(
                {"source": r.source, "line": r.line, "index": r.index, "text": r.text},
                ensure_ascii=False,
            )
            for r in self.records
        )
        records = "".join(line + "\n" for line in lines).encode("utf-8")
        meta = {
            "format": INDEX_FORMAT,
            "model": self.model,
            "model_version": self.model_version,
            "vae_sha256": self.vae_sha256,
            "count": len(self),
            "dim": self.dim,
            "vectors_sha256": write_checked(path / VECTORS_FILE, buffer.getvalue()),
            "records_sha256": write_checked(path / RECORDS_FILE, records),
        }
        (path / INDEX_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_disk(cls, path: str | Path) -> VectorIndex:
        """Read what :meth:`to_disk` wrote; a missing, damaged or changed file raises
        :class:`~spacy_kexue.errors.DataFileError` naming it."""
        path = Path(path)
        meta_path = path / INDEX_FILE
        if not path.is_dir():
            raise DataFileError(f"is not an index folder; {_REBUILD}.", path=path)
        meta = read_json_file(meta_path, hint=f"is this an index folder? {_REBUILD}")
        if meta.get("format") != INDEX_FORMAT:
            raise DataFileError(
                f"is not a spacy-kexue vector index (format {meta.get('format')!r}, expected "
                f"{INDEX_FORMAT!r}); {_REBUILD}.",
                path=meta_path,
            )
        for key, kind in (("model", str), ("model_version", str), ("count", int), ("dim", int)):
            if not isinstance(meta.get(key), kind):
                raise DataFileError(
                    f'must give "{key}" as a {kind.__name__}; {_REBUILD}.', path=meta_path
                )
        data = {}
        for name, key in ((VECTORS_FILE, "vectors_sha256"), (RECORDS_FILE, "records_sha256")):
            digest = recorded_digest(meta, key, path=meta_path, required=True)
            data[name] = read_checked(path / name, digest, f"the index's {name}", hint=_REBUILD)
        vectors = np.load(io.BytesIO(data[VECTORS_FILE]), allow_pickle=False)
        if vectors.shape != (meta["count"], meta["dim"]):
            raise DataFileError(
                f"holds vectors of shape {vectors.shape}, but {INDEX_FILE} says "
                f"({meta['count']}, {meta['dim']}); {_REBUILD}.",
                path=path / VECTORS_FILE,
            )
        if not isinstance(meta.get("vae_sha256"), str | None):
            raise DataFileError(f'must give "vae_sha256" as a string; {_REBUILD}.', path=meta_path)
        records = list(_read_records(data[RECORDS_FILE]))
        return cls(
            vectors,
            records,
            model=meta["model"],
            model_version=meta["model_version"],
            vae_sha256=meta.get("vae_sha256"),
        )


def _read_records(data: bytes) -> Iterable[IndexRecord]:
    """The records of a ``records.jsonl`` whose SHA-256 matched: what :meth:`to_disk` wrote."""
    for line in data.decode("utf-8").splitlines():
        obj = json.loads(line)
        yield IndexRecord(obj["source"], obj["line"], obj["index"], obj["text"])


def model_identity(nlp) -> tuple[str, str]:
    """The pipeline's name (``zh_kexue_sm``) and version, as an index records them."""
    meta = nlp.meta
    return f"{meta.get('lang', nlp.lang)}_{meta.get('name', 'pipeline')}", str(
        meta.get("version", "")
    )


def vae_fingerprint(nlp) -> str:
    """The SHA-256 of the pipeline's ``kexue_vae`` weights: two pipelines of one name and
    version whose VAEs differ (a retrained one) make vectors that are not comparable."""
    return hashlib.sha256(nlp.get_pipe(vae_name(nlp)).to_bytes()).hexdigest()


def vae_name(nlp) -> str:
    """The name of the pipeline's ``kexue_vae`` component; ValueError when it has none."""
    from .component import KexueVAE

    name = next((n for n, pipe in nlp.pipeline if isinstance(pipe, KexueVAE)), None)
    if name is None:
        raise ValueError("the pipeline has no kexue_vae component to make document vectors")
    return name


def query_vectors(nlp, index: VectorIndex, texts: Sequence[str]) -> np.ndarray:
    """The document vectors of ``texts`` by ``nlp``, which must be the pipeline that made
    ``index`` (same name and version: another VAE's vectors live in another space)."""
    model, version = model_identity(nlp)
    if (model, version) != (index.model, index.model_version):
        raise ValueError(
            f"the index was made with {index.model} {index.model_version}, not {model} "
            f"{version}; query it with that pipeline, or rebuild it with kexue similar index."
        )
    if index.vae_sha256 is not None and vae_fingerprint(nlp) != index.vae_sha256:
        raise ValueError(
            f"the index was made with other VAE weights than this {model} {version}'s (a "
            "retrained pipeline of the same name and version); query it with the pipeline that "
            "made it, or rebuild it with kexue similar index."
        )
    with nlp.select_pipes(enable=[vae_name(nlp)]):
        vectors = [doc._.vae_vector for doc in nlp.pipe(texts)]
    return np.stack(vectors) if vectors else np.zeros((0, index.dim), dtype=np.float32)
