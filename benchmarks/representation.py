"""Input representation on top of ``load_domain``'s standard preprocessing.

For each dataset the estimators see what :func:`skuda.datasets.load_domain`
returns (Office-Caltech: L1 rows + per-domain z-score; wine and gas: raw
features). On top of it this compares, with every other setting fixed in
advance and no target label used:

- ``pooled``: ``input_scaling="pooled"`` (the default; the reference rows
  come from ``tabular.csv``), standardised with both domains' statistics;
- ``domain``: ``input_scaling="domain"``, each domain standardised with its own
  statistics;
- ``l2``: :class:`sklearn.preprocessing.Normalizer` (L2 rows, a stateless
  per-row transform) before the estimator, pooled scaling.
- ``l2_domain``: L2 rows, then per-domain scaling.

Rows go to ``<results>/representation.csv``.

Usage::

    python -m benchmarks.representation --method source_only --seeds 0
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
from sklearn.preprocessing import Normalizer

if __package__:
    from . import _common as common
    from .tabular import DATASETS, make
else:  # pragma: no cover
    import _common as common
    from tabular import DATASETS, make

COLUMNS = {
    "dataset": str,
    "task": str,
    "method": str,
    "representation": str,
    "seed": int,
    "acc": float,
    "secs": float,
}
REPRESENTATIONS = {
    # name: (L2 rows first?, input_scaling)
    "domain": (False, "domain"),
    "l2": (True, "pooled"),
    "l2_domain": (True, "domain"),
}


def prepare(data, l2):
    """Return ``data`` with L2-normalised rows when ``l2`` (per row: no leak)."""
    if not l2:
        return data
    return common.transform_inputs(data, Normalizer("l2").transform)


def main(argv=None):
    """Fit every (dataset task, representation, seed) job; a row per fit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", default="source_only")
    parser.add_argument(
        "--datasets", nargs="+", default=["gas", "wine", "office_caltech"]
    )
    parser.add_argument("--representations", nargs="+", default=list(REPRESENTATIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = args.results / "representation.csv"
    done = set()
    if out.exists():  # resume: skip the fits already written
        rows = common.read_rows(out, COLUMNS)
        done = {(r["task"], r["method"], r["representation"], r["seed"]) for r in rows}
    for seed in args.seeds:
        for name in args.datasets:
            for task in DATASETS[name][1]:
                raw = None
                for rep in args.representations:
                    if (task, args.method, rep, seed) in done:
                        continue
                    l2, scaling = REPRESENTATIONS[rep]
                    raw = common.load_task(task) if raw is None else raw
                    data = prepare(raw, l2)
                    clf = make(args.method, seed, False, {"input_scaling": scaling})
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        clf.fit(data.X_src, data.y_src, data.X_tgt)
                    secs = time.perf_counter() - t0
                    acc = 100 * common.TargetAccuracyOracle(data.X_test, data.y_test)(
                        clf
                    )
                    row = dict(dataset=name, task=task, method=args.method,
                               representation=rep, seed=seed, acc=round(acc, 2),
                               secs=round(secs, 2))  # fmt: skip
                    common.append_row(out, COLUMNS, row)
                    print(row, flush=True)


if __name__ == "__main__":
    main()
