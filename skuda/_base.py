"""The scikit-learn face shared by every skuda estimator."""

from __future__ import annotations

import os
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from ._batching import DomainData
from ._building import _OPTIMIZERS, NetBuildingMixin
from ._device import autocast_dtype, draw_seeds, resolve_device, seeded
from ._inference import InferenceMixin
from ._scaling import float32_moments, scale_rows
from ._user_callbacks import (
    check_fit_callbacks,
    set_callback_params,
)
from ._validation import (
    Interval,
    StrOptions,
    as_signals,
    check_rows,
    check_source_labels,
    n_rows,
    split_stacked,
)
from .exceptions import FitInterruptedWarning
from .modules.conv import BACKBONES


class BaseDAClassifier(
    NetBuildingMixin, InferenceMixin, ClassifierMixin, BaseEstimator
):
    """Base class of skuda's domain-adaptation classifiers.

    Subclasses set ``_net_class`` (a :class:`skuda._net.DANet` subclass with the
    method's ``batch_loss``) and may override ``_extra_modules`` (networks beyond
    encoder and head) and ``_net_params`` (method parameters for the net).
    Two-phase methods override ``_train``.

    **Two fit forms, one meaning.** ``fit(X_src, y_src, X_tgt)`` passes the
    domains separately. ``fit(X, y)`` is the *stacked* form for tools that pass
    only ``(X, y)`` (``Pipeline``, ``GridSearchCV``, ``cross_val_score``): rows
    whose label is ``-1`` are unlabelled target rows, all others labelled source
    rows. Without any ``-1`` row a warning is issued and only the source is
    used. If ``-1`` is one of your classes, use the three-argument form.
    """

    _net_class = None
    _requires_target = True

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "feature_extractor": [nn.Module, StrOptions(set(BACKBONES)), type, None],
        "head": [nn.Module, None],
        "feature_extractor_kwargs": [dict, None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "min_iterations_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"dann", "constant"})],
        "device": [str, torch.device],
        "mixed_precision": [StrOptions({"bf16", "fp16"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "input_scaling": [StrOptions({"pooled", "domain"}), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    }

    # -- fitting -----------------------------------------------------------------
    def fit(self, X, y=None, X_tgt=None):
        """Fit on labelled source rows and unlabelled target rows.

        The fitted state is replaced atomically: if ``fit`` raises (bad input,
        :class:`~skuda.TrainingDivergedError`, ...), the estimator is exactly as
        before the call. A user interrupt (Ctrl-C) during training ends the
        whole fit with a :class:`~skuda.exceptions.FitInterruptedWarning`; the
        estimator then holds the model trained so far and ``interrupted_`` is
        True.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source rows when ``X_tgt`` is given; otherwise the stacked rows of
            both domains.
        y : array-like of shape (n_samples,)
            Source labels when ``X_tgt`` is given; otherwise labels in which
            ``-1`` marks the unlabelled target rows.
        X_tgt : array-like of shape (n_target, n_features), default=None
            Unlabelled target rows (three-argument form).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        scratch = object.__new__(type(self))  # parameters shared, fitted state not
        scratch.__dict__.update(self.__dict__)
        scratch.interrupted_ = False
        scratch._interruption = None
        scratch._fit(X, y, X_tgt)
        params = self.get_params(deep=False)
        old, new = _fitted_names(self, params), _fitted_names(scratch, params)
        for name in old - new:
            delattr(self, name)
        for name in new:
            setattr(self, name, getattr(scratch, name))
        if scratch._interruption is not None:
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) in "
                f"{scratch._interruption}; the fit ended there and no later phase "
                "ran. The estimator holds the model trained so far "
                "(interrupted_ = True); fit again to train it fully.",
                FitInterruptedWarning,
                stacklevel=user_stacklevel(),
            )
        return self

    def _fit(self, X, y, X_tgt):
        """Fit on this (scratch) estimator: both fit forms to ``_fit_domains``."""
        names = _THREE_ARGUMENTS
        if X_tgt is None:
            names = _STACKED
            X_src, y_src, X_tgt = split_stacked(X, y)
            if X_tgt is None and self._requires_target:
                warnings.warn(
                    f"{type(self).__name__}.fit got no target rows (no label -1 in "
                    "y): training on the source only, without adaptation.",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
        else:
            X_src, y_src = X, y
            if n_rows(X_tgt) == 0:
                raise ValueError(
                    "X_tgt is empty: domain adaptation needs at least one target row."
                )
        return self._fit_domains(X_src, y_src, X_tgt, names)

    def fit_transform(self, X, y=None, X_tgt=None):
        """Fit (either form), then return the learned features of the rows of ``X``.

        Parameters
        ----------
        X, y, X_tgt
            As for :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_learned_features)
        """
        return self.fit(X, y, X_tgt).transform(X)

    def set_params(self, **params):
        """Set parameters; also skorch's ``callbacks__<name>__<param>`` routing.

        ``callbacks__<name>__<param>=value`` sets a parameter of the callback
        named ``<name>`` in ``callbacks`` (the name of a ``(name, callback)``
        pair, else its class name), and ``callbacks__<name>=cb`` replaces it
        (None removes it); the callback is copied first, never changed in
        place. ``feature_extractor__<arg>=value`` sets one entry of
        ``feature_extractor_kwargs`` (a named backbone or a module class).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
        """
        routed = {}
        for prefix in ("callbacks__", "feature_extractor__"):
            routed[prefix] = {
                key[len(prefix) :]: params.pop(key)
                for key in list(params)
                if key.startswith(prefix)
            }
        super().set_params(**params)
        if routed["callbacks__"]:
            self.callbacks = set_callback_params(self.callbacks, routed["callbacks__"])
        if routed["feature_extractor__"]:
            if not isinstance(self.feature_extractor, (str, type)):
                raise ValueError(
                    "feature_extractor__<arg> sets a constructor argument of a "
                    "named backbone or a module class; feature_extractor is "
                    f"{type(self.feature_extractor).__name__}."
                )
            self.feature_extractor_kwargs = {
                **(self.feature_extractor_kwargs or {}),
                **routed["feature_extractor__"],
            }
        return self

    def _source_model_param(self):
        """Return the source model this fit starts from, or None (train one)."""
        return None

    def _trains_source(self):
        """Whether this fit trains a model on the source labels."""
        return True

    def _takes_signals(self):
        """Whether the network reads ``(n, channels, length)`` signals.

        True for a named signal backbone, or when adapting a source model that
        does; then ``(n, length)`` input is read as one channel.
        """
        source = self._source_model_param()
        return isinstance(self.feature_extractor, str) or (
            source is not None and source.reads_signals
        )

    def _check_domains(self, X_src, X_tgt, names):
        """Return both domains validated, in the network's shape.

        Arrays become float32 copies; tensors, memory maps and Datasets become
        :class:`~skuda._rows.RowSource` s, read in place (see
        :func:`~skuda._validation.check_rows`). ``names`` name ``(X_src,
        y_src, X_tgt)`` in messages (the stacked form calls them rows of ``X``
        and ``y``).
        """
        source = self._source_model_param()
        allow_nd = self.feature_extractor is not None or (
            source is not None and len(source.input_shape or (0, 0)) > 1
        )
        if source is not None:
            source.check_feature_names(X_src, names[0])
        X_src = check_rows(self, X_src, name=names[0], reset=True, allow_nd=allow_nd)
        if X_tgt is not None:
            X_tgt = check_rows(
                self, X_tgt, name=names[2], reset=False, allow_nd=allow_nd,
                expected=X_src.shape[1:],
            )  # fmt: skip
        signals = self._takes_signals()
        X_src = as_signals(X_src, names[0], signals)
        return X_src, as_signals(X_tgt, names[2], signals)

    def _fit_domains(self, X_src, y_src, X_tgt, names):
        X_src, X_tgt = self._check_domains(X_src, X_tgt, names)
        y_src = check_source_labels(y_src, X_src.shape[0], name=names[1])
        # Target rows inform the input scaling even for methods that ignore them
        # in training, so a source-only baseline sees the same inputs as DANN.
        X_src, X_tgt = self._fit_scaling(X_src, X_tgt)
        if not self._requires_target:
            X_tgt = None
        classes, y_idx = np.unique(y_src, return_inverse=True)
        reuse = self._can_warm_start(classes, X_src.shape[1:])
        self.classes_ = classes
        self.input_shape_ = X_src.shape[1:]
        return self._run_training(
            lambda batch_seed: self._train(X_src, y_idx, X_tgt, batch_seed, reuse=reuse)
        )

    def _fit_net(self, net, data):
        """Fit ``net`` on ``data``; a user interrupt there ends the whole fit.

        After an interrupt ``interrupted_`` is True: later phases must not run
        (two-phase methods check it).
        """
        net.fit(data, None)
        if net.interrupted_ is not None:
            self.interrupted_ = True
            self._interruption = (
                f"the {net.phase_name} phase at epoch {net.interrupted_} "
                f"of {net.max_epochs}"
            )
        return net

    def _run_training(self, train):
        """Run ``train(batch_seed)`` in the seeded RNG context; store the net.

        Resolves ``device_`` first, and stores the net ``train`` returns as
        ``net_`` (and its history as ``history_``).
        """
        self.device_ = resolve_device(self.device)
        check_fit_callbacks(
            self.callbacks, self.validation_fraction, self._trains_source()
        )
        autocast_dtype(self.mixed_precision, self.device_)  # ValueError if unusable
        seed, batch_seed = draw_seeds(self.random_state)
        with seeded(seed, self.device_):
            net = train(batch_seed)
        self.net_ = net
        self.history_ = net.history
        return self

    def _train(self, X_src, y_idx, X_tgt, batch_seed, *, reuse):
        """Build (or reuse) the net and train it; runs inside the seeded context.

        ``X_src``/``X_tgt`` are validated float32 arrays (``X_tgt`` may be None),
        ``y_idx`` the labels as indices into ``classes_``. Returns the trained
        net, stored as ``net_``. Methods with several phases override this.
        """
        data = DomainData(X_src, y_idx, X_tgt, device=self.device_)
        if reuse:
            net = self._continue_net()
        else:
            network = self._build_network(self.input_shape_, len(self.classes_))
            net = self._make_net(self._net_class, network, batch_seed)
        return self._fit_net(net, data)

    def _fit_scaling(self, X_src, X_tgt):
        """Standardise each feature (each channel for signals); return scaled copies.

        ``"pooled"``: one mean/std from both domains, used everywhere (what a
        ``StandardScaler`` in a ``Pipeline`` does on the stacked form).
        ``"domain"``: each domain scaled by its own statistics; new rows given
        to ``predict``/``transform`` are scaled with the *target* statistics.
        Arrays are private copies already, so they are scaled in place; row
        sources are scaled as they are read (:func:`skuda._scaling.scale_rows`).
        """
        mode = self.input_scaling
        if mode is None:
            return self._apply_scaling(X_src, X_tgt, None, None)
        if mode == "pooled" and X_tgt is not None:
            src_stats = tgt_stats = float32_moments(X_src, X_tgt)
        else:
            src_stats = float32_moments(X_src)
            tgt_stats = float32_moments(X_tgt) if X_tgt is not None else src_stats
        return self._apply_scaling(X_src, X_tgt, src_stats, tgt_stats)

    def _apply_scaling(self, X_src, X_tgt, src_stats, tgt_stats):
        """Standardise each domain with its ``(mean, std)`` (None: leave it).

        The target statistics become ``input_mean_``/``input_scale_``, which
        ``predict`` and ``transform`` apply to new rows.
        """
        self.input_mean_, self.input_scale_ = tgt_stats or (None, None)
        if X_src is not None:
            X_src = scale_rows(X_src, src_stats)
        if X_tgt is not None:
            X_tgt = scale_rows(X_tgt, tgt_stats)
        return X_src, X_tgt

    def _can_warm_start(self, classes, input_shape):
        if not (self.warm_start and hasattr(self, "net_")):
            return False
        if not np.array_equal(classes, self.classes_) or (
            input_shape != self.input_shape_
        ):
            raise ValueError(
                "warm_start=True needs the same classes and input shape as the "
                f"previous fit; got classes {classes} and shape {input_shape}, "
                f"previously {self.classes_} and {self.input_shape_}."
            )
        return True


_THREE_ARGUMENTS = ("X_src", "y_src", "X_tgt")
_STACKED = ("X (source rows)", "y (source labels)", "X (target rows)")
"""How messages name the domains in each fit form."""


def _fitted_names(estimator, params):
    """Names of the fitted attributes: ending in "_", not private, not parameters."""
    return {
        name
        for name in vars(estimator)
        if name.endswith("_") and not name.startswith("_") and name not in params
    }


def user_stacklevel():
    """Return a ``stacklevel`` pointing a warning at the first caller outside skuda."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package + os.sep
    ):
        frame, level = frame.f_back, level + 1
    return level


def store_parameters(estimator, arguments):
    """Store each ``__init__`` argument as the attribute of the same name.

    ``arguments`` is ``locals()`` at the top of ``__init__``. scikit-learn's
    convention, kept: ``__init__`` only stores its parameters, unchanged; the
    signature stays explicit (``get_params`` and ``clone`` read it).
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
