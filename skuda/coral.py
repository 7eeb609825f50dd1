"""Deep CORAL and MMD alignment: Sun & Saenko, ECCV-W 2016; Long et al., 2015."""

from __future__ import annotations

from numbers import Real

import torch

from ._base import BaseDAClassifier, store_parameters
from ._docs import shared_parameters
from ._net import DANet
from ._validation import Interval, StrOptions
from .losses import coral_loss, mmd_loss

_DISCREPANCIES = {"coral": coral_loss, "mmd": mmd_loss}


class _AlignmentNet(DANet):
    """Source cross-entropy plus a discrepancy between the domains' outputs."""

    def __init__(
        self, module, *args, weight=1.0, discrepancy="coral", align="logits", **kw
    ):
        super().__init__(module, *args, **kw)
        self.weight = weight
        self.discrepancy = discrepancy
        self.align = align

    def batch_loss(self, batch, p):
        net, xs, ys, xt = self.module_, batch.xs, batch.ys, batch.xt
        if xt is None:  # no target rows: plain source training
            return {"task_loss": self.criterion_(net(xs), ys)}
        n_src = len(xs)
        z = net.encoder(torch.cat([xs, xt])).flatten(1)
        logits = net.head(z)
        task = self.criterion_(logits[:n_src], ys)
        aligned = logits if self.align == "logits" else z
        gap = _DISCREPANCIES[self.discrepancy](aligned[:n_src], aligned[n_src:])
        return {"task_loss": task, f"{self.discrepancy}_loss": self.weight * gap}


@shared_parameters
class DeepCORALClassifier(BaseDAClassifier):
    """Deep CORAL classifier, with an MMD (DAN) option.

    Trains the network on labelled source rows with cross-entropy while
    aligning the second-order statistics of the two domains' outputs:
    ``cross_entropy(source) + lambda_ * CORAL(source, target)``, with the
    CORAL loss the squared Frobenius distance of the covariances divided by
    ``4 d^2`` (Sun & Saenko, 2016). ``discrepancy="mmd"`` uses the
    multi-kernel maximum mean discrepancy of DAN instead (Gaussian kernels at
    five bandwidths around the batch's mean squared distance; Long et al.,
    2015), which matches all moments. No discriminator, no adversarial game.

    Parameters
    ----------
    lambda_ : float, default=1.0
        Weight of the alignment term (the paper's ``lambda``).
    discrepancy : {"coral", "mmd"}, default="coral"
        :func:`skuda.losses.coral_loss` or :func:`skuda.losses.mmd_loss`.
    align : {"logits", "features"}, default="logits"
        What is aligned: the classifier's outputs (the paper's choice, its
        last layer fc8) or the encoder's features.
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(max(n_src, n_tgt) / batch_size)``
        iterations, at least ``min_iterations_per_epoch``, each with
        ``batch_size`` rows of each domain.
    lr : float, default=1e-3
        Initial learning rate.
    [shared parameters]

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only for DataFrame input with string column names.
    input_shape_ : tuple
        Shape of one row as the network sees it.
    device_ : str
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` holds ``encoder`` and ``head``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``task_loss``, ``coral_loss`` (or
        ``mmd_loss``; weighted) and ``lr``.

    References
    ----------
    .. [1] B. Sun and K. Saenko, "Deep CORAL: correlation alignment for deep
       domain adaptation", ECCV Workshops 2016.
    .. [2] M. Long, Y. Cao, J. Wang and M. I. Jordan, "Learning transferable
       features with deep adaptation networks", ICML 2015.

    Examples
    --------
    >>> from skuda import DeepCORALClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = DeepCORALClassifier(max_epochs=5, random_state=0).fit(Xs, ys, Xt)
    >>> clf.predict(Xt[:3]).shape
    (3,)
    """

    _net_class = _AlignmentNet

    _parameter_constraints: dict = {
        **BaseDAClassifier._parameter_constraints,
        "lambda_": [Interval(Real, 0, None, closed="left")],
        "discrepancy": [StrOptions(set(_DISCREPANCIES))],
        "align": [StrOptions({"logits", "features"})],
    }

    def __init__(
        self,
        lambda_=1.0,
        *,
        discrepancy="coral",
        align="logits",
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=False,
        feature_extractor=None,
        max_epochs=100,
        batch_size=64,
        min_iterations_per_epoch=1,
        lr=1e-3,
        optimizer="adam",
        weight_decay=1e-4,
        lr_schedule="dann",
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        input_scaling="pooled",
        feature_extractor_kwargs=None,
        head=None,
        validation_fraction=None,
        mixed_precision=None,
    ):
        store_parameters(self, locals())

    def _net_params(self):
        return {
            "weight": self.lambda_,
            "discrepancy": self.discrepancy,
            "align": self.align,
        }
