"""
Reading the learning curves in ``history_``
===========================================

Every skuda estimator trains through a skorch ``NeuralNet`` and keeps its
per-epoch record in ``history_`` (a :class:`skorch.history.History`). For an
adversarial method these curves are the first thing to look at: they tell
whether the discriminator and the feature extractor are playing a balanced
game, or whether one of them has won.

This example plots the curves of a :class:`~skuda.DANNClassifier` (with and
without the adversarial term) and of the two phases of an
:class:`~skuda.ADDAClassifier`.
"""

# %%
# Data and a DANN fit
# -------------------
# The shifted blobs of the first example: 300 labelled source rows, 300
# unlabelled target rows. We train DANN with ``lambda_=1`` and, for contrast,
# with ``lambda_=0``: the discriminator then still trains (its curves are
# recorded) but the gradient reversal layer passes nothing back, so the
# features are never pushed towards the target.
#
# :class:`~skuda.callbacks.UnsupervisedEarlyStopping` with ``load_best=False``
# and a patience longer than the run never stops anything; here it only records
# a label-free score of the target predictions after every epoch
# (``target_im``, information maximisation: confident *and* diverse
# predictions score high).

import matplotlib.pyplot as plt
import numpy as np

from skuda import ADDAClassifier, DANNClassifier, SourceOnlyClassifier
from skuda.callbacks import UnsupervisedEarlyStopping
from skuda.datasets import make_shifted_blobs

X_src, y_src, X_tgt, y_tgt = make_shifted_blobs(
    300, n_features=5, shift=4.0, rotation=60.0, random_state=0
)

EPOCHS = 80
fits = {}
for lam in (1.0, 0.0):
    monitor = UnsupervisedEarlyStopping("im", patience=EPOCHS + 1, load_best=False)
    fits[lam] = DANNClassifier(
        lambda_=lam,
        hidden_layer_sizes=(64, 64),
        max_epochs=EPOCHS,
        callbacks=[monitor],
        random_state=0,
    ).fit(X_src, y_src, X_tgt)
    print(f"lambda_={lam}: target accuracy {fits[lam].score(X_tgt, y_tgt):.3f}")

# %%
# What ``history_`` holds
# -----------------------
# One dict per epoch. Index it like a table: ``history_[-1]`` is the last
# epoch, ``history_[:, "domain_acc"]`` one column over all epochs.

h = fits[1.0].history_
print(sorted(h[-1].keys()))
print(
    "last epoch:", {k: round(float(h[-1][k]), 3) for k in ("task_loss", "domain_acc")}
)

# %%
# DANN's curves
# -------------
# * **Task loss**: cross-entropy on the labelled source rows. It should fall;
#   with the adversary on it falls a little more slowly.
# * **Domain loss**: the discriminator's binary cross-entropy. A discriminator
#   that cannot tell the domains apart sits at ``log 2 = 0.69``; without the
#   adversarial term (``lambda_=0``) it drops towards 0.
# * **Discriminator accuracy** (``domain_acc``): near 0.5 when the features are
#   aligned, near 1 when they are not. If it stays near 1 with ``lambda_`` > 0,
#   the features are not being aligned (raise ``lambda_`` or train longer).
# * **Schedules**: ``lambda`` warms up from 0 to ``lambda_`` over training and
#   the learning rate anneals (shown relative to its initial value).
# * **target IM score**: the label-free score recorded by the monitor.

epochs = np.arange(1, EPOCHS + 1)
colors = {1.0: "tab:purple", 0.0: "0.5"}
fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
panels = [
    ("task_loss", "Source task loss", "cross-entropy"),
    ("domain_loss", "Domain loss", "binary cross-entropy"),
    ("domain_acc", "Discriminator accuracy", "accuracy on the batch"),
    ("target_im", "Target IM score (no labels)", "diversity - entropy"),
]
for ax, (key, title, ylabel) in zip(axes.flat, panels, strict=False):
    for lam, clf in fits.items():
        ax.plot(epochs, clf.history_[:, key], color=colors[lam], label=f"lambda_={lam}")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
axes[0, 1].axhline(np.log(2), color="k", ls=":", lw=1, label="chance (log 2)")
axes[0, 2].axhline(0.5, color="k", ls=":", lw=1, label="chance")
for ax in axes.flat[:4]:
    ax.legend(fontsize="small")

ax = axes[1, 1]
lr = np.asarray(h[:, "lr"])
ax.plot(epochs, h[:, "lambda"], color="tab:purple", label="lambda (mean per epoch)")
ax.plot(epochs, lr / lr[0], color="tab:green", label="learning rate / initial")
ax.set_title("Schedules (lambda_=1)")
ax.set_xlabel("epoch")
ax.set_ylabel("value")
ax.legend(fontsize="small")

# Target accuracy per epoch is not in the history (it needs labels); the last
# panel shows the final accuracies instead.
ax = axes[1, 2]
names = [f"lambda_={lam}" for lam in fits]
accs = [clf.score(X_tgt, y_tgt) for clf in fits.values()]
ax.bar(names, accs, color=[colors[lam] for lam in fits])
ax.set_ylim(0, 1.12)
ax.set_title("Final target accuracy (uses labels)")
ax.set_ylabel("accuracy")
for i, acc in enumerate(accs):
    ax.text(i, acc + 0.02, f"{acc:.2f}", ha="center")
fig.suptitle("DANN: per-epoch history_")
fig.tight_layout()

# %%
# With ``lambda_=0`` the discriminator wins outright (accuracy near 1, loss
# falling far below ``log 2``): the domains stay separable in the features.
# With ``lambda_=1`` the two players keep each other in check: as the weight
# warms up, the discriminator accuracy drops back and then oscillates well
# below 1, and the domain loss stays close to ``log 2``. The target IM score
# rises higher with the adversary on, in line with the final accuracies
# (which, unlike the IM score, need target labels).
#
# ADDA: two phases, two histories
# -------------------------------
# ADDA first trains a source model, then a separate target encoder against a
# discriminator. Here the source model is trained explicitly, so that its
# target accuracy *before* adaptation can be compared; ADDA then adapts it
# (``source_history_`` is a copy of the source model's history). ADDA keeps
# batch normalisation on by default, so the source model does too.

source = SourceOnlyClassifier(
    hidden_layer_sizes=(64, 64), batch_norm=True, max_epochs=50, random_state=0
).fit(X_src, y_src, X_tgt)
adda = ADDAClassifier(source, max_epochs=40, random_state=0).fit(X_src, y_src, X_tgt)
print(f"source model, target accuracy: {source.score(X_tgt, y_tgt):.3f}")
print(f"after ADDA,   target accuracy: {adda.score(X_tgt, y_tgt):.3f}")
print(sorted(adda.history_[-1].keys()))

# %%
# ``history_`` is the adaptation phase: ``discriminator_acc``,
# ``discriminator_loss`` and ``encoder_loss`` (the target encoder's
# inverted-label loss: low when it fools the discriminator).

src_h, ad = adda.source_history_, adda.history_
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
axes[0].plot(np.arange(1, len(src_h) + 1), src_h[:, "task_loss"], color="tab:blue")
axes[0].set_title("Phase 1: source training")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("source cross-entropy")

ad_epochs = np.arange(1, len(ad) + 1)
axes[1].plot(ad_epochs, ad[:, "discriminator_acc"], color="tab:red")
axes[1].axhline(0.5, color="k", ls=":", lw=1, label="chance")
axes[1].set_ylim(0.4, 1.02)
axes[1].set_title("Phase 2: discriminator accuracy")
axes[1].set_xlabel("adaptation epoch")
axes[1].set_ylabel("accuracy on the batch")
axes[1].legend(fontsize="small")

axes[2].plot(ad_epochs, ad[:, "discriminator_loss"], label="discriminator loss")
axes[2].plot(ad_epochs, ad[:, "encoder_loss"], label="target encoder loss")
axes[2].axhline(np.log(2), color="k", ls=":", lw=1, label="log 2")
axes[2].set_title("Phase 2: adversarial losses")
axes[2].set_xlabel("adaptation epoch")
axes[2].set_ylabel("binary cross-entropy")
axes[2].legend(fontsize="small")
fig.tight_layout()
plt.show()

# %%
# How to read ADDA's curves: a balanced game keeps the discriminator accuracy
# well below 1 and both losses near ``log 2``. In this run the discriminator
# gradually gains the upper hand and the encoder loss grows, the pattern that
# the :doc:`ADDA page </methods/adda>` warns about (the remedy there: lower
# ``adapt_lr`` or raise ``batch_size``). Whether it cost anything shows in the
# target accuracies printed above: when we wrote this example it had not, the
# adapted model being far better on the target than its source model. On real
# data you cannot check that with labels; use a label-free criterion instead
# (see :ref:`sphx_glr_auto_examples_plot_lambda_grid_search.py`).
