"""Tensors, memory maps and Datasets: read in place, same results as arrays."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset, IterableDataset, TensorDataset

from skuda import (
    ADDAClassifier,
    DANNClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    _rows,
)
from skuda._batching import DomainData

FAST = dict(max_epochs=2, batch_size=32, device="cpu", random_state=0)


class Rows(Dataset):
    """A map-style Dataset of the rows of an array (one row per item)."""

    def __init__(self, X, transform=lambda row: row):
        self.X, self.transform = X, transform

    def __len__(self):  # noqa: D105
        return len(self.X)

    def __getitem__(self, i):  # noqa: D105
        return self.transform(self.X[i])


@pytest.fixture
def memmap(tmp_path):
    """``memmap(a) -> np.load(..., mmap_mode="r")`` of a copy of ``a`` on disk."""
    count = iter(range(1000))

    def make(a):
        path = tmp_path / f"x{next(count)}.npy"
        np.save(path, a)
        return np.load(path, mmap_mode="r")

    return make


@pytest.fixture
def small_windows(monkeypatch):
    """Stream in windows of 50 rows, chunks of 10 rows (2-feature rows)."""
    monkeypatch.setattr(_rows, "CHUNK_BYTES", 10 * 2 * 4)
    monkeypatch.setattr(_rows, "WINDOW_BYTES", 50 * 2 * 4)


def _kinds(memmap):
    return {
        "tensor": torch.from_numpy,
        "memmap": memmap,
        "dataset": Rows,
        "tensor_dataset": lambda a: TensorDataset(torch.from_numpy(a)),
        "float64_tensor": lambda a: torch.from_numpy(a.astype(np.float64)),
        "dataset_of_tensors": lambda a: Rows(torch.from_numpy(a)),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "tensor",
        "memmap",
        "dataset",
        "tensor_dataset",
        "float64_tensor",
        "dataset_of_tensors",
    ],
)
def test_three_argument_form_gives_the_array_results(blobs, memmap, kind):
    Xs, ys, Xt, _ = blobs
    as_kind = _kinds(memmap)[kind]
    expected = DANNClassifier(**FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    clf = DANNClassifier(**FAST).fit(as_kind(Xs), ys, as_kind(Xt))
    np.testing.assert_array_equal(clf.predict_proba(as_kind(Xt)), expected)
    np.testing.assert_array_equal(clf.predict_proba(Xt), expected)


@pytest.mark.parametrize("kind", ["tensor", "memmap", "dataset"])
def test_stacked_form_gives_the_array_results(stacked, blobs, memmap, kind):
    X, y = stacked
    Xt = blobs[2]
    as_kind = _kinds(memmap)[kind]
    expected = DANNClassifier(**FAST).fit(X, y).predict_proba(Xt)
    clf = DANNClassifier(**FAST).fit(as_kind(X), y)
    np.testing.assert_array_equal(clf.predict_proba(as_kind(Xt)), expected)
    np.testing.assert_array_equal(clf.transform(as_kind(X)), clf.transform(X))


def test_two_phase_methods_take_sources(blobs, memmap):
    Xs, ys, Xt, _ = blobs
    for cls in (ADDAClassifier, SHOTAdapter):
        params = dict(source_epochs=2, **FAST)
        expected = cls(**params).fit(Xs, ys, Xt).predict(Xt)
        clf = cls(**params).fit(memmap(Xs), ys, torch.from_numpy(Xt))
        np.testing.assert_array_equal(clf.predict(Rows(Xt)), expected)
    src = SourceOnlyClassifier(**FAST).fit(Xs, ys, Xt)
    free = SHOTAdapter(src, **FAST).fit(Xt).predict(Xt)
    np.testing.assert_array_equal(
        SHOTAdapter(src, **FAST).fit(memmap(Xt)).predict(Xt), free
    )


def test_streamed_windows_same_results_from_any_out_of_core_source(
    blobs, memmap, small_windows
):
    Xs, ys, Xt, _ = blobs
    in_memory = DANNClassifier(**FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    streamed = DANNClassifier(**FAST).fit(memmap(Xs), ys, memmap(Xt))
    from_dataset = DANNClassifier(**FAST).fit(Rows(Xs), ys, Rows(Xt))
    proba = streamed.predict_proba(Xt)
    np.testing.assert_array_equal(from_dataset.predict_proba(Xt), proba)
    assert not np.array_equal(proba, in_memory)  # windows shuffle differently
    # statistics and predictions do not depend on the container
    np.testing.assert_array_equal(streamed.input_mean_, from_dataset.input_mean_)
    np.testing.assert_array_equal(streamed.predict_proba(memmap(Xt)), proba)


def test_stacked_memmap_is_split_without_reading_rows(tmp_path):
    X = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (40, 3))
    X[:] = np.arange(120, dtype=np.float32).reshape(40, 3)
    y = np.r_[np.arange(20) % 2, np.full(20, -1)]
    from skuda._validation import split_stacked

    X_src, y_src, X_tgt = split_stacked(np.load(tmp_path / "x.npy", "r"), y)
    assert isinstance(X_src, _rows.RowSource) and X_src.shape == (20, 3)
    np.testing.assert_array_equal(X_tgt.read(0, 20), X[20:])
    np.testing.assert_array_equal(y_src, y[:20])


def test_float32_tensor_on_the_device_is_used_in_place_and_never_modified(blobs):
    Xs, ys, Xt, _ = blobs
    ts, tt = torch.from_numpy(Xs.copy()), torch.from_numpy(Xt.copy())
    clf = DANNClassifier(**FAST)
    a, b = clf._check_domains(ts, tt, ("X_src", "y_src", "X_tgt"))
    a, b = clf._fit_scaling(a, b)  # pooled scaling, applied per batch
    data = DomainData(a, ys, b, device="cpu")
    assert data.X_src.tensor.data_ptr() == ts.data_ptr()  # no copy
    assert data.X_tgt.tensor.data_ptr() == tt.data_ptr()
    clf.fit(ts, ys, tt).predict(tt)
    assert torch.equal(ts, torch.from_numpy(Xs)) and torch.equal(
        tt, torch.from_numpy(Xt)
    )


def test_memmap_never_written(blobs, memmap):
    Xs, ys, Xt, _ = blobs
    path_src = memmap(Xs)
    clf = DANNClassifier(**FAST).fit(path_src, ys, memmap(Xt))
    clf.predict(path_src)
    np.testing.assert_array_equal(np.load(path_src.filename), Xs)


def test_signal_rows_from_a_tensor(signals_2d):
    Xs, ys, Xt, _ = signals_2d
    params = dict(feature_extractor="cnn1d", **FAST)
    expected = SourceOnlyClassifier(**params).fit(Xs, ys, Xt).predict_proba(Xt)
    clf = SourceOnlyClassifier(**params).fit(torch.from_numpy(Xs), ys, Rows(Xt))
    np.testing.assert_array_equal(clf.predict_proba(torch.from_numpy(Xt)), expected)


# -- validation ---------------------------------------------------------------------
def _fit(X_src, ys, X_tgt):
    return DANNClassifier(max_epochs=1, device="cpu", random_state=0).fit(
        X_src, ys, X_tgt
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf_in_sources_rejected_with_the_row(blobs, memmap, bad):
    Xs, ys, Xt, _ = blobs
    Xt = Xt.copy()
    Xt[77, 1] = bad
    for X_tgt in (memmap(Xt), torch.from_numpy(Xt), Rows(Xt)):
        with pytest.raises(
            ValueError, match=r"X_tgt contains NaN or infinity \(row 77\)"
        ):
            _fit(Xs, ys, X_tgt)
    clf = _fit(Xs, ys, blobs[2])
    for X in (memmap(Xt), torch.from_numpy(Xt), Rows(Xt)):
        with pytest.raises(ValueError, match=r"X contains NaN or infinity \(row 77\)"):
            clf.predict(X)


def test_nan_found_without_input_scaling(blobs):
    Xs, ys, Xt, _ = blobs
    Xt = Xt.copy()
    Xt[5, 0] = np.nan
    clf = DANNClassifier(max_epochs=1, device="cpu", input_scaling=None)
    with pytest.raises(ValueError, match="X_tgt contains NaN"):
        clf.fit(Xs, ys, torch.from_numpy(Xt))


def test_dataset_item_shapes_checked(blobs):
    Xs, ys, Xt, _ = blobs

    ragged = Rows([row[:1] if i == 8 else row for i, row in enumerate(Xt)])
    with pytest.raises(ValueError, match=r"X_tgt\[8\] has shape \(1,\) but X_tgt\[0\]"):
        _fit(Xs, ys, ragged)
    pairs = Rows(Xt, lambda row: (row, 0))
    with pytest.raises(
        ValueError, match=r"X_tgt\[0\] is a tuple of 2 items, not one row"
    ):
        _fit(Xs, ys, pairs)
    with pytest.raises(ValueError, match=r"X_tgt\[0\] is a dict"):
        _fit(Xs, ys, Rows(Xt, lambda row: {"x": row}))
    with pytest.raises(ValueError, match="X_src has 1 dimension"):
        _fit(Rows(Xs, lambda row: row[0]), ys, Xt)
    with pytest.raises(TypeError, match=r"X_tgt\[0\] has dtype <U"):
        _fit(Xs, ys, Rows(Xt, lambda row: np.array(["a", "b"])))
    with pytest.raises(ValueError, match="X_tgt has 3 features .* X_src has 2"):
        _fit(Xs, ys, Rows(np.hstack([Xt, Xt[:, :1]])))


def test_tensor_dataset_of_features_and_labels_rejected(blobs):
    Xs, ys, Xt, _ = blobs
    both = TensorDataset(torch.from_numpy(Xs), torch.from_numpy(ys))
    with pytest.raises(ValueError, match="TensorDataset of 2 tensors; skuda takes"):
        _fit(both, ys, Xt)


def test_other_kinds_rejected_clearly(blobs):
    Xs, ys, Xt, _ = blobs

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(Xt)

    with pytest.raises(TypeError, match="X_tgt is an iterable-style Dataset"):
        _fit(Xs, ys, Stream())
    with pytest.raises(TypeError, match="X_tgt has dtype torch.complex64"):
        _fit(Xs, ys, torch.from_numpy(Xt).to(torch.complex64))
    with pytest.raises(TypeError, match="X_src is a sparse tensor"):
        _fit(torch.from_numpy(Xs).to_sparse(), ys, Xt)
    with pytest.raises(ValueError, match="X_src has 3 dimensions; expected 2-D"):
        _fit(torch.zeros(120, 2, 3), ys, Xt)
    with pytest.raises(ValueError, match=r"X_src has shape \(0, 2\); at least one row"):
        _fit(torch.zeros(0, 2), ys, Xt)
    with pytest.raises(ValueError, match=r"X_tgt has shape \(120, 0\); at least one"):
        _fit(Xs, ys, torch.zeros(120, 0))


def test_integer_and_grad_tensors_accepted(blobs):
    Xs, ys, Xt, _ = blobs
    expected = _fit(np.round(Xs), ys, Xt).predict(Xt)
    ints = torch.from_numpy(np.round(Xs)).long()
    grad = torch.from_numpy(Xt.copy()).requires_grad_()
    labels = torch.from_numpy(ys)  # labels as a tensor too
    np.testing.assert_array_equal(_fit(ints, labels, grad).predict(grad), expected)


def test_finite_rows_whose_sum_overflows_are_not_taken_for_nan():
    # Chunks are screened by their sum (cheap); an overflowing sum of finite
    # rows is rechecked exactly rather than reported as NaN.
    from skuda._rows import TensorRows
    from skuda._streaming import DeviceRows

    X = torch.full((4, 3), 3e38)
    assert torch.isinf(X.sum())
    rows = DeviceRows(TensorRows(X, "X"), "cpu")
    torch.testing.assert_close(rows[0:4], X)
    X[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(row 2\)"):
        DeviceRows(TensorRows(X, "X"), "cpu")[0:4]
