import math

import pytest
import torch

from skuda.losses import domain_adversarial_loss
from skuda.modules import MLP, DomainDiscriminator, GradientReversal, grad_reverse
from skuda.schedules import grl_lambda, lr_factor


def test_grad_reverse_negates_and_scales_gradient():
    x = torch.randn(4, 3, requires_grad=True)
    y = grad_reverse(x, 0.3)
    assert torch.equal(y, x)  # identity forward
    upstream = torch.randn(4, 3)
    y.backward(upstream)
    assert torch.allclose(x.grad, -0.3 * upstream)


def test_gradient_reversal_module_matches_function():
    x = torch.randn(5, 2, requires_grad=True)
    GradientReversal(2.0)(x).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -2.0))


def test_grl_lambda_schedule_values():
    assert grl_lambda(0.0) == 0.0
    assert grl_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert grl_lambda(0.5) == pytest.approx(0.986614, abs=1e-6)
    assert grl_lambda(1.0) == pytest.approx(0.9999092, abs=1e-7)


def test_lr_factor_schedule_values():
    assert lr_factor(0.0) == 1.0
    assert lr_factor(0.5) == pytest.approx(6**-0.75)
    assert lr_factor(1.0) == pytest.approx(11**-0.75)


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


def test_discriminator_has_one_logit_with_nonzero_gradient():
    disc = DomainDiscriminator(8, (16,))
    z = torch.randn(10, 8, requires_grad=True)
    out = disc(z)
    assert out.shape == (10, 1)
    domain_adversarial_loss(out, 5).backward()
    assert z.grad.abs().sum() > 0


def test_mlp_layers_and_flatten():
    mlp = MLP(6, (8, 4), dropout=0.2, batch_norm=True)
    kinds = [type(m).__name__ for m in mlp.layers]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2
    assert mlp(torch.randn(3, 2, 3)).shape == (3, 4)
    assert mlp.out_features == 4
