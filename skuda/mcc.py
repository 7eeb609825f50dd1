"""Minimum class confusion (MCC): Jin, Wang, Long & Wang, ECCV 2020."""

from __future__ import annotations

from numbers import Real

import torch

from ._base import BaseDAClassifier, store_parameters
from ._docs import shared_parameters
from ._net import DANet
from ._validation import Interval
from .losses import minimum_class_confusion_loss


class _MCCNet(DANet):
    """MCC's loss: source cross-entropy plus the class confusion of target rows."""

    def __init__(self, module, *args, mcc_weight=1.0, temperature=2.5, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.mcc_weight = mcc_weight
        self.temperature = temperature

    def batch_loss(self, batch, p):
        net, xs, xt = self.module_, batch.xs, batch.xt
        if xt is None:  # no target rows: plain source training
            return {"task_loss": self.task_loss(net(xs), batch)}
        logits = net(torch.cat([xs, xt]))  # one pass: batch norm sees both domains
        task = self.task_loss(logits[: len(xs)], batch)
        mcc = minimum_class_confusion_loss(logits[len(xs) :], self.temperature)
        return {"task_loss": task, "mcc_loss": self.mcc_weight * mcc}


@shared_parameters
class MCCClassifier(BaseDAClassifier):
    """Minimum class confusion (MCC) classifier.

    Trains the network on labelled source rows with cross-entropy while
    minimising the *class confusion* of its predictions on target rows: how
    often two classes are predicted together for the same row, measured on
    temperature-scaled probabilities, with confident rows weighted up and each
    class normalised (Jin et al., 2020, Eqs. 2-8; see
    :func:`skuda.losses.minimum_class_confusion_loss`). The loss is
    ``cross_entropy(source) + mcc_weight * MCC(target)``. It needs no domain
    discriminator: only the classifier's own predictions on the target.

    Parameters
    ----------
    mcc_weight : float, default=1.0
        Weight of the class-confusion term (the paper's ``mu``; 1 in all its
        experiments).
    temperature : float, default=2.5
        Probability rescaling ``T`` before the confusion is measured.
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(max(n_src, n_tgt) / batch_size)``
        iterations, at least ``min_iterations_per_epoch``, each with
        ``batch_size`` rows of each domain.
    lr : float or "auto", default="auto"
        Initial learning rate. ``"auto"``: ``1e-2 * min(1, sqrt(8 / d))`` for
        the default MLP on rows of ``d`` features (1e-2 up to 8 features, 1e-3
        at 800), 1e-3 with any other feature extractor; see
        ``skuda._building.auto_lr`` and the docs' default study.
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
    interrupted_ : bool
        True when a user interrupt (Ctrl-C) ended the last fit early; the
        model is then the one trained so far (see the user guide).
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` holds ``encoder`` and ``head``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``task_loss``, ``mcc_loss`` (weighted) and
        ``lr``.

    See Also
    --------
    DANNClassifier : Adversarial alignment of the features instead.

    References
    ----------
    .. [1] Y. Jin, X. Wang, M. Long and J. Wang, "Minimum class confusion for
       versatile domain adaptation", ECCV 2020.

    Examples
    --------
    >>> from skuda import MCCClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = MCCClassifier(max_epochs=5, random_state=0).fit(Xs, ys, Xt)
    >>> clf.predict(Xt[:3]).shape
    (3,)
    """

    _net_class = _MCCNet

    _parameter_constraints: dict = {
        **BaseDAClassifier._parameter_constraints,
        "mcc_weight": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        mcc_weight=1.0,
        *,
        temperature=2.5,
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=False,
        feature_extractor=None,
        max_epochs=100,
        batch_size=64,
        min_iterations_per_epoch=20,
        lr="auto",
        optimizer="adam",
        weight_decay=1e-4,
        lr_schedule="dann",
        device="auto",
        mixed_precision=None,
        accelerator=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        input_scaling="pooled",
        feature_extractor_kwargs=None,
        input_shape=None,
        head=None,
        validation_fraction=None,
        class_weight=None,
        label_smoothing=0.0,
    ):
        store_parameters(self, locals())

    def _net_params(self):
        return {"mcc_weight": self.mcc_weight, "temperature": self.temperature}
