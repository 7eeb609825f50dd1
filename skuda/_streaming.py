"""Rows of a :class:`~skuda._rows.RowSource` on their way to a network.

:class:`DeviceRows` turns a source into float32 tensors on the device, scaled
with the source's statistics: a tensor source is put on the device once (no
copy when it is there already) and gathered by index; an out-of-core source
is read in chunks (prediction) or in shuffled windows (training).

Window shuffling
----------------
An out-of-core domain is cut into chunks of consecutive rows (about
:data:`skuda._rows.CHUNK_BYTES` each). Every pass over the data draws a random
order of the chunks and cuts it into windows of consecutive chunks (about
:data:`skuda._rows.WINDOW_BYTES` of rows). A window is read chunk by chunk in
file order -- sequential reads -- and its rows are served in a random order, so
a batch holds rows from many places in the file but the disk is never read at
random. Every row is served once per pass. A domain that fits in one window is
read once and kept; its rows are then drawn exactly as an in-memory domain's
(the same ``torch.randperm`` calls), so it trains to identical results.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np
import torch

from . import _rows
from ._scaling import standardize_


class DeviceRows:
    """A source's rows as scaled float32 tensors on ``device``.

    ``len``, ``shape`` and slicing (``rows[a:b]``, a tensor) work as for a
    tensor, so :func:`skuda._batching.map_chunks` and callbacks take either.
    ``streams`` says how batches are drawn: by index (:meth:`take`: tensor
    sources on the device, sparse sources gathered and densified on the
    host) or through a :class:`WindowStream` (out-of-core sources).
    """

    def __init__(self, source, device):
        self.source = source
        self.device = torch.device(device)
        gathers = getattr(source, "gathers", False)
        self.streams = not (source.in_memory or gathers)
        self.tensor = source.on(self.device) if source.in_memory else None
        if gathers:  # rows per chunk of map_chunks: bounded dense bytes
            self.chunk_limit = source.chunk_limit()
        mean, scale = source.scaling or (None, None)
        self.mean, self.scale = mean, scale
        if mean is not None and not self.streams:
            self._t_mean = torch.as_tensor(mean).to(self.device)
            self._t_scale = torch.as_tensor(scale).to(self.device)

    shape = property(lambda self: self.source.shape)

    def __len__(self):
        return len(self.source)

    def __getitem__(self, key):
        if not isinstance(key, slice):  # row indices (held-out validation rows)
            return self.subset(key)
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise IndexError("DeviceRows takes contiguous slices only.")
        if self.tensor is not None:
            part = self.tensor[start:stop]
            # A sum is finite iff every row is (or it overflowed: then the
            # exact check below finds nothing), at a twentieth of the cost.
            if not self.source.checked and not bool(part.sum().isfinite()):
                self.source._check_finite(part.cpu().numpy(), start)  # raises
            return self._scaled(part)
        return self.load(self.source.read(start, stop))

    def subset(self, index):
        """Return the rows at ``index`` (ascending) as DeviceRows, scaled alike."""
        rows = self.source.subset(torch.as_tensor(index).cpu().numpy())
        rows.scaling, rows.checked = self.source.scaling, self.source.checked
        return DeviceRows(rows, self.device)

    def take(self, index):
        """Scaled rows at ``index`` (a long tensor on the device); not streamed."""
        if self.tensor is None:  # sparse rows, densified on the host
            return self.load(self.source.take(index.cpu().numpy()))
        return self._scaled(self.tensor[index])

    def load(self, rows):
        """Scale freshly read rows (a new float32 array) in place; move to device."""
        return torch.from_numpy(self.scale_(rows)).to(self.device)

    def scale_(self, rows):
        """Standardise freshly read rows (a new float32 array) in place; return them."""
        if self.mean is not None:
            standardize_(rows, self.mean, self.scale)
        return rows

    def _scaled(self, x):
        if self.mean is None:
            return x
        return (x - self._t_mean) / self._t_scale


class _Window(NamedTuple):
    """One window: its chunks (ascending; None: every row) and its row order."""

    chunks: tuple | None
    order: torch.Tensor


class WindowStream:
    """Endless stream of the rows of a streamed :class:`DeviceRows`, in windows.

    :meth:`plan` draws (from ``generator``) which rows come next, as segments
    of windows; :meth:`rows` reads them, loading a window on first use and
    dropping the previous one, so one window is in memory at a time.
    """

    def __init__(self, rows, generator):
        self.data, self.generator = rows, generator
        n = len(rows)
        self.chunk = rows.source.chunk_rows()
        self.n_chunks = math.ceil(n / self.chunk)
        row_bytes = 4 * rows.source.row_size
        self.per_window = max(1, _rows.WINDOW_BYTES // (self.chunk * row_bytes))
        self.one_window = self.n_chunks <= self.per_window
        self.pending = deque()  # (window, start, stop) drawn but not yet planned
        self.chunk_order = torch.empty(0, dtype=torch.long)
        self.loaded = None  # (chunks, rows tensor, global row index or None)

    def plan(self, k):
        """Draw the next ``k`` rows: a list of ``(window, start, stop)`` segments."""
        segments = []
        while k > 0:
            if not self.pending:
                self.pending.append(self._draw_window())
            window, start, stop = self.pending.popleft()
            end = min(stop, start + k)
            segments.append((window, start, end))
            if end < stop:
                self.pending.appendleft((window, end, stop))
            k -= end - start
        return segments

    def _draw_window(self):
        n = len(self.data)
        if self.one_window:  # drawn exactly as an in-memory domain
            return _Window(None, torch.randperm(n, generator=self.generator)), 0, n
        if not len(self.chunk_order):
            self.chunk_order = torch.randperm(self.n_chunks, generator=self.generator)
        chunks = self.chunk_order[: self.per_window].sort().values
        self.chunk_order = self.chunk_order[self.per_window :]
        size = sum(
            min(n, (c + 1) * self.chunk) - c * self.chunk for c in chunks.tolist()
        )
        order = torch.randperm(size, generator=self.generator)
        return _Window(tuple(chunks.tolist()), order), 0, size

    def rows(self, window, start, stop):
        """Global indices and device rows of positions ``start:stop`` of ``window``."""
        x, index = self._load(window.chunks)
        local = window.order[start:stop]
        device = self.data.device
        rows = local if index is None else index[local]
        return rows.to(device), x[local].to(device)

    def _load(self, chunks):
        if self.loaded is not None and self.loaded[0] == chunks:
            return self.loaded[1:]
        self.loaded = None  # drop the previous window before reading the next
        source, n, step = self.data.source, len(self.data), self.chunk
        starts = range(0, n, step) if chunks is None else [c * step for c in chunks]
        spans = [(a, min(n, a + step)) for a in starts]
        buffer = np.empty((sum(b - a for a, b in spans), *source.shape[1:]), np.float32)
        at = 0
        for a, b in spans:  # in file order: sequential reads
            buffer[at : at + b - a] = source.read(a, b)
            at += b - a
        rows = torch.from_numpy(self.data.scale_(buffer))
        index = None
        if chunks is not None:
            index = torch.cat([torch.arange(a, b) for a, b in spans])
        self.loaded = (chunks, rows, index)
        return rows, index
