"""Exceptions raised by skuda."""


class TrainingDivergedError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite.

    Training stops at once instead of returning a silently broken model.
    """


class CollapseWarning(UserWarning):
    """Issued when adaptation maps every target row to one class.

    The obvious form of the collapse known for adversarial methods (e.g. ADDA);
    filter it with ``warnings.filterwarnings("ignore", category=CollapseWarning)``.
    """


class FitInterruptedWarning(UserWarning):
    """Issued when a user interrupt (Ctrl-C) ends a fit early.

    The fit stops at once, in whichever phase it was (no later phase runs), and
    the estimator keeps the model trained so far, with ``interrupted_ = True``.
    """


class StopTraining(KeyboardInterrupt):
    """Raised by a callback to end the current training phase early.

    A ``KeyboardInterrupt`` subclass, because that is how skorch stops a
    training loop (its ``EarlyStopping`` raises one too); skuda tells it apart
    from a user interrupt, which ends the whole fit. See
    :class:`skuda.callbacks.UnsupervisedEarlyStopping`.
    """
