"""Sparse input: densified per batch, never whole; the dense path's results."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    _rows,
    _sparse,
)
from skuda._scaling import moments
from skuda.selection import (
    DeepEmbeddedValidationScorer,
    InformationMaximizationScorer,
    ReverseValidationScorer,
)

FAST = dict(max_epochs=2, batch_size=32, device="cpu", random_state=0)
TWO_PHASE = dict(FAST, source_epochs=2)
ESTIMATORS = [
    DANNClassifier(**FAST),
    CDANClassifier(**FAST),
    DeepCORALClassifier(**FAST),
    MCCClassifier(**FAST),
    SourceOnlyClassifier(**FAST),
    ADDAClassifier(**TWO_PHASE),
    SHOTAdapter(**TWO_PHASE),
]


def _counts(n, d, shift, seed):
    """Word counts, about 30 % non-zero; the target uses the last words more."""
    rng = np.random.default_rng(seed)
    rate = 0.4 + shift * np.linspace(0, 1, d)
    X = rng.poisson(rate, size=(n, d)) * (rng.random((n, d)) < 0.3)
    y = (X[:, : d // 2].sum(1) > X[:, d // 2 :].sum(1)).astype(int)
    return X.astype(np.float64), y


@pytest.fixture(scope="module")
def bow():
    Xs, ys = _counts(90, 24, 0.0, seed=0)
    Xt, _ = _counts(70, 24, 1.0, seed=1)
    return Xs, ys, Xt


def _same(a, b):
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_sparse_fit_gives_the_dense_results(bow, est):
    Xs, ys, Xt = bow
    dense = est.__class__(**est.get_params()).fit(Xs, ys, Xt)
    sparse = est.__class__(**est.get_params()).fit(
        sp.csr_matrix(Xs), ys, sp.csr_array(Xt)
    )
    _same(dense.input_mean_, sparse.input_mean_)
    _same(dense.input_scale_, sparse.input_scale_)
    _same(dense.predict_proba(Xt), sparse.predict_proba(sp.csr_matrix(Xt)))
    _same(dense.transform(Xs), sparse.transform(sp.csr_array(Xs)))
    assert dense.history_[-1]["train_loss"] == pytest.approx(
        sparse.history_[-1]["train_loss"], abs=1e-6
    )


def test_stacked_sparse_is_split_by_rows(bow):
    Xs, ys, Xt = bow
    X, y = np.vstack([Xs, Xt]), np.r_[ys, np.full(len(Xt), -1)]
    order = np.random.default_rng(0).permutation(len(y))  # interleave the domains
    X, y = X[order], y[order]
    dense = DANNClassifier(**FAST).fit(X, y)
    sparse = DANNClassifier(**FAST).fit(sp.csr_array(X), y)
    _same(dense.predict_proba(X), sparse.predict_proba(sp.csr_array(X)))


@pytest.mark.parametrize(
    "fmt", ["csc_matrix", "coo_matrix", "lil_matrix", "coo_array", "bsr_array"]
)
def test_other_formats_converted_and_never_modified(bow, fmt):
    Xs, ys, Xt = bow
    given = getattr(sp, fmt)(Xs)
    before = given.copy()
    est = SourceOnlyClassifier(**FAST).fit(given, ys, sp.csr_matrix(Xt))
    ref = SourceOnlyClassifier(**FAST).fit(Xs, ys, Xt)
    _same(ref.predict_proba(Xt), est.predict_proba(getattr(sp, fmt)(Xt)))
    assert type(given) is type(before) and given.format == before.format
    assert (given != before).nnz == 0


def test_csr_never_modified_not_even_its_index_order(bow):
    Xs, ys, Xt = bow
    X = sp.csr_matrix(Xs)
    X.indices = X.indices.copy()
    for i in range(X.shape[0]):  # unsorted column indices within each row
        a, b = X.indptr[i], X.indptr[i + 1]
        X.indices[a:b], X.data[a:b] = X.indices[a:b][::-1], X.data[a:b][::-1]
    X.has_sorted_indices = False
    arrays = [X.data.copy(), X.indices.copy(), X.indptr.copy()]
    SourceOnlyClassifier(**FAST).fit(X, ys, Xt).predict(X)
    for before, after in zip(arrays, [X.data, X.indices, X.indptr], strict=True):
        assert np.array_equal(before, after)
    assert not X.has_sorted_indices


def test_duplicate_entries_are_summed_as_toarray_does(bow):
    Xs, ys, Xt = bow
    X = sp.coo_matrix(Xs)
    doubled = sp.coo_matrix(  # every value stored as two halves
        (np.r_[X.data, X.data] / 2, (np.r_[X.row, X.row], np.r_[X.col, X.col])),
        shape=X.shape,
    )
    a = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    b = DANNClassifier(**FAST).fit(doubled.tocsr(), ys, Xt)
    _same(a.predict_proba(Xt), b.predict_proba(Xt))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool, np.float32])
def test_integer_and_bool_sparse_like_dense(bow, dtype):
    Xs, ys, Xt = bow
    Xs, Xt = Xs.astype(dtype), Xt.astype(dtype)
    a = SourceOnlyClassifier(**FAST).fit(Xs, ys, Xt)
    b = SourceOnlyClassifier(**FAST).fit(sp.csr_matrix(Xs), ys, sp.csr_matrix(Xt))
    _same(a.predict_proba(Xt), b.predict_proba(sp.csr_matrix(Xt)))


def test_batches_and_predict_chunks_are_densified_small(bow, monkeypatch):
    Xs, ys, Xt = bow
    seen = []
    dense = _sparse._dense

    def spy(rows):
        seen.append(rows.shape[0])
        return dense(rows)

    monkeypatch.setattr(_sparse, "_dense", spy)
    monkeypatch.setattr(_rows, "WINDOW_BYTES", 7 * Xs.shape[1] * 4)  # 7-row chunks
    est = DANNClassifier(**{**FAST, "batch_size": 16})
    est.fit(sp.csr_matrix(Xs), ys, sp.csr_matrix(Xt))
    assert seen and max(seen) <= 16  # batches, and 7-row checks of the outputs
    seen.clear()
    proba = est.predict_proba(sp.csr_matrix(Xt))
    assert seen == [min(7, len(Xt) - i) for i in range(0, len(Xt), 7)]
    monkeypatch.setattr(_sparse, "_dense", dense)
    monkeypatch.setattr(_rows, "WINDOW_BYTES", 2**26)
    _same(proba, est.predict_proba(Xt))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_in_sparse_values_rejected_with_the_row(bow, bad):
    Xs, ys, Xt = bow
    Xt_bad = sp.csr_matrix(Xt)
    row = 5
    Xt_bad.data[Xt_bad.indptr[row]] = bad
    with pytest.raises(ValueError, match=r"X_tgt contains NaN or infinity \(row 5\)"):
        DANNClassifier(**FAST).fit(Xs, ys, Xt_bad)
    est = SourceOnlyClassifier(**FAST).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match=r"^X contains NaN or infinity \(row 5\)"):
        est.predict(Xt_bad)


def test_bad_sparse_input_named(bow):
    Xs, ys, Xt = bow
    with pytest.raises(TypeError, match="X_src has dtype complex"):
        DANNClassifier(**FAST).fit(sp.csr_matrix(Xs.astype(complex)), ys, Xt)
    with pytest.raises(ValueError, match="X_tgt has 12 features per sample"):
        DANNClassifier(**FAST).fit(sp.csr_matrix(Xs), ys, sp.csr_matrix(Xt[:, :12]))
    with pytest.raises(ValueError, match="X_src has shape"):
        DANNClassifier(**FAST).fit(sp.csr_matrix((0, 24)), ys[:0], Xt)
    est = SourceOnlyClassifier(**FAST).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="X has 23 features"):
        est.predict(sp.csr_matrix(Xt[:, 1:]))


def test_sparse_statistics_match_dense_over_many_chunks(bow, monkeypatch):
    Xs, _, Xt = bow
    monkeypatch.setattr(_sparse, "NNZ_PER_PASS", 50)  # a few rows per chunk
    src = _sparse.SparseRows(sp.csr_matrix(Xs), "X_src")
    tgt = _sparse.SparseRows(sp.csc_matrix(Xt), "X_tgt")
    for got, want in zip(moments(src, tgt), moments(Xs, Xt), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    mixed = moments(Xs, tgt)  # one domain dense, one sparse
    np.testing.assert_allclose(mixed[0], moments(Xs, Xt)[0], rtol=1e-12)
    signals = moments(src.reshape(len(Xs), 2, 12))  # per channel
    np.testing.assert_allclose(
        signals[1], moments(Xs.reshape(-1, 2, 12))[1], rtol=1e-12
    )


@pytest.mark.parametrize("kind", [sp.csr_matrix, lambda X: torch.from_numpy(X)])
def test_validation_fraction_holds_out_rows_read_in_place(bow, kind):
    Xs, ys, Xt = (a.astype(np.float32) if a.dtype.kind == "f" else a for a in bow)
    params = dict(FAST, validation_fraction=0.25)
    dense = DANNClassifier(**params).fit(Xs, ys, Xt)
    other = DANNClassifier(**params).fit(kind(Xs), ys, kind(Xt))
    assert other.history_[-1, "valid_loss"] == pytest.approx(
        dense.history_[-1, "valid_loss"], abs=1e-6
    )
    _same(dense.predict_proba(Xt), other.predict_proba(Xt))


def test_label_free_scorers_take_sparse_stacked_rows(bow):
    Xs, ys, Xt = bow
    X, y = np.vstack([Xs, Xt]), np.r_[ys, np.full(len(Xt), -1)]
    est = SourceOnlyClassifier(**FAST).fit(X, y)
    for scorer in (
        ReverseValidationScorer({"max_epochs": 1}),
        InformationMaximizationScorer(),
        DeepEmbeddedValidationScorer(),
    ):
        assert scorer(est, sp.csr_matrix(X), y) == pytest.approx(scorer(est, X, y))
