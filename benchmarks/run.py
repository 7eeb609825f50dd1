"""skuda's benchmark suites: one entry point.

Usage::

    python -m benchmarks.run --suite tabular            # 4 datasets, 3 seeds (hours)
    python -m benchmarks.run --suite tabular --quick    # 1 task per dataset, 1 seed
    python -m benchmarks.run --suite tabular --datasets wine gas --shard 0/2
    python -m benchmarks.run --suite tabular --report   # tables + plots from the CSV
    python -m benchmarks.run --suite signals [args of benchmarks/signals.py]
    python -m benchmarks.run --suite selection [args of benchmarks/selection.py]
    python -m benchmarks.run --suite speed [args of benchmarks/bench_speed.py]

The **tabular** suite runs every method with its defaults (``random_state`` only;
``--set name=value`` overrides a parameter of every deep method, for tuning) on
the data as :func:`skuda.datasets.load_domain` returns it:

- Office-Caltech10 SURF, 12 tasks (L1 rows + per-domain z-score, GFK/JDA);
- MNIST<->USPS 16x16, both directions (L2 rows, JDA);
- wine quality, red<->white; gas-sensor drift, batch 1 -> each later batch
  (raw features: the estimators standardise internally; the shallow references
  get a ``StandardScaler`` fitted on the source for these two).

Methods: 1-NN and logistic regression on the source (shallow references,
deterministic, run once), source-only, DANN, ADDA, SHOT-IM and SHOT. Target
accuracy is measured on all target rows (transductive protocol). Every fit is
appended to ``<results>/tabular.csv`` as soon as it ends and finished jobs are
skipped on a rerun, so an interrupted run resumes and shards can run side by
side. ``--report`` (run after every fit batch anyway) writes per dataset a
markdown table (``<dataset>.md``: mean +- std over seeds per task, averages, time
per fit, published numbers), a reStructuredText copy for the docs and a PNG plot.
"""

from __future__ import annotations

import argparse
import csv
import runpy
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skuda
from skuda.datasets import load_domain

try:  # python -m benchmarks.run
    from ._tables import markdown, rst
except ImportError:  # python benchmarks/run.py
    from _tables import markdown, rst

HERE = Path(__file__).resolve().parent
OC = ["caltech", "amazon", "webcam", "dslr"]
GAS = [f"batch{k}" for k in (2, 3, 4, 5, 6, 8, 9)]
DATASETS = {
    # name: (load_domain dataset, title, tasks, scale the shallow references?)
    "office_caltech": (
        "office_caltech",
        "Office-Caltech10 SURF",
        [(s, t) for s in OC for t in OC if s != t],
        False,
    ),
    "mnist_usps": (
        "mnist_usps",
        "MNIST↔USPS (16×16)",
        [("mnist", "usps"), ("usps", "mnist")],
        False,
    ),
    "wine": ("wine", "Wine quality", [("red", "white"), ("white", "red")], True),
    "gas": ("gas", "Gas-sensor drift", [("batch1", t) for t in GAS], True),
}
QUICK_TASKS = {
    "office_caltech": [("amazon", "webcam")],
    "mnist_usps": [("usps", "mnist")],
    "wine": [("red", "white")],
    "gas": [("batch1", "batch2")],
}
# Published averages (MEDA paper, J. Wang et al., ACM MM 2018, Tables 2-3).
PUBLISHED = {
    "office_caltech": {"1NN": 31.4, "JDA": 46.8, "CORAL": 48.8, "MEDA": 52.7},
    "mnist_usps": {"JDA": 63.5, "MEDA": 80.8},
}
SHALLOW = ("1nn", "logreg")
METHODS = ["1nn", "logreg", "source_only", "dann", "adda", "shot_im", "shot"]
LABELS = {
    "1nn": "1-NN",
    "logreg": "LogReg",
    "source_only": "source-only",
    "dann": "DANN",
    "adda": "ADDA",
    "shot_im": "SHOT-IM",
    "shot": "SHOT",
}
FIELDS = ["dataset", "task", "method", "seed", "acc", "secs"]


def make(method, seed, scale, overrides):
    """The estimator of ``method``; shallow ones with a scaler if ``scale``."""
    if method in SHALLOW:
        clf = (
            KNeighborsClassifier(1)
            if method == "1nn"
            else LogisticRegression(max_iter=2000)
        )
        return make_pipeline(StandardScaler(), clf) if scale else clf
    cls, extra = {
        "source_only": (skuda.SourceOnlyClassifier, {}),
        "dann": (skuda.DANNClassifier, {}),
        "adda": (skuda.ADDAClassifier, {}),
        "shot": (skuda.SHOTAdapter, {}),
        "shot_im": (skuda.SHOTAdapter, {"cls_par": 0.0}),
    }[method]
    est = cls(random_state=seed, **extra)
    valid = est.get_params()
    return est.set_params(**{k: v for k, v in overrides.items() if k in valid})


def jobs(datasets, seeds, methods, quick):
    # Seed-major, so a partial run still covers every task.
    for seed in seeds:
        for name in datasets:
            tasks = QUICK_TASKS[name] if quick else DATASETS[name][2]
            for src, tgt in tasks:
                for m in methods:
                    if m in SHALLOW and seed != seeds[0]:
                        continue  # deterministic
                    yield name, f"{src}→{tgt}", seed, m


def _done(path):
    if not path.exists():
        return set()
    with path.open() as f:
        return {(r["dataset"], r["task"], int(r["seed"]), r["method"])
                for r in csv.DictReader(f)}  # fmt: skip


def run(args, overrides):
    out = args.results / "tabular.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(out)
    k, n = (int(v) for v in args.shard.split("/"))
    cache = {}
    with out.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if not done and f.tell() == 0:
            writer.writeheader()
        todo = list(jobs(args.datasets, args.seeds, args.methods, args.quick))
        for i, (name, task, seed, method) in enumerate(todo):
            if i % n != k or (name, task, seed, method) in done:
                continue
            if (name, task) not in cache:
                src, tgt = task.split("→")
                ds = DATASETS[name][0]
                cache = {(name, task): (*load_domain(ds, src), *load_domain(ds, tgt))}
            Xs, ys, Xt, yt = cache[(name, task)]
            clf = make(method, seed, DATASETS[name][3], overrides)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                if method in SHALLOW:
                    clf.fit(Xs, ys)
                else:
                    clf.fit(Xs, ys, Xt)
            secs = time.perf_counter() - t0
            acc = 100 * float(np.mean(clf.predict(Xt) == yt))
            writer.writerow(
                dict(dataset=name, task=task, method=method, seed=seed,
                     acc=round(acc, 2), secs=round(secs, 2))
            )  # fmt: skip
            f.flush()
            print(
                f"{name:15s} {task:18s} {method:12s} seed={seed} "
                f"acc={acc:6.2f} {secs:6.1f}s",
                flush=True,
            )


# -- reporting ---------------------------------------------------------------------


def load_rows(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r.update(seed=int(r["seed"]), acc=float(r["acc"]), secs=float(r["secs"]))
    return rows


def summarise(rows, name):
    """``(methods, tasks, per-task {(task, m): [acc per seed]}, averages, secs)``.

    The average of a method is computed per seed over all tasks of the dataset
    (only seeds with every task done), then reported as mean +- std over seeds.
    """
    rows = [r for r in rows if r["dataset"] == name]
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    tasks = [f"{s}→{t}" for s, t in DATASETS[name][2]]
    tasks = [t for t in tasks if any(r["task"] == t for r in rows)]
    acc = {}
    for r in rows:
        acc.setdefault((r["task"], r["method"]), []).append(r["acc"])
    avg, secs = {}, {}
    for m in methods:
        per_seed = {}
        for r in rows:
            if r["method"] == m:
                per_seed.setdefault(r["seed"], []).append(r["acc"])
        avg[m] = [np.mean(v) for v in per_seed.values() if len(v) == len(tasks)]
        secs[m] = np.mean([r["secs"] for r in rows if r["method"] == m])
    return methods, tasks, acc, avg, secs


def _pm(values):
    if not values:
        return "–"
    return (
        f"{np.mean(values):.1f} ± {np.std(values):.1f}"
        if len(values) > 1
        else (f"{values[0]:.1f}")
    )


def table_rows(rows, name):
    methods, tasks, acc, avg, secs = summarise(rows, name)
    header = ["task", *(LABELS[m] for m in methods)]
    body = [[t, *(_pm(acc.get((t, m), [])) for m in methods)] for t in tasks]
    body.append(["**average**", *(_pm(avg[m]) for m in methods)])
    body.append(["seconds per fit", *(f"{secs[m]:.1f}" for m in methods)])
    return header, body


def plot(rows, name, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods, tasks, acc, avg, _ = summarise(rows, name)
    grid = np.array(
        [[np.mean(acc[(t, m)]) if (t, m) in acc else np.nan for m in methods]
         for t in tasks]
    )  # fmt: skip
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(12, 0.45 * len(tasks) + 2.5), width_ratios=(3, 2)
    )
    im = ax1.imshow(grid - np.nanmax(grid, axis=1, keepdims=True), cmap="RdYlGn",
                    vmin=-15, vmax=0, aspect="auto")  # fmt: skip
    for i, j in np.ndindex(grid.shape):
        ax1.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=8)
    ax1.set_xticks(range(len(methods)), [LABELS[m] for m in methods], rotation=30)
    ax1.set_yticks(range(len(tasks)), tasks)
    ax1.set_title("target accuracy per task (colour: gap to the best method)")
    fig.colorbar(im, ax=ax1, label="points below the best")
    means = [np.mean(avg[m]) if avg[m] else np.nan for m in methods]
    stds = [np.std(avg[m]) if avg[m] else 0 for m in methods]
    ax2.bar(range(len(methods)), means, yerr=stds, color="tab:blue", capsize=3)
    ax2.set_xticks(range(len(methods)), [LABELS[m] for m in methods], rotation=30)
    for label, value in PUBLISHED.get(name, {}).items():
        ax2.axhline(value, ls="--", lw=0.8, color="gray")
        ax2.text(-0.4, value, f"{label} {value}", va="bottom", ha="left",
                 fontsize=8, color="dimgray")  # fmt: skip
    finite = [v for v in means if np.isfinite(v)]
    low = min(finite + list(PUBLISHED.get(name, {}).values())) if finite else 0
    ax2.set_ylim(max(0, low - 10), None)
    ax2.set_ylabel("average target accuracy (%)")
    ax2.set_title(f"{DATASETS[name][1]}: average (± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(args):
    path = args.results / "tabular.csv"
    if not path.exists():
        print(f"no results yet at {path}")
        return
    rows = load_rows(path)
    for name in args.datasets:
        if not any(r["dataset"] == name for r in rows):
            continue
        header, body = table_rows(rows, name)
        text = markdown(header, body)
        if name in PUBLISHED:
            pub = ", ".join(f"{k} {v}" for k, v in PUBLISHED[name].items())
            text += f"\n\nPublished averages (MEDA paper): {pub}."
        print(f"\n## {DATASETS[name][1]}\n\n{text}")
        (args.results / f"{name}.md").write_text(text + "\n")
        (args.results / f"{name}.rst.inc").write_text(rst(header, body))
        plot(rows, name, args.results / f"{name}.png")
        if args.docs:
            args.docs.mkdir(parents=True, exist_ok=True)
            (args.docs / f"{name}.inc").write_text(rst(header, body))
            plot(rows, name, args.docs / f"{name}.png")
    print(f"\nwrote tables and plots to {args.results}")


def _delegate(script, argv):
    sys.argv = [str(HERE / script), *argv]
    runpy.run_path(str(HERE / script), run_name="__main__")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--suite", choices=["tabular", "signals", "selection", "speed"], required=True
    )
    parser.add_argument("--quick", action="store_true",
                        help="one task per dataset and one seed")  # fmt: skip
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS),
                        choices=list(DATASETS))  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--shard", default="0/1", help="k/n: every n-th job from k")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter of every deep method")  # fmt: skip
    parser.add_argument("--results", type=Path, default=None,
                        help="default: benchmarks/results/tabular")  # fmt: skip
    parser.add_argument("--report", action="store_true",
                        help="only write tables and plots from the CSV")  # fmt: skip
    parser.add_argument("--docs", type=Path, default=None,
                        help="also write <dataset>.inc and .png here")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--suite", default=None)
    known, rest = pre.parse_known_args(argv)
    script = {"signals": "signals.py", "selection": "selection.py",
              "speed": "bench_speed.py"}.get(known.suite)  # fmt: skip
    if script:  # every other argument belongs to that script
        return _delegate(script, rest)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    default = HERE / "results" / ("tabular_quick" if args.quick else "tabular")
    args.results = args.results or default
    overrides = dict(_parse_set(s) for s in args.set)
    if not args.report:
        run(args, overrides)
    report(args)


def _parse_set(text):
    name, _, value = text.partition("=")
    for cast in (int, float):
        try:
            return name, cast(value)
        except ValueError:
            pass
    return name, {"True": True, "False": False, "None": None}.get(value, value)


if __name__ == "__main__":
    main()
