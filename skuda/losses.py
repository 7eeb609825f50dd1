"""Loss functions on logits (never on probabilities).

Modules in skuda return logits; a softmax over a single unit is the constant 1
and would silence a discriminator, so every loss here takes raw scores. The
label-free selection scores of :mod:`skuda.selection` reuse the same formulas
(on ``log(proba)``, which has the same softmax).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "coral_loss",
    "domain_accuracy",
    "domain_adversarial_loss",
    "information_maximization_loss",
    "inverted_label_loss",
    "minimum_class_confusion_loss",
    "mmd_loss",
    "prediction_diversity",
    "prediction_entropy",
    "prior_divergence",
]


def domain_adversarial_loss(
    domain_logits: torch.Tensor, n_source: int, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy of a single-logit domain discriminator.

    The first ``n_source`` rows are source (label 1), the rest target (label 0);
    the loss is the mean over all rows of both domains (Ganin et al., JMLR 2016,
    Eq. 9 with the logistic loss), or the ``weight``-weighted mean.

    Parameters
    ----------
    domain_logits : Tensor of shape (n,) or (n, 1)
        Discriminator outputs before the sigmoid.
    n_source : int
        Number of leading rows that come from the source domain.
    weight : Tensor of shape (n,), default=None
        Per-row weights (CDAN+E's entropy conditioning); None weighs rows
        equally.

    Returns
    -------
    Tensor
        Scalar loss.
    """
    logits = domain_logits.reshape(-1)
    labels = torch.zeros_like(logits)
    labels[:n_source] = 1.0
    if weight is None:
        return F.binary_cross_entropy_with_logits(logits, labels)
    per_row = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (weight * per_row).sum() / weight.sum()


def domain_accuracy(domain_logits: torch.Tensor, n_source: int) -> torch.Tensor:
    """Accuracy of a single-logit discriminator (first ``n_source`` rows source).

    A logit above 0 means "source". Near 0.5 when the domains are aligned.

    Parameters
    ----------
    domain_logits : Tensor of shape (n,) or (n, 1)
    n_source : int

    Returns
    -------
    Tensor
        Scalar accuracy in [0, 1] (no gradient).
    """
    logits = domain_logits.reshape(-1).detach()
    is_src = torch.arange(len(logits), device=logits.device) < n_source
    return ((logits > 0) == is_src).float().mean()


def inverted_label_loss(domain_logits: torch.Tensor) -> torch.Tensor:
    """ADDA's mapping loss: target features scored against the *source* label.

    ``-mean(log sigmoid(logits))``, i.e. binary cross-entropy with every row
    labelled 1 (source). This is the "inverted label" GAN loss of Tzeng et al.
    (CVPR 2017), Eq. 7, which gives stronger gradients than minimising the
    discriminator's own loss when the discriminator is confident.

    Parameters
    ----------
    domain_logits : Tensor of shape (n,) or (n, 1)
        Discriminator logits of target features.

    Returns
    -------
    Tensor
        Scalar loss.
    """
    logits = domain_logits.reshape(-1)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def prediction_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean per-row entropy of the softmax predictions (SHOT Eq. 2, first term).

    Low when every row is predicted confidently.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)

    Returns
    -------
    Tensor
        Scalar ``mean_i -sum_k p_ik log p_ik`` (natural log).
    """
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1).mean()


def prediction_diversity(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the mean softmax prediction (SHOT Eq. 2, second term).

    High when the batch's predictions are spread over the classes; its
    maximum ``log(n_classes)`` is reached by a uniform mean prediction.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)

    Returns
    -------
    Tensor
        Scalar ``-sum_k pbar_k log pbar_k`` with ``pbar = mean_i softmax(logits_i)``.
    """
    p_mean = F.softmax(logits, dim=1).mean(dim=0)
    # xlogy gives 0 * log 0 = 0 for classes that nobody predicts.
    return -torch.special.xlogy(p_mean, p_mean).sum()


def prior_divergence(logits: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """KL divergence of the mean softmax prediction from class proportions.

    ``sum_k pbar_k log(pbar_k / prior_k)``: zero when the batch's mean
    prediction matches ``prior``. With a uniform ``prior`` it equals
    ``log(n_classes) - prediction_diversity(logits)``, SHOT's diversity term up
    to a constant; with estimated proportions it stops the diversity term from
    pushing an imbalanced target towards balanced predictions.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)
    prior : Tensor of shape (n_classes,)
        Positive class proportions summing to 1.

    Returns
    -------
    Tensor
        Scalar divergence.
    """
    p_mean = F.softmax(logits, dim=1).mean(dim=0)
    return (torch.special.xlogy(p_mean, p_mean) - p_mean * torch.log(prior)).sum()


def information_maximization_loss(logits: torch.Tensor) -> torch.Tensor:
    """Information-maximisation loss: entropy minus diversity.

    Minimising it makes each prediction confident and the predictions of a
    batch diverse (Gomes et al., NIPS 2010; Liang et al., ICML 2020, Eq. 2).

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)

    Returns
    -------
    Tensor
        Scalar ``prediction_entropy(logits) - prediction_diversity(logits)``.
    """
    return prediction_entropy(logits) - prediction_diversity(logits)


def minimum_class_confusion_loss(
    logits: torch.Tensor, temperature: float = 2.5
) -> torch.Tensor:
    """Minimum class confusion (MCC) loss of a batch of target predictions.

    Following Jin et al. (ECCV 2020), Eqs. 2-8: probabilities are
    temperature-scaled, ``p = softmax(logits / T)``; each row is weighted by
    ``1 + exp(-H(p_i))`` (confident rows count more; weights normalised to sum
    to the batch size and not differentiated); the class-confusion matrix
    ``C = p^T W p`` is normalised per row (category normalisation), and the
    loss is the mean over classes of the off-diagonal mass of each row, i.e.
    how often two classes are predicted together.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)
    temperature : float, default=2.5
        Probability rescaling ``T`` (the authors' default).

    Returns
    -------
    Tensor
        Scalar loss in [0, 1 - 1/n_classes]; 0 when no two classes share a row.
    """
    n, n_classes = logits.shape
    proba = F.softmax(logits / temperature, dim=1)
    entropy = -torch.special.xlogy(proba, proba).sum(dim=1).detach()
    weights = 1.0 + torch.exp(-entropy)
    weights = n * weights / weights.sum()
    confusion = (proba * weights[:, None]).T @ proba
    confusion = confusion / confusion.sum(dim=1, keepdim=True)
    return (confusion.sum() - confusion.trace()) / n_classes


def coral_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CORAL loss: squared Frobenius distance of the two feature covariances.

    ``||C_s - C_t||_F^2 / (4 d^2)`` with unbiased covariances of the rows of
    each domain (Sun & Saenko, ECCV-W 2016, Eq. 1). Zero when the covariances
    match, whatever the means.

    Parameters
    ----------
    source : Tensor of shape (n_s, d)
    target : Tensor of shape (n_t, d)

    Returns
    -------
    Tensor
        Scalar loss.
    """
    d = source.shape[1]
    diff = _covariance(source) - _covariance(target)
    return (diff * diff).sum() / (4 * d * d)


def _covariance(x):
    centred = x - x.mean(dim=0, keepdim=True)
    return centred.T @ centred / max(1, len(x) - 1)


def mmd_loss(
    source: torch.Tensor,
    target: torch.Tensor,
    bandwidth_multipliers: tuple = (0.25, 0.5, 1.0, 2.0, 4.0),
) -> torch.Tensor:
    """Multi-kernel maximum mean discrepancy (MK-MMD) of two sets of rows.

    The squared MMD ``mean K_ss + mean K_tt - 2 mean K_st`` (biased estimate)
    under the average of Gaussian kernels whose bandwidths are the
    multipliers times the mean pairwise squared distance of the batch (Long et
    al., ICML 2015, DAN, with equal kernel weights). The bandwidths carry no
    gradient.

    Parameters
    ----------
    source : Tensor of shape (n_s, d)
    target : Tensor of shape (n_t, d)
    bandwidth_multipliers : tuple of float, default=(0.25, 0.5, 1, 2, 4)

    Returns
    -------
    Tensor
        Scalar loss (zero for identical sets of rows).
    """
    rows = torch.cat([source, target])
    sq_dist = torch.cdist(rows, rows).pow(2)
    base = sq_dist.detach().sum() / max(1, len(rows) * (len(rows) - 1))
    # All bandwidths in one broadcast exp, and the three block means as one
    # quadratic form w' K w (w = 1/n_s on source rows, -1/n_t on target rows):
    # a handful of kernel launches whatever the number of bandwidths (GPU).
    inverse = 1.0 / torch.tensor(bandwidth_multipliers, dtype=rows.dtype)
    inverse = inverse.to(rows.device, non_blocking=True)[:, None, None]
    kernel = torch.exp(-(sq_dist / (base + 1e-12)) * inverse).mean(dim=0)
    n, m = len(source), len(target)
    w = torch.cat([rows.new_full((n,), 1.0 / n), rows.new_full((m,), -1.0 / m)])
    return w @ kernel @ w
