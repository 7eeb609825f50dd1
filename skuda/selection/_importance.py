"""Importance-weighted validation: the source loss reweighted to the target."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._base import REGRESSION, _DAScorer, task_of

_MIN_VARIANCE = 1e-12
"""Weights with a smaller variance are constant: DEV drops its control variate."""


def _default_domain_classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _flat(a):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def _importance_weights(domain_classifier, F_src, F_tgt, cv, random_state):
    """``w(x) = p_t(x) / p_s(x)`` on the source rows from a domain classifier.

    The classifier separates source (0) from target (1) rows; its out-of-fold
    probabilities (``cv``-fold) give ``w = (n_s / n_t) P(t|x) / P(s|x)``,
    normalised to mean 1 over the source rows.
    """
    F = np.vstack([F_src, F_tgt])
    d = np.r_[np.zeros(len(F_src), dtype=int), np.ones(len(F_tgt), dtype=int)]
    folds = StratifiedKFold(
        n_splits=min(cv, len(F_src), len(F_tgt)),
        shuffle=True,
        random_state=random_state,
    )
    p_tgt = cross_val_predict(
        clone(domain_classifier), F, d, cv=folds, method="predict_proba"
    )[: len(F_src), 1]
    p_tgt = np.clip(p_tgt, 1e-3, 1 - 1e-3)
    w = p_tgt / (1 - p_tgt)
    return w / w.mean()


def _source_losses(estimator, X_src, y_src):
    """Per-row loss of ``estimator`` on the labelled source rows.

    Classifiers: the cross-entropy. Regressors: the squared error (averaged
    over the outputs), in the units of ``y``.
    """
    if task_of(estimator) is REGRESSION:
        error = np.asarray(estimator.predict(X_src), dtype=np.float64) - y_src
        return np.mean(error.reshape(len(error), -1) ** 2, axis=1)
    proba = estimator.predict_proba(X_src)
    index = np.searchsorted(estimator.classes_, np.asarray(y_src))
    index = np.clip(index, 0, len(estimator.classes_) - 1)
    known = estimator.classes_[index] == np.asarray(y_src)
    p = np.where(known, proba[np.arange(len(proba)), index], 0.0)
    return -np.log(np.clip(p, 1e-7, 1.0))


class ImportanceWeightedScorer(_DAScorer):
    """Importance-weighted validation (IWV) on the labelled source rows.

    The source loss of each row (cross-entropy; the squared error for a
    regressor) is weighted by the density ratio
    ``p_t(x) / p_s(x)``, estimated on the *input* features by a probabilistic
    domain classifier (out-of-fold predictions). The score is minus the
    weighted mean loss, an estimate of minus the target risk under covariate
    shift (importance-weighted cross-validation, Sugiyama et al., 2007). The
    weights are normalised to mean 1 (the self-normalised estimator: lower
    variance, slightly biased).

    Parameters
    ----------
    domain_classifier : classifier with predict_proba, default=None
        Source-vs-target classifier; None uses a standardised logistic
        regression.
    cv : int, default=5
        Folds for its out-of-fold probabilities.
    random_state : int, default=0

    References
    ----------
    .. [1] M. Sugiyama, M. Krauledat and K.-R. Mueller, "Covariate shift
       adaptation by importance weighted cross validation", JMLR 8:985-1005,
       2007.
    """

    def __init__(self, domain_classifier=None, cv=5, random_state=0):
        self.domain_classifier = domain_classifier
        self.cv = cv
        self.random_state = random_state

    def _features(self, estimator, X_src, X_tgt):
        return _flat(X_src), _flat(X_tgt)

    def _weights(self, estimator, X_src, X_tgt):
        clf = self.domain_classifier or _default_domain_classifier()
        F_src, F_tgt = self._features(estimator, X_src, X_tgt)
        return _importance_weights(clf, F_src, F_tgt, self.cv, self.random_state)

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        w = self._weights(estimator, X_src, X_tgt)
        return float(-np.mean(w * _source_losses(estimator, X_src, y_src)))


class DeepEmbeddedValidationScorer(ImportanceWeightedScorer):
    r"""Deep embedded validation (DEV).

    Importance weighting as in :class:`ImportanceWeightedScorer`, with two
    changes from You et al. (ICML 2019): the density ratio is estimated in the
    model's learned feature space (``estimator.transform``), where the domains
    overlap far more than in the input space, and a control variate removes
    much of the variance of the weighted loss:

    .. math::

        R = \overline{w\ell} + \eta\,\overline{w} - \eta, \qquad
        \eta = -\frac{\operatorname{Cov}(w\ell, w)}{\operatorname{Var}(w)}.

    The score is ``-R``. Estimators without ``transform`` fall back to the
    input features.

    Parameters
    ----------
    domain_classifier : classifier with predict_proba, default=None
    cv : int, default=5
    random_state : int, default=0

    References
    ----------
    .. [1] K. You, X. Wang, M. Long and M. I. Jordan, "Towards accurate model
       selection in deep unsupervised domain adaptation", ICML 2019.
    """

    def _features(self, estimator, X_src, X_tgt):
        if not hasattr(estimator, "transform"):
            return super()._features(estimator, X_src, X_tgt)
        return _flat(estimator.transform(X_src)), _flat(estimator.transform(X_tgt))

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        w = self._weights(estimator, X_src, X_tgt)
        weighted = w * _source_losses(estimator, X_src, y_src)
        var = np.var(w, ddof=1) if len(w) > 1 else 0.0
        eta = 0.0 if var < _MIN_VARIANCE else -np.cov(weighted, w)[0, 1] / var
        return float(-(weighted.mean() + eta * w.mean() - eta))
