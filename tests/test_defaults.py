"""The defaults adapt on low-dimensional shifts (issue 13's "Must show").

One seed per problem keeps this fast; benchmarks/defaults_study.py --check
measures the same on 3 seeds for every method.
"""

import pytest

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.datasets import make_shifted_blobs, make_shifted_moons

PROBLEMS = {
    # the DANN paper's toy: 2-D moons, target rotated by 40 degrees
    "moons2d": lambda: make_shifted_moons(300, rotation=40.0, random_state=0),
    # 5-D blobs, target rotated by 45 degrees and translated by 3
    "blobs5d": lambda: make_shifted_blobs(
        300, n_features=5, shift=3.0, rotation=45.0, random_state=0
    ),
}


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_default_dann_adapts_where_source_only_fails(problem):
    Xs, ys, Xt, yt = PROBLEMS[problem]()
    so = SourceOnlyClassifier(random_state=0, device="cpu").fit(Xs, ys, Xt)
    dann = DANNClassifier(random_state=0, device="cpu").fit(Xs, ys, Xt)
    gain = dann.score(Xt, yt) - so.score(Xt, yt)
    final_domain_acc = dann.history_[-1, "domain_acc"]
    assert gain >= 0.05, gain
    # the encoder fools the discriminator: it ends far from separating domains
    assert final_domain_acc < 0.9, final_domain_acc


def test_auto_learning_rate_follows_the_input_dimension():
    import numpy as np

    from skuda._building import auto_lr

    assert auto_lr((2,)) == auto_lr((8,)) == 1e-2
    assert np.isclose(auto_lr((800,)), 1e-3)
    assert np.isclose(auto_lr((32,)), 5e-3)
    assert auto_lr((3, 64), "cnn1d") == auto_lr((1, 16, 16)) == 1e-3
    rng = np.random.default_rng(0)
    for d, expected in [(2, 1e-2), (800, 1e-3)]:
        X = rng.normal(size=(40, d)).astype("float32")
        y = np.arange(40) % 2
        clf = DANNClassifier(max_epochs=1, random_state=0, device="cpu")
        clf.fit(X[:20], y[:20], X[20:])
        assert clf.lr == "auto"  # the parameter is left as given
        assert np.isclose(clf.net_.lr, expected)
