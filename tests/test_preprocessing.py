"""skuda.preprocessing: the signal transformers."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skuda import DANNClassifier
from skuda._scaling import CONSTANT_STD
from skuda.preprocessing import ChannelStandardScaler, FFTMagnitude


@parametrize_with_checks([ChannelStandardScaler(), FFTMagnitude(n_bins=1, log=True)])
def test_transformers_are_sklearn_compatible(estimator, check):
    check(estimator)


def test_channel_scaler_matches_numpy():
    rng = np.random.default_rng(0)
    X = rng.normal([[1.0], [-5.0], [20.0]], [[1.0], [3.0], [0.1]], size=(40, 3, 50))
    scaler = ChannelStandardScaler().fit(X)
    mean = X.mean(axis=(0, 2))
    std = X.std(axis=(0, 2))
    np.testing.assert_allclose(scaler.mean_, mean)
    np.testing.assert_allclose(scaler.scale_, std)
    X_new = rng.normal(size=(5, 3, 70))  # another length is fine for 3-D input
    Z = scaler.transform(X_new)
    np.testing.assert_allclose(Z, (X_new - mean[:, None]) / std[:, None])
    np.testing.assert_allclose(scaler.inverse_transform(Z), X_new)
    flat = ChannelStandardScaler().fit(X[:, 1])  # 2-D: one channel
    np.testing.assert_allclose(flat.mean_, [X[:, 1].mean()])
    with pytest.raises(ValueError, match="3 dimensions but .* fitted on 2-D"):
        flat.transform(X)
    with pytest.raises(ValueError, match="3 features"):
        scaler.transform(X[:, :2])


def test_channel_scaler_attributes_and_constant_channels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3, 30))
    X[:, 1] = 7.0  # constant
    X[:, 2] = 1.0 + 1e-9 * rng.standard_normal((20, 30))  # constant but for noise
    scaler = ChannelStandardScaler().fit(X)
    for attr in (scaler.mean_, scaler.scale_):
        assert attr.shape == (3,) and attr.dtype == np.float64
    # A std below the shared CONSTANT_STD (which the estimators' input_scaling
    # uses too) marks a constant channel: centred, not divided.
    assert 1e-12 < X[:, 2].std() < CONSTANT_STD
    np.testing.assert_array_equal(scaler.scale_[1:], [1.0, 1.0])
    np.testing.assert_allclose(
        scaler.transform(X)[:, 1:], X[:, 1:] - scaler.mean_[1:, None], atol=1e-6
    )
    off = ChannelStandardScaler(with_mean=False, with_std=False).fit(X)
    np.testing.assert_array_equal(off.mean_, np.zeros(3))
    np.testing.assert_array_equal(off.scale_, np.ones(3))
    np.testing.assert_array_equal(off.transform(X), X)


def test_fft_magnitude_matches_numpy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2, 64))
    expected = np.abs(np.fft.rfft(X, axis=-1))
    np.testing.assert_allclose(FFTMagnitude().fit_transform(X), expected)
    out = FFTMagnitude(n_bins=10, log=True).fit_transform(X[:, 0])
    np.testing.assert_allclose(out, np.log1p(expected[:, 0, :10]))
    assert FFTMagnitude().fit_transform(X.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="n_bins=40 exceeds the 33"):
        FFTMagnitude(n_bins=40).fit(X)


def test_transformers_in_a_pipeline_with_a_da_estimator(signals_2d):
    Xs, ys, Xt, _ = signals_2d
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, np.full(len(Xt), -1)]
    pipe = make_pipeline(
        FFTMagnitude(n_bins=64, log=True),
        DANNClassifier(
            hidden_layer_sizes=(32,),
            max_epochs=50,
            batch_size=32,
            random_state=0,
            device="cpu",
        ),
    ).fit(X, y)
    assert pipe.score(Xs, ys) > 0.9  # frequency features separate the sines
