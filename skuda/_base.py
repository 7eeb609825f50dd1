"""The scikit-learn face shared by every skuda estimator."""

from __future__ import annotations

import os
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from torch import nn

from ._batching import DomainData
from ._building import _OPTIMIZERS, NetBuildingMixin
from ._device import autocast_dtype, draw_seeds, resolve_device, seeded
from ._distributed import accelerator_device, agree_on_seeds
from ._inference import (
    AccuracyScoreMixin,
    InferenceMixin,
    ProbaMixin,
    R2ScoreMixin,
)
from ._metadata import (
    check_domains,
    check_sample_weight,
    encode_domains,
    row_weights,
    source_part,
)
from ._network import check_sizes
from ._scaling import float32_moments, scale_rows
from ._task import CLASSIFICATION, REGRESSION
from ._user_callbacks import (
    check_fit_callbacks,
    set_callback_params,
)
from ._validation import (
    Interval,
    StrOptions,
    as_signals,
    check_rows,
    n_rows,
    reshape_rows,
    split_stacked,
)
from .exceptions import FitInterruptedWarning
from .modules.conv import BACKBONES
from .modules.conv2d import IMAGE_BACKBONES


class BaseDAEstimator(NetBuildingMixin, InferenceMixin, BaseEstimator):
    """Base class of skuda's domain-adaptation estimators.

    What is specific to classification or regression comes from ``_task``
    (:mod:`skuda._task`), set by :class:`BaseDAClassifier` and
    :class:`BaseDARegressor`; methods subclass those. Subclasses set
    ``_net_class`` (a :class:`skuda._net.DANet` subclass with the method's
    ``batch_loss``) and may override ``_extra_modules`` (networks beyond encoder
    and head) and ``_net_params`` (method parameters for the net).
    Two-phase methods override ``_train``.

    **Two fit forms, one meaning.** ``fit(X_src, y_src, X_tgt)`` passes the
    domains separately. ``fit(X, y)`` is the *stacked* form for tools that pass
    only ``(X, y)`` (``Pipeline``, ``GridSearchCV``, ``cross_val_score``): rows
    whose label is ``-1`` are unlabelled target rows, all others labelled source
    rows. Without any ``-1`` row a warning is issued and only the source is
    used. If ``-1`` is one of your classes, use the three-argument form.
    Regressors mark target rows with ``NaN`` instead (``-1`` is a value).
    """

    _net_class = None
    _task = CLASSIFICATION
    _requires_target = True

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "feature_extractor": [
            nn.Module,
            StrOptions(set(BACKBONES) | set(IMAGE_BACKBONES)),
            type,
            None,
        ],
        "head": [nn.Module, None],
        "feature_extractor_kwargs": [dict, None],
        "input_shape": [tuple, list, None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "min_iterations_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"dann", "constant"})],
        "device": [str, torch.device],
        "mixed_precision": [StrOptions({"bf16", "fp16"}), None],
        "accelerator": "no_validation",  # checked at fit (accelerator_device)
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "input_scaling": [StrOptions({"pooled", "domain"}), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    # -- fitting -----------------------------------------------------------------
    def fit(self, X, y=None, X_tgt=None, *, sample_weight=None, domains=None):
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
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Source labels when ``X_tgt`` is given; otherwise labels in which
            ``-1`` (classifiers) or ``NaN`` (regressors) marks the unlabelled
            target rows.
        X_tgt : array-like of shape (n_target, n_features), default=None
            Unlabelled target rows (three-argument form).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of ``X`` (one per source row in the
            three-argument form, one per stacked row in the stacked form, where
            the target rows' weights are checked and not used). The label loss
            of each batch becomes the weighted mean ``sum(w l) / sum(w)`` over
            its source rows (times ``class_weight``); a weight of 0 removes a
            row from the label loss. Routed by scikit-learn's metadata routing
            (``set_fit_request(sample_weight=True)``).
        domains : array-like of shape (n_samples,), default=None
            The source domain of each row of ``X`` (any hashable labels, e.g.
            subject or site ids; the stacked form's target rows need a
            non-missing label too, which is not used). Methods with a
            multi-source loss use it (:class:`~skuda.DANNClassifier`'s
            multi-class discriminator); the others pool the sources. The
            source domain labels become ``source_domains_``.

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
        scratch._metadata = {"sample_weight": sample_weight, "domains": domains}
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
            X_src, y_src, X_tgt = split_stacked(X, y, self._task)
            self._stacked_metadata(y)
            if X_tgt is None and self._requires_target:
                warnings.warn(
                    f"{type(self).__name__}.fit got no target rows (no label "
                    f"{self._task.marker} in y): training on the source only, "
                    "without adaptation.",
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

    def _stacked_metadata(self, y):
        """Check the stacked form's per-row metadata; keep the source rows' part."""
        meta = getattr(self, "_metadata", {})
        if all(v is None for v in meta.values()):
            return
        y, is_target = self._task.stacked_targets(y)
        w, d = meta.get("sample_weight"), meta.get("domains")
        if w is not None:
            w = check_sample_weight(w, len(y), what="row")
        if d is not None:
            d = check_domains(d, len(y), what="row")
        self._metadata = {
            "sample_weight": source_part(w, is_target),
            "domains": source_part(d, is_target),
        }

    def _source_metadata(self, y_idx, classes, sample_weight):
        """Set the row weights and source domain codes of this fit (or None).

        ``sample_weight`` is the checked weights of the source rows (or None).
        Also sets ``source_domains_`` when ``domains`` were given.
        """
        n_src = len(y_idx)
        w, d = sample_weight, getattr(self, "_metadata", {}).get("domains")
        class_weight = getattr(self, "class_weight", None)  # classifiers only
        self._row_weights = row_weights(w, class_weight, classes, y_idx)
        if d is not None:
            d = check_domains(d, n_src)
        labels, self._row_domains = encode_domains(d)
        self._previous_domains = self.__dict__.pop("source_domains_", None)
        if labels is not None:
            self.source_domains_ = labels

    def _domain_data(self, X_src, y_idx, X_tgt):
        """:class:`DomainData` of this fit, with its row weights and domains."""
        return DomainData(
            X_src,
            y_idx,
            X_tgt,
            device=self.device_,
            w_src=None if X_src is None else self._row_weights,
            d_src=None if X_src is None else self._row_domains,
        )

    def fit_transform(self, X, y=None, X_tgt=None, **fit_params):
        """Fit (either form), then return the learned features of the rows of ``X``.

        Parameters
        ----------
        X, y, X_tgt
            As for :meth:`fit`.
        **fit_params : dict
            ``sample_weight`` and ``domains``, as for :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_learned_features)
        """
        return self.fit(X, y, X_tgt, **fit_params).transform(X)

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
        fe = self.feature_extractor
        return (isinstance(fe, str) and fe in BACKBONES) or (
            source is not None and source.reads_signals
        )

    def _row_shape(self):
        """Shape the network reads each row in: ``input_shape``, or the source's.

        A source model fitted on images ``(channels, height, width)`` passes
        its shape on, so flat target rows reach its encoder as images. None:
        rows are used as given.
        """
        if self.input_shape is not None:
            return check_sizes(self.input_shape, "input_shape")
        source = self._source_model_param()
        if source is not None and len(source.input_shape or ()) == 3:
            return tuple(source.input_shape)
        return None

    def _network_rows(self, X, name):
        """Rows of ``X`` (checked) in the shape the network reads; None stays None."""
        if X is None:
            return X
        X = reshape_rows(X, name, self._row_shape())
        return as_signals(X, name, self._takes_signals())

    def _check_domains(self, X_src, X_tgt, names):
        """Return both domains validated, in the network's shape.

        Arrays become float32 copies; tensors, memory maps and Datasets become
        :class:`~skuda._rows.RowSource` s, read in place (see
        :func:`~skuda._validation.check_rows`). ``names`` name ``(X_src,
        y_src, X_tgt)`` in messages (the stacked form calls them rows of ``X``
        and ``y``).
        """
        source = self._source_model_param()
        allow_nd = (
            self.feature_extractor is not None
            or self.input_shape is not None
            or (source is not None and len(source.input_shape or (0, 0)) > 1)
        )
        if source is not None:
            source.check_feature_names(X_src, names[0])
        X_src = check_rows(self, X_src, name=names[0], reset=True, allow_nd=allow_nd)
        if X_tgt is not None:
            X_tgt = check_rows(
                self, X_tgt, name=names[2], reset=False, allow_nd=allow_nd,
                expected=X_src.shape[1:],
            )  # fmt: skip
        return (
            self._network_rows(X_src, names[0]),
            self._network_rows(X_tgt, names[2]),
        )

    def _fit_domains(self, X_src, y_src, X_tgt, names):
        X_src, X_tgt = self._check_domains(X_src, X_tgt, names)
        w = getattr(self, "_metadata", {}).get("sample_weight")
        if w is not None:  # checked before the targets: a regressor's scaling uses it
            w = check_sample_weight(w, X_src.shape[0])
        fitted, y_train = self._task.fit_targets(
            y_src, X_src.shape[0], names[1], sample_weight=w
        )
        # Target rows inform the input scaling even for methods that ignore them
        # in training, so a source-only baseline sees the same inputs as DANN.
        X_src, X_tgt = self._fit_scaling(X_src, X_tgt)
        if not self._requires_target:
            X_tgt = None
        self._source_metadata(y_train, fitted.get("classes_"), w)
        reuse = self._can_warm_start(fitted, X_src.shape[1:])
        for name, value in fitted.items():
            setattr(self, name, value)
        self.input_shape_ = X_src.shape[1:]
        sizes = (n_rows(X_src), 0 if X_tgt is None else n_rows(X_tgt))

        def train(batch_seed):
            return self._train(X_src, y_train, X_tgt, batch_seed, reuse=reuse)

        return self._run_training(train, sizes=sizes)

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

    def _run_training(self, train, sizes=()):
        """Run ``train(batch_seed)`` in the seeded RNG context; store the net.

        Resolves ``device_`` first, and stores the net ``train`` returns as
        ``net_`` (and its history as ``history_``). With an ``accelerator``
        every process takes rank 0's seeds, and must have domains of ``sizes`` rows.
        """
        self.device_ = self._resolve_device()
        check_fit_callbacks(
            self.callbacks, self.validation_fraction, self._trains_source()
        )
        autocast_dtype(self.mixed_precision, self.device_)  # ValueError if unusable
        seed, batch_seed = agree_on_seeds(
            self._accelerator(), draw_seeds(self.random_state), sizes
        )
        with seeded(seed, self.device_):
            net = train(batch_seed)
        self.net_ = net
        self.history_ = net.history
        return self

    _data_parallel = True
    """Whether the method trains over several processes (``accelerator``)."""

    def _accelerator(self):
        # getattr: a user's method written before the parameter existed has none.
        return getattr(self, "accelerator", None)

    def _resolve_device(self):
        """``device_`` of this fit: ``device``, or the accelerator's process device."""
        if self._accelerator() is None:
            return resolve_device(self.device)
        if not self._data_parallel:
            raise NotImplementedError(
                f"{type(self).__name__} does not train over several processes "
                "yet (accelerator= is for DANN, CDAN, MCC, Deep CORAL and the "
                "source-only baseline); use accelerator=None."
            )
        return accelerator_device(self)

    def _train(self, X_src, y_idx, X_tgt, batch_seed, *, reuse):
        """Build (or reuse) the net and train it; runs inside the seeded context.

        ``X_src``/``X_tgt`` are validated float32 arrays (``X_tgt`` may be None),
        ``y_idx`` the encoded targets (class indices, or standardised values
        for regressors; see :mod:`skuda._task`). Returns the trained
        net, stored as ``net_``. Methods with several phases override this.
        """
        data = self._domain_data(X_src, y_idx, X_tgt)
        if reuse:
            net = self._continue_net()
        else:
            network = self._build_network(self.input_shape_, self._n_outputs())
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

    def _n_outputs(self):
        """Return the outputs of the head: classes, or target columns (``_task``)."""
        return self._task.n_outputs(self._task.fitted(self))

    def _can_warm_start(self, fitted, input_shape):
        if not (self.warm_start and hasattr(self, "net_")):
            return False
        old = self._task.fitted(self)
        if not self._task.same_outputs(old, fitted) or (
            input_shape != self.input_shape_
        ):
            task = self._task
            raise ValueError(
                "warm_start=True needs the same classes (regressors: number of "
                "outputs) and input shape as the previous fit; got "
                f"{task.n_outputs(fitted)} outputs {_show(fitted)} and shape "
                f"{input_shape}, previously {task.n_outputs(old)} outputs "
                f"{_show(old)} and {self.input_shape_}."
            )
        before = getattr(self, "_previous_domains", None)
        now = getattr(self, "source_domains_", None)
        if (before is None) != (now is None) or (
            now is not None and not np.array_equal(before, now)
        ):
            raise ValueError(
                "warm_start=True needs the same source domains (domains=) as the "
                f"previous fit; got {now}, previously {before}."
            )
        return True


class BaseDAClassifier(
    ProbaMixin, AccuracyScoreMixin, ClassifierMixin, BaseDAEstimator
):
    """Base class of skuda's domain-adaptation classifiers.

    ``-1`` marks target rows in the stacked form; ``predict_proba`` and
    ``score`` (accuracy) come with it.
    """

    _task = CLASSIFICATION

    def _criterion_params(self, phase):
        """Label smoothing of the cross-entropy on source labels.

        Every phase that trains on labels gets it; an adaptation phase of a
        two-phase method (ADDA, SHOT) does not: its losses are the method's own.
        """
        smoothing = getattr(self, "label_smoothing", 0.0)  # subclasses may lack it
        if phase == "adaptation" or not smoothing:
            return {}
        return {"criterion__label_smoothing": smoothing}


class BaseDARegressor(R2ScoreMixin, RegressorMixin, BaseDAEstimator):
    """Base class of skuda's domain-adaptation regressors.

    ``NaN`` marks target rows in the stacked form (every output NaN); targets
    are standardised on the source rows for training (``target_mean_``,
    ``target_scale_``) and ``predict`` returns them in the units of ``y``,
    clipped to the source targets' range (``target_min_``, ``target_max_``)
    unless ``clip_predictions=False``.
    ``score`` is R^2; there is no ``predict_proba``.
    """

    _task = REGRESSION
    _parameter_constraints: dict = {
        **BaseDAEstimator._parameter_constraints,
        "clip_predictions": ["boolean"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _show(fitted):
    """Describe the classes in a warm-start message (nothing for a regressor)."""
    return f"(classes {fitted['classes_']})" if "classes_" in fitted else ""


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
