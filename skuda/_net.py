"""skorch core shared by every method: one training loop, many loss hooks.

skorch owns the loop, optimizers, callbacks, history and device moves. A method
subclasses :class:`DANet` and implements :meth:`DANet.batch_loss`, returning its
loss terms; the base sums them, backpropagates, applies the learning-rate
schedule, checks for divergence and logs each term's epoch mean in ``history``.
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from torch import nn

from ._batching import DomainBatches, n_iterations
from .exceptions import TrainingDivergedError
from .schedules import lr_factor

INFERENCE_CHUNK = 65536
"""Rows per forward pass when a whole domain goes through a network at once."""


def map_chunks(fn, X, size=INFERENCE_CHUNK):
    """``fn`` applied to consecutive row chunks of ``X``, outputs concatenated.

    ``X`` may be a tensor or an array; ``fn`` returns a tensor or a tuple of
    tensors (concatenated element-wise). Bounds the memory of inference on
    large domains; the caller chooses ``no_grad``/``inference_mode``.
    """
    outs = [fn(X[start : start + size]) for start in range(0, len(X), size)]
    if isinstance(outs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outs, strict=True))
    return torch.cat(outs)


class DANetwork(nn.Module):
    """Container of a method's networks: ``encoder``, ``head`` and any extras.

    ``forward`` is the prediction path ``head(encoder(x))``; extra networks (a
    domain discriminator, ADDA's target encoder) are registered as submodules
    so that skorch moves, saves and (re)initialises them with the rest.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, **extras: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head
        for name, module in extras.items():
            self.add_module(name, module)

    def forward(self, x):
        return self.head(self.encoder(x))


class DANet(NeuralNet):
    """skorch ``NeuralNet`` trained on :class:`~skuda._batching.DomainData`.

    Parameters beyond skorch's
    --------------------------
    batch_seed : int
        Seed of the local generator that draws the batch permutations.
    lr_schedule : {"dann", "constant"}
        ``"dann"`` anneals every optimizer's learning rate by
        :func:`skuda.schedules.lr_factor` of the training progress, per batch.
    """

    use_target = True
    """Whether batches carry target rows (False for source-only training)."""

    def __init__(self, module, *args, batch_seed=0, lr_schedule="dann", **kwargs):
        super().__init__(module, *args, **kwargs)
        self.batch_seed = batch_seed
        self.lr_schedule = lr_schedule

    # -- hooks for methods -------------------------------------------------------
    def batch_loss(self, xs, ys, xt, p):
        """Return a dict of named loss terms for one batch; they are summed.

        ``xs``/``ys`` are a source batch (None in source-free phases), ``xt`` a
        target batch (None when the method or data has none) and ``p`` the training
        progress in [0, 1].
        """
        raise NotImplementedError

    def target_rows(self, data):
        """The unlabelled target rows of ``data`` (a :class:`DomainData`), or None.

        Read by callbacks that score the target, e.g.
        :class:`skuda.callbacks.UnsupervisedEarlyStopping`.
        """
        return data.X_tgt

    def target_logits(self, x):
        """Class logits of target rows ``x`` with the network being trained."""
        return self.module_(x)

    def log(self, name, value):
        """Add ``value`` (float or 0-d tensor) to this epoch's mean of ``name``."""
        if isinstance(value, torch.Tensor):
            value = value.detach()
        self._epoch_logs.setdefault(name, []).append(value)

    # -- skorch overrides --------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        # Offset by the epochs already run so a warm start draws new batches.
        generator = torch.Generator().manual_seed(self.batch_seed + len(self.history))
        return DomainBatches(
            dataset, self.batch_size, generator=generator, use_target=self.use_target
        )

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_src = 0 if X.X_src is None else len(X.X_src)
        n_tgt = 0 if (X.X_tgt is None or not self.use_target) else len(X.X_tgt)
        self.iterations_per_epoch_ = n_iterations(n_src, n_tgt, self.batch_size)
        self.total_iterations_ = self.max_epochs * self.iterations_per_epoch_
        self.iteration_ = 0
        for group in self._param_groups():
            group.setdefault("initial_lr", group["lr"])

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._set_training(False)

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self._epoch_logs = {}
        # Every submodule to train mode once per epoch: a copied or user module
        # may arrive in eval mode while the container reports training=True.
        self._set_training(True)

    def on_epoch_end(self, net, **kwargs):
        for name, values in self._epoch_logs.items():
            if isinstance(values[0], torch.Tensor):
                value = torch.stack([v.float() for v in values]).mean().item()
            else:
                value = sum(values) / len(values)
            self.history.record(name, value)
        if self.lr_schedule == "dann":
            self.history.record("lr", self._param_groups()[0]["lr"])

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # skorch has just called loss.item(), so this check costs no extra sync.
        if training and not math.isfinite(loss.item()):
            raise TrainingDivergedError(
                f"Training diverged: the loss became {loss.item()} at epoch "
                f"{len(self.history)}, iteration {self.iteration_}. Scale the inputs "
                "(e.g. StandardScaler), lower lr, or lower the adversarial weight."
            )

    @property
    def progress(self):
        """Training progress ``p`` in [0, 1] of the current iteration."""
        return min(1.0, self.iteration_ / max(1, self.total_iterations_ - 1))

    def train_step(self, batch, **fit_params):
        if self.lr_schedule == "dann":
            factor = lr_factor(self.progress)
            for group in self._param_groups():
                group["lr"] = group["initial_lr"] * factor
        step = super().train_step(batch, **fit_params)
        self.iteration_ += 1
        return step

    def train_step_single(self, batch, **fit_params):
        if (
            not self.module_.training
        ):  # set per epoch; skorch's per-batch call costs ~4 %
            self._set_training(True)
        _, xs, ys, xt = batch
        terms = self.batch_loss(xs, ys, xt, self.progress)
        loss = sum(terms.values())
        loss.backward()
        for name, value in terms.items():
            self.log(name, value)
        return {"loss": loss, "y_pred": None}

    def _param_groups(self):
        return [
            group
            for name in self._optimizers
            for group in getattr(self, name + "_").param_groups
        ]
