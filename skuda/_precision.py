"""Mixed precision of a skorch net: autocast and float16 loss scaling on CUDA."""

from __future__ import annotations

import contextlib

import torch

from ._device import autocast_dtype


class MixedPrecisionMixin:
    """Forward passes under CUDA autocast; float16 gradients scaled.

    Reads the net's ``mixed_precision`` (``"bf16"``, ``"fp16"`` or None) and
    ``device``, and the ``grad_scaler_`` the net creates for float16 training;
    everything is a no-op off CUDA.
    """

    def autocast(self):
        """Context of the forward passes: CUDA autocast with ``mixed_precision``.

        A no-op (``contextlib.nullcontext``) without mixed precision or off CUDA.
        """
        dtype = autocast_dtype(getattr(self, "mixed_precision", None), self.device)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(self.device).type, dtype=dtype)

    def backward(self, loss):
        """Backpropagate ``loss``, scaled when training in float16."""
        scaler = getattr(self, "grad_scaler_", None)
        (loss if scaler is None else scaler.scale(loss)).backward()

    def _step(self, optimizer):
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            optimizer.step()
        else:  # skips the step when the scaled gradients overflowed
            scaler.step(optimizer)

    def _step_optimizer(self, step_fn):
        if getattr(self, "grad_scaler_", None) is None:
            return super()._step_optimizer(step_fn)
        step_fn()  # GradScaler takes no closure
        for name in self._optimizers:
            self._step(getattr(self, name + "_"))
