"""Adapting fitted skorch nets with SHOT and ADDA, over seeds of a shifted toy.

Usage::

    python -m benchmarks.skorch_source [--seeds 0 1 2 3 4] [--out FILE.csv]

The toy is that of the gallery example ``plot_skorch_source_free.py``:
``make_shifted_blobs(300, n_features=5, shift=2.0, rotation=90.0)``. Per seed a
skorch ``NeuralNetClassifier`` (an ``nn.Sequential`` ending in a softmax, default
``NLLLoss``, 20 epochs)
is fitted on the source rows; then the script records the target accuracy of
the net as trained, of the net on moment-matched target rows (target mean and
std moved onto the source's; nothing trained), of ``SHOTAdapter(net)`` (target
rows only) and of ``ADDAClassifier(net)`` (both domains), with the seconds each
adaptation took. It prints a table and writes one CSV row per seed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn

from skuda import ADDAClassifier, SHOTAdapter
from skuda.datasets import make_shifted_blobs

if __package__:  # python -m benchmarks.skorch_source
    from . import _common as common
else:  # python benchmarks/skorch_source.py
    import _common as common

COLUMNS = ["seed", "skorch", "moment_matching", "shot", "adda", "shot_s", "adda_s"]
DEFAULT_OUT = Path(__file__).parent / "results" / "skorch_source.csv"


def classifier_module(n_features=5, n_hidden=64, n_classes=3):
    """Two hidden layers, then the classifier and a softmax (for ``NLLLoss``).

    An ``nn.Sequential``: skuda splits it before its last ``Linear`` (the
    gallery example's module uses named ``features``/``classifier`` instead).
    """
    return nn.Sequential(
        nn.Linear(n_features, n_hidden),
        nn.ReLU(),
        nn.Linear(n_hidden, n_hidden),
        nn.ReLU(),
        nn.Linear(n_hidden, n_classes),
        nn.Softmax(dim=-1),
    )


def run_seed(seed):
    """Return the CSV row of one seed."""
    Xs, ys, Xt, yt = make_shifted_blobs(
        300, n_features=5, shift=2.0, rotation=90.0, random_state=seed
    )
    Xs, Xt = Xs.astype(np.float32), Xt.astype(np.float32)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = NeuralNetClassifier(classifier_module(), max_epochs=20, lr=0.1, verbose=0)
        net.fit(Xs, ys)
    matched = (Xt - Xt.mean(0)) / Xt.std(0) * Xs.std(0) + Xs.mean(0)
    start = time.perf_counter()
    shot = SHOTAdapter(net, random_state=seed, device="cpu").fit(Xt)
    shot_s = time.perf_counter() - start
    start = time.perf_counter()
    adda = ADDAClassifier(net, random_state=seed, device="cpu").fit(Xs, ys, Xt)
    adda_s = time.perf_counter() - start
    return {
        "seed": seed,
        "skorch": np.mean(net.predict(Xt) == yt),
        "moment_matching": np.mean(net.predict(matched.astype(np.float32)) == yt),
        "shot": shot.score(Xt, yt),
        "adda": adda.score(Xt, yt),
        "shot_s": shot_s,
        "adda_s": adda_s,
    }


def main(argv=None):
    """Run the seeds, print the table, write the CSV."""
    parser = common.argument_parser(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rows = []
    for i, seed in enumerate(args.seeds):
        row = run_seed(seed)
        common.append_row(args.out, COLUMNS, row, new=i == 0)
        rows.append(row)
    body = [
        [f"{r[c]:.3f}" if c != "seed" else str(r[c]) for c in COLUMNS] for r in rows
    ]
    means = ["mean"] + [f"{np.mean([r[c] for r in rows]):.3f}" for c in COLUMNS[1:]]
    print(common.markdown(COLUMNS, [*body, means]))
    return rows


if __name__ == "__main__":
    main()
