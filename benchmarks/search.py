r"""One-line label-free tuning against its oracle: ``DASearchCV`` with defaults.

Usage::

    python -m benchmarks.run --suite search                      # all tasks, seed 0
    python -m benchmarks.run --suite search --tasks wine:red:white --out s.csv
    python -m benchmarks.run --suite search --table-from a.csv b.csv
    python -m benchmarks.run --suite search --scoring ensemble --out e.csv
    python -m benchmarks.run --suite search --tasks synthetic:moons2d_rot --seeds 0 1 2
    python -m benchmarks.run --suite search --table-from a.csv b.csv --lodo

For every task (one or more per real dataset, fixed in advance) and method,
``DASearchCV(estimator, scoring="im")`` runs with everything else at its
default: the method's default grid (``skuda.selection.DEFAULT_GRIDS``) and 3
stacked-domain folds; it refits its choice on all rows. (Information
maximisation was ``DASearchCV``'s default scorer for classifiers until the
leave-one-dataset-out comparison of ``--lodo`` made ``"ensemble"`` the
default.) The *oracle* fits every candidate of the same grid on all rows (the
same seed, so the search's refit is one of them) and keeps the best target
accuracy, which needs target labels. Regret = oracle accuracy - accuracy of
the search's refitted choice (0 when the search picks the best candidate).
No target label reaches the search. Inputs and backbones per dataset are those
of the selection benchmark (CWRU as log spectra with the MLP, HAR with the
1-D CNN and per-domain scaling); every other setting is the estimator's
default. One CSV row per (task, method, seed, candidate).

``--scoring ensemble`` (or ``--scoring im ensemble``, both from one set of
oracle fits) makes the choice by ensemble agreement (EnsV,
``DASearchCV(scoring="ensemble")``) from the oracle's own fits (one fit per
candidate; those rows are labelled ``<method> (ensemble)``). ``--tasks
synthetic:<name>`` runs a synthetic shift of the default study instead, with
the seed drawing the data too (its target rows are the scored rows).

``--table-from a.csv b.csv --lodo`` compares the scorers by leave one dataset
out (each real dataset and each synthetic problem is one dataset): the rule
that picks ``DASearchCV``'s default scoring (:func:`scorer_lodo`).
``--table-from a.csv b.csv --per-dataset --scoring ensemble`` gives one
scorer's regret per dataset over every run the CSVs hold
(:func:`dataset_table`), e.g. with every task of a dataset run as in::

    python -m benchmarks.run --suite search --scoring ensemble --seeds 0 1 2 \
        --tasks gas:batch1:batch3 gas:batch1:batch4 --out more.csv
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

from skuda import DANNClassifier, DeepCORALClassifier, MCCClassifier
from skuda.selection import DASearchCV, default_grid
from skuda.selection._search import ensemble_scores

if __package__:  # python -m benchmarks.run --suite search
    from . import _common as common
    from .defaults_study import SYNTHETIC
else:  # python benchmarks/search.py
    import _common as common
    from defaults_study import SYNTHETIC

TASKS = [
    "office_caltech:amazon:webcam",
    "office_caltech:caltech:amazon",
    "mnist_usps:usps:mnist",
    "gas:batch1:batch2",
    "wine:red:white",
    "cwru:load0:load3",
    "har:subject07:subject13",
]
METHODS = {
    "dann": DANNClassifier,
    "mcc": MCCClassifier,
    "dan": partial(DeepCORALClassifier, discrepancy="mmd"),
}
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


def load_task(task, seed=0):
    """``TaskData`` of a task: CWRU as log spectra, as in the selection benchmark.

    ``synthetic:<name>`` is a synthetic shift of the default study
    (``defaults_study.SYNTHETIC``) drawn with ``seed``; its target rows are
    also the rows it is scored on.
    """
    if task.startswith("synthetic:"):
        Xs, ys, Xt, yt = SYNTHETIC[task.split(":", 1)[1]](seed)
        return common.TaskData(Xs, ys, Xt, Xt, yt)
    data = common.load_task(task)
    if common.parse_task(task)[0] == "cwru":
        data = common.log_spectra(data)
    return data


def run_task(task, method, seed, scorings=("im",)):
    """Search, then fit every candidate of the grid; yields one row per candidate.

    The oracle's fits (every candidate on all rows, the same seed) are also the
    fits of ``DASearchCV(scoring="ensemble")``, so with ``"ensemble"`` in
    ``scorings`` the ensemble choice is made from them with DASearchCV's own
    rule (``ensemble_scores`` of the target probabilities): one set of
    fits serves the oracle and the ensemble.
    """
    data = load_task(task, seed)
    params = SETTINGS.get(task.split(":")[0], {})
    base = METHODS[method](random_state=seed, **params)
    oracle = common.TargetAccuracyOracle(data.X_test, data.y_test)
    picks = {}  # scoring -> (index of the choice, accuracy of the choice, seconds)
    grid = default_grid(base)
    candidates = [
        dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())
    ]
    if "im" in scorings:
        t0 = time.perf_counter()
        search = DASearchCV(base, scoring="im", random_state=seed)
        search.fit(data.X_src, data.y_src, data.X_tgt)
        picks["im"] = (
            candidates.index(search.best_params_),
            100 * oracle(search),  # evaluation only, after the choice
            time.perf_counter() - t0,
        )
    accuracy, seconds, probas = [], [], []
    for candidate in candidates:
        t0 = time.perf_counter()
        clf = clone(base).set_params(**candidate)
        clf.fit(data.X_src, data.y_src, data.X_tgt)
        seconds.append(time.perf_counter() - t0)
        accuracy.append(100 * oracle(clf))
        probas.append(clf.predict_proba(data.X_tgt))
    if "ensemble" in scorings:
        best = int(np.argmax(ensemble_scores(probas)))
        picks["ensemble"] = (best, accuracy[best], None)
    for scoring, (best, acc, search_s) in picks.items():
        for i, candidate in enumerate(candidates):
            yield dict(
                task=task,
                method=method if scoring == "im" else f"{method} ({scoring})",
                seed=seed,
                params=" ".join(f"{k}={v}" for k, v in candidate.items()),
                chosen=int(i == best),
                target_accuracy=accuracy[i],
                search_accuracy=acc,
                seconds=search_s if search_s and i == best else seconds[i],
            )


def _task(name):
    """Check a task name: a real task, or ``synthetic:<name>`` (default study)."""
    if name.startswith("synthetic:"):
        if name.split(":", 1)[1] not in SYNTHETIC:
            raise argparse.ArgumentTypeError(
                f"{name!r}: synthetic problems are {', '.join(SYNTHETIC)}"
            )
        return name
    return common.task_type()(name)


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
                        worst=min(r["target_accuracy"] for r in grp),
                        unsearched=best - _default_accuracy(method, grp)))  # fmt: skip
    return out


def _default_accuracy(method, group):
    """Target accuracy of the candidate of ``group`` at the estimator's default."""
    default = METHODS[method.split(" ", 1)[0]]()
    defaults = default.get_params()
    if defaults.get("lambda_") == "auto":  # Deep CORAL / DAN: the weight it uses
        defaults["lambda_"] = default._net_params()["weight"]
    for r in group:
        params = dict(p.split("=", 1) for p in r["params"].split())
        if all(float(v) == defaults[k] for k, v in params.items()):
            return r["target_accuracy"]
    return float("nan")


def _label(summary):
    """Name the task, with its seed when not 0 (synthetic problems: always)."""
    if summary["seed"] or summary["task"].startswith("synthetic:"):
        return f"{summary['task']} (seed {summary['seed']})"
    return summary["task"]


def table(rows):
    """``(header, body)``: one line per task and method, then the mean per method."""
    summary = summarise(rows)
    header = ["task", "method", "search choice", "search acc.", "oracle acc.",
              "worst in grid", "regret"]  # fmt: skip
    body = [[_label(s), s["method"], s["choice"], f"{s['search']:.1f}",
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


def _scoring_of(method):
    """``"dann (ensemble)"`` -> ``"ensemble"``; a bare method name -> ``"im"``."""
    return method.split("(", 1)[1].rstrip(")") if "(" in method else "im"


def _dataset_of(task):
    """Real tasks count by dataset; each synthetic problem is a dataset."""
    return task if task.startswith("synthetic:") else task.split(":", 1)[0]


def scorer_lodo(rows):
    """Leave-one-dataset-out choice of the default scorer: ``(header, body, choice)``.

    A dataset's regret for a scorer is the mean over its (task, seed) runs that
    every scorer has; for each dataset, the scorer with the lower mean regret
    over the *other* datasets is chosen and scored there. The overall choice
    is the scorer with the lowest mean over all datasets (ties: ``"im"``, the
    incumbent). The rule was fixed before seeds 1 and 2 of wine and HAR ran.
    """
    runs, unsearched = {}, {}
    for s in summarise(rows):
        key = (_dataset_of(s["task"]), s["task"], s["seed"])
        runs.setdefault(key, {})[_scoring_of(s["method"])] = s["regret"]
        unsearched[key] = s["unsearched"]
    scorings = sorted({k for v in runs.values() for k in v}, key=lambda k: k != "im")
    regret, n_runs = {}, {}
    for key, v in runs.items():
        if len(v) == len(scorings):
            n_runs[key[0]] = n_runs.get(key[0], 0) + 1
            for k in scorings:
                regret.setdefault(k, {}).setdefault(key[0], []).append(v[k])
            regret.setdefault("none", {}).setdefault(key[0], []).append(unsearched[key])
    mean = {k: {d: np.mean(r) for d, r in v.items()} for k, v in regret.items()}
    datasets = sorted(n_runs)

    def best(among):
        return min(scorings, key=lambda k: (np.mean([mean[k][d] for d in among]),
                                            k != "im"))  # fmt: skip

    body = []
    for d in datasets:
        chosen = best([o for o in datasets if o != d])
        cells = [f"{mean[k][d]:.2f}" for k in (*scorings, chosen, "none")]
        body.append([d, str(n_runs[d]), *cells[:-2], chosen, *cells[-2:]])
    body.append(["**mean**", str(sum(n_runs.values()))]
                + [f"**{np.mean(list(mean[k].values())):.2f}**" for k in scorings]
                + ["", f"**{np.mean([float(r[-2]) for r in body]):.2f}**",
                   f"{np.mean(list(mean['none'].values())):.2f}"])  # fmt: skip
    header = ["dataset", "runs"] + [f"regret {k}" for k in scorings]
    header += ["LODO choice", "its regret", "no search (default weight)"]
    return header, body, best(datasets)


def dataset_table(rows, scoring="ensemble"):
    """``(header, body)``: one scorer's regret per dataset, over every run it has.

    For each dataset (as in :func:`scorer_lodo`): its tasks, its runs, the
    mean regret of ``scoring`` and of not searching (the default weight), the
    mean over its runs; then the mean over the datasets and over all runs.
    Unlike the leave-one-dataset-out table it needs no other scorer's rows, so
    it can count tasks that were run with one scorer only.
    """
    per, present = {}, set()
    for s in summarise(rows):
        present.add(_scoring_of(s["method"]))
        if _scoring_of(s["method"]) == scoring:
            per.setdefault(_dataset_of(s["task"]), []).append(s)
    if not per:
        raise ValueError(
            f"No run in these CSVs was scored by {scoring!r}; they hold "
            f"{', '.join(sorted(present)) or 'no runs'} (choose with --scoring)."
        )

    def regrets(runs):
        """Mean regret of the search's choice and of the default weight."""
        return tuple(np.mean([[s["regret"], s["unsearched"]] for s in runs], axis=0))

    body, means = [], []
    for dataset, runs in sorted(per.items()):
        searched, unsearched = regrets(runs)
        means.append((searched, unsearched))
        tasks = len({s["task"] for s in runs})
        body.append([dataset, str(tasks), str(len(runs)), f"{searched:.2f}",
                     f"{unsearched:.2f}"])  # fmt: skip
    every = [s for runs in per.values() for s in runs]
    searched, unsearched = np.mean(means, axis=0)
    body.append(["**mean over datasets**", "", str(len(every)),
                 f"**{searched:.2f}**", f"{unsearched:.2f}"])  # fmt: skip
    searched, unsearched = regrets(every)
    body.append(["mean over runs", "", str(len(every)), f"{searched:.2f}",
                 f"{unsearched:.2f}"])  # fmt: skip
    header = ["dataset", "tasks", "runs", f"regret {scoring}",
              "no search (default weight)"]  # fmt: skip
    return header, body


def main(argv=None):
    """Run the search benchmark (or print the table of ``--table-from``)."""
    parser = common.argument_parser(__doc__, "search")
    parser.add_argument("--tasks", nargs="+", default=TASKS, type=_task)
    parser.add_argument(
        "--scoring", nargs="+", choices=["im", "ensemble"], default=["im"]
    )
    parser.add_argument("--methods", nargs="+", default=["dann"], choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=common.RESULTS / "search.csv")
    parser.add_argument("--table-from", nargs="+", type=Path)
    parser.add_argument("--rst", type=Path, help="with --table-from: RST copy")
    parser.add_argument(
        "--lodo", action="store_true", help="with --table-from: the scorer's LODO"
    )
    parser.add_argument(
        "--per-dataset",
        action="store_true",
        help="with --table-from: the first --scoring's regret per dataset",
    )
    args = parser.parse_args(argv)
    if args.table_from:
        rows = common.read_rows(args.table_from, COLUMNS)
        choice = None
        if args.per_dataset:
            header, body = dataset_table(rows, args.scoring[0])
        elif args.lodo:
            header, body, choice = scorer_lodo(rows)
        else:
            header, body = table(rows)
        if args.rst:
            args.rst.write_text(common.rst(header, body))
        print(common.markdown(header, body))
        if choice is not None:
            print(f"default scorer by leave-one-dataset-out: {choice}")
        return choice
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for task, method, seed in itertools.product(args.tasks, args.methods, args.seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for row in run_task(task, method, seed, args.scoring):
                common.append_row(args.out, COLUMNS, row, new=not rows)
                rows.append(row)
                mark = "  <- search" if row["chosen"] else ""
                acc = row["target_accuracy"]
                print(f"{task:30s} {row['method']:16s} seed={seed} {row['params']:28s} "
                      f"acc={acc:.1f}{mark}", flush=True)  # fmt: skip
    print(common.markdown(*table(rows)))
    return rows


if __name__ == "__main__":
    main()
