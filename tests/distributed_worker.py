"""One process of the 2-process data-parallel test (tests/test_distributed.py).

Run like ``torchrun`` runs a script: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``
and ``MASTER_PORT`` in the environment; ``Accelerator(cpu=True)`` joins the
gloo process group (with a second argument ``cuda``: ``Accelerator()``, one GPU
per process, as ``benchmarks/gpu_check.sh`` runs it under ``torchrun``). Fits
DANN on the shared toy problem and writes what the test checks to
``<out>/rank<RANK>.json``: a digest of the final parameters, the source rows of
the first epoch, the epoch losses, the target accuracy and predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys

import torch
from skorch.callbacks import Callback

from skuda import DANNClassifier
from skuda.datasets import make_shifted_moons

N_ROWS = 256  # per domain: 2 processes x 2 steps x 64 rows = one epoch exactly
# One pass per epoch (min_iterations_per_epoch=1): the test counts the rows of
# the first epoch, which the default floor of 20 steps would cycle.
PARAMS = dict(
    lambda_=1.0,
    hidden_layer_sizes=(256,),  # the encoder these settings were chosen with
    lr=2e-2,
    max_epochs=30,
    min_iterations_per_epoch=1,
    dropout=0.0,
    random_state=0,
)
BATCH_SIZE = 64  # per process; the 1-process reference uses 2 x 64


def toy():
    """The rotated moons every process (and the 1-process reference) fits."""
    return make_shifted_moons(N_ROWS, random_state=0)


class FirstEpochRows(Callback):
    """Keep the source rows of the first epoch's batches (scaled, as trained)."""

    def initialize(self):
        self.rows = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training and net.epoch_ == 1:
            self.rows += batch.xs.tolist()


def digest(module):
    """SHA-256 of every parameter and buffer, in state_dict order."""
    h = hashlib.sha256()
    for value in module.state_dict().values():
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(out, device="cpu"):
    from accelerate import Accelerator  # optional: imported by the test's workers

    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=device == "cpu")
    rows = FirstEpochRows()
    Xs, ys, Xt, yt = toy()
    clf = DANNClassifier(
        accelerator=accelerator,
        batch_size=BATCH_SIZE,
        callbacks=[("rows", rows)],
        **PARAMS,
    ).fit(Xs, ys, Xt)
    seen = dict(clf.net_.callbacks_)["rows"]
    record = {
        "rank": accelerator.process_index,
        "world_size": accelerator.num_processes,
        "digest": digest(clf.net_.module_),
        "rows": seen.rows,
        "train_loss": clf.history_[:, "train_loss"],
        "batches": len(clf.history_[-1, "batches"]),
        "accuracy": float(clf.score(Xt, yt)),
        "wrapped_after_fit": clf.net_.wrapped_ is not None,
        "accelerator_after_fit": clf.net_.accelerator is not None,
        "device": clf.device_,
        "predictions": pickle.loads(pickle.dumps(clf)).predict(Xt).tolist(),
    }
    with open(os.path.join(out, f"rank{accelerator.process_index}.json"), "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
