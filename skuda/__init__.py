"""skuda: scikit-learn-compatible deep unsupervised domain adaptation."""

from .adda import ADDAClassifier
from .baseline import SourceOnlyClassifier
from .dann import DANNClassifier
from .exceptions import CollapseWarning, FitInterruptedWarning, TrainingDivergedError
from .mcc import MCCClassifier
from .shot import SHOTAdapter

__version__ = "0.1.0"

__all__ = [
    "ADDAClassifier",
    "DANNClassifier",
    "MCCClassifier",
    "SHOTAdapter",
    "SourceOnlyClassifier",
    "CollapseWarning",
    "FitInterruptedWarning",
    "TrainingDivergedError",
    "__version__",
]
