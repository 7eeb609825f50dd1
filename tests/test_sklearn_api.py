"""scikit-learn conformance of every skuda estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skuda import (
    ADDAClassifier,
    ADDARegressor,
    CDANClassifier,
    DANNClassifier,
    DANNRegressor,
    DeepCORALClassifier,
    DeepCORALRegressor,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    SourceOnlyRegressor,
)
from skuda.selection import DASearchCV

# Tiny settings: the checks fit dozens of times on small data.
TINY = dict(
    min_iterations_per_epoch=1,  # the suite's time: old epoch length
    max_epochs=20,
    lr=0.01,
    hidden_layer_sizes=(32,),
    random_state=0,
    device="cpu",
)

ESTIMATORS = [
    DANNClassifier(**TINY),
    CDANClassifier(**TINY),
    DeepCORALClassifier(**TINY),
    MCCClassifier(**TINY),
    SourceOnlyClassifier(**TINY),
    ADDAClassifier(
        source_epochs=20,
        discriminator_hidden_layer_sizes=(32,),
        **{**TINY, "max_epochs": 5},
    ),
    SHOTAdapter(source_epochs=20, bottleneck_dim=16, **{**TINY, "max_epochs": 5}),
    # Regressors: NaN marks target rows, so -1 is a value (no _MINUS_ONE).
    DANNRegressor(**TINY),
    DeepCORALRegressor(**TINY),
    SourceOnlyRegressor(**TINY),
    ADDARegressor(
        source_epochs=20,
        discriminator_hidden_layer_sizes=(32,),
        **{**TINY, "max_epochs": 5},
    ),
    # The checks pass no target rows: the search then scores by source accuracy.
    DASearchCV(
        DANNClassifier(**{**TINY, "max_epochs": 10, "hidden_layer_sizes": (16,)}),
        {"lr": [1e-2, 3e-2]},
        cv=2,
    ),
]

# Checks that cannot apply to unsupervised domain adaptation, with the reason.
_MINUS_ONE = (
    "uses -1 as a class label; in the stacked fit(X, y) form -1 marks unlabelled "
    "target rows (scikit-learn's semi-supervised convention)"
)
_REPEATS = (
    "shuffled mini-batches: a repeated row changes the epoch length and which "
    "rows share a batch, so an integer weight equals repetition only in "
    "expectation (exactly with full batches: tests/test_weights.py)"
)
_WEIGHTS = {
    "check_sample_weight_equivalence_on_dense_data": _REPEATS,
    "check_sample_weight_equivalence_on_sparse_data": _REPEATS,
}
_COMMON = {"check_classifiers_classes": _MINUS_ONE, **_WEIGHTS}
EXPECTED_FAILED = {
    "DANNClassifier": _COMMON,
    "MCCClassifier": _COMMON,
    "CDANClassifier": _COMMON,
    "DeepCORALClassifier": _COMMON,
    "SourceOnlyClassifier": _COMMON,
    "ADDAClassifier": _COMMON,
    "DASearchCV": _COMMON,
    "DANNRegressor": _WEIGHTS,
    "DeepCORALRegressor": _WEIGHTS,
    "SourceOnlyRegressor": _WEIGHTS,
    "ADDARegressor": _WEIGHTS,
    "SHOTAdapter": {
        **_COMMON,
        "check_class_weight_classifiers": (
            "SHOT's weight-normalised head on a batch-normalised bottleneck "
            "bounds the logits: the 20 source steps of these tiny settings do "
            "not yet move every test row to the up-weighted class (300 do)"
        ),
        "check_methods_subset_invariance": (
            "transform returns the batch-normalised bottleneck (no ReLU), whose "
            "near-zero entries differ by float32 rounding between batch sizes"
        ),
    },
}


def _expected_failed(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_import_has_no_global_side_effects(estimator):
    import subprocess
    import sys

    code = (
        "import warnings, sklearn, torch;"
        "cfg = sklearn.get_config(); filters = list(warnings.filters);"
        "state = torch.get_rng_state(); threads = torch.get_num_threads();"
        "import skuda;"
        "assert sklearn.get_config() == cfg;"
        "assert list(warnings.filters) == filters;"
        "assert torch.equal(state, torch.get_rng_state());"
        "assert torch.get_num_threads() == threads"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
