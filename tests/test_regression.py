"""Regressors: both fit forms, target scaling, adaptation, errors, selection."""

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_squared_error, r2_score
from skorch.callbacks import Callback

from skuda import (
    ADDAClassifier,
    ADDARegressor,
    DANNClassifier,
    DANNRegressor,
    DeepCORALRegressor,
    SHOTAdapter,
    SourceOnlyRegressor,
)
from skuda.datasets import make_shifted_regression
from skuda.persistence import load, save
from skuda.selection import (
    DASearchCV,
    DeepEmbeddedValidationScorer,
    ImportanceWeightedScorer,
    InformationMaximizationScorer,
    ReverseValidationScorer,
    StackedDomainSplit,
)

FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), random_state=0, device="cpu")
REGRESSORS = [SourceOnlyRegressor, DANNRegressor, DeepCORALRegressor, ADDARegressor]


@pytest.fixture(scope="module")
def drift():
    return make_shifted_regression(n_samples=120, random_state=0)


def _stacked(Xs, ys, Xt):
    nan = np.full((len(Xt), *np.shape(ys)[1:]), np.nan)
    return np.vstack([Xs, Xt]), np.concatenate([ys, nan])


@pytest.mark.parametrize("cls", REGRESSORS, ids=lambda c: c.__name__)
def test_both_fit_forms_give_the_same_model(cls, drift):
    Xs, ys, Xt, _ = drift
    three = cls(**FAST).fit(Xs, ys, Xt)
    stacked = cls(**FAST).fit(*_stacked(Xs, ys, Xt))
    pred = three.predict(Xt)
    assert pred.shape == (len(Xt),) and pred.dtype == np.float64
    assert np.array_equal(pred, stacked.predict(Xt))
    assert not hasattr(three, "predict_proba")
    assert not hasattr(three, "classes_")
    assert three.score(Xt, ys[: len(Xt)]) == pytest.approx(
        r2_score(ys[: len(Xt)], pred)
    )


def test_multi_output_targets(drift):
    Xs, ys, Xt, _ = drift
    Y = np.c_[ys, -3 * ys + 10]
    reg = DANNRegressor(**FAST).fit(*_stacked(Xs, Y, Xt))
    assert reg.predict(Xt).shape == (len(Xt), 2)
    assert reg.target_mean_.shape == (2,)
    assert reg.net_.module_.head(torch.zeros(1, 16)).shape == (1, 2)


def test_targets_are_standardised_on_the_source_and_restored(drift):
    # Training sees the same standardised targets, so a*y + b gives exactly
    # a*predict + b: the network does not care about y's units.
    Xs, ys, Xt, _ = drift
    base = DANNRegressor(**FAST).fit(Xs, ys, Xt)
    scaled = DANNRegressor(**FAST).fit(Xs, 1000 * ys + 7, Xt)
    assert scaled.target_mean_ == pytest.approx(1000 * ys.mean() + 7)
    assert scaled.target_scale_ == pytest.approx(1000 * ys.std())
    np.testing.assert_allclose(
        scaled.predict(Xt), 1000 * base.predict(Xt) + 7, rtol=1e-6
    )


@pytest.mark.parametrize("cls", REGRESSORS, ids=lambda c: c.__name__)
def test_predictions_are_clipped_to_the_source_target_range(cls, drift):
    Xs, ys, Xt, _ = drift
    far = np.vstack([Xt, 50 * Xt])  # rows far outside the source: extrapolation
    free = cls(clip_predictions=False, **FAST).fit(Xs, ys, Xt)
    clipped = cls(**FAST).fit(Xs, ys, Xt)
    assert clipped.target_min_ == ys.min() and clipped.target_max_ == ys.max()
    raw = free.predict(far)
    assert raw.min() < ys.min() or raw.max() > ys.max()  # the test bites
    np.testing.assert_allclose(clipped.predict(far), np.clip(raw, ys.min(), ys.max()))


def test_clip_range_per_output_ignores_zero_weight_rows(drift):
    Xs, ys, Xt, _ = drift
    Y = np.column_stack([ys, -3 * ys])
    w = np.ones(len(ys))
    w[np.argmax(ys)] = 0  # removed: its value cannot bound the predictions
    reg = SourceOnlyRegressor(**FAST).fit(Xs, Y, Xt, sample_weight=w)
    kept = Y[w > 0]
    np.testing.assert_array_equal(reg.target_min_, kept.min(axis=0))
    np.testing.assert_array_equal(reg.target_max_, kept.max(axis=0))
    pred = reg.predict(np.vstack([Xt, 50 * Xt]))
    assert np.all(pred >= kept.min(axis=0)) and np.all(pred <= kept.max(axis=0))


def test_integer_count_target_is_a_value_not_a_class(drift):
    Xs, ys, Xt, _ = drift
    counts = np.round(10 * (ys - ys.min())).astype(np.int64)  # ~21 distinct counts
    assert len(np.unique(counts)) > 10
    reg = SourceOnlyRegressor(**FAST).fit(Xs, counts)
    assert reg.net_.module_.head(torch.zeros(1, 16)).shape == (1, 1)
    assert not np.allclose(reg.predict(Xs), np.round(reg.predict(Xs)))


def test_minus_one_is_a_value_in_the_stacked_form(drift):
    Xs, ys, _, _ = drift
    y = np.where(ys > 0, ys, -1.0)
    with pytest.warns(UserWarning, match="no label NaN in y"):
        reg = DANNRegressor(**FAST).fit(Xs, y)
    assert reg.target_mean_ == pytest.approx(y.mean())  # every row is a source row


def test_dann_regressor_adapts_to_sensor_drift():
    Xs, ys, Xt, yt = make_shifted_regression(noise=0.3, random_state=0)
    params = dict(max_epochs=30, random_state=0, device="cpu")
    source = SourceOnlyRegressor(**params).fit(Xs, ys, Xt)
    dann = DANNRegressor(lambda_=1.0, **params).fit(Xs, ys, Xt)
    mse_source = mean_squared_error(yt, source.predict(Xt))
    mse_dann = mean_squared_error(yt, dann.predict(Xt))
    assert mse_dann < 0.97 * mse_source
    assert dann.history_[-1, "domain_loss"] > 0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (lambda Xs, ys, Xt: (Xs, np.r_[ys[:-1], np.nan], Xt), "y_src contains NaN"),
        (lambda Xs, ys, Xt: (Xs, np.full(len(ys), np.nan), None), "Every label in y"),
        (lambda Xs, ys, Xt: (Xs, ys[:-1], Xt), "y_src has 119 targets"),
        (lambda Xs, ys, Xt: (Xs, np.array(["a"] * len(ys)), Xt), "must hold numbers"),
        (lambda Xs, ys, Xt: (Xs, np.c_[ys, ys][:, :0], Xt), "y_src"),
        (
            lambda Xs, ys, Xt: (Xs, np.c_[ys, np.r_[np.nan, ys[1:]]], None),
            "NaN in some outputs only",
        ),
    ],
    ids=["nan-3-arg", "all-nan", "length", "strings", "no-columns", "partial"],
)
def test_bad_targets_raise_clear_errors(drift, args, match):
    Xs, ys, Xt, _ = drift
    reg = SourceOnlyRegressor(**FAST)
    with pytest.raises(ValueError, match=match):
        reg.fit(*args(Xs, ys, Xt))
    assert not hasattr(reg, "net_")


@pytest.mark.filterwarnings("ignore:.*got no target rows")
def test_classifiers_keep_their_marker(drift):
    Xs, ys, Xt, _ = drift
    with pytest.raises(ValueError, match="NaN"):  # NaN is no target marker there
        DANNClassifier(**FAST).fit(*_stacked(Xs, (ys > 0).astype(float), Xt))


def test_warm_start_needs_the_same_number_of_outputs(drift):
    Xs, ys, Xt, _ = drift
    reg = DANNRegressor(warm_start=True, **FAST).fit(Xs, ys, Xt)
    reg.fit(Xs, 2 * ys, Xt)  # same outputs: continues
    assert len(reg.history_) == 6
    with pytest.raises(ValueError, match="number of outputs"):
        reg.fit(Xs, np.c_[ys, ys], Xt)


def test_validation_fraction_records_r2(drift):
    Xs, ys, Xt, _ = drift
    reg = SourceOnlyRegressor(validation_fraction=0.2, **FAST).fit(Xs, ys)
    assert np.isfinite(reg.history_[-1, "valid_r2"])
    assert "valid_acc" not in reg.history_[-1]


@pytest.mark.parametrize(
    "cls", [DANNRegressor, ADDARegressor], ids=lambda c: c.__name__
)
def test_save_load_round_trip(cls, drift, tmp_path):
    Xs, ys, Xt, _ = drift
    reg = cls(**FAST).fit(Xs, np.c_[ys, ys + 1], Xt)
    save(reg, tmp_path / "reg.skuda")
    back = load(tmp_path / "reg.skuda")
    assert type(back) is cls
    assert np.array_equal(back.predict(Xt), reg.predict(Xt))


def test_label_free_scorers_on_a_regressor(drift):
    Xs, ys, Xt, _ = drift
    reg = DANNRegressor(**FAST).fit(Xs, ys, Xt)
    X, y = _stacked(Xs, ys, Xt)
    iwv = ImportanceWeightedScorer()(reg, X, y)
    dev = DeepEmbeddedValidationScorer()(reg, X, y)
    mse = mean_squared_error(ys, reg.predict(Xs))
    assert iwv < 0 and dev < 0 and np.isfinite(dev)
    assert iwv == pytest.approx(-mse, rel=1.0)  # a reweighted source MSE
    rv = ReverseValidationScorer({"max_epochs": 2})(reg, X, y)
    assert rv < 0
    with pytest.raises(ValueError, match="is a regressor"):
        InformationMaximizationScorer()(reg, X, y)


def test_splitter_reads_nan_as_the_regression_marker():
    y = np.r_[np.linspace(-1, 1, 6), -1.0, np.full(4, np.nan)]
    folds = list(StackedDomainSplit(2, random_state=0).split(np.zeros((11, 1)), y))
    for _, test in folds:
        assert np.isnan(y[test]).sum() == 2  # target rows split evenly
    assert sum(len(test) for _, test in folds) == 11


def test_search_tunes_a_regressor_without_target_labels(drift):
    Xs, ys, Xt, _ = drift
    search = DASearchCV(DANNRegressor(**FAST), {"lambda_": [0.1, 1.0]}, cv=2)
    search.fit(Xs, ys, Xt)
    assert search.scoring is None and np.isfinite(search.best_score_)
    assert not hasattr(search, "predict_proba") and not hasattr(search, "classes_")
    assert search.predict(Xt).shape == (len(Xt),)
    assert search.score(Xs, ys) == pytest.approx(r2_score(ys, search.predict(Xs)))


def test_default_grid_of_the_regressor():
    from skuda.selection import default_grid

    # lambda_=0 lets the label-free search decline to adapt; lr keeps its default.
    assert default_grid(DANNRegressor()) == {"lambda_": [0.0, 0.1, 0.3, 1.0]}
    assert 0.0 in default_grid(DeepCORALRegressor())["lambda_"]
    assert 0 in default_grid(ADDARegressor())["max_epochs"]  # no adaptation


def test_make_shifted_regression_drifts_only_the_last_features():
    Xs, ys, Xt, yt = make_shifted_regression(n_samples=2000, random_state=1)
    gap = Xt.mean(axis=0) - Xs.mean(axis=0)
    np.testing.assert_allclose(gap, [0, 0, 0, 2, 2, 2], atol=0.1)
    assert ys.dtype == yt.dtype == np.float64
    with pytest.raises(ValueError, match="n_drifting"):
        make_shifted_regression(n_features=3, n_drifting=3)


# -- ADDARegressor -------------------------------------------------------------------
def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class _AtAdaptationStart(Callback):
    """Records the networks when ADDA's adversarial phase begins."""

    def on_train_begin(self, net, **kwargs):
        if net.phase_name == "adaptation":
            m = net.module_
            self.states = {name: _state(getattr(m, name)) for name in _NETWORKS}


_NETWORKS = ("encoder", "head", "target_encoder")


def test_adda_regressor_adapts_to_sensor_drift():
    # Mirrors the DANN test: the same source network (ADDA's, batch-normalised)
    # trained on the source alone, then adapted with ADDA's defaults.
    Xs, ys, Xt, yt = make_shifted_regression(noise=0.3, random_state=0)
    source = SourceOnlyRegressor(
        max_epochs=30, batch_norm=True, random_state=0, device="cpu"
    ).fit(Xs, ys, Xt)
    adda = ADDARegressor(source, random_state=0, device="cpu").fit(Xs, ys, Xt)
    mse_source = mean_squared_error(yt, source.predict(Xt))
    mse_adda = mean_squared_error(yt, adda.predict(Xt))
    # Measured, seeds 0-2: 1.29/0.87/0.94 -> 0.030/0.045/0.041 (the target
    # encoder's batch-norm statistics and features move onto the source's).
    assert mse_adda < 0.5 * mse_source, (mse_adda, mse_source)
    assert np.all(np.isfinite(adda.history_[:, "discriminator_loss"]))


def test_adda_regressor_freezes_the_source_model(drift):
    Xs, ys, Xt, _ = drift
    snap = _AtAdaptationStart()
    reg = ADDARegressor(callbacks=[snap], **FAST).fit(Xs, ys, Xt)
    snap = dict(reg.net_.callbacks_)["_AtAdaptationStart"]
    assert _same(snap.states["target_encoder"], snap.states["encoder"])
    assert _same(snap.states["encoder"], _state(reg.source_encoder_))
    assert _same(snap.states["head"], _state(reg.classifier_))
    assert not _same(snap.states["target_encoder"], _state(reg.target_encoder_))
    assert not any(p.requires_grad for p in reg.source_encoder_.parameters())
    assert not any(p.requires_grad for p in reg.classifier_.parameters())
    assert len(reg.history_) == 3 and "task_loss" in reg.source_history_[-1]


def test_adda_regressor_takes_a_fitted_source_regressor(drift):
    Xs, ys, Xt, _ = drift
    Y = np.c_[1000 * ys + 7, -ys]
    src = SourceOnlyRegressor(**FAST).fit(Xs, Y, Xt)
    before, pred = _state(src.net_.module_), src.predict(Xt)
    # Weights move the mean of this fit's targets, not the source model's
    # (its head predicts its own standardised targets).
    w = np.linspace(1, 3, len(ys))
    still = ADDARegressor(src, **{**FAST, "max_epochs": 0})
    still.fit(Xs, Y, Xt, sample_weight=w)
    np.testing.assert_array_equal(still.target_mean_, src.target_mean_)
    np.testing.assert_array_equal(still.target_scale_, src.target_scale_)
    np.testing.assert_allclose(still.predict(Xt), pred, rtol=1e-6)
    moved = ADDARegressor(src, **FAST).fit(Xs, Y, Xt)
    assert not np.allclose(moved.predict(Xt), pred)
    assert _same(before, _state(src.net_.module_))  # never modified
    np.testing.assert_array_equal(src.predict(Xt), pred)


def test_adda_regressor_reads_a_module_pair_in_the_units_of_y(drift):
    Xs, ys, Xt, _ = drift
    raw = dict(input_scaling=None, clip_predictions=False)
    src = SourceOnlyRegressor(**FAST, **raw).fit(Xs, ys)
    pair = (src.net_.module_.encoder, src.net_.module_.head)
    reg = ADDARegressor(pair, **{**FAST, "max_epochs": 0}, **raw).fit(Xs, ys, Xt)
    assert reg.target_mean_ == 0 and reg.target_scale_ == 1
    standardised = (src.predict(Xt) - src.target_mean_) / src.target_scale_
    np.testing.assert_allclose(reg.predict(Xt), standardised, rtol=1e-5, atol=1e-6)


def test_adda_bad_input_raises_clear_errors(drift):
    Xs, ys, Xt, _ = drift
    reg = ADDARegressor(**FAST)
    with pytest.raises(ValueError, match="y_src contains NaN"):
        reg.fit(Xs, np.r_[ys[:-1], np.nan], Xt)
    with pytest.raises(ValueError, match="X_src: Expected 2D array"):
        reg.fit(Xs[:, 0], ys, Xt)
    with pytest.raises(ValueError, match="X_tgt has 3 features"):
        reg.fit(Xs, ys, Xt[:, :3])
    assert not hasattr(reg, "net_")
    src = SourceOnlyRegressor(**FAST).fit(Xs, ys)
    with pytest.raises(ValueError, match="predicts 1 outputs, but y_src has 2"):
        ADDARegressor(src, **FAST).fit(Xs, np.c_[ys, ys], Xt)
    with pytest.raises(ValueError, match="is a regressor.*Use ADDARegressor"):
        ADDAClassifier(src, **FAST).fit(Xs, (ys > 0).astype(int), Xt)
    with pytest.raises(ValueError, match="is a regressor.*SHOTAdapter adapts a cl"):
        SHOTAdapter(src, **FAST).fit(Xt)  # SHOT has no regression form
    clf = ADDAClassifier(**FAST).fit(Xs, (ys > 0).astype(int), Xt)
    with pytest.raises(ValueError, match="is a classifier"):
        ADDARegressor(clf, **FAST).fit(Xs, ys, Xt)
