"""How well does each unsupervised scorer pick DANN's hyper-parameters?

Usage::

    python benchmarks/selection.py                      # all tasks (~1 h, 1 core)
    python benchmarks/selection.py --tasks oc:amazon:webcam --out sel.csv
    python benchmarks/selection.py --table-from a.csv b.csv --plot sel.png

For every task, DANN is fitted once per grid point (``lambda_`` x learning rate
x two epoch budgets) on 80 % of the labelled source rows and all unlabelled
target rows. Each scorer of :mod:`skuda.selection` then scores the fitted model
from the held-out 20 % of the source (labelled) and the target rows
(unlabelled); the true target accuracy is recorded next to it. Per task and
scorer the script reports the Spearman correlation between score and target
accuracy over the grid and the *regret*: accuracy of the best model on the
target minus accuracy of the model the scorer picks. A CSV row per fitted
model is written as soon as it is done, so runs can be sharded by task and
merged with ``--table-from``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split

from skuda import DANNClassifier
from skuda.datasets import load_domain, load_har
from skuda.preprocessing import FFTMagnitude
from skuda.selection import get_da_scorer

try:
    from _tables import markdown_to_rst
except ImportError:
    from benchmarks._tables import markdown_to_rst

SCORERS = ["source_accuracy", "entropy", "im", "snd", "iwv", "dev", "rv"]
TASKS = [
    "oc:amazon:webcam",
    "oc:caltech:amazon",
    "oc:webcam:caltech",
    "mu:mnist:usps",
    "mu:usps:mnist",
    "cwru:load0:load3",
    "har:7:13",
    "har:20:5",
]
LAMBDAS = (0.1, 0.3, 1.0)
LRS = (3e-4, 1e-3)


def load_task(spec):
    """``(Xs, ys, Xt, Xt_test, yt_test, estimator_params, epoch_budgets)``."""
    kind, src, tgt = spec.split(":")
    if kind in ("oc", "mu"):
        dataset = {"oc": "office_caltech", "mu": "mnist_usps"}[kind]
        Xs, ys = load_domain(dataset, src)
        Xt, yt = load_domain(dataset, tgt)
        return Xs, ys, Xt, Xt, yt, {}, (30, 100)
    if kind == "cwru":
        Xs, ys = load_domain("cwru", src)
        Xt, yt = load_domain("cwru", tgt)
        fft = FFTMagnitude(log=True).fit(Xs)
        return (
            fft.transform(Xs),
            ys,
            fft.transform(Xt),
            fft.transform(Xt),
            yt,
            {},
            (
                30,
                100,
            ),
        )
    if kind == "har":
        Xs, ys, _, _ = load_har(int(src))
        Xt, _, Xt_test, yt_test = load_har(int(tgt))
        params = dict(feature_extractor="cnn1d", input_scaling="domain", batch_size=32)
        return Xs, ys, Xt, Xt_test, yt_test, params, (10, 30)
    raise ValueError(f"Unknown task {spec!r}")


def run_task(spec, seed, writer):
    Xs, ys, Xt, Xt_test, yt_test, params, budgets = load_task(spec)
    Xs_tr, Xs_val, ys_tr, ys_val = train_test_split(
        Xs, ys, test_size=0.2, stratify=ys, random_state=seed
    )
    rows = []
    for lam, lr, epochs in itertools.product(LAMBDAS, LRS, budgets):
        clf = DANNClassifier(
            lambda_=lam, lr=lr, max_epochs=epochs, random_state=seed, **params
        )
        t0 = time.perf_counter()
        clf.fit(Xs_tr, ys_tr, Xt)
        fit_s = time.perf_counter() - t0
        row = dict(
            task=spec,
            seed=seed,
            lambda_=lam,
            lr=lr,
            epochs=epochs,
            target_accuracy=100 * np.mean(clf.predict(Xt_test) == yt_test),
            fit_seconds=round(fit_s, 1),
        )
        for name in SCORERS:
            kwargs = (
                {"reverse_params": {"max_epochs": budgets[0]}} if name == "rv" else {}
            )
            row[name] = get_da_scorer(name, **kwargs).score_domains(
                clf, Xs_val, ys_val, Xt
            )
        rows.append(row)
        writer(row)
        print(
            f"{spec:20s} lambda={lam:<4} lr={lr:<6} epochs={epochs:<4} "
            f"acc={row['target_accuracy']:.1f} ({fit_s:.0f} s)",
            flush=True,
        )
    return rows


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
    """``oc:amazon:webcam`` -> ``OC A→W``, ``har:7:13`` -> ``HAR 7→13``."""
    kind, src, tgt = task.split(":")
    if kind in ("oc", "mu"):
        src, tgt = src[0].upper(), tgt[0].upper()
    src, tgt = src.removeprefix("load"), tgt.removeprefix("load")
    return f"{kind.upper()} {src}→{tgt}"


def _nanmean(values):
    with warnings.catch_warnings():  # all-NaN: a scorer constant over the grid
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values)


def table(rows):
    summary = summarise(rows)
    tasks = list(dict.fromkeys(s["task"] for s in summary))
    header = (
        "| scorer | "
        + " | ".join(map(short, tasks))
        + " | **mean regret** | **mean Spearman** |"
    )
    lines = [header, "|---|" + "---|" * (len(tasks) + 2)]
    for name in SCORERS:
        sel = [s for s in summary if s["scorer"] == name]
        cells = []
        for task in tasks:
            t = [s for s in sel if s["task"] == task]
            cells.append(
                f"{np.mean([s['regret'] for s in t]):.1f} "
                f"({_nanmean([s['spearman'] for s in t]):+.2f})"
            )
        lines.append(
            f"| {name} | " + " | ".join(cells)
            + f" | **{np.mean([s['regret'] for s in sel]):.2f}**"
            + f" | **{_nanmean([s['spearman'] for s in sel]):+.2f}** |"
        )  # fmt: skip
    oracle = []
    for task in tasks:
        accs = [r["target_accuracy"] for r in rows if r["task"] == task]
        oracle.append(f"{max(accs):.1f} / {min(accs):.1f}")
    lines.append(
        "| *best / worst accuracy in the grid* | " + " | ".join(oracle) + " | | |"
    )
    return "\n".join(lines)


def plot(rows, path):
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


def read_csv(paths):
    rows = []
    for path in paths:
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append({k: (v if k == "task" else float(v)) for k, v in r.items()})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=TASKS)
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
    results = Path(__file__).parent / "results"
    if args.table_from:
        rows = read_csv(args.table_from)
    else:
        out = Path(args.out or results / "selection.csv")
        out.parent.mkdir(parents=True, exist_ok=True)
        fh = open(out, "w", newline="")
        fields = ["task", "seed", "lambda_", "lr", "epochs", "target_accuracy",
                  "fit_seconds", *SCORERS]  # fmt: skip
        csv_writer = csv.DictWriter(fh, fieldnames=fields)
        csv_writer.writeheader()

        def writer(row):
            csv_writer.writerow(row)
            fh.flush()

        rows = []
        for seed in args.seeds:
            for spec in args.tasks:
                rows += run_task(spec, seed, writer)
        fh.close()
    text = table(rows)
    print(text)
    plot(rows, args.plot or results / "selection.png")
    if args.docs:
        Path(args.docs).mkdir(parents=True, exist_ok=True)
        (Path(args.docs) / "selection_table.inc").write_text(markdown_to_rst(text))
        plot(rows, Path(args.docs) / "selection.png")


if __name__ == "__main__":
    main()
