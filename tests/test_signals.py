"""Signal input: 1-D CNN backbones, shapes and per-channel input scaling."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skuda import ADDAClassifier, DANNClassifier, SHOTAdapter, SourceOnlyClassifier
from skuda.modules import WDCNN, CNN1d

FAST = dict(
    max_epochs=1,
    batch_size=32,
    min_iterations_per_epoch=1,
    random_state=0,
    device="cpu",
)
ESTIMATORS = {
    "dann": lambda **kw: DANNClassifier(**FAST, **kw),
    "source_only": lambda **kw: SourceOnlyClassifier(**FAST, **kw),
    "adda": lambda **kw: ADDAClassifier(source_epochs=1, **FAST, **kw),
    "shot": lambda **kw: SHOTAdapter(source_epochs=1, bottleneck_dim=16, **FAST, **kw),
}


@pytest.mark.parametrize("backbone", ["wdcnn", "cnn1d"])
@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_backbones_train_and_predict_through_every_estimator(
    method, backbone, signals_2d
):
    Xs, ys, Xt, _ = signals_2d
    clf = ESTIMATORS[method](feature_extractor=backbone).fit(Xs, ys, Xt)
    assert clf.input_shape_ == (1, 256)  # what the network sees: one channel
    assert clf.n_features_in_ == 256  # scikit-learn's reading of 2-D input
    assert clf.input_mean_.shape == (1, 1)  # one statistic for the one channel
    pred = clf.predict(Xt)
    assert pred.shape == (60,) and set(pred) <= {0, 1, 2}
    # (n, length) and (n, 1, length) are the same rows.
    np.testing.assert_array_equal(clf.predict_proba(Xt), clf.predict_proba(Xt[:, None]))
    assert clf.transform(Xt).shape[0] == 60


def test_multichannel_input_is_scaled_per_channel(make_signals):
    Xs, ys = make_signals(channels=3, length=64)
    Xs = Xs * np.array([1.0, 10.0, 100.0], dtype=np.float32)[:, None]
    clf = DANNClassifier(
        feature_extractor="cnn1d", feature_extractor_kwargs={"n_filters": 8}, **FAST
    ).fit(Xs, ys, Xs)
    assert clf.input_shape_ == (3, 64) and clf.n_features_in_ == 3
    expected_std = Xs.std(axis=(0, 2), dtype=np.float64)
    np.testing.assert_allclose(clf.input_scale_.ravel(), expected_std, rtol=1e-4)
    assert clf.net_.module_.encoder.layers[0].in_channels == 3
    assert clf.net_.module_.encoder.layers[0].out_channels == 8  # kwargs reached it


def test_signal_backbone_learns_the_task(signals_2d):
    Xs, ys, _, _ = signals_2d
    clf = SourceOnlyClassifier(
        feature_extractor="wdcnn",
        max_epochs=15,
        batch_size=16,
        random_state=0,
        device="cpu",
    ).fit(Xs, ys)
    assert clf.score(Xs, ys) > 0.9


def test_wrong_channel_count_at_predict_is_a_clear_error(make_signals):
    Xs, ys = make_signals(channels=3, length=64)
    clf = SourceOnlyClassifier(feature_extractor="cnn1d", **FAST).fit(Xs, ys)
    with pytest.raises(ValueError, match=r"2 channels of length 64.*3 channels"):
        clf.predict(Xs[:, :2])
    with pytest.raises(ValueError, match="3 channels of length 64"):
        clf.predict(Xs[:, 0])


def test_3d_input_with_default_mlp_says_2d_expected(make_signals):
    Xs, ys = make_signals(channels=2, length=32)
    with pytest.raises(ValueError, match=r"X_src has 3 dimensions; expected 2-D"):
        DANNClassifier(**FAST).fit(Xs, ys, Xs)
    mlp = DANNClassifier(**FAST).fit(Xs[:, 0], ys, Xs[:, 0])
    with pytest.raises(ValueError, match="expected 2-D input"):
        mlp.predict(Xs)


def test_bad_signal_configurations_are_clear_errors(signals_2d):
    Xs, ys, Xt, _ = signals_2d
    with pytest.raises(ValueError, match="length >= 16"):
        DANNClassifier(feature_extractor="wdcnn", **FAST).fit(Xs[:, :8], ys, Xt[:, :8])
    with pytest.raises(TypeError, match="feature_extractor_kwargs"):
        DANNClassifier(
            feature_extractor="wdcnn", feature_extractor_kwargs={"width": 3}, **FAST
        ).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="configures a named backbone"):
        DANNClassifier(feature_extractor_kwargs={"n_filters": 3}, **FAST).fit(
            Xs, ys, Xt
        )
    with pytest.raises(ValueError, match="feature_extractor"):
        DANNClassifier(feature_extractor="resnet", **FAST).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match=r"a signal backbone takes"):
        DANNClassifier(feature_extractor="cnn1d", **FAST).fit(
            Xs.reshape(60, 2, 2, 64), ys, Xt.reshape(60, 2, 2, 64)
        )


def test_inputs_are_not_modified_and_clone_keeps_kwargs(signals_2d):
    Xs, ys, Xt, _ = signals_2d
    before = Xs.copy(), Xt.copy()
    kwargs = {"n_filters": 8}
    clf = DANNClassifier(
        feature_extractor="wdcnn", feature_extractor_kwargs=kwargs, **FAST
    )
    clf.fit(Xs, ys, Xt)
    np.testing.assert_array_equal(Xs, before[0])
    np.testing.assert_array_equal(Xt, before[1])
    assert kwargs == {"n_filters": 8}
    assert clone(clf).get_params()["feature_extractor_kwargs"] == kwargs


def test_adda_with_signal_source_estimator_accepts_2d_rows(signals_2d):
    Xs, ys, Xt, _ = signals_2d
    src = SourceOnlyClassifier(feature_extractor="cnn1d", **FAST).fit(Xs, ys)
    adda = ADDAClassifier(src, **FAST).fit(Xs, ys, Xt)
    assert adda.input_shape_ == (1, 256)
    assert adda.predict(Xt).shape == (60,)


@pytest.mark.parametrize("length", [16, 100, 1024])
def test_backbone_modules_take_any_length(length):
    gen = torch.Generator().manual_seed(0)
    wd, cnn = WDCNN().eval(), CNN1d(in_channels=2).eval()
    x = torch.randn(2, 2, length, generator=gen)
    assert wd(x[:, :1]).shape == (2, wd.out_features)
    assert torch.equal(wd(x[:, 0]), wd(x[:, :1]))  # (n, length) is one channel
    assert cnn(x).shape == (2, cnn.out_features)
    assert cnn.out_features == 128
    assert wd.min_length == 16


# -- real data -----------------------------------------------------------------------


@pytest.mark.slow
def test_dann_beats_source_only_on_cwru_cross_load(data_dir):
    from skuda.datasets import load_domain

    # Load 3 -> load 0 is one of the harder CWRU pairs for a source-only WDCNN.
    Xs, ys = load_domain("cwru", "load3", data_dir=data_dir)
    Xt, yt = load_domain("cwru", "load0", data_dir=data_dir)
    params = dict(
        feature_extractor="wdcnn",
        max_epochs=8,
        batch_size=32,
        random_state=0,
        device="cpu",
    )
    # X_tgt for the baseline too: both scale the channels over both domains.
    src = SourceOnlyClassifier(**params).fit(Xs, ys, Xt)
    dann = DANNClassifier(lambda_=1.0, **params).fit(Xs, ys, Xt)
    src_acc, dann_acc = src.score(Xt, yt), dann.score(Xt, yt)
    assert dann_acc > src_acc + 0.04, (src_acc, dann_acc)
