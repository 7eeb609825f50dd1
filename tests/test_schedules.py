"""The schedules of Ganin & Lempitsky (ICML 2015), Sec. 5.2."""

import math

import pytest

from skuda.schedules import grl_lambda, lr_factor


def test_grl_lambda_schedule_values():
    assert grl_lambda(0.0) == 0.0
    assert grl_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert grl_lambda(0.5) == pytest.approx(0.986614, abs=1e-6)
    assert grl_lambda(1.0) == pytest.approx(0.9999092, abs=1e-7)


def test_lr_factor_schedule_values():
    assert lr_factor(0.0) == 1.0
    assert lr_factor(0.5) == pytest.approx(6**-0.75)
    assert lr_factor(1.0) == pytest.approx(11**-0.75)
