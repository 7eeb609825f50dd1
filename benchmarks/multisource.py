r"""Multi-source benchmark: several labelled source domains, one target.

Usage::

    python -m benchmarks.run --suite multisource               # both, 1 seed
    python -m benchmarks.run --suite multisource --seeds 0 1 2 --datasets office_caltech
    python -m benchmarks.run --suite multisource --table-from a.csv b.csv

Tasks (fixed in advance, not chosen on results):

- Office-Caltech10 SURF, 3 -> 1: each domain in turn is the target, the other
  three are the sources (L1 rows + per-domain z-score, as ``load_domain``
  returns them); the whole target is the unlabelled set and the test set.
- UCI HAR (AdaTime), 4 subjects -> 1: the targets of AdaTime's first two
  scenarios (subjects 11 and 23), each with its scenario's source subject and
  the next three scenario sources in AdaTime's list as sources. Each subject's
  split is standardised per channel with its own statistics (AdaTime's loader);
  trained on the target's train rows, scored on its test rows; CNN1d backbone.

For each task and seed, source-only and DANN are fitted on every single source
(``single``), on the sources concatenated (``concat``: pooled, no domain
identities) and, for DANN, with ``domains=`` (``multiclass``: the K + 1-way
domain discriminator). The table compares the concatenation and the
multi-source DANN with the best single source, chosen two ways: the oracle
(highest target accuracy, which needs target labels) and label-free (highest
information-maximisation score of the target predictions,
:func:`skuda.selection.information_maximization_score`). Epochs and every
setting are fixed in advance: no target label informs any choice.

Writes ``benchmarks/results/multisource.csv`` and prints a markdown table.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.datasets import load_domain, load_har
from skuda.selection import information_maximization_score

if __package__:  # python -m benchmarks.run --suite multisource
    from . import _common as common
else:  # python benchmarks/multisource.py
    import _common as common

OC = ["caltech", "amazon", "webcam", "dslr"]
HAR_TARGETS = {11: [2, 6, 7, 9], 23: [6, 7, 9, 12]}
"""Target subject -> source subjects: the scenario's source, then the next ones."""
COLUMNS = {
    "dataset": str,
    "target": str,
    "method": str,
    "setting": str,
    "seed": int,
    "accuracy": float,
    "macro_f1": float,
    "im_score": float,
    "seconds": float,
}
EPOCHS = {"office_caltech": 30, "har": 20}


def office_caltech_tasks():
    """``(target, {source: (X, y)}, X_tgt, X_test, y_test)`` for each target."""
    data = {d: load_domain("office_caltech", d) for d in OC}
    for target in OC:
        sources = {d: data[d] for d in OC if d != target}
        X_tgt, y_tgt = data[target]
        yield target, sources, X_tgt, X_tgt, y_tgt


def _standardise(X):
    """Per-channel z-score of ``(n, channels, length)`` signals, own statistics."""
    mean = X.mean(axis=(0, 2), keepdims=True)
    std = X.std(axis=(0, 2), keepdims=True)
    return ((X - mean) / np.where(std > 0, std, 1)).astype(np.float32)


def har_tasks():
    """HAR tasks, as :func:`office_caltech_tasks`; each split scaled on its own."""
    for target, subjects in HAR_TARGETS.items():
        sources = {}
        for s in subjects:
            X, y, _, _ = load_har(s)
            sources[f"subject{s:02d}"] = (_standardise(X), y)
        X_tgt, _, X_test, y_test = load_har(target)
        yield (
            f"subject{target:02d}",
            sources,
            _standardise(X_tgt),
            _standardise(X_test),
            y_test,
        )


def make_estimator(dataset, method, seed):
    """Return the estimator of ``method`` with the settings fixed for ``dataset``."""
    shared = dict(random_state=seed, max_epochs=EPOCHS[dataset])
    if dataset == "har":
        shared.update(feature_extractor="cnn1d", batch_size=32, input_scaling=None)
    if method == "source_only":
        return SourceOnlyClassifier(**shared)
    lam = 1.0 if dataset == "har" else 0.3  # as benchmarks/signals.py, tabular.py
    return DANNClassifier(lambda_=lam, **shared)


def fits(sources):
    """Yield the ``(method, setting, X_src, y_src, domains)`` fits of one task."""
    for method in ("source_only", "dann"):
        for name, (X, y) in sources.items():
            yield method, f"single:{name}", X, y, None
        X = np.concatenate([X for X, _ in sources.values()])
        y = np.concatenate([y for _, y in sources.values()])
        domains = np.concatenate(
            [np.full(len(y_), name) for name, (_, y_) in sources.items()]
        )
        yield method, "concat", X, y, None
        if method == "dann":
            yield method, "multiclass", X, y, domains


def run(datasets, seeds, out):
    """Fit everything; rows are appended to ``out`` as they finish."""
    rows = []
    loaders = {"office_caltech": office_caltech_tasks, "har": har_tasks}
    for dataset in datasets:
        for target, sources, X_tgt, X_test, y_test in loaders[dataset]():
            for seed in seeds:
                for method, setting, X, y, domains in fits(sources):
                    clf = make_estimator(dataset, method, seed)
                    r = {"dataset": dataset, "target": target, "method": method}
                    r.update(setting=setting, seed=seed)
                    r.update(_measure(clf, (X, y, X_tgt, domains), X_test, y_test))
                    common.append_row(out, COLUMNS, r, new=not rows)
                    rows.append(r)
                    print(
                        f"{dataset:14s} {target:10s} {method:11s} {setting:18s} "
                        f"seed={seed} acc={r['accuracy']:.1f} ({r['seconds']:.0f} s)",
                        flush=True,
                    )
    return rows


def _measure(clf, fit_args, X_test, y_test):
    """Fit ``clf`` on ``(X, y, X_tgt, domains)``; its scores and fit seconds."""
    X, y, X_tgt, domains = fit_args
    t0 = time.perf_counter()
    clf.fit(X, y, X_tgt, domains=domains)
    seconds = time.perf_counter() - t0
    pred = clf.predict(X_test)
    return {
        "accuracy": 100 * accuracy_score(y_test, pred),
        "macro_f1": 100 * f1_score(y_test, pred, average="macro"),
        "im_score": information_maximization_score(clf.predict_proba(X_tgt)),
        "seconds": seconds,
    }


def summary(rows):
    """Per (dataset, target, method, seed): the four numbers the table compares."""
    groups = {}
    for r in rows:
        key = (r["dataset"], r["target"], r["method"], r["seed"])
        groups.setdefault(key, []).append(r)
    out = {}
    for key, group in groups.items():
        singles = [r for r in group if r["setting"].startswith("single:")]
        by = {r["setting"]: r["accuracy"] for r in group}
        out[key] = {
            "best single (oracle)": max(r["accuracy"] for r in singles),
            "single chosen by IM": max(singles, key=lambda r: r["im_score"])[
                "accuracy"
            ],
            "concat": by.get("concat", np.nan),
            "multiclass": by.get("multiclass", np.nan),
        }
    return out


def table(rows):
    """Markdown table: target accuracy (mean ± std over seeds) per task and method."""
    stats = summary(rows)
    cols = ["best single (oracle)", "single chosen by IM", "concat", "multiclass"]
    order = ["source_only", "dann"]
    tasks = sorted(
        {k[:3] for k in stats}, key=lambda k: (k[0], k[1], order.index(k[2]))
    )
    body = []
    for dataset, target, method in tasks:
        seeds = [v for k, v in stats.items() if k[:3] == (dataset, target, method)]
        cells = []
        for c in cols:
            vals = [s[c] for s in seeds]
            cells.append("" if np.all(np.isnan(vals)) else common.mean_std(vals))
        body.append([dataset, f"→ {common.short_domain(target)}", method, *cells])
    for dataset in sorted({k[0] for k in tasks}):
        for method in ("source_only", "dann"):
            per = [v for k, v in stats.items() if k[0] == dataset and k[2] == method]
            cells = []
            for c in cols:
                vals = [s[c] for s in per]
                cells.append("" if np.all(np.isnan(vals)) else f"{np.mean(vals):.1f}")
            body.append([f"**{dataset}**", "**mean**", method, *cells])
    header = ["dataset", "target", "method", *cols]
    return header, body


def main(argv=None):
    """Run the benchmark (or tabulate ``--table-from`` CSVs) and print the table."""
    parser = common.argument_parser(__doc__, suite="multisource")
    parser.add_argument(
        "--datasets", nargs="+", default=["office_caltech", "har"],
        choices=["office_caltech", "har"],
    )  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", type=Path, default=common.RESULTS / "multisource.csv")
    parser.add_argument("--table-from", nargs="+", type=Path)
    parser.add_argument("--rst", type=Path, help="also write the table as RST")
    args = parser.parse_args(argv)
    if args.table_from:
        rows = common.read_rows(args.table_from, COLUMNS)
    else:
        rows = run(args.datasets, args.seeds, args.out)
    header, body = table(rows)
    print(common.markdown(header, body))
    if args.rst:
        args.rst.write_text(common.rst(header, body))
    return rows


if __name__ == "__main__":
    main()
