"""Soak test: 50 consecutive fits in one process; memory must not creep up.

Fits the five estimators in turn (SourceOnly, DANN, MCC, ADDA, SHOT), ten
rounds, on 2 000 + 2 000 rows x 20 features (3 epochs each phase); after each
fit it predicts, saves and loads the model, and every fifth fit is made to
fail (a diverging refit, which must leave the fitted model as it was). The
resident set size (RSS, after ``gc.collect()``) is read after every fit.

Growth is measured from the end of the first round (five fits: lazy imports,
allocator pools and torch's caches fill up there) to the end of the last; the
goal is less than 5 %.

Run ``python -m benchmarks.soak`` from the repository root; it prints a table
and writes ``benchmarks/results/soak.csv``.
"""

from __future__ import annotations

import csv
import gc
import os
import tempfile
import time

import numpy as np
import psutil
import torch
from skorch.callbacks import Callback

from skuda import (
    ADDAClassifier,
    DANNClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    TrainingDivergedError,
)
from skuda.datasets import make_shifted_blobs
from skuda.persistence import load, save

from ._common import RESULTS

FITS = 50
GOAL = 0.05
COMMON = dict(device="cpu", batch_size=128, hidden_layer_sizes=(64,))
ESTIMATORS = [
    lambda seed: SourceOnlyClassifier(max_epochs=3, random_state=seed, **COMMON),
    lambda seed: DANNClassifier(max_epochs=3, random_state=seed, **COMMON),
    lambda seed: MCCClassifier(max_epochs=3, random_state=seed, **COMMON),
    lambda seed: ADDAClassifier(
        source_epochs=3,
        max_epochs=3,
        discriminator_hidden_layer_sizes=(64,),
        random_state=seed,
        **COMMON,
    ),
    lambda seed: SHOTAdapter(
        source_epochs=3, max_epochs=3, bottleneck_dim=32, random_state=seed, **COMMON
    ),
]


class _Diverge(Callback):
    """Poison the head at the end of the first epoch: the fit must fail."""

    def on_epoch_end(self, net, **kwargs):
        with torch.no_grad():
            next(net.module_.head.parameters()).fill_(float("nan"))


def rss_mib():
    """Resident set size of this process in MiB, after a garbage collection."""
    gc.collect()
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def one_fit(i, data, directory):
    """Fit, predict, save/load (and every fifth time a failing refit)."""
    Xs, ys, Xt = data
    est = ESTIMATORS[i % len(ESTIMATORS)](i)
    est.fit(Xs, ys, Xt)
    proba = est.predict_proba(Xt)
    path = os.path.join(directory, "model.skuda")
    save(est, path)
    assert np.array_equal(load(path).predict_proba(Xt), proba)
    if i % 5 == 4:
        try:
            est.set_params(callbacks=[_Diverge()]).fit(Xs, ys, Xt)
        except TrainingDivergedError:
            pass
        assert np.array_equal(est.predict_proba(Xt), proba)  # left as it was


def main():
    """Run the soak test; print the table and write the CSV."""
    torch.set_num_threads(2)
    Xs, ys, Xt, _ = make_shifted_blobs(2000, n_features=20, random_state=0)
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        for i in range(FITS):
            one_fit(i, (Xs, ys, Xt), directory)
            rows.append({"fit": i + 1, "rss_mib": round(rss_mib(), 1)})
    seconds = time.perf_counter() - start
    base = rows[len(ESTIMATORS) - 1]["rss_mib"]
    last = rows[-1]["rss_mib"]
    growth = (last - base) / base
    print("| fit | RSS (MiB) | growth since fit 5 |")
    print("|---|---|---|")
    for r in rows[len(ESTIMATORS) - 1 :: len(ESTIMATORS)]:
        growth_so_far = (r["rss_mib"] - base) / base
        print(f"| {r['fit']} | {r['rss_mib']:.1f} | {growth_so_far:+.2%} |")
    print(
        f"\n{FITS} fits in {seconds:.0f} s; RSS {base:.1f} -> {last:.1f} MiB "
        f"({growth:+.2%}, goal < {GOAL:.0%}): {'met' if growth < GOAL else 'NOT met'}"
    )
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "soak.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["fit", "rss_mib"])
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
