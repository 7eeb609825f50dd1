"""DASearchCV: label-free grid search in one line."""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skuda import (
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SourceOnlyClassifier,
)
from skuda.selection import (
    DEFAULT_GRIDS,
    DASearchCV,
    InformationMaximizationScorer,
    SourceAccuracyScorer,
    StackedDomainSplit,
    default_grid,
)

TINY = dict(max_epochs=3, hidden_layer_sizes=(16,), random_state=0, device="cpu")
GRID = {"lambda_": [0.0, 1.0]}


def test_equals_a_manual_grid_search_on_the_same_grid(blobs, stacked):
    Xs, ys, Xt, _ = blobs
    search = DASearchCV(DANNClassifier(**TINY), GRID, scoring="im", cv=2)
    search.fit(Xs, ys, Xt)
    manual = GridSearchCV(
        DANNClassifier(**TINY),
        GRID,
        scoring=InformationMaximizationScorer(),
        cv=StackedDomainSplit(2, random_state=0),
    ).fit(*stacked)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], manual.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == manual.best_params_
    np.testing.assert_array_equal(search.predict_proba(Xt), manual.predict_proba(Xt))


@pytest.mark.parametrize("pipeline", [False, True])
def test_source_only_is_scored_on_held_out_source_rows(blobs, stacked, pipeline):
    # it does not adapt, so its default scorer is its source risk (not IM)
    Xs, ys, Xt, _ = blobs
    grid = {"lr": [1e-3, 1e-2]}
    model = SourceOnlyClassifier(**TINY)
    if pipeline:
        model = make_pipeline(StandardScaler(), model)
        grid = {"sourceonlyclassifier__lr": grid["lr"]}
    search = DASearchCV(model, grid, cv=2).fit(Xs, ys, Xt)
    manual = GridSearchCV(
        model, grid, scoring=SourceAccuracyScorer(),
        cv=StackedDomainSplit(2, random_state=0),
    ).fit(*stacked)  # fmt: skip
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], manual.cv_results_["mean_test_score"]
    )
    assert np.all(search.cv_results_["mean_test_score"] >= 0.5)  # accuracies


class _Spy:
    """A label-free scorer that records the labels it is handed."""

    def __init__(self):
        self.seen = []

    def __call__(self, estimator, X, y):
        self.seen.append(np.asarray(y))
        return float(estimator.predict_proba(X).max(axis=1).mean())


def test_never_sees_a_target_label(blobs):
    Xs, ys, Xt, yt = blobs
    spy = _Spy()
    DASearchCV(DANNClassifier(**TINY), GRID, scoring=spy, cv=2).fit(Xs, ys, Xt)
    assert len(spy.seen) == 4  # 2 candidates x 2 folds
    for y in spy.seen:
        target = y == -1
        assert target.sum() == len(Xt) // 2  # each fold holds half of the target
        assert set(y[~target]) <= set(ys)  # the rest are source labels


def test_default_grids_per_method_and_pipelines():
    # The adaptation weight only: the IM scorer would reward a larger step.
    assert default_grid(DANNClassifier()) == {"lambda_": [0.1, 0.3, 1.0]}
    assert default_grid(MCCClassifier()) == {"mcc_weight": [0.3, 1.0, 3.0]}
    # every classifier of the package has one, spanning its default weight
    for cls in (CDANClassifier, DeepCORALClassifier):
        ((name, values),) = default_grid(cls()).items()
        default = cls().get_params()[name]
        default = 1.0 if default == "auto" else default  # CORAL's "auto" weight
        assert min(values) < default < max(values)
    assert DeepCORALClassifier()._net_params()["weight"] == 1.0
    # DAN's weight ("auto": 3, from the weight study) tops the same grid
    dan = DeepCORALClassifier(discrepancy="mmd")
    assert default_grid(dan) == {"lambda_": [0.3, 1.0, 3.0]}
    assert dan._net_params()["weight"] == 3.0
    assert set(default_grid(SourceOnlyClassifier())) == {"lr"}
    pipe = make_pipeline(StandardScaler(), DANNClassifier())
    assert set(default_grid(pipe)) == {"dannclassifier__lambda_"}
    with pytest.raises(ValueError, match="No default grid"):
        default_grid(StandardScaler())


def test_default_grid_search_refits_the_best_on_all_rows(blobs):
    Xs, ys, Xt, _ = blobs
    search = DASearchCV(MCCClassifier(**TINY)).fit(Xs, ys, Xt)
    assert len(search.cv_results_["params"]) == 3  # the default grid
    assert search.n_splits_ == 1  # the default scoring: one fit per candidate
    best = search.best_estimator_
    assert best.get_params()["mcc_weight"] == search.best_params_["mcc_weight"]
    np.testing.assert_array_equal(search.predict(Xt), best.predict(Xt))
    np.testing.assert_array_equal(search.classes_, [0, 1, 2])
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict_proba(Xt), search.predict_proba(Xt))


def test_parallel_equals_serial_and_pipeline_stacked_form(stacked):
    X, y = stacked
    pipe = make_pipeline(StandardScaler(), DANNClassifier(**TINY))
    grid = {"dannclassifier__lambda_": [0.0, 1.0]}
    serial = DASearchCV(pipe, grid, scoring="im", cv=2).fit(X, y)
    parallel = DASearchCV(pipe, grid, scoring="im", cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )


def test_default_scoring_is_the_ensemble_for_adaptation_classifiers(blobs):
    # chosen by leave-one-dataset-out over real and synthetic shifts
    Xs, ys, Xt, _ = blobs
    default = DASearchCV(DANNClassifier(**TINY), GRID).fit(Xs, ys, Xt)
    explicit = DASearchCV(DANNClassifier(**TINY), GRID, scoring="ensemble")
    explicit.fit(Xs, ys, Xt)
    np.testing.assert_array_equal(
        default.cv_results_["mean_test_score"], explicit.cv_results_["mean_test_score"]
    )
    assert default.n_splits_ == 1
    # folds the user asked for are not silently dropped: a warning says so
    with pytest.warns(UserWarning, match="cv=2 is not used"):
        DASearchCV(DANNClassifier(**TINY), GRID, cv=2).fit(Xs, ys, Xt)
    with pytest.warns(UserWarning, match="cv=2 is not used"):
        DASearchCV(DANNClassifier(**TINY), GRID, scoring="ensemble", cv=2).fit(
            Xs, ys, Xt
        )


def test_float_class_labels_search_like_integer_ones(blobs):
    # 0.0/1.0 labels (e.g. a float DataFrame column) were stacked as objects
    # with the -1 marker, and scikit-learn called them "unknown" targets.
    Xs, ys, Xt, _ = blobs
    given = ys.astype(np.float64)
    kept = given.copy()
    as_float = DASearchCV(DANNClassifier(**TINY), GRID).fit(Xs, given, Xt)
    as_int = DASearchCV(DANNClassifier(**TINY), GRID).fit(Xs, ys.astype(int), Xt)
    assert as_float.best_params_ == as_int.best_params_
    assert as_float.classes_.dtype.kind == "f"
    np.testing.assert_array_equal(as_float.predict(Xt), as_int.predict(Xt))
    np.testing.assert_array_equal(given, kept)


@pytest.mark.parametrize(
    "names",
    [
        np.array(["cat", "dog", "eel"]),  # strings: the string "-1" marks targets
        np.array(["cat", "dog", "eel"], dtype=object),
        np.array([-1, 1, 5]),  # holds the marker: encoded, then decoded
        np.array(["-1", "1", "5"]),
    ],
    ids=["str", "object", "minus-one", "str-minus-one"],
)
@pytest.mark.parametrize("scoring", [None, "im", "rv"])
def test_any_class_labels_search_like_integer_ones(blobs, names, scoring):
    # String labels failed (int/str comparison) and {-1, 1} labels lost their
    # -1 rows to the target marker ("only one class").
    Xs, ys, Xt, _ = blobs
    codes = ys.astype(int) - ys.min()
    given = names[codes]
    kept = given.copy()
    named = DASearchCV(DANNClassifier(**TINY), GRID, scoring=scoring).fit(Xs, given, Xt)
    coded = DASearchCV(DANNClassifier(**TINY), GRID, scoring=scoring).fit(Xs, codes, Xt)
    assert named.best_params_ == coded.best_params_
    np.testing.assert_array_equal(named.classes_, names[np.unique(codes)])
    np.testing.assert_array_equal(named.predict(Xt), names[coded.predict(Xt)])
    np.testing.assert_array_equal(named.best_estimator_.predict(Xt), named.predict(Xt))
    np.testing.assert_allclose(named.predict_proba(Xt), coded.predict_proba(Xt))
    np.testing.assert_array_equal(given, kept)


def test_bool_labels_search(blobs):
    Xs, ys, Xt, _ = blobs
    binary = ys == ys.min()
    search = DASearchCV(DANNClassifier(**TINY), GRID).fit(Xs, binary, Xt)
    assert search.classes_.dtype == bool
    assert set(search.predict(Xt)) <= {False, True}
    assert search.score(Xs, binary) > 0.8


def test_bad_input(blobs):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(ValueError, match="X_tgt is empty"):
        DASearchCV(DANNClassifier(**TINY)).fit(Xs, ys, Xt[:0])
    with pytest.raises(ValueError, match="Unknown scorer"):
        DASearchCV(DANNClassifier(**TINY), scoring="nope").fit(Xs, ys, Xt)


def test_without_target_rows_selects_by_source_accuracy(blobs):
    from sklearn.model_selection import StratifiedKFold

    Xs, ys, _, _ = blobs
    grid = {"lr": [1e-3, 1e-2]}
    with pytest.warns(UserWarning, match="DASearchCV.fit got no target rows"):
        search = DASearchCV(DANNClassifier(**TINY), grid, cv=2).fit(Xs, ys)
    manual = GridSearchCV(
        DANNClassifier(**TINY),
        grid,
        scoring="accuracy",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(Xs, ys)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], manual.cv_results_["mean_test_score"]
    )
    with pytest.raises(ValueError, match="requires y"):
        DASearchCV(DANNClassifier(**TINY), grid).fit(Xs)


def test_every_classifier_of_the_package_has_a_default_grid():
    import skuda

    names = [n for n in skuda.__all__ if n.endswith(("Classifier", "Regressor"))]
    names.append("SHOTAdapter")
    assert set(names) <= set(DEFAULT_GRIDS), set(names) - set(DEFAULT_GRIDS)


@pytest.mark.parametrize("cls", [CDANClassifier, DeepCORALClassifier])
def test_default_grid_search_of_the_newer_methods(blobs, cls):
    Xs, ys, Xt, _ = blobs
    search = DASearchCV(cls(**TINY)).fit(Xs, ys, Xt)
    assert [p["lambda_"] for p in search.cv_results_["params"]] == (
        DEFAULT_GRIDS[cls.__name__]["lambda_"]
    )
    assert search.best_estimator_.lambda_ == search.best_params_["lambda_"]
    assert search.predict(Xt).shape == (len(Xt),)


# -- scoring="ensemble" (EnsV) ------------------------------------------------------
ENS_GRID = {"lambda_": [0.0, 0.3, 3.0]}


def test_ensemble_selection_equals_its_definition(blobs, stacked):
    Xs, ys, Xt, _ = blobs
    search = DASearchCV(DANNClassifier(**TINY), ENS_GRID, scoring="ensemble")
    search.fit(Xs, ys, Xt)
    # by hand: each candidate fitted on all rows, agreement with the mean proba
    probas = [
        DANNClassifier(**TINY, lambda_=lam).fit(Xs, ys, Xt).predict_proba(Xt)
        for lam in ENS_GRID["lambda_"]
    ]
    consensus = np.mean(probas, axis=0).argmax(axis=1)
    agreement = [np.mean(p.argmax(axis=1) == consensus) for p in probas]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], agreement)
    assert search.best_index_ == int(np.argmax(agreement))
    ranks = search.cv_results_["rank_test_score"]
    assert ranks[search.best_index_] == 1 and sorted(ranks)[-1] <= len(ranks)
    assert list(search.cv_results_["param_lambda_"]) == ENS_GRID["lambda_"]
    np.testing.assert_array_equal(
        search.predict_proba(Xt), probas[search.best_index_]
    )  # the kept candidate is the one fitted on all rows: no refit
    assert search.n_splits_ == 1
    # the stacked form (target rows marked -1, nothing else) chooses alike
    again = DASearchCV(DANNClassifier(**TINY), ENS_GRID, scoring="ensemble")
    again.fit(*stacked)
    np.testing.assert_array_equal(
        again.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(Xt), search.predict(Xt))


def test_ensemble_selection_in_parallel_and_for_a_regressor():
    from skuda import DANNRegressor
    from skuda.datasets import make_shifted_regression

    Xs, ys, Xt, _ = make_shifted_regression(random_state=0)
    grid = {"lambda_": [0.0, 1.0]}
    serial = DASearchCV(DANNRegressor(**TINY), grid, scoring="ensemble")
    serial.fit(Xs, ys, Xt)
    preds = [
        DANNRegressor(**TINY, lambda_=v).fit(Xs, ys, Xt).predict(Xt) for v in (0, 1)
    ]
    mean = np.mean(preds, axis=0)
    expected = [-np.mean((p - mean) ** 2) for p in preds]
    np.testing.assert_allclose(serial.cv_results_["mean_test_score"], expected)
    parallel = DASearchCV(DANNRegressor(**TINY), grid, scoring="ensemble", n_jobs=2)
    parallel.fit(Xs, ys, Xt)
    np.testing.assert_array_equal(parallel.predict(Xt), serial.predict(Xt))


def test_ensemble_selection_survives_a_failing_candidate(blobs):
    Xs, ys, Xt, _ = blobs
    grid = {"lambda_": [0.0, 1.0], "hidden_layer_sizes": [(16,), (0,)]}  # (0,) fails
    search = DASearchCV(DANNClassifier(**TINY), grid, scoring="ensemble")
    with pytest.warns(FitFailedWarning, match="a candidate failed to fit"):
        search.fit(Xs, ys, Xt)
    scores = search.cv_results_["mean_test_score"]
    failed = [p["hidden_layer_sizes"] == (0,) for p in search.cv_results_["params"]]
    assert (
        np.isnan(scores[failed]).all() and np.isfinite(scores[~np.array(failed)]).all()
    )
    assert search.best_params_["hidden_layer_sizes"] == (16,)
    with pytest.raises(ValueError):
        DASearchCV(
            DANNClassifier(**TINY), grid, scoring="ensemble", error_score="raise"
        ).fit(Xs, ys, Xt)


def test_ensemble_is_not_a_scorer_of_one_model():
    from skuda.selection import get_da_scorer

    with pytest.raises(ValueError, match="scoring='ensemble'"):
        get_da_scorer("ensemble")


def test_input_mistakes_are_named_in_both_selection_modes(blobs):
    Xs, ys, Xt, _ = blobs
    bad = Xt.copy()
    bad[3, 1] = np.nan
    before = [a.copy() for a in (Xs, ys, bad)]
    for scoring in (None, "ensemble"):
        search = DASearchCV(DANNClassifier(**TINY), GRID, scoring=scoring, cv=2)
        with pytest.raises(ValueError, match=r"X_tgt has 1 features per sample but X"):
            search.fit(Xs, ys, Xt[:, :1])
    with (
        pytest.warns(FitFailedWarning),
        pytest.raises(ValueError, match="contains NaN"),
    ):
        DASearchCV(DANNClassifier(**TINY), GRID, scoring="ensemble").fit(Xs, ys, bad)
    for a, b in zip(before, (Xs, ys, bad), strict=True):
        np.testing.assert_array_equal(a, b)
