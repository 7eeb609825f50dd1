"""Classifier heads and domain discriminators (all return logits)."""

from __future__ import annotations

from collections.abc import Sequence

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
    softmax over one unit, which is constant and passes no gradient.

    Parameters
    ----------
    in_features : int
    hidden_layer_sizes : sequence of int, default=(256,)
    dropout : float, default=0.0
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes: Sequence[int] = (256,),
        dropout: float = 0.0,
    ):
        super().__init__(*_mlp_logits(in_features, hidden_layer_sizes, 1, dropout))
