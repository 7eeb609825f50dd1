"""skuda.selection.StackedDomainSplit: each domain split into folds on its own."""

import numpy as np
import pytest

from skuda.selection import StackedDomainSplit


def test_splitter_folds_split_each_domain():
    y = np.r_[np.repeat([0, 1, 2], 10), np.full(25, -1)]
    X = np.zeros((len(y), 2))
    cv = StackedDomainSplit(5, random_state=0)
    assert cv.get_n_splits() == 5
    tests = []
    for train, test in cv.split(X, y):
        assert len(np.intersect1d(train, test)) == 0
        assert len(np.union1d(train, test)) == len(y)
        # each validation fold: 2 rows of each class and 5 target rows
        assert np.bincount(y[test][y[test] >= 0]).tolist() == [2, 2, 2]
        assert np.sum(y[test] == -1) == 5
        assert np.sum(y[train] == -1) == 20
        tests.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(len(y)))
    # reproducible with a seed, different with another
    again = [t for _, t in StackedDomainSplit(5, random_state=0).split(X, y)]
    other = [t for _, t in StackedDomainSplit(5, random_state=1).split(X, y)]
    assert all(np.array_equal(a, b) for a, b in zip(tests, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(tests, other, strict=True))


@pytest.mark.parametrize("dtype", [np.float64, str])
def test_splitter_float_and_string_class_labels_split_like_integers(dtype):
    # float class labels (-1.0 marks targets) were taken for a regressor's
    # continuous targets and lost their stratification
    y = np.r_[np.repeat([0, 1, 2], 10), np.full(25, -1)]
    X = np.zeros((len(y), 2))
    as_int = [t for _, t in StackedDomainSplit(5, random_state=0).split(X, y)]
    given = [
        t for _, t in StackedDomainSplit(5, random_state=0).split(X, y.astype(dtype))
    ]
    assert all(np.array_equal(a, b) for a, b in zip(as_int, given, strict=True))


def test_splitter_regression_targets_are_not_stratified():
    # NaN marks a regressor's target rows: its targets are continuous, so the
    # source folds are plain shuffled KFold, not balanced per value
    y = np.r_[np.repeat([0.0, 1.0], 10), np.full(10, np.nan)]
    X = np.zeros((len(y), 1))
    folds = [
        np.bincount(y[test][~np.isnan(y[test])].astype(int), minlength=2)
        for _, test in StackedDomainSplit(5, random_state=0).split(X, y)
    ]
    assert all(f.sum() == 4 for f in folds)
    assert any(f[0] != 2 for f in folds)


def test_splitter_transductive_target_and_unstratified():
    y = np.r_[0, 0, 0, 0, 1, np.full(6, -1)]  # class 1 has one row: plain KFold
    X = np.zeros((len(y), 1))
    for train, test in StackedDomainSplit(2, target="all", random_state=0).split(X, y):
        assert np.sum(y[train] == -1) == 6 and np.sum(y[test] == -1) == 6
        assert np.sum(y[test] >= 0) in (2, 3)


def test_splitter_errors():
    X = np.zeros((6, 1))
    with pytest.raises(ValueError, match="target rows"):
        list(StackedDomainSplit(3).split(X, np.r_[0, 1, 0, 1, -1, -1]))
    with pytest.raises(ValueError, match="source rows"):
        list(StackedDomainSplit(3).split(X, np.r_[0, 1, -1, -1, -1, -1]))
    with pytest.raises(ValueError, match="needs y"):
        list(StackedDomainSplit(2).split(X, None))
    with pytest.raises(ValueError, match="target must be"):
        list(StackedDomainSplit(2, target="x").split(X, np.r_[0, 1, 0, 1, -1, -1]))
