"""
Every method on one real task: handwritten digits, thin to bold strokes
=======================================================================

A side-by-side comparison of skuda's estimators on real images that ship with
scikit-learn (:func:`sklearn.datasets.load_digits`, 8x8 grey-level digits, no
download). The domain shift is a real sub-population shift, not a synthetic
transform: the **source** domain holds the digits written with the least ink
(thin strokes), the **target** domain those with the most (bold strokes), so
the two domains differ in stroke width and pixel intensities while the classes
stay the same.

Every estimator runs with the same short schedule (fixed in advance: no
target label chooses anything) and the target accuracy is measured on the
target rows, as in the benchmarks' transductive protocol. On a problem this
small the ranking depends on the seed; see :doc:`/benchmarks` for means over
tasks and seeds and the user guide's "Which method to use".
"""

# %%
# Two domains from one real data set
# ----------------------------------
# The total ink of an image (sum of its pixels) splits the digits at its
# median, per class, so both domains keep every class in the same proportions.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import skuda

X, y = load_digits(return_X_y=True)
ink = X.sum(axis=1)
thin = np.zeros(len(y), dtype=bool)
for c in np.unique(y):
    rows = np.flatnonzero(y == c)
    thin[rows[ink[rows] <= np.median(ink[rows])]] = True
X_src, y_src = X[thin], y[thin]
X_tgt, y_tgt = X[~thin], y[~thin]
print(f"source: {len(y_src)} thin digits, target: {len(y_tgt)} bold digits")
print(f"mean ink: source {ink[thin].mean():.0f}, target {ink[~thin].mean():.0f}")

# %%
# The methods
# -----------
# One short schedule for all: 30 epochs of training (ADDA and SHOT: 30 of
# source training, then 15 of adaptation), ``random_state=0``.

common = dict(random_state=0, device="cpu")
two_phase = dict(source_epochs=30, max_epochs=15, **common)
estimators = {
    "source-only": skuda.SourceOnlyClassifier(max_epochs=30, **common),
    "DANN": skuda.DANNClassifier(max_epochs=30, **common),
    "ADDA": skuda.ADDAClassifier(**two_phase),
    "SHOT": skuda.SHOTAdapter(**two_phase),
    "MCC": skuda.MCCClassifier(max_epochs=30, **common),
    "CDAN+E": skuda.CDANClassifier(max_epochs=30, **common),
    "Deep CORAL": skuda.DeepCORALClassifier(max_epochs=30, **common),
    "DAN (MMD)": skuda.DeepCORALClassifier(discrepancy="mmd", max_epochs=30, **common),
}

accuracy, seconds = {}, {}
for name, clf in estimators.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. CollapseWarning
        clf.fit(X_src, y_src, X_tgt)
    seconds[name] = time.perf_counter() - start
    accuracy[name] = clf.score(X_tgt, y_tgt)
    print(f"{name:12s} target accuracy {accuracy[name]:.3f} ({seconds[name]:.1f} s)")

# %%
# Target accuracy
# ---------------
# The dashed line is the source-only network: the bar of every method should
# clear it. Only target rows *without* their labels went into each fit; the
# labels are read here, to score.

names = list(accuracy)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(names, [100 * accuracy[n] for n in names], color="tab:blue")
ax.axhline(100 * accuracy["source-only"], color="k", ls="--", lw=1)
low = min(accuracy.values())
ax.set_ylim(100 * low - 5, 100)
ax.set_ylabel("target accuracy (%)")
ax.set_title("load_digits: thin -> bold strokes")
plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
fig.tight_layout()
plt.show()
