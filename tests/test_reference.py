"""Recorded predictions: refactors must not change what a fixed seed gives."""

import numpy as np
import pytest
import torch
from reference.cases import CASES, RECORD, fingerprint, run_case

RECORDED = np.load(RECORD)


@pytest.mark.filterwarnings("ignore::skuda.CollapseWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_predictions_match_the_recording(name):
    assert torch.get_num_threads() == 1  # the recording's setting (conftest)
    proba = run_case(name)
    expected = RECORDED[name]
    if str(RECORDED["__fingerprint__"]) == fingerprint():
        np.testing.assert_array_equal(proba, expected)  # bit-identical
    else:  # another CPU or torch build may round differently
        np.testing.assert_allclose(proba, expected, rtol=0, atol=1e-5)


def test_every_case_is_recorded():
    assert set(CASES) == set(RECORDED.files) - {"__fingerprint__"}
