"""Image input: the LeNet backbone, input_shape reshaping, per-channel scaling."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda.modules import LeNet
from skuda.persistence import load, save
from skuda.preprocessing import ChannelStandardScaler

TINY = dict(
    feature_extractor="lenet",
    feature_extractor_kwargs={"n_filters": (4, 6), "out_features": 12},
    max_epochs=1,
    batch_size=16,
    random_state=0,
    device="cpu",
)
TWO_PHASE = dict(source_epochs=1, **TINY)
ESTIMATORS = {
    "source_only": lambda **kw: SourceOnlyClassifier(**TINY, **kw),
    "dann": lambda **kw: DANNClassifier(**TINY, **kw),
    "mcc": lambda **kw: MCCClassifier(**TINY, **kw),
    "cdan": lambda **kw: CDANClassifier(**TINY, **kw),
    "coral": lambda **kw: DeepCORALClassifier(**TINY, **kw),
    "adda": lambda **kw: ADDAClassifier(**TWO_PHASE, **kw),
    "shot": lambda **kw: SHOTAdapter(bottleneck_dim=8, **TWO_PHASE, **kw),
}


def _images(n=48, channels=1, size=12, shift=0.0, seed=0):
    """Class k lights row band k of each image; ``shift`` brightens everything."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = 0.1 * rng.normal(size=(n, channels, size, size)) + shift
    for k in range(3):
        X[y == k, :, 4 * k : 4 * k + 4, :] += 1.0
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def flat_digits():
    """Flat rows ``(n, 144)`` of 12x12 single-channel images, two domains."""
    Xs, ys = _images()
    Xt, yt = _images(shift=0.3, seed=1)
    return Xs.reshape(len(Xs), -1), ys, Xt.reshape(len(Xt), -1), yt


@pytest.mark.parametrize(
    ("shape", "side"), [((1, 16, 16), 2), ((3, 28, 28), 5), ((1, 12, 13), 1)]
)
def test_lenet_output_shapes(shape, side):
    net = LeNet(shape[0], shape[1:])
    assert tuple(net(torch.zeros(4, *shape)).shape) == (4, 500)
    assert net.features[0].in_channels == shape[0]
    # Padded first block, valid second: 16 -> 8 -> 4 -> 2 and 28 -> 14 -> 10 -> 5.
    assert net.fc[0].in_features == 50 * side * side
    assert net.min_size == 12


def test_lenet_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"at least 12x12 pixels; got image_size="):
        LeNet(1, (11, 16))
    assert LeNet(1, (2, 2), n_filters=(4,)).min_size == 2
    with pytest.raises(ValueError, match="at least 32x32"):
        LeNet(1, (28, 28), n_filters=(2, 2, 2))
    with pytest.raises(ValueError, match="kernel_size must be a positive odd"):
        LeNet(1, (16, 16), kernel_size=4)


@pytest.mark.filterwarnings("ignore:ADDA's target encoder collapsed")
@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_every_estimator_fits_flat_rows_reshaped_by_input_shape(method, flat_digits):
    Xs, ys, Xt, _ = flat_digits
    clf = ESTIMATORS[method](input_shape=(1, 12, 12)).fit(Xs, ys, Xt)
    assert clf.input_shape_ == (1, 12, 12) and clf.n_features_in_ == 144
    assert clf.input_mean_.shape == (1, 1, 1)  # one statistic for the one channel
    proba = clf.predict_proba(Xt)
    assert proba.shape == (48, 3)
    # Flat rows and images are the same samples.
    np.testing.assert_array_equal(proba, clf.predict_proba(Xt.reshape(-1, 1, 12, 12)))
    assert clf.transform(Xt).shape[0] == 48
    images = ESTIMATORS[method]().fit(
        Xs.reshape(-1, 1, 12, 12), ys, Xt.reshape(-1, 1, 12, 12)
    )
    np.testing.assert_array_equal(
        images.predict_proba(Xt.reshape(-1, 1, 12, 12)), proba
    )


def test_rgb_images_are_scaled_per_channel_like_numpy():
    Xs, ys = _images(channels=3)
    Xt, _ = _images(channels=3, shift=0.5, seed=1)
    gain = np.array([1.0, 10.0, 100.0], dtype=np.float32)[:, None, None]
    Xs, Xt = Xs * gain, Xt * gain + 3.0
    before = Xs.copy()
    clf = DANNClassifier(**TINY).fit(Xs, ys, Xt)
    both = np.concatenate([Xs, Xt]).astype(np.float64)
    np.testing.assert_allclose(
        clf.input_mean_.ravel(), both.mean(axis=(0, 2, 3)), rtol=1e-5
    )
    np.testing.assert_allclose(
        clf.input_scale_.ravel(), both.std(axis=(0, 2, 3)), rtol=1e-5
    )
    assert clf.input_mean_.shape == (3, 1, 1)
    assert clf.net_.module_.encoder.features[0].in_channels == 3
    np.testing.assert_array_equal(Xs, before)  # the caller's rows untouched
    domain = DANNClassifier(input_scaling="domain", **TINY).fit(Xs, ys, Xt)
    np.testing.assert_allclose(
        domain.input_mean_.ravel(), Xt.mean(axis=(0, 2, 3)), rtol=1e-5
    )


def test_channel_scaler_takes_images_like_numpy():
    rng = np.random.default_rng(0)
    X = rng.normal([[[1.0]], [[-5.0]]], [[[2.0]], [[0.5]]], size=(30, 2, 5, 6))
    scaler = ChannelStandardScaler().fit(X)
    mean, std = X.mean(axis=(0, 2, 3)), X.std(axis=(0, 2, 3))
    np.testing.assert_allclose(scaler.mean_, mean)
    np.testing.assert_allclose(scaler.scale_, std)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z, (X - mean[:, None, None]) / std[:, None, None])
    np.testing.assert_allclose(scaler.inverse_transform(Z), X)
    with pytest.raises(ValueError, match="3 dimensions but .* fitted on 4-D"):
        scaler.transform(X[:, :, 0])
    with pytest.raises(ValueError, match="expected .*height, width"):
        ChannelStandardScaler().fit(X[..., None])


def test_wrong_shapes_are_clear_errors_naming_the_parameter(flat_digits):
    Xs, ys, Xt, _ = flat_digits
    with pytest.raises(ValueError, match=r"'lenet' takes images .* Set input_shape"):
        DANNClassifier(**TINY).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match=r"input_shape=\(1, 10, 10\) takes flat rows"):
        DANNClassifier(input_shape=(1, 10, 10), **TINY).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="input_shape must be a non-empty sequence"):
        DANNClassifier(input_shape=(1, 0, 144), **TINY).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match=r"cannot take samples of shape \(1, 6, 24\)"):
        DANNClassifier(input_shape=(1, 6, 24), **TINY).fit(Xs, ys, Xt)
    five_d = lambda X: X.reshape(-1, 1, 1, 12, 12)  # noqa: E731
    with pytest.raises(ValueError, match=r"samples of shape \(1, 1, 12, 12\)"):
        DANNClassifier(**TINY).fit(five_d(Xs), ys, five_d(Xt))
    clf = SourceOnlyClassifier(input_shape=(1, 12, 12), **TINY).fit(Xs, ys)
    with pytest.raises(ValueError, match=r"X has samples of shape \(143,\)"):
        clf.predict(Xs[:, 1:])
    with pytest.raises(ValueError, match=r"X has samples of shape \(1, 9, 16\)"):
        clf.predict(Xs.reshape(-1, 1, 9, 16))


def test_shot_source_free_reads_the_source_models_image_shape(flat_digits):
    Xs, ys, Xt, _ = flat_digits
    src = SourceOnlyClassifier(input_shape=(1, 12, 12), **TINY).fit(Xs, ys, Xt)
    shot = SHOTAdapter(source_estimator=src, max_epochs=1, random_state=0)
    shot.fit(Xt)  # flat target rows: the source model says how to read them
    assert shot.input_shape_ == (1, 12, 12)
    assert shot.predict_proba(Xt).shape == (48, 3)
    np.testing.assert_array_equal(
        shot.predict(Xt), shot.predict(Xt.reshape(-1, 1, 12, 12))
    )


def test_persistence_round_trip(flat_digits, tmp_path):
    Xs, ys, Xt, _ = flat_digits
    clf = CDANClassifier(input_shape=(1, 12, 12), **TINY).fit(Xs, ys, Xt)
    save(clf, tmp_path / "lenet")
    back = load(tmp_path / "lenet")
    assert back.input_shape == (1, 12, 12) and back.feature_extractor == "lenet"
    np.testing.assert_array_equal(back.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(back.transform(Xt), clf.transform(Xt))


def test_row_sources_and_pipelines_give_the_array_results(flat_digits, tmp_path):
    Xs, ys, Xt, _ = flat_digits
    params = dict(input_shape=(1, 12, 12), **TINY)
    ref = DANNClassifier(**params).fit(Xs, ys, Xt).predict_proba(Xt)
    np.save(tmp_path / "t.npy", Xt)
    memmap = np.load(tmp_path / "t.npy", mmap_mode="r")
    from_sources = DANNClassifier(**params).fit(torch.from_numpy(Xs), ys, memmap)
    np.testing.assert_allclose(from_sources.predict_proba(memmap), ref, atol=1e-6)
    # Stacked form through a Pipeline of 2-D transformers: rows stay flat until
    # the estimator reshapes them.
    X = np.concatenate([Xs, Xt])
    y = np.concatenate([ys, np.full(len(Xt), -1)])
    pipe = make_pipeline(MinMaxScaler(), DANNClassifier(**params)).fit(X, y)
    assert pipe.predict(Xt).shape == (48,)
    assert pipe[-1].input_shape_ == (1, 12, 12)
