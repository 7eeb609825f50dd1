"""ADDA vs source-only vs DANN on the real benchmarks (transductive protocol).

Prints one row per (task, seed, method) as it finishes, then mean +- std per task.
ADDA re-uses the fitted source-only model of the same seed as its pre-trained
source model (``ADDAClassifier(source_estimator=...)``): ADDA's own pre-training
with the same seed and data builds exactly that network (tested in
tests/test_adda.py), so ADDA's "pretrain" time is the source-only time and only
the adaptation phase is run again.

    python benchmarks/adda_real.py                      # all 14 tasks, seeds 0 1 2
    python benchmarks/adda_real.py --seeds 0 --tasks A:W M:U
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
import torch

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.adda import ADDAClassifier
from skuda.datasets import load_domain

OFFICE = {"A": "amazon", "C": "caltech", "D": "dslr", "W": "webcam"}
DIGITS = {"M": "mnist", "U": "usps"}
TASKS = [
    *(
        f"{s}:{t}"
        for s, t in [
            ("C", "A"), ("C", "W"), ("C", "D"), ("A", "C"), ("A", "W"), ("A", "D"),
            ("W", "C"), ("W", "A"), ("W", "D"), ("D", "C"), ("D", "A"), ("D", "W"),
        ]
    ),
    "M:U",
    "U:M",
]  # fmt: skip


def load_task(task):
    s, t = task.split(":")
    if s in DIGITS:
        dataset, names = "mnist_usps", DIGITS
    else:
        dataset, names = "office_caltech", OFFICE
    return (*load_domain(dataset, names[s]), *load_domain(dataset, names[t]))


def timed_fit(est, *args):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(*args)
    return est, time.perf_counter() - start, caught


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-dann", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # a script may; the library never does

    acc = defaultdict(list)
    secs = defaultdict(list)
    print(f"{'task':5} {'seed':>4} {'method':12} {'acc':>6} {'seconds':>8}", flush=True)
    for task in args.tasks:
        Xs, ys, Xt, yt = load_task(task)
        for seed in args.seeds:
            # Target rows only inform the input scaling of the source-only model.
            src, t_src, _ = timed_fit(
                SourceOnlyClassifier(random_state=seed, device="cpu"), Xs, ys, Xt
            )
            runs = [("source-only", src, t_src, [])]
            adda, t_adapt, caught = timed_fit(
                ADDAClassifier(src, random_state=seed, device="cpu"), Xs, ys, Xt
            )
            runs.append(("adda", adda, t_adapt, caught))
            if not args.no_dann:
                dann, t_dann, _ = timed_fit(
                    DANNClassifier(random_state=seed, device="cpu"), Xs, ys, Xt
                )
                runs.append(("dann", dann, t_dann, []))
            for name, est, sec, caught in runs:
                score = est.score(Xt, yt)
                acc[task, name].append(score)
                secs[task, name].append(sec)
                note = " collapse-warning" if caught else ""
                print(f"{task:5} {seed:4d} {name:12} {score:6.3f} {sec:8.1f}{note}")
            print("", flush=True)

    methods = ["source-only", "adda"] + ([] if args.no_dann else ["dann"])
    print("\nmean +- std over seeds", args.seeds, "(target accuracy, %)")
    header = "".join(f"{m:>18}" for m in methods)
    print(f"{'task':5}{header}   adda-pretrain-s  adda-adapt-s")
    means = defaultdict(list)
    for task in args.tasks:
        cells = []
        for m in methods:
            a = 100 * np.array(acc[task, m])
            means[m].append(a.mean())
            cells.append(f"{a.mean():11.1f} +- {a.std():4.1f}")
        pre, ada = np.mean(secs[task, "source-only"]), np.mean(secs[task, "adda"])
        row = "".join(f"{c:>18}" for c in cells)
        print(f"{task:5}{row}{pre:17.1f}{ada:14.1f}")
    print(f"{'mean':5}" + "".join(f"{np.mean(means[m]):18.1f}" for m in methods))


if __name__ == "__main__":
    main()
