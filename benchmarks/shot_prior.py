"""SHOT's diversity term on the gas-drift targets: uniform, EM prior, shrunk prior.

Each configuration is fixed in advance (no target label chooses anything):
``diversity="prior"`` with ``prior_shrinkage`` in {0.25, 0.5}, compared with
the rows of ``tabular.csv`` for the paper's ``"uniform"`` term and the
unshrunk EM prior. Rows go to ``<results>/shot_prior.csv``.

Usage::

    python -m benchmarks.shot_prior --shrinkage 0.5 0.25 --seeds 0
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch

import skuda

if __package__:
    from . import _common as common
    from .tabular import DATASETS
else:  # pragma: no cover
    import _common as common
    from tabular import DATASETS

COLUMNS = {"task": str, "seed": int, "prior_shrinkage": float, "acc": float}


def main(argv=None):
    """Fit SHOT with ``diversity="prior"`` per shrinkage, task and seed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shrinkage", nargs="+", type=float, default=[0.5, 0.25])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for shrinkage in args.shrinkage:
        for task in DATASETS["gas"][1]:
            data = common.load_task(task)
            for seed in args.seeds:
                clf = skuda.SHOTAdapter(
                    diversity="prior", prior_shrinkage=shrinkage, random_state=seed
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    clf.fit(data.X_src, data.y_src, data.X_tgt)
                acc = 100 * clf.score(data.X_test, data.y_test)
                row = dict(task=task, seed=seed, prior_shrinkage=shrinkage,
                           acc=round(acc, 1))  # fmt: skip
                common.append_row(args.results / "shot_prior.csv", COLUMNS, row)
                print(row, flush=True)


if __name__ == "__main__":
    main()
