"""Rows that skuda reads where they are: tensors, memory maps and Datasets.

In-memory arrays (NumPy, lists, DataFrames) are validated into one private
float32 copy (:func:`skuda._validation.check_features`). The inputs here are
not copied whole:

* a ``torch.Tensor`` is used as it is (float32 on the fit's device) or
  converted once; it is never modified -- scaling is applied per batch;
* a file-backed NumPy array (``np.memmap``, ``np.load(..., mmap_mode="r")``) and
  a map-style ``torch.utils.data.Dataset`` of rows are *out of core*: they are
  read in contiguous chunks of about :data:`CHUNK_BYTES`, and training holds at
  most one window of about :data:`WINDOW_BYTES` of rows per domain in memory
  (:mod:`skuda._streaming`).

A :class:`RowSource` gives each of them the same face: ``shape``, and
:meth:`RowSource.read` of float32 rows, checked for NaN/inf as they are read.
"""

from __future__ import annotations

import math
import mmap

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, TensorDataset

CHUNK_BYTES = 4 * 2**20
"""float32 bytes read from an out-of-core source at once (a run of rows)."""

WINDOW_BYTES = 64 * 2**20
"""float32 bytes of rows that a streamed domain holds in memory for shuffling.

An out-of-core domain no larger than this is read once and kept, and is then
shuffled exactly like an in-memory array (same batches, same results)."""


def is_row_source(X):
    """Whether ``X`` is read in place: a tensor, a memory map, a Dataset, a source."""
    return (
        isinstance(X, (RowSource, torch.Tensor, Dataset))
        or (isinstance(X, np.ndarray) and _file_mapping(X) is not None)
    )  # fmt: skip


def row_source(X, name):
    """Return the :class:`RowSource` of ``X`` (see :func:`is_row_source`).

    Raises ``TypeError``/``ValueError`` naming ``name`` for input that cannot
    be read as rows: complex or text data, an iterable-style Dataset, items
    carrying labels, fewer than two dimensions.
    """
    if isinstance(X, RowSource):
        return X.renamed(name)
    if isinstance(X, TensorDataset):
        if len(X.tensors) != 1:
            raise ValueError(_labels_inside(name, f"of {len(X.tensors)} tensors"))
        X = X.tensors[0]
    if isinstance(X, torch.Tensor):
        return TensorRows(X, name)
    if isinstance(X, IterableDataset):
        raise TypeError(
            f"{name} is an iterable-style Dataset; skuda reads rows by index and "
            "needs a map-style Dataset (with __len__ and __getitem__)."
        )
    if isinstance(X, Dataset):
        return DatasetRows(X, name)
    return MemmapRows(X, name)


def _labels_inside(name, what):
    return (
        f"{name} is a TensorDataset {what}; skuda takes the features alone. Pass "
        "TensorDataset(X) or the tensor X, and the labels as y."
    )


class RowSource:
    """Rows of one domain, read on demand as float32 NumPy arrays.

    Subclasses implement :meth:`_read` (a run of rows) and :meth:`_take`
    (sorted row indices). ``shape`` is ``(n_rows, *row_shape)``; ``reshape``
    only changes how each row is read (``(n, length)`` as ``(n, 1, length)``).
    """

    in_memory = False
    """True for tensors: batches are gathered by index, never streamed."""

    def __init__(self, name, n_rows, row_shape):
        self.name = name
        self.shape = (n_rows, *row_shape)
        self.checked = False  # every row read once and found finite
        self.scaling = None  # (mean, scale) applied to rows on their way to a net

    ndim = property(lambda self: len(self.shape))
    row_size = property(lambda self: math.prod(self.shape[1:]))

    def __len__(self):
        return self.shape[0]

    def renamed(self, name):
        """Return a shallow copy whose errors name the input ``name``."""
        out = _copy(self)
        out.name = name
        return out

    def reshape(self, *shape):
        """Return a copy whose rows are read as ``shape[1:]`` (same size)."""
        if shape[0] != len(self) or math.prod(shape[1:]) != self.row_size:
            raise ValueError(f"cannot reshape rows of {self.shape} to {shape}.")
        out = _copy(self)
        out.shape = tuple(shape)
        return out

    def with_scaling(self, stats):
        """Return a copy whose rows are standardised with ``stats = (mean, scale)``.

        ``stats`` None: no scaling. Checks every row first (:meth:`check`):
        this is the last step before training on the rows.
        """
        self.check()
        out = _copy(self)
        out.scaling = stats
        return out

    def subset(self, rows):
        """Return the source of ``rows`` (ascending indices), read in place."""
        return _Subset(self, np.asarray(rows, dtype=np.int64))

    def chunk_rows(self):
        """Rows in one read of about :data:`CHUNK_BYTES` (at least one)."""
        return max(1, CHUNK_BYTES // (4 * max(1, self.row_size)))

    def read(self, start, stop):
        """Rows ``start:stop`` as float32; ValueError on NaN/inf.

        A new array, except for a CPU float32 tensor (a view of it): callers
        never write into the result.
        """
        out = self._read(start, stop)
        self._check_finite(out, start)
        return out.reshape(stop - start, *self.shape[1:])

    def chunks(self):
        """Yield ``(start, rows)`` for consecutive chunks covering every row."""
        step = self.chunk_rows()
        for start in range(0, len(self), step):
            yield start, self.read(start, min(len(self), start + step))

    def check(self):
        """Read every row once (in chunks) so that NaN/inf raise now."""
        if not self.checked:
            for _ in self.chunks():
                pass
            self.checked = True

    def _check_finite(self, rows, offset):
        if not np.isfinite(rows).all():
            finite = np.isfinite(rows).reshape(len(rows), -1).all(axis=1)
            bad = int(np.flatnonzero(~finite)[0])
            raise ValueError(
                f"{self.name} contains NaN or infinity (row {offset + bad}); "
                "skuda's networks need finite inputs."
            )

    def _read(self, start, stop):
        return self._take(np.arange(start, stop))

    def _take(self, rows):  # pragma: no cover - every subclass implements it
        raise NotImplementedError


def _copy(source):
    out = object.__new__(type(source))
    out.__dict__.update(source.__dict__)
    return out


def _check_dtype(dtype, name):
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {dtype}; expected numeric features.")


def _check_rows_shape(shape, name):
    if len(shape) < 2:
        raise ValueError(
            f"{name} has {len(shape)} dimension(s); expected rows of features, "
            "shape (n_samples, n_features) or (n_samples, n_channels, length)."
        )
    if shape[0] == 0 or math.prod(shape[1:]) == 0:
        raise ValueError(
            f"{name} has shape {tuple(shape)}; at least one row and one feature "
            "are required."
        )


class TensorRows(RowSource):
    """A ``torch.Tensor`` of rows, on any device; never modified.

    ``tensor`` is detached (no copy). On the fit's device and float32 it is
    trained on as it is; otherwise it is converted once (a copy).
    """

    in_memory = True

    def __init__(self, tensor, name):
        if tensor.layout != torch.strided:
            raise TypeError(f"{name} is a sparse tensor; pass X.to_dense().")
        if tensor.is_complex():
            raise TypeError(f"{name} has dtype {tensor.dtype}; expected real numbers.")
        _check_rows_shape(tuple(tensor.shape), name)
        super().__init__(name, tensor.shape[0], tuple(tensor.shape[1:]))
        self.tensor = tensor.detach()

    def subset(self, rows):
        """Return the rows ``rows`` as a new tensor source (a copy, same device)."""
        index = torch.as_tensor(np.asarray(rows), device=self.tensor.device)
        return TensorRows(self.tensor[index], self.name).reshape(
            len(rows), *self.shape[1:]
        )

    def on(self, device):
        """Return the rows as one float32 tensor on ``device`` (no copy if they are)."""
        t = self.tensor.reshape(self.shape)
        if same_device(t.device, device) and t.dtype == torch.float32:
            return t
        return t.to(device=device, dtype=torch.float32)

    def _read(self, start, stop):
        # A CPU float32 tensor gives a view: read() results are read-only.
        return self.tensor[start:stop].to(device="cpu", dtype=torch.float32).numpy()

    def _take(self, rows):
        index = torch.from_numpy(rows).to(self.tensor.device)
        return self.tensor[index].to(device="cpu", dtype=torch.float32).numpy()


class MemmapRows(RowSource):
    """A file-backed NumPy array, read in runs of rows.

    The pages each read maps into the process are released after the copy
    (``madvise(MADV_DONTNEED)``; the file stays in the OS page cache), so the
    resident memory of the process does not grow with the file.
    """

    def __init__(self, array, name):
        _check_dtype(array.dtype, name)
        _check_rows_shape(array.shape, name)
        super().__init__(name, array.shape[0], array.shape[1:])
        self.array = array

    def _read(self, start, stop):
        out = np.empty((stop - start, *self.array.shape[1:]), dtype=np.float32)
        np.copyto(out, self.array[start:stop], casting="unsafe")
        _release(self.array, start, stop)
        return out

    def _take(self, rows):
        out = self.array[rows].astype(np.float32, copy=False)
        if len(rows):
            _release(self.array, int(rows[0]), int(rows[-1]) + 1)
        return out


class DatasetRows(RowSource):
    """A map-style ``torch.utils.data.Dataset`` whose items are rows.

    An item is an array-like (or a tensor) of one row's features, or a 1-tuple
    of one; every item must have the shape of the first.
    """

    def __init__(self, dataset, name):
        self.dataset = dataset
        self.name = name
        try:
            n = len(dataset)
        except TypeError:
            raise TypeError(f"{name} is a Dataset without __len__.") from None
        if n == 0:
            raise ValueError(f"{name} is an empty Dataset; at least one row is needed.")
        self.item_shape = self._item(0, None).shape
        _check_rows_shape((n, *self.item_shape), name)
        super().__init__(name, n, self.item_shape)

    def _item(self, i, row_shape):
        item = self.dataset[i]
        if isinstance(item, (tuple, list)) and len(item) == 1:
            item = item[0]
        if isinstance(item, (tuple, list, dict)) and not _is_numeric_row(item):
            raise ValueError(
                f"{self.name}[{i}] is a {type(item).__name__} of "
                f"{len(item)} items, not one row of features; a Dataset given to "
                "skuda yields rows only (pass the labels as y)."
            )
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu()
        row = np.asarray(item)
        _check_dtype(row.dtype, f"{self.name}[{i}]")
        if row_shape is not None and row.shape != row_shape:
            raise ValueError(
                f"{self.name}[{i}] has shape {row.shape} but {self.name}[0] has "
                f"shape {row_shape}; every row must have the same shape."
            )
        return row

    def _take(self, rows):
        out = np.empty((len(rows), *self.item_shape), dtype=np.float32)
        for j, i in enumerate(rows.tolist()):
            out[j] = self._item(i, self.item_shape)
        return out


def _is_numeric_row(item):
    """Whether a tuple/list item is a plain row of numbers (e.g. ``[1.0, 2.0]``)."""
    return isinstance(item, (tuple, list)) and all(
        isinstance(v, (int, float, np.number)) for v in item
    )


class _Subset(RowSource):
    """The rows ``rows`` (ascending) of another source, in that order."""

    def __init__(self, base, rows):
        super().__init__(base.name, len(rows), base.shape[1:])
        self.base, self.rows = base, rows

    def _take(self, rows):
        return self.base._take(self.rows[rows])

    def _read(self, start, stop):
        return self.base._take(self.rows[start:stop])


def same_device(a, b):
    """Whether torch devices ``a`` and ``b`` are one (``"cuda"``: the current one)."""
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    if a.type != "cuda" or a.index == b.index:
        return True
    current = torch.cuda.current_device()
    return (current if a.index is None else a.index) == (
        current if b.index is None else b.index
    )


# -- memory maps -------------------------------------------------------------------
def _file_mapping(X):
    """``(mmap, releasable)`` of the file mapping under ``X``, or None.

    Walks ``X.base``. Pages of a copy-on-write map (``np.memmap`` with
    ``mode="c"``) are never released: that would drop the caller's changes.
    """
    releasable, node = True, X
    while node is not None:
        if isinstance(node, mmap.mmap):
            return node, releasable
        releasable &= getattr(node, "mode", None) != "c"
        node = getattr(node, "base", None)
    return None


def _release(array, start, stop):
    """Unmap the pages of rows ``start:stop`` of ``array`` from this process.

    They stay in the OS page cache; the next read maps them again. Only for
    C-contiguous rows of a shared file mapping on systems with ``madvise``.
    """
    mm, releasable = _file_mapping(array) or (None, False)
    if not (releasable and hasattr(mmap, "MADV_DONTNEED") and stop > start):
        return
    if not array[start:stop].flags.c_contiguous:
        return
    try:
        base = np.frombuffer(mm, dtype=np.uint8, count=1).ctypes.data
        lo = array[start:stop].ctypes.data - base
        hi = lo + array[start:stop].nbytes
        lo -= lo % mmap.PAGESIZE
        mm.madvise(mmap.MADV_DONTNEED, lo, min(len(mm), hi) - lo)
    except (ValueError, OSError, BufferError):  # closed map, odd platform
        pass
