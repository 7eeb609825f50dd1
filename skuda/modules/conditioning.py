"""Multilinear conditioning of features on predictions (CDAN, Long et al. 2018)."""

from __future__ import annotations

import math

import torch
from torch import nn


class MultilinearMap(nn.Module):
    """Outer product of features and class probabilities, flattened per row.

    ``T(f, g) = vec(f g^T)``: each feature is copied once per class, scaled by
    that class's probability, so a discriminator on it sees the joint of
    features and predictions (Long et al., NeurIPS 2018, Eq. 4).

    Parameters
    ----------
    n_features : int
    n_classes : int
    """

    def __init__(self, n_features: int, n_classes: int):
        super().__init__()
        self.out_features = n_features * n_classes

    def forward(self, features: torch.Tensor, proba: torch.Tensor) -> torch.Tensor:
        """Return ``vec(f g^T)`` for each row, shape (n, n_features * n_classes)."""
        return torch.bmm(features.unsqueeze(2), proba.unsqueeze(1)).flatten(1)


class RandomizedMultilinearMap(nn.Module):
    """Randomized multilinear map for many features or classes (CDAN Eq. 5).

    ``T(f, g) = (R_f f) * (R_g g) / sqrt(d)`` with fixed Gaussian matrices
    ``R_f`` (d x n_features) and ``R_g`` (d x n_classes), drawn once at
    construction (from torch's generator, so a seeded fit is reproducible) and
    stored as buffers. Its inner products approximate those of the full map at
    dimension ``d`` instead of ``n_features * n_classes``.

    Parameters
    ----------
    n_features : int
    n_classes : int
    out_features : int, default=1024
        The dimension ``d`` (the paper's 1024).
    """

    def __init__(self, n_features: int, n_classes: int, out_features: int = 1024):
        super().__init__()
        self.register_buffer("weight_features", torch.randn(out_features, n_features))
        self.register_buffer("weight_proba", torch.randn(out_features, n_classes))
        self.out_features = out_features

    def forward(self, features: torch.Tensor, proba: torch.Tensor) -> torch.Tensor:
        """Return the randomized product, shape (n, out_features)."""
        projected = (features @ self.weight_features.T) * (proba @ self.weight_proba.T)
        return projected / math.sqrt(self.out_features)
