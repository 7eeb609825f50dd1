"""Data-parallel training over several processes through Hugging Face Accelerate.

Every process runs the same script, calls ``fit`` with the same data and the
same ``accelerator=Accelerator()`` (started by ``accelerate launch`` or
``torchrun``), and trains its own disjoint share of every epoch
(:class:`~skuda._batching.DomainBatches` with ``rank``/``world_size``). The
network is wrapped by ``accelerator.prepare_model`` (DistributedDataParallel
with several processes) and each training step computes the method's loss
terms through *one* call of the wrapped module
(:meth:`skuda.modules.DANetwork.forward` with ``loss=``), so DDP sees every
parameter the loss uses and averages the gradients across processes. The
wrapper exists only during training: ``net_.module_`` stays the plain network.

Nothing here imports ``accelerate``: the accelerator is used through its
attributes (``device``, ``process_index``, ``num_processes``,
``prepare_model``, ``wait_for_everyone``) and ``torch.distributed``.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from skorch.callbacks import Callback

_NEEDS = ("device", "process_index", "num_processes", "prepare_model")


def ranks(accelerator):
    """``(rank, world_size)`` of this process; ``(0, 1)`` without an accelerator."""
    if accelerator is None:
        return 0, 1
    return int(accelerator.process_index), int(accelerator.num_processes)


def accelerator_device(estimator):
    """Check ``estimator.accelerator`` and return the device string of this process.

    Raises TypeError for an object that is not an ``accelerate.Accelerator``,
    ValueError for settings skuda does not route through it (its own
    mixed precision, gradient accumulation) or for an explicit ``device``.
    """
    acc = estimator.accelerator
    missing = [name for name in _NEEDS if not hasattr(acc, name)]
    if missing:
        raise TypeError(
            "accelerator must be an accelerate.Accelerator (or None); got "
            f"{type(acc).__name__}, without {', '.join(missing)}."
        )
    if str(getattr(acc, "mixed_precision", "no")) != "no":
        raise ValueError(
            "accelerator: create it without mixed_precision "
            f"(got {acc.mixed_precision!r}) and set the estimator's "
            "mixed_precision parameter instead."
        )
    if getattr(acc, "gradient_accumulation_steps", 1) != 1:
        raise ValueError(
            "accelerator: gradient_accumulation_steps must be 1 (got "
            f"{acc.gradient_accumulation_steps}); raise batch_size instead."
        )
    if ranks(acc)[1] > 1 and not _distributed(acc):
        raise ValueError(
            f"accelerator: it belongs to a run of {acc.num_processes} processes "
            "that is not running here (an Accelerator unpickled or copied from "
            "another run?). Create Accelerator() in this process, or set "
            "accelerator=None."
        )
    if not (isinstance(estimator.device, str) and estimator.device == "auto"):
        raise ValueError(
            f"device={estimator.device!r} with an accelerator: leave device='auto'; "
            "the accelerator places each process on its own device."
        )
    device = torch.device(acc.device)
    # "cpu:0" (multi-CPU runs) would tag pickled tensors with a location
    # torch cannot restore.
    return "cpu" if device.type == "cpu" else str(device)


def _distributed(accelerator):
    return ranks(accelerator)[1] > 1 and dist.is_available() and dist.is_initialized()


def agree_on_seeds(accelerator, seeds, n_rows):
    """Return rank 0's ``seeds``; check that every process has as many rows.

    With ``random_state=None`` each process draws its own seeds: all take
    rank 0's, so the initial weights and the shared batch permutations agree.
    ``n_rows`` (the sizes of the domains) must be equal on every rank: each
    process must fit on the same data.
    """
    if not _distributed(accelerator):
        return seeds
    mine = [tuple(seeds), tuple(n_rows)]
    everyone = [None] * ranks(accelerator)[1]
    dist.all_gather_object(everyone, mine)
    sizes = {row[1] for row in everyone}
    if len(sizes) > 1:
        raise ValueError(
            "Every process must fit on the same data; the processes got domains "
            f"of different sizes: {sorted(sizes)} rows."
        )
    return everyone[0][0]


def wrap(net):
    """Wrap ``net.module_`` for training (DDP with several processes); seed dropout.

    Weight init is the same on every process (the same seed); dropout and any
    other draw during training then differs per process.
    """
    acc = net.accelerator
    # Not registered as a skorch module (skorch would save, move and copy it):
    # a training-only view of ``module_``, which skorch already tracks.
    vars(net)["wrapped_"] = acc.prepare_model(net.module_)
    rank, _ = ranks(acc)
    torch.manual_seed(net.batch_seed + len(net.history) + 104729 * (rank + 1))


def sync_buffers(net):
    """Give every process the same buffers: float ones averaged, others rank 0's.

    DDP broadcasts rank 0's buffers at the start of each forward, but each
    process then updates its own (batch norm's running statistics) from its
    share: after the last step of an epoch they differ, and so would the
    validation scores and the final model.
    """
    acc = net.accelerator
    if not _distributed(acc):
        return
    for buf in net.module_.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf /= ranks(acc)[1]
        else:
            dist.broadcast(buf, 0)


def unwrap(net):
    """Wait until every process is done; drop the wrapper and the accelerator.

    The accelerator belongs to this run's processes: the fitted net keeps
    none, so it copies and unpickles anywhere (a warm start sets the
    estimator's again).
    """
    vars(net)["wrapped_"] = None
    if net.accelerator is not None:
        net.accelerator.wait_for_everyone()
        net.accelerator = None


def main_process_print(text):
    """``print`` on the main process only (skorch's ``PrintLog`` sink)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0:
        print(text)


def rank_mean(accelerator, values):
    """Mean over the processes of each float in ``values`` (one all-reduce)."""
    if not _distributed(accelerator) or not values:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.to(accelerator.device)
    dist.all_reduce(t)
    return (t / ranks(accelerator)[1]).tolist()


class RankMean(Callback):
    """Replace the epoch's losses and logged terms by their mean over processes.

    Each process records the means of its own share of the epoch; every
    process shares batch size and batch count, so the mean of those means is
    the epoch mean over all rows. Runs after skorch's loss scoring and before
    the user's callbacks (early stopping sees the reduced values).
    """

    def __init__(self, names):
        self.names = names

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        names = [n for n in self.names(net) if isinstance(row.get(n), float)]
        for name, value in zip(
            names, rank_mean(net.accelerator, [row[n] for n in names]), strict=True
        ):
            net.history.record(name, value)
