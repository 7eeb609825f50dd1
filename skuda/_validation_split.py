"""Held-out source rows: the ``train_split`` that gives skorch its validation data.

With ``validation_fraction`` set, each net that trains on source labels gets a
:class:`SourceValidSplit` as skorch's ``train_split``. skorch calls it on the
:class:`~skuda._batching.DomainData` passed to ``fit`` and then runs its own
validation loop on the :class:`HeldOut` part after every epoch: ``valid_loss``
(the net's criterion) and, through skuda's default ``valid_acc`` callback,
the accuracy of the prediction path. skorch's callbacks that read those columns
(``EarlyStopping``, ``Checkpoint``, ``EpochScoring``) then work unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset

from ._batching import DomainData


class HeldOut(Dataset):
    """Labelled rows kept out of training (device tensors), batched in order."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


class HeldOutBatches:
    """Re-iterable ``(X, y)`` slices of a :class:`HeldOut`, in row order.

    skorch's ``EpochScoring`` caches the ``(X, y)`` pairs of the validation
    batches, so they are plain 2-tuples (the training batches are not).
    """

    def __init__(self, data, batch_size):
        self.data, self.batch_size = data, batch_size

    def __len__(self):
        return max(1, math.ceil(len(self.data) / self.batch_size))

    def __iter__(self):
        X, y, size = self.data.X, self.data.y, self.batch_size
        for start in range(0, len(X), size):
            yield X[start : start + size], y[start : start + size]


class SourceValidSplit:
    """skorch ``train_split``: hold out a stratified share of the source rows.

    Parameters
    ----------
    fraction : float in (0, 1)
        Share of the source rows held out (rounded up, as scikit-learn's
        ``train_test_split`` does), stratified by label.
    random_state : int
        Seed of the split; one fit uses one seed, so every phase of a
        two-phase method holds out the same rows.
    """

    def __init__(self, fraction, random_state):
        self.fraction = fraction
        self.random_state = random_state

    def __call__(self, dataset, y=None, **fit_params):
        """Split ``dataset`` into training data and the held-out source rows."""
        if not isinstance(dataset, DomainData) or dataset.X_src is None:
            return dataset, None
        train, valid = self.indices(dataset.y_src.cpu().numpy())
        device = dataset.X_src.device
        train, valid = (torch.as_tensor(i, device=device) for i in (train, valid))
        X_src, y_src = dataset.X_src, dataset.y_src
        return dataset.source_subset(train), HeldOut(X_src[valid], y_src[valid])

    def indices(self, y):
        """Sorted indices of the training and the held-out rows of labels ``y``."""
        rows = np.arange(len(y))
        try:
            train, valid = train_test_split(
                rows,
                test_size=self.fraction,
                stratify=y if y.dtype.kind in "iu" else None,  # regression: plain
                random_state=self.random_state,
            )
        except ValueError as exc:
            raise ValueError(
                f"validation_fraction={self.fraction} cannot hold out a stratified "
                f"share of the {len(y)} source rows: {exc}"
            ) from None
        return np.sort(train), np.sort(valid)
