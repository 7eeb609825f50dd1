"""Per-feature (per-channel for signals) standardisation: the one implementation.

Used by every estimator's ``input_scaling`` and by
:class:`skuda.preprocessing.ChannelStandardScaler`.
"""

from __future__ import annotations

import math

import numpy as np

from ._rows import RowSource
from ._sparse import SparseRows

CONSTANT_STD = 1e-8
"""Standard deviations below this mark a constant feature, which is centred but
not divided (dividing would blow rounding noise up to unit scale)."""

CHUNK_VALUES = 2**20
"""Values per chunk of the streaming pass of :func:`moments`."""


def moments(*arrays):
    """Mean and std of the rows of ``arrays`` together, per feature or channel.

    Statistics are taken over samples (axis 0) and, for signals of shape
    ``(n, channels, length)``, over positions too. One streaming pass in
    float64 over chunks of about :data:`CHUNK_VALUES` values of the rows of all
    arrays together; per-chunk two-pass statistics are merged exactly (Chan,
    Golub and LeVeque, 1979), and a single chunk gives NumPy's ``mean``/``std``
    of the stacked rows. The chunks depend only on the row shape and counts,
    so the same rows give the same statistics in any container.

    Parameters
    ----------
    *arrays : ndarray or RowSource
        One or more arrays with the same shape after axis 0; a
        :class:`~skuda._rows.RowSource` (tensor, memory map, Dataset) is read
        in chunks, checked for NaN/inf on the way; sparse rows
        (:class:`~skuda._sparse.SparseRows`) give their statistics from their
        non-zeros, merged after those of the dense arrays.

    Returns
    -------
    mean, std : ndarray of shape ``arrays[0].shape[1:]`` reduced over positions
        ``(n_features,)`` for 2-D input, ``(n_channels, 1)`` for 3-D; a
        ``std`` below :data:`CONSTANT_STD` is replaced by 1.
    """
    axes = (0, *range(2, len(arrays[0].shape)))
    step = max(1, CHUNK_VALUES // math.prod(arrays[0].shape[1:]))
    total = None
    for part in _parts(arrays, axes, step):
        total = part if total is None else _merge(total, part)
    for a in arrays:
        if isinstance(a, RowSource):
            a.checked = True  # every row was read, and found finite
    _, mean, var = total
    std = np.sqrt(var)
    std[std < CONSTANT_STD] = 1.0
    return mean, std


def _parts(arrays, axes, step):
    """``(count, mean, var)`` of each chunk: dense rows first, then sparse ones."""
    dense = [a for a in arrays if not isinstance(a, SparseRows)]
    for chunk in _row_chunks(dense, step):
        mean = chunk.mean(axis=axes, keepdims=True, dtype=np.float64)[0]
        var = chunk.var(axis=axes, keepdims=True, dtype=np.float64)[0]
        yield chunk.size // mean.size, mean, var
    for a in arrays:  # from the non-zeros, never densified
        if isinstance(a, SparseRows):
            yield from a.moment_parts()


def _row_chunks(arrays, step):
    """Consecutive chunks of ``step`` rows of the rows of ``arrays`` stacked."""
    parts, have = [], 0
    for a in arrays:
        start = 0
        while start < len(a):
            stop = min(len(a), start + step - have)
            parts.append(
                a.read(start, stop) if isinstance(a, RowSource) else a[start:stop]
            )
            have, start = have + stop - start, stop
            if have == step:
                yield parts[0] if len(parts) == 1 else np.concatenate(parts)
                parts, have = [], 0
    if parts:
        yield parts[0] if len(parts) == 1 else np.concatenate(parts)


def _merge(a, b):
    """Count, mean and variance of two groups together (float64)."""
    (na, ma, va), (nb, mb, vb) = a, b
    n = na + nb
    delta = mb - ma
    mean = ma + delta * (nb / n)
    m2 = va * na + vb * nb + delta**2 * (na * nb / n)
    return n, mean, m2 / n


def float32_moments(*arrays):
    """:func:`moments` as float32, the dtype of the network's inputs."""
    mean, std = moments(*arrays)
    return mean.astype(np.float32), std.astype(np.float32)


def standardize_(X, mean, scale):
    """Standardise ``X`` in place with ``(X - mean) / scale``; return ``X``."""
    X -= mean
    X /= scale
    return X


def scale_rows(X, stats):
    """Standardise a domain with ``stats = (mean, scale)`` (None: leave it).

    A private array is scaled in place; a :class:`~skuda._rows.RowSource` is
    never written to: it is checked for NaN/inf (if no pass has read it yet)
    and its rows are scaled on their way to the network.
    """
    if isinstance(X, RowSource):
        return X.with_scaling(stats)
    return X if stats is None else standardize_(X, *stats)
