"""skuda: scikit-learn-compatible deep unsupervised domain adaptation."""

from .adda import ADDAClassifier
from .baseline import SourceOnlyClassifier
from .cdan import CDANClassifier
from .coral import DeepCORALClassifier
from .dann import DANNClassifier
from .exceptions import CollapseWarning, FitInterruptedWarning, TrainingDivergedError
from .mcc import MCCClassifier
from .shot import SHOTAdapter

__version__ = "0.1.0"

__all__ = [
    "ADDAClassifier",
    "CDANClassifier",
    "DANNClassifier",
    "DeepCORALClassifier",
    "MCCClassifier",
    "SHOTAdapter",
    "SourceOnlyClassifier",
    "CollapseWarning",
    "FitInterruptedWarning",
    "TrainingDivergedError",
    "__version__",
]
