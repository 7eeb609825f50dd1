"""scikit-learn transformers for signals of shape (n, channels, length) or (n, length).

A 2-D array ``(n, length)`` is read as one channel per row, as skuda's signal
backbones do; :class:`ChannelStandardScaler` also takes images ``(n, channels,
height, width)``. Both transformers work inside a ``Pipeline``; fitted on 2-D input
they name their output columns (``get_feature_names_out``), so
``set_output(transform="pandas")`` works too.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._scaling import moments, standardize_

__all__ = ["ChannelStandardScaler", "FFTMagnitude"]

_FLOATS = (np.float64, np.float32)
_SHAPES = {
    2: "(n_samples, length)",
    3: "(n_samples, n_channels, length)",
    4: "(n_samples, n_channels, height, width)",
}


def _check_signals(estimator, X, *, reset):
    """Validate ``X`` as (n, length) or (n, channels, length) floats."""
    fitted = getattr(estimator, "n_dims_in_", None)
    ndim = getattr(X, "ndim", None)
    # Rank 1 is left to validate_data, whose message says how to reshape.
    if not reset and fitted is not None and (ndim or 0) >= 2 and ndim != fitted:
        raise ValueError(
            f"X has {ndim} dimensions but {type(estimator).__name__} was fitted "
            f"on {fitted}-D input."
        )
    X = validate_data(
        estimator, X, reset=reset, allow_nd=True, dtype=_FLOATS, ensure_min_features=1
    )
    if X.ndim not in estimator._ranks:
        expected = " or ".join(_SHAPES[rank] for rank in estimator._ranks)
        raise ValueError(f"X has shape {X.shape}; expected {expected}.")
    if reset:
        estimator.n_dims_in_ = X.ndim
    elif X.ndim != fitted:
        raise ValueError(
            f"X has {X.ndim} dimensions but {type(estimator).__name__} was fitted "
            f"on {fitted}-D input."
        )
    return X


def _check_two_d(estimator):
    """ValueError unless ``estimator`` was fitted on 2-D input (named columns)."""
    check_is_fitted(estimator)
    if estimator.n_dims_in_ != 2:
        kind = "3-D signals" if estimator.n_dims_in_ == 3 else "4-D images"
        raise ValueError(
            f"{type(estimator).__name__} was fitted on {kind}, whose output "
            f"{_SHAPES[estimator.n_dims_in_]} has no columns to name; feature "
            "names (and set_output(transform='pandas')) need 2-D input."
        )


class ChannelStandardScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise each channel of a signal or image with statistics of the rows.

    Mean and standard deviation are taken over samples and positions (time for
    signals ``(n, channels, length)``, both axes for images ``(n, channels,
    height, width)``), per channel: the scaling that suits a convolutional
    backbone, which shares its weights across positions (a per-position
    ``StandardScaler`` would destroy the signal's shape). A 2-D input ``(n,
    length)`` is one channel. It is the scaling every skuda estimator applies
    with ``input_scaling`` to signals and images.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre each channel.
    with_std : bool, default=True
        Divide each channel by its standard deviation (constant channels, with
        a standard deviation below ``1e-8``, are left unscaled).

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
    scale_ : ndarray of shape (n_channels,)
    n_features_in_ : int
        ``X.shape[1]`` at fit: the length of 2-D rows, the channels of 3-D ones.
    n_dims_in_ : int
        Rank of the input seen at fit (2, 3 or 4).

    Examples
    --------
    >>> import numpy as np
    >>> from skuda.preprocessing import ChannelStandardScaler
    >>> X = np.random.default_rng(0).normal(5.0, 2.0, size=(10, 3, 50))
    >>> Z = ChannelStandardScaler().fit_transform(X)
    >>> np.allclose(Z.mean(axis=(0, 2)), 0), np.allclose(Z.std(axis=(0, 2)), 1)
    (True, True)
    """

    _parameter_constraints: dict = {"with_mean": ["boolean"], "with_std": ["boolean"]}
    _ranks = (2, 3, 4)

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        """Compute the per-channel mean and standard deviation of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, length) or (n_samples, length)
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        X = _check_signals(self, X, reset=True)
        mean, std = moments(_channels_first(X))
        n_channels = len(mean)
        self.mean_ = mean.ravel() if self.with_mean else np.zeros(n_channels)
        self.scale_ = std.ravel() if self.with_std else np.ones(n_channels)
        return self

    def transform(self, X):
        """Standardise ``X`` channel by channel.

        Parameters
        ----------
        X : array-like of the shape seen at fit (length may differ for 3-D)

        Returns
        -------
        ndarray of the same shape and float dtype as ``X``
        """
        check_is_fitted(self)
        X = _check_signals(self, X, reset=False)
        out = _channels_first(X).astype(np.float64)  # a copy: standardised in place
        standardize_(out, *self._per_channel(out.ndim))
        return out.reshape(X.shape).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : array-like of the shape seen at fit

        Returns
        -------
        ndarray of the same shape as ``X``
        """
        check_is_fitted(self)
        X = _check_signals(self, X, reset=False)
        mean, scale = self._per_channel(max(X.ndim, 3))
        out = _channels_first(X) * scale + mean
        return out.reshape(X.shape).astype(X.dtype, copy=False)

    def _per_channel(self, ndim):
        """``mean_`` and ``scale_`` shaped to broadcast over rank-``ndim`` input."""
        shape = (-1,) + (1,) * (ndim - 2)
        return self.mean_.reshape(shape), self.scale_.reshape(shape)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the input's (2-D input only).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; None uses ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str
        """
        _check_two_d(self)
        return super().get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        """Declare that float64 and float32 inputs keep their dtype."""
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class FFTMagnitude(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Magnitude spectrum ``|rfft(x)|`` of each signal along its last axis.

    A fixed transform (nothing is learned from the data) that turns raw
    windows into shift-invariant frequency features, e.g. for an MLP on
    vibration data. ``(n, length)`` gives ``(n, n_bins)``; ``(n, channels,
    length)`` gives ``(n, channels, n_bins)``.

    Parameters
    ----------
    n_bins : int, default=None
        Keep the first ``n_bins`` frequency bins (lowest frequencies); at most
        ``length // 2 + 1``. None keeps all ``length // 2 + 1``.
    log : bool, default=False
        Return ``log1p(|rfft(x)|)``, which compresses the dynamic range.

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` at fit.
    n_dims_in_ : int
        Rank of the input seen at fit (2 or 3).

    Examples
    --------
    >>> import numpy as np
    >>> from skuda.preprocessing import FFTMagnitude
    >>> t = np.arange(64)
    >>> X = np.sin(2 * np.pi * 5 * t / 64)[None, :]
    >>> int(FFTMagnitude().fit_transform(X).argmax())
    5
    """

    _parameter_constraints: dict = {
        "n_bins": [Interval(Integral, 1, None, closed="left"), None],
        "log": ["boolean"],
    }
    _ranks = (2, 3)

    def __init__(self, *, n_bins=None, log=False):
        self.n_bins = n_bins
        self.log = log

    def fit(self, X, y=None):
        """Check ``X`` and record its shape (no statistics are learned).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, length) or (n_samples, length)
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        X = _check_signals(self, X, reset=True)
        self._check_bins(X.shape[-1])
        return self

    def transform(self, X):
        """Magnitude spectrum of each row (and channel).

        Parameters
        ----------
        X : array-like of the rank seen at fit

        Returns
        -------
        ndarray of shape (..., n_bins), same float dtype as ``X``
        """
        check_is_fitted(self)
        X = _check_signals(self, X, reset=False)
        n_bins = self._check_bins(X.shape[-1])
        mag = np.abs(np.fft.rfft(X, axis=-1)[..., :n_bins])
        if self.log:
            mag = np.log1p(mag)
        return mag.astype(X.dtype, copy=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``fftmagnitude0, ...`` (2-D input only).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the input seen at fit, otherwise unused.

        Returns
        -------
        ndarray of str
        """
        _check_two_d(self)
        return super().get_feature_names_out(input_features)

    @property
    def _n_features_out(self):
        return self._check_bins(self.n_features_in_)

    def _check_bins(self, length):
        available = length // 2 + 1
        if self.n_bins is None:
            return available
        if self.n_bins > available:
            raise ValueError(
                f"n_bins={self.n_bins} exceeds the {available} frequency bins of "
                f"signals of length {length}."
            )
        return self.n_bins

    def __sklearn_is_fitted__(self):
        """Return whether ``fit`` has run (read by ``check_is_fitted``)."""
        return hasattr(self, "n_dims_in_")

    def __sklearn_tags__(self):
        """Declare that float64 and float32 inputs keep their dtype."""
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _channels_first(X):
    """``X`` with a channel axis: ``(n, length)`` is one channel."""
    return X[:, None, :] if X.ndim == 2 else X
