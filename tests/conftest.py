import numpy as np
import pytest

from skuda.datasets import find_data_dir, make_shifted_blobs


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
