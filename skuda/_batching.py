"""The fast data path: each domain is one tensor on the device, batched by index.

No row is ever fetched through ``Dataset.__getitem__``: an epoch draws one random
permutation per domain (``torch.randperm`` with a local generator) and slices it.

Epoch definition
----------------
One epoch is ``ceil(n_max / batch_size)`` iterations, where ``n_max`` is the size of
the larger domain (of the source alone when the method ignores the target). Each
iteration takes ``min(batch_size, n_domain)`` rows from *each* domain. Every domain
reads its rows from an endless stream of fresh random permutations, so the larger
domain is seen about once per epoch and the smaller one is cycled: all of its rows
are used once before any is used again, and leftovers carry over to the next epoch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.utils.data import Dataset


class Batch(NamedTuple):
    """One training step's rows of each domain.

    ``lead`` is ``xs`` (or ``xt`` when there is no source batch): skorch reads
    the batch size from the first element of a batch, so it is never None.
    ``xs``/``ys`` are None for target-only data (source-free adaptation);
    ``xt`` is None when there are no target rows or the method ignores them.
    ``yt`` holds labels of the target rows that the *net* owns (e.g. SHOT's
    pseudo-labels), never the user's; None when the net provides none.
    """

    lead: torch.Tensor
    xs: torch.Tensor | None
    ys: torch.Tensor | None
    xt: torch.Tensor | None
    yt: torch.Tensor | None


class DomainData(Dataset):
    """Source features, source labels and target features as device tensors.

    skorch passes a ``Dataset`` through unchanged, so a net fitted on it receives
    the tensors as they are; :class:`DomainBatches` does the batching.
    """

    def __init__(self, X_src, y_src, X_tgt, *, device):
        if X_src is None and X_tgt is None:
            raise ValueError("DomainData needs source or target rows.")
        self.X_src = _to_tensor(X_src, torch.float32, device)
        self.y_src = _to_tensor(y_src, torch.long, device)
        self.X_tgt = _to_tensor(X_tgt, torch.float32, device)

    def __len__(self):
        return max(_len(self.X_src), _len(self.X_tgt))

    def __getitem__(self, i):  # pragma: no cover - the fast path never calls it
        raise NotImplementedError(
            "DomainData is batched by DomainBatches, not indexed."
        )


def _to_tensor(a, dtype, device):
    if a is None:
        return None
    return torch.as_tensor(a, dtype=dtype).to(device)


def _len(t):
    return 0 if t is None else t.shape[0]


class _IndexStream:
    """Endless stream of random permutations of ``range(n)``, drawn in chunks."""

    def __init__(self, n, generator, device):
        self.n, self.generator, self.device = n, generator, device
        self.buffer = torch.empty(0, dtype=torch.long, device=device)

    def take(self, k):
        """Return the next ``k`` indices of the stream, as one tensor."""
        parts, have = [self.buffer], self.buffer.numel()
        while have < k:
            perm = torch.randperm(self.n, generator=self.generator).to(self.device)
            parts.append(perm)
            have += self.n
        stream = torch.cat(parts) if len(parts) > 1 else parts[0]
        self.buffer = stream[k:]
        return stream[:k]


class DomainBatches:
    """Iterator over the :class:`Batch` es of a :class:`DomainData`.

    ``target_labels``, when given, is called at the start of every epoch and
    returns a tensor of one label per target row (or None): the batches carry
    its rows as ``yt``. See the module docstring for how an epoch is defined.
    """

    def __init__(
        self, data, batch_size, *, generator, use_target=True, target_labels=None
    ):
        self.data = data
        self.target_labels = target_labels
        self.use_target = use_target and data.X_tgt is not None
        n_src = _len(data.X_src)
        n_tgt = _len(data.X_tgt) if self.use_target else 0
        self.n_iterations = n_iterations(n_src, n_tgt, batch_size)
        device = _device_of(data)
        self.bs_src = min(batch_size, n_src) if n_src else 0
        self.bs_tgt = min(batch_size, n_tgt) if n_tgt else 0
        self.src = _IndexStream(n_src, generator, device) if n_src else None
        self.tgt = _IndexStream(n_tgt, generator, device) if n_tgt else None

    def __len__(self):
        return self.n_iterations

    def __iter__(self):
        k = self.n_iterations
        d = self.data
        src = self.src.take(k * self.bs_src).view(k, self.bs_src) if self.src else None
        tgt = self.tgt.take(k * self.bs_tgt).view(k, self.bs_tgt) if self.tgt else None
        labels = (
            self.target_labels() if self.target_labels and tgt is not None else None
        )
        for i in range(k):
            xs = d.X_src[src[i]] if src is not None else None
            ys = d.y_src[src[i]] if src is not None else None
            xt = d.X_tgt[tgt[i]] if tgt is not None else None
            yt = labels[tgt[i]] if labels is not None else None
            yield Batch(xs if xs is not None else xt, xs, ys, xt, yt)


def n_iterations(n_src, n_tgt, batch_size):
    """Count the iterations in one epoch: ``ceil(max(n_src, n_tgt) / batch_size)``."""
    return max(1, math.ceil(max(n_src, n_tgt) / batch_size))


def _device_of(data):
    t = data.X_src if data.X_src is not None else data.X_tgt
    return t.device


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
