"""skuda.selection's scorers on the stacked form, by hand and in grid searches."""

import inspect

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, cross_val_score

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.selection import (
    DeepEmbeddedValidationScorer,
    ImportanceWeightedScorer,
    InformationMaximizationScorer,
    ReverseValidationScorer,
    SourceAccuracyScorer,
    StackedDomainSplit,
    get_da_scorer,
)

NAMES = ["entropy", "im", "snd", "iwv", "dev", "rv", "source_accuracy"]


# -- importance weighting against a hand computation -------------------------------


class _FixedModel(ClassifierMixin, BaseEstimator):
    """Probabilities are the softmax of the first 2 columns; features = X * 2."""

    classes_ = np.array([0, 1])

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return softmax(np.asarray(X)[:, :2], axis=1)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]

    def transform(self, X):
        return np.asarray(X) * 2


class _SigmoidDomain(ClassifierMixin, BaseEstimator):
    """P(target | x) = sigmoid(x[:, -1]); fitting learns nothing."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-np.asarray(X)[:, -1]))
        return np.c_[1 - p, p]

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


@pytest.fixture(scope="module")
def hand_case():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(20, 3))
    Xt = rng.normal(size=(15, 3)) + 0.5
    ys = (Xs[:, 1] > Xs[:, 0]).astype(int)
    ys[:4] = 1 - ys[:4]  # some errors
    return Xs, ys, Xt


def _reference_parts(Xs, ys, feature_scale):
    p_t = np.clip(1 / (1 + np.exp(-Xs[:, -1] * feature_scale)), 1e-3, 1 - 1e-3)
    w = p_t / (1 - p_t)
    w = w / w.mean()
    proba = softmax(Xs[:, :2], axis=1)
    loss = -np.log(proba[np.arange(len(ys)), ys])
    return w, loss


def test_iwv_is_weighted_source_loss(hand_case):
    Xs, ys, Xt = hand_case
    w, loss = _reference_parts(Xs, ys, 1.0)
    scorer = ImportanceWeightedScorer(domain_classifier=_SigmoidDomain())
    got = scorer.score_domains(_FixedModel(), Xs, ys, Xt)
    assert got == pytest.approx(-np.mean(w * loss))


def test_dev_uses_features_and_control_variate(hand_case):
    Xs, ys, Xt = hand_case
    w, loss = _reference_parts(Xs, ys, 2.0)  # DEV reads transform(X) = 2 X
    wl = w * loss
    cov = np.sum((wl - wl.mean()) * (w - w.mean())) / (len(w) - 1)
    var = np.sum((w - w.mean()) ** 2) / (len(w) - 1)
    eta = -cov / var
    expected = -(wl.mean() + eta * w.mean() - eta)
    scorer = DeepEmbeddedValidationScorer(domain_classifier=_SigmoidDomain())
    assert scorer.score_domains(_FixedModel(), Xs, ys, Xt) == pytest.approx(expected)


def test_source_accuracy(hand_case):
    Xs, ys, Xt = hand_case
    model = _FixedModel()
    assert SourceAccuracyScorer().score_domains(model, Xs, ys, Xt) == pytest.approx(
        np.mean(model.predict(Xs) == ys)
    )


# -- reverse validation ---------------------------------------------------------------


class _Recorder(ClassifierMixin, BaseEstimator):
    """Predicts by the sign of column 0; records what it was fitted on."""

    def __init__(self, flip=False):
        self.flip = flip

    def fit(self, X, y):
        self.fitted_on_ = (np.asarray(X).copy(), np.asarray(y).copy())
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        out = (np.asarray(X)[:, 0] > 0).astype(int)
        return 1 - out if self.flip else out


def test_reverse_validation_trains_back_on_pseudo_labels(hand_case):
    Xs, ys, Xt = hand_case
    model = _Recorder().fit(Xs, ys)
    scorer = ReverseValidationScorer(reverse_params={"flip": True})
    score = scorer.score_domains(model, Xs, ys, Xt)
    # The reverse clone (flipped by reverse_params) is what scored the source.
    assert score == pytest.approx(np.mean((Xs[:, 0] <= 0).astype(int) == ys))
    # ... and it was fitted on the stacked form: target rows with the model's
    # pseudo-labels, source rows unlabelled (-1); the source labels never.
    original = model.fitted_on_  # the scored model itself is untouched
    assert original[0].shape == Xs.shape


def test_reverse_validation_fit_arguments(hand_case, monkeypatch):
    Xs, ys, Xt = hand_case
    seen = {}

    def spy_fit(self, X, y):
        seen["X"], seen["y"] = np.asarray(X), np.asarray(y)
        self.classes_ = np.array([0, 1])
        return self

    model = _Recorder().fit(Xs, ys)
    monkeypatch.setattr(_Recorder, "fit", spy_fit)
    ReverseValidationScorer().score_domains(model, Xs, ys, Xt)
    np.testing.assert_array_equal(seen["X"], np.vstack([Xt, Xs]))
    np.testing.assert_array_equal(
        seen["y"], np.r_[model.predict(Xt), np.full(len(Xs), -1)]
    )


def test_reverse_validation_constant_prediction(hand_case):
    Xs, ys, Xt = hand_case
    model = _Recorder().fit(Xs, ys)
    Xt_pos = np.abs(Xt) + 0.1  # every pseudo-label is 1
    score = ReverseValidationScorer().score_domains(model, Xs, ys, Xt_pos)
    assert score == pytest.approx(np.mean(ys == 1))


# -- on real estimators, stacked form ---------------------------------------------


@pytest.fixture(scope="module")
def fitted(stacked):
    X, y = stacked
    return DANNClassifier(max_epochs=5, random_state=0).fit(X, y)


@pytest.mark.parametrize("model", ["fitted", "source_model"])
@pytest.mark.parametrize("name", NAMES)
def test_scorers_on_stacked_form(name, model, stacked, request):
    fitted = request.getfixturevalue(model)
    X, y = stacked
    scorer = get_da_scorer(name)
    value = scorer(fitted, X, y)
    assert np.isfinite(value)
    # The stacked call is exactly score_domains on the split domains.
    is_t = y == -1
    assert value == pytest.approx(
        scorer.score_domains(fitted, X[~is_t], y[~is_t], X[is_t])
    )
    with pytest.raises(ValueError, match="target rows"):
        scorer(fitted, X[~is_t], y[~is_t])


def test_scorers_never_read_target_labels(fitted, blobs):
    # A scorer has no way to receive target labels: the stacked form carries -1
    # for target rows and score_domains has no parameter for them. Scrambling the
    # true target labels changes the oracle, and none of the scorers.
    Xs, ys, Xt, yt = blobs
    X = np.vstack([Xs, Xt])
    scrambled = np.random.default_rng(0).permutation(yt)
    for name in NAMES:
        scorer = get_da_scorer(name)
        assert set(inspect.signature(scorer.score_domains).parameters) == {
            "estimator",
            "X_src",
            "y_src",
            "X_tgt",
        }
        values = [
            scorer(fitted, X, np.r_[ys, np.where(labels == labels, -1, labels)])
            for labels in (yt, scrambled)
        ]
        assert values[0] == values[1], name
    oracle = [np.mean(fitted.predict(Xt) == t) for t in (yt, scrambled)]
    assert oracle[0] != oracle[1]


def test_label_free_scorers_ignore_source_labels_too(fitted, stacked):
    X, y = stacked
    y2 = y.copy()
    src = y2 != -1
    y2[src] = np.random.default_rng(1).permutation(y2[src])
    for name in ("entropy", "im", "snd"):
        assert get_da_scorer(name)(fitted, X, y) == get_da_scorer(name)(fitted, X, y2)
    for name in ("iwv", "dev", "source_accuracy"):
        assert get_da_scorer(name)(fitted, X, y) != get_da_scorer(name)(fitted, X, y2)


def test_unknown_scorer_name():
    with pytest.raises(ValueError, match="Unknown scorer 'nope'"):
        get_da_scorer("nope")


@pytest.mark.parametrize("name", NAMES)
def test_grid_search_over_lambda_with_each_scorer(name, stacked):
    X, y = stacked
    scorer = get_da_scorer(
        name, **({"reverse_params": {"max_epochs": 2}} if name == "rv" else {})
    )
    search = GridSearchCV(
        DANNClassifier(max_epochs=3, random_state=0),
        {"lambda_": [0.0, 1.0]},
        scoring=scorer,
        cv=StackedDomainSplit(2, random_state=0),
        error_score="raise",
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_["lambda_"] in (0.0, 1.0)
    assert search.best_score_ == pytest.approx(scores.max())


def test_grid_search_with_several_scorers_and_cross_val_score(stacked):
    X, y = stacked
    scoring = {n: get_da_scorer(n) for n in ("im", "dev", "source_accuracy")}
    search = GridSearchCV(
        SourceOnlyClassifier(max_epochs=2, random_state=0),
        {"lr": [1e-3, 1e-2]},
        scoring=scoring,
        refit="dev",
        cv=StackedDomainSplit(2, random_state=0),
    ).fit(X, y)
    assert set(scoring) <= {
        k[len("mean_test_") :] for k in search.cv_results_ if k.startswith("mean_test_")
    }
    scores = cross_val_score(
        DANNClassifier(max_epochs=2, random_state=0),
        X,
        y,
        scoring=InformationMaximizationScorer(),
        cv=StackedDomainSplit(3, random_state=0),
    )
    assert scores.shape == (3,)


# -- distributed grid search ------------------------------------------------------


@pytest.mark.slow
def test_grid_search_on_a_local_dask_cluster(stacked):
    # Not skipped when dask is missing: it is a test dependency, and a skip here
    # would hide a broken install.
    import distributed
    import joblib

    X, y = stacked

    def search():
        return GridSearchCV(
            DANNClassifier(max_epochs=3, random_state=0),
            {"lambda_": [0.0, 0.3, 1.0]},
            scoring=InformationMaximizationScorer(),
            cv=StackedDomainSplit(2, random_state=0),
            n_jobs=-1,
        )

    serial = search().set_params(n_jobs=1).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with joblib.parallel_backend("dask"):
            dist = search().fit(X, y)
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    # Same folds, same seeds: the cluster reproduces the serial results exactly.
    np.testing.assert_allclose(
        dist.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(dist.predict(X), serial.predict(X))
