"""Sparse rows (SciPy CSR/CSC/COO/... matrices and arrays), densified per batch.

A sparse domain is never densified whole. It is held as CSR (converted once
if given in another format: a copy of the non-zeros, about
``nnz * (itemsize + 4 or 8)`` bytes) and

* its statistics are computed from the non-zeros (:meth:`SparseRows.moments`),
  the zeros counted, not materialised;
* a training batch gathers its rows by index (a CSR row selection, cost
  proportional to their non-zeros), densifies them as float32 and scales them
  -- centring makes a scaled row dense anyway, so this is the first place
  where the dense values exist; they are the same numbers the dense path
  computes, so a sparse fit gives the dense fit's results;
* prediction reads consecutive row chunks of about
  :data:`skuda._rows.WINDOW_BYTES` dense bytes.

NaN and infinity are looked for once, in the stored values, when the rows are
first checked.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _rows
from ._rows import RowSource, _check_dtype, _check_rows_shape

NNZ_PER_PASS = 2**22
"""Stored values per chunk of the statistics pass (bounds its temporaries)."""


class SparseRows(RowSource):
    """A SciPy sparse matrix or array of rows, read as dense float32 rows.

    The caller's matrix is never modified: a CSR one (matrix or array) is
    used as it is; any other format, or a CSR with duplicate entries, is
    converted once into a private CSR copy.
    """

    gathers = True
    """Batches are gathered by index on the host (:meth:`take`), not streamed."""

    def __init__(self, X, name):
        _check_dtype(X.dtype, name)
        _check_rows_shape(X.shape, name)
        super().__init__(name, X.shape[0], X.shape[1:])
        X = X.tocsr()  # no copy for CSR
        if not X.has_canonical_format:  # duplicates: sum them as toarray would
            X = X.copy()
            X.sum_duplicates()
        self.matrix = X
        self._check_values()

    def _check_values(self):
        """Raise a ValueError naming the first row holding NaN or infinity."""
        finite = np.isfinite(self.matrix.data)
        if not finite.all():
            at = int(np.flatnonzero(~finite)[0])
            row = int(np.searchsorted(self.matrix.indptr, at, side="right")) - 1
            raise ValueError(
                f"{self.name} contains NaN or infinity (row {row}); "
                "skuda's networks need finite inputs."
            )
        self.checked = True

    def chunk_limit(self):
        """Rows per prediction chunk: about :data:`~skuda._rows.WINDOW_BYTES` dense."""
        return max(1, _rows.WINDOW_BYTES // (4 * self.row_size))

    def subset(self, rows):
        """Return the rows ``rows`` as a new sparse source (their non-zeros copied)."""
        out = SparseRows(self.matrix[np.asarray(rows, dtype=np.int64)], self.name)
        return out.reshape(len(rows), *self.shape[1:])

    def take(self, rows):
        """Dense float32 rows at ``rows`` (integer indices, any order); a new array."""
        out = self._take(np.asarray(rows, dtype=np.int64))
        return out.reshape(len(out), *self.shape[1:])

    def _take(self, rows):
        return _dense(self.matrix[rows])

    def _read(self, start, stop):
        return _dense(self.matrix[start:stop])

    def moment_parts(self):
        """Yield ``(count, mean, var)`` per feature (per channel), float64, per chunk.

        As :func:`skuda._scaling.moments` computes them on dense rows: the
        values are rounded to float32 first (the network's input dtype), and
        the variance is the mean squared deviation, here summed over the
        non-zeros plus ``mean**2`` for each zero. One chunk per run of rows
        holding about :data:`NNZ_PER_PASS` stored values (the caller merges
        them), so no temporary grows with the matrix.
        """
        X = self.matrix
        width = int(np.prod(self.shape[2:], dtype=np.int64))  # positions per channel
        groups = int(self.shape[1])
        shape = (groups,) if len(self.shape) == 2 else (groups, 1)
        for start, stop in _row_spans(X.indptr, NNZ_PER_PASS):
            span = slice(X.indptr[start], X.indptr[stop])
            values = X.data[span].astype(np.float32).astype(np.float64)
            group = X.indices[span] // width
            n = (stop - start) * width
            mean = np.bincount(group, values, minlength=groups) / n
            dev = np.bincount(group, (values - mean[group]) ** 2, minlength=groups)
            zeros = n - np.bincount(group, minlength=groups)
            var = (dev + zeros * mean**2) / n
            yield n, mean.reshape(shape), var.reshape(shape)


def _dense(rows):
    """Return a sparse block of rows as a new C-contiguous float32 array."""
    return rows.astype(np.float32).toarray(order="C")


def _row_spans(indptr, nnz):
    """``(start, stop)`` runs of rows holding about ``nnz`` stored values each."""
    n = len(indptr) - 1
    start = 0
    while start < n:
        stop = int(np.searchsorted(indptr, indptr[start] + nnz, side="right")) - 1
        stop = min(n, max(stop, start + 1))
        yield start, stop
        start = stop


def sparse_matrix(X):
    """Return the matrix of :class:`SparseRows` or SciPy sparse ``X``; else None."""
    if isinstance(X, SparseRows):
        return X.matrix
    return X if sp.issparse(X) else None
