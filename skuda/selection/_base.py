"""The scorer protocol: a scikit-learn scorer on the stacked form."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_regressor
from sklearn.utils import column_or_1d

from .._task import CLASSIFICATION, REGRESSION
from .._validation import split_stacked


def task_of(estimator):
    """Return the task of ``estimator`` (a Pipeline's is its last step's)."""
    return REGRESSION if is_regressor(estimator) else CLASSIFICATION


class _DAScorer:
    """Base: split the stacked form, hand the domains to ``score_domains``.

    Rows given without labels (``y=None`` or all ``-1``, as in a source-free
    ``SHOTAdapter(source_estimator=...).fit(X_tgt)``) are all target rows;
    scorers that need labelled source rows (``needs_source``) then raise.
    For a regressor, ``NaN`` marks the target rows; scorers of class
    probabilities (``needs_classes``) raise a ValueError for one.
    """

    needs_source = True
    needs_classes = False

    def __call__(self, estimator, X, y=None, sample_weight=None):
        task = task_of(estimator)
        if self.needs_classes and task is REGRESSION:
            raise ValueError(
                f"{type(self).__name__} scores predicted class probabilities, but "
                f"{type(estimator).__name__} is a regressor. For regressors use "
                "DeepEmbeddedValidationScorer ('dev'), ImportanceWeightedScorer "
                "('iwv') or ReverseValidationScorer ('rv'), which score squared "
                "errors."
            )
        if y is None or np.all(task.stacked_targets(_labels(y, task))[1]):
            if self.needs_source:
                raise ValueError(
                    f"{type(self).__name__} needs labelled source rows, but got "
                    f"target rows only (y is None or all {task.marker}). For "
                    "source-free model "
                    "selection use InformationMaximizationScorer, "
                    "PredictionEntropyScorer or SoftNeighborhoodDensityScorer."
                )
            return float(self.score_domains(estimator, None, None, X))
        X_src, y_src, X_tgt = split_stacked(X, y, task)
        if X_tgt is None:
            raise ValueError(
                f"{type(self).__name__} needs target rows (label {task.marker}) in "
                "the rows it scores, and this validation fold has none. A splitter "
                "that holds out whole groups (LeaveOneGroupOut, GroupKFold with the "
                "domains as groups) makes such folds, which GridSearchCV scores as "
                "NaN; use skuda.selection.StackedDomainSplit (groups=) or "
                "LeaveOneDomainOut as cv, which keep target rows in every fold."
            )
        return float(self.score_domains(estimator, X_src, y_src, X_tgt))

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        """Score ``estimator`` from labelled source and unlabelled target rows.

        Parameters
        ----------
        estimator : fitted classifier
        X_src : array-like of shape (n_source, ...) or None
            None when only target rows are scored (``needs_source = False``).
        y_src : array-like of shape (n_source,) or None
        X_tgt : array-like of shape (n_target, ...)

        Returns
        -------
        float
            Higher is better.
        """
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def _labels(y, task):
    """``y`` as the task reads it: 1-D classes, or 1-D/2-D values."""
    y = np.asarray(y)
    return column_or_1d(y) if task is CLASSIFICATION else y
