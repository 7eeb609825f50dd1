"""validation_fraction and skorch's standard callbacks, with their defaults."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import (
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    LRScheduler,
    ProgressBar,
)
from torch.optim.lr_scheduler import StepLR

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda._validation_split import SourceValidSplit
from skuda.callbacks import UnsupervisedEarlyStopping

FAST = dict(hidden_layer_sizes=(16,), batch_size=32, device="cpu", random_state=0)
TWO_PHASE = {ADDAClassifier, SHOTAdapter}
ESTIMATORS = [
    DANNClassifier,
    CDANClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SourceOnlyClassifier,
    ADDAClassifier,
    SHOTAdapter,
]


def _make(Est, epochs=3, **kwargs):
    if Est in TWO_PHASE:
        kwargs.setdefault("source_epochs", epochs)
    return Est(max_epochs=epochs, **FAST, **kwargs)


def _validated_history(clf):
    """The history of the phase that trains on source labels."""
    return clf.source_history_ if type(clf) in TWO_PHASE else clf.history_


@pytest.mark.parametrize("Est", ESTIMATORS, ids=lambda c: c.__name__)
def test_skorch_callbacks_with_default_arguments(Est, blobs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Checkpoint() writes to the working directory
    Xs, ys, Xt, _ = blobs
    callbacks = [EarlyStopping(), Checkpoint(), EpochScoring("accuracy"), ProgressBar()]
    clf = _make(Est, validation_fraction=0.25, callbacks=callbacks).fit(Xs, ys, Xt)
    h = _validated_history(clf)
    assert len(h) == 3
    for key in ("valid_loss", "valid_acc", "accuracy", "event_cp"):
        assert key in h[-1], key
    # EpochScoring("accuracy") scores the held-out rows as valid_acc does.
    assert h[:, "accuracy"] == h[:, "valid_acc"]
    assert (tmp_path / "params.pt").exists() and (tmp_path / "history.json").exists()
    n_valid = int(np.ceil(0.25 * len(Xs)))
    assert sum(
        r["valid_batch_size"] for r in h[-1, "batches"] if "valid_loss" in r
    ) == (n_valid)
    trained = [r["train_batch_size"] for r in h[-1, "batches"] if "train_loss" in r]
    assert max(trained) == min(32, len(Xs) - n_valid)  # held-out rows never train


def test_valid_scores_are_those_of_the_held_out_rows(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(max_epochs=4, validation_fraction=0.2, **FAST).fit(Xs, ys, Xt)
    split = clf.net_.train_split
    assert isinstance(split, SourceValidSplit)
    train, valid = split.indices(np.searchsorted(clf.classes_, ys))
    assert len(valid) == int(np.ceil(0.2 * len(Xs))) and not set(train) & set(valid)
    # stratified: every class is held out in proportion
    assert np.bincount(ys[valid]).min() >= int(0.2 * np.bincount(ys).min())
    # The last epoch's valid_acc is the fitted model's accuracy on those rows.
    assert clf.history_[-1, "valid_acc"] == pytest.approx(
        clf.score(Xs[valid], ys[valid])
    )
    logits = torch.from_numpy(np.log(clf.predict_proba(Xs[valid])))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(ys[valid]))
    assert clf.history_[-1, "valid_loss"] == pytest.approx(loss.item(), abs=1e-5)


def test_early_stopping_stops_on_valid_loss(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(
        max_epochs=100,
        lr=0.05,
        lr_schedule="constant",
        validation_fraction=0.3,
        callbacks=[("es", EarlyStopping())],
        **FAST,
    ).set_params(callbacks__es__patience=2)
    clf.fit(Xs, ys, Xt)
    losses = clf.history_[:, "valid_loss"]
    assert 3 <= len(losses) < 100
    assert min(losses[-2:]) >= min(losses[:-2]) - 1e-4  # two epochs, no gain


def test_two_phase_methods_validate_the_source_phase_only(blobs, capsys):
    Xs, ys, Xt, _ = blobs
    for Est in (ADDAClassifier, SHOTAdapter):
        clf = _make(
            Est, validation_fraction=0.2, callbacks=[EarlyStopping()], verbose=1
        ).fit(Xs, ys, Xt)
        assert clf.source_history_[:, "phase"] == ["source"] * 3
        assert clf.history_[:, "phase"] == ["adaptation"] * 3
        assert "valid_loss" in clf.source_history_[-1]
        assert "valid_loss" not in clf.history_[-1]
        assert "EarlyStopping" not in dict(clf.net_.callbacks_)
        out = capsys.readouterr().out
        assert out.index("[source phase]") < out.index("[adaptation phase]")
        assert out.count("valid_loss") == 1  # one table header has it


def test_single_phase_history_has_no_phase_column(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(max_epochs=2, **FAST).fit(Xs, ys, Xt)
    assert "phase" not in clf.history_[-1] and "valid_loss" not in clf.history_[-1]


def test_validation_callbacks_without_validation_data_are_clear_errors(
    blobs, source_model
):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(ValueError, match="EarlyStopping reads validation.*set "):
        DANNClassifier(max_epochs=2, callbacks=[EarlyStopping()], **FAST).fit(
            Xs, ys, Xt
        )
    with pytest.raises(ValueError, match="UnsupervisedEarlyStopping"):
        SHOTAdapter(source_model, callbacks=[Checkpoint()], **FAST).fit(Xt)
    with pytest.raises(ValueError, match="validation_fraction=None"):
        SHOTAdapter(source_model, validation_fraction=0.2, **FAST).fit(Xt)
    with pytest.raises(ValueError, match="on_train=True"):
        DANNClassifier(
            max_epochs=2, callbacks=[EpochScoring("accuracy", on_train=True)], **FAST
        ).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="cannot hold out a stratified"):
        DANNClassifier(max_epochs=2, validation_fraction=0.01, **FAST).fit(Xs, ys, Xt)
    # Unsupervised early stopping needs no held-out rows.
    SHOTAdapter(
        source_model, max_epochs=2, callbacks=[UnsupervisedEarlyStopping()], **FAST
    ).fit(Xt)


def test_user_lr_scheduler_conflicts_with_dann_schedule(blobs):
    Xs, ys, Xt, _ = blobs
    step = LRScheduler(StepLR, step_size=1, gamma=0.5)
    with pytest.raises(ValueError, match="lr_schedule='constant'"):
        DANNClassifier(max_epochs=2, callbacks=[step], **FAST).fit(Xs, ys, Xt)
    clf = DANNClassifier(
        max_epochs=3, lr=0.01, lr_schedule="constant", callbacks=[step], **FAST
    ).fit(Xs, ys, Xt)
    assert clf.history_[:, "event_lr"] == pytest.approx([0.01, 0.005, 0.0025])
    assert "lr_schedule" not in dict(clf.net_.callbacks_)
    # ADDA's adaptation is constant-rate anyway: the scheduler runs there.
    adda = ADDAClassifier(
        source_epochs=2, max_epochs=2, lr_schedule="constant", callbacks=[step], **FAST
    ).fit(Xs, ys, Xt)
    assert "event_lr" in adda.history_[-1]


def test_callbacks_routing_through_set_params(blobs):
    Xs, ys, Xt, _ = blobs
    es = EarlyStopping(patience=7)
    clf = DANNClassifier(callbacks=[("es", es), ProgressBar()], **FAST)
    clf.set_params(
        callbacks__es__patience=3, callbacks__ProgressBar__batches_per_epoch=5
    )
    params = clf.get_params()["callbacks"]
    assert params[0][0] == "es" and params[0][1].patience == 3
    assert params[1].batches_per_epoch == 5
    assert es.patience == 7  # the user's callback object is not modified
    assert clone(clf).get_params()["callbacks"][0][1].patience == 3
    clf.set_params(max_epochs=2, validation_fraction=0.2).fit(Xs, ys, Xt)
    assert dict(clf.net_.callbacks_)["es"].patience == 3
    clf.set_params(callbacks__es=None)
    assert [type(c).__name__ for c in clf.callbacks] == ["ProgressBar"]
    with pytest.raises(ValueError, match="no callback has the name 'nope'"):
        clf.set_params(callbacks__nope__patience=1)


def test_warm_start_keeps_validating(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(
        max_epochs=2, warm_start=True, validation_fraction=0.2, **FAST
    ).fit(Xs, ys, Xt)
    clf.fit(Xs, ys, Xt)
    assert len(clf.history_) == 4 and "valid_acc" in clf.history_[-1]
    again = pickle.loads(pickle.dumps(clf))  # the split is a small, picklable value
    np.testing.assert_array_equal(again.predict_proba(Xt), clf.predict_proba(Xt))
