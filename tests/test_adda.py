"""Tests of ADDAClassifier (Tzeng et al., CVPR 2017)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skuda import CollapseWarning, SourceOnlyClassifier
from skuda.adda import ADDAClassifier, _ADDANet
from skuda.datasets import load_domain, make_shifted_blobs

FAST = dict(source_epochs=5, max_epochs=3, batch_size=32, device="cpu")


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class _Snapshot(Callback):
    """Records the adaptation net's networks when its training begins."""

    def on_train_begin(self, net, **kwargs):
        if isinstance(net, _ADDANet):
            m = net.module_
            self.encoder = _state(m.encoder)
            self.head = _state(m.head)
            self.target = _state(m.target_encoder)


# -- the two phases --------------------------------------------------------------
def test_target_encoder_starts_as_copy_and_source_model_stays_frozen(blobs):
    Xs, ys, Xt, _ = blobs
    snap = _Snapshot()
    clf = ADDAClassifier(callbacks=[snap], random_state=0, **FAST).fit(Xs, ys, Xt)
    snap = dict(clf.net_.callbacks_)["_Snapshot"]
    assert _same(snap.target, snap.encoder)  # exact copy at the start
    assert clf.target_encoder_ is not clf.source_encoder_  # untied weights
    # Parameters and BN buffers of the frozen parts are bit-identical after.
    assert _same(snap.encoder, _state(clf.source_encoder_))
    assert _same(snap.head, _state(clf.classifier_))
    assert not _same(snap.target, _state(clf.target_encoder_))  # it adapted
    assert not any(p.requires_grad for p in clf.source_encoder_.parameters())
    assert not any(p.requires_grad for p in clf.classifier_.parameters())


def test_two_optimizers_cover_target_encoder_and_discriminator(blobs):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(random_state=0, **FAST).fit(Xs, ys, Xt)
    net = clf.net_
    enc = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    disc = {
        id(p) for g in net.discriminator_optimizer_.param_groups for p in g["params"]
    }
    assert enc == {id(p) for p in clf.target_encoder_.parameters()}
    assert disc == {id(p) for p in clf.discriminator_.parameters()}
    assert net.optimizer_.param_groups[0]["betas"] == (0.5, 0.999)
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_discriminator_is_paper_mlp(blobs):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(random_state=0, **FAST).fit(Xs, ys, Xt)
    linears = [m for m in clf.discriminator_ if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [500, 500, 1]


def test_history_of_both_phases(blobs):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(random_state=0, **FAST).fit(Xs, ys, Xt)
    assert len(clf.history_) == 3 and len(clf.source_history_) == 5
    for key in ("discriminator_loss", "discriminator_acc", "encoder_loss"):
        values = clf.history_[:, key]
        assert len(values) == 3 and all(np.isfinite(values))
    assert all(0 <= a <= 1 for a in clf.history_[:, "discriminator_acc"])
    assert "task_loss" in clf.source_history_[-1]


def test_prediction_and_transform_use_target_encoder(blobs):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(input_scaling=None, random_state=0, **FAST)
    clf.fit(Xs, ys, Xt)
    with torch.inference_mode():
        x = torch.from_numpy(Xt)
        feats = clf.target_encoder_(x)
        logits = clf.classifier_(feats)
    np.testing.assert_allclose(clf.transform(Xt), feats.numpy(), rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(Xt), logits.argmax(1).numpy())
    src_feats = clf.source_encoder_(x).detach().numpy()
    assert not np.allclose(clf.transform(Xt), src_feats)


def test_zero_adaptation_epochs_equals_source_model(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(source_model, max_epochs=0, device="cpu").fit(Xs, ys, Xt)
    assert _same(_state(clf.target_encoder_), _state(clf.source_encoder_))
    np.testing.assert_array_equal(clf.predict(Xt), source_model.predict(Xt))
    assert len(clf.history_) == 0


def test_fitted_attributes_only_after_fit(blobs):
    clf = ADDAClassifier(**FAST)
    for name in ("source_encoder_", "target_encoder_", "classifier_", "discriminator_"):
        assert not hasattr(clf, name)
    with pytest.raises(NotFittedError):
        clf.predict(blobs[2])
    with pytest.raises(NotFittedError):
        clf.predict_proba(blobs[2])
    with pytest.raises(NotFittedError):
        clf.transform(blobs[2])


# -- adaptation helps ------------------------------------------------------------
def test_adda_beats_source_only_on_shifted_blobs():
    gains = []
    for seed in range(3):
        Xs, ys, Xt, yt = make_shifted_blobs(n_samples=200, random_state=seed)
        src = SourceOnlyClassifier(
            max_epochs=30, batch_norm=True, random_state=seed, device="cpu"
        )
        src.fit(Xs, ys)
        adda = ADDAClassifier(
            src, max_epochs=30, adapt_lr=2e-4, random_state=seed, device="cpu"
        )
        gains.append(adda.fit(Xs, ys, Xt).score(Xt, yt) - src.score(Xt, yt))
    # Measured: +0.17, +0.30, +0.32 (source-only reaches 0.45-0.53).
    assert np.mean(gains) > 0.1 and min(gains) > 0, gains


def test_pretraining_is_the_source_only_network(blobs):
    Xs, ys, Xt, _ = blobs
    src = SourceOnlyClassifier(
        max_epochs=5,
        batch_size=32,
        batch_norm=True,
        min_iterations_per_epoch=20,  # ADDA's default, in both of its phases
        random_state=4,
    )
    src.fit(Xs, ys, Xt)
    adda = ADDAClassifier(random_state=4, **FAST).fit(Xs, ys, Xt)
    assert _same(_state(adda.source_encoder_), _state(src.net_.module_.encoder))
    assert _same(_state(adda.classifier_), _state(src.net_.module_.head))


# -- source_estimator --------------------------------------------------------------
def test_source_estimator_is_copied_not_modified(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    before = _state(source_model.net_.module_)
    pred_before = source_model.predict(Xt)
    clf = ADDAClassifier(source_model, max_epochs=3, random_state=0, device="cpu")
    clf.fit(Xs, ys, Xt)
    assert _same(before, _state(source_model.net_.module_))
    np.testing.assert_array_equal(source_model.predict(Xt), pred_before)
    assert clf.source_encoder_ is not source_model.net_.module_.encoder
    assert _same(_state(clf.source_encoder_), _state(source_model.net_.module_.encoder))
    assert len(clf.source_history_) == len(source_model.history_)


def test_source_estimator_stacked_form(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(len(Xt), dtype=int)]
    frozen = FrozenEstimator(source_model)
    a = ADDAClassifier(frozen, max_epochs=2, random_state=0, device="cpu")
    b = clone(a)  # FrozenEstimator survives clone() fitted
    np.testing.assert_array_equal(
        a.fit(X, y).predict(Xt), b.fit(Xs, ys, Xt).predict(Xt)
    )


def test_bad_source_estimators(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(NotFittedError, match="source_estimator is not fitted"):
        ADDAClassifier(SourceOnlyClassifier(), device="cpu").fit(Xs, ys, Xt)
    # clone() follows scikit-learn: a plain estimator parameter is cloned
    # unfitted, and the error says to wrap it in FrozenEstimator.
    cloned = clone(ADDAClassifier(source_model, max_epochs=1, device="cpu"))
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        cloned.fit(Xs, ys, Xt)
    lr = LogisticRegression().fit(Xs, ys)
    with pytest.raises(TypeError, match="source_estimator"):
        ADDAClassifier(lr, device="cpu").fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="shape"):
        ADDAClassifier(source_model, device="cpu").fit(Xs[:, :1], ys, Xt[:, :1])
    with pytest.raises(ValueError, match="classes"):
        ADDAClassifier(source_model, device="cpu").fit(Xs, ys + 1, Xt)
    with pytest.raises(ValueError, match="adapt_betas"):
        ADDAClassifier(source_model, adapt_betas=(0.5,), device="cpu").fit(Xs, ys, Xt)


def test_source_model_as_module_pair(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    module = source_model.net_.module_
    pair = (module.encoder, module.head)
    a = ADDAClassifier(pair, max_epochs=2, random_state=0, device="cpu")
    a.fit(Xs, ys, Xt)
    b = ADDAClassifier(source_model, max_epochs=2, random_state=0, device="cpu")
    b.fit(Xs, ys, Xt)
    # The same modules, so the same result; only the scaling differs (a pair
    # carries no statistics), hence compare with unscaled inputs.
    assert a.source_history_ is None and a.input_mean_ is None
    assert _same(_state(a.source_encoder_), _state(module.encoder))
    with pytest.raises(ValueError, match="classes"):
        ADDAClassifier(pair, device="cpu").fit(Xs, ys % 2, Xt)


# -- collapse ----------------------------------------------------------------------
def test_collapse_warning(blobs, source_model):
    Xs, ys, _, _ = blobs
    # A target domain of one repeated row is predicted as a single class: the
    # obvious form of collapse.
    Xt = np.repeat(Xs[:1] + 5.0, 50, axis=0)
    clf = ADDAClassifier(source_model, max_epochs=1, random_state=0, device="cpu")
    with pytest.warns(UserWarning, match="collapsed"):
        clf.fit(Xs, ys, Xt)


class _Collapse(Callback):
    """Zeroes the target encoder after every adaptation epoch: a forced collapse.

    With all its weights zero the encoder maps every row to the same features,
    so every target row gets the same class.
    """

    def on_epoch_end(self, net, **kwargs):
        if isinstance(net, _ADDANet):
            with torch.no_grad():
                for param in net.module_.target_encoder.parameters():
                    param.zero_()


def test_collapse_guard_restores_source_encoder(blobs):
    Xs, ys, Xt, _ = blobs
    source_model = SourceOnlyClassifier(max_epochs=20, random_state=0, device="cpu")
    source_model.fit(Xs, ys, Xt)
    assert len(np.unique(source_model.predict(Xt))) == 3  # a non-degenerate source
    clf = ADDAClassifier(
        source_model, max_epochs=2, random_state=0, device="cpu",
        collapse_guard=0.9, callbacks=[("collapse", _Collapse())],
    )  # fmt: skip
    with pytest.warns(CollapseWarning, match="source encoder was restored"):
        clf.fit(Xs, ys, Xt)
    assert clf.collapse_restored_ and clf.collapse_ratio_ < 0.9  # the ratio rule
    assert _same(_state(clf.target_encoder_), _state(clf.source_encoder_))
    np.testing.assert_array_equal(clf.predict(Xt), source_model.predict(Xt))
    # Switched off, the collapsed encoder is kept (and the old warning says so).
    off = copy.deepcopy(clf).set_params(collapse_guard=None)
    with pytest.warns(CollapseWarning, match="every target row"):
        off.fit(Xs, ys, Xt)
    assert not off.collapse_restored_ and len(np.unique(off.predict(Xt))) == 1
    # collapse_guard=0: the ratio rule never fires, the one-class rule does.
    zero = copy.deepcopy(clf).set_params(collapse_guard=0.0)
    with pytest.warns(CollapseWarning, match="source encoder was restored"):
        zero.fit(Xs, ys, Xt)
    assert zero.collapse_restored_


def test_collapse_guard_quiet_on_normal_fit(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(source_model, max_epochs=2, random_state=0, device="cpu")
    clf.fit(Xs, ys, Xt)
    assert not clf.collapse_restored_ and clf.collapse_ratio_ > 0.5
    assert not _same(_state(clf.target_encoder_), _state(clf.source_encoder_))


def test_no_collapse_warning_on_normal_fit(blobs):
    Xs, ys, Xt, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ADDAClassifier(random_state=0, **FAST).fit(Xs, ys, Xt)


# -- scikit-learn behaviour ------------------------------------------------------
def test_reproducible_and_global_rng_untouched(blobs):
    Xs, ys, Xt, _ = blobs
    state = torch.get_rng_state()
    a = ADDAClassifier(random_state=3, **FAST).fit(Xs, ys, Xt)
    assert torch.equal(state, torch.get_rng_state())
    b = ADDAClassifier(random_state=3, **FAST).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))


def test_clone_and_pickle_round_trip(blobs):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(random_state=0, **FAST)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "net_")
    clf.fit(Xs, ys, Xt)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(restored.transform(Xt), clf.transform(Xt))


def test_pipeline_and_grid_search_on_stacked_form(blobs):
    Xs, ys, Xt, yt = blobs
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(len(Xt), dtype=int)]
    pipe = make_pipeline(StandardScaler(), ADDAClassifier(random_state=0, **FAST))
    assert pipe.fit(X, y).predict(Xt).shape == yt.shape
    grid = GridSearchCV(
        ADDAClassifier(random_state=0, **FAST),
        {"adapt_lr": [1e-4, 1e-3]},
        cv=2,
    )
    grid.fit(Xs, ys)  # source rows only: plain accuracy on held-out source rows
    assert grid.best_params_["adapt_lr"] in (1e-4, 1e-3)


def test_warm_start_continues_adaptation_only(blobs):
    Xs, ys, Xt, _ = blobs
    clf = ADDAClassifier(warm_start=True, random_state=0, **FAST).fit(Xs, ys, Xt)
    source = _state(clf.source_encoder_)
    clf.fit(Xs, ys, Xt)
    assert len(clf.history_) == 6 and len(clf.source_history_) == 5
    assert _same(source, _state(clf.source_encoder_))


def test_stacked_form_without_target_rows_warns_and_skips_adaptation(blobs):
    Xs, ys, Xt, _ = blobs
    with pytest.warns(UserWarning, match="no target rows"):
        clf = ADDAClassifier(random_state=0, **FAST).fit(Xs, ys)
    assert _same(_state(clf.target_encoder_), _state(clf.source_encoder_))


def test_input_arrays_not_modified(blobs):
    Xs, ys, Xt, _ = blobs
    copies = [a.copy() for a in (Xs, ys, Xt)]
    ADDAClassifier(random_state=0, **FAST).fit(Xs, ys, Xt)
    for a, b in zip((Xs, ys, Xt), copies, strict=True):
        np.testing.assert_array_equal(a, b)


# -- real data ---------------------------------------------------------------------
@pytest.mark.slow
def test_adda_on_office_caltech_beats_source_only(data_dir):
    Xs, ys = load_domain("office_caltech", "caltech", data_dir=data_dir)
    Xt, yt = load_domain("office_caltech", "webcam", data_dir=data_dir)
    src = SourceOnlyClassifier(batch_norm=True, random_state=0, device="cpu")
    src.fit(Xs, ys, Xt)
    adda = ADDAClassifier(copy.deepcopy(src), random_state=0, device="cpu")
    assert adda.fit(Xs, ys, Xt).score(Xt, yt) > src.score(Xt, yt)
