"""Reverse validation: adapt back from the pseudo-labelled target."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from .._sparse import sparse_matrix
from .._validation import UNLABELED, _describe
from ._base import REGRESSION, _DAScorer, task_of


class ReverseValidationScorer(_DAScorer):
    """Reverse validation: adapt back from the pseudo-labelled target.

    The fitted model labels the target rows; a fresh clone of it is then
    trained with those target rows as its labelled source and the source rows
    as its unlabelled target, and scored by its accuracy on the true source
    labels. A model whose target labels are wrong, or not transferable back,
    scores low (Zhong et al., ECML 2010; the selection procedure of Ganin et
    al., JMLR 2016, Sec. 5.1.2).

    Costs one extra fit per scored model. For a regressor the target rows get
    predicted values as pseudo-targets and the score is minus the reverse
    model's mean squared error on the source rows.

    Parameters
    ----------
    reverse_params : dict, default=None
        Parameters set on the reverse clone (e.g. ``{"max_epochs": 30}`` to
        make it cheaper).

    References
    ----------
    .. [1] E. Zhong, W. Fan, Q. Yang, O. Verscheure and J. Ren, "Cross
       validation framework to choose amongst models and datasets for transfer
       learning", ECML PKDD 2010.
    .. [2] Y. Ganin et al., "Domain-adversarial training of neural networks",
       JMLR 17(59):1-35, 2016.
    """

    def __init__(self, reverse_params=None):
        self.reverse_params = reverse_params

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        y_src = np.asarray(y_src)
        pseudo = estimator.predict(X_tgt)
        if task_of(estimator) is REGRESSION:
            reverse = self._reverse(estimator)
            reverse.fit(*_stack(X_tgt, pseudo, X_src, regression=True))
            return float(-np.mean((reverse.predict(X_src) - y_src) ** 2))
        classes = np.unique(pseudo)
        if len(classes) < 2:  # the reverse model can only predict that class
            return float(np.mean(y_src == classes[0]))
        reverse = self._reverse(estimator)
        reverse.fit(*_stack(X_tgt, pseudo, X_src))
        return float(np.mean(reverse.predict(X_src) == y_src))

    def _reverse(self, estimator):
        reverse = clone(estimator)
        if self.reverse_params:
            reverse.set_params(**self.reverse_params)
        return reverse


def _stack(X_lab, y_lab, X_unlab, *, regression=False, names=("X", "X_tgt")):
    """Build the stacked form of labelled and unlabelled rows (works for Pipelines).

    Unlabelled rows get ``-1`` (string labels: ``"-1"``); with ``regression``,
    NaN in every output. Labels that hold the marker themselves cannot be
    stacked faithfully: :func:`_stackable_labels` encodes them first.
    Rows of different shapes are a ValueError naming ``names`` (labelled,
    unlabelled), as the estimators word it.
    """
    shapes = [tuple(getattr(X, "shape", None) or np.shape(X)) for X in (X_lab, X_unlab)]
    if shapes[0][1:] != shapes[1][1:]:
        raise ValueError(
            f"{names[1]} has {_describe(shapes[1][1:])} per sample but {names[0]} "
            f"has {_describe(shapes[0][1:])}; both domains need the same features."
        )
    sparse = [sparse_matrix(X_lab), sparse_matrix(X_unlab)]
    if hasattr(X_lab, "iloc"):
        import pandas as pd

        X = pd.concat([X_lab, X_unlab], ignore_index=True)
    elif None not in sparse:  # the stacked split gives sparse rows as SparseRows
        X = sp.vstack(sparse, format="csr")
    else:
        X = np.concatenate([np.asarray(X_lab), np.asarray(X_unlab)])
    if regression:
        y_lab = np.asarray(y_lab, dtype=np.float64)
        unlab = np.full((len(X_unlab), *y_lab.shape[1:]), np.nan)
        return X, np.concatenate([y_lab, unlab])
    y_lab = np.asarray(y_lab)
    kind = y_lab.dtype.kind
    if kind in "US":  # string labels: the string "-1" marks targets
        return X, np.concatenate([y_lab, np.full(len(X_unlab), str(UNLABELED))])
    y = np.concatenate(
        [y_lab.astype(object), np.full(len(X_unlab), UNLABELED, dtype=object)]
    )
    if kind in "iu":
        y = y.astype(np.int64)
    elif kind == "f":  # float class labels (0.0, 1.0, ...): -1.0 marks targets
        y = y.astype(np.float64)
    return X, y


def _stackable_labels(y):
    """Return ``(labels, classes)``: class labels the stacked form carries faithfully.

    Integer, float and string labels pass as they are (``classes`` None),
    strings as a NumPy string array. Labels the marker of target rows would
    clash with (``-1`` or ``"-1"`` among them, e.g. the binary labels
    ``{-1, 1}``), booleans and other objects become their indices into
    ``classes`` (sorted, as ``np.unique`` gives them): a model fitted on them
    predicts ``classes[index]``.
    """
    y = np.asarray(y)
    kind = y.dtype.kind
    if kind == "O" and all(isinstance(v, str) for v in y):
        y, kind = y.astype(str), "U"
    if kind in "iuf" and not np.any(y == UNLABELED):
        return y, None
    if kind in "US" and not np.any(y == str(UNLABELED)):
        return y, None
    classes, codes = np.unique(y, return_inverse=True)
    return codes, classes
