"""Property-based tests: any input gives a clear error or a sound model.

For every estimator and both fit forms (and SHOT's source-free form),
hypothesis generates shapes, dtypes, containers, NaN/inf positions, label
types and label counts. Whatever comes in:

* ``fit`` raises a ``ValueError``/``TypeError`` whose message names the
  argument at fault, and the estimator stays unfitted; or
* it fits, and ``predict_proba`` gives finite probabilities of the right shape;
* and the caller's data is never modified (a hash before and after).

Examples are derandomised (the same on every run) and tiny (one epoch).
"""

import hashlib
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    TrainingDivergedError,
)
from skuda.datasets import make_shifted_blobs

TINY = dict(
    max_epochs=1, batch_size=4, min_iterations_per_epoch=1, device="cpu", random_state=0
)
MLP = dict(hidden_layer_sizes=(4,), **TINY)
ESTIMATORS = {
    "source_only": lambda: SourceOnlyClassifier(**MLP),
    "dann": lambda: DANNClassifier(discriminator_hidden_layer_sizes=(4,), **MLP),
    "mcc": lambda: MCCClassifier(**MLP),
    "cdan": lambda: CDANClassifier(discriminator_hidden_layer_sizes=(4,), **MLP),
    "coral": lambda: DeepCORALClassifier(**MLP),
    "adda": lambda: ADDAClassifier(
        source_epochs=1, discriminator_hidden_layer_sizes=(4,), **MLP
    ),
    "shot": lambda: SHOTAdapter(source_epochs=1, bottleneck_dim=4, **MLP),
}
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None)
ARGUMENT = re.compile(r"\b(X|y|X_src|y_src|X_tgt|batch_size)\b")


def _frame(X):
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])


def _set(X, value):
    X = X.copy()
    X[len(X) // 2, -1] = value
    return X


# One fault per example (or none), each a function of the clean
# (X_src, y_src, X_tgt): mixing many faults at once would only ever test the
# first check that fires.
FAULTS = {
    "none": lambda Xs, ys, Xt: (Xs, ys, Xt),
    "nan in X_src": lambda Xs, ys, Xt: (_set(Xs, np.nan), ys, Xt),
    "inf in X_tgt": lambda Xs, ys, Xt: (Xs, ys, _set(Xt, np.inf)),
    "-inf in X_src": lambda Xs, ys, Xt: (_set(Xs, -np.inf), ys, Xt),
    "float32 overflow": lambda Xs, ys, Xt: (_set(Xs, 1e39), ys, Xt),
    "huge but finite": lambda Xs, ys, Xt: (Xs * 1e30, ys, Xt * 1e30),
    "int features": lambda Xs, ys, Xt: ((Xs * 3).astype(int), ys, (Xt * 3).astype(int)),
    "bool features": lambda Xs, ys, Xt: (Xs > 0, ys, Xt > 0),
    "float32": lambda Xs, ys, Xt: (Xs.astype("float32"), ys, Xt.astype("float32")),
    "object numbers": lambda Xs, ys, Xt: (Xs.astype(object), ys, Xt),
    "str features": lambda Xs, ys, Xt: (Xs.astype(str), ys, Xt),
    "complex": lambda Xs, ys, Xt: (Xs.astype(complex), ys, Xt),
    "lists": lambda Xs, ys, Xt: (Xs.tolist(), list(ys), Xt.tolist()),
    "DataFrames": lambda Xs, ys, Xt: (_frame(Xs), pd.Series(ys), _frame(Xt)),
    "1-D X_src": lambda Xs, ys, Xt: (Xs[:, 0], ys, Xt),
    "3-D X_src": lambda Xs, ys, Xt: (Xs[:, :, None], ys, Xt[:, :, None]),
    "0 features": lambda Xs, ys, Xt: (Xs[:, :0], ys, Xt[:, :0]),
    "X_tgt wider": lambda Xs, ys, Xt: (Xs, ys, np.c_[Xt, Xt]),
    "empty X_tgt": lambda Xs, ys, Xt: (Xs, ys, Xt[:0]),
    "one target row": lambda Xs, ys, Xt: (Xs, ys, Xt[:1]),
    "empty source": lambda Xs, ys, Xt: (Xs[:0], ys[:0], Xt),
    "constant features": lambda Xs, ys, Xt: (Xs * 0 + 5, ys, Xt * 0 + 5),
    "str labels": lambda Xs, ys, Xt: (Xs, np.array(["a", "b", "c"])[ys], Xt),
    "float labels": lambda Xs, ys, Xt: (Xs, ys.astype(float), Xt),
    "bool labels": lambda Xs, ys, Xt: (Xs, ys % 2 == 0, Xt),
    "object str labels": lambda Xs, ys, Xt: (Xs, ys.astype(str).astype(object), Xt),
    "mixed labels": lambda Xs, ys, Xt: (
        Xs,
        np.array([v if v % 2 else str(v) for v in ys], dtype=object),
        Xt,
    ),
    "NaN label": lambda Xs, ys, Xt: (Xs, np.r_[np.nan, ys[1:]], Xt),
    "continuous labels": lambda Xs, ys, Xt: (Xs, ys + 0.5, Xt),
    "one class": lambda Xs, ys, Xt: (Xs, ys * 0, Xt),
    "one label short": lambda Xs, ys, Xt: (Xs, ys[:-1], Xt),
    "column of labels": lambda Xs, ys, Xt: (Xs, ys[:, None], Xt),
    "labels None": lambda Xs, ys, Xt: (Xs, None, Xt),
}


@st.composite
def domains(draw):
    """Clean source and target rows with one fault applied."""
    n_src, n_tgt = draw(st.integers(3, 9)), draw(st.integers(2, 6))
    n_features = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X_src = rng.normal(size=(n_src, n_features))
    X_tgt = rng.normal(size=(n_tgt, n_features)) + 1.0
    y_src = np.arange(n_src) % draw(st.sampled_from([2, 3]))
    fault = draw(st.sampled_from(sorted(FAULTS)))
    return FAULTS[fault](X_src, y_src, X_tgt)


def _stacked(X_src, y_src, X_tgt):
    """The stacked form as the README builds it: ``np.r_[y_src, -1, ...]``."""
    try:
        X = np.vstack([np.asarray(X_src), np.asarray(X_tgt)])
    except ValueError:  # the domains do not stack: pass the source rows only
        X, X_tgt = X_src, X_tgt[:0]
    if y_src is None:
        return X, None
    y_src = np.asarray(y_src)
    return X, np.r_[y_src.reshape(len(y_src)), np.full(len(X_tgt), -1)]


def _digest(obj):
    return hashlib.sha256(pickle.dumps(obj)).hexdigest()


def _check(estimator, args, rows):
    """The three properties of the module docstring, for ``fit(*args)``."""
    before = [_digest(a) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimator.fit(*args)
        except (ValueError, TypeError) as exc:
            assert ARGUMENT.search(str(exc)), f"argument not named: {exc!r}"
            assert not hasattr(estimator, "net_")
        except TrainingDivergedError as exc:  # clear too: names epoch and phase
            assert "epoch" in str(exc)
            assert not hasattr(estimator, "net_")
        else:
            proba = estimator.predict_proba(rows)
            assert proba.shape == (len(rows), len(estimator.classes_))
            assert np.isfinite(proba).all()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert [_digest(a) for a in args] == before, "the caller's data was modified"


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@FUZZ
@given(case=domains())
def test_three_argument_form(name, case):
    _check(ESTIMATORS[name](), case, case[0])


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@FUZZ
@given(case=domains())
def test_stacked_form(name, case):
    args = _stacked(*case)
    _check(ESTIMATORS[name](), args, args[0])


@pytest.fixture(scope="module")
def source():
    Xs, ys, _, _ = make_shifted_blobs(20, random_state=0)
    return SourceOnlyClassifier(**MLP).fit(Xs, ys)


@FUZZ
@given(case=domains(), y=st.sampled_from([None, "unlabelled", "labelled"]))
def test_source_free_form(source, case, y):
    X = case[2]  # the target rows, with the fault (if it touched them)
    n = len(X)
    args = (X,) if y is None else (X, np.full(n, -1) if y == "unlabelled" else [0] * n)
    _check(SHOTAdapter(source, **TINY), args, X)
