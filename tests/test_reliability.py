"""No silent wrong models: divergence, interrupts, atomic refits, clear errors.

The nine defects of issue 14 as regression tests (``test_issue_<k>_...``),
plus the fault tests around them.
"""

import copy
import pickle
import signal
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, EarlyStopping
from torch import nn

from skuda import (
    ADDAClassifier,
    DANNClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    TrainingDivergedError,
)
from skuda import TrainingDivergedError as Diverged
from skuda.callbacks import UnsupervisedEarlyStopping
from skuda.datasets import make_shifted_blobs
from skuda.exceptions import FitInterruptedWarning
from skuda.selection import DeepEmbeddedValidationScorer, InformationMaximizationScorer

CPU = dict(device="cpu", random_state=0, min_iterations_per_epoch=1)
SMALL = dict(hidden_layer_sizes=(16,), batch_size=32, **CPU)
COLUMNS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def data():
    """4-feature blobs, 60 rows per domain (the issue's reproducers)."""
    return make_shifted_blobs(60, n_features=4, random_state=0)


@pytest.fixture(scope="module")
def frames(data):
    Xs, ys, Xt, _ = data
    return pd.DataFrame(Xs, columns=COLUMNS), ys, pd.DataFrame(Xt, columns=COLUMNS)


@pytest.fixture(scope="module")
def named_source(frames):
    S, ys, T = frames
    return SourceOnlyClassifier(max_epochs=5, **SMALL).fit(S, ys, T)


def _two_phase(Est, **kwargs):
    extra = {"discriminator_hidden_layer_sizes": (16,)} if Est is ADDAClassifier else {}
    if Est is SHOTAdapter:
        extra = {"bottleneck_dim": 8}
    return Est(source_epochs=3, max_epochs=3, **extra, **{**SMALL, **kwargs})


# -- 1. divergence -----------------------------------------------------------------
def test_issue_1_blow_up_in_the_last_steps_raises(data):
    Xs, ys, Xt, _ = data
    clf = SourceOnlyClassifier(
        lr=1e6, optimizer="sgd", max_epochs=2, batch_size=32, **CPU
    )
    with pytest.raises(TrainingDivergedError, match="epoch 2 of the training phase"):
        clf.fit(Xs, ys, Xt)
    assert not hasattr(clf, "net_")
    dann = DANNClassifier(lr=1e30, optimizer="sgd", max_epochs=1, **CPU)
    with pytest.raises(TrainingDivergedError, match="epoch 1"):
        dann.fit(Xs, ys, Xt)


class _Poison(Callback):
    """Set a parameter of module ``name`` to NaN at ``event`` of epoch ``epoch``."""

    def __init__(self, name, epoch, event):
        self.name, self.epoch, self.event = name, epoch, event

    def _poison(self, net):
        if net.epoch_ == self.epoch:
            with torch.no_grad():
                next(getattr(net.module_, self.name).parameters()).fill_(float("nan"))

    def on_epoch_end(self, net, **kwargs):
        if self.event == "epoch_end":
            self._poison(net)

    def on_batch_begin(self, net, **kwargs):
        if self.event == "batch_begin":
            self._poison(net)


def test_nan_parameters_after_the_last_step_are_caught(data):
    # No loss ever sees the poisoned weights: only the final check can.
    Xs, ys, Xt, _ = data
    poison = _Poison("head", 2, "epoch_end")
    clf = DANNClassifier(max_epochs=2, callbacks=[poison], **SMALL)
    with pytest.raises(TrainingDivergedError, match=r"epoch 2 .*head\."):
        clf.fit(Xs, ys, Xt)


def test_divergence_names_the_epoch_and_the_loss_term(data):
    Xs, ys, Xt, _ = data
    poison = _Poison("discriminator", 2, "batch_begin")
    clf = DANNClassifier(max_epochs=3, callbacks=[poison], **SMALL)
    with pytest.raises(TrainingDivergedError) as info:
        clf.fit(Xs, ys, Xt)
    message = str(info.value)
    assert "epoch 2 of the training phase" in message
    assert "domain_loss=nan" in message and "task_loss" not in message


def test_predict_never_returns_nan(data):
    Xs, ys, Xt, _ = data
    clf = SourceOnlyClassifier(max_epochs=1, **SMALL).fit(Xs, ys)
    huge = copy.deepcopy(clf)  # finite weights whose outputs overflow float32
    with torch.no_grad():
        huge.net_.module_.head[0].weight.fill_(3e38)
        huge.net_.module_.head[0].bias.fill_(3e38)
    for method in (huge.predict_proba, huge.predict):  # predict: argmax on device
        with pytest.raises(ValueError, match="X: the network's outputs are NaN"):
            method(Xt)
    broken = copy.deepcopy(clf)
    with torch.no_grad():
        broken.net_.module_.encoder.layers[0].weight.fill_(float("nan"))
    for method in (broken.predict_proba, broken.predict, broken.transform):
        with pytest.raises(TrainingDivergedError, match="NaN or infinite parameters"):
            method(Xt)


# -- 2. a source model's feature names ------------------------------------------------
def test_issue_2_source_model_column_order_is_checked(frames, named_source):
    S, ys, T = frames
    reordered = COLUMNS[::-1]
    with pytest.raises(ValueError, match="X's columns must be those source_estimator"):
        SHOTAdapter(named_source, max_epochs=1, **CPU).fit(T[reordered])
    with pytest.raises(ValueError, match="X_src's columns must be those source_est"):
        ADDAClassifier(named_source, max_epochs=1, **CPU).fit(
            S[reordered], ys, T[reordered]
        )
    shot = SHOTAdapter(named_source, max_epochs=1, **CPU).fit(T)
    assert list(shot.feature_names_in_) == COLUMNS
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        SHOTAdapter(named_source, max_epochs=1, **CPU).fit(T.to_numpy())


# -- 3. interrupts --------------------------------------------------------------------
class _SigintAt(Callback):
    """Deliver a real SIGINT (Ctrl-C) at the end of epoch ``epoch`` of ``phase``."""

    def __init__(self, phase, epoch=2):
        self.phase, self.epoch = phase, epoch

    def on_epoch_end(self, net, **kwargs):
        if net.phase_name == self.phase and net.epoch_ == self.epoch:
            signal.raise_signal(signal.SIGINT)


@pytest.fixture(autouse=True)
def _ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt, as in an interactive session.

    A shell starts background jobs (``cmd &``, ``nohup``) with SIGINT ignored,
    and Python then installs no handler: the real SIGINT these tests deliver
    would be dropped. Restore Python's handler for each test, then the old one.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    "Est, phase",
    [
        (SourceOnlyClassifier, "training"),
        (DANNClassifier, "training"),
        (MCCClassifier, "training"),
        (ADDAClassifier, "source"),
        (ADDAClassifier, "adaptation"),
        (SHOTAdapter, "source"),
        (SHOTAdapter, "adaptation"),
    ],
)
def test_issue_3_interrupt_ends_the_whole_fit(data, Est, phase):
    Xs, ys, Xt, _ = data
    two_phase = Est in (ADDAClassifier, SHOTAdapter)
    kwargs = dict(callbacks=[_SigintAt(phase)])
    clf = (
        _two_phase(Est, **kwargs) if two_phase else Est(max_epochs=3, **SMALL, **kwargs)
    )
    with pytest.warns(
        FitInterruptedWarning, match=f"the {phase} phase at epoch 2 of 3"
    ):
        clf.fit(Xs, ys, Xt)
    assert clf.interrupted_ is True
    if phase == "source":
        assert len(clf.source_history_) == 2  # stopped there ...
        adapted = clf.history_ if Est is ADDAClassifier else []
        assert len(adapted) == 0  # ... and no adaptation ran
    else:
        assert len(clf.history_) == 2
    proba = clf.predict_proba(Xt)  # a usable model
    assert proba.shape == (len(Xt), 3) and np.isfinite(proba).all()
    clf.set_params(callbacks=None).fit(Xs, ys, Xt)  # a plain refit resets the flag
    assert clf.interrupted_ is False


@pytest.mark.parametrize(
    "stop",
    [
        UnsupervisedEarlyStopping("im", patience=1, threshold=10.0),
        EarlyStopping(monitor="train_loss", patience=1, threshold=10.0),
    ],
    ids=["skuda", "skorch"],
)
def test_early_stopping_is_not_an_interrupt(data, stop):
    Xs, ys, Xt, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitInterruptedWarning)
        clf = _two_phase(ADDAClassifier, callbacks=[stop]).fit(Xs, ys, Xt)
    assert clf.interrupted_ is False
    assert len(clf.history_) == 2  # stopped early, and the next phase still ran


# -- 4. atomic refits -----------------------------------------------------------------
def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and k != "lambda_"}


@pytest.mark.parametrize("warm_start", [False, True])
def test_issue_4_failed_refit_leaves_the_estimator_as_it_was(frames, warm_start):
    S, ys, T = frames
    clf = DANNClassifier(max_epochs=2, warm_start=warm_start, **SMALL).fit(S, ys, T)
    before = _fitted_state(clf)
    weights = copy.deepcopy(clf.net_.module_.state_dict())
    proba = clf.predict_proba(T)
    failures = [
        ({"callbacks": [_Poison("head", 1, "epoch_end")]}, (S, ys, T), Diverged),
        ({}, (S, ys + 5, np.c_[T, T]), ValueError),  # new classes, bad X_tgt width
        ({}, (S.to_numpy()[:, :3], ys, T.to_numpy()), ValueError),
    ]
    for params, args, error in failures:
        bad = clf.set_params(**params)
        with pytest.raises(error):
            bad.fit(*args)
        clf.set_params(callbacks=None)
        after = _fitted_state(clf)
        assert after.keys() == before.keys()
        assert all(after[k] is before[k] for k in before)  # the same objects
        np.testing.assert_array_equal(clf.predict_proba(T), proba)
        state = clf.net_.module_.state_dict()
        assert all(torch.equal(weights[k], state[k]) for k in weights)


def test_refit_drops_attributes_of_the_previous_fit(frames):
    S, ys, T = frames
    clf = SourceOnlyClassifier(max_epochs=1, **SMALL).fit(S, ys)
    assert hasattr(clf, "feature_names_in_")
    clf.fit(S.to_numpy(), ys)
    assert not hasattr(clf, "feature_names_in_")


# -- 5.-7. ----------------------------------------------------------------------------
class _NoTraining(Callback):
    def on_train_begin(self, net, **kwargs):
        raise AssertionError("training started")


@pytest.mark.parametrize("sizes", [(0,), (-3,), (8, 0)])
@pytest.mark.parametrize("Est", [DANNClassifier, ADDAClassifier])
def test_issue_5_bad_discriminator_sizes_fail_before_training(data, Est, sizes):
    Xs, ys, Xt, _ = data
    clf = Est(discriminator_hidden_layer_sizes=sizes, callbacks=[_NoTraining()], **CPU)
    with pytest.raises(ValueError, match="discriminator_hidden_layer_sizes must be"):
        clf.fit(Xs, ys, Xt)


def test_issue_6_source_free_shot_can_be_model_selected(data, named_source):
    Xs, ys, Xt, _ = data
    src = SourceOnlyClassifier(max_epochs=3, **SMALL).fit(Xs, ys, Xt)
    grid = GridSearchCV(
        SHOTAdapter(FrozenEstimator(src), max_epochs=1, **CPU),
        {"ent_par": [0.5, 1.0]},
        scoring=InformationMaximizationScorer(),
        cv=2,
        error_score="raise",
    ).fit(Xt)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    with pytest.raises(ValueError, match="needs labelled source rows"):
        DeepEmbeddedValidationScorer()(grid.best_estimator_, Xt, None)


def test_issue_7_batch_norm_with_batches_of_one_row(data):
    Xs, ys, Xt, _ = data
    match = "Batch normalisation needs at least 2 rows.*batch_size=1"
    with pytest.raises(ValueError, match=match):
        SourceOnlyClassifier(batch_norm=True, batch_size=1, max_epochs=1, **CPU).fit(
            Xs[:6], ys[:6]
        )
    src = SourceOnlyClassifier(batch_norm=True, max_epochs=1, **SMALL).fit(Xs, ys)
    with pytest.raises(
        ValueError, match="adaptation phase had batches of 1 row .*1 target"
    ):
        SHOTAdapter(src, max_epochs=1, **CPU).fit(Xt[:1])
    signals = np.random.default_rng(0).normal(size=(6, 64)).astype(np.float32)
    wdcnn = SourceOnlyClassifier(
        feature_extractor="wdcnn", batch_size=1, max_epochs=1, **CPU
    )
    with pytest.raises(ValueError, match=match):
        wdcnn.fit(signals, np.arange(6) % 2)


# -- 8. pickle across devices (safe persistence: test_persistence.py) -----------------
def test_issue_8_cuda_pickle_loads_on_a_cpu_only_machine(data, monkeypatch):
    Xs, ys, Xt, _ = data
    clf = SourceOnlyClassifier(max_epochs=1, **SMALL).fit(Xs, ys)
    proba = clf.predict_proba(Xt)
    clf.device_, clf.net_.device = "cuda", "cuda"  # as if fitted on a GPU
    blob = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="it was moved to the CPU"):
        restored = pickle.loads(blob)
    assert restored.device_ == "cpu" and restored.net_.device == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(Xt), proba)


# -- 9. clear errors ------------------------------------------------------------------
def test_issue_9_string_labels_with_the_readme_recipe(data):
    Xs, ys, Xt, _ = data
    names = np.array(["low", "mid", "high"])[ys]
    y = np.r_[names, np.full(len(Xt), -1)]  # numpy makes the -1 a "-1" string
    assert y.dtype.kind == "U"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no target rows" warning
        clf = DANNClassifier(max_epochs=1, **SMALL).fit(np.vstack([Xs, Xt]), y)
    assert sorted(clf.classes_) == ["high", "low", "mid"]
    assert "-1" not in set(clf.predict(Xt))


@pytest.mark.parametrize(
    "args, error, match",
    [
        (([[1.0, 2.0], [3.0]], [0, 1], [[1.0, 2.0]]), ValueError, "X_src is a ragged"),
        (([[1.0, 2.0], [3.0]], [0, -1]), ValueError, "X is a ragged"),
        ((np.zeros((0, 4)), np.zeros(0)), ValueError, "X has 0 rows"),
        (
            (np.zeros((0, 4)), [], np.ones((3, 4))),
            ValueError,
            "X_src: Found array with 0 sample",
        ),
        (
            (
                np.ones((4, 2)),
                np.array([1, "a", 1, "a"], dtype=object),
                np.ones((2, 2)),
            ),
            TypeError,
            "y_src mixes labels of different types",
        ),
        (
            (np.ones((4, 2)), np.array([1, "a", -1, "a"], dtype=object)),
            TypeError,
            "y mixes labels",
        ),
        (
            (np.ones((4, 2)), [0.5, 1.5, 0.5, 1.5], np.ones((2, 2))),
            ValueError,
            "y_src: Unknown label type",
        ),
    ],
)
def test_issue_9_raw_errors_name_the_argument(args, error, match):
    with pytest.raises(error, match=match):
        DANNClassifier(max_epochs=1, **CPU).fit(*args)


def test_issue_9_module_and_column_mismatches(frames):
    S, ys, T = frames
    pair = (nn.Linear(4, 8), nn.Linear(5, 3))
    with pytest.raises(ValueError, match=r"source_estimator's classifier \(on feat"):
        SHOTAdapter(pair, max_epochs=1, **CPU).fit(T.to_numpy())
    with pytest.raises(ValueError, match="X_tgt's columns must be X_src's"):
        DANNClassifier(max_epochs=1, **CPU).fit(S, ys, T[COLUMNS[::-1]])
    signals = np.random.default_rng(0).normal(size=(6, 128))
    clf = SourceOnlyClassifier(feature_extractor="wdcnn", max_epochs=1, **CPU)
    clf.fit(signals, np.arange(6) % 2)
    with pytest.raises(
        ValueError, match=r"^X has samples of shape \(2,\) .*1 channel "
    ):
        clf.predict(signals[:3, :2])
