import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skuda import DANNClassifier
from skuda._batching import Batch
from skuda.schedules import grl_lambda

FAST = dict(max_epochs=3, random_state=0)


def test_lambda_changes_the_learned_model(blobs):
    Xs, ys, Xt, _ = blobs
    probas = [
        DANNClassifier(lambda_=lam, **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
        for lam in (0.0, 0.3, 3.0)
    ]
    assert not np.allclose(probas[0], probas[1])
    assert not np.allclose(probas[1], probas[2])


def _domain_grads(clf, xs, ys, xt, coeff):
    """Encoder and discriminator gradients of DANN's domain loss alone."""
    net = clf.net_
    net.adv_weight, net.adv_schedule = coeff, "constant"
    net.module_.train()
    net.module_.zero_grad()
    net.batch_loss(Batch(xs, xs, ys, xt, None), p=1.0)["domain_loss"].backward()
    enc = [p.grad.clone() for p in net.module_.encoder.parameters()]
    disc = [p.grad.clone() for p in net.module_.discriminator.parameters()]
    return enc, disc


def test_domain_gradient_reaches_encoder_reversed_and_scaled(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(dropout=0.0, **FAST).fit(Xs, ys, Xt)
    xs, xt = torch.from_numpy(Xs[:32]), torch.from_numpy(Xt[:32])
    y = torch.from_numpy(ys[:32])
    enc0, disc0 = _domain_grads(clf, xs, y, xt, 0.0)
    enc1, disc1 = _domain_grads(clf, xs, y, xt, 1.0)
    enc3, _ = _domain_grads(clf, xs, y, xt, 3.0)
    assert all(torch.count_nonzero(g) == 0 for g in enc0)  # lambda 0: no signal
    assert all(torch.count_nonzero(g) > 0 for g in disc0)  # the critic still learns
    for a, b in zip(disc0, disc1, strict=True):  # the GRL leaves the critic alone
        torch.testing.assert_close(a, b)
    for g1, g3 in zip(enc1, enc3, strict=True):  # encoder gradient scales with lambda
        torch.testing.assert_close(g3, 3.0 * g1, rtol=1e-4, atol=1e-6)
    # reversed: a step along -grad raises the discriminator's loss
    net = clf.net_
    batch = Batch(xs, xs, y, xt, None)
    before = net.batch_loss(batch, 1.0)["domain_loss"].item()
    with torch.no_grad():
        for p, g in zip(net.module_.encoder.parameters(), enc1, strict=True):
            p -= 1e-2 * g
    after = net.batch_loss(batch, 1.0)["domain_loss"].item()
    assert after > before


def test_schedules_recorded_in_history(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(lambda_=0.5, max_epochs=4, lr=0.01, random_state=0)
    clf.fit(Xs, ys, Xt)
    lambdas = clf.history_[:, "lambda"]
    assert all(np.diff(lambdas) > 0)  # warm-up rises
    n_it = len(clf.history_[-1, "batches"])
    total = 4 * n_it
    last_epoch_p = [(i) / (total - 1) for i in range(3 * n_it, total)]
    expected = np.mean([0.5 * grl_lambda(p) for p in last_epoch_p])
    assert lambdas[-1] == pytest.approx(expected)
    assert clf.history_[-1, "lr"] == pytest.approx(0.01 * 11**-0.75)
    const = DANNClassifier(
        lambda_=0.5, lambda_schedule="constant", lr_schedule="constant", **FAST
    )
    const.fit(Xs, ys, Xt)
    assert const.history_[:, "lambda"] == [0.5] * 3
    assert "lr" not in const.history_[-1]


def test_history_has_loss_terms(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    row = clf.history_[-1]
    for key in ("train_loss", "task_loss", "domain_loss", "domain_acc", "lambda"):
        assert np.isfinite(row[key])
    assert row["train_loss"] == pytest.approx(
        row["task_loss"] + row["domain_loss"], rel=0.05
    )
    assert clf.history_ is clf.net_.history


def test_reproducible_and_seed_dependent(blobs):
    Xs, ys, Xt, _ = blobs
    a = DANNClassifier(dropout=0.3, **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    b = DANNClassifier(dropout=0.3, **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    c = DANNClassifier(dropout=0.3, max_epochs=3, random_state=1)
    c = c.fit(Xs, ys, Xt).predict_proba(Xt)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_leaves_global_rng_state_alone(blobs):
    Xs, ys, Xt, _ = blobs
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the global state)
    DANNClassifier(**FAST).fit(Xs, ys, Xt)
    DANNClassifier(max_epochs=1).fit(Xs, ys, Xt)  # random_state=None too
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state, np.random.get_state()[1])  # noqa: NPY002


def test_stacked_form_equals_three_argument_form(blobs, stacked):
    Xs, ys, Xt, _ = blobs
    X, y = stacked
    a = DANNClassifier(**FAST).fit(X, y).predict_proba(Xt)
    b = DANNClassifier(**FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)


def test_string_labels_and_classes(blobs):
    Xs, ys, Xt, _ = blobs
    names = np.array(["cat", "dog", "eel"])
    clf = DANNClassifier(**FAST).fit(Xs, names[ys], Xt)
    assert list(clf.classes_) == ["cat", "dog", "eel"]
    assert set(clf.predict(Xt)) <= set(names)
    proba = clf.predict_proba(Xt)
    assert proba.shape == (len(Xt), 3) and np.allclose(proba.sum(1), 1)
    assert clf.score(Xt, names[ys]) == accuracy_score(names[ys], clf.predict(Xt))


def test_clone_and_pickle(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(lambda_=0.7, **FAST).fit(Xs, ys, Xt)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "net_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(restored.transform(Xt), clf.transform(Xt))


def test_pipeline_gridsearch_and_cross_val_score(stacked):
    X, y = stacked
    pipe = make_pipeline(StandardScaler(), DANNClassifier(**FAST)).fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    grid = GridSearchCV(DANNClassifier(**FAST), {"lambda_": [0.1, 0.3, 1.0]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["lambda_"] in (0.1, 0.3, 1.0)
    assert len(grid.cv_results_["mean_test_score"]) == 3
    scores = cross_val_score(DANNClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,)


def test_transform_features(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(hidden_layer_sizes=(16, 8), **FAST).fit(Xs, ys, Xt)
    assert clf.transform(Xt).shape == (len(Xt), 8)


def test_custom_feature_extractor_with_3d_input(blobs):
    Xs, ys, Xt, yt = blobs
    to3d = lambda X: np.repeat(X[:, None, :], 3, axis=1)  # noqa: E731
    conv = torch.nn.Sequential(
        torch.nn.Conv1d(3, 4, kernel_size=2), torch.nn.ReLU(), torch.nn.Flatten()
    )
    clf = DANNClassifier(feature_extractor=conv, **FAST).fit(to3d(Xs), ys, to3d(Xt))
    assert clf.input_shape_ == (3, 2) and clf.n_features_in_ == 3
    assert clf.predict(to3d(Xt)).shape == (len(Xt),)
    with pytest.raises(ValueError, match="X has 2 features"):
        clf.predict(np.repeat(Xt[:, None, :], 2, axis=1))
    with pytest.raises(ValueError, match=r"shape \(3, 5\).*shape \(3, 2\)"):
        clf.predict(np.zeros((4, 3, 5), np.float32))


def test_warm_start_continues_training(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(warm_start=True, **FAST).fit(Xs, ys, Xt)
    weights = clf.net_.module_.head[0].weight.detach().clone()
    clf.fit(Xs, ys, Xt)
    assert len(clf.history_) == 6
    assert not torch.equal(weights, clf.net_.module_.head[0].weight)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(Xs, ys % 2, Xt)


def test_user_callbacks_are_called_and_not_mutated(blobs):
    Xs, ys, Xt, _ = blobs

    class CountEpochs(Callback):
        def initialize(self):
            self.n = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.n += 1

    cb = CountEpochs()
    clf = DANNClassifier(callbacks=[cb], **FAST).fit(Xs, ys, Xt)
    counters = [c for _, c in clf.net_.callbacks_ if isinstance(c, CountEpochs)]
    assert len(counters) == 1 and counters[0].n == 3
    assert not hasattr(cb, "n")


def test_verbose_prints_epoch_table(blobs, capsys):
    Xs, ys, Xt, _ = blobs
    DANNClassifier(verbose=1, **FAST).fit(Xs, ys, Xt)
    out = capsys.readouterr().out
    assert "domain_loss" in out and "train_loss" in out


def test_input_scaling_modes(blobs):
    Xs, ys, Xt, _ = blobs
    pooled = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    np.testing.assert_allclose(
        pooled.input_mean_, np.vstack([Xs, Xt]).mean(0), rtol=1e-5
    )
    domain = DANNClassifier(input_scaling="domain", **FAST).fit(Xs, ys, Xt)
    np.testing.assert_allclose(domain.input_mean_, Xt.mean(0), rtol=1e-5)
    raw = DANNClassifier(input_scaling=None, **FAST).fit(Xs, ys, Xt)
    assert raw.input_mean_ is None
    # a StandardScaler in front changes nothing for pooled scaling
    shifted = DANNClassifier(**FAST).fit(Xs * 10 + 5, ys, Xt * 10 + 5)
    np.testing.assert_allclose(
        shifted.predict_proba(Xt * 10 + 5), pooled.predict_proba(Xt), atol=1e-4
    )
