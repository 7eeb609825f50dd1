"""Epoch time of every one-phase method against DANNClassifier's.

The problem of ``bench_speed.py`` (20 000 + 20 000 rows x 50 features, batch
128 per domain, lr 1e-3, weight decay 1e-4), once with its 5 classes and once
with 10 (``--classes``): CDAN's multilinear map grows with the number of
classes (256 x 10 = 2560 inputs to its discriminator), so 10 classes is its
harder case. Every method has the same encoder, one hidden layer of 256 (the
speed benchmark's ``PARAMS``; DANN's and SHOT's default is now two), and its
own defaults otherwise; CDAN also
with the full map (``cdan_full_map``, its default before the speed study) and
with the randomized map at the paper's 1024 dimensions.

The methods' fits are interleaved over ``--rounds`` rounds (the order rotates
every round) so all see the same machine load. The first epoch of every fit is
dropped (warm-up) and the table reports the median time per iteration (epoch
duration / batches counted in the history) and its ratio to DANN's, measured in
the same run. The issue's target: each new method (MCC, CDAN, Deep CORAL, DAN)
at most 1.3 x DANN. Source-only is listed for reference.

Each run appends one row per (classes, method) to
``benchmarks/results/methods_speed.csv`` (``--out`` to change).

Usage: ``python -m benchmarks.run --suite methods [--epochs 3] [--rounds 3]
[--threads 1] [--device cpu|cuda] [--classes 5 10]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

if __package__:
    from . import _common as common
    from .bench_speed import BS, PARAMS, D, N, make_data
else:
    import _common as common
    from bench_speed import BS, PARAMS, D, N, make_data

from skuda import (
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SourceOnlyClassifier,
)

NEW_METHODS = ("mcc", "cdan", "coral", "dan_mmd")  # issue 18's (defaults only)
RESULTS = Path(__file__).resolve().parent / "results" / "methods_speed.csv"
METHODS = {
    "dann": (DANNClassifier, {}),
    "source_only": (SourceOnlyClassifier, {}),
    "mcc": (MCCClassifier, {}),
    "cdan": (CDANClassifier, {}),  # randomized map, d=256
    "cdan_full_map": (CDANClassifier, {"randomized_threshold": 10**9}),
    "cdan_random1024": (
        CDANClassifier,
        {"randomized_threshold": 1, "randomized_dim": 1024},
    ),
    "coral": (DeepCORALClassifier, {}),
    "dan_mmd": (DeepCORALClassifier, {"discrepancy": "mmd"}),
}


def per_iteration(method, data, epochs, device):
    """Fit once; return the per-iteration durations of the epochs after the first."""
    cls, extra = METHODS[method]
    params = dict(PARAMS, device=device, **extra)
    clf = cls(max_epochs=epochs, random_state=0, **params)
    clf.fit(*data)
    if device == "cuda":
        torch.cuda.synchronize()
    hist = clf.history_
    return [row["dur"] / row["train_batch_count"] for row in hist[1:]]


def main(argv=None):
    """Time every method in interleaved rounds; print the ratio table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run --suite methods",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--classes", type=int, nargs="+", default=[5, 10])
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=list(METHODS)
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch of a fit is dropped)")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available: nothing measured")
        return
    methods = ["dann"] + [m for m in args.methods if m != "dann"]
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__} on {args.device}, {torch.get_num_threads()} "
        f"threads, {N} + {N} rows x {D} features, batch {BS} per domain, "
        f"{args.epochs} epochs x {args.rounds} rounds per method\n"
    )
    print("| classes | method | per iteration (ms) | ratio to DANN | target |")
    print("|---|---|---|---|---|")
    rows = []
    for n_classes in args.classes:
        data = make_data(n_classes=n_classes)
        times = {m: [] for m in methods}
        for r in range(args.rounds):
            k = r % len(methods)
            for m in methods[k:] + methods[:k]:
                times[m].extend(per_iteration(m, data, args.epochs, args.device))
        dann = statistics.median(times["dann"])
        for m in methods:
            med = statistics.median(times[m])
            ratio = med / dann
            target = "<= 1.3" if m in NEW_METHODS else ""
            print(f"| {n_classes} | {m} | {1e3 * med:.3f} | {ratio:.3f} | {target} |")
            rows.append(
                {
                    "device": args.device,
                    "threads": args.threads,
                    "cpu": platform.processor() or platform.machine(),
                    "torch": torch.__version__,
                    "classes": n_classes,
                    "method": m,
                    "ms_per_it": round(1e3 * med, 4),
                    "ratio_to_dann": round(ratio, 4),
                    "epochs_x_rounds": f"{args.epochs}x{args.rounds}",
                    "when": time.strftime("%Y-%m-%d"),
                }
            )
    for row in rows:
        common.append_row(args.out, row, row)
    print(f"\nrows appended to {args.out}")


if __name__ == "__main__":
    main()
