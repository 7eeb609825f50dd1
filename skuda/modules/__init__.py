"""Building blocks: backbones, heads and the gradient reversal layer."""

from .backbones import MLP
from .conv import WDCNN, CNN1d
from .grl import GradientReversal, grad_reverse
from .heads import ClassifierHead, DomainDiscriminator

__all__ = [
    "MLP",
    "WDCNN",
    "CNN1d",
    "ClassifierHead",
    "DomainDiscriminator",
    "GradientReversal",
    "grad_reverse",
]
