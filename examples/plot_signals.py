"""
Vibration signals: a 1-D CNN with and without adaptation
========================================================

Machine-condition monitoring is a textbook domain-adaptation problem: a fault
classifier is trained on vibration recorded under one operating condition (or
on one machine, with one sensor) and used under another. Here the data are
synthetic vibration-like signals made in the script, so that the example runs
anywhere in seconds; the real-data counterpart (CWRU bearings) is measured in
:doc:`/signals`.

Signals have shape ``(n_samples, n_channels, length)``. Every skuda estimator
takes them with a 1-D CNN as feature extractor
(``feature_extractor="wdcnn"`` or ``"cnn1d"``); everything else, including the
stacked fit form and ``score``, works as for tabular rows.
"""

# %%
# A synthetic bearing-fault problem
# ---------------------------------
# Four classes: a healthy machine and three faults (ball, outer race, inner
# race). Every signal carries the shaft rotation (its frequency and second
# harmonic); a fault adds a tone at its characteristic frequency, a fixed
# multiple of the shaft frequency, with two harmonics. Each signal gets its own
# random phases, a +/-3 % speed jitter and Gaussian noise.
#
# The **source** machine runs at 20 Hz with a clean sensor. The **target**
# runs 5 % faster (every fault frequency moves with it), and its sensor is
# noisier (noise doubled) and less sensitive (gain 0.6). The target labels are
# kept for evaluation only.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from skuda import DANNClassifier, SourceOnlyClassifier
from skuda.preprocessing import FFTMagnitude

FS = 1024  # sampling rate (Hz)
LENGTH = 512  # samples per window (0.5 s)
CLASSES = ["healthy", "ball", "outer race", "inner race"]
FAULT_ORDERS = [None, 2.4, 3.6, 5.4]  # fault frequency / shaft frequency


def make_signals(n, shaft_hz, noise, gain, rng):
    """``n`` windows of shape (1, LENGTH) and their class labels."""
    t = np.arange(LENGTH) / FS
    y = np.arange(n) % len(CLASSES)
    rng.shuffle(y)
    X = np.empty((n, 1, LENGTH), dtype=np.float32)
    for i, label in enumerate(y):
        f_shaft = shaft_hz * rng.uniform(0.97, 1.03)
        phase = rng.uniform(0, 2 * np.pi, size=5)
        s = np.sin(2 * np.pi * f_shaft * t + phase[0])
        s += 0.5 * np.sin(2 * np.pi * 2 * f_shaft * t + phase[1])
        if FAULT_ORDERS[label] is not None:
            f_fault = FAULT_ORDERS[label] * f_shaft
            for k, amplitude in enumerate((1.0, 0.6, 0.3), start=1):
                amplitude *= rng.uniform(0.8, 1.2)
                s += amplitude * np.sin(2 * np.pi * k * f_fault * t + phase[1 + k])
        X[i, 0] = gain * (s + noise * rng.standard_normal(LENGTH))
    return X, y


rng = np.random.default_rng(0)
X_src, y_src = make_signals(400, shaft_hz=20.0, noise=0.5, gain=1.0, rng=rng)
X_tgt, y_tgt = make_signals(400, shaft_hz=21.0, noise=1.0, gain=0.6, rng=rng)
print("source", X_src.shape, " target", X_tgt.shape)

# %%
# One window of each class from each domain (left), and the mean magnitude
# spectrum of each class (right, computed with
# :class:`~skuda.preprocessing.FFTMagnitude`). In the target the peaks sit a
# little higher in frequency, lower, and on a higher noise floor.

freqs = np.fft.rfftfreq(LENGTH, d=1 / FS)
fft = FFTMagnitude()
spec_src = fft.fit_transform(X_src)[:, 0]
spec_tgt = fft.transform(X_tgt)[:, 0]
t_ms = 1000 * np.arange(LENGTH) / FS
show = LENGTH // 2  # first 0.25 s

fig, axes = plt.subplots(len(CLASSES), 2, figsize=(11, 8.5), sharex="col")
for k, name in enumerate(CLASSES):
    i_src, i_tgt = np.flatnonzero(y_src == k)[0], np.flatnonzero(y_tgt == k)[0]
    ax = axes[k, 0]
    ax.plot(t_ms[:show], X_src[i_src, 0, :show], lw=0.8, label="source")
    ax.plot(t_ms[:show], X_tgt[i_tgt, 0, :show], lw=0.8, alpha=0.8, label="target")
    ax.set_ylabel("amplitude")
    ax.set_title(f"{name}: one window", fontsize="medium")
    ax = axes[k, 1]
    ax.plot(freqs, spec_src[y_src == k].mean(axis=0), lw=0.9, label="source")
    ax.plot(freqs, spec_tgt[y_tgt == k].mean(axis=0), lw=0.9, label="target")
    ax.set_xlim(0, 360)
    ax.set_ylabel("|FFT|")
    ax.set_title(f"{name}: mean spectrum", fontsize="medium")
axes[0, 0].legend(loc="upper right", fontsize="small")
axes[0, 1].legend(loc="upper right", fontsize="small")
axes[-1, 0].set_xlabel("time (ms)")
axes[-1, 1].set_xlabel("frequency (Hz)")
fig.tight_layout()

# %%
# Source-only against DANN, with a WDCNN
# --------------------------------------
# :class:`~skuda.modules.WDCNN` is a CNN for raw vibration with a wide first
# kernel. ``feature_extractor_kwargs`` configures it; 8 filters in the first
# layer (instead of 16) keep this example fast. Both models see the same
# inputs, seed and epochs.
#
# ``input_scaling`` decides how the inputs are standardised, per channel. The
# default, ``"pooled"``, uses one mean and standard deviation for both domains
# together, so the target's lower gain survives into the network.
# ``"domain"`` standardises each domain with its own statistics, which removes
# a gain difference before training even starts (rows given to ``predict``
# are then scaled with the target statistics). We train all four
# combinations.

cnn = dict(
    feature_extractor="wdcnn",
    feature_extractor_kwargs={"n_filters": 8},
    max_epochs=20,
    batch_size=32,
    random_state=0,
)
models = {}
for scaling in ("pooled", "domain"):
    models["source-only", scaling] = SourceOnlyClassifier(
        input_scaling=scaling, **cnn
    ).fit(X_src, y_src, X_tgt)
    models["DANN", scaling] = DANNClassifier(
        lambda_=1.0, input_scaling=scaling, **cnn
    ).fit(X_src, y_src, X_tgt)

accuracy = {key: model.score(X_tgt, y_tgt) for key, model in models.items()}
for (method, scaling), acc in accuracy.items():
    print(f"{method:>11}, input_scaling={scaling!r:9} target accuracy {acc:.3f}")
for method in ("source-only", "DANN"):
    src_acc = models[method, "pooled"].score(X_src, y_src)
    print(f"{method:>11}, input_scaling='pooled'  source accuracy {src_acc:.3f}")

# %%
# The source accuracy is shown for pooled scaling only: with
# ``input_scaling="domain"``, ``score`` and ``predict`` scale every row with the
# *target* statistics, so source rows scored that way are not meaningful.
#
# ``lambda_=1`` follows the setting used with the CNNs in the signal
# benchmarks (:doc:`/signals`); it was not tuned on this target.

fig, ax = plt.subplots(figsize=(7, 4))
width = 0.38
for j, method in enumerate(["source-only", "DANN"]):
    values = [accuracy[method, s] for s in ("pooled", "domain")]
    bars = ax.bar(np.arange(2) + (j - 0.5) * width, values, width, label=method)
    ax.bar_label(bars, fmt="%.2f")
ax.axhline(1 / len(CLASSES), color="k", ls=":", lw=1, label="chance")
ax.set_xticks(np.arange(2), ['input_scaling="pooled"', 'input_scaling="domain"'])
ax.set_ylim(0, 1.1)
ax.set_ylabel("target accuracy")
ax.set_title("WDCNN on the target machine")
ax.legend(loc="upper left")
fig.tight_layout()

# %%
# Where the errors are
# --------------------
# Confusion matrices on the target rows (default pooled scaling). Read them
# for *how* each model fails: when we wrote this example, the source-only model
# called most faulty target windows "healthy" (their fault tones are weaker and
# sit at unfamiliar frequencies), while DANN recognised more faults but sent
# many inner-race windows to "ball". Aligning two feature distributions can
# match a target cluster to the wrong source class; accuracy alone hides that.

fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
for ax, method in zip(axes, ["source-only", "DANN"], strict=True):
    ConfusionMatrixDisplay.from_predictions(
        y_tgt,
        models[method, "pooled"].predict(X_tgt),
        display_labels=CLASSES,
        ax=ax,
        colorbar=False,
    )
    ax.set_title(f"{method}: target rows")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
fig.tight_layout()
plt.show()

# %%
# What this shows, and what it does not
# -------------------------------------
# * A CNN that is perfect on the source machine can be poor on the target: the
#   changed gain and noise floor alone move its features, and the 5 % speed
#   change moves every fault frequency.
# * With pooled scaling DANN recovers part of the lost accuracy from the
#   unlabelled target windows. Per-domain scaling removes the gain difference
#   for free and helps the source-only model a lot; DANN on top of it adds
#   less, since what is left (noise floor, frequency shift) is the harder
#   part of the shift.
# * These are single runs of a small network, and the run shown is one of the
#   less favourable ones for DANN. When we wrote this example we repeated it
#   for three data seeds and two model seeds: DANN beat the source-only model
#   in all twelve comparisons, by 7 to 36 points with pooled scaling and by 3
#   to 13 points with per-domain scaling, with a large spread between runs.
#   Run several seeds on your own data before trusting a difference.
# * Larger speed changes are harder: a fault tone can then land where another
#   fault's tone was in the source, and aligning feature distributions cannot
#   tell which is which. Domain knowledge (e.g. resampling to the shaft
#   speed, "order tracking") then does more than any adaptation method.
#
# sphinx_gallery_thumbnail_number = 1
