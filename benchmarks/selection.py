r"""Measure how well each unsupervised scorer picks DANN's hyper-parameters.

Usage::

    python -m benchmarks.run --suite selection          # all tasks (~1 h, 1 core)
    python -m benchmarks.run --suite selection \
        --tasks office_caltech:amazon:webcam --out sel.csv
    python -m benchmarks.run --suite selection --table-from a.csv b.csv --plot sel.png

For every task, DANN is fitted once per grid point (``lambda_`` x learning rate
x two epoch budgets) on 80 % of the labelled source rows and all unlabelled
target rows. Each scorer of :mod:`skuda.selection` then scores the fitted model
from the held-out 20 % of the source (labelled) and the target rows
(unlabelled); the true target accuracy (``_common.TargetAccuracyOracle``: all
target rows, for HAR the target subject's test rows) is recorded next to it.
Per task and scorer the script reports the Spearman correlation between score
and target accuracy over the grid and the *regret*: accuracy of the best model
on the target minus accuracy of the model the scorer picks. A CSV row per
fitted model is written as soon as it is done, so runs can be sharded by task
and merged with ``--table-from``. Tasks are named ``dataset:source:target``
with the names of :func:`skuda.datasets.load_domain` (``cwru:load0:load3``,
``har:subject07:subject13``).
"""

from __future__ import annotations

import itertools
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split

from skuda import DANNClassifier
from skuda.selection import get_da_scorer

if __package__:  # python -m benchmarks.run --suite selection
    from . import _common as common
else:  # python benchmarks/selection.py
    import _common as common

SCORERS = ["source_accuracy", "entropy", "im", "snd", "iwv", "dev", "rv"]
TASKS = [
    "office_caltech:amazon:webcam",
    "office_caltech:caltech:amazon",
    "office_caltech:webcam:caltech",
    "mnist_usps:mnist:usps",
    "mnist_usps:usps:mnist",
    "cwru:load0:load3",
    "har:subject07:subject13",
    "har:subject20:subject05",
]
LAMBDAS = (0.1, 0.3, 1.0)
LRS = (3e-4, 1e-3)
# dataset: (DANN parameters, the two epoch budgets of the grid); others: DEFAULT
SETTINGS = {
    "har": (
        dict(feature_extractor="cnn1d", input_scaling="domain", batch_size=32),
        (10, 30),
    ),
}
DEFAULT = ({}, (30, 100))
INITIALS = {"office_caltech": "OC", "mnist_usps": "MU"}  # table: ``OC A→W``
COLUMNS = {
    "task": str,
    "seed": int,
    "lambda_": float,
    "lr": float,
    "epochs": int,
    "target_accuracy": float,
    "fit_seconds": float,
    **dict.fromkeys(SCORERS, float),
}


def load_task(task):
    """``(TaskData, estimator_params, epoch_budgets)``; CWRU as log spectra."""
    dataset = common.parse_task(task)[0]
    data = common.load_task(task)
    if dataset == "cwru":
        data = common.log_spectra(data)
    return (data, *SETTINGS.get(dataset, DEFAULT))


def run_task(task, seed):
    """Fit and score the grid on ``task``; yields a row per fitted model."""
    data, params, budgets = load_task(task)
    Xt = data.X_tgt
    Xs_tr, Xs_val, ys_tr, ys_val = train_test_split(
        data.X_src, data.y_src, test_size=0.2, stratify=data.y_src, random_state=seed
    )
    oracle = common.TargetAccuracyOracle(data.X_test, data.y_test)
    for lam, lr, epochs in itertools.product(LAMBDAS, LRS, budgets):
        clf = DANNClassifier(
            lambda_=lam, lr=lr, max_epochs=epochs, random_state=seed, **params
        )
        t0 = time.perf_counter()
        clf.fit(Xs_tr, ys_tr, Xt)
        fit_s = time.perf_counter() - t0
        row = dict(
            task=task,
            seed=seed,
            lambda_=lam,
            lr=lr,
            epochs=epochs,
            target_accuracy=100 * oracle(clf),
            fit_seconds=round(fit_s, 1),
        )
        for name in SCORERS:
            kwargs = (
                {"reverse_params": {"max_epochs": budgets[0]}} if name == "rv" else {}
            )
            row[name] = get_da_scorer(name, **kwargs).score_domains(
                clf, Xs_val, ys_val, Xt
            )
        print(
            f"{task:30s} lambda={lam:<4} lr={lr:<6} epochs={epochs:<4} "
            f"acc={row['target_accuracy']:.1f} ({fit_s:.0f} s)",
            flush=True,
        )
        yield row


def summarise(rows):
    """Per (task, seed) group: Spearman and regret for each scorer."""
    out = []
    groups = {}
    for r in rows:
        groups.setdefault((r["task"], r["seed"]), []).append(r)
    for (task, seed), grp in groups.items():
        acc = np.array([r["target_accuracy"] for r in grp])
        for name in SCORERS:
            s = np.array([r[name] for r in grp])
            rho = spearmanr(s, acc).statistic if np.ptp(s) > 0 else np.nan
            picked = acc[np.flatnonzero(s == s.max())].mean()  # ties: their mean
            out.append(
                dict(task=task, seed=seed, scorer=name, spearman=rho,
                     regret=acc.max() - picked)
            )  # fmt: skip
    return out


def short(task):
    """Shorten a task name for the table: ``cwru:load0:load3`` -> ``CWRU 0→3``.

    Likewise ``office_caltech:amazon:webcam`` -> ``OC A→W`` and
    ``har:subject07:subject13`` -> ``HAR 7→13``.
    """
    dataset, src, tgt = common.parse_task(task)
    if dataset in INITIALS:
        return f"{INITIALS[dataset]} {src[0].upper()}→{tgt[0].upper()}"
    return f"{dataset.upper()} {common.short_domain(src)}→{common.short_domain(tgt)}"


def _nanmean(values):
    with warnings.catch_warnings():  # all-NaN: a scorer constant over the grid
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values)


def table(rows):
    """``(header, body)``: regret (Spearman) per scorer and task, and the means."""
    summary = summarise(rows)
    tasks = list(dict.fromkeys(s["task"] for s in summary))
    header = ["scorer", *map(short, tasks), "**mean regret**", "**mean Spearman**"]
    body = []
    for name in SCORERS:
        sel = [s for s in summary if s["scorer"] == name]
        cells = []
        for task in tasks:
            t = [s for s in sel if s["task"] == task]
            cells.append(
                f"{np.mean([s['regret'] for s in t]):.1f} "
                f"({_nanmean([s['spearman'] for s in t]):+.2f})"
            )
        body.append(
            [name, *cells, f"**{np.mean([s['regret'] for s in sel]):.2f}**",
             f"**{_nanmean([s['spearman'] for s in sel]):+.2f}**"]
        )  # fmt: skip
    oracle = []
    for task in tasks:
        accs = [r["target_accuracy"] for r in rows if r["task"] == task]
        oracle.append(f"{max(accs):.1f} / {min(accs):.1f}")
    body.append(["*best / worst accuracy in the grid*", *oracle, "", ""])
    return header, body


def plot(rows, path):
    """Plot regret per scorer and task and each scorer's mean Spearman to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    tasks = list(dict.fromkeys(s["task"] for s in summary))
    regret = np.array(
        [[np.mean([s["regret"] for s in summary if s["scorer"] == n and s["task"] == t])
          for t in tasks] for n in SCORERS]
    )  # fmt: skip
    rho = np.array(
        [
            np.nanmean([s["spearman"] for s in summary if s["scorer"] == n])
            for n in SCORERS
        ]
    )
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=(2, 1))
    im = ax1.imshow(regret, cmap="Reds", aspect="auto")
    ax1.set_xticks(
        range(len(tasks)), [short(t) for t in tasks], rotation=35, ha="right"
    )
    ax1.set_yticks(range(len(SCORERS)), SCORERS)
    for i, j in itertools.product(range(len(SCORERS)), range(len(tasks))):
        ax1.text(j, i, f"{regret[i, j]:.1f}", ha="center", va="center", fontsize=8)
    ax1.set_title("regret (target accuracy points; lower is better)")
    fig.colorbar(im, ax=ax1)
    ax2.barh(range(len(SCORERS)), rho, color="tab:blue")
    ax2.set_yticks(range(len(SCORERS)), SCORERS)
    ax2.axvline(0, color="k", lw=0.8)
    ax2.invert_yaxis()
    ax1.set_ylim(len(SCORERS) - 0.5, -0.5)
    ax2.set_title("mean Spearman with target accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    """Fit and score the grid (or read ``--table-from`` CSVs); print the table, plot."""
    parser = common.argument_parser(__doc__, "selection")
    parser.add_argument("--tasks", nargs="+", default=TASKS, type=common.task_type())
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="CSV path")
    parser.add_argument("--plot", default=None, help="PNG path")
    parser.add_argument("--table-from", nargs="+", default=None, metavar="CSV")
    parser.add_argument(
        "--docs", default=None, help="also write the rst table and plot here"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.table_from:
        rows = common.read_rows(args.table_from, COLUMNS)
    else:
        out = Path(args.out or common.RESULTS / "selection.csv")
        rows = []
        for seed in args.seeds:
            for task in args.tasks:
                for row in run_task(task, seed):
                    common.append_row(out, COLUMNS, row, new=not rows)
                    rows.append(row)
    header, body = table(rows)
    print(common.markdown(header, body))
    plot(rows, args.plot or common.RESULTS / "selection.png")
    if args.docs:
        Path(args.docs).mkdir(parents=True, exist_ok=True)
        (Path(args.docs) / "selection_table.inc").write_text(common.rst(header, body))
        plot(rows, Path(args.docs) / "selection.png")


if __name__ == "__main__":
    main()
