"""What differs between a classifier and a regressor: one small task object.

The shared base (:mod:`skuda._base`), the nets and the inference code never
test for classification or regression; they ask the estimator's ``_task``:

* which rows of a stacked ``y`` are unlabelled target rows (the marker: ``-1``
  for classes, ``NaN`` for continuous targets, where ``-1`` is a value);
* how source targets are checked and encoded for training, and which fitted
  attributes that sets (``classes_``; or ``target_mean_``/``target_scale_``);
* how many outputs the head has, and the label loss (the net's criterion);
* how network outputs are decoded by ``predict`` (argmax over ``classes_``;
  or the standardisation undone).

``predict_proba`` and the score (accuracy or R^2) are mixins of the two public
bases, :class:`~skuda._base.BaseDAClassifier` and
:class:`~skuda._base.BaseDARegressor`.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import column_or_1d
from torch import nn

from ._validation import (
    check_regression_targets,
    check_source_labels,
    host_labels,
    is_unlabeled,
)


class ClassificationTask:
    """Classes: cross-entropy on class indices, ``-1`` marks target rows."""

    criterion = nn.CrossEntropyLoss
    marker = "-1"

    def stacked_targets(self, y):
        """Return ``(y, is_target)`` for the stacked form's labels ``y`` (1-D)."""
        y = column_or_1d(host_labels(y), warn=True)
        return y, is_unlabeled(y)

    def fit_targets(self, y, n_rows, name, sample_weight=None):
        """Check source labels; return ``({"classes_": ...}, class indices)``.

        ``sample_weight`` is not used here (it weights the label loss).
        """
        y = check_source_labels(y, n_rows, name=name)
        classes, y_idx = np.unique(y, return_inverse=True)
        return {"classes_": classes}, y_idx

    def n_outputs(self, fitted):
        """Return the outputs of the head: one logit per class."""
        return len(fitted["classes_"])

    def same_outputs(self, old, new):
        """Whether a warm start can continue: the same classes."""
        return np.array_equal(old["classes_"], new["classes_"])

    def fitted(self, estimator):
        """Return the task's fitted attributes of ``estimator``."""
        return {"classes_": estimator.classes_}

    @staticmethod
    def reduce(outputs):
        """Return what ``predict`` needs of a chunk of logits, on their device.

        The index of the largest logit: one integer per row crosses to the
        host instead of a logit per class.
        """
        return outputs.argmax(dim=1)

    def decode(self, estimator, outputs):
        """Return the class of each row from its index (see :meth:`reduce`)."""
        return estimator.classes_[outputs]


class RegressionTask:
    """Continuous targets: mean squared error on standardised targets.

    Targets are standardised with the source mean and standard deviation of
    each output (``target_mean_``, ``target_scale_``), so that the squared
    error, the adversarial and alignment weights and the learning rate mean
    the same whatever the units of ``y``; ``predict`` undoes it. Integer
    targets are continuous values here (a count is not a class).
    """

    criterion = nn.MSELoss
    marker = "NaN"

    def stacked_targets(self, y):
        """Return ``(y, is_target)``: rows whose targets are all NaN are target rows.

        A row with some NaN outputs and some values is a ValueError.
        """
        y = np.asarray(host_labels(y))
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D; got shape {y.shape}.")
        if y.dtype.kind == "c":
            raise ValueError(f"y: Complex data not supported (dtype {y.dtype}).")
        if y.dtype.kind not in "fiub":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"y must hold numbers (NaN for target rows); got dtype {y.dtype}."
                ) from None
        missing = np.isnan(y) if y.dtype.kind == "f" else np.zeros(y.shape, bool)
        missing = missing.reshape(len(y), -1)
        partial = missing.any(axis=1) & ~missing.all(axis=1)
        if partial.any():
            raise ValueError(
                f"y: {int(partial.sum())} rows have NaN in some outputs only; a "
                "target row has NaN in every output, a source row in none."
            )
        return y, missing.all(axis=1)

    def fit_targets(self, y, n_rows, name, sample_weight=None):
        """Check and standardise source targets (float32, shape (n, n_outputs)).

        With ``sample_weight`` the mean and standard deviation are weighted, so
        a row of weight 0 has no influence at all (as if removed).
        """
        y = check_regression_targets(y, n_rows, name=name)
        if sample_weight is not None and not np.sum(sample_weight) > 0:
            sample_weight = None  # all zero: the row weights raise a clear error
        mean = np.average(y, axis=0, weights=sample_weight)
        scale = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=sample_weight))
        scale = np.where(scale > 0, scale, 1.0)
        train = ((y - mean) / scale).reshape(n_rows, -1).astype(np.float32)
        seen = y if sample_weight is None else y[np.asarray(sample_weight) > 0]
        fitted = {
            "target_mean_": np.asarray(mean),
            "target_scale_": scale,
            "target_min_": np.min(seen, axis=0),
            "target_max_": np.max(seen, axis=0),
        }
        return fitted, train

    def n_outputs(self, fitted):
        """Return the outputs of the head: one per target column."""
        return int(np.size(fitted["target_mean_"]))

    def same_outputs(self, old, new):
        """Whether a warm start can continue: the same number of outputs."""
        return self.n_outputs(old) == self.n_outputs(new)

    def fitted(self, estimator):
        """Return the task's fitted attributes of ``estimator``."""
        return {
            "target_mean_": estimator.target_mean_,
            "target_scale_": estimator.target_scale_,
        }

    @staticmethod
    def reduce(outputs):
        """Return what ``predict`` needs of a chunk of outputs: all of them."""
        return outputs

    def decode(self, estimator, outputs):
        """Return the outputs in the units of ``y``; 1-D when ``y`` was 1-D.

        With ``clip_predictions`` (the default), each output is clipped to the
        range of the source targets seen in ``fit`` (``target_min_``,
        ``target_max_``; absent from models saved before they existed).
        """
        mean = estimator.target_mean_
        out = outputs.astype(np.float64) * np.reshape(estimator.target_scale_, -1)
        out += np.reshape(mean, -1)
        low = getattr(estimator, "target_min_", None)
        if getattr(estimator, "clip_predictions", False) and low is not None:
            out = np.clip(
                out, np.reshape(low, -1), np.reshape(estimator.target_max_, -1)
            )
        return out.reshape(-1) if np.ndim(mean) == 0 else out


CLASSIFICATION = ClassificationTask()
REGRESSION = RegressionTask()
