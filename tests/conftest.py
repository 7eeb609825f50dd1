import numpy as np
import pytest
import torch

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
def data_dir():
    path = find_data_dir()
    if path is None:
        pytest.skip("shared/data is not available")
    return path
