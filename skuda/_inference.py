"""Prediction with a fitted skuda estimator: probabilities, labels, features."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import TransformerTags
from sklearn.utils.validation import check_is_fitted

from ._batching import map_chunks
from ._network import output_size
from ._rows import RowSource
from ._scaling import scale_rows
from ._source import SourceModel
from ._streaming import DeviceRows
from ._validation import check_rows
from .exceptions import TrainingDivergedError


def _host(out):
    """Move a chunk's outputs to the host (floats as float32, indices as they are)."""
    return (out if not out.is_floating_point() else out.float()).cpu()


class AccuracyScoreMixin:
    """``score`` = accuracy, documented here rather than inherited.

    Put before ``ClassifierMixin``; shared by the estimators, DASearchCV and
    RefinedClassifier (scikit-learn's own docstring links a label that the
    offline docs cannot resolve).
    """

    def score(self, X, y, sample_weight=None):
        """Return the accuracy of ``predict(X)`` against ``y``.

        Plain accuracy, as for any classifier: for model selection without
        target labels use a scorer of :mod:`skuda.selection` instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        check_is_fitted(self)
        return super().score(X, y, sample_weight=sample_weight)


class R2ScoreMixin:
    """``score`` = R^2, documented here rather than inherited (regressors)."""

    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination R^2 of ``predict(X)``.

        Plain R^2, as for any regressor (averaged uniformly over outputs): for
        model selection without target labels use a scorer of
        :mod:`skuda.selection` instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        check_is_fitted(self)
        return super().score(X, y, sample_weight=sample_weight)


class ProbaMixin:
    """``predict_proba`` of a fitted classifier (softmax of the head's logits)."""

    def predict_proba(self, X):
        """Class probabilities of the rows of ``X`` (any domain).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        logits = torch.from_numpy(self._logits(X)).double()
        return torch.softmax(logits, dim=1).numpy()


class InferenceMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``predict`` and ``transform`` of a fitted estimator.

    ``transform``'s columns are named ``<classname><i>`` by
    ``get_feature_names_out``, so ``set_output(transform="pandas")`` works.

    Reads the fitted ``net_``, ``classes_``, ``input_shape_``, ``device_`` and
    the input statistics ``input_mean_``/``input_scale_``; new rows are scaled
    like the target rows seen in ``fit`` and pushed through the network in
    chunks under ``torch.inference_mode()``.
    """

    def __sklearn_is_fitted__(self):
        # ``lambda_`` ends in "_" but is a parameter, so name-based checks mislead.
        return hasattr(self, "net_")

    def _prediction_encoder(self):
        """Return the encoder used on new rows (ADDA: its target encoder)."""
        return self.net_.module_.encoder

    def _source_model_view(self):
        """View this fitted estimator as a :class:`SourceModel` (no module copied)."""
        return SourceModel(
            encoder=self._prediction_encoder(),
            head=self.net_.module_.head,
            classes=getattr(self, "classes_", None),
            input_shape=tuple(self.input_shape_),
            mean=self.input_mean_,
            scale=self.input_scale_,
            scaling=self.input_scaling,
            reads_signals=self._takes_signals(),
            history=self.history_,
            feature_names=getattr(self, "feature_names_in_", None),
            target_mean=getattr(self, "target_mean_", None),
            target_scale=getattr(self, "target_scale_", None),
        )

    def _infer(self, X, fn, reduce=None):
        """``fn`` of the scaled rows of ``X``, in chunks, as a NumPy array.

        Arrays are validated into a scaled copy; tensors, memory maps and
        Datasets are read (and checked) chunk by chunk, never copied whole.
        With ``reduce``, each chunk's outputs are reduced on the network's
        device (``predict``: the argmax) and only that crosses to the host;
        their finiteness is still checked, with one synchronisation at the end
        (a non-finite sum, or an overflowing one, reruns the exact check).
        """
        given = X
        X = check_rows(
            self, X, name="X", reset=False, allow_nd=len(self.input_shape_) > 1
        )
        full, finite = fn, []  # one flag per chunk, left on the device
        if reduce is not None:

            def fn(x):
                out = full(x)
                finite.append(out.sum(dtype=torch.float32).isfinite())
                return reduce(out)

        if self.input_mean_ is None:
            stats = None
        else:
            stats = (self.input_mean_, self.input_scale_)
        device = self._inference_device()
        self.net_.module_.eval()
        with torch.inference_mode(), self.net_.autocast():
            if isinstance(X, RowSource):
                X.scaling = stats  # a private copy of the caller's source
                out = map_chunks(lambda x: _host(fn(x)), DeviceRows(X, device))
            else:
                X = scale_rows(X, stats)
                out = map_chunks(
                    lambda xb: _host(fn(torch.from_numpy(xb).to(device))), X
                )
        out = out.numpy()
        if reduce is not None:
            if not bool(torch.stack(finite).all()):
                self._infer(given, full)  # the exact check: raises, saying why
            return out
        if not np.isfinite(out).all():
            self._raise_non_finite(X, out)
        return out

    def _raise_non_finite(self, X, out):
        """Never return NaN silently: say if the network or the rows are at fault."""
        module = self.net_.module_
        if not all(t.isfinite().all() for t in module.state_dict().values()):
            raise TrainingDivergedError(
                f"{type(self).__name__}'s network holds NaN or infinite parameters; "
                "refit it (a skuda fit never leaves such a network behind)."
            )
        bad = ~np.isfinite(out).reshape(len(out), -1).all(axis=1)
        largest = (
            ""
            if isinstance(X, RowSource)
            else " Their largest |value| after input scaling is "
            f"{float(np.abs(X[bad]).max()):.3g}."
        )
        raise ValueError(
            f"X: the network's outputs are NaN or infinite for {int(bad.sum())} of "
            f"{len(out)} rows (a float32 overflow; are these rows far outside the "
            f"range seen in fit?{largest})"
        )

    def __setstate__(self, state):
        super().__setstate__(state)
        device = getattr(self, "device_", None)
        if device is not None and torch.device(device).type == "cuda":
            if not torch.cuda.is_available():
                warnings.warn(
                    f"{type(self).__name__} was fitted on {device}, but CUDA is not "
                    "available here: it was moved to the CPU (device_='cpu').",
                    UserWarning,
                    stacklevel=2,
                )
                self.device_ = "cpu"
                self.net_.device = "cpu"  # skorch mapped the weights to the CPU

    def _inference_device(self):
        """Where the fitted network is: the net's device, not ``device_``.

        skorch maps a CUDA net unpickled on a machine without CUDA to the CPU
        (with a ``DeviceWarning``); ``device_`` still records where it was fitted.
        """
        device = self.net_.device
        if device is None:  # placement left to someone else (e.g. Accelerate)
            param = next(self.net_.module_.parameters(), None)
            device = "cpu" if param is None else param.device
        return device

    def _logits(self, X):
        """Head outputs of the rows of ``X`` (class logits, standardised values)."""
        check_is_fitted(self)
        encoder, head = self._prediction_encoder(), self.net_.module_.head
        return self._infer(X, lambda x: head(encoder(x)))

    def predict(self, X):
        """Predicted class (regressors: value) of each row of ``X`` (any domain).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``(n_samples, n_outputs)`` for a regressor fitted on 2-D ``y``.
        """
        check_is_fitted(self)
        encoder, head = self._prediction_encoder(), self.net_.module_.head
        outputs = self._infer(X, lambda x: head(encoder(x)), self._task.reduce)
        return self._task.decode(self, outputs)

    def transform(self, X):
        """Learned features of the rows of ``X`` (the encoder's output).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_learned_features)
        """
        check_is_fitted(self)
        encoder = self._prediction_encoder()
        return self._infer(X, lambda x: encoder(x).flatten(1))

    @property
    def _n_features_out(self):
        """Width of ``transform``'s output, read by ``get_feature_names_out``."""
        check_is_fitted(self)  # NotFittedError is an AttributeError: hasattr works
        return output_size(self._prediction_encoder(), self.input_shape_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True  # densified per batch (skuda._sparse)
        tags.non_deterministic = False
        # ``transform`` returns the learned features (float32, like the network).
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        return tags
