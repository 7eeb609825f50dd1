"""skuda.selection's NumPy scores of target predictions, against references."""

import numpy as np
import pytest
import torch
from scipy.special import softmax
from scipy.stats import entropy as scipy_entropy

from skuda.losses import information_maximization_loss
from skuda.selection import (
    entropy_score,
    information_maximization_score,
    soft_neighborhood_density,
)

PROBA = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.05, 0.05, 0.9]])


def test_entropy_and_im_match_references():
    h = [scipy_entropy(p) for p in PROBA]
    assert entropy_score(PROBA) == pytest.approx(-np.mean(h))
    diversity = scipy_entropy(PROBA.mean(axis=0))
    assert information_maximization_score(PROBA) == pytest.approx(
        diversity - np.mean(h)
    )


def test_im_score_is_minus_the_training_loss():
    # One formula: the score of probabilities is minus the loss of the logits.
    logits = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    proba = torch.softmax(logits.double(), dim=1).numpy()
    loss = information_maximization_loss(logits.double()).item()
    assert information_maximization_score(proba) == pytest.approx(-loss, abs=1e-12)
    assert isinstance(information_maximization_score(proba), float)
    assert isinstance(entropy_score(proba.astype(np.float32)), float)


def test_scores_of_one_hot_rows_are_finite():
    one_hot = np.eye(3)[[0, 1, 2, 0]]
    assert entropy_score(one_hot) == pytest.approx(0.0, abs=1e-9)
    assert information_maximization_score(one_hot) == pytest.approx(
        scipy_entropy(one_hot.mean(axis=0)), abs=1e-9
    )
    assert np.isfinite(soft_neighborhood_density(one_hot))


def test_im_penalises_collapse_that_entropy_rewards():
    collapsed = np.tile([0.98, 0.01, 0.01], (6, 1))
    spread = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]] * 2)
    assert entropy_score(collapsed) > entropy_score(spread)
    assert information_maximization_score(spread) > information_maximization_score(
        collapsed
    )


def test_snd_matches_loop_reference():
    tau = 0.05
    n = len(PROBA)
    unit = PROBA / np.linalg.norm(PROBA, axis=1, keepdims=True)
    ents = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        sims = np.array([unit[i] @ unit[j] / tau for j in others])
        ents.append(scipy_entropy(softmax(sims)))
    assert soft_neighborhood_density(PROBA, tau) == pytest.approx(np.mean(ents))
    with pytest.raises(ValueError, match="at least 2"):
        soft_neighborhood_density(PROBA[:1])
