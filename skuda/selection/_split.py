"""Cross-validation of the stacked form: each domain split on its own."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold

from .._task import REGRESSION
from .._validation import is_unlabeled


class StackedDomainSplit(BaseCrossValidator):
    """K-fold splits of the stacked form that split each domain separately.

    Source rows (label != -1) and target rows (label -1) are split into
    ``n_splits`` folds each (source folds stratified by class when every class
    has at least ``n_splits`` rows), and fold ``k`` of each domain forms
    validation fold ``k``. So every training fold and every validation fold
    holds labelled source rows *and* unlabelled target rows, which the
    scorers of :mod:`skuda.selection` need. For a regressor's stacked form,
    a float ``y`` holding NaN, the target rows are those whose ``y`` is NaN
    (in every output) and ``-1`` is a value like any other.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int, RandomState or None, default=None
        Used when ``shuffle=True``.
    target : {"split", "all"}, default="split"
        ``"split"``: target rows are split into folds like the source.
        ``"all"``: every training and validation fold holds all target rows
        (the transductive setting, where the model is meant for exactly
        these target rows).

    Examples
    --------
    >>> import numpy as np
    >>> from skuda.selection import StackedDomainSplit
    >>> y = np.array([0, 1, 0, 1, -1, -1, -1, -1])
    >>> [len(test) for _, test in StackedDomainSplit(2).split(np.zeros((8, 1)), y)]
    [4, 4]
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None, target="split"):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.target = target

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits.

        Returns
        -------
        int
        """
        return self.n_splits

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` row indices into the stacked rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
            Labels with ``-1`` for target rows.
        groups : ignored

        Yields
        ------
        train, test : ndarray of int
        """
        y, src, tgt = self._domain_rows(y)
        src_folds = self._source_folds(y[src])
        tgt_folds = self._target_folds(len(tgt))
        for (s_tr, s_te), (t_tr, t_te) in zip(src_folds, tgt_folds, strict=True):
            yield (
                np.sort(np.r_[src[s_tr], tgt[t_tr]]),
                np.sort(np.r_[src[s_te], tgt[t_te]]),
            )

    def _domain_rows(self, y):
        """``y`` as an array, and the indices of its source and target rows."""
        if self.target not in ("split", "all"):
            raise ValueError(f"target must be 'split' or 'all'; got {self.target!r}.")
        if y is None:
            raise ValueError("StackedDomainSplit needs y (with -1 for target rows).")
        y = np.asarray(y)
        if y.dtype.kind == "f" and np.isnan(y).any():  # a regressor's marker
            is_tgt = REGRESSION.stacked_targets(y)[1]
        else:
            is_tgt = is_unlabeled(y.reshape(-1))
        src, tgt = np.flatnonzero(~is_tgt), np.flatnonzero(is_tgt)
        k = self.n_splits
        if len(src) < k:
            raise ValueError(f"{len(src)} source rows cannot be split into {k} folds.")
        if self.target == "split" and len(tgt) < k:
            raise ValueError(
                f"{len(tgt)} target rows (label -1, or NaN for regressors) cannot "
                f"be split into {k} folds."
            )
        return y, src, tgt

    def _source_folds(self, y_src):
        """Folds of the source rows, stratified when every class can be."""
        k, rs = self.n_splits, self._seed()
        if y_src.ndim > 1 or y_src.dtype.kind == "f":  # continuous: no strata
            return KFold(k, shuffle=self.shuffle, random_state=rs).split(y_src)
        _, counts = np.unique(y_src, return_counts=True)
        if counts.min() >= k:
            cv = StratifiedKFold(k, shuffle=self.shuffle, random_state=rs)
            return cv.split(y_src, y_src)
        return KFold(k, shuffle=self.shuffle, random_state=rs).split(y_src)

    def _target_folds(self, n_tgt):
        """Folds of the target rows; with ``target="all"`` every fold is all."""
        every = np.arange(n_tgt)
        if self.target == "all":
            return ((every, every) for _ in range(self.n_splits))
        cv = KFold(self.n_splits, shuffle=self.shuffle, random_state=self._seed())
        return cv.split(every)

    def _seed(self):
        return self.random_state if self.shuffle else None
