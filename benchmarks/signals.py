r"""Signal benchmarks: CWRU cross-load (raw vibration) and UCI HAR cross-subject.

Usage::

    python -m benchmarks.run --suite signals                     # everything, 3 seeds
    python -m benchmarks.run --suite signals --seeds 0 \
        --tasks cwru:load0:load2 har:subject02:subject11 --methods source_only dann
    python -m benchmarks.run --suite signals --table-from a.csv b.csv --rst t.inc

Tasks are ``cwru:load<i>:load<j>`` and ``har:subject<ii>:subject<jj>``
(the domain names of :func:`skuda.datasets.load_domain`).
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

import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)

if __package__:  # python -m benchmarks.run --suite signals
    from . import _common as common
else:  # python benchmarks/signals.py
    import _common as common

CWRU_TASKS = [
    common.task_name("cwru", f"load{s}", f"load{t}")
    for s in range(4)
    for t in range(4)
    if s != t
]
HAR_SCENARIOS = [
    (2, 11), (6, 23), (7, 13), (9, 18), (12, 16),
    (18, 27), (20, 5), (24, 8), (28, 27), (30, 20),
]  # fmt: skip
HAR_TASKS = [
    common.task_name("har", f"subject{s:02d}", f"subject{t:02d}")
    for s, t in HAR_SCENARIOS
]
METHODS = ("source_only", "dann", "adda", "shot", "mcc", "cdan")
COLUMNS = {
    "task": str,
    "input": str,
    "method": str,
    "seed": int,
    "accuracy": float,
    "macro_f1": float,
    "seconds": float,
}


def make_estimator(method, backbone, seed, epochs):
    """One estimator; ``backbone`` is "wdcnn", "cnn1d" or None (MLP)."""
    shared = dict(feature_extractor=backbone, random_state=seed, batch_size=32)
    if backbone == "cnn1d":
        shared["input_scaling"] = "domain"
    if method == "source_only":
        return SourceOnlyClassifier(max_epochs=epochs, **shared)
    if method == "dann":
        # lambda_ = 1 as in the papers for CNN encoders; the MLP keeps 0.3.
        lam = 0.3 if backbone is None else 1.0
        return DANNClassifier(lambda_=lam, max_epochs=epochs, **shared)
    if method == "adda":
        return ADDAClassifier(source_epochs=epochs, max_epochs=epochs // 2, **shared)
    if method == "shot":
        return SHOTAdapter(source_epochs=epochs, max_epochs=epochs // 2, **shared)
    if method == "mcc":
        return MCCClassifier(max_epochs=epochs, **shared)
    if method == "cdan":
        return CDANClassifier(max_epochs=epochs, **shared)
    raise ValueError(f"Unknown method {method!r}; choose from {METHODS}.")


def variants(task):
    """``[(input_name, backbone, TaskData)]``: the inputs a task is run on."""
    data = common.load_task(task)
    if common.parse_task(task)[0] == "har":
        return [("time", "cnn1d", data)]
    return [("time", "wdcnn", data), ("freq", None, common.log_spectra(data))]


def run(tasks, seeds, methods, epochs, out):
    """Fit every (task, input, method, seed); rows are appended to ``out`` as done."""
    rows = []
    for task in tasks:
        for inp, backbone, data in variants(task):
            for method in methods:
                for seed in seeds:
                    clf = make_estimator(method, backbone, seed, epochs)
                    t0 = time.perf_counter()
                    clf.fit(data.X_src, data.y_src, data.X_tgt)
                    pred = clf.predict(data.X_test)
                    y = data.y_test
                    r = dict(
                        task=task,
                        input=inp,
                        method=method,
                        seed=seed,
                        accuracy=100 * accuracy_score(y, pred),
                        macro_f1=100 * f1_score(y, pred, average="macro"),
                        seconds=time.perf_counter() - t0,
                    )
                    common.append_row(out, COLUMNS, r, new=not rows)
                    rows.append(r)
                    print(
                        f"{task:24s} {inp:4s} {method:11s} seed={seed} "
                        f"acc={r['accuracy']:.1f} f1={r['macro_f1']:.1f} "
                        f"({r['seconds']:.0f} s)",
                        flush=True,
                    )
    return rows


def table(rows):
    """``(header, body)``: one line per task and input, one column per method."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    keys = list(dict.fromkeys((r["task"], r["input"]) for r in rows))
    header = ["task", "input", *(f"{m} acc / F1" for m in methods)]

    def cell(sel):
        if not sel:
            return "-"
        acc, f1 = [r["accuracy"] for r in sel], [r["macro_f1"] for r in sel]
        return f"{common.mean_std(acc)} / {common.mean_std(f1)}"

    body = [
        [task, inp, *(cell([r for r in rows
                                   if (r["task"], r["input"], r["method"])
                                   == (task, inp, m)]) for m in methods)]
        for task, inp in keys
    ]  # fmt: skip
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
            body.append([f"**{dataset} average**", inp, *cells])
    return header, body


def _avg_cell(sel):
    """Average over tasks of the per-task means; ± is the std over seeds of that."""
    if not sel:
        return "-"
    out = []
    for metric in ("accuracy", "macro_f1"):
        seeds = sorted({r["seed"] for r in sel})
        per_seed = [np.mean([r[metric] for r in sel if r["seed"] == s]) for s in seeds]
        out.append(common.mean_std(per_seed))
    return " / ".join(out)


def main(argv=None):
    """Run the signal benchmarks and print their table (or that of ``--table-from``)."""
    parser = common.argument_parser(__doc__, "signals")
    parser.add_argument("--tasks", nargs="+", default=CWRU_TASKS + HAR_TASKS,
                        type=common.task_type(("cwru", "har")))  # fmt: skip
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
        header, body = table(common.read_rows(args.table_from, COLUMNS))
        print(common.markdown(header, body))
        if args.rst:
            Path(args.rst).write_text(common.rst(header, body))
        return
    out = Path(args.out or common.RESULTS / "signals.csv")
    rows = run(args.tasks, args.seeds, args.methods, args.epochs, out=out)
    print()
    print(common.markdown(*table(rows)))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
