"""Training schedules as pure functions of the training progress ``p`` in [0, 1].

Both come from Ganin & Lempitsky (ICML 2015), Sec. 5.2, and Ganin et al.
(JMLR 2016), Sec. 5.2.2. No object keeps a hidden step counter: the net computes
``p`` from its iteration count and calls these functions.
"""

from __future__ import annotations

import math


def grl_lambda(p: float, gamma: float = 10.0) -> float:
    """Adversarial weight warm-up ``2 / (1 + exp(-gamma * p)) - 1``.

    Rises from 0 at ``p = 0`` to almost 1 at ``p = 1`` (0.99991 for ``gamma = 10``),
    which suppresses the noisy discriminator signal early in training.

    Parameters
    ----------
    p : float
        Training progress in [0, 1].
    gamma : float, default=10.0
        Steepness; the papers use 10.

    Returns
    -------
    float
    """
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def lr_factor(p: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """Learning-rate annealing factor ``1 / (1 + alpha * p) ** beta``.

    The learning rate at progress ``p`` is ``mu_0 * lr_factor(p)``; with the
    papers' ``alpha = 10, beta = 0.75`` it ends at ``mu_0 / 11 ** 0.75 ~ 0.166 mu_0``.

    Parameters
    ----------
    p : float
        Training progress in [0, 1].
    alpha, beta : float
        The papers use 10 and 0.75.

    Returns
    -------
    float
    """
    return (1.0 + alpha * p) ** (-beta)


def adversarial_weight(weight: float, schedule: str, p: float) -> float:
    """Adversarial weight at progress ``p``: ``weight * grl_lambda(p)`` or constant.

    Parameters
    ----------
    weight : float
        The final weight (``lambda_`` of the adversarial methods).
    schedule : {"dann", "constant"}
        ``"dann"``: the warm-up :func:`grl_lambda`; ``"constant"``: ``weight``.
    p : float
        Training progress in [0, 1].

    Returns
    -------
    float
    """
    return weight if schedule == "constant" else weight * grl_lambda(p)
