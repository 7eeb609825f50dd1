"""Each method against its own source-only network: the adaptation switched off.

The tabular benchmarks (:mod:`benchmarks.tabular`) compare every method with
one baseline, :class:`skuda.SourceOnlyClassifier` at its defaults. The
methods' networks differ from it (DANN has two hidden layers, ADDA batch
normalisation, SHOT a bottleneck and label smoothing; DANN, CDAN and MCC use
``lr="auto"`` and 20 steps per epoch; CDAN and Deep CORAL scale each domain
separately), so that comparison mixes the network with the adaptation. This
benchmark fits each method again with only its adaptation switched off,
everything else (network, optimiser, epochs, scaling, the same
``fit(X_src, y_src, X_tgt)`` call and seed) unchanged:

- DANN, CDAN+E, Deep CORAL, DAN: ``lambda_=0``; MCC: ``mcc_weight=0``;
- ADDA: ``max_epochs=0`` (no adversarial epoch: the target encoder is the
  source encoder);
- SHOT-IM and SHOT share one ablation, their source phase:
  ``fit(X_src, y_src)`` without target rows.

Rows go to ``<results>/own_source.csv`` (``method`` names the method whose
network it is); ``--report`` prints, per dataset, each method's adapted
accuracy (from ``tabular.csv``), its own source-only accuracy and the gain.

Usage::

    python -m benchmarks.own_source --seeds 0 1 2 --shard 0/2
    python -m benchmarks.own_source --report
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

if __package__:
    from . import _common as common
    from .tabular import COLUMNS, DATASETS, fit_and_score, make, seed_means
else:  # pragma: no cover
    import _common as common
    from tabular import COLUMNS, DATASETS, fit_and_score, make, seed_means

# method -> the parameters that switch its adaptation off (None: fit without
# target rows). SHOT-IM's ablation is SHOT's (the same source phase).
ABLATION = {
    "dann": {"lambda_": 0.0},
    "adda": {"max_epochs": 0},
    "shot": None,
    "mcc": {"mcc_weight": 0.0},
    "cdan": {"lambda_": 0.0},
    "coral": {"lambda_": 0.0},
    "mmd": {"lambda_": 0.0},
}
SHARES = {"shot_im": "shot"}


def run(args):
    """Fit this shard's ablations not yet in ``own_source.csv``, a row per fit."""
    out = args.results / "own_source.csv"
    done = set()
    if out.exists():
        done = {
            (r["task"], r["seed"], r["method"]) for r in common.read_rows(out, COLUMNS)
        }
    k, n = (int(v) for v in args.shard.split("/"))
    todo = [
        (name, task, seed, method)
        for seed in args.seeds
        for name in args.datasets
        for task in DATASETS[name][1]
        for method in args.methods
    ]
    cache = {}
    for i, (name, task, seed, method) in enumerate(todo):
        if i % n != k or (task, seed, method) in done:
            continue
        if task not in cache:
            cache = {task: common.load_task(task)}
        data = cache[task]
        params = ABLATION[method]
        clf = make(method, seed, False, params or {})
        acc, secs = fit_and_score(clf, data, with_target=params is not None)
        row = dict(dataset=name, task=task, method=method, seed=seed)
        row.update(acc=round(acc, 2), secs=round(secs, 2))
        common.append_row(out, COLUMNS, row)
        print(f"{task:30s} {method:6s} seed={seed} acc={acc:6.2f} {secs:5.1f}s")


def table(args):
    """``(header, body)``: per dataset and method, adapted, own source-only, gain."""
    own = common.read_rows(args.results / "own_source.csv", COLUMNS)
    adapted = common.read_rows(args.results / "tabular" / "tabular.csv", COLUMNS)

    def means(rows, method, name):
        """Per-seed means over the dataset's tasks (seeds with every task done)."""
        of_dataset = [r for r in rows if r["dataset"] == name]
        return seed_means(of_dataset, method, len(DATASETS[name][1]))

    header = ["dataset", "method", "adapted", "own source-only", "gain"]
    header += ["SourceOnlyClassifier"]
    body = []
    for name in args.datasets:
        baseline = means(adapted, "source_only", name)
        for method in (*ABLATION, *SHARES):
            a = means(adapted, method, name)
            o = means(own, SHARES.get(method, method), name)
            seeds = sorted(set(a) & set(o))
            if not seeds:
                continue
            gain = [a[s] - o[s] for s in seeds]
            body.append(
                [name, method]
                + [f"{np.mean([a[s] for s in seeds]):.1f}"]
                + [f"{np.mean([o[s] for s in seeds]):.1f}"]
                + [f"{np.mean(gain):+.1f}"]
                + [f"{np.mean([baseline[s] for s in seeds if s in baseline]):.1f}"]
            )
    return header, body


def main(argv=None):
    """Fit the ablations (unless ``--report``) and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.own_source",
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS)
    )
    parser.add_argument(
        "--methods", nargs="+", default=list(ABLATION), choices=list(ABLATION)
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--shard", default="0/1", help="k/n: every n-th job from k")
    parser.add_argument("--results", type=Path, default=common.RESULTS)
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--docs", type=Path, default=None, help="write the RST here")
    args = parser.parse_args(argv)
    if not args.report:
        torch.set_num_threads(1)
        run(args)
    header, body = table(args)
    print(common.markdown(header, body))
    if args.docs:
        args.docs.write_text(common.rst(header, body))


if __name__ == "__main__":
    main()
