"""Nearest-neighbour search for ``kexue similar``: numpy brute force against faiss and hnswlib.

    python benchmarks/similar_index.py [--sizes 10000 100000 1000000] [--dim 32] [--queries 1000]
                                       [--systems numpy faiss-flat faiss-hnsw hnswlib]
                                       [--json benchmarks/results/similar_index.json]

For each corpus size: the seconds to build the index, the milliseconds a query takes (a batch of
``--queries`` queries, best of 3) and recall@10 against the exact answer, for
``spacy_kexue.vae.index.top_k`` (numpy, exact), faiss ``IndexFlatIP`` (exact) and
``IndexHNSWFlat`` (approximate), and hnswlib (approximate), each in its own subprocess so that no
library's threads or memory touch another's. Vectors are random Gaussian (the timings depend on
the size and dimension, not on the values), unit-normalised, so inner product is cosine; the time
to *encode* that many documents with the VAE is printed beside them for scale
(``--encode-docs-per-s``, measured by ``benchmarks/vae.py --pipeline``).

Needs ``pip install faiss-cpu hnswlib`` (measurement only; spacy-kexue itself uses numpy).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

K = 10
SYSTEMS = ("numpy", "faiss-flat", "faiss-hnsw", "hnswlib")


def data(n: int, dim: int, queries: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    q = rng.standard_normal((queries, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return vectors, q


def run_one(system: str, n: int, dim: int, queries: int, threads: int) -> dict:
    """Build and query one system (in this process); returns its timings and its neighbours."""
    import time

    import numpy as np

    vectors, q = data(n, dim, queries)
    if system == "numpy":  # imports before the clock starts
        from threadpoolctl import threadpool_limits

        from spacy_kexue.vae.index import top_k, unit_rows
    elif system.startswith("faiss"):
        import faiss
    else:
        import hnswlib
    start = time.perf_counter()
    if system == "numpy":
        threadpool_limits(threads)  # for the rest of this subprocess
        unit = unit_rows(vectors)

        def search(x):
            return top_k(x, unit, K)[0]
    elif system.startswith("faiss"):
        faiss.omp_set_num_threads(threads)
        if system == "faiss-flat":
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 64
        index.add(vectors)

        def search(x):
            return index.search(x, K)[1]
    else:
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=n, ef_construction=200, M=32)
        index.set_num_threads(threads)
        index.add_items(vectors)
        index.set_ef(64)

        def search(x):
            return index.knn_query(x, k=K)[0]

    build = time.perf_counter() - start
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        found = search(q)
        best = min(best, time.perf_counter() - start)
    return {"build_s": build, "query_ms": 1000 * best / queries, "ids": np.asarray(found).tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--systems",
        nargs="+",
        choices=SYSTEMS,
        default=list(SYSTEMS),
        help="numpy (the exact answer recall is measured against) is always run.",
    )
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--encode-docs-per-s", type=float, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # system n: the subprocess
    args = parser.parse_args()
    if args.one:
        result = run_one(args.one[0], int(args.one[1]), args.dim, args.queries, args.threads)
        print(json.dumps(result))
        return

    import numpy as np

    results: dict = {"command": "python " + " ".join(sys.argv), "k": K, "sizes": {}}
    print(f"{'docs':>9} {'system':<11} {'build s':>8} {'ms/query':>9} {'recall@10':>9}")
    for n in args.sizes:
        row = {}
        for system in ["numpy"] + [s for s in args.systems if s != "numpy"]:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                system,
                str(n),
                "--dim",
                str(args.dim),
                "--queries",
                str(args.queries),
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            row[system] = json.loads(out.strip().splitlines()[-1])
        exact = np.asarray(row["numpy"]["ids"])
        for system, r in row.items():
            found = np.asarray(r.pop("ids"))
            hits = [
                len(set(a) & set(b)) for a, b in zip(found.tolist(), exact.tolist(), strict=True)
            ]
            r["recall_at_10"] = float(np.mean(hits)) / K
            print(
                f"{n:>9,} {system:<11} {r['build_s']:8.2f} {r['query_ms']:9.3f} "
                f"{r['recall_at_10']:9.3f}",
                flush=True,
            )
        if args.encode_docs_per_s:
            row["encode_s"] = n / args.encode_docs_per_s
            print(f"{n:>9,} encoding them with the VAE: {row['encode_s']:,.0f} s", flush=True)
        results["sizes"][str(n)] = row
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
