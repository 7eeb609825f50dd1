"""Why ADDA falls below its source model: per-epoch traces of the adaptation.

Diagnosis only (target labels are read to *explain* a failure, never to choose
anything): for each task, one ADDA fit with its defaults records per adaptation
epoch the target accuracy, the agreement of the target encoder's predictions
with the source encoder's, the information-maximisation score (entropy of the
mean prediction minus mean entropy, both normalised by log K), the share of the
largest predicted class and the discriminator's accuracy. Writes
``<results>/adda_trace.csv``.

``--decompose`` instead splits ADDA's result per task and seed into three
target accuracies of one fit with its defaults (guard off): the source encoder
as trained (batch-norm statistics of the source), the same encoder with its
batch-norm statistics taken from the target rows (AdaBN, no adversarial
step), and the adapted target encoder; with the discriminator's accuracy on
the last adaptation epoch. Tasks default to the default study's check
problems and every task of the four tabular datasets; writes
``<results>/adda_decomposition.csv``.

Usage::

    python -m benchmarks.adda_diagnosis --tasks gas:batch1:batch3 ...
    python -m benchmarks.adda_diagnosis --decompose --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import ast
import copy
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

import skuda

if __package__:
    from . import _common as common
else:  # pragma: no cover
    import _common as common

COLUMNS = {
    "task": str,
    "seed": int,
    "epoch": int,
    "acc": float,
    "agree": float,
    "im": float,
    "top_share": float,
    "disc_acc": float,
}


def im_stats(proba):
    """Normalised information maximisation score and top-class share of ``proba``."""
    k = proba.shape[1]
    mean = proba.mean(0)
    div = -(mean * np.log(mean + 1e-12)).sum() / math.log(k)
    ent = -(proba * np.log(proba + 1e-12)).sum(1).mean() / math.log(k)
    top = np.bincount(proba.argmax(1), minlength=k).max() / len(proba)
    return div - ent, top


class Trace(Callback):
    """Record target statistics after every adaptation epoch (diagnosis only)."""

    # The estimator fits on a copy of its parameters (callbacks included), so
    # the rows go to a class-level list rather than an attribute.
    rows: list = []

    def __init__(self, y_tgt):
        self.y_tgt = y_tgt

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        """Append one row of statistics (two for the first epoch)."""
        if getattr(net, "phase", None) != "adaptation":
            return
        m = net.module_
        xt = dataset_train.X_tgt
        with torch.inference_mode():
            m.eval()
            pt = torch.softmax(m.head(m.target_encoder(xt)), 1).numpy()
            ps = torch.softmax(m.head(m.encoder(xt)), 1).numpy()
            net._set_training(True)
        im, top = im_stats(pt)
        if len(self.rows) == 0:
            im0, top0 = im_stats(ps)
            acc0 = float(np.mean(ps.argmax(1) == self.y_tgt))
            self.rows.append(
                dict(epoch=0, acc=acc0, agree=1.0, im=im0, top_share=top0, disc_acc=0.5)
            )
        self.rows.append(
            dict(
                epoch=len(self.rows),
                acc=float(np.mean(pt.argmax(1) == self.y_tgt)),
                agree=float(np.mean(pt.argmax(1) == ps.argmax(1))),
                im=im,
                top_share=top,
                disc_acc=float(net.history[-1, "discriminator_acc"]),
            )
        )


DECOMPOSITION = {
    "task": str,
    "seed": int,
    "source": float,
    "adabn": float,
    "adapted": float,
    "disc_acc": float,
}


class TargetStatistics(nn.Module):
    """An encoder whose batch norms normalise with the statistics of its input.

    Applied to all target rows in one chunk, this is AdaBN (Li et al., 2016):
    the source encoder's weights with the target domain's batch statistics.
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x):
        """Encode ``x`` with batch norms in training mode (its own statistics)."""
        for module in self.encoder.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.train()
        return self.encoder(x)


def decompose(task, seed):
    """One ADDA fit: target accuracy of its source, AdaBN and adapted encoders."""
    from .defaults_study import load

    torch.set_num_threads(1)
    Xs, ys, Xt, X_test, y_test = load(task, seed)
    clf = skuda.ADDAClassifier(random_state=seed, collapse_guard=None, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xs, ys, Xt)
    module = clf.net_.module_
    adapted = module.target_encoder
    row = dict(task=task, seed=seed)
    # X_test is the target rows on these tasks (transductive), predicted in
    # one chunk, so TargetStatistics sees the whole target domain at once.
    for name, encoder in (
        ("adapted", adapted),
        ("source", module.encoder),
        ("adabn", TargetStatistics(copy.deepcopy(module.encoder))),
    ):
        module.target_encoder = encoder
        row[name] = float(np.mean(clf.predict(X_test) == y_test))
    module.target_encoder = adapted
    row["disc_acc"] = float(clf.history_[-1, "discriminator_acc"])
    return row


def run_decomposition(args):
    """``--decompose``: rows of :func:`decompose`, two processes."""
    from joblib import Parallel, delayed

    from .defaults_study import CHECK
    from .tabular import DATASETS

    tasks = args.tasks or [*CHECK, *(t for d in DATASETS.values() for t in d[1])]
    jobs = [(t, s) for s in args.seeds for t in tasks]
    out = args.results / "adda_decomposition.csv"
    results = Parallel(n_jobs=2, return_as="generator")(
        delayed(decompose)(t, s) for t, s in jobs
    )
    for row in results:
        common.append_row(out, DECOMPOSITION, row)
        print(
            f"{row['task']:30s} s{row['seed']} source={100 * row['source']:5.1f} "
            f"adabn={100 * row['adabn']:5.1f} adapted={100 * row['adapted']:5.1f} "
            f"d={row['disc_acc']:.2f}",
            flush=True,
        )


def main(argv=None):
    """Trace one ADDA fit per task and append the rows to ``adda_trace.csv``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", nargs="+", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--decompose", action="store_true")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--set", nargs="*", default=[])
    args = parser.parse_args(argv)
    if args.decompose:
        return run_decomposition(args)
    if not args.tasks:
        parser.error("--tasks is required without --decompose")
    torch.set_num_threads(1)
    over = {k: ast.literal_eval(v) for k, v in (s.split("=", 1) for s in args.set)}
    out = args.results / "adda_trace.csv"
    for task in args.tasks:
        data = common.load_task(task)
        classes = np.unique(data.y_src)
        y_tgt = np.searchsorted(classes, data.y_test)
        rows = Trace.rows = []
        clf = skuda.ADDAClassifier(
            random_state=args.seed,
            callbacks=[("trace", Trace(y_tgt))],
            **over,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(data.X_src, data.y_src, data.X_tgt)
        for r in rows:
            common.append_row(out, COLUMNS, dict(task=task, seed=args.seed, **r))
        sel = [rows[0], *rows[1::8], rows[-1]]
        for r in sel:
            print(
                f"{task:28s} ep={r['epoch']:3d} acc={100 * r['acc']:5.1f} "
                f"agree={r['agree']:.2f} im={r['im']:.3f} top={r['top_share']:.2f} "
                f"d={r['disc_acc']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
