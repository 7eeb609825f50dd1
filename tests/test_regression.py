"""Regressors: both fit forms, target scaling, adaptation, errors, selection."""

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_squared_error, r2_score

from skuda import (
    DANNClassifier,
    DANNRegressor,
    DeepCORALRegressor,
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
REGRESSORS = [SourceOnlyRegressor, DANNRegressor, DeepCORALRegressor]


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


def test_save_load_round_trip(drift, tmp_path):
    Xs, ys, Xt, _ = drift
    reg = DANNRegressor(**FAST).fit(Xs, np.c_[ys, ys + 1], Xt)
    save(reg, tmp_path / "reg.skuda")
    back = load(tmp_path / "reg.skuda")
    assert type(back) is DANNRegressor
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


def test_make_shifted_regression_drifts_only_the_last_features():
    Xs, ys, Xt, yt = make_shifted_regression(n_samples=2000, random_state=1)
    gap = Xt.mean(axis=0) - Xs.mean(axis=0)
    np.testing.assert_allclose(gap, [0, 0, 0, 2, 2, 2], atol=0.1)
    assert ys.dtype == yt.dtype == np.float64
    with pytest.raises(ValueError, match="n_drifting"):
        make_shifted_regression(n_features=3, n_drifting=3)
