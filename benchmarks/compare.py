"""All skuda methods against source-only (and two shallow references) on real tasks.

Usage::

    python benchmarks/compare.py            # OC 12 tasks + MNIST<->USPS, 3 seeds
    python benchmarks/compare.py --tasks oc:amazon:webcam --seeds 0 --methods dann shot
    python benchmarks/compare.py --shard 0/2              # every 2nd (task, seed) job

Every estimator runs with its defaults (``random_state`` only), on the data as
``skuda.datasets.load_domain`` returns it (the published preprocessing). Target
accuracy is measured on all target rows (transductive protocol). One line per fit
is printed and appended to ``--out`` (CSV), so shards can run in parallel; run
``--table-only`` on the CSV to print the markdown table of mean ± std per task.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

import skuda
from skuda.datasets import load_domain

ALIASES = {"oc": "office_caltech", "mu": "mnist_usps"}
OC = ["caltech", "amazon", "webcam", "dslr"]
DEFAULT_TASKS = [f"oc:{s}:{t}" for s in OC for t in OC if s != t] + [
    "mu:mnist:usps",
    "mu:usps:mnist",
]
SHALLOW = ("1nn", "logreg")
METHODS = ["1nn", "logreg", "source_only", "dann", "adda", "shot_im", "shot"]
FIELDS = ["task", "method", "seed", "acc", "secs"]


def make(method, seed):
    if method == "1nn":
        return KNeighborsClassifier(1)
    if method == "logreg":
        return LogisticRegression(max_iter=2000)
    if method == "source_only":
        return skuda.SourceOnlyClassifier(random_state=seed)
    if method == "dann":
        return skuda.DANNClassifier(random_state=seed)
    if method == "adda":
        return skuda.ADDAClassifier(random_state=seed)
    if method == "shot":
        return skuda.SHOTAdapter(random_state=seed)
    if method == "shot_im":
        return skuda.SHOTAdapter(cls_par=0.0, random_state=seed)
    raise ValueError(method)


def jobs(tasks, seeds, methods):
    # Seed-major, so a partial run still covers every task.
    for seed in seeds:
        for task in tasks:
            for m in methods:
                if m in SHALLOW and seed != seeds[0]:
                    continue  # deterministic
                yield task, seed, m


def run(args):
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    k, n = (int(v) for v in args.shard.split("/"))
    cache = {}
    with out.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        for i, (task, seed, method) in enumerate(
            jobs(args.tasks, args.seeds, args.methods)
        ):
            if i % n != k:
                continue
            if task not in cache:
                ds, src, tgt = task.split(":")
                cache = {
                    task: (
                        *load_domain(ALIASES[ds], src),
                        *load_domain(ALIASES[ds], tgt),
                    )
                }
            Xs, ys, Xt, yt = cache[task]
            clf = make(method, seed)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                if method in SHALLOW:
                    clf.fit(Xs, ys)
                else:
                    clf.fit(Xs, ys, Xt)
            secs = time.perf_counter() - t0
            acc = 100 * float(np.mean(clf.predict(Xt) == yt))
            row = dict(
                task=task,
                method=method,
                seed=seed,
                acc=round(acc, 2),
                secs=round(secs, 2),
            )
            writer.writerow(row)
            f.flush()
            print(
                f"{task:20s} {method:12s} seed={seed} acc={acc:6.2f} {secs:6.1f}s",
                flush=True,
            )


def summary(path, methods):
    """Header and rows of mean ± std per task, per-dataset averages and times."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    methods = [m for m in methods if any(r["method"] == m for r in rows)]
    tasks = [t for t in DEFAULT_TASKS if any(r["task"] == t for r in rows)]
    tasks += sorted({r["task"] for r in rows} - set(tasks))
    acc = {}
    for r in rows:
        acc.setdefault((r["task"], r["method"]), []).append(float(r["acc"]))
    body = []
    for t in tasks:
        cells = []
        for m in methods:
            v = acc.get((t, m), [])
            cells.append(f"{np.mean(v):.1f} ± {np.std(v):.1f}" if v else "–")
        body.append([t, *cells])
    for name, prefix in (
        ("Office-Caltech average", "oc:"),
        ("MNIST↔USPS average", "mu:"),
    ):
        group = [t for t in tasks if t.startswith(prefix)]
        if not group:
            continue
        cells = []
        for m in methods:
            # average over tasks per seed, then mean ± std over seeds
            per_seed = {}
            for r in rows:
                if r["method"] == m and r["task"] in group:
                    per_seed.setdefault(r["seed"], []).append(float(r["acc"]))
            means = [np.mean(v) for v in per_seed.values() if len(v) == len(group)]
            cells.append(
                f"{np.mean(means):.1f} ± {np.std(means):.1f}" if means else "–"
            )
        body.append([name, *cells])
    secs = [
        np.mean([float(r["secs"]) for r in rows if r["method"] == m]) for m in methods
    ]
    body.append(["seconds per fit (mean)", *(f"{s:.1f}" for s in secs)])
    return ["task", *methods], body


def markdown(header, body):
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def rst(header, body):
    lines = [".. csv-table::", "   :header: " + ", ".join(f'"{h}"' for h in header), ""]
    lines += ["   " + ", ".join(f'"{c}"' for c in row) for row in body]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--shard", default="0/1", help="k/n: run every n-th job from k")
    parser.add_argument("--out", default="benchmarks/results/compare.csv")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--rst", help="also write the table as reStructuredText here")
    args = parser.parse_args()
    if not args.table_only:
        run(args)
    header, body = summary(args.out, args.methods)
    print(markdown(header, body))
    if args.rst:
        Path(args.rst).write_text(rst(header, body) + "\n")


if __name__ == "__main__":
    main()
