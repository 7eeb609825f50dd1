"""Checks that keep a fit honest: finite losses and networks, real interrupts.

:class:`FiniteLoss` (a default callback of every net) stops on a NaN or
infinite loss; :func:`check_finite_network` checks parameters and outputs once
training ends; :func:`is_requested_stop` tells a callback's early stop from a
user's Ctrl-C (both arrive as ``KeyboardInterrupt``).
"""

from __future__ import annotations

import linecache
import math

import torch
from skorch.callbacks import Callback

from ._batching import map_chunks
from ._distributed import rank_mean
from .exceptions import StopTraining, TrainingDivergedError

SKORCH_BATCH_KEYS = frozenset(
    {"train_loss", "train_batch_size", "valid_loss", "valid_batch_size"}
)
"""Batch-level history entries that skorch itself records and summarises."""

_ADVICE = (
    "Lower lr, scale the inputs (input_scaling='pooled', the default), or lower "
    "the adversarial weight."
)


class FiniteLoss(Callback):
    """Stop training with :class:`~skuda.TrainingDivergedError` on a NaN/inf loss.

    The message names the phase, the epoch and the loss terms (as returned by
    the net's ``batch_loss`` or logged by it) that are not finite. Over
    several processes it reads the mean loss of all of them, so every process
    stops at the same batch (none is left waiting for the others).
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # skorch has just called loss.item(), so this check costs no extra sync.
        if training and getattr(net, "wrapped_", None) is not None:
            loss = torch.tensor(rank_mean(net.accelerator, [loss.item()])[0])
        if training and not math.isfinite(loss.item()):
            row = net.history[-1, "batches", -1]
            bad = [
                f"{name}={float(value)}"
                for name, value in row.items()
                if name not in SKORCH_BATCH_KEYS and not math.isfinite(float(value))
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
