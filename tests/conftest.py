import numpy as np
import pytest
import torch

from skuda import SourceOnlyClassifier
from skuda.datasets import find_data_dir, make_shifted_blobs


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    # The tests train tiny networks, for which torch's intra-op threads only add
    # contention on a small machine (10x slower seen on 2 busy cores).
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def blobs():
    """A small 3-class problem with a rotated and translated target."""
    return make_shifted_blobs(120, random_state=0)


@pytest.fixture(scope="session")
def stacked(blobs):
    Xs, ys, Xt, _ = blobs
    return np.vstack([Xs, Xt]), np.r_[ys, np.full(len(Xt), -1)]


@pytest.fixture(scope="session")
def source_model(blobs):
    """A source-only model of ``blobs`` (inputs scaled over both domains).

    Shared by the session: use it read-only (predict, score, transform, or as
    a ``source_estimator``); clone it before fitting.
    """
    Xs, ys, Xt, _ = blobs
    clf = SourceOnlyClassifier(
        max_epochs=3, batch_size=32, random_state=0, device="cpu"
    )
    return clf.fit(Xs, ys, X_tgt=Xt)


def _signals(n=60, channels=None, length=256, seed=0):
    """Three classes of noisy sines (class = frequency), (n, [channels,] length)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    t = np.arange(length)
    shape = (n, length) if channels is None else (n, channels, length)
    freq = (4 + 6 * y).reshape((n,) + (1,) * (len(shape) - 1))
    phase = rng.uniform(0, 2 * np.pi, size=shape[:-1] + (1,))
    X = np.sin(2 * np.pi * freq * t / length + phase) + 0.3 * rng.standard_normal(shape)
    return (3.0 * X + 10.0).astype(np.float32), y


@pytest.fixture(scope="session")
def make_signals():
    """``make_signals(n=60, channels=None, length=256, seed=0) -> X, y``.

    Three classes of noisy sines (class = frequency), of shape (n, length) or
    (n, channels, length).
    """
    return _signals


@pytest.fixture(scope="session")
def signals_2d():
    """Source and shifted (x1.5) target signals of shape (60, 256): Xs, ys, Xt, yt."""
    Xs, ys = _signals(seed=0)
    Xt, yt = _signals(seed=1)
    return Xs, ys, 1.5 * Xt, yt


@pytest.fixture(scope="session")
def data_dir():
    path = find_data_dir()
    if path is None:
        pytest.skip("shared/data is not available")
    return path
