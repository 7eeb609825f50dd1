"""DANN vs source-only (and shallow references) on real benchmark tasks.

Usage::

    python benchmarks/dann_real.py                       # default task set, 3 seeds
    python benchmarks/dann_real.py --tasks oc:amazon:webcam mu:mnist:usps --seeds 0 1
    python benchmarks/dann_real.py --set lambda_=1.0 --set max_epochs=50

Prints a markdown table (target accuracy, mean ± std over seeds, and seconds per
fit) and writes a CSV next to it under ``benchmarks/results/``. Reads the data
from ``shared/data`` (see ``skuda.datasets.find_data_dir``).
"""

from __future__ import annotations

import argparse
import ast
import csv
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.datasets import load_domain

ALIASES = {"oc": "office_caltech", "mu": "mnist_usps"}
OC = ["caltech", "amazon", "webcam", "dslr"]
DEFAULT_TASKS = [f"oc:{s}:{t}" for s in OC for t in OC if s != t] + [
    "mu:mnist:usps",
    "mu:usps:mnist",
]


def parse_task(spec):
    ds, src, tgt = spec.split(":")
    return ALIASES.get(ds, ds), src, tgt


def run(tasks, seeds, methods, overrides):
    rows = []
    for spec in tasks:
        dataset, src, tgt = parse_task(spec)
        Xs, ys = load_domain(dataset, src)
        Xt, yt = load_domain(dataset, tgt)
        for name in methods:
            for seed in seeds if name in ("source_only", "dann") else [0]:
                t0 = time.perf_counter()
                if name == "1nn":
                    clf = KNeighborsClassifier(1).fit(Xs, ys)
                elif name == "logreg":
                    clf = LogisticRegression(max_iter=2000).fit(Xs, ys)
                elif name == "source_only":
                    params = {
                        k: v
                        for k, v in overrides.items()
                        if k in SourceOnlyClassifier().get_params()
                    }
                    clf = SourceOnlyClassifier(random_state=seed, **params)
                    clf.fit(Xs, ys)
                else:
                    clf = DANNClassifier(random_state=seed, **overrides)
                    clf.fit(Xs, ys, Xt)
                secs = time.perf_counter() - t0
                acc = 100 * float(np.mean(clf.predict(Xt) == yt))
                rows.append(dict(task=spec, method=name, seed=seed, acc=acc, secs=secs))
                print(
                    f"{spec:22s} {name:12s} seed={seed} acc={acc:6.2f} {secs:6.1f}s",
                    flush=True,
                )
    return rows


def table(rows, methods):
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    lines = [
        "| task | " + " | ".join(methods) + " |",
        "|---" * (len(methods) + 1) + "|",
    ]
    means = {m: [] for m in methods}
    for task in tasks:
        cells = []
        for m in methods:
            accs = [r["acc"] for r in rows if r["task"] == task and r["method"] == m]
            means[m].append(np.mean(accs))
            cells.append(f"{np.mean(accs):.1f} ± {np.std(accs):.1f}")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    for group, prefix in (
        ("average Office-Caltech", "oc:"),
        ("average MNIST-USPS", "mu:"),
    ):
        idx = [i for i, t in enumerate(tasks) if t.startswith(prefix)]
        if idx:
            cells = [f"{np.mean([means[m][i] for i in idx]):.1f}" for m in methods]
            lines.append(f"| **{group}** | " + " | ".join(cells) + " |")
    secs = [np.mean([r["secs"] for r in rows if r["method"] == m]) for m in methods]
    lines.append("| seconds per fit | " + " | ".join(f"{s:.1f}" for s in secs) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--methods", nargs="+", default=["1nn", "logreg", "source_only", "dann"]
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="DANN/source-only parameter override, e.g. lambda_=1.0",
    )
    parser.add_argument("--out", default="benchmarks/results/dann_real.csv")
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = ast.literal_eval(value)
    rows = run(args.tasks, args.seeds, args.methods, overrides)
    print()
    print(table(rows, args.methods))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
