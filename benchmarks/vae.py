"""BN-VAE benchmark: collapse or not, likelihood, and how useful the document vectors are.

    python benchmarks/vae.py [--runs training/vae_vanilla ... training/vae_lm] [--limit 1000]
                             [--iw-samples 100] [--jobs 2] [--json benchmarks/results/vae.json]
                             [--plot benchmarks/results/vae_curves.png]
    python benchmarks/vae.py --report benchmarks/results/vae.json   # reprint a run, with targets
    python benchmarks/vae.py --pipeline zh_kexue_sm                 # nlp.pipe with / without vae
    python benchmarks/vae.py --retrieval zh_kexue_sm --json benchmarks/results/vae_retrieval.json

Each run is a ``spacy train configs/vae.cfg`` output folder (``spacy project run train-vae-*``):
its ``model-best`` is scored, its ``train_log.jsonl`` gives the training curves.

1. On the shared sentiment test split: importance-weighted NLL, perplexity per unit, negative
   ELBO, reconstruction, KL, mutual information and active units of every run (the paper's
   table), the LSTM language model (``latent = 0``) being the baseline with the same decoder.
2. Probes: a logistic regression on each document vector, trained on ``--probe-train`` texts of
   the train split and scored on the test split, predicting the 10-way ``category`` and the
   sentiment label. Vectors: each VAE's posterior mean μ; the mean of the segmenter's character
   embeddings (zh_kexue_sm's tokenizer); TF-IDF of character 1–2-grams reduced by SVD to the
   VAE's dimension (fitted on the probe's training texts). Reviews without a category (about
   1.4%) are left out of the category probe.
3. Retrieval (``--retrieval PIPELINE``): over the test split, the share of each review's 10
   nearest other reviews (cosine) in its category and with its sentiment, beside the probes, for
   the pipeline's μ, its textcat's pooled state, the mean character embedding and TF-IDF + SVD.

``--split dev`` scores the dev split instead of the test split: settings (``bag_weight``, τ, ...)
are chosen there; the test split only reports.

Needs scikit-learn (probes) and matplotlib (curves): ``pip install scikit-learn matplotlib``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from spacy_kexue.paths import data_dir as default_data_dir
from spacy_kexue.readers import read_records

REPO = Path(__file__).resolve().parent.parent

# the runs checked against the bn_su targets: the post's posterior and ours (shipped)
BN_SU_RUNS = ("bn_su", "bn_su_rms")
RUNS = [
    REPO / "training" / f"vae_{name}"
    for name in ("vanilla", "bn_paper", "bn_su", "bn_su_rms", "lm")
]


def read_split(data: Path, split: str, limit: int) -> tuple[list[str], list[str], list[int]]:
    texts, categories, labels = [], [], []
    for _, record in read_records(data / "sentiment" / f"{split}.jsonl"):
        texts.append(record["text"])
        categories.append(record["category"])
        labels.append(int(record["label"]))
        if limit and len(texts) >= limit:
            break
    return texts, categories, labels


def vae_name(nlp) -> str:
    from spacy_kexue.vae.component import KexueVAE

    return next(name for name, pipe in nlp.pipeline if isinstance(pipe, KexueVAE))


def vae_pipe(nlp):
    return nlp.get_pipe(vae_name(nlp))


def posterior_means(nlp, texts: list[str]) -> np.ndarray:
    vae = vae_pipe(nlp)
    docs = list(nlp.tokenizer.pipe(texts))
    return np.concatenate([vae.predict(docs[i : i + 512]) for i in range(0, len(docs), 512)])


def char_embedding_means(texts: list[str]) -> np.ndarray:
    """The mean of zh_kexue_sm's segmenter character embeddings over each text's characters."""
    import spacy

    tokenizer = spacy.load("zh_kexue_sm").tokenizer
    table = tokenizer.tagger.embed.weight.detach().numpy()
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    for i, text in enumerate(texts):
        ids = tokenizer.chars.encode([text])[0] if text else np.zeros(0, dtype=np.int64)
        if len(ids):
            out[i] = table[ids].mean(axis=0)
    return out


def tfidf_svd(train: list[str], test: list[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    svd = TruncatedSVD(dim, random_state=0)
    train_x = svd.fit_transform(vectorizer.fit_transform(train))
    return train_x, svd.transform(vectorizer.transform(test))


def probe(train_x, train_y, test_x, test_y) -> float:
    """Test accuracy of a logistic regression on standardised features; records whose target
    is None (reviews without a category) are left out of both sides."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_keep = np.asarray([y is not None for y in train_y])
    test_keep = np.asarray([y is not None for y in test_y])
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    train_y = [str(y) for y, keep in zip(train_y, train_keep, strict=True) if keep]
    test_y = [str(y) for y, keep in zip(test_y, test_keep, strict=True) if keep]
    classifier.fit(np.asarray(train_x)[train_keep], train_y)
    predicted = classifier.predict(np.asarray(test_x)[test_keep])
    return float((predicted == np.asarray(test_y)).mean())


def textcat_states(nlp, texts: list[str]) -> np.ndarray:
    """The pooled features the pipeline's kexue_textcat classifies (its encoder's output)."""
    from spacy_kexue.textcat.component import KexueTextCategorizer
    from spacy_kexue.textcat.model import get_encoder

    textcat = next(p for _, p in nlp.pipeline if isinstance(p, KexueTextCategorizer))
    encoder = get_encoder(textcat.model)
    docs = list(nlp.tokenizer.pipe(texts))
    return np.concatenate([encoder.predict(docs[i : i + 512]) for i in range(0, len(docs), 512)])


def precision_at_k(vectors: np.ndarray, labels: list, k: int = 10) -> float:
    """Mean share of each document's ``k`` nearest other documents (cosine) that share its
    label; documents whose label is None (no category) are neither queries nor neighbours."""
    from spacy_kexue.vae.index import top_k

    keep = np.asarray([y is not None for y in labels])
    y = np.asarray([str(v) for v in labels if v is not None])
    ids, _ = top_k(np.asarray(vectors)[keep], np.asarray(vectors)[keep], k, exclude_self=True)
    return float((y[ids] == y[:, None]).mean())


def chance_at_k(labels: list) -> float:
    """What P@k is for neighbours drawn at random: the sum of squared label shares."""
    values, counts = np.unique([str(v) for v in labels if v is not None], return_counts=True)
    return float(((counts / counts.sum()) ** 2).sum())


def retrieval(model: str, data: Path, probe_train: int, k: int = 10, split: str = "test") -> dict:
    """P@k of same-category and same-sentiment neighbours over ``split``, and the linear
    probes, for the pipeline's μ, its textcat's pooled state, the mean character embedding and
    TF-IDF + SVD (fitted on ``probe_train`` train texts), in one run."""
    import spacy

    test_texts, test_cat, test_lab = read_split(data, split, 0)
    train_texts, train_cat, train_lab = read_split(data, "train", probe_train)
    nlp = spacy.load(model)
    mu = (posterior_means(nlp, train_texts), posterior_means(nlp, test_texts))
    features = {
        f"mu ({model})": mu,
        f"textcat pooled state ({model})": (
            textcat_states(nlp, train_texts),
            textcat_states(nlp, test_texts),
        ),
        "mean char embedding (segmenter)": (
            char_embedding_means(train_texts),
            char_embedding_means(test_texts),
        ),
        f"TF-IDF + SVD({mu[0].shape[1]})": tfidf_svd(train_texts, test_texts, mu[0].shape[1]),
    }
    table = {}
    for name, (train_x, test_x) in features.items():
        table[name] = {
            f"category P@{k}": precision_at_k(test_x, test_cat, k),
            f"sentiment P@{k}": precision_at_k(test_x, test_lab, k),
            "category probe": probe(train_x, train_cat, test_x, test_cat),
            "sentiment probe": probe(train_x, train_lab, test_x, test_lab),
        }
        print(name, json.dumps(table[name]), flush=True)
    table["chance"] = {
        f"category P@{k}": chance_at_k(test_cat),
        f"sentiment P@{k}": chance_at_k(test_lab),
    }
    return {"model": model, "k": k, "split": split, "n_test": len(test_texts), "vectors": table}


def format_retrieval(results: dict) -> str:
    k = results["k"]
    columns = [f"category P@{k}", f"sentiment P@{k}", "category probe", "sentiment probe"]
    lines = ["", f"{'vectors':<44}" + "".join(f"{c:>17}" for c in columns)]
    for name, row in results["vectors"].items():
        cells = "".join(f"{row[c]:17.4f}" if c in row else f"{'':>17}" for c in columns)
        lines.append(f"{name:<44}{cells}")
    mu = next(row for name, row in results["vectors"].items() if name.startswith("mu "))
    svd = next(row for name, row in results["vectors"].items() if name.startswith("TF-IDF"))
    for column in (f"category P@{k}", "category probe"):
        lines.append(
            f"mu / TF-IDF + SVD, {column}: {mu[column]:.4f} / {svd[column]:.4f} = "
            f"{mu[column] / svd[column]:.3f} ({'met' if mu[column] >= svd[column] else 'not met'})"
        )
    return "\n".join(lines)


def pipeline_cost(model: str, data: Path, limit: int) -> dict:
    """nlp.pipe throughput of ``model`` with and without its kexue_vae (docs/s, best of 3)."""
    import spacy

    texts = read_split(data, "test", limit)[0]
    nlp = spacy.load(model)
    speed = {}
    for label, disable in (("without vae", [vae_name(nlp)]), ("with vae", [])):
        best = float("inf")
        for _ in range(3):
            with nlp.select_pipes(disable=disable):
                start = time.perf_counter()
                for _doc in nlp.pipe(texts, batch_size=64):
                    pass
                best = min(best, time.perf_counter() - start)
        speed[label] = len(texts) / best
        print(f"{label:<12} {speed[label]:8.1f} docs/s", flush=True)
    print(f"with / without: {speed['with vae'] / speed['without vae']:.3f}")
    return speed


def score_run(run: Path, texts: list[str], iw_samples: int, threads: int) -> dict:
    """The generative scores of one run's model-best on ``texts`` (runs in a worker process
    when --jobs > 1)."""
    import spacy
    import torch

    from spacy_kexue.vae.evaluate import evaluate_texts

    torch.set_num_threads(threads)
    nlp = spacy.load(run / "model-best")
    start = time.perf_counter()
    scores = evaluate_texts(
        vae_pipe(nlp).model, list(nlp.tokenizer.pipe(texts)), iw_samples=iw_samples
    )
    scores["eval_seconds"] = time.perf_counter() - start
    model_config = nlp.config["components"][vae_name(nlp)]["model"]
    scores["posterior"] = model_config["posterior"]
    scores["tau"] = model_config["tau"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, nargs="+", default=RUNS)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--split",
        choices=("dev", "test"),
        default="test",
        help="The split scored: dev to choose settings (bag_weight, tau, ...), test to report.",
    )
    parser.add_argument("--limit", type=int, default=0, help="Score on the first N texts.")
    parser.add_argument("--iw-samples", type=int, default=100)
    parser.add_argument("--probe-train", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="Score the runs in this many processes (one thread each).",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument(
        "--pipeline",
        default=None,
        help="Only measure what the vae component costs in this pipeline's nlp.pipe (docs/s on "
        "the first --limit test texts, default 2000, with and without it, best of 3).",
    )
    parser.add_argument(
        "--retrieval",
        default=None,
        help="Only the retrieval table of this pipeline: P@10 of same-category and "
        "same-sentiment neighbours over the test split and the probes, for its mu, its textcat's "
        "pooled state, the mean char embedding and TF-IDF + SVD, in one run.",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="Print the table and the target checks of a results file written by --json.",
    )
    args = parser.parse_args()
    if args.pipeline:
        pipeline_cost(args.pipeline, args.data_dir or default_data_dir(), args.limit or 2000)
        return
    if args.retrieval:
        import torch

        torch.set_num_threads(args.threads)
        results = retrieval(
            args.retrieval, args.data_dir or default_data_dir(), args.probe_train, split=args.split
        )
        print(format_retrieval(results))
        if args.json:
            payload = {"command": "python " + " ".join(sys.argv), **results}
            args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    if args.report:
        results = json.loads(args.report.read_text(encoding="utf-8"))
        if "vectors" in results:
            print(f"{results.get('command', '')}\n{format_retrieval(results)}")
            return
        results["targets"] = check_targets(results)
        print(f"{results.get('command', '')}\n{format_report(results)}")
        return

    import spacy
    import torch

    from spacy_kexue.vae.curves import plot_curves, read_curve

    torch.set_num_threads(args.threads)
    data = args.data_dir or default_data_dir()
    test_texts, test_cat, test_lab = read_split(data, args.split, args.limit)
    train_texts, train_cat, train_lab = read_split(data, "train", args.probe_train)

    results: dict = {"split": args.split, "generative": {}, "probes": {}}
    curves = {}
    vae_dims = []
    jobs = [
        (run, test_texts, args.iw_samples, 1 if args.jobs > 1 else args.threads)
        for run in args.runs
    ]
    if args.jobs > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            scored = list(pool.map(score_run, *zip(*jobs, strict=True)))
    else:
        scored = [score_run(*job) for job in jobs]
    for run, scores in zip(args.runs, scored, strict=True):
        name = run.name.removeprefix("vae_")
        results["generative"][name] = scores
        print(name, json.dumps(scores), flush=True)
        if (run / "train_log.jsonl").exists():
            curves[name] = read_curve(run / "train_log.jsonl")
        if scores["latent"]:
            nlp = spacy.load(run / "model-best")
            vae_dims.append(scores["latent"])
            features = (posterior_means(nlp, train_texts), posterior_means(nlp, test_texts))
            results["probes"][f"mu ({name})"] = {
                "category": probe(features[0], train_cat, features[1], test_cat),
                "sentiment": probe(features[0], train_lab, features[1], test_lab),
            }
    emb = (char_embedding_means(train_texts), char_embedding_means(test_texts))
    results["probes"]["mean char embedding (segmenter)"] = {
        "category": probe(emb[0], train_cat, emb[1], test_cat),
        "sentiment": probe(emb[0], train_lab, emb[1], test_lab),
    }
    dim = vae_dims[0] if vae_dims else 32
    svd = tfidf_svd(train_texts, test_texts, dim)
    results["probes"][f"TF-IDF + SVD({dim})"] = {
        "category": probe(svd[0], train_cat, svd[1], test_cat),
        "sentiment": probe(svd[0], train_lab, svd[1], test_lab),
    }
    results["targets"] = check_targets(results)
    print(format_report(results))
    if args.plot and curves:
        plot_curves(curves, args.plot)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"command": "python " + " ".join(sys.argv), **results}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def check_targets(results: dict) -> list[dict]:
    """Issue 6's targets, each with our figure, the reference figure of the same run and
    whether it is met: vanilla collapses (KL < 1, AU <= 3); bn_su (and bn_su_rms, the shipped
    variant) keeps every unit active with KL >= d*tau/2 and an NLL no worse than the LSTM-LM's;
    its mu beats the mean character embedding by >= 5 points on category."""
    generative, probes = results["generative"], results["probes"]
    targets = []
    if "vanilla" in generative:
        r = generative["vanilla"]
        targets.append(dict(target="vanilla KL < 1", ours=r["kl"], reference=1.0, met=r["kl"] < 1))
        targets.append(dict(target="vanilla AU <= 3", ours=r["au"], reference=3, met=r["au"] <= 3))
    for name in BN_SU_RUNS:
        if name not in generative:
            continue
        r = generative[name]
        bound = r["latent"] * r["tau"] / 2
        targets.append(
            dict(
                target=f"{name} AU = d",
                ours=r["au"],
                reference=r["latent"],
                met=r["au"] == r["latent"],
            )
        )
        targets.append(
            dict(
                target=f"{name} KL >= d*tau/2", ours=r["kl"], reference=bound, met=r["kl"] >= bound
            )
        )
        if "lm" in generative:
            lm = generative["lm"]["nll"]
            targets.append(
                dict(
                    target=f"{name} NLL <= LSTM-LM NLL",
                    ours=r["nll"],
                    reference=lm,
                    ratio=r["nll"] / lm,
                    met=r["nll"] <= lm,
                )
            )
        mu = probes.get(f"mu ({name})")
        emb = probes.get("mean char embedding (segmenter)")
        if mu and emb:
            gap = 100 * (mu["category"] - emb["category"])
            targets.append(
                dict(
                    target=f"mu ({name}) category >= mean embedding + 5 points",
                    ours=mu["category"],
                    reference=emb["category"],
                    gap_points=gap,
                    met=gap >= 5,
                )
            )
    return targets


def format_report(results: dict) -> str:
    lines = [
        "",
        f"{'run':<12} {'NLL':>8} {'PPL':>7} {'-ELBO':>8} {'rec':>8} {'KL':>7} {'MI':>6} {'AU':>4}",
    ]
    for name, r in results["generative"].items():
        lines.append(
            f"{name:<12} {r['nll']:8.2f} {r['ppl']:7.2f} {r['neg_elbo']:8.2f} {r['rec']:8.2f} "
            f"{r['kl']:7.2f} {r['mi']:6.2f} {r['au']:4d}"
        )
    lines += ["", f"{'probe features':<36} {'category':>9} {'sentiment':>10}"]
    for name, r in results["probes"].items():
        lines.append(f"{name:<36} {r['category']:9.4f} {r['sentiment']:10.4f}")
    lines += ["", f"{'target':<50} {'ours':>9} {'reference':>10}  met"]
    for t in results.get("targets", []):
        extra = f"  ratio {t['ratio']:.4f}" if "ratio" in t else ""
        extra += f"  gap {t['gap_points']:+.2f} points" if "gap_points" in t else ""
        lines.append(
            f"{t['target']:<50} {t['ours']:9.4f} {t['reference']:10.4f}  {'yes' if t['met'] else 'NO'}{extra}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
