"""Every single-phase method beats its own source-only network on a shift."""

import numpy as np
import pytest

from skuda import DANNClassifier, MCCClassifier, SourceOnlyClassifier
from skuda.datasets import make_shifted_blobs


@pytest.mark.parametrize("method", [DANNClassifier, MCCClassifier])
def test_adaptation_beats_source_only_on_shifted_blobs(method):
    # 5-D blobs, target rotated by 45 degrees and translated by 3: the source
    # decision boundaries cut through the target clusters.
    gains = []
    for seed in range(3):
        Xs, ys, Xt, yt = make_shifted_blobs(
            200, n_features=5, shift=3.0, rotation=45.0, random_state=seed
        )
        # Same network, same pooled input scaling (X_tgt given to both): the
        # adaptation term is the only difference.
        common = dict(hidden_layer_sizes=(64, 64), max_epochs=40, random_state=seed)
        so = SourceOnlyClassifier(**common).fit(Xs, ys, Xt)
        adapted = method(**common).fit(Xs, ys, Xt)
        gains.append(adapted.score(Xt, yt) - so.score(Xt, yt))
    assert np.mean(gains) > 0.015 and min(gains) >= 0, gains
