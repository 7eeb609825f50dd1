"""Window streaming of out-of-core rows: every row once per pass, reads in order."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from skuda import _rows
from skuda._batching import DomainBatches, DomainData, _IndexStream
from skuda._rows import MemmapRows, row_source
from skuda._scaling import float32_moments, moments, standardize_
from skuda._streaming import DeviceRows, WindowStream


class Spy(MemmapRows):
    """A memory-map source that records every read."""

    def __init__(self, array):
        super().__init__(array, "X")
        self.reads = []

    def _read(self, start, stop):
        self.reads.append((start, stop))
        return super()._read(start, stop)


@pytest.fixture
def rows_on_disk(tmp_path):
    X = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (103, 2))
    X[:, 0] = np.arange(103)
    X[:, 1] = -np.arange(103)
    X.flush()
    return np.load(tmp_path / "x.npy", mmap_mode="r")


def _stream(array, monkeypatch, chunk_rows=10, window_rows=30, seed=0):
    monkeypatch.setattr(_rows, "CHUNK_BYTES", chunk_rows * 8)
    monkeypatch.setattr(_rows, "WINDOW_BYTES", window_rows * 8)
    source = Spy(array)
    source.checked = True
    gen = torch.Generator().manual_seed(seed)
    return source, WindowStream(DeviceRows(source, "cpu"), gen)


def _drain(stream, k):
    segments = stream.plan(k)
    out = [stream.rows(*seg) for seg in segments]
    index = torch.cat([i for i, _ in out])
    rows = torch.cat([x for _, x in out])
    windows = list(dict.fromkeys(seg[0].chunks for seg in segments))
    return index, rows, windows


def test_every_row_once_per_pass_read_in_chunks_in_file_order(
    rows_on_disk, monkeypatch
):
    source, stream = _stream(rows_on_disk, monkeypatch)
    index, rows, windows = _drain(stream, 2 * 103)
    assert torch.equal(rows[:, 0].long(), index)  # rows travel with their index
    for one_pass in (index[:103], index[103:]):
        assert sorted(one_pass.tolist()) == list(range(103))
    assert not torch.equal(index[:103], torch.arange(103))  # shuffled
    # 11 chunks of 10 rows, windows of 3 chunks: each read once, in file order
    assert [len(w) for w in windows] == [3, 3, 3, 2] * 2
    assert all(list(w) == sorted(w) for w in windows)
    spans = [(10 * c, min(103, 10 * c + 10)) for w in windows for c in w]
    assert source.reads == spans
    # a window's rows are served together, then the next window's
    size = sum(min(103, 10 * c + 10) - 10 * c for c in windows[0])
    assert {i // 10 for i in index[:size].tolist()} == set(windows[0])


def test_one_window_at_a_time(rows_on_disk, monkeypatch):
    _, stream = _stream(rows_on_disk, monkeypatch)
    for segment in stream.plan(103):
        stream.rows(*segment)
        assert len(stream.loaded[1]) <= 30


def test_a_domain_in_one_window_is_read_once_and_drawn_like_in_memory(
    rows_on_disk, monkeypatch
):
    source, stream = _stream(rows_on_disk, monkeypatch, window_rows=200)
    index, _, _ = _drain(stream, 250)
    reference = _IndexStream(103, torch.Generator().manual_seed(0), "cpu").take(250)
    assert torch.equal(index, reference)
    assert sum(b - a for a, b in source.reads) == 103  # read once, kept


def test_batches_of_a_streamed_domain_match_an_in_memory_one_in_one_window(
    rows_on_disk,
):
    X = np.asarray(rows_on_disk).copy()
    labels = np.arange(103) % 3
    stats = float32_moments(X)  # as the estimator scales: float32, in place
    source = row_source(rows_on_disk, "X_src").with_scaling(stats)
    streamed = DomainData(
        source, labels, row_source(rows_on_disk, "X_tgt"), device="cpu"
    )
    in_memory = DomainData(standardize_(X.copy(), *stats), labels, X, device="cpu")
    assert streamed.X_src.streams and not isinstance(in_memory.X_src, DeviceRows)
    for a, b in zip(*(_epoch(d) for d in (streamed, in_memory)), strict=True):
        assert all(torch.equal(u, v) for u, v in zip(a[1:4], b[1:4], strict=True))


def _epoch(data, seed=0):
    return list(DomainBatches(data, 16, generator=torch.Generator().manual_seed(seed)))


def test_streaming_moments_match_numpy():
    rng = np.random.default_rng(0)
    X = rng.normal(3, 2, size=(1000, 7)).astype(np.float32)
    Y = rng.normal(-1, 5, size=(333, 7)).astype(np.float32)
    mean, std = moments(X, Y)
    both = np.concatenate([X, Y])
    np.testing.assert_allclose(mean, both.mean(0, dtype=np.float64), rtol=1e-12)
    np.testing.assert_allclose(std, both.std(0, dtype=np.float64), rtol=1e-12)
    import skuda._scaling as scaling

    old, scaling.CHUNK_VALUES = scaling.CHUNK_VALUES, 7 * 64  # 21 chunks
    try:
        chunked = moments(X, Y)
    finally:
        scaling.CHUNK_VALUES = old
    np.testing.assert_allclose(chunked[0], mean, rtol=1e-12)
    np.testing.assert_allclose(chunked[1], std, rtol=1e-12)


def _mapped_kb(path):
    """Resident kB of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1].isalnum() and "-" in line.split()[0]:
            inside = line.rstrip().endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="Linux only")
def test_reading_a_memmap_does_not_keep_its_pages_resident(tmp_path):
    path = tmp_path / "big.npy"
    X = np.lib.format.open_memmap(path, "w+", np.float32, (2**18, 8))  # 8 MB
    X[:] = 1.0
    X.flush()
    del X
    mapped = np.load(path, mmap_mode="r")
    source = row_source(mapped, "X")
    source.check()  # reads every row
    assert _mapped_kb(path) < 1024
    np.asarray(mapped).sum()  # a plain read keeps them: the check can fail
    assert _mapped_kb(path) > 4096


def test_copy_on_write_maps_are_never_released(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((4, 2), np.float32))
    cow = np.load(tmp_path / "x.npy", mmap_mode="c")
    assert _rows._file_mapping(cow)[1] is False
    assert _rows._file_mapping(np.load(tmp_path / "x.npy", mmap_mode="r"))[1] is True
    assert _rows._file_mapping(np.ones(3)) is None
