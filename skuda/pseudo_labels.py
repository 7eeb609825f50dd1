"""Self-supervised pseudo-labels for unlabelled target rows."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["centroid_pseudo_labels"]


def centroid_pseudo_labels(
    features: torch.Tensor, logits: torch.Tensor, *, refine_rounds: int = 1
) -> torch.Tensor:
    """Pseudo-labels by nearest class centroid in feature space (SHOT Eqs. 4-6).

    Features are L2-normalised. Each class centroid is the mean of the
    features weighted by that class's softmax probability; every row takes
    the label of its nearest centroid by cosine distance. Each refinement
    round recomputes the centroids from these hard labels and reassigns.
    Only classes that are the arg-max of at least one row are candidates
    (as in the authors' code), and a refinement round drops classes that
    received no row (Liang, Hu & Feng, ICML 2020).

    Parameters
    ----------
    features : Tensor of shape (n, d)
    logits : Tensor of shape (n, n_classes)
    refine_rounds : int, default=1

    Returns
    -------
    Tensor of shape (n,), dtype long
        Class indices.
    """
    feats = F.normalize(features.flatten(1).double(), dim=1)
    weights = F.softmax(logits.double(), dim=1)
    n_classes = weights.shape[1]
    candidates = torch.bincount(weights.argmax(dim=1), minlength=n_classes) > 0
    labels = _nearest_centroid(feats, weights, candidates)
    for _ in range(refine_rounds):
        hard = F.one_hot(labels, n_classes).double()
        labels = _nearest_centroid(feats, hard, candidates & (hard.sum(0) > 0))
    return labels


def _nearest_centroid(feats, weights, candidates):
    centroids = weights.T @ feats / (weights.sum(dim=0)[:, None] + 1e-8)
    similarity = feats @ F.normalize(centroids, dim=1).T
    similarity[:, ~candidates] = -math.inf
    return similarity.argmax(dim=1)
