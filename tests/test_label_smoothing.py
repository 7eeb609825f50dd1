"""label_smoothing: the smoothed source cross-entropy of every classifier."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda._batching import make_batch

ONE_PHASE = [
    SourceOnlyClassifier,
    DANNClassifier,
    MCCClassifier,
    CDANClassifier,
    DeepCORALClassifier,
]
TWO_PHASE = [ADDAClassifier, SHOTAdapter]


def _fit(cls, data, eps, epochs=30):
    Xs, ys, Xt, _ = data
    kw = dict(max_epochs=epochs, random_state=0, label_smoothing=eps)
    if cls in TWO_PHASE:
        kw.update(source_epochs=epochs, max_epochs=1)
    return cls(**kw).fit(Xs, ys, Xt)


def test_task_loss_is_the_smoothed_cross_entropy_with_and_without_weights(blobs):
    net = _fit(SourceOnlyClassifier, blobs, 0.2, epochs=1).net_
    torch.manual_seed(0)
    logits = torch.randn(6, 3)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    batch = make_batch(logits, logits, y, None, None)
    want = F.cross_entropy(logits, y, label_smoothing=0.2)
    assert torch.isclose(net.task_loss(logits, batch), want)
    assert not torch.isclose(want, F.cross_entropy(logits, y))  # smoothing acts
    w = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5, 3.0])
    per_row = F.cross_entropy(logits, y, label_smoothing=0.2, reduction="none")
    weighted = net.task_loss(logits, make_batch(logits, logits, y, None, None, ws=w))
    assert torch.isclose(weighted, (w * per_row).sum() / w.sum())


@pytest.mark.parametrize("cls", ONE_PHASE + TWO_PHASE, ids=lambda c: c.__name__)
def test_smoothing_softens_the_source_predictions(cls, blobs):
    Xs = blobs[0]
    plain = _fit(cls, blobs, 0.0).predict_proba(Xs).max(axis=1).mean()
    smooth = _fit(cls, blobs, 0.3).predict_proba(Xs).max(axis=1).mean()
    assert smooth < plain - 0.02


@pytest.mark.parametrize("cls", TWO_PHASE, ids=lambda c: c.__name__)
def test_only_the_source_phase_of_two_phase_methods_is_smoothed(cls, blobs):
    plain, smooth = _fit(cls, blobs, 0.0), _fit(cls, blobs, 0.3)
    assert (
        smooth.source_history_[-1, "train_loss"]
        > plain.source_history_[-1, "train_loss"]
    )
    assert smooth.net_.phase == "adaptation"
    assert smooth.net_.criterion_.label_smoothing == 0.0  # the method's own losses


def test_zero_is_the_plain_cross_entropy_and_shot_keeps_its_default(blobs):
    Xs, ys, Xt, _ = blobs
    kw = dict(max_epochs=2, random_state=0)
    assert MCCClassifier().label_smoothing == 0.0
    np.testing.assert_array_equal(
        MCCClassifier(**kw).fit(Xs, ys, Xt).predict_proba(Xt),
        MCCClassifier(label_smoothing=0.0, **kw).fit(Xs, ys, Xt).predict_proba(Xt),
    )
    assert SHOTAdapter().label_smoothing == 0.1  # the paper's


@pytest.mark.parametrize("value", [-0.1, 1.0, "0.1"])
def test_bad_label_smoothing_raises(value, blobs):
    Xs, ys, Xt, _ = blobs
    with pytest.raises((ValueError, TypeError), match="label_smoothing"):
        DANNClassifier(label_smoothing=value, max_epochs=1).fit(Xs, ys, Xt)
