"""Slow tests on the real benchmark data (skipped when shared/data is absent)."""

import numpy as np
import pytest

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.datasets import load_domain

pytestmark = pytest.mark.slow


def test_office_caltech_preprocessing_reproduces_published_1nn(data_dir):
    from sklearn.neighbors import KNeighborsClassifier

    Xs, ys = load_domain("office_caltech", "caltech", data_dir=data_dir)
    Xt, yt = load_domain("office_caltech", "amazon", data_dir=data_dir)
    acc = KNeighborsClassifier(1).fit(Xs, ys).score(Xt, yt)
    assert acc == pytest.approx(0.2370, abs=5e-4)  # JDA/MEDA tables: C->A 23.70


def test_dann_beats_source_only_on_office_caltech_amazon_to_webcam(data_dir):
    Xs, ys = load_domain("office_caltech", "amazon", data_dir=data_dir)
    Xt, yt = load_domain("office_caltech", "webcam", data_dir=data_dir)
    gains = []
    for seed in (0, 1):
        so = SourceOnlyClassifier(random_state=seed).fit(Xs, ys, Xt).score(Xt, yt)
        dann = DANNClassifier(random_state=seed).fit(Xs, ys, Xt).score(Xt, yt)
        gains.append(dann - so)
    assert np.mean(gains) > 0.02, gains
