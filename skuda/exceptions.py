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
