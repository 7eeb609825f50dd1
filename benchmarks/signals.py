"""Signal benchmarks: CWRU cross-load (raw vibration) and UCI HAR cross-subject.

Usage::

    python benchmarks/signals.py                                 # everything, 3 seeds
    python benchmarks/signals.py --tasks cwru:0:2 har:2:11 --seeds 0 \\
        --methods source_only dann

Tasks are ``cwru:<src load>:<tgt load>`` and ``har:<src subject>:<tgt subject>``.
CWRU is run twice per method: on the raw windows with the WDCNN backbone
(``time``) and on log ``FFTMagnitude`` spectra (513 bins) with the MLP
(``freq``). The whole
target load is the unlabelled set and the test set (transductive protocol).
HAR uses the CNN1d backbone, per-domain channel scaling (AdaTime's loader
standardises each split with its own statistics), trains on the target
subject's train rows and reports on its test rows (AdaTime's protocol).

Prints a markdown table (accuracy and macro-F1, mean ± std over seeds) and
writes a CSV under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from skuda import ADDAClassifier, DANNClassifier, SHOTAdapter, SourceOnlyClassifier
from skuda.datasets import load_domain, load_har
from skuda.preprocessing import FFTMagnitude

try:
    from _tables import markdown_to_rst
except ImportError:
    from benchmarks._tables import markdown_to_rst

CWRU_TASKS = [f"cwru:{s}:{t}" for s in range(4) for t in range(4) if s != t]
HAR_SCENARIOS = [
    (2, 11), (6, 23), (7, 13), (9, 18), (12, 16),
    (18, 27), (20, 5), (24, 8), (28, 27), (30, 20),
]  # fmt: skip
HAR_TASKS = [f"har:{s}:{t}" for s, t in HAR_SCENARIOS]
METHODS = ("source_only", "dann", "adda", "shot")


def make_estimator(method, backbone, seed, epochs):
    """One estimator; ``backbone`` is "wdcnn", "cnn1d" or None (MLP)."""
    common = dict(feature_extractor=backbone, random_state=seed, batch_size=32)
    if backbone == "cnn1d":
        common["input_scaling"] = "domain"
    if method == "source_only":
        return SourceOnlyClassifier(max_epochs=epochs, **common)
    if method == "dann":
        # lambda_ = 1 as in the papers for CNN encoders; the MLP keeps 0.3.
        lam = 0.3 if backbone is None else 1.0
        return DANNClassifier(lambda_=lam, max_epochs=epochs, **common)
    if method == "adda":
        return ADDAClassifier(pretrain_epochs=epochs, max_epochs=epochs // 2, **common)
    if method == "shot":
        return SHOTAdapter(source_epochs=epochs, max_epochs=epochs // 2, **common)
    raise ValueError(f"Unknown method {method!r}; choose from {METHODS}.")


def load_task(spec):
    """Variants ``(input_name, backbone, Xs, ys, Xt_train, Xt_test, yt_test)``."""
    dataset, src, tgt = spec.split(":")
    if dataset == "cwru":
        Xs, ys = load_domain("cwru", f"load{src}")
        Xt, yt = load_domain("cwru", f"load{tgt}")
        fft = FFTMagnitude(log=True).fit(Xs)
        Fs, Ft = fft.transform(Xs), fft.transform(Xt)
        return [
            ("time", "wdcnn", Xs, ys, Xt, Xt, yt),
            ("freq", None, Fs, ys, Ft, Ft, yt),
        ]
    if dataset == "har":
        Xs, ys, _, _ = load_har(int(src))
        Xt, _, Xt_test, yt_test = load_har(int(tgt))
        return [("time", "cnn1d", Xs, ys, Xt, Xt_test, yt_test)]
    raise ValueError(f"Unknown task {spec!r}; use cwru:<i>:<j> or har:<i>:<j>.")


def run(tasks, seeds, methods, epochs, out=None):
    """Fit every (task, input, method, seed); rows are appended to ``out`` as done."""
    rows = []
    writer = None
    for spec in tasks:
        for inp, backbone, Xs, ys, Xt, Xt_test, yt_test in load_task(spec):
            for method in methods:
                for seed in seeds:
                    clf = make_estimator(method, backbone, seed, epochs)
                    t0 = time.perf_counter()
                    clf.fit(Xs, ys, Xt)
                    pred = clf.predict(Xt_test)
                    rows.append(
                        dict(
                            task=spec,
                            input=inp,
                            method=method,
                            seed=seed,
                            accuracy=100 * accuracy_score(yt_test, pred),
                            macro_f1=100 * f1_score(yt_test, pred, average="macro"),
                            seconds=time.perf_counter() - t0,
                        )
                    )
                    r = rows[-1]
                    if out is not None:
                        if writer is None:
                            fh = open(out, "w", newline="")
                            writer = csv.DictWriter(fh, fieldnames=list(r))
                            writer.writeheader()
                        writer.writerow(r)
                        fh.flush()
                    print(
                        f"{spec:10s} {inp:4s} {method:11s} seed={seed} "
                        f"acc={r['accuracy']:.1f} f1={r['macro_f1']:.1f} "
                        f"({r['seconds']:.0f} s)",
                        flush=True,
                    )
    return rows


def _fmt(values):
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}"


def table(rows):
    """Markdown: one line per task and input, one column per method (acc / F1)."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    keys = list(dict.fromkeys((r["task"], r["input"]) for r in rows))
    lines = [
        "| task | input | " + " | ".join(f"{m} acc / F1" for m in methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]

    def cell(sel):
        if not sel:
            return "-"
        acc, f1 = [r["accuracy"] for r in sel], [r["macro_f1"] for r in sel]
        return f"{_fmt(acc)} / {_fmt(f1)}"

    for task, inp in keys:
        cells = [
            cell(
                [
                    r
                    for r in rows
                    if (r["task"], r["input"], r["method"]) == (task, inp, m)
                ]
            )
            for m in methods
        ]
        lines.append(f"| {task} | {inp} | " + " | ".join(cells) + " |")
    for dataset in dict.fromkeys(k[0].split(":")[0] for k in keys):
        for inp in dict.fromkeys(k[1] for k in keys if k[0].startswith(dataset)):
            cells = []
            for m in methods:
                sel = [
                    r
                    for r in rows
                    if r["task"].startswith(dataset + ":")
                    and r["input"] == inp
                    and r["method"] == m
                ]
                cells.append(_avg_cell(sel))
            lines.append(
                f"| **{dataset} average** | {inp} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


def _avg_cell(sel):
    """Average over tasks of the per-task means; ± is the std over seeds of that."""
    if not sel:
        return "-"
    out = []
    for metric in ("accuracy", "macro_f1"):
        seeds = sorted({r["seed"] for r in sel})
        per_seed = [np.mean([r[metric] for r in sel if r["seed"] == s]) for s in seeds]
        out.append(_fmt(per_seed))
    return " / ".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=CWRU_TASKS + HAR_TASKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="CSV path")
    parser.add_argument("--rst", default=None, help="with --table-from: RST copy")
    parser.add_argument(
        "--table-from", nargs="+", default=None, metavar="CSV",
        help="print the table of finished runs (CSV files) and exit",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.table_from:
        rows = []
        for path in args.table_from:
            with open(path, newline="") as fh:
                rows += [
                    {**r, "seed": int(r["seed"]), "accuracy": float(r["accuracy"]),
                     "macro_f1": float(r["macro_f1"])}
                    for r in csv.DictReader(fh)
                ]  # fmt: skip
        print(table(rows))
        if args.rst:
            Path(args.rst).write_text(markdown_to_rst(table(rows)))
        return
    out = Path(args.out or Path(__file__).parent / "results" / "signals.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = run(args.tasks, args.seeds, args.methods, args.epochs, out=out)
    print()
    print(table(rows))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
