"""Source models trained outside skuda: a fitted skorch net, split in two.

ADDA and SHOT adapt a feature extractor under a fixed classifier, so a skorch
net's ``module_`` must be split into an encoder and a head with
``head(encoder(x))`` giving its logits. The rule, first match wins:

1. an ``nn.Sequential``: the head is its last layer, the encoder the layers
   before it; trailing ``Softmax``/``LogSoftmax`` layers are dropped first
   (the outputs before them are the logits);
2. a module with attributes ``encoder``/``head``, ``features``/``classifier``,
   ``feature_extractor``/``classifier`` or ``backbone``/``head``;
3. anything else is a ValueError that says how to pass an ``(encoder, head)``
   pair instead.

A split is checked at fit, on random rows of the training input's shape:
``module_(x)`` must equal ``head(encoder(x))``, or its softmax or log-softmax
(a module that ends in a softmax); otherwise the forward does more than the
two parts and a ValueError says so. A ``NeuralNetBinaryClassifier``'s single
logit ``z`` becomes the two logits ``(0, z)``, whose softmax is
``(1 - sigmoid(z), sigmoid(z))``.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet, NeuralNetBinaryClassifier
from torch import nn

from ._network import run_on

_PAIRS = (
    ("encoder", "head"),
    ("features", "classifier"),
    ("feature_extractor", "classifier"),
    ("backbone", "head"),
)
_SOFTMAX = (nn.Softmax, nn.LogSoftmax)


class TwoClassLogits(nn.Module):
    """One logit ``z`` per row as two class logits ``(0, z)``."""

    def forward(self, z):
        """Return ``[0, z]`` per row, shape (n, 2)."""
        z = z.reshape(len(z), -1)
        return torch.cat([torch.zeros_like(z), z], dim=1)


def is_skorch_net(source):
    """Whether ``source`` is a skorch net (``NeuralNet`` or a subclass)."""
    return isinstance(source, NeuralNet)


def split_skorch_net(net):
    """Split a fitted skorch net: ``(encoder, head, classes, whole)``.

    ``whole`` is the net's ``module_`` (the reference for
    :func:`check_split`); ``classes`` the net's ``classes_`` or None.
    Modules are the net's own objects, not copies.
    """
    module = getattr(net, "module_", None)
    if not getattr(net, "initialized_", False) or not isinstance(module, nn.Module):
        raise ValueError(
            f"source_estimator ({type(net).__name__}) is not initialized: fit it "
            "first. If this estimator was cloned (GridSearchCV, "
            "cross_val_score), wrap the fitted net in "
            "sklearn.frozen.FrozenEstimator so that clones keep it."
        )
    encoder, head = split_module(module, type(net).__name__)
    if isinstance(net, NeuralNetBinaryClassifier):
        head = nn.Sequential(head, TwoClassLogits())
    try:
        classes = net.classes_
    except AttributeError:  # a plain NeuralNet, or classes not inferred
        classes = None
    classes = None if classes is None else np.asarray(classes).copy()
    return encoder, head, classes, module


def split_module(module, owner):
    """Split a classifier module into ``(encoder, head)`` (this module's rule)."""
    if isinstance(module, nn.Sequential):
        layers = list(module)
        while layers and isinstance(layers[-1], _SOFTMAX):
            layers.pop()
        if len(layers) >= 2:
            return nn.Sequential(*layers[:-1]), layers[-1]
    for encoder_name, head_name in _PAIRS:
        encoder = getattr(module, encoder_name, None)
        head = getattr(module, head_name, None)
        if isinstance(encoder, nn.Module) and isinstance(head, nn.Module):
            return encoder, _drop_softmax(head)
    pairs = ", ".join(f"{a}/{b}" for a, b in _PAIRS)
    raise ValueError(
        f"Cannot split the module_ of source_estimator ({owner}, module "
        f"{type(module).__name__}) into a feature extractor and a classifier: "
        "expected an nn.Sequential whose last layer is the classifier, or a "
        f"module with the attributes {pairs}. Pass "
        "source_estimator=(feature_extractor, classifier), two modules with "
        "classifier(feature_extractor(x)) returning the logits."
    )


def _drop_softmax(head):
    if isinstance(head, nn.Sequential) and isinstance(head[-1], _SOFTMAX):
        layers = list(head)
        while len(layers) > 1 and isinstance(layers[-1], _SOFTMAX):
            layers.pop()
        return nn.Sequential(*layers)
    return head


def check_split(whole, encoder, head, input_shape):
    """ValueError unless ``whole(x)`` is ``head(encoder(x))`` (or its softmax).

    Runs on four random rows (a local generator) in eval mode, without
    gradients, and leaves every module's mode as it was.
    """
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((4, *input_shape), generator=gen)
    out = run_on(whole, x, what="source_estimator's module_")
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"source_estimator's module_ returns a {type(out).__name__}, not one "
            "tensor of logits; pass source_estimator=(feature_extractor, "
            "classifier) instead."
        )
    logits = run_on(nn.Sequential(encoder, head), x, what="source_estimator's parts")
    if isinstance(head, nn.Sequential) and isinstance(head[-1], TwoClassLogits):
        logits = logits[:, 1:]  # compare the binary net's own single logit
    if not _same_prediction(out, logits):
        raise ValueError(
            "source_estimator's module_ does more than classifier(features(x)): "
            "its output differs from that of the two parts skuda split it into. "
            "Pass source_estimator=(feature_extractor, classifier) instead."
        )


def _same_prediction(out, logits):
    """Whether ``out`` is ``logits`` or, per row, their softmax or log-softmax."""
    if out.numel() != logits.numel():
        return False
    logits = logits.reshape(out.shape)
    candidates = [logits]
    if out.ndim == 2:
        candidates += [logits.softmax(1), logits.log_softmax(1)]
    return any(torch.allclose(out, c, rtol=1e-4, atol=1e-5) for c in candidates)
