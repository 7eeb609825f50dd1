"""
Choosing ``lambda_`` without target labels
==========================================

DANN's adversarial weight ``lambda_`` matters: too small and nothing is
aligned, too large and the adversary erodes the class information. In
unsupervised domain adaptation there are no target labels to tune it with, and
``GridSearchCV``'s default score is the wrong yardstick: on the stacked form
it counts every held-out target row (label ``-1``) as an error and so ranks
models by their *source* accuracy, which adaptation is not meant to improve.

:mod:`skuda.selection` provides what a grid search needs instead:

* :class:`~skuda.selection.StackedDomainSplit`, a CV splitter that puts
  labelled source rows *and* unlabelled target rows in every fold;
* scorers that read no target label, e.g. deep embedded validation (DEV),
  information maximisation (IM) and soft neighbourhood density (SND).

This example runs such a search over ``lambda_`` and, **for illustration
only**, puts the true target accuracy next to the label-free scores. In
practice that curve is not available: it is what the scores try to estimate.
"""

# %%
# The stacked form
# ----------------
# ``GridSearchCV`` passes only ``(X, y)`` to ``fit``, so source and target rows
# are stacked and the target rows are labelled ``-1``.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from skuda import DANNClassifier
from skuda.datasets import make_shifted_blobs
from skuda.selection import (
    DeepEmbeddedValidationScorer,
    InformationMaximizationScorer,
    SoftNeighborhoodDensityScorer,
    SourceAccuracyScorer,
    StackedDomainSplit,
)

X_src, y_src, X_tgt, y_tgt = make_shifted_blobs(
    300, n_features=5, shift=4.0, rotation=60.0, random_state=0
)
X = np.vstack([X_src, X_tgt])
y = np.r_[y_src, np.full(len(X_tgt), -1)]
print(X.shape, "target rows:", int((y == -1).sum()))

# %%
# The search
# ----------
# Five values of ``lambda_`` (0 switches the adversary off), three folds. Every
# model is scored by every entry of the ``scoring`` dict:
#
# * ``dev``, ``im`` and ``snd`` are the label-free scorers;
# * ``source`` is the source accuracy, what the default scoring amounts to;
# * ``oracle`` is the accuracy on the *labelled* target rows (``y_tgt``),
#   whatever rows it is called with. It cheats, and is here only to show what
#   the other scores should have found. Never use it to choose a model.
#
# ``refit`` needs one of the names; ``refit="im"`` refits the value that
# IM prefers on all rows. The table below shows what each score would have
# picked.


def oracle_accuracy(estimator, X, y):
    """Target accuracy with the target labels: cheats, for comparison only."""
    return np.mean(estimator.predict(X_tgt) == y_tgt)


lambdas = [0.0, 0.1, 0.3, 1.0, 3.0]
scoring = {
    "dev": DeepEmbeddedValidationScorer(),
    "im": InformationMaximizationScorer(),
    "snd": SoftNeighborhoodDensityScorer(),
    "source": SourceAccuracyScorer(),
    "oracle": oracle_accuracy,
}
search = GridSearchCV(
    DANNClassifier(hidden_layer_sizes=(64, 64), max_epochs=50, random_state=0),
    {"lambda_": lambdas},
    scoring=scoring,
    refit="im",
    cv=StackedDomainSplit(3, random_state=0),
).fit(X, y)

results = search.cv_results_
oracle = results["mean_test_oracle"]
print(f"{'score':>8}  {'picks lambda_':>13}  {'target acc. of that pick':>24}")
for name in scoring:
    best = int(np.argmax(results[f"mean_test_{name}"]))
    print(f"{name:>8}  {lambdas[best]:>13}  {oracle[best]:>24.3f}")

# %%
# ``best_estimator_`` is the refitted model (here: IM's choice). Scoring it on
# the target with the labels is, again, only possible in a demo.

print("refitted lambda_:", search.best_params_["lambda_"])
print(f"its target accuracy: {search.best_estimator_.score(X_tgt, y_tgt):.3f}")

# %%
# Scores against ``lambda_``
# --------------------------
# Mean over the three folds, with the spread (one standard deviation) as a
# band. The star marks each score's pick.

x = np.arange(len(lambdas))
panels = [
    ("oracle", "Target accuracy (needs labels:\nNOT available in practice)", "C3"),
    ("source", "Source accuracy\n(what the default scoring ranks by)", "0.4"),
    ("dev", "DEV (label-free)", "C0"),
    ("im", "IM (label-free)", "C1"),
    ("snd", "SND (label-free)", "C2"),
]
fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.8), sharex=True)
for ax, (name, title, color) in zip(axes, panels, strict=True):
    mean = results[f"mean_test_{name}"]
    std = results[f"std_test_{name}"]
    ax.plot(x, mean, "o-", color=color)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2)
    best = int(np.argmax(mean))
    ax.plot(x[best], mean[best], "*", ms=16, color=color, mec="k")
    ax.set_title(title, fontsize="medium")
    ax.set_xticks(x, [str(v) for v in lambdas])
    ax.set_xlabel("lambda_")
    if name in ("oracle", "source"):  # one scale for the two accuracies
        ax.set_ylim(0.75, 1.02)
        ax.set_ylabel("accuracy")
    else:
        ax.set_ylabel("score (higher is better)")
fig.tight_layout()
plt.show()

# %%
# What happened
# -------------
# * **Source accuracy** barely moves with ``lambda_``: the default scoring
#   cannot tell a well-adapted model from an unadapted one, and on a tie it
#   takes the first value of the grid.
# * **DEV** estimates the target loss as the source loss re-weighted by
#   ``p_target(x) / p_source(x)``, with the ratio estimated by a domain
#   classifier on the learned features. The estimate is only as good as the
#   overlap of the two domains there. On this toy problem the domains hardly
#   overlap in the learned features at any ``lambda_`` (a linear probe
#   separates them, see :ref:`sphx_glr_auto_examples_plot_embedding.py`), so
#   the weight sits on a handful of target-like source rows and DEV mostly
#   follows the source loss, which grows with ``lambda_`` as the adversary
#   trades source fit for alignment. Check the table above: when we wrote
#   this, DEV picked ``lambda_=0``.
# * **IM** and **SND** look only at the target predictions (confident and
#   diverse; dense and consistent). They do not depend on domain overlap, but
#   they reward *any* confident clustering of the target rows, right or
#   wrong, so they can favour a too-strong adversary.
#
# No label-free score is right on every problem, and a single toy problem
# proves nothing either way. Look at several scores, prefer values on which
# they agree, and read the measured comparison on real benchmarks in
# :doc:`/selection`.
#
# Choosing the number of epochs
# -----------------------------
# :class:`~skuda.callbacks.UnsupervisedEarlyStopping` scores the target
# predictions after every epoch (no labels), stops when the score has not
# improved for ``patience`` epochs and restores the best epoch's weights::
#
#     DANNClassifier(max_epochs=300,
#                    callbacks=[UnsupervisedEarlyStopping("im", patience=10)])
#
# The score it records, ``target_im``, is plotted for two runs in
# :ref:`sphx_glr_auto_examples_plot_learning_curves.py`; see :doc:`/selection`
# for the details.
