"""
Adapting an existing skorch model with SHOT
===========================================

Most PyTorch classifiers that reach a scikit-learn workflow arrive as a fitted
skorch :class:`~skorch.classifier.NeuralNetClassifier`. When such a model meets
a shifted domain and its training data is out of reach,
:class:`~skuda.SHOTAdapter` adapts it **from unlabelled target rows alone**:
it freezes the model's classifier and retrains the layers before it.

This example trains a skorch model on a source domain, adapts it to a shifted
target with one line, and compares the result with the model as it was and
with a cheap baseline.
"""

# %%
# A skorch model, trained on the source domain
# --------------------------------------------
# The module follows skorch's tutorials: it returns class probabilities (a
# softmax), which the default ``NLLLoss`` of ``NeuralNetClassifier`` expects.
# Its layers are split between a ``features`` block and a ``classifier``: SHOT
# needs to know which part to adapt and which to keep (see below).

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from torch import nn

from skuda import SHOTAdapter
from skuda.datasets import make_shifted_blobs


class ClassifierModule(nn.Module):
    def __init__(self, n_features=5, n_hidden=64, n_classes=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Linear(n_features, n_hidden),
            nn.ReLU(),
            nn.Linear(n_hidden, n_hidden),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(n_hidden, n_classes)

    def forward(self, X):
        return F.softmax(self.classifier(self.features(X)), dim=-1)


X_src, y_src, X_tgt, y_tgt = make_shifted_blobs(
    300, n_features=5, shift=2.0, rotation=90.0, random_state=2
)
X_src, X_tgt = X_src.astype(np.float32), X_tgt.astype(np.float32)

torch.manual_seed(0)
net = NeuralNetClassifier(ClassifierModule, max_epochs=20, lr=0.1, verbose=0)
net.fit(X_src, y_src)
acc_source = np.mean(net.predict(X_tgt) == y_tgt)
print(f"skorch model, target accuracy: {acc_source:.3f}")

# %%
# Source-free adaptation: one line
# --------------------------------
# ``SHOTAdapter(net)`` reads the fitted net's ``module_``: the attributes
# ``features`` and ``classifier`` (or ``encoder`` and ``head``) name the two
# parts, and an ``nn.Sequential`` is split before its last layer (a final
# softmax layer is dropped first). skuda checks on random rows that the two
# parts reproduce the module's output (here: up to the softmax), so a
# ``forward`` that does more is an error rather than a silent mistake; any
# other module can be passed as a ``(feature_extractor, classifier)`` pair.
# The net is copied, never modified, and ``classes_`` come from the net.

shot = SHOTAdapter(net, random_state=0).fit(X_tgt)
acc_shot = shot.score(X_tgt, y_tgt)
print(f"SHOT, target accuracy: {acc_shot:.3f}")
print("classes:", shot.classes_)
print("skorch's own history, kept as source_history_:", len(shot.source_history_))
print("phase of each adaptation epoch:", set(shot.history_[:, "phase"]))

# %%
# A skorch net brings no input statistics, so SHOT feeds it the target rows
# as they are (as the net saw the source rows). The baseline to beat is to
# move the target's per-feature mean and standard deviation onto the
# source's, and train nothing.

X_matched = (X_tgt - X_tgt.mean(axis=0)) / X_tgt.std(axis=0)
X_matched = X_matched * X_src.std(axis=0) + X_src.mean(axis=0)
acc_matched = np.mean(net.predict(X_matched.astype(np.float32)) == y_tgt)
print(f"moment matching only, target accuracy: {acc_matched:.3f}")

# %%
# The comparison
# --------------

names = ["skorch model", "moment\nmatching only", "SHOT"]
accs = [acc_source, acc_matched, acc_shot]
fig, ax = plt.subplots(figsize=(6, 4))
bars = ax.bar(names, accs, color=["0.6", "0.35", "C0"])
ax.bar_label(bars, fmt="%.3f")
ax.set_ylim(0, 1.1)
ax.set_ylabel("target accuracy")
ax.set_title("A skorch model adapted without its source data")
fig.tight_layout()
plt.show()

# %%
# What to take from this
# ----------------------
# * A fitted ``NeuralNetClassifier`` (or ``NeuralNet``) is a valid
#   ``source_estimator`` for :class:`~skuda.SHOTAdapter` and
#   :class:`~skuda.ADDAClassifier`, as long as its module can be split into a
#   feature extractor and a classifier.
# * On this shifted toy, SHOT gains about 18 points over the model as
#   trained and about 13 over moment matching. The margin depends on the
#   problem: on other seeds of the same toy, moment matching alone came
#   within a few points of SHOT (or above it), so measure both before
#   crediting the method.
