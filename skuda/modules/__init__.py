"""Building blocks: backbones, heads, the gradient reversal layer, the container."""

from .backbones import MLP
from .conditioning import MultilinearMap, RandomizedMultilinearMap
from .conv import WDCNN, CNN1d
from .conv2d import LeNet
from .grl import GradientReversal, grad_reverse
from .heads import ClassifierHead, DomainDiscriminator, WeightNormLinear
from .network import DANetwork

__all__ = [
    "MLP",
    "MultilinearMap",
    "RandomizedMultilinearMap",
    "WDCNN",
    "CNN1d",
    "LeNet",
    "ClassifierHead",
    "DomainDiscriminator",
    "DANetwork",
    "WeightNormLinear",
    "GradientReversal",
    "grad_reverse",
]
