"""Exceptions raised by skuda."""


class TrainingDivergedError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite.

    Training stops at once instead of returning a silently broken model.
    """
