"""Loss functions: each against a hand computation or a NumPy reference."""

import math

import numpy as np
import pytest
import torch

from skuda.losses import (
    coral_loss,
    domain_accuracy,
    domain_adversarial_loss,
    information_maximization_loss,
    inverted_label_loss,
    minimum_class_confusion_loss,
    mmd_loss,
    prediction_diversity,
    prediction_entropy,
    prior_divergence,
)


def test_inverted_label_loss_labels_target_as_source():
    logits = torch.tensor([0.0, 2.0, -1.0])
    # -mean(log sigmoid(l)) = mean(log(1 + exp(-l))): every row labelled 1 (source).
    expected = (math.log(2.0) + math.log1p(math.exp(-2.0)) + math.log1p(math.e)) / 3
    assert inverted_label_loss(logits).item() == pytest.approx(expected, rel=1e-6)
    assert inverted_label_loss(logits.reshape(-1, 1)).item() == pytest.approx(expected)
    # The discriminator's own label for these rows (0, target) gives another value.
    as_target = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.zeros(3)
    )
    assert not math.isclose(as_target.item(), expected, rel_tol=1e-3)


def test_inverted_label_loss_pushes_logits_towards_source():
    logits = torch.tensor([-3.0, 0.5], requires_grad=True)
    inverted_label_loss(logits).backward()
    assert (logits.grad < 0).all()  # descending raises the "source" logit


def test_im_loss_matches_numpy_reference():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-3.0, 1.0, 4.0]])
    z = logits.double().numpy()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    entropy = np.mean(-(p * np.log(p)).sum(1))
    p_mean = p.mean(0)
    diversity = -(p_mean * np.log(p_mean)).sum()
    assert prediction_entropy(logits).item() == pytest.approx(entropy, rel=1e-5)
    assert prediction_diversity(logits).item() == pytest.approx(diversity, rel=1e-5)
    assert information_maximization_loss(logits).item() == pytest.approx(
        entropy - diversity, rel=1e-5
    )


def test_diversity_handles_a_class_nobody_predicts():
    logits = torch.tensor([[50.0, -50.0, -50.0], [50.0, -50.0, -50.0]])
    assert torch.isfinite(prediction_diversity(logits))
    assert prediction_diversity(logits).item() == pytest.approx(0.0, abs=1e-6)


def test_minimising_im_loss_spreads_a_collapsed_batch():
    gen = torch.Generator().manual_seed(0)
    # Every row confidently predicts class 0: entropy ~ 0, diversity ~ 0.
    logits = torch.randn(32, 4, generator=gen) * 0.5
    logits[:, 0] += 3.0
    logits.requires_grad_(True)
    before = prediction_diversity(logits).item()
    # The terms are batch means, so each row's gradient is O(1/n): a large lr.
    optimizer = torch.optim.SGD([logits], lr=20.0)
    for _ in range(100):
        optimizer.zero_grad()
        information_maximization_loss(logits).backward()
        optimizer.step()
    after = prediction_diversity(logits).item()
    assert after > before + 0.25  # predictions spread over more classes
    assert prediction_entropy(logits).item() < 0.1  # each row confident


def test_domain_loss_is_bce_with_source_label_one():
    logits = torch.tensor([2.0, -1.0, 0.5])
    # rows 0-1 source (label 1), row 2 target (label 0)
    expected = (
        -math.log(torch.sigmoid(torch.tensor(2.0)).item())
        - math.log(torch.sigmoid(torch.tensor(-1.0)).item())
        - math.log(1 - torch.sigmoid(torch.tensor(0.5)).item())
    ) / 3
    assert domain_adversarial_loss(logits, 2).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_domain_accuracy_counts_logits_above_zero_as_source():
    logits = torch.tensor([2.0, -1.0, -0.5, 0.3])  # rows 0-1 source
    # row 0 right, row 1 wrong (says target), row 2 right, row 3 wrong
    assert domain_accuracy(logits, 2).item() == pytest.approx(0.5)


def _mcc_reference(logits, temperature):
    """Jin et al. (ECCV 2020), Eqs. 2-8, written out with NumPy loops."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    n, k = p.shape
    h = -(p * np.log(p)).sum(1)
    w = n * (1 + np.exp(-h)) / (1 + np.exp(-h)).sum()
    c = np.zeros((k, k))
    for i in range(n):
        c += w[i] * np.outer(p[i], p[i])
    c /= c.sum(1, keepdims=True)
    return sum(c[j, m] for j in range(k) for m in range(k) if j != m) / k


def test_mcc_loss_matches_numpy_reference():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-3.0, 1.0, 4.0]])
    for temperature in (1.0, 2.5):
        got = minimum_class_confusion_loss(logits, temperature).item()
        assert got == pytest.approx(_mcc_reference(logits, temperature), rel=1e-5)


def test_mcc_loss_zero_without_confusion_and_gradient_sharpens():
    confident = torch.tensor([[40.0, -40.0], [-40.0, 40.0], [40.0, -40.0]])
    assert minimum_class_confusion_loss(confident, 1.0).item() < 1e-6
    hedging = torch.tensor([[0.2, 0.0], [0.0, 0.1]], requires_grad=True)
    loss = minimum_class_confusion_loss(hedging, 1.0)
    assert loss.item() > 0.4  # near-uniform rows confuse the two classes
    loss.backward()
    # descending raises each row's leading logit against the other one
    assert hedging.grad[0, 0] < hedging.grad[0, 1]
    assert hedging.grad[1, 1] < hedging.grad[1, 0]


def test_coral_loss_matches_formula_and_ignores_means():
    gen = torch.Generator().manual_seed(0)
    source = torch.randn(40, 3, generator=gen)
    target = 2.0 * torch.randn(30, 3, generator=gen)
    cs, ct = np.cov(source.numpy().T), np.cov(target.numpy().T)
    expected = ((cs - ct) ** 2).sum() / (4 * 9)
    assert coral_loss(source, target).item() == pytest.approx(expected, rel=1e-4)
    assert coral_loss(source, source + 5.0).item() == pytest.approx(0.0, abs=1e-6)


def test_mmd_loss_matches_numpy_reference():
    gen = torch.Generator().manual_seed(1)
    source = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    target = torch.randn(5, 2, generator=gen, dtype=torch.float64) + 1.0
    rows = np.vstack([source.numpy(), target.numpy()])
    sq = ((rows[:, None] - rows[None]) ** 2).sum(-1)
    base = sq.sum() / (11 * 10)
    k = np.mean([np.exp(-sq / (base * m)) for m in (0.25, 0.5, 1, 2, 4)], axis=0)
    expected = k[:6, :6].mean() + k[6:, 6:].mean() - 2 * k[:6, 6:].mean()
    assert mmd_loss(source, target).item() == pytest.approx(expected, rel=1e-6)
    assert mmd_loss(source, source).item() == pytest.approx(0.0, abs=1e-12)
    assert mmd_loss(source, target).item() > mmd_loss(source, source + 0.1).item()


def test_prior_divergence_is_shifted_diversity_for_uniform_prior():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-3.0, 1.0, 4.0]])
    uniform = torch.full((3,), 1 / 3)
    expected = math.log(3) - prediction_diversity(logits).item()
    assert prior_divergence(logits, uniform).item() == pytest.approx(expected)
    p_mean = torch.softmax(logits, dim=1).mean(dim=0)
    assert prior_divergence(logits, p_mean).item() == pytest.approx(0.0, abs=1e-6)
