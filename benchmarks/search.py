r"""One-line label-free tuning against its oracle: ``DASearchCV`` with defaults.

Usage::

    python -m benchmarks.run --suite search                      # all tasks, seed 0
    python -m benchmarks.run --suite search --tasks wine:red:white --out s.csv
    python -m benchmarks.run --suite search --table-from a.csv b.csv

For every task (one or more per real dataset, fixed in advance) and method,
``DASearchCV(estimator)`` runs with everything at its default: the method's
default grid (``skuda.selection.DEFAULT_GRIDS``), the default label-free scorer
("im" for classifiers) and 3 stacked-domain folds; it refits its choice on all
rows. The *oracle* fits every candidate of the same grid on all rows (the
same seed, so the search's refit is one of them) and keeps the best target
accuracy, which needs target labels. Regret = oracle accuracy - accuracy of
the search's refitted choice (0 when the search picks the best candidate).
No target label reaches the search. Inputs and backbones per dataset are those
of the selection benchmark (CWRU as log spectra with the MLP, HAR with the
1-D CNN and per-domain scaling); every other setting is the estimator's
default. One CSV row per (task, method, seed, candidate).
"""

from __future__ import annotations

import itertools
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

from skuda import DANNClassifier, MCCClassifier
from skuda.selection import DASearchCV

if __package__:  # python -m benchmarks.run --suite search
    from . import _common as common
else:  # python benchmarks/search.py
    import _common as common

TASKS = [
    "office_caltech:amazon:webcam",
    "office_caltech:caltech:amazon",
    "mnist_usps:usps:mnist",
    "gas:batch1:batch2",
    "wine:red:white",
    "cwru:load0:load3",
    "har:subject07:subject13",
]
METHODS = {"dann": DANNClassifier, "mcc": MCCClassifier}
SETTINGS = {"har": dict(feature_extractor="cnn1d", input_scaling="domain")}
COLUMNS = {
    "task": str,
    "method": str,
    "seed": int,
    "params": str,
    "chosen": int,
    "target_accuracy": float,
    "search_accuracy": float,
    "seconds": float,
}


def load_task(task):
    """``TaskData`` of a task: CWRU as log spectra, as in the selection benchmark."""
    data = common.load_task(task)
    if common.parse_task(task)[0] == "cwru":
        data = common.log_spectra(data)
    return data


def run_task(task, method, seed):
    """Search, then fit every candidate of the grid; yields one row per candidate."""
    data = load_task(task)
    params = SETTINGS.get(common.parse_task(task)[0], {})
    base = METHODS[method](random_state=seed, **params)
    oracle = common.TargetAccuracyOracle(data.X_test, data.y_test)
    t0 = time.perf_counter()
    search = DASearchCV(base, random_state=seed).fit(data.X_src, data.y_src, data.X_tgt)
    search_s = time.perf_counter() - t0
    search_acc = 100 * oracle(search)  # evaluation only, after the choice
    grid = search.param_grid_
    for values in itertools.product(*grid.values()):
        candidate = dict(zip(grid, values, strict=True))
        t0 = time.perf_counter()
        clf = clone(base).set_params(**candidate)
        clf.fit(data.X_src, data.y_src, data.X_tgt)
        chosen = candidate == search.best_params_
        yield dict(
            task=task,
            method=method,
            seed=seed,
            params=" ".join(f"{k}={v}" for k, v in candidate.items()),
            chosen=int(chosen),
            target_accuracy=100 * oracle(clf),
            search_accuracy=search_acc,
            seconds=search_s if chosen else time.perf_counter() - t0,
        )


def summarise(rows):
    """Per (task, method, seed): oracle, search accuracy and regret."""
    groups = {}
    for r in rows:
        groups.setdefault((r["task"], r["method"], r["seed"]), []).append(r)
    out = []
    for (task, method, seed), grp in groups.items():
        best = max(r["target_accuracy"] for r in grp)
        picked = [r for r in grp if r["chosen"]]
        search = grp[0]["search_accuracy"]
        out.append(dict(task=task, method=method, seed=seed, oracle=best,
                        search=search, regret=best - search,
                        choice=picked[0]["params"] if picked else "?",
                        worst=min(r["target_accuracy"] for r in grp)))  # fmt: skip
    return out


def table(rows):
    """``(header, body)``: one line per task and method, then the mean per method."""
    summary = summarise(rows)
    header = ["task", "method", "search choice", "search acc.", "oracle acc.",
              "worst in grid", "regret"]  # fmt: skip
    body = [[s["task"], s["method"], s["choice"], f"{s['search']:.1f}",
             f"{s['oracle']:.1f}", f"{s['worst']:.1f}", f"{s['regret']:.1f}"]
            for s in summary]  # fmt: skip
    for method in dict.fromkeys(s["method"] for s in summary):
        sel = [s for s in summary if s["method"] == method]
        body.append([f"**mean ({len(sel)} runs)**", method, "",
                     f"{np.mean([s['search'] for s in sel]):.1f}",
                     f"{np.mean([s['oracle'] for s in sel]):.1f}",
                     f"{np.mean([s['worst'] for s in sel]):.1f}",
                     f"**{np.mean([s['regret'] for s in sel]):.2f}**"])  # fmt: skip
    return header, body


def main(argv=None):
    """Run the search benchmark (or print the table of ``--table-from``)."""
    parser = common.argument_parser(__doc__, "search")
    parser.add_argument("--tasks", nargs="+", default=TASKS, type=common.task_type())
    parser.add_argument("--methods", nargs="+", default=["dann"], choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=common.RESULTS / "search.csv")
    parser.add_argument("--table-from", nargs="+", type=Path)
    parser.add_argument("--rst", type=Path, help="with --table-from: RST copy")
    args = parser.parse_args(argv)
    if args.table_from:
        header, body = table(common.read_rows(args.table_from, COLUMNS))
        if args.rst:
            args.rst.write_text(common.rst(header, body))
        print(common.markdown(header, body))
        return None
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for task, method, seed in itertools.product(args.tasks, args.methods, args.seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for row in run_task(task, method, seed):
                common.append_row(args.out, COLUMNS, row, new=not rows)
                rows.append(row)
                mark = "  <- search" if row["chosen"] else ""
                acc = row["target_accuracy"]
                print(f"{task:30s} {method:5s} seed={seed} {row['params']:28s} "
                      f"acc={acc:.1f}{mark}", flush=True)  # fmt: skip
    print(common.markdown(*table(rows)))
    return rows


if __name__ == "__main__":
    main()
