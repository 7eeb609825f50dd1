"""The cases of ``benchmarks/fault_table.py``: bad inputs and faults, by kind.

Each case is registered with :func:`case` as ``make(d) -> (call, args)``: the
harness hashes ``args`` (what the caller passes), runs ``call(*args)`` and
judges the outcome; ``d`` is a fresh :class:`Data`.
"""

from __future__ import annotations

import copy
import os
import pickle
import signal
import tempfile
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from skorch.callbacks import Callback
from torch import nn

from skuda import (
    ADDAClassifier,
    DANNClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda.callbacks import UnsupervisedEarlyStopping
from skuda.datasets import make_shifted_blobs
from skuda.persistence import load, save

F = dict(device="cpu", random_state=0, batch_size=16, max_epochs=2)
SMALL = dict(hidden_layer_sizes=(16,), **F)
TWO = dict(source_epochs=2, **SMALL)
CLEAR = (ValueError, TypeError, FileNotFoundError, NotFittedError)


class Data:
    """Fresh copies of the standard inputs for one case."""

    def __init__(self):
        Xs, ys, Xt, _ = make_shifted_blobs(40, n_features=4, random_state=0)
        self.Xs, self.ys, self.Xt = Xs, ys, Xt
        cols = list("abcd")
        self.S, self.T = pd.DataFrame(Xs, columns=cols), pd.DataFrame(Xt, columns=cols)
        self.X = np.vstack([Xs, Xt])
        self.y = np.r_[ys, np.full(len(Xt), -1)]
        rng = np.random.default_rng(0)
        self.sig = rng.normal(size=(24, 128)).astype(np.float32)
        self.sig_y = np.arange(24) % 2


_SOURCES = {}


def source(kind="plain"):
    """Return a fitted source model (cached; each case gets a deep copy)."""
    if kind not in _SOURCES:
        d = Data()
        if kind == "named":
            model = SourceOnlyClassifier(**SMALL).fit(d.S, d.ys, d.T)
        elif kind == "bn":
            model = SourceOnlyClassifier(batch_norm=True, **SMALL).fit(d.Xs, d.ys)
        else:
            model = SourceOnlyClassifier(**SMALL).fit(d.Xs, d.ys, d.Xt)
        _SOURCES[kind] = model
    return copy.deepcopy(_SOURCES[kind])


# -- the cases ------------------------------------------------------------------------
CASES = []


def case(kind, name, names="", expect="any", rows=None):
    """Register ``make(d) -> (call, args)``: ``call(*args)`` is the action.

    ``names``: regex an error message must match to be clear. ``expect``:
    "error", "ok" or "any". ``rows(d)``: rows to predict after a fit (default
    ``d.Xt``); ``call`` may instead return a callable check of its own.
    """

    def register(make):
        CASES.append((kind, name, make, names, expect, rows))
        return make

    return register


def fit(est):
    """Return the action ``est.fit(*args)``."""
    return lambda *args: est.fit(*args)


def _set(X, value, where=(3, 1)):
    X = np.array(X, dtype=float)
    X[where] = value
    return X


# A. features, three-argument form (DANN)
FEATURES = [
    ("NaN in X_src", lambda d: (_set(d.Xs, np.nan), d.ys, d.Xt), "X_src"),
    ("inf in X_tgt", lambda d: (d.Xs, d.ys, _set(d.Xt, np.inf)), "X_tgt"),
    ("-inf in X_src", lambda d: (_set(d.Xs, -np.inf), d.ys, d.Xt), "X_src"),
    ("float32 overflow (1e39)", lambda d: (_set(d.Xs, 1e39), d.ys, d.Xt), "X_src"),
    ("complex features", lambda d: (d.Xs.astype(complex), d.ys, d.Xt), "X_src"),
    ("string features", lambda d: (d.Xs.astype(str), d.ys, d.Xt), "X_src"),
    ("object array with a word", lambda d: (_obj_word(d.Xs), d.ys, d.Xt), "X_src"),
    ("sparse CSR", lambda d: (sp.csr_matrix(d.Xs), d.ys, d.Xt), "X_src"),
    ("sparse COO X_tgt", lambda d: (d.Xs, d.ys, sp.coo_matrix(d.Xt)), "X_tgt"),
    ("ragged list", lambda d: ([[1.0, 2.0], [3.0]] * 4, [0, 1] * 4, d.Xt), "X_src"),
    ("1-D X_src", lambda d: (d.Xs[:, 0], d.ys, d.Xt), "X_src"),
    ("3-D X_src for the MLP", lambda d: (d.Xs[:, :, None], d.ys, d.Xt), "X_src"),
    ("0 features", lambda d: (d.Xs[:, :0], d.ys, d.Xt[:, :0]), "X_src"),
    ("0 source rows", lambda d: (d.Xs[:0], d.ys[:0], d.Xt), "X_src"),
    ("0 target rows", lambda d: (d.Xs, d.ys, d.Xt[:0]), "X_tgt"),
    ("X_tgt wider", lambda d: (d.Xs, d.ys, np.c_[d.Xt, d.Xt]), "X_tgt"),
    ("X_tgt narrower", lambda d: (d.Xs, d.ys, d.Xt[:, :2]), "X_tgt"),
    ("X_tgt columns reordered", lambda d: (d.S, d.ys, d.T[list("dcba")]), "X_tgt"),
    (
        "X_tgt columns renamed",
        lambda d: (d.S, d.ys, d.T.set_axis(list("wxyz"), axis=1)),
        "X_tgt",
    ),
    ("X_src None", lambda d: (None, d.ys, d.Xt), "X_src"),
    ("a string as X_src", lambda d: ("abc", d.ys, d.Xt), "X_src"),
    ("a dict as X_src", lambda d: ({"a": 1}, d.ys, d.Xt), "X_src"),
]
FEATURES_OK = [
    ("int features", lambda d: ((d.Xs * 3).astype(int), d.ys, (d.Xt * 3).astype(int))),
    ("bool features", lambda d: (d.Xs > 0, d.ys, d.Xt > 0)),
    ("float16 features", lambda d: (d.Xs.astype(np.float16), d.ys, d.Xt)),
    ("uint8 features", lambda d: (np.abs(d.Xs * 20).astype(np.uint8), d.ys, d.Xt)),
    ("object array of numbers", lambda d: (d.Xs.astype(object), d.ys, d.Xt)),
    ("lists of lists", lambda d: (d.Xs.tolist(), d.ys.tolist(), d.Xt.tolist())),
    ("tuples", lambda d: (tuple(map(tuple, d.Xs)), tuple(d.ys), d.Xt)),
    ("DataFrames", lambda d: (d.S, d.ys, d.T), lambda d: d.T),
    (
        "DataFrame, int column names",
        lambda d: (pd.DataFrame(d.Xs), d.ys, pd.DataFrame(d.Xt)),
    ),
    ("Fortran-ordered arrays", lambda d: (np.asfortranarray(d.Xs), d.ys, d.Xt)),
    (
        "read-only arrays",
        lambda d: (_read_only(d.Xs), _read_only(d.ys), _read_only(d.Xt)),
    ),
    ("non-contiguous slices", lambda d: (np.c_[d.Xs, d.Xs][:, ::2], d.ys, d.Xt)),
    ("constant features", lambda d: (d.Xs * 0 + 3, d.ys, d.Xt * 0 + 3)),
    ("one target row", lambda d: (d.Xs, d.ys, d.Xt[:1])),
    ("huge but finite inputs (1e30)", lambda d: (d.Xs * 1e30, d.ys, d.Xt * 1e30)),
    ("duplicated rows", lambda d: (np.r_[d.Xs, d.Xs], np.r_[d.ys, d.ys], d.Xt)),
    (
        "DataFrame X_src, array X_tgt (warns)",
        lambda d: (d.S, d.ys, d.Xt),
        lambda d: d.T,
    ),
]


def _obj_word(X):
    X = X.astype(object)
    X[0, 0] = "abc"
    return X


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


for _name, _args, _arg in FEATURES:
    case("features", _name, names=_arg, expect="error")(
        lambda d, a=_args: (fit(DANNClassifier(**SMALL)), a(d))
    )
for _name, _args, *_rows in FEATURES_OK:
    case("features", _name, expect="ok", rows=_rows[0] if _rows else None)(
        lambda d, a=_args: (fit(DANNClassifier(**SMALL)), a(d))
    )

# B. labels (three-argument form)
LABELS = [
    ("one class", lambda y: y * 0, "y_src", "error"),
    ("NaN label", lambda y: np.r_[np.nan, y[1:]], "y_src", "error"),
    ("inf label", lambda y: np.r_[np.inf, y[1:]], "y_src", "error"),
    ("continuous labels", lambda y: y + 0.5, "y_src", "error"),
    (
        "mixed int/str labels",
        lambda y: np.array([v if v % 2 else str(v) for v in y], dtype=object),
        "y_src",
        "error",
    ),
    ("one label short", lambda y: y[:-1], "y_src", "error"),
    ("one label too many", lambda y: np.r_[y, 0], "y_src", "error"),
    ("2-D multilabel", lambda y: np.c_[y, y], "y", "error"),
    ("y None", lambda y: None, "y", "error"),
    ("string labels", lambda y: np.array(["a", "b", "c"])[y], "", "ok"),
    (
        "object string labels",
        lambda y: np.array(["a", "b", "c"], dtype=object)[y],
        "",
        "ok",
    ),
    ("float labels 0., 1., 2.", lambda y: y.astype(float), "", "ok"),
    ("bool labels", lambda y: y % 2 == 0, "", "ok"),
    ("-1 as a class label", lambda y: y - 1, "", "ok"),
    ("huge int labels", lambda y: y * 10**15, "", "ok"),
    ("column vector of labels", lambda y: y[:, None], "", "ok"),
    (
        "pandas categorical labels",
        lambda y: pd.Series(pd.Categorical(np.array(list("abc"))[y])),
        "",
        "ok",
    ),
]
for _name, _y, _arg, _expect in LABELS:
    case("labels", _name, names=_arg, expect=_expect)(
        lambda d, f=_y: (fit(DANNClassifier(**SMALL)), (d.Xs, f(d.ys), d.Xt))
    )


# C. the stacked form
def _stacked_str(d):
    names = np.array(["low", "mid", "high"])[d.ys]
    return d.X, np.r_[names, np.full(len(d.Xt), -1)]  # numpy makes "-1" a string


STACKED = [
    ("README recipe with string labels", _stacked_str, "", "ok"),
    (
        "object labels with int -1",
        lambda d: (
            d.X,
            np.r_[
                np.array(list("abc"), dtype=object)[d.ys],
                np.full(len(d.Xt), -1, dtype=object),
            ],
        ),
        "",
        "ok",
    ),
    ("-1.0 as float marker", lambda d: (d.X, d.y.astype(float)), "", "ok"),
    ("DataFrame X", lambda d: (pd.concat([d.S, d.T]), d.y), "", "ok", lambda d: d.T),
    ("every label -1", lambda d: (d.X, np.full(len(d.X), -1)), "y", "error"),
    ("0 rows", lambda d: (d.X[:0], d.y[:0]), "X", "error"),
    ("X and y lengths differ", lambda d: (d.X, d.y[:-3]), "X", "error"),
    ("y None", lambda d: (d.X, None), "y", "error"),
    ("ragged X", lambda d: ([[1.0, 2.0], [3.0]] * 3, [0, 1, -1] * 2), "X", "error"),
    (
        "mixed labels",
        lambda d: (d.X, np.array([v if v % 2 else str(v) for v in d.y], dtype=object)),
        "y",
        "error",
    ),
]
for _name, _args, _arg, _expect, *_rows in STACKED:
    _rows = _rows[0] if _rows else None
    case("stacked form", _name, names=_arg, expect=_expect, rows=_rows)(
        lambda d, a=_args: (fit(DANNClassifier(**SMALL)), a(d))
    )
case("stacked form", "no -1 row (warns, source only)", expect="ok")(
    lambda d: (fit(DANNClassifier(**SMALL)), (d.Xs, d.ys))
)

# D. parameters
PARAMS = [
    (DANNClassifier, {"lr": 0}, "lr"),
    (DANNClassifier, {"lr": -1.0}, "lr"),
    (DANNClassifier, {"lr": float("nan")}, "lr"),
    (DANNClassifier, {"max_epochs": 0}, "max_epochs"),
    (DANNClassifier, {"batch_size": 0}, "batch_size"),
    (DANNClassifier, {"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
    (DANNClassifier, {"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    (DANNClassifier, {"hidden_layer_sizes": ("a",)}, "hidden_layer_sizes"),
    (DANNClassifier, {"dropout": 1.0}, "dropout"),
    (
        DANNClassifier,
        {"discriminator_hidden_layer_sizes": (0,)},
        "discriminator_hidden",
    ),
    (
        ADDAClassifier,
        {"discriminator_hidden_layer_sizes": (-3,)},
        "discriminator_hidden",
    ),
    (ADDAClassifier, {"adapt_betas": (2.0, 0.9)}, "adapt_betas"),
    (DANNClassifier, {"device": "nonsense"}, "device"),
    (DANNClassifier, {"device": "cuda:7"}, "device|cuda"),
    (DANNClassifier, {"optimizer": "rmsprop"}, "optimizer"),
    (DANNClassifier, {"weight_decay": -1.0}, "weight_decay"),
    (DANNClassifier, {"lambda_": -1.0}, "lambda_"),
    (DANNClassifier, {"lr_schedule": "cosine"}, "lr_schedule"),
    (DANNClassifier, {"input_scaling": "minmax"}, "input_scaling"),
    (DANNClassifier, {"feature_extractor": "resnet"}, "feature_extractor"),
    (
        DANNClassifier,
        {"feature_extractor_kwargs": {"n_filters": 4}},
        "feature_extractor_kwargs",
    ),
    (DANNClassifier, {"random_state": "seed"}, "random_state"),
    (DANNClassifier, {"callbacks": "early"}, "callbacks"),
    (MCCClassifier, {"temperature": 0.0}, "temperature"),
    (MCCClassifier, {"mcc_weight": -1.0}, "mcc_weight"),
    (SHOTAdapter, {"source_epochs": 0}, "source_epochs"),
    (SHOTAdapter, {"cls_par": -0.1}, "cls_par"),
    (SourceOnlyClassifier, {"batch_norm": True, "batch_size": 1}, "batch_size"),
]
for _Est, _params, _arg in PARAMS:
    _name = ", ".join(f"{k}={v!r}" for k, v in _params.items())
    case("parameters", f"{_Est.__name__}({_name})", names=_arg, expect="error")(
        lambda d, E=_Est, p=_params: (fit(E(**{**SMALL, **p})), (d.Xs, d.ys, d.Xt))
    )
case(
    "parameters", "wdcnn on signals of length 8", names="wdcnn|length", expect="error"
)(
    lambda d: (
        fit(SourceOnlyClassifier(feature_extractor="wdcnn", **F)),
        (d.sig[:, :8], d.sig_y),
    )
)
case(
    "parameters",
    "wdcnn with an unknown kwarg",
    names="feature_extractor_kwargs",
    expect="error",
)(
    lambda d: (
        fit(
            SourceOnlyClassifier(
                feature_extractor="wdcnn", feature_extractor_kwargs={"width": 3}, **F
            )
        ),
        (d.sig, d.sig_y),
    )
)
case(
    "parameters",
    "wdcnn with batch_size=1 (batch norm)",
    names="batch_size",
    expect="error",
)(
    lambda d: (
        fit(SourceOnlyClassifier(feature_extractor="wdcnn", **{**F, "batch_size": 1})),
        (d.sig[:4], d.sig_y[:4]),
    )
)

# E. source models
SOURCES = [
    (
        "unfitted source_estimator",
        lambda d: (SHOTAdapter(SourceOnlyClassifier(), **F), (d.Xt,)),
        "source_estimator",
    ),
    (
        "source fitted on 4 features, X has 2",
        lambda d: (SHOTAdapter(source(), **F), (d.Xt[:, :2],)),
        "X",
    ),
    (
        "ADDA: source classes differ",
        lambda d: (ADDAClassifier(source(), **F), (d.Xs, d.ys + 1, d.Xt)),
        "source_estimator",
    ),
    (
        "module pair: widths do not chain",
        lambda d: (SHOTAdapter((nn.Linear(4, 8), nn.Linear(5, 3)), **F), (d.Xt,)),
        "source_estimator",
    ),
    (
        "module pair: wrong input width",
        lambda d: (SHOTAdapter((nn.Linear(3, 8), nn.Linear(8, 3)), **F), (d.Xt,)),
        "source_estimator",
    ),
    (
        "module pair: 1-D output",
        lambda d: (SHOTAdapter((nn.Linear(4, 8), nn.Flatten(0)), **F), (d.Xt,)),
        "source_estimator",
    ),
    (
        "a string as source_estimator",
        lambda d: (SHOTAdapter("model.pt", **F), (d.Xt,)),
        "source_estimator",
    ),
    (
        "SHOT: columns reordered vs source",
        lambda d: (SHOTAdapter(source("named"), **F), (d.T[list("dcba")],)),
        "X",
    ),
    (
        "ADDA: columns reordered vs source",
        lambda d: (
            ADDAClassifier(source("named"), **F),
            (d.S[list("dcba")], d.ys, d.T[list("dcba")]),
        ),
        "X_src",
    ),
    (
        "SHOT source-free with labels",
        lambda d: (SHOTAdapter(source(), **F), (d.Xt, d.ys)),
        "y",
    ),
    (
        "SHOT source-free with X_tgt",
        lambda d: (SHOTAdapter(source(), **F), (d.Xs, None, d.Xt)),
        "X_tgt",
    ),
    (
        "SHOT: classes with a fitted source",
        lambda d: (SHOTAdapter(source(), classes=[0, 1, 2], **F), (d.Xt,)),
        "classes",
    ),
    (
        "SHOT: one target row, source with batch norm",
        lambda d: (SHOTAdapter(source("bn"), **F), (d.Xt[:1],)),
        "batch_size",
    ),
]
for _name, _make, _arg in SOURCES:
    case("source models", _name, names=_arg, expect="error")(
        lambda d, m=_make: (lambda est, args: (fit(est), args))(*m(d))
    )
case("source models", "source fitted with names, X without (warns)", expect="ok")(
    lambda d: (fit(SHOTAdapter(source("named"), **F)), (d.Xt,))
)
case("source models", "FrozenEstimator source, stacked ADDA", expect="ok")(
    lambda d: (fit(ADDAClassifier(FrozenEstimator(source()), **F)), (d.X, d.y))
)


# F. faults during training
class Poison(Callback):
    """NaN into a module's first parameter at the end of epoch ``epoch``."""

    def __init__(self, name, epoch=2, event="on_epoch_end"):
        self.name, self.epoch, self.event = name, epoch, event

    def on_epoch_end(self, net, **kwargs):
        if self.event == "on_epoch_end" and net.epoch_ == self.epoch:
            self._poison(net)

    def on_batch_begin(self, net, **kwargs):
        if self.event == "on_batch_begin" and net.epoch_ == self.epoch:
            self._poison(net)

    def _poison(self, net):
        if not hasattr(net.module_, self.name):  # another phase
            return
        with torch.no_grad():
            next(getattr(net.module_, self.name).parameters()).fill_(float("nan"))


class Sigint(Callback):
    """A real SIGINT (Ctrl-C) at the end of epoch 1 of ``phase``."""

    def __init__(self, phase):
        self.phase = phase

    def on_epoch_end(self, net, **kwargs):
        if net.phase_name == self.phase and net.epoch_ == 1:
            signal.raise_signal(signal.SIGINT)


class Crash(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("callback crashed")


DIVERGE = [
    (
        "blow-up in the last step (lr=1e6, sgd)",
        lambda: SourceOnlyClassifier(
            **{**SMALL, "lr": 1e6, "optimizer": "sgd", "batch_size": 32}
        ),
    ),
    (
        "DANN lr=1e30, sgd",
        lambda: DANNClassifier(
            **{
                **SMALL,
                "lr": 1e30,
                "optimizer": "sgd",
                "max_epochs": 1,
                "hidden_layer_sizes": (256,),
            }
        ),
    ),
    (
        "NaN loss term mid-training",
        lambda: DANNClassifier(
            callbacks=[Poison("discriminator", 1, "on_batch_begin")], **SMALL
        ),
    ),
    (
        "NaN parameters after the last step",
        lambda: DANNClassifier(callbacks=[Poison("head")], **SMALL),
    ),
    (
        "NaN in ADDA's target encoder",
        lambda: ADDAClassifier(callbacks=[Poison("target_encoder")], **TWO),
    ),
    (
        "NaN in SHOT's encoder",
        lambda: SHOTAdapter(callbacks=[Poison("encoder")], **TWO),
    ),
]
for _name, _make in DIVERGE:
    case("training faults", _name, names="epoch", expect="error")(
        lambda d, m=_make: (fit(m()), (d.Xs, d.ys, d.Xt))
    )
case(
    "training faults",
    "exception in a callback",
    names="callback crashed",
    expect="error",
)(lambda d: (fit(DANNClassifier(callbacks=[Crash()], **SMALL)), (d.Xs, d.ys, d.Xt)))
for _Est, _phase in [
    (SourceOnlyClassifier, "training"),
    (DANNClassifier, "training"),
    (MCCClassifier, "training"),
    (ADDAClassifier, "source"),
    (ADDAClassifier, "adaptation"),
    (SHOTAdapter, "source"),
    (SHOTAdapter, "adaptation"),
]:
    _kw = TWO if _Est in (ADDAClassifier, SHOTAdapter) else SMALL
    case("interrupts", f"Ctrl-C in {_Est.__name__} {_phase}", expect="ok")(
        lambda d, E=_Est, p=_phase, kw=_kw: (
            _interrupted(E(callbacks=[Sigint(p)], **kw), p),
            (d.Xs, d.ys, d.Xt),
        )
    )


def _interrupted(est, phase):
    def run(*args):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(*args)
        said = any(f"{phase} phase at epoch 1" in str(w.message) for w in caught)
        skipped = phase != "source" or len(getattr(est, "history_", [])) <= 1
        return est if (est.interrupted_ and said and skipped) else "no warning/flag"

    return run


case("interrupts", "early stopping is not an interrupt", expect="ok")(
    lambda d: (
        _early_stop(
            ADDAClassifier(
                callbacks=[UnsupervisedEarlyStopping(patience=1, threshold=9)], **TWO
            )
        ),
        (d.Xs, d.ys, d.Xt),
    )
)


def _early_stop(est):
    def run(*args):
        est.fit(*args)
        return est if not est.interrupted_ and len(est.history_) == 2 else "flagged"

    return run


# G. refits: a failure leaves the fitted model as it was
def _refit(params, args_of):
    def make(d):
        est = DANNClassifier(**SMALL).fit(d.S, d.ys, d.T)
        state = {k: v for k, v in vars(est).items() if k.endswith("_")}
        proba = est.predict_proba(d.T)

        def run(*args):
            est.set_params(**params)
            try:
                est.fit(*args)
            finally:
                est.set_params(callbacks=None, warm_start=False)
                after = {k: v for k, v in vars(est).items() if k.endswith("_")}
                same = after.keys() == state.keys() and all(
                    after[k] is state[k] for k in state
                )
                if not (same and np.array_equal(est.predict_proba(d.T), proba)):
                    raise AssertionError("SILENT: the failed refit changed the model")

        return run, args_of(d)

    return make


REFITS = [
    (
        "refit diverges",
        {"callbacks": [Poison("head", 1)]},
        lambda d: (d.S, d.ys, d.T),
        "epoch",
    ),
    (
        "refit: new classes, bad X_tgt",
        {},
        lambda d: (d.S, d.ys + 5, np.c_[d.T, d.T]),
        "X_tgt",
    ),
    ("refit: X_tgt fails validation", {}, lambda d: (d.Xs[:, :3], d.ys, d.Xt), "X_tgt"),
    (
        "warm start: new classes",
        {"warm_start": True},
        lambda d: (d.S, d.ys + 1, d.T),
        "classes",
    ),
    (
        "warm start diverges",
        {"warm_start": True, "callbacks": [Poison("head", 1)]},
        lambda d: (d.S, d.ys, d.T),
        "epoch",
    ),
    (
        "refit interrupted by a crash",
        {"callbacks": [Crash()]},
        lambda d: (d.S, d.ys, d.T),
        "callback crashed",
    ),
]
for _name, _params, _args, _arg in REFITS:
    case("refits", _name, names=_arg, expect="error")(_refit(_params, _args))


# H. prediction
def _predict(method, rows_of):
    def make(d):
        est = DANNClassifier(**SMALL).fit(d.S, d.ys, d.T)
        return getattr(est, method), (rows_of(d),)

    return make


PREDICT = [
    ("predict before fit", lambda d: (DANNClassifier().predict, (d.Xt,)), "fit"),
    ("predict, wrong width", _predict("predict", lambda d: d.Xt[:, :3]), "X"),
    (
        "predict_proba with NaN",
        _predict("predict_proba", lambda d: _set(d.Xt, np.nan)),
        "X",
    ),
    (
        "predict, columns reordered",
        _predict("predict", lambda d: d.T[list("dcba")]),
        "X",
    ),
    ("predict, 0 rows", _predict("predict", lambda d: d.Xt[:0]), "X"),
    ("transform, wrong width", _predict("transform", lambda d: np.c_[d.Xt, d.Xt]), "X"),
    ("predict on 1e39", _predict("predict", lambda d: _set(d.Xt, 1e39)), "X"),
    ("predict, string features", _predict("predict", lambda d: d.Xt.astype(str)), "X"),
]


def _overflow(d):
    est = SourceOnlyClassifier(**SMALL).fit(d.Xs, d.ys)
    with torch.no_grad():
        est.net_.module_.head[0].weight.fill_(3e38)
        est.net_.module_.head[0].bias.fill_(3e38)
    return est.predict_proba, (d.Xt,)


def _nan_network(d):
    est = SourceOnlyClassifier(**SMALL).fit(d.Xs, d.ys)
    with torch.no_grad():
        est.net_.module_.head[0].weight.fill_(float("nan"))
    return est.predict, (d.Xt,)


PREDICT += [
    ("network overflows float32", _overflow, "X"),
    ("network holds NaN weights", _nan_network, "parameters"),
]
for _name, _make, _arg in PREDICT:
    case("prediction", _name, names=_arg, expect="error")(_make)
case("prediction", "predict an array after a DataFrame fit (warns)", expect="ok")(
    _predict("predict_proba", lambda d: d.Xt)
)


# I. persistence
def _saved(d, est=None):
    est = est or DANNClassifier(**SMALL).fit(d.Xs, d.ys, d.Xt)
    path = os.path.join(tempfile.mkdtemp(), "model.skuda")
    save(est, path)
    return path


def _corrupt(edit):
    def make(d):
        path = _saved(d)
        with open(path, "rb") as f:
            content = f.read()
        with open(path, "wb") as f:
            f.write(edit(content))
        return load, (path,)

    return make


def _flip(content):
    content = bytearray(content)
    content[content.index(b"weights.pt") + 400] ^= 0xFF
    return bytes(content)


def _meta(change):
    import json
    import zipfile

    def make(d):
        path = _saved(d)
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        meta = json.loads(members["skuda.json"])
        change(meta)
        members["skuda.json"] = json.dumps(meta).encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, c in members.items():
                z.writestr(n, c)
        return load, (path,)

    return make


def _module_model(d):
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    est = DANNClassifier(feature_extractor=module, **F).fit(d.Xs, d.ys, d.Xt)
    return load, (_saved(d, est),)


PERSIST = [
    (
        "load a missing file",
        lambda d: (load, ("/nonexistent/model.skuda",)),
        "nonexistent",
    ),
    ("load a truncated file", _corrupt(lambda c: c[: len(c) // 2]), "damaged"),
    ("load a file cut at the end", _corrupt(lambda c: c[:-30]), "damaged"),
    ("load random bytes", _corrupt(lambda c: os.urandom(500)), "damaged"),
    ("load a flipped byte in the weights", _corrupt(_flip), "damaged"),
    (
        "load a newer skuda's file",
        _meta(lambda m: m["versions"].update(skuda="9.0.0")),
        "skuda 9.0.0",
    ),
    ("load an unknown file format", _meta(lambda m: m.update(format=7)), "format 7"),
    (
        "load a file naming os.system",
        _meta(lambda m: m["estimator"].update({"class": "os:system"})),
        "os:system",
    ),
    ("load without the custom module", _module_model, "feature_extractor"),
    (
        "save an unfitted estimator",
        lambda d: (save, (SourceOnlyClassifier(), "/tmp/x.skuda")),
        "fit",
    ),
]
for _name, _make, _arg in PERSIST:
    case("persistence", _name, names=_arg, expect="error")(_make)


def _cuda_pickle(d):
    est = SourceOnlyClassifier(**SMALL).fit(d.Xs, d.ys)
    proba = est.predict_proba(d.Xt)
    est.device_, est.net_.device = "cuda", "cuda"
    blob = pickle.dumps(est)

    def run():
        available = torch.cuda.is_available
        torch.cuda.is_available = lambda: False
        try:
            restored = pickle.loads(blob)
        finally:
            torch.cuda.is_available = available
        same = np.array_equal(restored.predict_proba(d.Xt), proba)
        return restored if same and restored.device_ == "cpu" else "not moved"

    return run, ()


def _round_trip(make_est):
    def make(d):
        est = make_est(d)
        path = _saved(d, est)

        def run(p):
            loaded = load(p)
            same = np.array_equal(loaded.predict_proba(d.Xt), est.predict_proba(d.Xt))
            return loaded if same else "predictions differ"

        return run, (path,)

    return make


case("persistence", "unpickle a CUDA model without CUDA", expect="ok")(_cuda_pickle)
for _name, _make in [
    ("round trip DANN", lambda d: DANNClassifier(**SMALL).fit(d.Xs, d.ys, d.Xt)),
    (
        "round trip ADDA with a source model",
        lambda d: ADDAClassifier(source(), **F).fit(d.Xs, d.ys, d.Xt),
    ),
    ("round trip source-free SHOT", lambda d: SHOTAdapter(source(), **F).fit(d.Xt)),
]:
    case("persistence", _name, expect="ok")(_round_trip(_make))
