"""skuda: scikit-learn-compatible deep unsupervised domain adaptation."""

from .baseline import SourceOnlyClassifier
from .dann import DANNClassifier
from .exceptions import TrainingDivergedError

__version__ = "0.1.0"

__all__ = [
    "DANNClassifier",
    "SourceOnlyClassifier",
    "TrainingDivergedError",
    "__version__",
]
