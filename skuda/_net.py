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

import contextlib
import linecache
import math
from functools import partial

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochScoring, LRScheduler
from skorch.utils import to_tensor
from torch.optim.lr_scheduler import LambdaLR

from ._batching import DomainBatches, DomainData, map_chunks, n_iterations
from ._device import autocast_dtype
from ._validation_split import HeldOut, HeldOutBatches
from .exceptions import StopTraining, TrainingDivergedError
from .schedules import lr_factor

_SKORCH_BATCH_KEYS = frozenset(
    {"train_loss", "train_batch_size", "valid_loss", "valid_batch_size"}
)
"""Batch-level history entries that skorch itself records and summarises."""


class DANet(NeuralNet):
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
        self, module, *args, batch_seed=0, phase=None, mixed_precision=None, **kwargs
    ):
        super().__init__(module, *args, **kwargs)
        self.batch_seed = batch_seed
        self.phase = phase
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
        # valid_acc as in skorch's NeuralNetClassifier; it records only when
        # there is validation data (held-out source rows).
        valid_acc = EpochScoring("accuracy", name="valid_acc", lower_is_better=False)
        return [
            *super().get_default_callbacks(),
            ("valid_acc", valid_acc),
            ("finite_loss", FiniteLoss()),
        ]

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, HeldOut):
            return HeldOutBatches(dataset, self.batch_size)
        if not isinstance(dataset, DomainData):  # e.g. net_.predict(X)
            return super().get_iterator(dataset, training=training)
        # Offset by the epochs already run so a warm start draws new batches.
        generator = torch.Generator().manual_seed(self.batch_seed + len(self.history))
        return DomainBatches(
            dataset,
            self.batch_size,
            generator=generator,
            use_target=self.use_target,
            target_labels=self.target_labels,
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
        except ValueError as exc:
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            raise ValueError(
                f"Batch normalisation needs at least 2 rows per training batch, "
                f"but the {self.phase_name} phase had batches of 1 row ({self.rows_}, "
                f"batch_size={self.batch_size}). Use batch_size >= 2 and at least "
                "2 rows per domain, or a network without batch norm "
                "(batch_norm=False)."
            ) from exc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self._count_iterations(X)
        self.iteration_ = 0
        self.epoch_ = 0
        fp16 = autocast_dtype(getattr(self, "mixed_precision", None), self.device)
        if fp16 is torch.float16:  # bfloat16 has float32's range: no scaling
            self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type)
        if self.phase is not None and self.verbose:
            print(f"[{self.phase} phase]")

    def _count_iterations(self, data):
        n_src = 0 if data.X_src is None else len(data.X_src)
        n_tgt = 0 if (data.X_tgt is None or not self.use_target) else len(data.X_tgt)
        self.rows_ = f"{n_src} source rows, {n_tgt} target rows"
        self.iterations_per_epoch_ = n_iterations(n_src, n_tgt, self.batch_size)
        self.total_iterations_ = self.max_epochs * self.iterations_per_epoch_

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._set_training(False)
        self.grad_scaler_ = None  # training state only (and CUDA-bound)

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
        for name in [n for n in names if n not in _SKORCH_BATCH_KEYS]:
            values = [row[name] for row in batches if name in row]
            self.history.record(name, _epoch_value(name, values))

    def infer(self, x, **fit_params):
        # skorch's validation and prediction use the estimator's prediction
        # path (ADDA: the target encoder), not the network's forward.
        return self.target_logits(to_tensor(x, device=self.device))

    def predict(self, X):
        """Return class indices, the argmax of ``predict_proba`` (as skorch's)."""
        return self.predict_proba(X).argmax(axis=1)

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


_ADVICE = (
    "Lower lr, scale the inputs (input_scaling='pooled', the default), or lower "
    "the adversarial weight."
)


class FiniteLoss(Callback):
    """Stop training with :class:`~skuda.TrainingDivergedError` on a NaN/inf loss.

    The message names the phase, the epoch and the loss terms (as returned by
    the net's ``batch_loss`` or logged by it) that are not finite.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # skorch has just called loss.item(), so this check costs no extra sync.
        if training and not math.isfinite(loss.item()):
            row = net.history[-1, "batches", -1]
            bad = [
                f"{name}={float(value)}"
                for name, value in row.items()
                if name not in _SKORCH_BATCH_KEYS and not math.isfinite(float(value))
            ]
            terms = f" (loss terms: {', '.join(bad)})" if bad else ""
            raise TrainingDivergedError(
                f"Training diverged at epoch {net.epoch_} of the {net.phase_name} "
                f"phase (iteration {net.iteration_}): the loss became "
                f"{loss.item()}{terms}. " + _ADVICE
            )


def check_finite_network(net, data):
    """Raise :class:`~skuda.TrainingDivergedError` unless ``net`` is finite.

    Checks every parameter and buffer of ``net.module_``, then the class
    logits of every row of ``data`` (:class:`DomainData`) along the
    prediction path (``net.target_logits``, in eval mode): a float32
    overflow in the forward pass shows only there.
    """
    tensors = dict(net.module_.named_parameters())
    tensors.update(net.module_.named_buffers())
    floats = {k: t for k, t in tensors.items() if t.is_floating_point()}
    if floats and not torch.stack([t.isfinite().all() for t in floats.values()]).all():
        names = [k for k, t in floats.items() if not t.isfinite().all()]
        raise TrainingDivergedError(
            f"Training diverged at epoch {net.epoch_} of the {net.phase_name} phase: "
            f"after its last step, {len(names)} parameter tensor(s) hold NaN or "
            "infinity "
            f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}). " + _ADVICE
        )
    net.module_.eval()
    with torch.inference_mode():
        for rows in (data.X_src, data.X_tgt):
            if rows is None:
                continue
            finite = map_chunks(lambda x: net.target_logits(x).isfinite().all(1), rows)
            if not finite.all():
                raise TrainingDivergedError(
                    f"Training diverged at epoch {net.epoch_} of the {net.phase_name} "
                    "phase: after its last step the network's outputs are NaN or "
                    "infinite for "
                    f"{int((~finite).sum())} of {len(rows)} training rows (a float32 "
                    "overflow). " + _ADVICE
                )


def is_requested_stop(exc):
    """Whether the KeyboardInterrupt ``exc`` is a callback's request to stop.

    skuda's callbacks raise :class:`~skuda.exceptions.StopTraining`; skorch's
    ``EarlyStopping`` (and many user callbacks) a plain ``KeyboardInterrupt``
    from a ``raise`` statement in a callback method. A real interrupt (Ctrl-C,
    SIGINT) surfaces wherever the interpreter was, which is only by chance a
    callback's frame and then not at a ``raise`` line.
    """
    if isinstance(exc, StopTraining):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or not isinstance(tb.tb_frame.f_locals.get("self"), Callback):
        return False
    line = linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
    return line.strip().startswith("raise")


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
