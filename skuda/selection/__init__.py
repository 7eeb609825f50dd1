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
(rows labelled ``-1`` are target rows; ``NaN`` for regressors), returns a float
where higher is better, and reads no target label: it never receives one. For
regressors, IWV, DEV and reverse validation score the squared error; the
scorers of class probabilities refuse them (see the user guide's "Regression").

:class:`DASearchCV` does all of this in one line: default grid, recommended
scorer, splitter and refit, on the three-argument form too.

Which to use: see the user guide's "Model selection" page, which reports the
measured regret of each scorer (``benchmarks/selection.py``).
"""

from ._importance import DeepEmbeddedValidationScorer, ImportanceWeightedScorer
from ._reverse import ReverseValidationScorer
from ._scorers import (
    InformationMaximizationScorer,
    PredictionEntropyScorer,
    SoftNeighborhoodDensityScorer,
    SourceAccuracyScorer,
    get_da_scorer,
)
from ._scores import (
    entropy_score,
    information_maximization_score,
    soft_neighborhood_density,
)
from ._search import DEFAULT_GRIDS, DASearchCV, default_grid
from ._split import LeaveOneDomainOut, StackedDomainSplit

__all__ = [
    "DEFAULT_GRIDS",
    "DASearchCV",
    "DeepEmbeddedValidationScorer",
    "ImportanceWeightedScorer",
    "InformationMaximizationScorer",
    "LeaveOneDomainOut",
    "PredictionEntropyScorer",
    "ReverseValidationScorer",
    "SoftNeighborhoodDensityScorer",
    "SourceAccuracyScorer",
    "StackedDomainSplit",
    "entropy_score",
    "default_grid",
    "get_da_scorer",
    "information_maximization_score",
    "soft_neighborhood_density",
]
