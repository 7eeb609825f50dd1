"""skorch core shared by every method: one training loop, many loss hooks.

skorch owns the loop, optimizers, callbacks, history and device moves. A method
subclasses :class:`DANet` and implements :meth:`DANet.batch_loss`, returning its
loss terms for one :class:`~skuda._batching.Batch`; the base sums them and
backpropagates inside skorch's ``train_step``. Each term (and any diagnostic a
hook records with :meth:`DANet.log_batch`) goes into skorch's batch-level
history, and its epoch mean into the epoch row. The learning-rate annealing is a
skorch ``LRScheduler`` stepping per batch (:class:`AnnealedLR`), and the
divergence check a callback (:class:`FiniteLoss`).
"""

from __future__ import annotations

import contextlib
import math
from functools import partial

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import LambdaLR

from ._batching import DomainBatches, n_iterations
from ._device import autocast_dtype
from .exceptions import TrainingDivergedError
from .schedules import lr_factor

_SKORCH_BATCH_KEYS = frozenset({"train_loss", "train_batch_size"})
"""Batch-level history entries that skorch itself records and summarises."""


class DANet(NeuralNet):
    """skorch ``NeuralNet`` trained on :class:`~skuda._batching.DomainData`.

    Parameters beyond skorch's
    --------------------------
    batch_seed : int
        Seed of the local generator that draws the batch permutations.
    mixed_precision : {"bf16", "fp16"} or None
        Autocast dtype of the forward passes on CUDA (a no-op elsewhere); with
        ``"fp16"`` the loss is scaled (``torch.amp.GradScaler``).
    """

    use_target = True
    """Whether batches carry target rows (False for source-only training)."""

    def __init__(self, module, *args, batch_seed=0, mixed_precision=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.batch_seed = batch_seed
        self.mixed_precision = mixed_precision

    # -- hooks for methods -------------------------------------------------------
    def batch_loss(self, batch, p):
        """Return a dict of named loss terms for one batch; they are summed.

        Parameters
        ----------
        batch : skuda._batching.Batch
            ``xs``/``ys`` a source batch (None in source-free phases), ``xt`` a
            target batch (None when the method or data has none), ``yt`` the
            net's labels of those target rows (see :meth:`target_labels`).
        p : float
            Training progress in [0, 1].
        """
        raise NotImplementedError

    def target_labels(self):
        """Labels the net holds for every target row (a long tensor), or None.

        Called at the start of each epoch; the batches carry the rows of it
        that match their target rows as ``batch.yt`` (SHOT's pseudo-labels).
        """
        return None

    def target_rows(self, data):
        """Return the unlabelled target rows of ``data`` (:class:`DomainData`) or None.

        Read by callbacks that score the target, e.g.
        :class:`skuda.callbacks.UnsupervisedEarlyStopping`.
        """
        return data.X_tgt

    def target_logits(self, x):
        """Class logits of target rows ``x`` with the network being trained."""
        return self.module_(x)

    def descend(self, optimizer, loss, module, batch):
        """One gradient step of the optimizer named ``optimizer`` on ``loss``.

        For methods whose ``train_step`` makes several updates per batch
        (ADDA): zero the gradients, backpropagate, tell the callbacks
        (``on_grad_computed`` with ``module``'s parameters), step.
        """
        opt = getattr(self, optimizer + "_")
        opt.zero_grad()
        self.backward(loss)
        self.notify(
            "on_grad_computed",
            named_parameters=list(module.named_parameters()),
            batch=batch,
            training=True,
        )
        self._step(opt)

    # -- mixed precision ---------------------------------------------------------
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

    def log_batch(self, name, value):
        """Record ``value`` (float or 0-d tensor) for this batch under ``name``.

        On the CPU a tensor is stored as its float. On an accelerator it is
        stored detached and read later, every :data:`READ_EVERY` batches and at
        the end of the epoch, so logging costs no device synchronisation per
        batch; the batch history then holds its float.
        """
        if isinstance(value, torch.Tensor):
            # A kept CPU tensor, however small, pins the freed activations
            # around it in the C heap: ~60 KB of RSS per batch, measured.
            value = value.item() if value.device.type == "cpu" else value.detach()
        self.history.record_batch(name, value)

    # -- skorch overrides --------------------------------------------------------
    def get_default_callbacks(self):
        return [*super().get_default_callbacks(), ("finite_loss", FiniteLoss())]

    def get_iterator(self, dataset, training=False):
        # Offset by the epochs already run so a warm start draws new batches.
        generator = torch.Generator().manual_seed(self.batch_seed + len(self.history))
        return DomainBatches(
            dataset,
            self.batch_size,
            generator=generator,
            use_target=self.use_target,
            target_labels=self.target_labels,
        )

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_src = 0 if X.X_src is None else len(X.X_src)
        n_tgt = 0 if (X.X_tgt is None or not self.use_target) else len(X.X_tgt)
        self.iterations_per_epoch_ = n_iterations(n_src, n_tgt, self.batch_size)
        self.total_iterations_ = self.max_epochs * self.iterations_per_epoch_
        self.iteration_ = 0
        fp16 = autocast_dtype(getattr(self, "mixed_precision", None), self.device)
        if fp16 is torch.float16:  # bfloat16 has float32's range: no scaling
            self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._set_training(False)
        self.grad_scaler_ = None  # training state only (and CUDA-bound)

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        # Every submodule to train mode once per epoch: a copied or user module
        # may arrive in eval mode while the container reports training=True.
        self._set_training(True)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.iteration_ += 1
            if self.iteration_ % READ_EVERY == 0:  # earlier batches are read
                _read_tensors(self.history[-1, "batches"][-READ_EVERY:])
            if getattr(self, "grad_scaler_", None) is not None:
                self.grad_scaler_.update()  # once per batch, after every step

    def on_epoch_end(self, net, **kwargs):
        batches = self.history[-1, "batches"]
        _read_tensors(batches)
        names = dict.fromkeys(k for row in batches for k in row)  # first-seen order
        for name in [n for n in names if n not in _SKORCH_BATCH_KEYS]:
            values = [row[name] for row in batches if name in row]
            self.history.record(name, _epoch_value(name, values))

    def progress_at(self, iteration):
        """Training progress ``p`` in [0, 1] at ``iteration`` of this fit."""
        return min(1.0, iteration / max(1, self.total_iterations_ - 1))

    @property
    def progress(self):
        """Training progress ``p`` in [0, 1] of the current iteration."""
        return self.progress_at(self.iteration_)

    def train_step_single(self, batch, **fit_params):
        if not self.module_.training:  # set per epoch; skorch's per-batch call costs
            self._set_training(True)  # ~4 % of an epoch on small networks
        with self.autocast():
            terms = self.batch_loss(batch, self.progress)
            loss = sum(terms.values())
        self.backward(loss)
        for name, value in terms.items():
            self.log_batch(name, value)
        return {"loss": loss, "y_pred": None}


READ_EVERY = 1024
"""Batches after which logged accelerator tensors are read into floats."""


def _read_tensors(batches):
    """Replace the tensors logged in ``batches`` by their floats (one sync)."""
    cells = [(row, k) for row in batches for k, v in row.items() if torch.is_tensor(v)]
    if cells:
        values = torch.stack([row[k].float() for row, k in cells]).tolist()
        for (row, k), value in zip(cells, values, strict=True):
            row[k] = value


def _epoch_value(name, values):
    """Summarise an epoch's batch values: the last learning rate, else the mean."""
    if name == "lr":
        return values[-1]
    return sum(values) / len(values)


class FiniteLoss(Callback):
    """Stop training with :class:`~skuda.TrainingDivergedError` on a NaN/inf loss."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # skorch has just called loss.item(), so this check costs no extra sync.
        if training and not math.isfinite(loss.item()):
            raise TrainingDivergedError(
                f"Training diverged: the loss became {loss.item()} at epoch "
                f"{len(net.history)}, iteration {net.iteration_}. Scale the inputs "
                "(e.g. StandardScaler), lower lr, or lower the adversarial weight."
            )


def _annealed_factor(net, step):
    return lr_factor(net.progress_at(step))


class AnnealedLR(LRScheduler):
    """skorch's ``LRScheduler`` annealing ``lr`` by ``lr_factor(p)`` every batch.

    ``mu_p = lr / (1 + 10 p) ** 0.75`` (Ganin & Lempitsky, ICML 2015, Sec. 5.2)
    with ``p`` the progress of the current fit, restarting at 0 on every fit
    (a warm start too). The rate of each batch is recorded in the batch history
    as ``lr``; the epoch row holds the last one.
    """

    def __init__(self):
        super().__init__(policy=LambdaLR, step_every="batch", event_name="lr")

    def on_train_begin(self, net, **kwargs):
        self.batch_idx_ = 0
        self.lr_scheduler_ = LambdaLR(
            net.optimizer_, partial(_annealed_factor, net), last_epoch=-1
        )

    def on_train_end(self, net, **kwargs):
        self.lr_scheduler_ = None  # holds the optimizer; rebuilt by the next fit
