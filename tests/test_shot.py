"""Tests of SHOTAdapter and its loss / pseudo-label functions."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.datasets import find_data_dir, load_domain, make_shifted_blobs
from skuda.shot import SHOTAdapter

FAST = dict(source_epochs=5, max_epochs=3, batch_size=32)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# -- the estimator -----------------------------------------------------------------


def test_shot_freezes_head_and_leaves_source_model_alone(blobs, source_model):
    _, _, Xt, _ = blobs
    before = copy.deepcopy(source_model.net_.module_.state_dict())
    proba_before = source_model.predict_proba(Xt)
    shot = SHOTAdapter(source_estimator=source_model, max_epochs=2, random_state=0)
    shot.fit(Xt)
    after = shot.net_.module_.state_dict()
    heads = [k for k in before if k.startswith("head.")]
    encoder = [k for k in before if k.startswith("encoder.")]
    assert heads and encoder
    assert all(torch.equal(before[k], after[k]) for k in heads)  # bit-identical
    assert not all(torch.equal(before[k], after[k]) for k in encoder)  # it adapted
    untouched = source_model.net_.module_.state_dict()  # input not mutated
    assert all(torch.equal(before[k], untouched[k]) for k in before)
    np.testing.assert_array_equal(source_model.predict_proba(Xt), proba_before)
    # a copy of the source model's training history, not the object itself
    assert len(shot.source_history_) == len(source_model.history_)
    assert shot.source_history_ is not source_model.history_
    np.testing.assert_array_equal(shot.classes_, source_model.classes_)


def test_full_fit_keeps_source_hypothesis_bit_identical(blobs):
    Xs, ys, Xt, _ = blobs
    params = dict(FAST, random_state=3, input_scaling="domain")  # same source input
    with pytest.warns(UserWarning, match="no target rows"):
        source = SHOTAdapter(**params).fit(Xs, ys)
    adapted = SHOTAdapter(**params).fit(Xs, ys, Xt)
    # Same seed, same source phase: the adapted head is the source head exactly.
    src, out = _state(source.net_.module_), _state(adapted.net_.module_)
    assert set(src) == set(out)
    assert all(k.startswith(("encoder.", "head.")) for k in out)
    assert all(torch.equal(src[k], out[k]) for k in src if k.startswith("head."))
    assert not all(torch.equal(src[k], out[k]) for k in src if k.startswith("encoder."))
    assert not any(p.requires_grad for p in adapted.net_.module_.head.parameters())
    assert len(adapted.source_history_) == FAST["source_epochs"]
    assert len(adapted.history_) == FAST["max_epochs"]


def test_source_free_path_takes_target_rows_only(blobs, source_model):
    _, _, Xt, _ = blobs
    a = SHOTAdapter(source_model, max_epochs=2, random_state=0).fit(Xt)
    b = SHOTAdapter(source_model, max_epochs=2, random_state=0).fit(
        Xt, np.full(len(Xt), -1)
    )
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    assert a.n_features_in_ == Xt.shape[1]


def test_source_free_from_dann_estimator(blobs):
    Xs, ys, Xt, _ = blobs
    dann = DANNClassifier(max_epochs=2, random_state=0).fit(Xs, ys, Xt)
    shot = SHOTAdapter(dann, max_epochs=2, random_state=0).fit(Xt)
    assert "discriminator" not in dict(shot.net_.module_.named_children())
    assert shot.predict(Xt).shape == (len(Xt),)


def test_source_free_input_scaling(blobs):
    Xs, ys, Xt, _ = blobs
    src = SourceOnlyClassifier(max_epochs=2, random_state=0).fit(Xs, ys)
    # no source rows to pool with: the target is scaled by its own statistics
    own = SHOTAdapter(src, max_epochs=1, random_state=0).fit(Xt)
    np.testing.assert_allclose(own.input_mean_, Xt.mean(0), atol=1e-5)
    # a source model trained on raw inputs gets raw target rows
    raw = SourceOnlyClassifier(max_epochs=2, input_scaling=None, random_state=0)
    raw.fit(Xs, ys)
    assert SHOTAdapter(raw, max_epochs=1, random_state=0).fit(Xt).input_mean_ is None
    forced = SHOTAdapter(raw, max_epochs=1, input_scaling="domain", random_state=0)
    np.testing.assert_allclose(forced.fit(Xt).input_mean_, Xt.mean(0), atol=1e-5)


def test_source_free_from_module_pair(blobs):
    Xs, ys, Xt, _ = blobs
    encoder, head = nn.Sequential(nn.Linear(2, 16), nn.ReLU()), nn.Linear(16, 3)
    enc_before, head_before = _state(encoder), _state(head)
    shot = SHOTAdapter((encoder, head), max_epochs=2, random_state=0).fit(Xt)
    np.testing.assert_array_equal(shot.classes_, [0, 1, 2])
    assert all(torch.equal(enc_before[k], encoder.state_dict()[k]) for k in enc_before)
    assert all(torch.equal(head_before[k], head.state_dict()[k]) for k in head_before)
    assert all(
        torch.equal(head_before[k], shot.net_.module_.head.state_dict()[k])
        for k in head_before
    )
    named = SHOTAdapter(
        (encoder, head), classes=["a", "b", "c"], max_epochs=1, random_state=0
    ).fit(Xt)
    assert set(named.predict(Xt)) <= {"a", "b", "c"}


def test_history_records_im_parts_and_pseudo_label_change(blobs):
    Xs, ys, Xt, _ = blobs
    shot = SHOTAdapter(**{**FAST, "max_epochs": 4}, random_state=0).fit(Xs, ys, Xt)
    h = shot.history_
    for key in ("im_loss", "entropy", "diversity", "pseudo_label_loss"):
        assert np.all(np.isfinite(h[:, key]))
    np.testing.assert_allclose(
        h[:, "im_loss"], np.subtract(h[:, "entropy"], h[:, "diversity"]), rtol=1e-5
    )
    changed = h[:, "pseudo_label_changed"]
    assert np.isnan(changed[0]) and all(0 <= c <= 1 for c in changed[1:])
    im = SHOTAdapter(**FAST, cls_par=0.0, random_state=0).fit(Xs, ys, Xt).history_
    assert "pseudo_label_loss" not in im[-1] and "entropy" in im[-1]


def test_pseudo_label_interval_refreshes_less_often(blobs):
    Xs, ys, Xt, _ = blobs
    params = {**FAST, "max_epochs": 4, "pseudo_label_interval": 2}
    h = SHOTAdapter(**params, random_state=0).fit(Xs, ys, Xt).history_
    changed = h[:, "pseudo_label_changed"]
    assert np.isnan(changed[1])  # still the first refresh's value
    assert not np.isnan(changed[2])


def test_same_seed_is_bit_identical_and_global_rng_untouched(blobs):
    Xs, ys, Xt, _ = blobs
    state = torch.get_rng_state()
    a = SHOTAdapter(**FAST, random_state=7).fit(Xs, ys, Xt)
    assert torch.equal(torch.get_rng_state(), state)
    b = SHOTAdapter(**FAST, random_state=7).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))


def test_warm_start_continues_adaptation(blobs):
    Xs, ys, Xt, _ = blobs
    shot = SHOTAdapter(**FAST, warm_start=True, random_state=0).fit(Xs, ys, Xt)
    head = _state(shot.net_.module_.head)
    shot.fit(Xs, ys, Xt)
    assert len(shot.history_) == 2 * FAST["max_epochs"]
    assert all(
        torch.equal(v, shot.net_.module_.head.state_dict()[k]) for k, v in head.items()
    )


def test_shot_beats_source_only_on_blobs():
    # Source-free SHOT standardises the target rows by their own statistics, which
    # alone removes much of this shift. The fair baseline is therefore the same
    # source network applied with that scaling (input_scaling="domain"), so the
    # gain measured is the adaptation's own.
    gains = []
    for seed in range(3):
        Xs, ys, Xt, yt = make_shifted_blobs(n_samples=150, random_state=seed)
        src = SourceOnlyClassifier(max_epochs=15, random_state=seed).fit(Xs, ys)
        rescaled = SourceOnlyClassifier(
            max_epochs=15, random_state=seed, input_scaling="domain"
        ).fit(Xs, ys, Xt)
        shot = SHOTAdapter(src, max_epochs=15, adapt_lr=1e-3, random_state=seed)
        shot.fit(Xt)
        gains.append(shot.score(Xt, yt) - rescaled.score(Xt, yt))
    # Measured: +0.027, +0.007, +0.013 (the raw source model is 0.24-0.33 lower).
    assert np.mean(gains) > 0.005 and min(gains) > 0, gains


# -- scikit-learn API --------------------------------------------------------------


def test_clone_and_pickle_round_trip(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    frozen = FrozenEstimator(source_model)
    shot = SHOTAdapter(frozen, max_epochs=2, random_state=0)
    cloned = clone(shot)
    # FrozenEstimator is scikit-learn's way to keep a fitted model through clone.
    assert cloned.source_estimator is frozen and cloned is not shot
    assert not hasattr(cloned, "net_")
    shot.fit(Xt)
    restored = pickle.loads(pickle.dumps(shot))
    np.testing.assert_array_equal(restored.predict_proba(Xt), shot.predict_proba(Xt))
    full = SHOTAdapter(**FAST, random_state=0).fit(Xs, ys, Xt)
    restored = pickle.loads(pickle.dumps(full))
    np.testing.assert_array_equal(restored.predict(Xt), full.predict(Xt))


def test_pipeline_stacked_form_and_grid_search(blobs):
    Xs, ys, Xt, _ = blobs
    X, y = np.vstack([Xs, Xt]), np.r_[ys, np.full(len(Xt), -1)]
    pipe = make_pipeline(StandardScaler(), SHOTAdapter(**FAST, random_state=0))
    pipe.fit(X, y)
    assert pipe.predict(Xt).shape == (len(Xt),)
    grid = GridSearchCV(
        SHOTAdapter(**FAST, random_state=0), {"cls_par": [0.0, 0.3]}, cv=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # folds without -1 rows
        grid.fit(X, y)
    assert grid.best_params_["cls_par"] in (0.0, 0.3)


def test_source_free_in_a_pipeline(blobs):
    Xs, ys, Xt, _ = blobs
    # Per-domain standardisation: the source model sees source-scaled rows,
    # the adapter target-scaled rows.
    src = SourceOnlyClassifier(max_epochs=5, random_state=0)
    src.fit(StandardScaler().fit_transform(Xs), ys)
    pipe = make_pipeline(
        StandardScaler(), SHOTAdapter(src, max_epochs=2, random_state=0)
    )
    pipe.fit(Xt)  # y None: target rows only
    assert pipe.predict(Xt).shape == (len(Xt),)
    pipe.fit(Xt, np.full(len(Xt), -1))


def test_source_free_grid_search_with_unsupervised_score(blobs, source_model):
    _, _, Xt, _ = blobs

    def confidence(estimator, X, y=None):
        return estimator.predict_proba(X).max(axis=1).mean()

    def grid(source):
        return GridSearchCV(
            SHOTAdapter(source, max_epochs=2, random_state=0),
            {"cls_par": [0.0, 0.3]},
            scoring=confidence,
            cv=2,
        )

    fitted = grid(FrozenEstimator(source_model)).fit(Xt)
    assert fitted.best_estimator_.predict(Xt).shape == (len(Xt),)
    # A bare fitted estimator is cloned unfitted; the error says what to do.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GridSearchCV's per-fit failure warnings
        with pytest.raises(ValueError, match="FrozenEstimator"):
            grid(source_model).fit(Xt)


# -- bad input ---------------------------------------------------------------------


def test_unfitted_source_estimator_is_rejected(blobs):
    _, _, Xt, _ = blobs
    with pytest.raises(NotFittedError):
        SHOTAdapter(SourceOnlyClassifier()).fit(Xt)


@pytest.mark.parametrize(
    "source", ["model.pt", (nn.Linear(2, 3),), (nn.Linear(2, 3), "head")]
)
def test_wrong_source_type_is_rejected(blobs, source):
    _, _, Xt, _ = blobs
    with pytest.raises((TypeError, ValueError), match="source_estimator"):
        SHOTAdapter(source).fit(Xt)


def test_feature_mismatch_with_source_model(blobs, source_model):
    _, _, Xt, _ = blobs
    with pytest.raises(ValueError, match="fitted on shape"):
        SHOTAdapter(source_model).fit(np.c_[Xt, Xt])
    pair = (nn.Linear(2, 4), nn.Linear(4, 3))
    with pytest.raises(ValueError, match="source_estimator.s feature extractor failed"):
        SHOTAdapter(pair).fit(np.c_[Xt, Xt])


def test_source_free_rejects_labels_and_misplaced_arguments(blobs, source_model):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(ValueError, match="y must be None or all -1"):
        SHOTAdapter(source_model).fit(Xs, ys)
    with pytest.raises(ValueError, match="X_tgt must be None"):
        SHOTAdapter(source_model).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="classes is only"):
        SHOTAdapter(source_model, classes=[0, 1, 2]).fit(Xt)
    pair = (nn.Linear(2, 4), nn.Linear(4, 3))
    with pytest.raises(ValueError, match="3 outputs"):
        SHOTAdapter(pair, classes=[0, 1]).fit(Xt)


def test_invalid_parameters_are_rejected(blobs):
    Xs, ys, Xt, _ = blobs
    for bad in (dict(cls_par=-1.0), dict(pseudo_label_interval=0), dict(adapt_lr=0)):
        with pytest.raises(ValueError):
            SHOTAdapter(**FAST, **bad).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="empty"):
        SHOTAdapter(**FAST).fit(Xs, ys, Xt[:0])


# -- real data ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(find_data_dir() is None, reason="benchmark data not available")
def test_shot_improves_its_source_model_on_mnist_to_usps():
    Xs, ys = load_domain("mnist_usps", "mnist")
    Xt, yt = load_domain("mnist_usps", "usps")
    with pytest.warns(UserWarning):
        source = SHOTAdapter(source_epochs=30, random_state=0).fit(Xs, ys)
    shot = SHOTAdapter(source, random_state=0).fit(Xt)
    assert shot.score(Xt, yt) > source.score(Xt, yt) + 0.02


def test_prior_diversity_helps_under_a_pure_label_shift():
    # Same distribution per class, but 80 % of the target in class 0: the
    # paper's uniform diversity pushes predictions towards balance, the
    # estimated proportions do not (measured +7.2 / +2.4 / +4.8 points).
    for seed in (0, 1):
        Xs, ys, Xt, yt = make_shifted_blobs(
            200, n_features=5, shift=0.0, rotation=0.0, random_state=seed
        )
        keep = np.r_[np.flatnonzero(yt == 0), np.flatnonzero(yt != 0)[::8]]
        scores = {}
        for diversity in ("uniform", "prior"):
            clf = SHOTAdapter(
                source_epochs=30, max_epochs=10, diversity=diversity, random_state=seed
            ).fit(Xs, ys, Xt[keep])  # yt only built the target; fit never sees it
            scores[diversity] = clf.score(Xt[keep], yt[keep])
        assert scores["prior"] > scores["uniform"], (seed, scores)
    prior = clf.net_.target_prior_.numpy()
    assert prior.sum() == pytest.approx(1.0, abs=1e-5) and prior.argmax() == 0
    # Shrinkage keeps every class at >= prior_shrinkage / n_classes.
    shrunk = clone(clf).set_params(prior_shrinkage=0.6).fit(Xs, ys, Xt[keep])
    expected = 0.4 * prior + 0.6 / 3
    np.testing.assert_allclose(shrunk.net_.target_prior_.numpy(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="prior_shrinkage"):
        clone(clf).set_params(prior_shrinkage=-0.1).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="diversity"):
        SHOTAdapter(diversity="balanced").fit(Xs, ys, Xt)
