"""SHOT's centroid pseudo-labels (Liang et al., ICML 2020, Eqs. 4-6)."""

import numpy as np
import pytest
import torch

from skuda.pseudo_labels import centroid_pseudo_labels, em_class_prior, shrink_prior


def test_pseudo_labels_recover_separated_clusters():
    gen = torch.Generator().manual_seed(0)
    centers = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    y = torch.arange(60) % 3
    feats = centers[y] + 0.3 * torch.randn(60, 3, generator=gen)
    # A poor classifier: right on average but wrong on a quarter of the rows.
    logits = torch.zeros(60, 3)
    logits[torch.arange(60), y] = 1.0
    wrong = torch.arange(60) % 4 == 0
    logits[wrong] = torch.roll(logits[wrong], 1, dims=1)
    assert (logits.argmax(1) != y).sum() == 15
    assert torch.equal(centroid_pseudo_labels(feats, logits), y)


def test_pseudo_label_refinement_corrects_soft_centroid_error():
    # Unit vectors at these angles; the 40-degree row belongs to cluster 0.
    angles = np.deg2rad([0, 5, 10, 40, 85, 90, 95])
    feats = torch.tensor(np.c_[np.cos(angles), np.sin(angles)])
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    # Cluster-0 rows hedge (p = 0.55 / 0.45): the soft centroid of class 1 is
    # pulled towards cluster 0 and captures the 40-degree row.
    p0 = np.array([0.55] * 4 + [0.05] * 3)
    logits = torch.tensor(np.log(np.c_[p0, 1 - p0]))
    soft_only = centroid_pseudo_labels(feats, logits, refine_rounds=0)
    assert soft_only[3] == 1 and torch.equal(
        soft_only[[0, 1, 2, 4, 5, 6]], y[[0, 1, 2, 4, 5, 6]]
    )
    assert torch.equal(centroid_pseudo_labels(feats, logits), y)  # default: one round


def test_pseudo_labels_skip_classes_nobody_predicts():
    feats = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    logits = torch.tensor([[2.0, 0.0, 1.9], [2.0, 0.0, 1.9], [0.0, 2.0, 1.9]])
    assert set(centroid_pseudo_labels(feats, logits).tolist()) <= {0, 1}


def test_em_class_prior_recovers_a_label_shift():
    # Calibrated posteriors of a 2-class problem with equal source classes,
    # evaluated on a target with 80 % / 20 %: EM finds the proportions.
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.2).astype(int)
    x = rng.normal(loc=2.0 * y, scale=1.0)
    p1 = 1.0 / (1.0 + np.exp(-(2.0 * x - 2.0)))  # Bayes posterior at 50/50
    proba = np.c_[1 - p1, p1]
    assert proba[:, 1].mean() > 0.3  # the naive estimate is biased to 1/2
    prior = em_class_prior(proba)
    np.testing.assert_allclose(prior, [0.8, 0.2], atol=0.03)
    np.testing.assert_allclose(em_class_prior(proba, [0.5, 0.5]), prior)


def test_em_class_prior_keeps_a_floor():
    proba = np.array([[1.0, 0.0], [1.0, 0.0]])
    prior = em_class_prior(proba, floor=0.01)
    assert prior[1] > 0 and prior.sum() == pytest.approx(1.0)


def test_shrink_prior_mixes_with_uniform_and_keeps_a_floor():
    prior = np.array([0.97, 0.029, 0.001])
    np.testing.assert_allclose(shrink_prior(prior, 0.0), prior)
    np.testing.assert_allclose(shrink_prior(prior, 1.0), np.full(3, 1 / 3))
    half = shrink_prior(prior, 0.5)
    np.testing.assert_allclose(half, 0.5 * prior + 0.5 / 3)
    assert half.sum() == pytest.approx(1.0) and half.min() >= 0.5 / 3
    assert prior[2] == 0.001  # the input is not modified
    with pytest.raises(ValueError, match="shrinkage"):
        shrink_prior(prior, 1.5)
