"""
Source-free adaptation of a trained model with SHOT
===================================================

Sometimes the source data cannot travel (privacy, size, licence) but a model
trained on it can. :class:`~skuda.SHOTAdapter` adapts such a model to a new
domain from **unlabelled target rows alone**: it freezes the model's
classifier and retrains its feature extractor so that the target predictions
become confident and use every class (information maximisation), guided by
pseudo-labels from class centroids.

This example adapts a :class:`~skuda.SourceOnlyClassifier` that was trained
"elsewhere", looks at SHOT's ``history_``, and compares the result with the
cheapest possible baseline, which turns out to matter on this problem.
"""

# %%
# A model trained on the source only
# ----------------------------------
# The source model never sees a target row: ``fit(X_src, y_src)``.

import matplotlib.pyplot as plt
import numpy as np

from skuda import SHOTAdapter, SourceOnlyClassifier
from skuda.datasets import make_shifted_blobs

X_src, y_src, X_tgt, y_tgt = make_shifted_blobs(
    300, n_features=5, shift=4.0, rotation=60.0, random_state=0
)
source_model = SourceOnlyClassifier(max_epochs=50, random_state=0).fit(X_src, y_src)
print(f"source model, target accuracy: {source_model.score(X_tgt, y_tgt):.3f}")

# %%
# Adapting it with target rows only
# ---------------------------------
# ``SHOTAdapter(source_model)`` takes the fitted model (it is copied, never
# modified) and ``fit`` takes the target rows only. ``cls_par=0`` switches the
# pseudo-label term off (the "SHOT-IM" variant).

shot = SHOTAdapter(source_model, random_state=0).fit(X_tgt)
shot_im = SHOTAdapter(source_model, cls_par=0.0, random_state=0).fit(X_tgt)
print(f"SHOT,    target accuracy: {shot.score(X_tgt, y_tgt):.3f}")
print(f"SHOT-IM, target accuracy: {shot_im.score(X_tgt, y_tgt):.3f}")

# %%
# The baseline to beat: re-standardise the target
# -----------------------------------------------
# With no source rows to pool with, SHOT standardises the target rows with
# their *own* mean and standard deviation before adapting (see
# :doc:`/methods/shot`). That step alone is a classic adaptation baseline
# (first- and second-moment matching). To measure it, we give the source model
# target rows whose per-feature mean and standard deviation have been set to
# the source's, and train nothing.

X_tgt_matched = (X_tgt - X_tgt.mean(axis=0)) / X_tgt.std(axis=0)
X_tgt_matched = X_tgt_matched * X_src.std(axis=0) + X_src.mean(axis=0)
acc_matched = source_model.score(X_tgt_matched, y_tgt)
print(f"moment matching only, target accuracy: {acc_matched:.3f}")

# %%
# SHOT's training curves
# ----------------------
# ``history_`` records, per adaptation epoch: the mean prediction ``entropy``
# (falls as predictions get confident), the ``diversity`` of the mean
# prediction (stays near ``log(n_classes)`` while all classes are used; a drop
# signals collapse onto few classes), the two weighted loss terms ``im_loss``
# (entropy minus diversity) and ``pseudo_label_loss``, and
# ``pseudo_label_changed``, the share of target rows whose pseudo-label changed
# at the last refresh (NaN until the second refresh).

h = shot.history_
print("pseudo-labels changed:", np.round(h[:, "pseudo_label_changed"], 3))

epochs = np.arange(1, len(h) + 1)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
axes[0].plot(epochs, h[:, "entropy"], color="C0")
axes[0].set_title("Mean prediction entropy")
axes[0].set_ylabel("entropy (nats)")
axes[1].plot(epochs, h[:, "diversity"], color="C0", label="diversity")
axes[1].axhline(np.log(3), color="k", ls=":", lw=1, label="log 3 (classes used evenly)")
axes[1].set_ylim(0, 1.2)
axes[1].set_title("Diversity of the mean prediction")
axes[1].set_ylabel("entropy of the mean (nats)")
axes[1].legend(loc="lower right")
axes[2].plot(epochs, h[:, "im_loss"], label="im_loss")
axes[2].plot(epochs, h[:, "pseudo_label_loss"], label="pseudo_label_loss")
axes[2].plot(epochs, h[:, "train_loss"], "k--", lw=1, label="train_loss (sum)")
axes[2].set_title("Loss terms (weighted)")
axes[2].set_ylabel("loss")
axes[2].legend()
for ax in axes:
    ax.set_xlabel("adaptation epoch")
fig.suptitle("SHOT adaptation, per-epoch history_")
fig.tight_layout()

# %%
# The comparison
# --------------

names = ["source model", "moment\nmatching only", "SHOT-IM", "SHOT"]
accs = [
    source_model.score(X_tgt, y_tgt),
    acc_matched,
    shot_im.score(X_tgt, y_tgt),
    shot.score(X_tgt, y_tgt),
]
fig, ax = plt.subplots(figsize=(7, 4))
bars = ax.bar(names, accs, color=["0.6", "0.35", "C1", "C0"])
ax.bar_label(bars, fmt="%.3f")
ax.set_ylim(0, 1.1)
ax.set_ylabel("target accuracy")
ax.set_title("Adapting a source model without source data")
fig.tight_layout()
plt.show()

# %%
# What to take from this
# ----------------------
# * Source-free adaptation is two lines: a fitted skuda classifier (or a
#   ``(feature_extractor, classifier)`` pair of torch modules) and
#   ``SHOTAdapter(model).fit(X_tgt)``.
# * On this toy problem the shift is mostly a translation, so re-standardising
#   the target already recovers nearly all of the lost accuracy, and SHOT adds
#   little on top of it. When we wrote this example we checked three more
#   problems built into skuda (rotated moons, rotated blobs in 2-D and 5-D):
#   there, too, SHOT was within a few points of moment matching, sometimes
#   below it. Compare against this baseline before crediting the method.
# * SHOT's measured gains on real benchmarks are in :doc:`/benchmarks`.
#
# sphinx_gallery_thumbnail_number = 2
