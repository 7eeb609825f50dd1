"""Label-free scores of target predictions, from a probability array.

The entropy and information-maximisation scores are the training objectives
of :mod:`skuda.losses`, evaluated on ``log(proba)`` (whose softmax is
``proba``): one formula serves training and selection. Also used by
:class:`skuda.callbacks.UnsupervisedEarlyStopping`.
"""

from __future__ import annotations

import numpy as np
import torch

from ..losses import information_maximization_loss, prediction_entropy

_EPS = 1e-12


def _logits(scores):
    """``log(scores)`` as a float64 tensor (zeros clipped to ``_EPS``).

    Its softmax is ``scores`` renormalised per row, so the losses of
    :mod:`skuda.losses` read it as the distribution ``scores``.
    """
    p = np.clip(np.asarray(scores, dtype=np.float64), _EPS, None)
    return torch.from_numpy(np.log(p))


@torch.no_grad()
def entropy_score(proba):
    """Minus the mean prediction entropy of the rows of ``proba``.

    Confident target predictions score high (the maximum is 0); used as a
    selection criterion by Morerio et al. (ICLR 2018). Minus
    :func:`skuda.losses.prediction_entropy`.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities of target rows.

    Returns
    -------
    float
    """
    return -float(prediction_entropy(_logits(proba)))


@torch.no_grad()
def information_maximization_score(proba):
    """Diversity minus mean entropy: ``H(mean_i p_i) - mean_i H(p_i)``.

    High when each prediction is confident *and* the classes are used evenly
    over the target rows, which rules out the collapsed solution that the plain
    entropy rewards (Gomes et al., NIPS 2010; the objective of SHOT, Liang et
    al., ICML 2020). Minus :func:`skuda.losses.information_maximization_loss`.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    float
    """
    return -float(information_maximization_loss(_logits(proba)))


@torch.no_grad()
def soft_neighborhood_density(proba, temperature=0.05):
    """Soft neighbourhood density (SND) of target predictions.

    Each row's probability vector is L2-normalised, cosine similarities between
    rows (self excluded) are divided by ``temperature`` and turned into a
    softmax distribution over the other rows, and the score is the mean entropy
    of those distributions: high when target rows sit in dense, consistent
    neighbourhoods of the prediction space (Saito et al., ICCV 2021, Eq. 1-3).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
    temperature : float, default=0.05
        The paper's temperature.

    Returns
    -------
    float
    """
    p = np.asarray(proba, dtype=np.float64)
    n = len(p)
    if n < 2:
        raise ValueError("Soft neighbourhood density needs at least 2 target rows.")
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), _EPS)
    sim = p @ p.T / temperature
    # Row i's similarities to the n - 1 other rows are the logits of its
    # neighbour distribution.
    others = sim[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    return float(prediction_entropy(torch.from_numpy(others)))
