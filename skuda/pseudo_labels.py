"""Self-supervised pseudo-labels for unlabelled target rows."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["centroid_pseudo_labels", "em_class_prior", "shrink_prior"]


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


def em_class_prior(proba, source_prior=None, *, n_iter=200, tol=1e-8, floor=1e-3):
    """Estimate the target's class proportions from a source model's predictions.

    The EM algorithm of Saerens, Latinne & Decaestecker (Neural Computation
    14(1), 2002) for a label shift: posteriors computed under the source
    prior ``pi_s`` are re-weighted by ``pi / pi_s`` and renormalised, and the
    new prior ``pi`` is their mean over the target rows, until it stops
    changing.

    Parameters
    ----------
    proba : array-like of shape (n, n_classes)
        The source model's class probabilities on the target rows.
    source_prior : array-like of shape (n_classes,), default=None
        Class proportions the model was trained with; None: uniform.
    n_iter : int, default=200
    tol : float, default=1e-8
        Stop when no proportion moves by more than this.
    floor : float, default=1e-3
        Lower bound of every estimated proportion (renormalised), so that a
        class the model never predicts keeps a finite log-probability.

    Returns
    -------
    ndarray of shape (n_classes,)
        Estimated target class proportions (sum to 1).
    """
    proba = np.asarray(proba, dtype=np.float64)
    n_classes = proba.shape[1]
    source = (
        np.full(n_classes, 1.0 / n_classes)
        if source_prior is None
        else np.asarray(source_prior, dtype=np.float64)
    )
    prior = source.copy()
    for _ in range(n_iter):
        weighted = proba * (prior / source)
        weighted /= np.maximum(weighted.sum(axis=1, keepdims=True), 1e-300)
        new = weighted.mean(axis=0)
        done = np.abs(new - prior).max() < tol
        prior = new
        if done:
            break
    prior = np.maximum(prior, floor)
    return prior / prior.sum()


def shrink_prior(prior, shrinkage):
    """Shrink estimated class proportions towards uniform.

    ``(1 - shrinkage) * prior + shrinkage / n_classes``: a James-Stein-style
    guard against an estimate that is too extreme, e.g. EM run on a source
    model that is miscalibrated on a drifted target, where it can drive a
    present class to ~0 (and a diversity term pulling towards that estimate
    then starves the class). Every class keeps at least
    ``shrinkage / n_classes``.

    Parameters
    ----------
    prior : array-like of shape (n_classes,)
        Class proportions summing to 1.
    shrinkage : float in [0, 1]
        0 returns ``prior``; 1 returns uniform proportions.

    Returns
    -------
    ndarray of shape (n_classes,)
    """
    prior = np.asarray(prior, dtype=np.float64)
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"shrinkage must be in [0, 1]; got {shrinkage!r}.")
    return (1.0 - shrinkage) * prior + shrinkage / len(prior)
