"""Model selection without target labels: scorers and a splitter for the stacked form.

In unsupervised domain adaptation the target rows have no labels, so neither
target accuracy (cheating) nor source accuracy (the wrong distribution) can pick
``lambda_`` or the number of epochs. The scorers here estimate target quality
from what is available -- labelled source rows and unlabelled target rows -- and
plug into scikit-learn as they are::

    GridSearchCV(DANNClassifier(), {"lambda_": [0.1, 0.3, 1.0]},
                 scoring=DeepEmbeddedValidationScorer(),
                 cv=StackedDomainSplit(5, random_state=0)).fit(X, y)

Every scorer is a callable ``scorer(estimator, X, y)`` on the *stacked form*
(rows labelled ``-1`` are target rows), returns a float where higher is better,
and reads no target label: it never receives one.

Which to use: see the user guide's "Model selection" page, which reports the
measured regret of each scorer (``benchmarks/selection.py``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    BaseCrossValidator,
    KFold,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._validation import split_stacked

_EPS = 1e-12

__all__ = [
    "DeepEmbeddedValidationScorer",
    "ImportanceWeightedScorer",
    "InformationMaximizationScorer",
    "PredictionEntropyScorer",
    "ReverseValidationScorer",
    "SoftNeighborhoodDensityScorer",
    "SourceAccuracyScorer",
    "StackedDomainSplit",
    "SupervisedTargetAccuracyScorer",
    "entropy_score",
    "get_da_scorer",
    "information_maximization_score",
    "soft_neighborhood_density",
]


# -- scores of target predictions (NumPy; also used by the early-stopping callback)


def _entropies(proba):
    proba = np.asarray(proba, dtype=np.float64)
    return -(proba * np.log(proba + _EPS)).sum(axis=1)


def entropy_score(proba):
    """Minus the mean prediction entropy of the rows of ``proba``.

    Confident target predictions score high (the maximum is 0); used as a
    selection criterion by Morerio et al. (ICLR 2018).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities of target rows.

    Returns
    -------
    float
    """
    return float(-_entropies(proba).mean())


def information_maximization_score(proba):
    """Diversity minus mean entropy: ``H(mean_i p_i) - mean_i H(p_i)``.

    High when each prediction is confident *and* the classes are used evenly
    over the target rows, which rules out the collapsed solution that the plain
    entropy rewards (Gomes et al., NIPS 2010; the objective of SHOT, Liang et
    al., ICML 2020).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    float
    """
    proba = np.asarray(proba, dtype=np.float64)
    mean = proba.mean(axis=0, keepdims=True)
    return float(_entropies(mean)[0] - _entropies(proba).mean())


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
    if len(p) < 2:
        raise ValueError("Soft neighbourhood density needs at least 2 target rows.")
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), _EPS)
    sim = p @ p.T / temperature
    np.fill_diagonal(sim, -np.inf)
    sim -= sim.max(axis=1, keepdims=True)
    weights = np.exp(sim)
    weights /= weights.sum(axis=1, keepdims=True)
    return float(_entropies(weights).mean())


# -- scorers ---------------------------------------------------------------------


class _DAScorer:
    """Base: split the stacked form, hand the domains to ``_score``."""

    def __call__(self, estimator, X, y, sample_weight=None):
        X_src, y_src, X_tgt = split_stacked(X, y)
        if X_tgt is None:
            raise ValueError(
                f"{type(self).__name__} needs target rows (label -1) in the rows it "
                "scores; use skuda.selection.StackedDomainSplit as cv so that every "
                "validation fold holds some."
            )
        return float(self.score_domains(estimator, X_src, y_src, X_tgt))

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        """Score ``estimator`` from labelled source and unlabelled target rows.

        Parameters
        ----------
        estimator : fitted classifier
        X_src : array-like of shape (n_source, ...)
        y_src : array-like of shape (n_source,)
        X_tgt : array-like of shape (n_target, ...)

        Returns
        -------
        float
            Higher is better.
        """
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class PredictionEntropyScorer(_DAScorer):
    """Minus the mean entropy of the predictions on target rows.

    See :func:`entropy_score`. Cheap, but it rewards over-confident and
    collapsed models; prefer :class:`InformationMaximizationScorer`.

    References
    ----------
    .. [1] P. Morerio, J. Cavazza and V. Murino, "Minimal-entropy correlation
       alignment for unsupervised deep domain adaptation", ICLR 2018.
    """

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        return entropy_score(estimator.predict_proba(X_tgt))


class InformationMaximizationScorer(_DAScorer):
    """Information maximisation on target rows: diversity minus entropy.

    See :func:`information_maximization_score`.

    References
    ----------
    .. [1] R. Gomes, A. Krause and P. Perona, "Discriminative clustering by
       regularized information maximization", NIPS 2010.
    .. [2] J. Liang, D. Hu and J. Feng, "Do we really need to access the
       source data? Source hypothesis transfer for unsupervised domain
       adaptation", ICML 2020.
    """

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        return information_maximization_score(estimator.predict_proba(X_tgt))


class SoftNeighborhoodDensityScorer(_DAScorer):
    """Soft neighbourhood density of the target predictions.

    See :func:`soft_neighborhood_density`. Uses at most ``max_rows`` target
    rows (a random subset, drawn with ``random_state``) to bound the
    ``n x n`` similarity matrix.

    Parameters
    ----------
    temperature : float, default=0.05
    max_rows : int, default=5000
    random_state : int, default=0

    References
    ----------
    .. [1] K. Saito, D. Kim, P. Teterwak, S. Sclaroff, T. Darrell and K. Saenko,
       "Tune it the right way: unsupervised validation of domain adaptation via
       soft neighborhood density", ICCV 2021.
    """

    def __init__(self, temperature=0.05, max_rows=5000, random_state=0):
        self.temperature = temperature
        self.max_rows = max_rows
        self.random_state = random_state

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        proba = estimator.predict_proba(X_tgt)
        if len(proba) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            proba = proba[rng.choice(len(proba), self.max_rows, replace=False)]
        return soft_neighborhood_density(proba, self.temperature)


class SourceAccuracyScorer(_DAScorer):
    """Accuracy on the labelled source rows, ignoring the target.

    What ``GridSearchCV``'s default scoring amounts to on the stacked form
    (once the target rows are left out). A baseline for the benchmarks: it
    prefers models that do not adapt.
    """

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        return float(np.mean(estimator.predict(X_src) == np.asarray(y_src)))


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
    """Per-row cross-entropy of ``estimator`` on the labelled source rows."""
    proba = estimator.predict_proba(X_src)
    index = np.searchsorted(estimator.classes_, np.asarray(y_src))
    index = np.clip(index, 0, len(estimator.classes_) - 1)
    known = estimator.classes_[index] == np.asarray(y_src)
    p = np.where(known, proba[np.arange(len(proba)), index], 0.0)
    return -np.log(np.clip(p, 1e-7, 1.0))


class ImportanceWeightedScorer(_DAScorer):
    """Importance-weighted validation (IWV) on the labelled source rows.

    The source cross-entropy of each row is weighted by the density ratio
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
    """Deep embedded validation (DEV).

    Importance weighting as in :class:`ImportanceWeightedScorer`, with two
    changes from You et al. (ICML 2019): the density ratio is estimated in the
    model's learned feature space (``estimator.transform``), where the domains
    overlap far more than in the input space, and a control variate removes
    much of the variance of the weighted loss:

    .. math::

        R = \\overline{w\\ell} + \\eta\\,\\overline{w} - \\eta, \\qquad
        \\eta = -\\frac{\\operatorname{Cov}(w\\ell, w)}{\\operatorname{Var}(w)}.

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
        eta = 0.0 if var < _EPS else -np.cov(weighted, w)[0, 1] / var
        return float(-(weighted.mean() + eta * w.mean() - eta))


class ReverseValidationScorer(_DAScorer):
    """Reverse validation: adapt back from the pseudo-labelled target.

    The fitted model labels the target rows; a fresh clone of it is then
    trained with those target rows as its labelled source and the source rows
    as its unlabelled target, and scored by its accuracy on the true source
    labels. A model whose target labels are wrong, or not transferable back,
    scores low (Zhong et al., ECML 2010; the selection procedure of Ganin et
    al., JMLR 2016, Sec. 5.1.2).

    Costs one extra fit per scored model.

    Parameters
    ----------
    reverse_params : dict, default=None
        Parameters set on the reverse clone (e.g. ``{"max_epochs": 30}`` to
        make it cheaper).

    References
    ----------
    .. [1] E. Zhong, W. Fan, Q. Yang, O. Verscheure and J. Ren, "Cross
       validation framework to choose amongst models and datasets for transfer
       learning", ECML PKDD 2010.
    .. [2] Y. Ganin et al., "Domain-adversarial training of neural networks",
       JMLR 17(59):1-35, 2016.
    """

    def __init__(self, reverse_params=None):
        self.reverse_params = reverse_params

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        y_src = np.asarray(y_src)
        pseudo = estimator.predict(X_tgt)
        classes = np.unique(pseudo)
        if len(classes) < 2:  # the reverse model can only predict that class
            return float(np.mean(y_src == classes[0]))
        reverse = clone(estimator)
        if self.reverse_params:
            reverse.set_params(**self.reverse_params)
        reverse.fit(*_stack(X_tgt, pseudo, X_src))
        return float(np.mean(reverse.predict(X_src) == y_src))


def _stack(X_lab, y_lab, X_unlab):
    """The stacked form of labelled and unlabelled rows (works for Pipelines)."""
    if hasattr(X_lab, "iloc"):
        import pandas as pd

        X = pd.concat([X_lab, X_unlab], ignore_index=True)
    else:
        X = np.concatenate([np.asarray(X_lab), np.asarray(X_unlab)])
    y = np.concatenate(
        [np.asarray(y_lab, dtype=object), np.full(len(X_unlab), -1, dtype=object)]
    )
    if np.asarray(y_lab).dtype.kind in "iu":
        y = y.astype(np.int64)
    return X, y


class SupervisedTargetAccuracyScorer:
    """Target accuracy with labels: **for benchmarks only** (it cheats in UDA).

    Ignores the rows it is called with and returns the accuracy on the
    labelled target set given here, so that a benchmark can report the oracle
    choice next to the unsupervised scorers.

    Parameters
    ----------
    X_tgt : array-like of shape (n_target, ...)
    y_tgt : array-like of shape (n_target,)
    """

    def __init__(self, X_tgt, y_tgt):
        self.X_tgt = X_tgt
        self.y_tgt = y_tgt

    def __call__(self, estimator, X=None, y=None, sample_weight=None):
        return float(np.mean(estimator.predict(self.X_tgt) == np.asarray(self.y_tgt)))

    def __repr__(self):
        return f"SupervisedTargetAccuracyScorer(<{len(self.y_tgt)} labelled rows>)"


_SCORERS = {
    "entropy": PredictionEntropyScorer,
    "im": InformationMaximizationScorer,
    "snd": SoftNeighborhoodDensityScorer,
    "iwv": ImportanceWeightedScorer,
    "dev": DeepEmbeddedValidationScorer,
    "rv": ReverseValidationScorer,
    "source_accuracy": SourceAccuracyScorer,
}


def get_da_scorer(name, **params):
    """A scorer by short name.

    Parameters
    ----------
    name : {"entropy", "im", "snd", "iwv", "dev", "rv", "source_accuracy"}
    **params
        Passed to the scorer's constructor.

    Returns
    -------
    callable
        ``scorer(estimator, X, y)`` on the stacked form.
    """
    try:
        return _SCORERS[name](**params)
    except KeyError:
        raise ValueError(
            f"Unknown scorer {name!r}; choose from {sorted(_SCORERS)}."
        ) from None


# -- splitter ------------------------------------------------------------------------


class StackedDomainSplit(BaseCrossValidator):
    """K-fold splits of the stacked form that split each domain separately.

    Source rows (label != -1) and target rows (label -1) are split into
    ``n_splits`` folds each (source folds stratified by class when every class
    has at least ``n_splits`` rows), and fold ``k`` of each domain forms
    validation fold ``k``. So every training fold and every validation fold
    holds labelled source rows *and* unlabelled target rows, which the
    scorers of this module need.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int, RandomState or None, default=None
        Used when ``shuffle=True``.
    target : {"split", "all"}, default="split"
        ``"split"``: target rows are split into folds like the source.
        ``"all"``: every training and validation fold holds all target rows
        (the transductive setting, where the model is meant for exactly
        these target rows).

    Examples
    --------
    >>> import numpy as np
    >>> from skuda.selection import StackedDomainSplit
    >>> y = np.array([0, 1, 0, 1, -1, -1, -1, -1])
    >>> [len(test) for _, test in StackedDomainSplit(2).split(np.zeros((8, 1)), y)]
    [4, 4]
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None, target="split"):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.target = target

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits.

        Returns
        -------
        int
        """
        return self.n_splits

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` row indices into the stacked rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
            Labels with ``-1`` for target rows.
        groups : ignored

        Yields
        ------
        train, test : ndarray of int
        """
        if self.target not in ("split", "all"):
            raise ValueError(f"target must be 'split' or 'all'; got {self.target!r}.")
        if y is None:
            raise ValueError("StackedDomainSplit needs y (with -1 for target rows).")
        y = np.asarray(y)
        is_tgt = (y == -1) if y.dtype.kind in "iuf" else np.array([v == -1 for v in y])
        src, tgt = np.flatnonzero(~is_tgt), np.flatnonzero(is_tgt)
        k = self.n_splits
        if len(src) < k:
            raise ValueError(f"{len(src)} source rows cannot be split into {k} folds.")
        if self.target == "split" and len(tgt) < k:
            raise ValueError(
                f"{len(tgt)} target rows (label -1) cannot be split into {k} folds."
            )
        rs = self.random_state if self.shuffle else None
        _, counts = np.unique(y[src], return_counts=True)
        if counts.min() >= k:
            src_folds = StratifiedKFold(k, shuffle=self.shuffle, random_state=rs).split(
                src, y[src]
            )
        else:
            src_folds = KFold(k, shuffle=self.shuffle, random_state=rs).split(src)
        if self.target == "all":
            tgt_folds = ((np.arange(len(tgt)), np.arange(len(tgt))) for _ in range(k))
        else:
            tgt_folds = KFold(k, shuffle=self.shuffle, random_state=rs).split(tgt)
        for (s_tr, s_te), (t_tr, t_te) in zip(src_folds, tgt_folds, strict=True):
            yield (
                np.sort(np.r_[src[s_tr], tgt[t_tr]]),
                np.sort(np.r_[src[s_te], tgt[t_te]]),
            )
