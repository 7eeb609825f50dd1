"""Bad input gives a clear error naming the problem, and nothing is mutated."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skuda import DANNClassifier, SourceOnlyClassifier, TrainingDivergedError

FAST = dict(max_epochs=1, random_state=0)


@pytest.fixture
def xy(blobs):
    Xs, ys, Xt, _ = blobs
    return Xs.copy(), ys.copy(), Xt.copy()


@pytest.mark.parametrize("where", ["X_src", "X_tgt"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf_rejected(xy, where, bad):
    Xs, ys, Xt = xy
    (Xs if where == "X_src" else Xt)[3, 1] = bad
    with pytest.raises(ValueError, match=f"{where} contains (NaN|infinity)"):
        DANNClassifier(**FAST).fit(Xs, ys, Xt)


def test_nan_in_predict_rejected(xy):
    Xs, ys, Xt = xy
    clf = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    Xt[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        clf.predict(Xt)


def test_feature_mismatch_between_domains(xy):
    Xs, ys, Xt = xy
    with pytest.raises(ValueError, match="X_tgt has 3 features .* X_src has 2"):
        DANNClassifier(**FAST).fit(Xs, ys, np.hstack([Xt, Xt[:, :1]]))


def test_label_count_mismatch(xy):
    Xs, ys, Xt = xy
    with pytest.raises(
        ValueError, match="y_src has 119 labels but there are 120 source rows"
    ):
        DANNClassifier(**FAST).fit(Xs, ys[:-1], Xt)


def test_empty_target(xy):
    Xs, ys, Xt = xy
    with pytest.raises(ValueError, match="X_tgt is empty"):
        DANNClassifier(**FAST).fit(Xs, ys, Xt[:0])


def test_single_source_class(xy):
    Xs, ys, Xt = xy
    with pytest.raises(ValueError, match="only one class"):
        DANNClassifier(**FAST).fit(Xs, np.zeros_like(ys), Xt)


@pytest.mark.parametrize("shape", [(120,), (120, 2, 3)])
def test_wrong_rank_for_mlp(xy, shape):
    Xs, ys, Xt = xy
    bad = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match="2D|2-D|dim"):
        DANNClassifier(**FAST).fit(bad, ys, Xt)


def test_string_features_rejected(xy):
    Xs, ys, Xt = xy
    with pytest.raises(TypeError, match="X_src has dtype <U"):
        DANNClassifier(**FAST).fit(Xs.astype(str), ys, Xt)
    obj = Xs.astype(object)
    obj[0, 0] = "abc"
    with pytest.raises(ValueError, match="could not convert"):
        DANNClassifier(**FAST).fit(obj, ys, Xt)


def test_stacked_without_target_rows_warns_and_trains_source_only(xy):
    Xs, ys, _ = xy
    with pytest.warns(UserWarning, match="no target rows"):
        clf = DANNClassifier(**FAST).fit(Xs, ys)
    assert "domain_loss" not in clf.history_[-1]


def test_stacked_without_labelled_rows(xy):
    Xs, _, _ = xy
    with pytest.raises(ValueError, match="no labelled source data"):
        DANNClassifier(**FAST).fit(Xs, np.full(len(Xs), -1))


def test_source_only_needs_no_target_and_no_warning(xy):
    import warnings

    Xs, ys, _ = xy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SourceOnlyClassifier(**FAST).fit(Xs, ys)


def test_predict_feature_count_and_not_fitted(xy):
    Xs, ys, Xt = xy
    with pytest.raises(NotFittedError):
        DANNClassifier().predict(Xt)
    clf = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    with pytest.raises(
        ValueError, match="X has 3 features, but DANNClassifier is expecting 2"
    ):
        clf.predict(np.hstack([Xt, Xt[:, :1]]))


def test_invalid_parameters():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="lambda_"):
        DANNClassifier(lambda_=-1).fit(X, y, X)
    with pytest.raises(ValueError, match="optimizer"):
        DANNClassifier(optimizer="rmsprop").fit(X, y, X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        DANNClassifier(hidden_layer_sizes=(0,)).fit(X, y, X)
    with pytest.raises(ValueError, match="device"):
        DANNClassifier(device="nonsense").fit(X, y, X)


def test_divergence_raises(xy):
    Xs, ys, Xt = xy
    clf = DANNClassifier(lr=1e30, optimizer="sgd", input_scaling=None, **FAST)
    with pytest.raises(TrainingDivergedError, match="Training diverged"):
        clf.fit(Xs * 1e30, ys, Xt * 1e30)
    assert not hasattr(clf, "net_")  # no silently broken model left behind


def test_inputs_not_modified(xy):
    import pandas as pd

    Xs, ys, Xt = xy
    copies = [a.copy() for a in (Xs, ys, Xt)]
    df = pd.DataFrame(Xs, columns=["a", "b"])
    df_copy = df.copy()
    module = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU())
    state = {k: v.clone() for k, v in module.state_dict().items()}
    clf = DANNClassifier(feature_extractor=module, input_scaling="domain", **FAST)
    clf.fit(df, ys, Xt)
    clf.predict(Xt)
    for a, b in zip((Xs, ys, Xt), copies, strict=False):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(df, df_copy)
    assert all(torch.equal(state[k], module.state_dict()[k]) for k in state)
    assert clf.net_.module_.encoder is not module
