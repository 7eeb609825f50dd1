"""Building blocks: backbones, heads and the gradient reversal layer."""

from .backbones import MLP
from .grl import GradientReversal, grad_reverse
from .heads import ClassifierHead, DomainDiscriminator

__all__ = [
    "MLP",
    "ClassifierHead",
    "DomainDiscriminator",
    "GradientReversal",
    "grad_reverse",
]
