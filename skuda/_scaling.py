"""Per-feature (per-channel for signals) standardisation: the one implementation.

Used by every estimator's ``input_scaling`` and by
:class:`skuda.preprocessing.ChannelStandardScaler`.
"""

from __future__ import annotations

import numpy as np

CONSTANT_STD = 1e-8
"""Standard deviations below this mark a constant feature, which is centred but
not divided (dividing would blow rounding noise up to unit scale)."""


def moments(*arrays):
    """Mean and std of the rows of ``arrays`` together, per feature or channel.

    Statistics are taken over samples (axis 0) and, for signals of shape
    ``(n, channels, length)``, over positions too. Computed in float64.

    Parameters
    ----------
    *arrays : ndarray
        One or more arrays with the same shape after axis 0.

    Returns
    -------
    mean, std : ndarray of shape ``arrays[0].shape[1:]`` reduced over positions
        ``(n_features,)`` for 2-D input, ``(n_channels, 1)`` for 3-D; a
        ``std`` below :data:`CONSTANT_STD` is replaced by 1.
    """
    axes = (0, *range(2, arrays[0].ndim))
    stacked = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    mean = stacked.mean(axis=axes, keepdims=True, dtype=np.float64)[0]
    std = stacked.std(axis=axes, keepdims=True, dtype=np.float64)[0]
    std[std < CONSTANT_STD] = 1.0
    return mean, std


def float32_moments(*arrays):
    """:func:`moments` as float32, the dtype of the network's inputs."""
    mean, std = moments(*arrays)
    return mean.astype(np.float32), std.astype(np.float32)


def standardize_(X, mean, scale):
    """Standardise ``X`` in place with ``(X - mean) / scale``; return ``X``."""
    X -= mean
    X /= scale
    return X
