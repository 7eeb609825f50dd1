"""sample_weight and class_weight: the weighted label loss, routing, checks."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skuda import (
    ADDAClassifier,
    DANNClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda._net import weighted_mean
from skuda.selection import (
    DASearchCV,
    InformationMaximizationScorer,
    StackedDomainSplit,
)

# Full batches, no dropout, no input scaling (which would see a removed row):
# the only randomness left is the row order inside a batch.
FULL_BATCH = dict(
    max_epochs=4,
    batch_size=128,
    dropout=0.0,
    input_scaling=None,
    lr_schedule="constant",
    random_state=0,
)


@pytest.fixture(scope="module")
def rows40(blobs):
    Xs, ys, Xt, _ = blobs
    return Xs[:40], ys[:40], Xt[:30]


def _proba(cls, Xs, ys, Xt, **fit_params):
    return cls(**FULL_BATCH).fit(Xs, ys, Xt, **fit_params).predict_proba(Xt)


@pytest.mark.parametrize("cls", [SourceOnlyClassifier, MCCClassifier])
def test_zero_weight_is_row_removed_and_integer_weight_is_repetition(cls, rows40):
    Xs, ys, Xt = rows40
    w = np.ones(len(ys))
    w[[3, 7]] = 0
    keep = w > 0
    weighted = _proba(cls, Xs, ys, Xt, sample_weight=w)
    np.testing.assert_allclose(weighted, _proba(cls, Xs[keep], ys[keep], Xt), atol=1e-6)
    assert np.abs(weighted - _proba(cls, Xs, ys, Xt)).max() > 1e-3  # weights act
    w = np.ones(len(ys))
    w[5] = 3
    rows = np.r_[np.arange(len(ys)), 5, 5]
    np.testing.assert_allclose(
        _proba(cls, Xs, ys, Xt, sample_weight=w),
        _proba(cls, Xs[rows], ys[rows], Xt),
        atol=1e-6,
    )


def test_weighted_mean_normalises_by_the_batch_weights():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 0])
    per_row = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    crit = torch.nn.CrossEntropyLoss()
    w = torch.tensor([1.0, 0.0, 3.0])
    got = weighted_mean(crit, logits, y, w)
    assert torch.isclose(got, (per_row[0] + 3 * per_row[2]) / 4)
    assert crit.reduction == "mean"  # restored
    zero = weighted_mean(crit, logits, y, torch.zeros(3))
    assert zero.item() == 0.0


def test_ones_and_no_weights_agree(rows40):
    Xs, ys, Xt = rows40
    np.testing.assert_allclose(
        _proba(DANNClassifier, Xs, ys, Xt, sample_weight=np.ones(len(ys))),
        _proba(DANNClassifier, Xs, ys, Xt),
        atol=1e-6,
    )


def _imbalanced_toy():
    """75 source rows of class 0, 8 of class 1; a shifted, balanced target."""
    rng = np.random.default_rng(0)
    Xs = np.r_[rng.normal(0, 1, (75, 2)), rng.normal(1.5, 1, (8, 2))]
    ys = np.r_[np.zeros(75, int), np.ones(8, int)]
    Xt = np.r_[rng.normal(0, 1, (40, 2)), rng.normal(1.5, 1, (40, 2))] + [0.5, 0]
    return Xs, ys, Xt


@pytest.mark.parametrize("cls", [SourceOnlyClassifier, DANNClassifier])
def test_balanced_class_weight_predicts_both_classes_on_the_75_8_toy(cls):
    Xs, ys, Xt = _imbalanced_toy()
    kw = dict(max_epochs=30, random_state=0)
    default = cls(**kw).fit(Xs, ys, Xt).predict(Xt)
    balanced = cls(class_weight="balanced", **kw).fit(Xs, ys, Xt).predict(Xt)
    if cls is SourceOnlyClassifier:  # DANN's adaptation alone recovers some
        assert np.bincount(default, minlength=2)[1] <= 2  # the majority class only
    assert np.bincount(balanced, minlength=2).min() > np.bincount(default)[1:].sum()
    assert np.bincount(balanced, minlength=2).min() >= 20  # both classes
    by_dict = cls(class_weight={0: 8 / 83, 1: 75 / 83}, **kw).fit(Xs, ys, Xt)
    assert np.bincount(by_dict.predict(Xt), minlength=2).min() >= 20


def test_stacked_form_takes_one_weight_per_row(rows40):
    Xs, ys, Xt = rows40
    w = np.linspace(0.5, 2, len(ys))
    X = np.r_[Xs, Xt]
    y = np.r_[ys, np.full(len(Xt), -1)]
    stacked = SourceOnlyClassifier(**FULL_BATCH).fit(
        X, y, sample_weight=np.r_[w, np.full(len(Xt), 7.0)]
    )
    np.testing.assert_array_equal(
        stacked.predict_proba(Xt),
        _proba(SourceOnlyClassifier, Xs, ys, Xt, sample_weight=w),
    )


def test_weights_reach_the_source_phase_of_two_phase_methods(rows40):
    Xs, ys, Xt = rows40
    w = np.where(ys == 0, 5.0, 0.2)
    for cls in (ADDAClassifier, SHOTAdapter):
        kw = dict(FULL_BATCH, source_epochs=3, max_epochs=1)
        plain = cls(**kw).fit(Xs, ys, Xt).source_history_[-1, "train_loss"]
        weighted = cls(**kw).fit(Xs, ys, Xt, sample_weight=w)
        assert weighted.source_history_[-1, "train_loss"] != plain


def test_routing_through_pipeline_and_grid_search(rows40):
    Xs, ys, Xt = rows40
    X = np.r_[Xs, Xt]
    y = np.r_[ys, np.full(len(Xt), -1)]
    w = np.r_[np.where(ys == 0, 4.0, 0.5), np.ones(len(Xt))]
    direct = make_pipeline(StandardScaler(), SourceOnlyClassifier(**FULL_BATCH))
    direct.fit(X, y, sourceonlyclassifier__sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            SourceOnlyClassifier(**FULL_BATCH).set_fit_request(sample_weight=True),
        )
        routed = pipe.fit(X, y, sample_weight=w).predict_proba(Xt)
        np.testing.assert_array_equal(routed, direct.predict_proba(Xt))
        search = GridSearchCV(
            SourceOnlyClassifier(**FULL_BATCH).set_fit_request(sample_weight=True),
            {"lr": [1e-3]},
            cv=StackedDomainSplit(2, random_state=0),
            scoring=InformationMaximizationScorer(),
        ).fit(X, y, sample_weight=w)
    best = search.best_estimator_.predict_proba(Xt)
    alone = SourceOnlyClassifier(**FULL_BATCH).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(best, alone.predict_proba(Xt))
    unweighted = SourceOnlyClassifier(**FULL_BATCH).fit(X, y)
    assert np.abs(best - unweighted.predict_proba(Xt)).max() > 1e-3


def test_da_search_passes_weights_through(rows40):
    Xs, ys, Xt = rows40
    w = np.where(ys == 0, 4.0, 0.5)
    search = DASearchCV(SourceOnlyClassifier(**FULL_BATCH), {"lr": [1e-3]}, cv=2).fit(
        Xs, ys, Xt, sample_weight=w
    )
    np.testing.assert_array_equal(
        search.predict_proba(Xt),
        _proba(SourceOnlyClassifier, Xs, ys, Xt, sample_weight=w),
    )


@pytest.mark.parametrize(
    ("sample_weight", "match"),
    [
        (np.ones(5), "sample_weight has 5 values but there are 40 source rows"),
        (-np.ones(40), "sample_weight must be non-negative"),
        (np.r_[np.nan, np.ones(39)], "sample_weight contains NaN"),
        (np.zeros(40), "zero for every source row"),
        (np.ones((40, 2)), "sample_weight must be 1-D"),
        (np.array(["a"] * 40), "sample_weight must hold numbers"),
    ],
)
def test_bad_sample_weight(rows40, sample_weight, match):
    Xs, ys, Xt = rows40
    clf = DANNClassifier(max_epochs=1)
    with pytest.raises(ValueError, match=match):
        clf.fit(Xs, ys, Xt, sample_weight=sample_weight)
    assert not hasattr(clf, "net_")


def test_bad_stacked_weights_and_class_weights(rows40):
    Xs, ys, Xt = rows40
    X, y = np.r_[Xs, Xt], np.r_[ys, np.full(len(Xt), -1)]
    with pytest.raises(
        ValueError, match="sample_weight has 40 values but there are 70 rows"
    ):
        SourceOnlyClassifier(max_epochs=1).fit(X, y, sample_weight=np.ones(40))
    source_zero = np.r_[np.zeros(len(ys)), np.ones(len(Xt))]
    with pytest.raises(ValueError, match="zero for every source row"):
        SourceOnlyClassifier(max_epochs=1).fit(X, y, sample_weight=source_zero)
    with pytest.raises(ValueError, match=r"class_weight has weights for \[7\]"):
        SourceOnlyClassifier(max_epochs=1, class_weight={0: 1, 7: 2}).fit(Xs, ys)
    with pytest.raises(ValueError, match="class_weight values must be non-negative"):
        SourceOnlyClassifier(max_epochs=1, class_weight={0: -1}).fit(Xs, ys)
    with pytest.raises(ValueError, match="class_weight"):
        SourceOnlyClassifier(max_epochs=1, class_weight="auto").fit(Xs, ys)


def test_source_free_fit_rejects_weights(rows40):
    Xs, ys, Xt = rows40
    src = SourceOnlyClassifier(max_epochs=1, random_state=0).fit(Xs, ys)
    with pytest.raises(ValueError, match="sample_weight describe source rows"):
        SHOTAdapter(source_estimator=src, max_epochs=1).fit(
            Xt, sample_weight=np.ones(len(Xt))
        )


def test_weights_not_modified(rows40):
    Xs, ys, Xt = rows40
    w = np.linspace(0, 1, len(ys))
    before = w.copy()
    SourceOnlyClassifier(max_epochs=1, class_weight="balanced").fit(
        Xs, ys, sample_weight=w
    )
    np.testing.assert_array_equal(w, before)


def test_regressor_zero_weight_is_row_removed(rows40):
    from skuda import SourceOnlyRegressor

    Xs, _, Xt = rows40
    y = Xs[:, 0] * 2.0 + 1.0  # a continuous target
    w = np.ones(len(y))
    w[[3, 7]] = 0
    keep = w > 0

    def fit(X, t, **kw):
        return SourceOnlyRegressor(**FULL_BATCH).fit(X, t, Xt, **kw).predict(Xt)

    weighted = fit(Xs, y, sample_weight=w)
    # The target standardisation is weighted too: a zero-weight row has no
    # influence at all, even with an absurd target.
    y[[3, 7]] = 1e6
    np.testing.assert_allclose(weighted, fit(Xs[keep], y[keep]), atol=1e-5)
    assert np.abs(weighted - fit(Xs, y)).max() > 1e-3  # weights act
