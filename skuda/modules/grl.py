"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015, Sec. 3.2)."""

from __future__ import annotations

import torch
from torch import nn


class _GradientReversal(torch.autograd.Function):
    """Identity on the forward pass, multiplies the gradient by ``-coeff`` backward."""

    @staticmethod
    def forward(ctx, x, coeff):
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return -ctx.coeff * grad_output, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Apply the gradient reversal layer ``R_coeff`` to ``x``.

    Forward: ``R(x) = x``. Backward: ``dR/dx = -coeff * I``, so parameters before
    the layer ascend the loss that parameters after it descend.

    Parameters
    ----------
    x : Tensor
    coeff : float, default=1.0
        The adversarial weight lambda (non-negative).

    Returns
    -------
    Tensor
    """
    return _GradientReversal.apply(x, float(coeff))


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse` with a settable ``coeff``."""

    def __init__(self, coeff: float = 1.0):
        super().__init__()
        self.coeff = coeff

    def forward(self, x):
        """Return ``x``; its gradient is multiplied by ``-coeff`` on the way back."""
        return grad_reverse(x, self.coeff)

    def extra_repr(self):
        """Show ``coeff`` in the module's repr."""
        return f"coeff={self.coeff}"
