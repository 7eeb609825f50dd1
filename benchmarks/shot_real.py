"""SHOT and SHOT-IM vs source-only and DANN on real benchmark tasks.

Usage::

    python benchmarks/shot_real.py                         # 14 tasks, 3 seeds
    python benchmarks/shot_real.py --tasks oc:amazon:webcam --seeds 0
    python benchmarks/shot_real.py --methods shot shot_im --set adapt_lr=3e-4

For each task and seed one SHOT source model is trained (``SHOTAdapter`` fitted
on the source alone) and adapted twice through the source-free path (SHOT and
SHOT-IM, ``cls_par=0``), so the two share their source model; "shot_source" is
that model before adaptation. Prints one line per fit, then a markdown table
of target accuracy (mean ± std over seeds); "adapt s" is the adaptation time
alone (source-free fit), "fit s" the whole fit of the baselines.
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings

import numpy as np
import torch

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.datasets import load_domain
from skuda.shot import SHOTAdapter

ALIASES = {"oc": "office_caltech", "mu": "mnist_usps"}
OC = ["caltech", "amazon", "webcam", "dslr"]
DEFAULT_TASKS = [f"oc:{s}:{t}" for s in OC for t in OC if s != t] + [
    "mu:mnist:usps",
    "mu:usps:mnist",
]
METHODS = ["source_only", "dann", "shot_source", "shot_im", "shot"]


def fit_shot_family(Xs, ys, Xt, yt, seed, methods, overrides):
    """Accuracy and seconds of the SHOT source model and its adaptations."""
    out = {}
    t0 = time.perf_counter()
    source = SHOTAdapter(random_state=seed, **overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # source-only fit, on purpose
        source.fit(Xs, ys)
    out["shot_source"] = (source.score(Xt, yt), time.perf_counter() - t0)
    for name, cls_par in (("shot_im", 0.0), ("shot", overrides.get("cls_par", 0.3))):
        if name in methods:
            params = {**overrides, "cls_par": cls_par}
            t0 = time.perf_counter()
            clf = SHOTAdapter(source, random_state=seed, **params).fit(Xt)
            out[name] = (clf.score(Xt, yt), time.perf_counter() - t0)
    return out


def run(tasks, seeds, methods, overrides):
    common = {k: overrides[k] for k in ("input_scaling",) if k in overrides}
    rows = []
    for spec in tasks:
        ds, src, tgt = spec.split(":")
        Xs, ys = load_domain(ALIASES.get(ds, ds), src)
        Xt, yt = load_domain(ALIASES.get(ds, ds), tgt)
        for seed in seeds:
            results = {}
            for name, cls in (
                ("source_only", SourceOnlyClassifier),
                ("dann", DANNClassifier),
            ):
                if name in methods:
                    t0 = time.perf_counter()
                    clf = cls(random_state=seed, **common)
                    clf.fit(Xs, ys) if name == "source_only" else clf.fit(Xs, ys, Xt)
                    results[name] = (clf.score(Xt, yt), time.perf_counter() - t0)
            if {"shot_source", "shot", "shot_im"} & set(methods):
                results.update(
                    fit_shot_family(Xs, ys, Xt, yt, seed, methods, overrides)
                )
            for name, (acc, secs) in results.items():
                rows.append(
                    dict(task=spec, method=name, seed=seed, acc=100 * acc, secs=secs)
                )
                print(
                    f"{spec:22s} {name:12s} seed={seed} acc={100 * acc:6.2f} "
                    f"{secs:6.1f}s",
                    flush=True,
                )
    return rows


def table(rows):
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    print("\n| task | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    per_seed = {}
    for task in tasks:
        cells = []
        for m in methods:
            accs = [r["acc"] for r in rows if r["task"] == task and r["method"] == m]
            for r in rows:
                if r["task"] == task and r["method"] == m:
                    key = (m, task.split(":")[0], r["seed"])
                    per_seed.setdefault(key, []).append(r["acc"])
            cells.append(f"{np.mean(accs):.1f} ± {np.std(accs):.1f}" if accs else "")
        print(f"| {task} | " + " | ".join(cells) + " |")
    for ds in dict.fromkeys(t.split(":")[0] for t in tasks):
        cells = []
        for m in methods:
            avgs = [
                np.mean(v) for (mm, d, _), v in per_seed.items() if mm == m and d == ds
            ]
            cells.append(f"**{np.mean(avgs):.1f} ± {np.std(avgs):.1f}**")
        print(f"| mean {ds} | " + " | ".join(cells) + " |")
    print("\n| method | mean seconds per fit (adaptation only for shot, shot_im) |")
    print("|---|---|")
    for m in methods:
        print(f"| {m} | {np.mean([r['secs'] for r in rows if r['method'] == m]):.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="SHOTAdapter parameter override (repeatable)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--input-scaling", default="pooled", choices=["pooled", "domain", "none"]
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = ast.literal_eval(value)
    scaling = args.input_scaling
    overrides["input_scaling"] = None if scaling == "none" else scaling
    table(run(args.tasks, args.seeds, args.methods, overrides))


if __name__ == "__main__":
    main()
