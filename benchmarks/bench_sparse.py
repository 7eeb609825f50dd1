"""Sparse input: memory and time of a large bag-of-words fit, and equality with dense.

Two parts, each written to a CSV under ``benchmarks/results/``:

* ``sparse_scale.csv`` -- a synthetic bag-of-words shift (:func:`make_bow_shift`):
  documents of ``--classes`` topics (the label is the document's topic) mixed
  with a background vocabulary; the target domain draws its background words
  from a shifted distribution and uses its topic words less (shifted topic
  proportions). :class:`~skuda.DANNClassifier` (fixed settings, below) is
  fitted for ``--epochs`` epochs on the ``--rows`` x ``--features`` problem
  given as CSR (half source, half target rows), and on a ``--dense-rows``
  problem both as CSR and as a dense float32 array, each fit in a fresh
  process: its peak RSS (``VmHWM``, as ``bench_speed`` reads it; data
  generation included), the RSS of the data alone, the median seconds per
  epoch, the seconds of ``predict`` on the target rows and the target
  accuracy. The dense and sparse fits of the same data must agree.
* ``sparse_office.csv`` -- Office-Caltech SURF counts given as CSR against the
  same rows dense: seed 0, :class:`~skuda.SourceOnlyClassifier` and DANN with
  their defaults. The standard preprocessing (L1 row normalisation, then a
  per-domain z-score; :func:`skuda.datasets.load_domain`) would make the
  matrix dense, so here the rows are L1-normalised (which keeps them sparse)
  and the per-domain z-score is the estimators' ``input_scaling="domain"``,
  for the sparse and the dense rows alike. The ``standard`` rows are the usual
  dense path (``load_domain(preprocess=True)``, default ``input_scaling``) for
  reference.

The settings are fixed in advance, without target labels: DANN with its
defaults except ``batch_size=256`` (fewer steps per epoch on the large problem)
and ``max_epochs=--epochs``.

Usage: ``python -m benchmarks.run --suite sparse [--rows 100000] [--features
50000] [--density 0.01] [--epochs 1] [--dense-rows 4000] [--no-scale]
[--no-office] [--rst docs/benchmarks]`` (``--no-scale --no-office --rst DIR``
rewrites the docs tables from the CSVs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
OFFICE_TASKS = ["office_caltech:amazon:webcam", "office_caltech:caltech:dslr"]


# -- data -------------------------------------------------------------------------
def make_bow_shift(n_src, n_tgt, n_features, *, density=0.01, n_classes=5, seed=0):
    """Word counts of a topic model with a shift: ``(X_src, y_src, X_tgt, y_tgt)``.

    CSR float32 matrices, built in chunks of documents (no dense array). Each
    class is a topic of ``n_features // 50`` words; a document of class ``k``
    draws each of its words from topic ``k`` with probability ``share`` and
    otherwise from a Zipf-like background. Source: ``share=0.03``; target:
    ``share=0.015`` and a background whose word ranks are re-drawn for half of
    the vocabulary. Documents have about ``density * n_features`` words.
    """
    rng = np.random.default_rng(seed)
    topics = [
        rng.choice(n_features, n_features // 50, replace=False)
        for _ in range(n_classes)
    ]
    rank = rng.permutation(n_features)
    background = 1.0 / (rank + 100.0)
    moved = rng.choice(n_features, n_features // 2, replace=False)
    shifted_rank = rank.copy()
    shifted_rank[moved] = rng.permutation(shifted_rank[moved])
    shifted = 1.0 / (shifted_rank + 100.0)
    length = 1.15 * density * n_features  # tokens per document; repeats merge
    src = _documents(rng, n_src, topics, background, 0.03, length, n_features)
    tgt = _documents(rng, n_tgt, topics, shifted, 0.015, length, n_features)
    return (*src, *tgt)


def _documents(rng, n, topics, background, share, length, n_features, chunk=5000):
    parts, labels = [], []
    background = background / background.sum()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        y = rng.integers(len(topics), size=m)
        tokens = rng.poisson(length, size=m)
        on_topic = rng.binomial(tokens, share)
        rows = [np.repeat(np.arange(m), tokens - on_topic)]
        cols = [rng.choice(n_features, size=len(rows[0]), p=background)]
        for k, words in enumerate(topics):
            docs = np.flatnonzero(y == k)
            rows.append(np.repeat(docs, on_topic[docs]))
            cols.append(words[rng.integers(len(words), size=len(rows[-1]))])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        counts = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(m, n_features)
        )
        counts.sum_duplicates()
        parts.append(counts)
        labels.append(y)
    return sp.vstack(parts, format="csr"), np.concatenate(labels)


# -- one fit in a fresh process ------------------------------------------------------
def _rss_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(n_rows, n_features, density, epochs, kind, threads):
    """Fit DANN on one problem (``kind``: "sparse" or "dense"); print a JSON row."""
    import torch

    from skuda import DANNClassifier

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    Xs, ys, Xt, yt = make_bow_shift(
        n_rows // 2, n_rows - n_rows // 2, n_features, density=density
    )
    nnz = Xs.nnz + Xt.nnz
    if kind == "dense":
        Xs, Xt = Xs.toarray(), Xt.toarray()
    generate_s = time.perf_counter() - t0
    data_mb = _rss_mb("VmRSS")
    clf = DANNClassifier(
        batch_size=256, max_epochs=epochs, device="cpu", random_state=0
    )
    t0 = time.perf_counter()
    clf.fit(Xs, ys, Xt)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = clf.predict(Xt)
    predict_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "kind": kind,
                "rows": n_rows,
                "features": n_features,
                "density": round(float(nnz) / (n_rows * n_features), 4),
                "epochs": epochs,
                "generate_s": round(generate_s, 1),
                "data_rss_mb": round(data_mb),
                "peak_rss_mb": round(_rss_mb("VmHWM")),
                "epoch_s": round(statistics.median(clf.history_[:, "dur"]), 1),
                "fit_s": round(fit_s, 1),
                "predict_s": round(predict_s, 1),
                "target_acc": round(float(np.mean(pred == yt)), 4),
                "train_loss": clf.history_[-1, "train_loss"],
            }
        ),
        flush=True,
    )


def run_child(n_rows, args, kind):
    """Run :func:`child` in a fresh process; return its row (None on failure)."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r});"
        "from benchmarks.bench_sparse import child;"
        f"child({n_rows}, {args.features}, {args.density}, {args.epochs}, "
        f"{kind!r}, {args.threads})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- Office-Caltech as sparse ---------------------------------------------------------
def office_rows(task, seed=0):
    """Target accuracy of source-only and DANN on one task: sparse, dense, standard."""
    from skuda import DANNClassifier, SourceOnlyClassifier
    from skuda.datasets import load_domain

    dataset, source, target = task.split(":")
    raw = [load_domain(dataset, d, preprocess=False) for d in (source, target)]
    std = [load_domain(dataset, d) for d in (source, target)]
    (Xs, ys), (Xt, yt) = raw
    Xs, Xt = _l1_rows(sp.csr_matrix(Xs)), _l1_rows(sp.csr_matrix(Xt))
    inputs = {
        "sparse": (Xs, Xt, "domain"),
        "dense": (Xs.toarray(), Xt.toarray(), "domain"),
        "standard": (std[0][0], std[1][0], "pooled"),
    }
    rows = []
    for method in (SourceOnlyClassifier, DANNClassifier):
        for kind, (A, B, scaling) in inputs.items():
            clf = method(input_scaling=scaling, device="cpu", random_state=seed)
            t0 = time.perf_counter()
            clf.fit(A, ys, B)
            rows.append(
                {
                    "task": task,
                    "method": method.__name__,
                    "input": kind,
                    "seed": seed,
                    "density": round(Xs.nnz / np.prod(Xs.shape), 3),
                    "target_acc": round(float(np.mean(clf.predict(B) == yt)), 4),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _l1_rows(X):
    """Rows divided by their sums (a sparse product: zeros stay zeros)."""
    sums = np.asarray(X.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(sums, 1e-12)) @ X)


# -- tables -------------------------------------------------------------------------
def _write(rows, name):
    import csv

    if not rows:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / name, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _print(rows):
    if not rows:
        return
    keys = list(rows[0])
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(str(r[k]) for k in keys))


SCALE_COLUMNS = {
    "kind": "input",
    "rows": "rows",
    "features": "features",
    "density": "density",
    "data_rss_mb": "data RSS (MB)",
    "peak_rss_mb": "peak RSS (MB)",
    "epoch_s": "s / epoch",
    "predict_s": "predict (s)",
    "target_acc": "target acc.",
    "train_loss": "last loss",
}


def write_rst(out_dir):
    """Write the docs tables ``sparse.inc`` and ``sparse_office.inc`` from the CSVs."""
    import csv

    out_dir = Path(out_dir)
    with open(RESULTS / "sparse_scale.csv", newline="") as f:
        scale = list(csv.DictReader(f))
    for r in scale:
        r["train_loss"] = f"{float(r['train_loss']):.6f}"
        r["rows"] = f"{int(r['rows']):,}"
        r["features"] = f"{int(r['features']):,}"
    (out_dir / "sparse.inc").write_text(_rst_table(scale, SCALE_COLUMNS))
    with open(RESULTS / "sparse_office.csv", newline="") as f:
        office = list(csv.DictReader(f))
    table = {}
    for r in office:
        key = (r["task"].split(":", 1)[1].replace(":", " → "), r["method"])
        table.setdefault(key, {"task": key[0], "method": key[1]})[r["input"]] = r[
            "target_acc"
        ]
    columns = {k: k for k in ("task", "method", "sparse", "dense", "standard")}
    (out_dir / "sparse_office.inc").write_text(
        _rst_table(list(table.values()), columns)
    )


def _rst_table(rows, columns):
    cells = [list(columns.values())] + [[str(r[k]) for k in columns] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    rule = "  ".join("=" * w for w in widths)

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    lines = [rule, line(cells[0]), rule, *map(line, cells[1:]), rule, ""]
    return "\n".join(lines)


def main(argv=None):
    """Run the sparse benchmark; print the tables and write the CSVs."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run --suite sparse",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50_000)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dense-rows", type=int, default=4_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--no-office", action="store_true")
    parser.add_argument("--rst", default=None, help="write the docs tables here")
    args = parser.parse_args(argv)
    if not args.no_scale:
        rows = [
            run_child(args.dense_rows, args, "dense"),
            run_child(args.dense_rows, args, "sparse"),
            run_child(args.rows, args, "sparse"),
        ]
        rows = [r for r in rows if r is not None]
        _print(rows)
        _write(rows, "sparse_scale.csv")
    if not args.no_office:
        import torch

        torch.set_num_threads(args.threads)
        rows = [r for task in OFFICE_TASKS for r in office_rows(task)]
        _print(rows)
        _write(rows, "sparse_office.csv")
    if args.rst:
        write_rst(args.rst)


if __name__ == "__main__":
    main()
