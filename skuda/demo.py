"""Quick demo: source-only vs DANN target accuracy on a built-in shifted dataset.

Run with ``python -m skuda.demo``. Takes well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import DANNClassifier, SourceOnlyClassifier
from .datasets import make_shifted_blobs


def main(argv=None):
    """Fit source-only and DANN models for each seed; print their target accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args(argv)

    print("skuda demo: 3-class Gaussian blobs in 5-D; the target domain is rotated")
    print("by 45 degrees and translated by 3 units. 300 labelled source rows,")
    print("300 unlabelled target rows; accuracy is measured on the target rows.")
    print("Both models: MLP (64, 64), inputs standardised over both domains.\n")
    print(f"{'seed':>4}  {'source-only':>11}  {'DANN':>6}  {'seconds':>7}")
    rows = []
    for seed in range(args.seeds):
        Xs, ys, Xt, yt = make_shifted_blobs(
            300, n_features=5, shift=3.0, rotation=45.0, random_state=seed
        )
        t0 = time.perf_counter()
        # Same network and the same input scaling (pooled over both domains,
        # hence X_tgt for the baseline too): only the adversarial term differs.
        # Two hidden layers: a one-layer encoder cannot hide this shift from
        # the discriminator (its domain accuracy stays near 1, see the docs).
        common = dict(
            hidden_layer_sizes=(64, 64), max_epochs=args.epochs, random_state=seed
        )
        so = SourceOnlyClassifier(**common)
        acc_so = so.fit(Xs, ys, Xt).score(Xt, yt)
        dann = DANNClassifier(**common)
        acc_dann = dann.fit(Xs, ys, Xt).score(Xt, yt)
        secs = time.perf_counter() - t0
        rows.append((acc_so, acc_dann))
        print(f"{seed:>4}  {acc_so:>11.3f}  {acc_dann:>6.3f}  {secs:>7.1f}")
    mean_so, mean_dann = np.mean(rows, axis=0)
    print(f"{'mean':>4}  {mean_so:>11.3f}  {mean_dann:>6.3f}")
    print(f"\nDANN gains {100 * (mean_dann - mean_so):+.1f} points of target accuracy.")


if __name__ == "__main__":
    main()
