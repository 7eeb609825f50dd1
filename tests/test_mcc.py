"""Tests of MCCClassifier (Jin et al., ECCV 2020)."""

import numpy as np
import pytest
import torch

from skuda import MCCClassifier, SourceOnlyClassifier
from skuda.losses import minimum_class_confusion_loss


def test_mcc_weight_zero_is_source_training_with_the_same_batches(blobs):
    Xs, ys, Xt, _ = blobs
    mcc = MCCClassifier(0.0, max_epochs=3, random_state=0).fit(Xs, ys, Xt)
    assert set(mcc.history_[-1]) >= {"task_loss", "mcc_loss", "lr"}
    assert mcc.history_[:, "mcc_loss"] == [0.0] * 3
    with_term = MCCClassifier(1.0, max_epochs=3, random_state=0).fit(Xs, ys, Xt)
    assert not np.allclose(mcc.predict_proba(Xt), with_term.predict_proba(Xt))


def test_mcc_lowers_class_confusion_on_the_target(blobs):
    Xs, ys, Xt, _ = blobs
    for seed in range(3):  # same network, batches and init; only the term differs
        common = dict(max_epochs=30, random_state=seed)
        mcc = MCCClassifier(**common).fit(Xs, ys, Xt)
        src = SourceOnlyClassifier(**common).fit(Xs, ys, Xt)
        confusion = [
            minimum_class_confusion_loss(torch.from_numpy(m._logits(Xt))).item()
            for m in (mcc, src)
        ]
        assert confusion[0] < confusion[1], (seed, confusion)


@pytest.mark.parametrize("params", [{"mcc_weight": -1.0}, {"temperature": 0.0}])
def test_invalid_parameters(blobs, params):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(ValueError, match=next(iter(params))):
        MCCClassifier(**params).fit(Xs, ys, Xt)
