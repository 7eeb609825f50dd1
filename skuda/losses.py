"""Loss functions on logits (never on probabilities).

Modules in skuda return logits; a softmax over a single unit is the constant 1
and would silence a discriminator, so every loss here takes raw scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def domain_adversarial_loss(domain_logits: torch.Tensor, n_source: int) -> torch.Tensor:
    """Binary cross-entropy of a single-logit domain discriminator.

    The first ``n_source`` rows are source (label 1), the rest target (label 0);
    the loss is the mean over all rows of both domains (Ganin et al., JMLR 2016,
    Eq. 9 with the logistic loss).

    Parameters
    ----------
    domain_logits : Tensor of shape (n,) or (n, 1)
        Discriminator outputs before the sigmoid.
    n_source : int
        Number of leading rows that come from the source domain.

    Returns
    -------
    Tensor
        Scalar loss.
    """
    logits = domain_logits.reshape(-1)
    labels = torch.zeros_like(logits)
    labels[:n_source] = 1.0
    return F.binary_cross_entropy_with_logits(logits, labels)


def domain_accuracy(domain_logits: torch.Tensor, n_source: int) -> torch.Tensor:
    """Accuracy of a single-logit discriminator (first ``n_source`` rows source).

    A logit above 0 means "source". Near 0.5 when the domains are aligned.
    """
    logits = domain_logits.reshape(-1).detach()
    is_src = torch.arange(len(logits), device=logits.device) < n_source
    return ((logits > 0) == is_src).float().mean()
