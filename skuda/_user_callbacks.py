"""The user's skorch callbacks: their names, ``callbacks__name__param``, checks.

A callback in ``callbacks`` is named as skorch names it: by the name of a
``(name, callback)`` pair, else by its class name.
"""

from __future__ import annotations

import copy

from skorch.callbacks import BatchScoring, EpochScoring, LRScheduler


def _unpack(item):
    """``(name, callback)`` of one entry of ``callbacks``."""
    if isinstance(item, (tuple, list)):
        return item[0], item[1]
    cls = item if isinstance(item, type) else type(item)
    return cls.__name__, item


def _is_a(cb, kinds):
    return isinstance(cb, kinds) or (isinstance(cb, type) and issubclass(cb, kinds))


def needs_validation(item):
    """Whether the callback reads ``valid_*`` columns or the validation batches."""
    cb = _unpack(item)[1]
    monitor = getattr(cb, "monitor", None)
    if isinstance(monitor, str) and monitor.startswith("valid_"):
        return True  # EarlyStopping(), Checkpoint() with their defaults
    return isinstance(cb, (EpochScoring, BatchScoring)) and not cb.on_train


def check_fit_callbacks(callbacks, validation_fraction, trains_source):
    """Before training: ValueError for what this fit's callbacks cannot get.

    ``trains_source`` is whether the fit trains a model on source labels (not
    so with a fitted ``source_estimator``); only such a fit can validate.
    """
    if validation_fraction is not None and not trains_source:
        raise ValueError(
            "validation_fraction holds out source rows from the training of the "
            "source model, but with source_estimator none is trained; set "
            "validation_fraction=None."
        )
    reason = None
    if not trains_source:
        reason = (
            "with source_estimator no model is trained on source labels; stop "
            "the adaptation with skuda.callbacks.UnsupervisedEarlyStopping."
        )
    elif validation_fraction is None:
        reason = (
            "set validation_fraction (e.g. 0.1) to hold out source rows; their "
            "loss and accuracy are recorded as valid_loss and valid_acc."
        )
    check_validation_callbacks(callbacks, reason)


def check_validation_callbacks(callbacks, no_validation):
    """Raise a ValueError for callbacks that need validation data it lacks.

    ``no_validation`` is None when held-out source rows are recorded, else the
    reason why they are not (it ends the error message). Training batches mix
    both domains, so nothing may score them as ``(X, y)`` pairs.
    """
    for item in callbacks or []:
        name, cb = _unpack(item)
        if isinstance(cb, (EpochScoring, BatchScoring)) and cb.on_train:
            raise ValueError(
                f"callbacks: {name} scores the training batches (on_train=True), "
                "which mix source and target rows. Score held-out source rows "
                "instead: on_train=False with validation_fraction set."
            )
        if no_validation is not None and needs_validation(item):
            raise ValueError(
                f"callbacks: {name} reads validation scores (valid_loss, "
                f"valid_acc, ...), which this fit does not record: {no_validation}"
            )


def check_lr_schedulers(callbacks, lr_schedule):
    """Raise a ValueError for a user's lr scheduler next to ``lr_schedule='dann'``."""
    if lr_schedule != "dann":
        return
    for item in callbacks or []:
        name, cb = _unpack(item)
        if _is_a(cb, LRScheduler):
            raise ValueError(
                f"callbacks: {name} is a learning-rate scheduler, but "
                "lr_schedule='dann' already anneals the rate (skuda's LRScheduler "
                "callback 'lr_schedule'); the two would fight over the rate. Set "
                "lr_schedule='constant' to use your own scheduler."
            )


def set_callback_params(callbacks, params):
    """``callbacks`` with ``params`` applied, as skorch's ``callbacks__...``.

    ``params`` maps ``"name__param"`` to a new parameter value of the callback
    named ``name``, and ``"name"`` to a replacement callback (None removes it).
    Returns a new list; a changed callback is a copy, so the objects the user
    passed are never modified.
    """
    items = list(callbacks or [])
    for key, value in params.items():
        name, _, param = key.partition("__")
        names = [_unpack(item)[0] for item in items]
        if names.count(name) != 1:
            how = "several callbacks have" if name in names else "no callback has"
            raise ValueError(
                f"Cannot set callbacks__{key}: {how} the name {name!r} (names: "
                f"{names}). Name callbacks with (name, callback) pairs."
            )
        i = names.index(name)
        named = isinstance(items[i], (tuple, list))
        cb = _unpack(items[i])[1]
        if param:
            if isinstance(cb, type):
                raise ValueError(
                    f"Cannot set callbacks__{key}: {name} is a class, not a "
                    "callback instance."
                )
            cb = copy.deepcopy(cb)
            cb.set_params(**{param: value})
        else:
            cb = value
        if cb is None:
            del items[i]
        else:
            items[i] = (name, cb) if named else cb
    return items
