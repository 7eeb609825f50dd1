"""skuda: scikit-learn-compatible deep unsupervised domain adaptation."""

from .adda import ADDAClassifier, ADDARegressor
from .baseline import SourceOnlyClassifier, SourceOnlyRegressor
from .cdan import CDANClassifier
from .coral import DeepCORALClassifier, DeepCORALRegressor
from .dann import DANNClassifier, DANNRegressor
from .exceptions import CollapseWarning, FitInterruptedWarning, TrainingDivergedError
from .mcc import MCCClassifier
from .shot import SHOTAdapter

__version__ = "0.1.0"

__all__ = [
    "ADDAClassifier",
    "ADDARegressor",
    "CDANClassifier",
    "DANNClassifier",
    "DANNRegressor",
    "DeepCORALClassifier",
    "DeepCORALRegressor",
    "MCCClassifier",
    "SHOTAdapter",
    "SourceOnlyClassifier",
    "SourceOnlyRegressor",
    "CollapseWarning",
    "FitInterruptedWarning",
    "TrainingDivergedError",
    "__version__",
]
