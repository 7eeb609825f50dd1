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
