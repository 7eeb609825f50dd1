"""Input checks shared by every skuda estimator.

All private scikit-learn helpers used by skuda are imported here and nowhere else,
so a change in scikit-learn touches one file.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_array, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _get_feature_names,
)

from ._rows import is_row_source, row_source
from ._sparse import SparseRows

__all__ = [
    "UNLABELED",
    "as_signals",
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_features",
    "check_feature_names",
    "check_regression_targets",
    "check_rows",
    "check_source_labels",
    "host_labels",
    "is_unlabeled",
    "n_rows",
    "reshape_rows",
    "split_stacked",
]

UNLABELED = -1
"""Label that marks target (unlabelled) rows in the stacked ``fit(X, y)`` form."""


def check_features(estimator, X, *, name, reset, allow_nd=False, expected=None):
    """Validate one domain's features and return a new C-contiguous float32 array.

    ``reset=True`` records ``n_features_in_`` (and ``feature_names_in_`` for
    DataFrames) on ``estimator``; ``reset=False`` checks ``X`` against them.
    The result never shares memory with ``X``: nothing the caller passed can be
    modified by later work on it.
    """
    _reject_kind(X, name, allow_nd)
    _check_names(estimator, X, name, reset, against_source=expected is not None)
    try:
        X = check_array(
            X,
            dtype=np.float32,
            ensure_all_finite=True,
            allow_nd=allow_nd,
            input_name=name,
            copy=True,
            order="C",
        )
    except (ValueError, TypeError) as exc:
        if name in str(exc):
            raise
        raise type(exc)(f"{name}: {exc}") from None
    return _check_row_shape(estimator, X, name, reset, expected)


def check_rows(estimator, X, *, name, reset, allow_nd=False, expected=None):
    """:func:`check_features`, or a :class:`~skuda._rows.RowSource` of ``X``.

    Tensors, memory maps and Datasets are not copied: they come back as a
    source whose type, dtype and shape are checked now and whose values are
    checked for NaN/inf as they are read (see :mod:`skuda._rows`). SciPy
    sparse matrices and arrays become :class:`~skuda._sparse.SparseRows`
    (CSR, values checked now). Everything else is :func:`check_features`.
    """
    if sp.issparse(X):
        X = SparseRows(X, name)
    if not is_row_source(X):
        return check_features(
            estimator, X, name=name, reset=reset, allow_nd=allow_nd, expected=expected
        )
    X = row_source(X, name)
    _check_names(estimator, X, name, reset, against_source=expected is not None)
    _check_ndim(X.ndim, name, allow_nd)
    return _check_row_shape(estimator, X, name, reset, expected)


def _check_row_shape(estimator, X, name, reset, expected):
    """Check the row shape of validated rows ``X``; return them, maybe reshaped."""
    if expected is not None and X.shape[1:] != tuple(expected):
        raise ValueError(
            f"{name} has {_describe(X.shape[1:])} per sample but X_src has "
            f"{_describe(expected)}; both domains need the same features."
        )
    fitted_shape = getattr(estimator, "input_shape_", None)
    if reset or expected is not None or fitted_shape is None or len(fitted_shape) < 2:
        _check_n_features(estimator, X, reset=reset)
        stale = reset or expected is not None or fitted_shape is None
        if not stale and X.shape[1:] != fitted_shape:
            raise ValueError(
                f"{name} has samples of shape {X.shape[1:]}, but "
                f"{type(estimator).__name__} was fitted on shape {fitted_shape}."
            )
        return X
    return _fitted_signal_rows(estimator, X, name, fitted_shape)


def _check_names(estimator, X, name, reset, against_source):
    """Run scikit-learn's feature-name check, naming ``X`` as ``name`` in messages."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _check_feature_names(estimator, X, reset=reset)
    except ValueError as exc:
        against = "X_src's" if against_source else "those seen in fit"
        raise ValueError(
            f"{name}'s columns must be {against}, in the same order. {exc}"
        ) from None
    for warning in caught:  # scikit-learn calls every array "X"
        text = re.sub(r"^X ", f"{name} ", str(warning.message))
        warnings.warn(text, warning.category, stacklevel=4)


def _reject_kind(X, name, allow_nd):
    """Raise for input of the wrong kind: None, text, too many dims."""
    if X is None:
        raise ValueError(
            f"{name} is None; expected an array of shape (n_samples, ...)."
        )
    dtype = getattr(X, "dtype", None)
    if dtype is not None and dtype.kind in "USc":
        raise TypeError(f"{name} has dtype {dtype}; expected numeric features.")
    _check_ndim(_ndim(X, name), name, allow_nd)


def _check_ndim(ndim, name, allow_nd):
    if not allow_nd and ndim > 2:
        raise ValueError(
            f"{name} has {ndim} dimensions; expected 2-D input (n_samples, "
            "n_features). Signals of shape (n_samples, n_channels, length) need a "
            "signal backbone (feature_extractor='wdcnn' or 'cnn1d') or a module."
        )


def _fitted_signal_rows(estimator, X, name, fitted_shape):
    """Check rows for a fitted network that reads signals; return them shaped.

    ``(n, length)`` is one channel, and ``(n, 1, length)`` is accepted after a
    fit on ``(n, length)`` rows.
    """
    if X.ndim == 2 and fitted_shape == (1, X.shape[1]):
        return X.reshape(X.shape[0], 1, X.shape[1])
    flat = math.prod(fitted_shape)
    if X.ndim == 2 and X.shape[1] == flat == estimator.n_features_in_:
        return X.reshape(X.shape[0], *fitted_shape)  # fitted on flat rows, reshaped
    if X.shape[1:] == fitted_shape:
        return X
    mismatch = (
        f"{name} has samples of shape {X.shape[1:]} ({_describe_signal(X.shape)}), "
        f"but {type(estimator).__name__} was fitted on shape {fitted_shape} "
        f"({_describe_signal((0, *fitted_shape))})."
    )
    try:
        _check_n_features(estimator, X, reset=False)
    except ValueError as exc:  # scikit-learn's wording too, after the shapes
        raise ValueError(f"{mismatch} ({exc})") from None
    raise ValueError(mismatch)


def _ndim(X, name):
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            ndim = np.asarray(X).ndim
        except ValueError as exc:  # ragged nested lists
            raise ValueError(
                f"{name} is a ragged sequence: its rows do not all have the same "
                f"length ({exc})"
            ) from None
        except TypeError:  # check_array reports what it cannot read
            ndim = 0
    return ndim


def _describe_signal(shape):
    if len(shape) == 2:
        return f"{shape[1]} values per row"
    if len(shape) == 3:
        channels = "channel" if shape[1] == 1 else "channels"
        return f"{shape[1]} {channels} of length {shape[2]}"
    return f"rank {len(shape)}"


def _describe(shape):
    shape = tuple(shape)
    return f"{shape[0]} features" if len(shape) == 1 else f"shape {shape}"


def check_source_labels(y, n_rows, *, name="y_src"):
    """Validate source labels: 1-D, one per row, classification, >= 2 classes."""
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None."
        )
    y = column_or_1d(_host(y), warn=True)
    if len(y) != n_rows:
        raise ValueError(
            f"{name} has {len(y)} labels but there are {n_rows} source rows; they "
            "must match."
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or infinity.")
    _check_label_types(y, name)
    try:
        check_classification_targets(y)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{name} contains only one class ({classes[0]!r}); a classifier needs "
            "samples of at least 2 classes in the source data."
        )
    return y


def split_stacked(X, y, task=None):
    """Split the stacked form ``(X, y)`` into its labelled and target rows.

    ``task`` (an estimator's ``_task``) says which rows are target rows: its
    ``stacked_targets(y)`` returns ``(y, is_target)`` and ``marker`` names the
    marker in messages. None: rows labelled ``-1`` (classification).
    Returns ``(X_src, y_src, X_tgt)``; ``X_tgt`` is None when no row is marked.
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None."
        )
    if task is None:
        marker, y = "-1", column_or_1d(_host(y), warn=True)
        is_target = is_unlabeled(y)
    else:
        marker, (y, is_target) = task.marker, task.stacked_targets(y)
    if sp.issparse(X):
        X = SparseRows(X, "X")
    if is_row_source(X):  # split by row indices, without reading the rows
        X = row_source(X, "X")
    elif not hasattr(X, "iloc"):
        _ndim(X, "X")  # a clear error for ragged rows
        X = np.asarray(X)
    n = n_rows(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)} labels; they must match.")
    if n == 0:
        raise ValueError("X has 0 rows; expected labelled source rows and target rows.")
    if is_target.all():
        raise ValueError(
            f"Every label in y is {marker} (unlabelled target rows): there is no "
            "labelled source data to learn from."
        )
    if not is_target.any():
        return X, y, None
    y_src = y[~is_target]
    if y_src.dtype == object:
        _check_label_types(y_src, "y")
        y_src = np.asarray(list(y_src))
    return _take_rows(X, ~is_target), y_src, _take_rows(X, is_target)


def check_regression_targets(y, n_rows, *, name="y_src"):
    """Validate continuous source targets: numbers, finite, one row per sample.

    Returns a float64 array of shape (n,) or (n, n_outputs); integers are
    values, not classes.
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None."
        )
    y = _host(y)
    if getattr(y, "dtype", None) is not None and y.dtype.kind in "USO":
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must hold numbers (a regressor's targets); got dtype "
                f"{y.dtype}."
            ) from None
    try:
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, ensure_all_finite=False,
            input_name=name, ensure_min_samples=0,
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if y.ndim == 2 and y.shape[1] == 0 or y.ndim > 2:
        raise ValueError(
            f"{name} must have shape (n,) or (n, n_outputs); got {y.shape}."
        )
    if len(y) != n_rows:
        raise ValueError(
            f"{name} has {len(y)} targets but there are {n_rows} source rows; they "
            "must match."
        )
    if not np.isfinite(y).all():
        raise ValueError(
            f"{name} contains NaN or infinity; every source row needs a finite "
            "target. (In the stacked fit(X, y) form NaN marks target rows; the "
            "three-argument form takes the target rows as X_tgt.)"
        )
    return y


def _host(y):
    """Labels given as a tensor (on any device), as a NumPy array."""
    return y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y


host_labels = _host


def n_rows(X):
    """Count the rows of an array, DataFrame, sparse matrix or list."""
    if hasattr(X, "shape") and len(X.shape) > 0:
        return X.shape[0]
    try:
        return len(X)
    except TypeError:  # e.g. an iterable-style Dataset: check_rows says why
        return None


def is_unlabeled(y):
    """Mask of the unlabelled rows of the 1-D labels ``y``.

    The number -1 marks them, and for string labels the string "-1" (what
    ``np.r_[y_str, np.full(n, -1)]`` makes of it).
    """
    if y.dtype.kind in "iuf":
        return y == UNLABELED
    if y.dtype.kind in "US":
        return y == y.dtype.type(str(UNLABELED))
    if y.dtype.kind == "O":
        return np.fromiter(
            (
                (isinstance(v, numbers.Number) and v == UNLABELED)
                or (isinstance(v, str) and v == str(UNLABELED))
                for v in y
            ),
            dtype=bool,
            count=len(y),
        )
    return np.zeros(len(y), dtype=bool)


def _check_label_types(y, name):
    """TypeError when object labels mix types (e.g. ints and strings)."""
    if y.dtype != object:
        return
    kinds = {"number" if isinstance(v, numbers.Number) else type(v).__name__ for v in y}
    if len(kinds) > 1:
        raise TypeError(
            f"{name} mixes labels of different types ({', '.join(sorted(kinds))}); "
            "use one type for every class, e.g. y.astype(str)."
        )


def check_feature_names(X, name, expected, owner):
    """Check the column names of ``X`` against ``expected`` (those ``owner`` saw).

    As scikit-learn checks its own: a ValueError when both are known and
    differ (order included), a warning when ``X`` has none but ``owner`` was
    fitted with some.
    """
    if expected is None:
        return
    names = _get_feature_names(X)
    if names is None:
        warnings.warn(
            f"{name} does not have valid feature names, but {owner} was fitted "
            "with feature names.",
            UserWarning,
            stacklevel=3,
        )
        return
    if len(names) != len(expected) or not np.all(names == expected):
        raise ValueError(
            f"{name}'s columns must be those {owner} was fitted on, in the same "
            f"order: got {list(names)}, expected {list(expected)}."
        )


def _take_rows(X, mask):
    if hasattr(X, "subset"):  # a RowSource
        return X.subset(np.flatnonzero(mask))
    if hasattr(X, "iloc"):
        return X.iloc[np.flatnonzero(mask)]
    return X[mask]


def reshape_rows(X, name, shape):
    """Rows of ``X`` as samples of ``shape`` (``input_shape``); None: unchanged.

    Flat rows ``(n, prod(shape))`` are reshaped (C order, as
    ``X.reshape(n, *shape)``); rows already of ``shape`` pass.
    """
    if shape is None or X.shape[1:] == shape:
        return X
    size = math.prod(shape)
    if X.ndim == 2 and X.shape[1] == size:
        return X.reshape(X.shape[0], *shape)
    raise ValueError(
        f"input_shape={shape} takes flat rows of {size} values or samples of shape "
        f"{shape}; {name} has samples of shape {tuple(X.shape[1:])}."
    )


def as_signals(X, name, signals):
    """``X`` as ``(n, channels, length)`` when the backbone reads ``signals``."""
    if X is None or not signals:
        return X
    if X.ndim == 2:
        return X.reshape(X.shape[0], 1, X.shape[1])
    if X.ndim != 3:
        raise ValueError(
            f"{name} has shape {X.shape}; a signal backbone takes "
            "(n_samples, n_channels, length) or (n_samples, length) arrays."
        )
    return X
