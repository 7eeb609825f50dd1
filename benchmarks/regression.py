"""Regression benchmark: the regressors on wine quality and gas concentration.

Usage::

    python -m benchmarks.run --suite regression            # 6 tasks, 3 seeds
    python -m benchmarks.run --suite regression --quick    # wine red->white, 1 seed
    python -m benchmarks.run --suite regression --report   # tables from the CSV

Tasks, fixed in advance: wine ``quality`` (integer scores 3..9, predicted as
values) red -> white and white -> red; gas-sensor drift ``concentration``
(ppmv) from batch 1 to each of the four batches that follow it in time
(batches 2-5). Inputs are what :func:`skuda.datasets.load_domain` returns
(each dataset's standard preprocessing: raw features for both; the deep
estimators standardise internally, the shallow references get a
``StandardScaler`` fitted on the source); the continuous target is the
``quality`` / ``concentration`` array of the same archive.

Methods: Ridge and HistGradientBoostingRegressor fitted on the source, and
SourceOnlyRegressor, DANNRegressor, DeepCORALRegressor and ADDARegressor with
their defaults (``random_state`` only). R^2 and MAE on all target rows
(transductive protocol); no target label is used for any choice. Rows go to
``<results>/regression.csv``; the report writes ``regression.md`` there and
``docs/benchmarks/regression.inc``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skuda
from skuda.datasets import find_data_dir, load_domain

if __package__:  # python -m benchmarks.run --suite regression
    from . import _common as common
else:  # python benchmarks/regression.py
    import _common as common

TARGETS = {
    "wine": ("wine_quality", "quality"),
    "gas": ("gas_sensor_drift", "concentration"),
}
TASKS = [
    ("wine", "red", "white"),
    ("wine", "white", "red"),
    *[("gas", "batch1", f"batch{k}") for k in (2, 3, 4, 5)],
]
SHALLOW = {
    "Ridge": lambda seed: make_pipeline(StandardScaler(), Ridge()),
    "HGB": lambda seed: HistGradientBoostingRegressor(random_state=seed),
}
DEEP = {
    "source-only": lambda seed: skuda.SourceOnlyRegressor(random_state=seed),
    "DANN": lambda seed: skuda.DANNRegressor(random_state=seed),
    "Deep CORAL": lambda seed: skuda.DeepCORALRegressor(random_state=seed),
    "ADDA": lambda seed: skuda.ADDARegressor(random_state=seed),
}
COLUMNS = {"task": str, "method": str, "seed": int, "r2": float, "mae": float,
           "seconds": float}  # fmt: skip
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"


def load_regression(dataset, domain):
    """Return the inputs (standard preprocessing) and continuous target of a domain."""
    X, _ = load_domain(dataset, domain)
    folder, name = TARGETS[dataset]
    with np.load(find_data_dir() / folder / f"{domain}.npz") as archive:
        y = archive[name].astype(np.float64)
    return X, y


def run_one(method, seed, X_src, y_src, X_tgt, y_tgt):
    """Fit one method on a task; return its target R^2, MAE and seconds."""
    start = time.perf_counter()
    if method in SHALLOW:
        model = SHALLOW[method](seed).fit(X_src, y_src)
    else:
        model = DEEP[method](seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(X_src, y_src, X_tgt)
    pred = model.predict(X_tgt)
    seconds = time.perf_counter() - start
    return r2_score(y_tgt, pred), mean_absolute_error(y_tgt, pred), seconds


def run(tasks, seeds, methods, path):
    """Run every method on every task and seed, one CSV row per fit."""
    first = True
    for dataset, source, target in tasks:
        X_src, y_src = load_regression(dataset, source)
        X_tgt, y_tgt = load_regression(dataset, target)
        name = common.task_name(dataset, source, target)
        for seed in seeds:
            for method in methods:
                r2, mae, seconds = run_one(method, seed, X_src, y_src, X_tgt, y_tgt)
                row = dict(task=name, method=method, seed=seed, r2=r2, mae=mae,
                           seconds=seconds)  # fmt: skip
                common.append_row(path, COLUMNS, row, new=first)
                first = False
                print(f"{name:28s} {method:12s} seed {seed}  R2 {r2:7.3f}  "
                      f"MAE {mae:8.3f}  {seconds:6.1f} s", flush=True)  # fmt: skip


def report(path, out_dir):
    """Write the markdown table (and its RST copy for the docs); return it.

    Mean ± std over seeds per task; per dataset over all its task-seed rows.
    """
    rows = common.read_rows(path, COLUMNS)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    header = ["task", *[f"{m} R²" for m in methods], *[f"{m} MAE" for m in methods]]

    def cell(selected, key):
        values = [r[key] for r in selected]
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}"

    body = []
    for task in [*tasks, "wine", "gas"]:  # no pooled mean: MAEs have units
        selected = [r for r in rows if task in (r["task"], r["task"].split(":")[0])]
        label = task if ":" in task else f"**mean ({task})**"
        by = {m: [r for r in selected if r["method"] == m] for m in methods}
        body.append([label, *[cell(by[m], "r2") for m in methods],
                     *[cell(by[m], "mae") for m in methods]])  # fmt: skip
    table = common.markdown(header, body)
    (out_dir / "regression.md").write_text(table + "\n")
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / "regression.inc").write_text(common.rst(header, body))
    return table


def main(argv=None):
    """Run the regression benchmark (or only its report)."""
    parser = common.argument_parser(__doc__, "regression")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--methods", nargs="+", default=[*SHALLOW, *DEEP],
                        choices=[*SHALLOW, *DEEP])  # fmt: skip
    parser.add_argument("--results", type=Path, default=common.RESULTS)
    parser.add_argument("--tasks", nargs="+", help="a subset of the tasks, by name")
    args = parser.parse_args(argv)
    path = args.results / "regression.csv"
    if not args.report:
        tasks, seeds = TASKS, range(args.seeds)
        if args.quick:
            tasks, seeds = TASKS[:1], range(1)
        if args.tasks:
            tasks = [t for t in tasks if common.task_name(*t) in args.tasks]
        run(tasks, seeds, args.methods, path)
    print(report(path, args.results))


if __name__ == "__main__":
    main()
