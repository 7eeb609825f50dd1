"""Feature extractors (backbones)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected feature extractor for tabular data.

    Each hidden layer is ``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]``; the
    output is the last hidden layer's activation, of size ``out_features``.

    Parameters
    ----------
    in_features : int
        Number of input features.
    hidden_layer_sizes : sequence of int, default=(256,)
        Width of each hidden layer; at least one.
    dropout : float, default=0.0
        Dropout probability after each activation.
    batch_norm : bool, default=True
        Whether to normalise each hidden layer's pre-activation.
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes: Sequence[int] = (256,),
        dropout: float = 0.0,
        batch_norm: bool = True,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden_layer_sizes:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flatten each row of ``x`` and return the last hidden activation."""
        return self.layers(x.flatten(1))
