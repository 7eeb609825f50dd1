"""Classifier heads and domain discriminators (all return logits)."""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import nn


def _mlp_logits(in_features, hidden, out_features, dropout):
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


class ClassifierHead(nn.Sequential):
    """Label predictor: an optional MLP ending in one logit per class.

    Parameters
    ----------
    in_features : int
    n_classes : int
    hidden_layer_sizes : sequence of int, default=()
        Hidden widths; empty gives a linear classifier.
    dropout : float, default=0.0
    """

    def __init__(self, in_features, n_classes, hidden_layer_sizes=(), dropout=0.0):
        super().__init__(
            *_mlp_logits(in_features, hidden_layer_sizes, n_classes, dropout)
        )


class DomainDiscriminator(nn.Sequential):
    """Domain classifier with a single output logit (source vs target).

    A single logit trained with ``binary_cross_entropy_with_logits``: never a
    softmax over one unit, which is constant and passes no gradient. With
    ``n_domains > 2`` (several source domains and the target) it returns one
    logit per domain, for a cross-entropy over the domains.

    Parameters
    ----------
    in_features : int
    hidden_layer_sizes : sequence of int, default=(256,)
    dropout : float, default=0.0
    n_domains : int, default=2
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes: Sequence[int] = (256,),
        dropout: float = 0.0,
        n_domains: int = 2,
    ):
        n_out = 1 if n_domains == 2 else n_domains
        super().__init__(*_mlp_logits(in_features, hidden_layer_sizes, n_out, dropout))


class WeightNormLinear(nn.Module):
    """Linear layer with weight normalisation ``w_k = g_k v_k / ||v_k||``.

    The same map as ``torch.nn.utils.parametrizations.weight_norm(nn.Linear)``
    (``dim=0``: one norm per output unit), written as a plain module because
    parametrized modules cannot be pickled, and skuda estimators must be. SHOT's
    classifier (Liang et al., ICML 2020).

    Parameters
    ----------
    in_features, out_features : int
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        linear = nn.Linear(in_features, out_features)
        self.weight_v = nn.Parameter(linear.weight.detach().clone())
        self.weight_g = nn.Parameter(linear.weight.detach().norm(dim=1, keepdim=True))
        self.bias = nn.Parameter(linear.bias.detach().clone())
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x):
        """Apply the weight-normalised linear map to ``x``."""
        weight = self.weight_g * self.weight_v / self.weight_v.norm(dim=1, keepdim=True)
        return F.linear(x, weight, self.bias)
