"""Building an estimator's networks and skorch nets from its parameters."""

from __future__ import annotations

import copy
import math

import torch

from ._distributed import main_process_print
from ._net import AnnealedLR
from ._network import build_encoder, build_head, output_size
from ._user_callbacks import check_lr_schedulers, needs_validation
from ._validation_split import SourceValidSplit
from .modules import ClassifierHead, DANetwork

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}


class NetBuildingMixin:
    """The networks and skorch nets of a :class:`~skuda._base.BaseDAClassifier`.

    Methods override ``_extra_modules`` (networks beyond encoder and head) and
    ``_net_params`` (their parameters for the net); two-phase methods build
    their phases' nets with ``_make_net(..., phase=...)``.
    """

    def _build_network(self, input_shape, n_classes):
        encoder = build_encoder(self, input_shape)
        n_features = output_size(encoder, input_shape)
        head = build_head(self.head, n_features, n_classes, ClassifierHead)
        return DANetwork(encoder, head, **self._extra_modules(n_features))

    def _blank_network(self):
        """Build a network shaped like the fitted ``net_.module_`` (any weights).

        :mod:`skuda.persistence` loads saved weights into it; built from the
        parameters and the fitted ``input_shape_`` and number of outputs.
        """
        return self._build_network(self.input_shape_, self._n_outputs())

    def _extra_modules(self, n_features):
        """Networks beyond encoder and head, e.g. a discriminator."""
        return {}

    def _net_params(self):
        """Return the method parameters passed to the net's constructor."""
        return {}

    def _optimizer_params(self):
        optimizer = _OPTIMIZERS.get(self.optimizer, self.optimizer)
        params = {"optimizer": optimizer, "optimizer__weight_decay": self.weight_decay}
        if optimizer is torch.optim.SGD:
            params["optimizer__momentum"] = 0.9
        return params

    def _callbacks(self, lr_schedule=None, phase=None):
        """Return the user's callbacks (copied) plus the lr annealing when it is on.

        An adaptation phase records no validation scores, so it gets no
        callback that reads them.
        """
        lr_schedule = lr_schedule or self.lr_schedule
        check_lr_schedulers(self.callbacks, lr_schedule)
        callbacks = [
            item
            for item in copy.deepcopy(self.callbacks) or []
            if phase != "adaptation" or not needs_validation(item)
        ]
        if lr_schedule == "dann":
            callbacks.append(("lr_schedule", AnnealedLR()))
        return callbacks

    def _train_split(self, batch_seed, phase=None):
        """Return skorch's ``train_split``: held-out source rows, or None.

        Phases that train on source labels validate on them; an adaptation
        phase does not.
        """
        if self.validation_fraction is None or phase == "adaptation":
            return None
        return SourceValidSplit(self.validation_fraction, random_state=batch_seed)

    def _criterion_params(self, phase):
        """Return arguments for the net's criterion (classifiers add some)."""
        return {}

    def _learning_rate(self):
        """``lr``, with ``"auto"`` resolved for this fit's rows (:func:`auto_lr`)."""
        if self.lr != "auto":
            return self.lr
        return auto_lr(self.input_shape_, self.feature_extractor)

    def _make_net(
        self, net_class, network, batch_seed, lr_schedule=None, phase=None, **overrides
    ):
        """Build a ``net_class`` around ``network`` with this estimator's settings.

        ``overrides`` replace any constructor argument (e.g. ``max_epochs`` or
        ``lr`` of a second training phase); ``lr_schedule`` replaces the
        estimator's for this net; ``phase`` names a phase of a two-phase
        method (``"source"`` or ``"adaptation"``).
        """
        params = dict(
            criterion=self._task.criterion,
            lr=self._learning_rate(),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            min_iterations=self.min_iterations_per_epoch,
            train_split=self._train_split(batch_seed, phase),
            callbacks=self._callbacks(lr_schedule, phase),
            verbose=self.verbose,
            device=self.device_,
            warm_start=self.warm_start,
            batch_seed=batch_seed,
            phase=phase,
            mixed_precision=self.mixed_precision,
            accelerator=self._accelerator(),
            **self._optimizer_params(),
            **self._criterion_params(phase),
            **self._net_params(),
        )
        if self._accelerator() is not None and self.verbose:
            # One table, not one per process. (skorch calls a sink other than
            # print even when verbose=0, hence only with verbose.)
            params["callbacks__print_log__sink"] = main_process_print
        params.update(overrides)
        return net_class(network, **params)

    def _continue_net(self, lr_schedule=None):
        """Return a copy of the fitted ``net_`` set up for ``max_epochs`` more epochs.

        A copy, so that a failing warm start leaves the fitted net as it was.
        """
        net = copy.deepcopy(self.net_)
        net.set_params(
            accelerator=self._accelerator(),
            max_epochs=self.max_epochs,
            min_iterations=self.min_iterations_per_epoch,
            callbacks=self._callbacks(lr_schedule, net.phase),
            train_split=self._train_split(net.batch_seed, net.phase),
        )
        # skorch's set_params rebuilds ``callbacks_`` from the *old* list, and a
        # warm start does not initialize again: build them from the new one.
        net.initialize_callbacks()
        return net


def auto_lr(input_shape, feature_extractor=None):
    """Return the learning rate ``lr="auto"`` means for rows of ``input_shape``.

    For the default MLP on ``(n, d)`` rows: ``1e-2 * min(1, sqrt(8 / d))``,
    i.e. 1e-2 up to 8 features, 1e-3 at 800. With Adam every first-layer
    weight moves by about ``lr`` per step, so a hidden unit's input moves by
    about ``lr * sqrt(d)`` on standardised rows: keeping that product fixed
    keeps the speed of the representation the same in any dimension. The
    two ends are the default study's measurements (small low-dimensional
    shifts adapt only at 1e-2; 800 SURF counts lose 7.8 points at 1e-2 and
    not at 1e-3, see the docs' default study). Any other feature extractor
    (convolutional backbones, whose first layer sees a few inputs per
    output): 1e-3.
    """
    if feature_extractor is not None or len(input_shape) != 1:
        return 1e-3
    return 1e-2 * min(1.0, math.sqrt(8 / max(int(input_shape[0]), 1)))
