"""Tests of CDANClassifier (Long et al., NeurIPS 2018)."""

import pytest
import torch

from skuda import CDANClassifier
from skuda._batching import Batch
from skuda.cdan import entropy_weights
from skuda.modules import MultilinearMap, RandomizedMultilinearMap


def test_entropy_weights_favour_confident_rows_and_balance_domains():
    proba = torch.tensor([[0.98, 0.02], [0.5, 0.5], [0.9, 0.1], [0.6, 0.4], [0.7, 0.3]])
    w = entropy_weights(proba, n_source=2)
    assert w[:2].sum().item() == pytest.approx(1.0)
    assert w[2:].sum().item() == pytest.approx(1.0)
    assert w[0] > w[1] and w[2] > w[4] > w[3]  # lower entropy, more weight


def test_conditioning_map_follows_the_threshold(blobs):
    Xs, ys, Xt, _ = blobs
    full = CDANClassifier(max_epochs=1, hidden_layer_sizes=(8,), random_state=0)
    full.fit(Xs, ys, Xt)
    assert isinstance(full.net_.module_.conditioning, MultilinearMap)
    assert full.net_.module_.discriminator[0].in_features == 8 * 3
    rand = CDANClassifier(
        max_epochs=1, hidden_layer_sizes=(8,), randomized_threshold=10,
        randomized_dim=32, random_state=0,
    ).fit(Xs, ys, Xt)  # fmt: skip
    assert isinstance(rand.net_.module_.conditioning, RandomizedMultilinearMap)
    assert rand.net_.module_.discriminator[0].in_features == 32


def test_default_map_is_never_wider_than_the_randomized_one(blobs):
    # randomized_threshold="auto": the full map while n_features * n_classes
    # <= randomized_dim (256), the randomized map of 256 above it.
    Xs, ys, Xt, _ = blobs
    small = CDANClassifier(max_epochs=1, hidden_layer_sizes=(64,), random_state=0)
    module = small.fit(Xs, ys, Xt).net_.module_
    assert isinstance(module.conditioning, MultilinearMap)
    assert module.discriminator[0].in_features == 64 * 3
    default = CDANClassifier(max_epochs=1, random_state=0).fit(Xs, ys, Xt)
    module = default.net_.module_
    assert isinstance(module.conditioning, RandomizedMultilinearMap)
    assert module.discriminator[0].in_features == 256
    wide = CDANClassifier(max_epochs=1, randomized_dim=1024, random_state=0)
    assert isinstance(wide.fit(Xs, ys, Xt).net_.module_.conditioning, MultilinearMap)


def test_domain_gradient_reaches_the_encoder_reversed(blobs):
    Xs, ys, Xt, _ = blobs
    clf = CDANClassifier(max_epochs=2, dropout=0.0, random_state=0).fit(Xs, ys, Xt)
    net = clf.net_
    xs, xt = torch.from_numpy(Xs[:16]), torch.from_numpy(Xt[:16])
    batch = Batch(xs, xs, torch.from_numpy(ys[:16]), xt, None)

    def encoder_grads(coeff):
        net.adv_weight, net.adv_schedule = coeff, "constant"
        net.module_.zero_grad()
        net.batch_loss(batch, 1.0)["domain_loss"].backward()
        return [p.grad.clone() for p in net.module_.encoder.parameters()]

    assert all(torch.count_nonzero(g) == 0 for g in encoder_grads(0.0))
    g1, g2 = encoder_grads(1.0), encoder_grads(2.0)
    for a, b in zip(g1, g2, strict=True):  # the reversal scales with lambda
        torch.testing.assert_close(b, 2.0 * a, rtol=1e-4, atol=1e-6)
    # the classifier head gets no gradient from the domain loss (detached g)
    assert all(
        p.grad is None or not p.grad.any() for p in net.module_.head.parameters()
    )
