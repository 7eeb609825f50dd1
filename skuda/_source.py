"""A trained source classifier as a value, and the source phase that makes one.

ADDA and SHOT both start from a :class:`SourceModel`: trained here by a source
phase (:class:`SourceNet`, plain or label-smoothed cross-entropy on the source
rows), or taken from a fitted estimator -- a skuda estimator, a fitted skorch
net (split as :mod:`skuda._foreign` says), either wrapped in
:class:`sklearn.frozen.FrozenEstimator`, or an ``(encoder, head)`` pair of torch
modules.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._foreign import check_split, is_skorch_net, split_skorch_net
from ._net import DANet
from ._network import dry_run
from ._validation import check_feature_names


class SourceNet(DANet):
    """Source training: the criterion (cross-entropy) on labelled source rows."""

    use_target = False

    def batch_loss(self, batch, p):
        return {"task_loss": self.task_loss(self.module_(batch.xs), batch)}


@dataclass
class SourceModel:
    """A trained source classifier and what its inputs looked like.

    Attributes
    ----------
    encoder, head : torch.nn.Module
        Feature extractor and classifier (logits); private copies.
    classes : ndarray or None
        Labels of the head's outputs; None when unknown (a module pair).
    input_shape : tuple or None
        Shape of one row as the encoder reads it; None when unknown.
    mean, scale : ndarray or None
        Standardisation applied to the inputs the encoder was trained on
        (None: unscaled).
    scaling : {"pooled", "domain"} or None
        The ``input_scaling`` the source model was trained with.
    reads_signals : bool
        Whether the encoder reads ``(n, channels, length)`` signals.
    history : skorch.History or None
        History of the source training, when known.
    whole : torch.nn.Module or None
        The module that ``encoder`` and ``head`` were split from (a skorch
        net's ``module_``), checked against them by :meth:`n_outputs`.
    feature_names : ndarray or None
        Column names of the DataFrame the source model was fitted on.
    target_mean, target_scale : ndarray or None
        A skuda regressor's target standardisation: its head predicts
        ``(y - target_mean) / target_scale``. None for a classifier, and for a
        module pair or skorch net (whose outputs are taken as they are).
    """

    encoder: nn.Module
    head: nn.Module
    classes: np.ndarray | None = None
    input_shape: tuple | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    scaling: str | None = None
    reads_signals: bool = False
    history: object = None
    whole: nn.Module | None = None
    feature_names: np.ndarray | None = None
    target_mean: np.ndarray | None = None
    target_scale: np.ndarray | None = None

    @classmethod
    def of(cls, source):
        """View the source model in ``source`` (call :meth:`copy` to train it).

        Parameters
        ----------
        source : fitted skuda estimator or skorch net, FrozenEstimator of one, \
                or (module, module)

        Returns
        -------
        SourceModel
            Its modules and arrays are the source's own objects, not copies.
        """
        if isinstance(source, FrozenEstimator):
            source = source.estimator
        if hasattr(source, "_source_model_view"):
            check_is_fitted(
                source,
                msg="source_estimator is not fitted. Fit it first; if this "
                "estimator was cloned (GridSearchCV, cross_val_score), wrap the "
                "fitted source model in sklearn.frozen.FrozenEstimator so that "
                "clones keep it.",
            )
            return source._source_model_view()
        if is_skorch_net(source):
            encoder, head, classes, whole = split_skorch_net(source)
            history = getattr(source, "history_", source.history)
            return cls(encoder, head, classes, history=history, whole=whole)
        if (
            isinstance(source, (tuple, list))
            and len(source) == 2
            and all(isinstance(m, nn.Module) for m in source)
        ):
            return cls(*source)
        raise TypeError(
            "source_estimator must be a fitted skuda estimator or skorch net "
            "(optionally in a sklearn.frozen.FrozenEstimator) or a "
            "(feature_extractor, classifier) pair of torch modules; got "
            f"{type(source).__name__}."
        )

    def copy(self):
        """Return a copy with private copies of the modules and arrays."""
        # One deepcopy, so that parts shared with ``whole`` stay shared.
        encoder, head, whole = copy.deepcopy((self.encoder, self.head, self.whole))
        return replace(
            self,
            encoder=encoder,
            head=head,
            whole=whole,
            classes=_copy(self.classes),
            target_mean=_copy(self.target_mean),
            target_scale=_copy(self.target_scale),
            history=copy.deepcopy(self.history),
        )

    def check_feature_names(self, X, name):
        """Check the columns of ``X`` against the source model's, as sklearn does."""
        check_feature_names(X, name, self.feature_names, "source_estimator")

    def n_outputs(self, input_shape):
        """Count the logits of ``head(encoder(x))``; ValueError when it fails.

        A model split from a ``whole`` module is checked against it first.
        """
        if self.whole is not None:
            check_split(self.whole, self.encoder, self.head, input_shape)
        what = "source_estimator's feature extractor"
        features = tuple(dry_run(self.encoder, input_shape, what=what).shape[1:])
        what = f"source_estimator's classifier (on features of shape {features})"
        out = dry_run(self.head, features, what=what)
        if out.ndim != 2:
            raise ValueError(
                "source_estimator's classifier must return (n, n_classes) logits; "
                f"got shape {tuple(out.shape)}."
            )
        return out.shape[1]


def _copy(array):
    return None if array is None else np.array(array, copy=True)
