"""The fast data path: each domain is one tensor on the device, batched by index.

No row is ever fetched through ``Dataset.__getitem__``: an epoch draws one random
permutation per domain (``torch.randperm`` with a local generator) and slices it.
A domain given as a tensor is gathered the same way (and scaled per batch); an
out-of-core domain (memory map, Dataset) is streamed in shuffled windows
(:mod:`skuda._streaming`), identically when it fits in one window.

Epoch definition
----------------
One epoch is ``max(min_iterations, ceil(n_max / batch_size))`` iterations, where
``n_max`` is the size of the larger domain (of the source alone when the method
ignores the target). Each
iteration takes ``min(batch_size, n_domain)`` rows from *each* domain. Every domain
reads its rows from an endless stream of fresh random permutations, so the larger
domain is seen about once per epoch and the smaller one is cycled: all of its rows
are used once before any is used again, and leftovers carry over to the next epoch.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import torch
from torch.utils.data import Dataset

from ._rows import RowSource
from ._streaming import DeviceRows, WindowStream


class Batch(NamedTuple):
    """One training step's rows of each domain.

    ``lead`` is ``xs`` (or ``xt`` when there is no source batch): skorch reads
    the batch size from the first element of a batch, so it is never None.
    ``xs``/``ys`` are None for target-only data (source-free adaptation);
    ``xt`` is None when there are no target rows or the method ignores them.
    ``yt`` holds labels of the target rows that the *net* owns (e.g. SHOT's
    pseudo-labels), never the user's; None when the net provides none.
    ``ws`` holds the weights of the source rows (``sample_weight`` times
    ``class_weight``; None when the fit has none) and ``ds`` their source
    domain codes ``0..K-1`` (None without ``domains``). They are attributes,
    not tuple fields, so a batch still unpacks into the five above.
    """

    lead: torch.Tensor
    xs: torch.Tensor | None
    ys: torch.Tensor | None
    xt: torch.Tensor | None
    yt: torch.Tensor | None
    ws = None
    ds = None


class _MetaBatch(Batch):
    """A :class:`Batch` with source row weights or domains (set after creation)."""


def make_batch(lead, xs, ys, xt, yt, ws=None, ds=None):
    """Return a :class:`Batch`, carrying ``ws``/``ds`` when either is given."""
    if ws is None and ds is None:
        return Batch(lead, xs, ys, xt, yt)
    batch = _MetaBatch(lead, xs, ys, xt, yt)
    batch.ws, batch.ds = ws, ds
    return batch


class DomainData(Dataset):
    """Source features, source labels and target features on the device.

    Each domain is a device tensor (arrays: validated, scaled copies) or a
    :class:`~skuda._streaming.DeviceRows` (a :class:`~skuda._rows.RowSource`:
    tensor, memory map or Dataset, read in place). skorch passes a ``Dataset``
    through unchanged, so a net fitted on it receives them as they are;
    :class:`DomainBatches` does the batching. ``w_src`` (float weights) and
    ``d_src`` (source domain codes), when given, hold one value per source row.
    """

    def __init__(self, X_src, y_src, X_tgt, *, device, w_src=None, d_src=None):
        if X_src is None and X_tgt is None:
            raise ValueError("DomainData needs source or target rows.")
        self.X_src = _to_device(X_src, device)
        # Class indices are long (cross-entropy); regression targets float32.
        floating = y_src is not None and (
            y_src.is_floating_point()
            if isinstance(y_src, torch.Tensor)
            else y_src.dtype.kind == "f"
        )
        self.y_src = _to_tensor(
            y_src, torch.float32 if floating else torch.long, device
        )
        self.X_tgt = _to_device(X_tgt, device)
        self.w_src = _to_tensor(w_src, torch.float32, device)
        self.d_src = _to_tensor(d_src, torch.long, device)

    def source_subset(self, index):
        """Return a copy holding only the source rows ``index`` (a tensor)."""
        return DomainData(
            self.X_src[index],
            self.y_src[index],
            self.X_tgt,
            device=index.device,
            w_src=_take(self.w_src, index),
            d_src=_take(self.d_src, index),
        )

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


def _to_device(X, device):
    if isinstance(X, DeviceRows):  # e.g. the training rows of a validation split
        return X
    if isinstance(X, RowSource):
        return DeviceRows(X, device)
    return _to_tensor(X, torch.float32, device)


def _take(t, index):
    return None if t is None else t[index]


def _len(t):
    return 0 if t is None else t.shape[0]


class _Gathered:
    """Batches of an in-memory domain: slices of an index stream, gathered."""

    def __init__(self, X, generator, device):
        self.X = X
        self.stream = _IndexStream(len(X), generator, device)

    def epoch(self, k, batch_size, rank=0, world_size=1):
        """Draw the ``k`` batches of an epoch (at its start, as always).

        With ``world_size`` processes every process draws the same
        ``k * batch_size * world_size`` indices (the generators agree) and
        keeps its own ``batch_size`` of each step: disjoint shares whose union
        is the single-process epoch with a ``world_size`` times larger batch.
        """
        index = self.stream.take(k * batch_size * world_size)
        if world_size > 1:
            index = index.view(k, world_size, batch_size)[:, rank]
        self.index = index.view(k, batch_size)

    def batch(self, i):
        """Row indices and rows of batch ``i`` of the epoch."""
        index = self.index[i]
        X = self.X
        return index, (X[index] if isinstance(X, torch.Tensor) else X.take(index))


class _Streamed:
    """Batches of an out-of-core domain, read through a :class:`WindowStream`."""

    def __init__(self, X, generator):
        self.stream = WindowStream(X, generator)

    def epoch(self, k, batch_size, rank=0, world_size=1):
        """Start an epoch of ``k`` batches (one process only).

        A domain in one window draws the epoch's rows now, as an in-memory
        domain does; a larger one draws each batch's rows when it comes, so
        no index of the whole epoch is held.
        """
        if world_size > 1:
            raise NotImplementedError(
                "Training over several processes (accelerator=) does not stream "
                "out-of-core inputs yet; pass arrays or tensors."
            )
        self.batch_size = batch_size
        self.segments = deque()
        if self.stream.one_window:
            self.segments.extend(self.stream.plan(k * batch_size))

    def batch(self, i):
        """Row indices and rows of the next batch (batches come in order)."""
        if not self.segments:
            self.segments.extend(self.stream.plan(self.batch_size))
        need, parts = self.batch_size, []
        while need:
            window, start, stop = self.segments.popleft()
            end = min(stop, start + need)
            parts.append(self.stream.rows(window, start, end))
            if end < stop:
                self.segments.appendleft((window, end, stop))
            need -= end - start
        if len(parts) == 1:
            return parts[0]
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))


def _sampler(X, generator, device):
    if getattr(X, "streams", False):
        return _Streamed(X, generator)
    return _Gathered(X, generator, device)


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

    With ``world_size`` processes (data-parallel training) each one, given the
    same data and an identically seeded ``generator``, yields its ``rank``'s
    disjoint share of each epoch: as many batches on every process, each of
    ``batch_size`` rows per domain, and ``ceil(n_max / (batch_size *
    world_size))`` of them.
    """

    def __init__(
        self,
        data,
        batch_size,
        *,
        generator,
        use_target=True,
        target_labels=None,
        rank=0,
        world_size=1,
        min_iterations=1,
    ):
        self.data = data
        self.rank, self.world_size = rank, world_size
        self.target_labels = target_labels
        self.use_target = use_target and data.X_tgt is not None
        n_src = _len(data.X_src)
        n_tgt = _len(data.X_tgt) if self.use_target else 0
        self.n_iterations = n_iterations(
            n_src, n_tgt, batch_size * world_size, min_iterations
        )
        device = _device_of(data)
        self.bs_src = min(batch_size, n_src) if n_src else 0
        self.bs_tgt = min(batch_size, n_tgt) if n_tgt else 0
        self.src = _sampler(data.X_src, generator, device) if n_src else None
        self.tgt = _sampler(data.X_tgt, generator, device) if n_tgt else None

    def __len__(self):
        return self.n_iterations

    def __iter__(self):
        k = self.n_iterations
        src, tgt = self.src, self.tgt
        if src is not None:
            src.epoch(k, self.bs_src, self.rank, self.world_size)
        if tgt is not None:
            tgt.epoch(k, self.bs_tgt, self.rank, self.world_size)
        labels = (
            self.target_labels() if self.target_labels and tgt is not None else None
        )
        data = self.data
        xs = ys = xt = yt = ws = ds = None
        for i in range(k):
            if src is not None:
                index, xs = src.batch(i)
                ys = data.y_src[index]
                ws, ds = _take(data.w_src, index), _take(data.d_src, index)
            if tgt is not None:
                index, xt = tgt.batch(i)
                yt = labels[index] if labels is not None else None
            yield make_batch(xs if xs is not None else xt, xs, ys, xt, yt, ws, ds)


def n_iterations(n_src, n_tgt, batch_size, minimum=1):
    """Count the iterations in one epoch.

    ``ceil(max(n_src, n_tgt) / batch_size)``, and at least ``minimum``: small
    domains are then cycled more than once per epoch.
    """
    return max(1, minimum, math.ceil(max(n_src, n_tgt) / batch_size))


def _device_of(data):
    t = data.X_src if data.X_src is not None else data.X_tgt
    return t.device


INFERENCE_CHUNK = 65536
"""Rows per forward pass when a whole domain goes through a network at once."""

INFERENCE_CHUNK_BYTES = 64 * 2**20
"""And at most about this many bytes of float32 input per forward pass (wide rows)."""


def map_chunks(fn, X, size=INFERENCE_CHUNK):
    """``fn`` applied to consecutive row chunks of ``X``, outputs concatenated.

    ``X`` may be a tensor or an array; ``fn`` returns a tensor or a tuple of
    tensors (concatenated element-wise). Bounds the memory of inference on
    large domains (rows densified per chunk, such as sparse ones, set a lower
    ``chunk_limit``); the caller chooses ``no_grad``/``inference_mode``.
    """
    size = min(size, getattr(X, "chunk_limit", size))
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 1:  # wide rows: bound the bytes too
        size = min(size, max(1, INFERENCE_CHUNK_BYTES // (4 * math.prod(shape[1:]))))
    out = None
    for start in range(0, len(X), size):
        part = fn(X[start : start + size])
        parts = part if isinstance(part, tuple) else (part,)
        if out is None:  # filled in place: no second copy of the output
            out = tuple(p.new_empty((len(X), *p.shape[1:])) for p in parts)
        for whole, p in zip(out, parts, strict=True):
            whole[start : start + len(p)] = p
    return out if isinstance(part, tuple) else out[0]
