"""Scorers of target predictions and of source accuracy; scorers by name."""

from __future__ import annotations

import numpy as np

from ._base import _DAScorer
from ._importance import DeepEmbeddedValidationScorer, ImportanceWeightedScorer
from ._reverse import ReverseValidationScorer
from ._scores import (
    entropy_score,
    information_maximization_score,
    soft_neighborhood_density,
)


class PredictionEntropyScorer(_DAScorer):
    """Minus the mean entropy of the predictions on target rows.

    See :func:`entropy_score`. Cheap, but it rewards over-confident and
    collapsed models; prefer :class:`InformationMaximizationScorer`.

    References
    ----------
    .. [1] P. Morerio, J. Cavazza and V. Murino, "Minimal-entropy correlation
       alignment for unsupervised deep domain adaptation", ICLR 2018.
    """

    needs_source = False
    needs_classes = True

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

    needs_source = False
    needs_classes = True

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

    needs_source = False
    needs_classes = True

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

    needs_classes = True

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        return float(np.mean(estimator.predict(X_src) == np.asarray(y_src)))


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
    """Return a scorer by short name.

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
    if name == "ensemble":
        raise ValueError(
            "'ensemble' compares the candidates of a search with one another, "
            "so it is not a scorer of one model: use "
            "DASearchCV(estimator, scoring='ensemble')."
        )
    if name not in _SCORERS:
        raise ValueError(f"Unknown scorer {name!r}; choose from {sorted(_SCORERS)}.")
    return _SCORERS[name](**params)
