import torch
from torch import nn

from skuda.losses import domain_adversarial_loss
from skuda.modules import (
    MLP,
    DomainDiscriminator,
    GradientReversal,
    MultilinearMap,
    RandomizedMultilinearMap,
    WeightNormLinear,
    grad_reverse,
)


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


def test_weight_norm_linear_matches_torch_weight_norm():
    layer = WeightNormLinear(5, 3)
    ref = nn.utils.parametrizations.weight_norm(nn.Linear(5, 3))
    with torch.no_grad():
        ref.parametrizations.weight.original0.copy_(layer.weight_g)
        ref.parametrizations.weight.original1.copy_(layer.weight_v)
        ref.bias.copy_(layer.bias)
        layer.weight_g.mul_(2.0)
        ref.parametrizations.weight.original0.mul_(2.0)
    x = torch.randn(4, 5)
    assert torch.allclose(layer(x), ref(x), atol=1e-6)


def test_multilinear_map_is_the_flattened_outer_product():
    f = torch.randn(4, 3, requires_grad=True)
    g = torch.softmax(torch.randn(4, 2), dim=1)
    out = MultilinearMap(3, 2)(f, g)
    assert out.shape == (4, 6)
    expected = torch.stack([torch.outer(f[i], g[i]).flatten() for i in range(4)])
    torch.testing.assert_close(out, expected)
    out.sum().backward()  # each feature's gradient is the sum of its class weights
    torch.testing.assert_close(f.grad, torch.ones(4, 3))


def test_randomized_multilinear_map_formula_and_fixed_matrices():
    layer = RandomizedMultilinearMap(5, 3, out_features=16)
    f, g = torch.randn(4, 5), torch.softmax(torch.randn(4, 3), dim=1)
    expected = (f @ layer.weight_features.T) * (g @ layer.weight_proba.T) / 4.0
    torch.testing.assert_close(layer(f, g), expected)
    assert set(layer.state_dict()) == {"weight_features", "weight_proba"}
    assert not list(layer.parameters())  # fixed: never trained
