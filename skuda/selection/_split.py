"""Cross-validation of the stacked form: each domain split on its own."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import (
    BaseCrossValidator,
    GroupKFold,
    KFold,
    StratifiedKFold,
)

from .._metadata import check_domains
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

    With ``groups`` (e.g. the ``domains`` of a multi-source fit, one per
    row), the source rows are split by group (``GroupKFold``): all rows of a
    source domain fall in the same fold. The groups of target rows are not
    used.

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
        groups : array-like of shape (n_samples,), default=None
            Group (source domain) of each row; source rows of one group stay
            in one fold.

        Yields
        ------
        train, test : ndarray of int
        """
        y, src, tgt, continuous = self._domain_rows(y)
        if groups is not None:
            groups = check_domains(groups, len(y), what="row")[src]
            if len(np.unique(groups)) < self.n_splits:
                raise ValueError(
                    f"groups has {len(np.unique(groups))} distinct groups among "
                    f"the source rows; {self.n_splits} folds need at least as many."
                )
        src_folds = self._source_folds(y[src], groups, continuous)
        tgt_folds = self._target_folds(len(tgt))
        for (s_tr, s_te), (t_tr, t_te) in zip(src_folds, tgt_folds, strict=True):
            yield (
                np.sort(np.r_[src[s_tr], tgt[t_tr]]),
                np.sort(np.r_[src[s_te], tgt[t_te]]),
            )

    def _domain_rows(self, y):
        """``(y, source rows, target rows, continuous)`` of the labels ``y``.

        ``continuous``: a regressor's targets (NaN marks its target rows, or
        2-D), which have no strata; float class labels (0.0, 1.0; -1.0 marks
        targets) have.
        """
        if self.target not in ("split", "all"):
            raise ValueError(f"target must be 'split' or 'all'; got {self.target!r}.")
        if y is None:
            raise ValueError("StackedDomainSplit needs y (with -1 for target rows).")
        y = np.asarray(y)
        regression = y.dtype.kind == "f" and bool(np.isnan(y).any())
        if regression:  # a regressor's marker
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
        return y, src, tgt, regression or y.ndim > 1

    def _source_folds(self, y_src, groups=None, continuous=False):
        """Folds of the source rows: by group, else stratified when it can be."""
        k, rs = self.n_splits, self._seed()
        if groups is not None:
            cv = GroupKFold(k, shuffle=self.shuffle, random_state=rs)
            return cv.split(y_src, y_src, groups)
        if continuous:
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


class LeaveOneDomainOut(BaseCrossValidator):
    """Leave one source domain out of training, for multi-source stacked data.

    Split ``k`` validates on source domain ``k``: its rows are the validation
    fold's labelled rows and the other source domains train. Every training
    fold and every validation fold also holds *all* target rows (label -1),
    so each fit adapts to the target and every validation fold has the
    target rows that the scorers of :mod:`skuda.selection` read. A held-out
    source domain is a labelled stand-in for an unseen domain, so
    :class:`~skuda.selection.SourceAccuracyScorer` and
    :class:`~skuda.selection.DeepEmbeddedValidationScorer` on these folds
    measure how well a setting carries to a new domain, without target labels.

    Why not ``LeaveOneGroupOut``: with the domains as groups, it validates on
    one whole group at a time, so the fold of a source domain has no target
    rows (every domain-aware scorer fails there, which ``GridSearchCV``
    reports as a NaN score), and the fold of the target trains without target
    rows (no adaptation).

    ``groups`` (one per row) names the domains, e.g. the ``domains`` passed
    to ``fit``; the groups of target rows are not used. It is requested by
    scikit-learn's metadata routing, as the groups of ``LeaveOneGroupOut``.

    Examples
    --------
    >>> import numpy as np
    >>> from skuda.selection import LeaveOneDomainOut
    >>> y = np.array([0, 1, 0, 1, 0, 1, -1, -1])
    >>> groups = np.array(["a", "a", "b", "b", "c", "c", "t", "t"])
    >>> [test.tolist() for _, test in LeaveOneDomainOut().split(None, y, groups)]
    [[0, 1, 6, 7], [2, 3, 6, 7], [4, 5, 6, 7]]
    """

    __metadata_request__split = {"groups": True}

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of source domains (needs ``y`` and ``groups``).

        Returns
        -------
        int
        """
        return len(self._domains(y, groups)[1])

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` row indices, one split per source domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or None
        y : array-like of shape (n_samples,)
            Labels with ``-1`` for target rows.
        groups : array-like of shape (n_samples,)
            The domain of each row.

        Yields
        ------
        train, test : ndarray of int
        """
        codes, labels, src, tgt = self._domains(y, groups)
        for k in range(len(labels)):
            held = src[codes == k]
            kept = src[codes != k]
            yield np.sort(np.r_[kept, tgt]), np.sort(np.r_[held, tgt])

    def _domains(self, y, groups):
        """Source domain codes, their labels, source and target row indices."""
        if y is None or groups is None:
            raise ValueError(
                "LeaveOneDomainOut needs y (with -1 for target rows) and groups "
                "(the domain of each row)."
            )
        y = np.asarray(y).reshape(-1)
        groups = check_domains(groups, len(y), what="row")
        is_tgt = is_unlabeled(y)
        src, tgt = np.flatnonzero(~is_tgt), np.flatnonzero(is_tgt)
        labels, codes = np.unique(groups[src], return_inverse=True)
        if len(labels) < 2:
            raise ValueError(
                f"LeaveOneDomainOut needs at least 2 source domains in groups; the "
                f"source rows have {len(labels)}."
            )
        if len(tgt) == 0:
            raise ValueError(
                "LeaveOneDomainOut needs target rows (label -1) in y: every fold "
                "trains and validates with them."
            )
        return codes, labels, src, tgt
