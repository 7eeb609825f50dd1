"""skorch core shared by every method: one training loop, many loss hooks.

skorch owns the loop, optimizers, callbacks, history and device moves. A method
subclasses :class:`DANet` and implements :meth:`DANet.batch_loss`, returning its
loss terms for one :class:`~skuda._batching.Batch`; the base sums them and
backpropagates inside skorch's ``train_step``. Each term (and any diagnostic a
hook records with :meth:`DANet.log_batch`) goes into skorch's batch-level
history, and its epoch mean into the epoch row. The learning-rate annealing is a
skorch ``LRScheduler`` stepping per batch (:class:`AnnealedLR`), and the
divergence check a callback (:class:`FiniteLoss`). With held-out source rows
(``train_split``, see :mod:`skuda._validation_split`) skorch's own validation
loop records ``valid_loss`` and the default callback ``valid_acc``.
"""

from __future__ import annotations

from functools import partial

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochScoring, LRScheduler
from skorch.utils import to_tensor
from torch.optim.lr_scheduler import LambdaLR

from ._batching import DomainBatches, DomainData, n_iterations
from ._device import autocast_dtype
from ._distributed import RankMean, ranks, sync_buffers, unwrap, wrap
from ._guards import (
    SKORCH_BATCH_KEYS,
    FiniteLoss,
    check_finite_network,
    is_requested_stop,
)
from ._precision import MixedPrecisionMixin
from ._validation_split import HeldOut, HeldOutBatches
from .schedules import lr_factor

# Attribute values that must be pickled with torch.save (see DANet.__getstate__).
TORCH_STATE = (torch.Tensor, torch.nn.Module, torch.optim.Optimizer)


class DANet(MixedPrecisionMixin, NeuralNet):
    """skorch ``NeuralNet`` trained on :class:`~skuda._batching.DomainData`.

    Parameters beyond skorch's
    --------------------------
    batch_seed : int
        Seed of the local generator that draws the batch permutations.
    phase : {"source", "adaptation"} or None
        The training phase of a two-phase method: recorded per epoch in the
        history as ``phase``, printed above the table with ``verbose``, and
        named in messages (a single-phase method's is "training").
    mixed_precision : {"bf16", "fp16"} or None
        Autocast dtype of the forward passes on CUDA (a no-op elsewhere); with
        ``"fp16"`` the loss is scaled (``torch.amp.GradScaler``).
    accelerator : accelerate.Accelerator or None
        Data-parallel training over the accelerator's processes (see
        :mod:`skuda._distributed`); None trains in this process alone. Set to
        None when training ends (it belongs to the run's processes).

    Attributes beyond skorch's
    --------------------------
    epoch_ : int
        Epochs begun in the current (or last) fit.
    interrupted_ : int or None
        The epoch at which a user interrupt (Ctrl-C) ended the last fit; None
        when it ran to the end or a callback stopped it (early stopping).
    """

    use_target = True
    """Whether batches carry target rows (False for source-only training)."""

    @property
    def phase_name(self):
        """Name of this training phase in messages ("training" if single)."""
        return self.phase or "training"

    def __init__(
        self,
        module,
        *args,
        batch_seed=0,
        phase=None,
        mixed_precision=None,
        accelerator=None,
        min_iterations=1,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.batch_seed = batch_seed
        self.min_iterations = min_iterations
        self.phase = phase
        self.mixed_precision = mixed_precision
        self.accelerator = accelerator

    # -- pickling ----------------------------------------------------------------
    def __getstate__(self):
        """Return skorch's state, every attribute holding torch state torch-saved.

        skorch pickles the attributes named in ``cuda_dependent_attributes_``
        (``module_``, ``optimizer_``, ``criterion_``) with ``torch.save`` and
        loads them with a ``map_location``, so a net fitted on a GPU unpickles
        on a machine without one. Everything else goes through plain pickle,
        and a CUDA tensor there fails to load without CUDA. So the module
        instance passed as ``module`` (the same object as ``module_``), ADDA's
        discriminator optimizer and SHOT's pseudo-labels and prior travel the
        torch way too; ``torch.save`` keeps ``module is module_``.
        """
        saved = self.cuda_dependent_attributes_
        extra = [
            key
            for key, value in vars(self).items()
            if isinstance(value, TORCH_STATE) and key not in saved
        ]
        self.cuda_dependent_attributes_ = [*saved, *extra]
        try:
            state = super().__getstate__()
        finally:
            self.cuda_dependent_attributes_ = saved
        state["cuda_dependent_attributes_"] = saved  # the unpickled net's own list
        return state

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

    def task_loss(self, logits, batch):
        """Return the criterion on the source rows of ``batch`` (``logits`` theirs).

        Without weights (``batch.ws`` None) this is ``criterion_(logits, ys)``.
        With weights it is the weighted mean of the per-row criterion over the
        batch, ``sum(w_i l_i) / sum(w_i)`` (as ``CrossEntropyLoss(weight=)``
        normalises); a batch whose weights are all zero contributes 0.
        """
        if batch.ws is None:
            return self.criterion_(logits, batch.ys)
        return weighted_mean(self.criterion_, logits, batch.ys, batch.ws)

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
        # valid_acc as in skorch's NeuralNetClassifier (regressors: valid_r2); it
        # records only when there is validation data (held-out source rows).
        name = "r2" if self._regression else "accuracy"
        valid = EpochScoring(name, name=f"valid_{name[:3]}", lower_is_better=False)
        callbacks = [
            *super().get_default_callbacks(),
            (f"valid_{name[:3]}", valid),
            ("finite_loss", FiniteLoss()),
        ]
        if getattr(self, "accelerator", None) is not None:
            callbacks.append(("rank_mean", RankMean(_reduced_names)))
        return callbacks

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, HeldOut):
            return HeldOutBatches(dataset, self.batch_size)
        if not isinstance(dataset, DomainData):  # e.g. net_.predict(X)
            return super().get_iterator(dataset, training=training)
        # Offset by the epochs already run so a warm start draws new batches.
        generator = torch.Generator().manual_seed(self.batch_seed + len(self.history))
        rank, world_size = ranks(getattr(self, "accelerator", None))
        return DomainBatches(
            dataset,
            self.batch_size,
            generator=generator,
            use_target=self.use_target,
            target_labels=self.target_labels,
            rank=rank,
            world_size=world_size,
            min_iterations=self.min_iterations,
        )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train on ``X`` (:class:`DomainData`); see skorch's ``partial_fit``.

        Then check that every parameter and buffer, and the outputs on the
        training rows, are finite: a blow-up in the last step (which no loss
        saw) raises :class:`~skuda.TrainingDivergedError` too.
        """
        self.interrupted_ = None
        super().partial_fit(X, y, classes, **fit_params)
        check_finite_network(self, X)
        return self

    def fit_loop(self, X, y=None, epochs=None, **kwargs):
        # skorch's partial_fit swallows KeyboardInterrupt, which callbacks also
        # raise to stop early. Note which was which: a user interrupt must end
        # the whole fit, not just this phase.
        try:
            return super().fit_loop(X, y, epochs, **kwargs)
        except KeyboardInterrupt as exc:
            if not is_requested_stop(exc):
                self.interrupted_ = self.epoch_
            raise

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        try:
            super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
            if training and getattr(self, "wrapped_", None) is not None:
                sync_buffers(self)  # before validation and the epoch's callbacks
        except ValueError as exc:
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            raise ValueError(
                f"Batch normalisation needs at least 2 rows per training batch, "
                f"but the {self.phase_name} phase had batches of 1 row ({self.rows_}, "
                f"batch_size={self.batch_size}). Use batch_size >= 2 and at least "
                "2 rows per domain (1 sample is too few), or a network without "
                "batch norm (batch_norm=False)."
            ) from exc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self._count_iterations(X)
        self.iteration_ = 0
        self.epoch_ = 0
        vars(self)["wrapped_"] = None  # see skuda._distributed.wrap
        if getattr(self, "accelerator", None) is not None:
            wrap(self)
        fp16 = autocast_dtype(getattr(self, "mixed_precision", None), self.device)
        if fp16 is torch.float16:  # bfloat16 has float32's range: no scaling
            self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type)
        if self.phase is not None and self.verbose:
            print(f"[{self.phase} phase]")

    def _count_iterations(self, data):
        n_src = 0 if data.X_src is None else len(data.X_src)
        n_tgt = 0 if (data.X_tgt is None or not self.use_target) else len(data.X_tgt)
        self.rows_ = f"{n_src} source rows, {n_tgt} target rows"
        world_size = ranks(getattr(self, "accelerator", None))[1]
        self.iterations_per_epoch_ = n_iterations(
            n_src, n_tgt, self.batch_size * world_size, self.min_iterations
        )
        self.total_iterations_ = self.max_epochs * self.iterations_per_epoch_

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._set_training(False)
        self.grad_scaler_ = None  # training state only (and CUDA-bound)
        unwrap(self)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, **kwargs)
        self.epoch_ += 1
        if self.iteration_ == 0 and isinstance(dataset_train, DomainData):
            # The training rows, without the held-out ones, set the progress p.
            self._count_iterations(dataset_train)
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
        if self.phase is not None:
            self.history.record("phase", self.phase)
        batches = self.history[-1, "batches"]
        _read_tensors(batches)
        names = dict.fromkeys(k for row in batches for k in row)  # first-seen order
        for name in [n for n in names if n not in SKORCH_BATCH_KEYS]:
            values = [row[name] for row in batches if name in row]
            self.history.record(name, _epoch_value(name, values))

    def infer(self, x, **fit_params):
        # skorch's validation and prediction use the estimator's prediction
        # path (ADDA: the target encoder), not the network's forward.
        return self.target_logits(to_tensor(x, device=self.device))

    @property
    def _regression(self):
        """Whether the label loss is a regression loss (the criterion, MSE)."""
        return self.criterion is torch.nn.MSELoss

    def predict(self, X):
        """Return class indices, the argmax of ``predict_proba`` (as skorch's).

        A regression net returns its (standardised) outputs.
        """
        out = self.predict_proba(X)
        return out if self._regression else out.argmax(axis=1)

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
            terms = self._loss_terms(batch, self.progress)
            loss = sum(terms.values())
        self.backward(loss)
        for name, value in terms.items():
            self.log_batch(name, value)
        return {"loss": loss, "y_pred": None}

    def _loss_terms(self, batch, p):
        wrapped = getattr(self, "wrapped_", None)
        if wrapped is None:
            return self.batch_loss(batch, p)
        # One forward of the (DDP-)wrapped network computes every term.
        return wrapped(batch.lead, loss=partial(self.batch_loss, batch, p))


def _reduced_names(net):
    """Epoch entries averaged over processes: the training loss and logged terms."""
    names = dict.fromkeys(k for row in net.history[-1, "batches"] for k in row)
    return ["train_loss", *(n for n in names if n not in SKORCH_BATCH_KEYS)]


def weighted_mean(criterion, logits, y, weights):
    """``sum(w_i l_i) / sum(w_i)`` of ``criterion``'s per-row losses ``l_i``.

    ``criterion`` is a torch loss module with a ``reduction`` attribute, called
    with ``reduction="none"`` (restored after).
    """
    reduction = criterion.reduction
    criterion.reduction = "none"
    try:
        per_row = criterion(logits, y)
    finally:
        criterion.reduction = reduction
    per_row = per_row.reshape(len(weights), -1).mean(dim=1)
    weights = weights.to(per_row.dtype)
    return (weights * per_row).sum() / weights.sum().clamp_min(1e-12)


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
