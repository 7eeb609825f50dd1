"""Office-Caltech push: a method, then target-side refinement, 3 seeds.

Every setting is fixed before the run (no target label chooses anything): one
estimator configuration (``--method``, ``--set``) with its defaults otherwise,
then :class:`skuda.refinement.RefinedClassifier` on the *same* fitted model
with its defaults (``method="propagation"``, ``n_neighbors=10``,
``alpha=0.9``) and with ``method="centroid"``. Each row also records the
label-free information-maximisation score of the target predictions, so a
label-free choice between configurations can be evaluated afterwards. Rows
go to ``<results>/oc_push.csv``.

Usage::

    python -m benchmarks.oc_push --method mcc --seeds 0 1 2 --tag mcc
    python -m benchmarks.oc_push --set input_scaling='"domain"' --tag mcc_dom
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings
from pathlib import Path

import torch
from sklearn.frozen import FrozenEstimator

import skuda
from skuda.refinement import RefinedClassifier
from skuda.selection import information_maximization_score

if __package__:
    from . import _common as common
    from .tabular import DATASETS
else:  # pragma: no cover
    import _common as common
    from tabular import DATASETS

COLUMNS = {
    "tag": str,
    "task": str,
    "seed": int,
    "variant": str,
    "acc": float,
    "im": float,
    "secs": float,
}
METHODS = {
    "mcc": skuda.MCCClassifier,
    "cdan": skuda.CDANClassifier,
    "dann": skuda.DANNClassifier,
    "source_only": skuda.SourceOnlyClassifier,
}


def variants(fitted, data, seed, shot):
    """Yield ``(name, classifier)``: the model, refined, and SHOT on it.

    With ``shot``, SHOT adapts the fitted model source-free (its pseudo-labels
    and information maximisation on the model's features, SHOT's defaults).
    """
    yield "plain", fitted
    for method in ("propagation", "centroid"):
        refined = RefinedClassifier(FrozenEstimator(fitted), method=method)
        yield method, refined.fit(data.X_src, data.y_src, data.X_tgt)
    if shot:
        adapter = skuda.SHOTAdapter(FrozenEstimator(fitted), random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield "shot", adapter.fit(data.X_tgt)


def main(argv=None):
    """Fit every job not yet in ``oc_push.csv``; a row per variant."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", choices=sorted(METHODS), default="mcc")
    parser.add_argument("--set", nargs="*", default=[])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tag", required=True)
    parser.add_argument("--shot", action="store_true", help="add the SHOT variant")
    parser.add_argument("--tasks", nargs="*", default=DATASETS["office_caltech"][1])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    params = {k: ast.literal_eval(v) for k, v in (s.split("=", 1) for s in args.set)}
    out = args.results / "oc_push.csv"
    done = set()
    if out.exists():
        done = {
            (r["tag"], r["task"], r["seed"]) for r in common.read_rows(out, COLUMNS)
        }
    for seed in args.seeds:
        for task in args.tasks:
            if (args.tag, task, seed) in done:
                continue
            data = common.load_task(task)
            t0 = time.perf_counter()
            est = METHODS[args.method](random_state=seed, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                est.fit(data.X_src, data.y_src, data.X_tgt)
            secs = time.perf_counter() - t0
            for name, clf in variants(est, data, seed, args.shot):
                oracle = common.TargetAccuracyOracle(data.X_test, data.y_test)
                im = information_maximization_score(clf.predict_proba(data.X_tgt))
                row = dict(tag=args.tag, task=task, seed=seed, variant=name,
                           acc=round(100 * oracle(clf), 2), im=round(im, 4),
                           secs=round(secs, 2))  # fmt: skip
                common.append_row(out, COLUMNS, row)
                print(row, flush=True)


if __name__ == "__main__":
    main()
