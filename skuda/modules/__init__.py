"""Building blocks: backbones, heads, the gradient reversal layer, the container."""

from .backbones import MLP
from .conditioning import MultilinearMap, RandomizedMultilinearMap
from .conv import WDCNN, CNN1d
from .grl import GradientReversal, grad_reverse
from .heads import ClassifierHead, DomainDiscriminator, WeightNormLinear
from .network import DANetwork

__all__ = [
    "MLP",
    "MultilinearMap",
    "RandomizedMultilinearMap",
    "WDCNN",
    "CNN1d",
    "ClassifierHead",
    "DomainDiscriminator",
    "DANetwork",
    "WeightNormLinear",
    "GradientReversal",
    "grad_reverse",
]
