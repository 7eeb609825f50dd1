"""Domain-adversarial neural network (DANN)."""

from __future__ import annotations

from numbers import Real

import torch

from ._base import BaseDAClassifier, store_parameters
from ._docs import shared_parameters
from ._net import DANet
from ._network import build_discriminator
from ._validation import Interval, StrOptions
from .losses import domain_accuracy, domain_adversarial_loss
from .modules import DomainDiscriminator, grad_reverse
from .schedules import adversarial_weight


class _DANNNet(DANet):
    """DANN's loss: source cross-entropy plus the domain loss through a GRL."""

    def __init__(self, module, *args, adv_weight=1.0, adv_schedule="dann", **kwargs):
        super().__init__(module, *args, **kwargs)
        self.adv_weight = adv_weight
        self.adv_schedule = adv_schedule

    def batch_loss(self, batch, p):
        net, xs, ys, xt = self.module_, batch.xs, batch.ys, batch.xt
        if xt is None:  # no target rows: plain source training
            return {"task_loss": self.criterion_(net(xs), ys)}
        n_src = len(xs)
        z = net.encoder(torch.cat([xs, xt]))
        task = self.criterion_(net.head(z[:n_src]), ys)
        coeff = adversarial_weight(self.adv_weight, self.adv_schedule, p)
        domain_logits = net.discriminator(grad_reverse(z, coeff)).reshape(-1)
        domain = domain_adversarial_loss(domain_logits, n_src)
        self.log_batch("domain_acc", domain_accuracy(domain_logits, n_src))
        self.log_batch("lambda", coeff)
        return {"task_loss": task, "domain_loss": domain}


@shared_parameters
class DANNClassifier(BaseDAClassifier):
    """Domain-adversarial neural network (DANN) classifier.

    A feature extractor feeds a label classifier, trained on labelled source
    rows, and, through a gradient reversal layer (GRL), a domain discriminator
    trained to tell source from target rows. The GRL is the identity forward and
    multiplies the gradient by ``-lambda`` backward, so one optimizer step makes
    the discriminator better and the features less domain-revealing: the saddle
    point of Ganin et al. (2016), Eq. 10, reached by plain SGD.

    The adversarial weight warms up as ``lambda_ * (2 / (1 + exp(-10 p)) - 1)``
    over the training progress ``p`` in [0, 1], and the learning rate anneals as
    ``lr / (1 + 10 p) ** 0.75`` (both from the papers, Sec. 5.2).

    Parameters
    ----------
    lambda_ : float, default=0.3
        Final weight of the adversarial term. The papers use 1 on images with
        large convolutional encoders; with small tabular MLPs a weight of 1
        lets the discriminator dominate, so the default is lower (see the user
        guide for measurements).
    lambda_schedule : {"dann", "constant"}, default="dann"
        ``"dann"``: the warm-up above. ``"constant"``: ``lambda_`` throughout.
    discriminator_hidden_layer_sizes : tuple of int, default=(256,)
        Hidden widths of the domain discriminator (ReLU; single output logit).
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(max(n_src, n_tgt) / batch_size)``
        iterations, at least ``min_iterations_per_epoch``, each with
        ``batch_size`` rows of each domain (the smaller domain is cycled).
    lr : float, default=1e-2
        Initial learning rate ``mu_0``.
    [shared parameters]

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only for DataFrame input with string column names.
    input_shape_ : tuple
        Shape of one row as the network sees it; ``(1, length)`` for 2-D
        input to a signal backbone.
    device_ : str
    interrupted_ : bool
        True when a user interrupt (Ctrl-C) ended the last fit early; the
        model is then the one trained so far (see the user guide).
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` holds ``encoder``, ``head`` and
        ``discriminator``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``task_loss``, ``domain_loss``,
        ``domain_acc``, ``lambda`` and ``lr``.

    See Also
    --------
    SourceOnlyClassifier : The same network without adaptation.

    References
    ----------
    .. [1] Y. Ganin and V. Lempitsky, "Unsupervised domain adaptation by
       backpropagation", ICML 2015.
    .. [2] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle,
       F. Laviolette, M. Marchand and V. Lempitsky, "Domain-adversarial
       training of neural networks", JMLR 17(59):1-35, 2016.

    Examples
    --------
    >>> from skuda import DANNClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = DANNClassifier(max_epochs=5, random_state=0).fit(Xs, ys, Xt)
    >>> clf.predict(Xt[:3]).shape
    (3,)
    """

    _net_class = _DANNNet

    _parameter_constraints: dict = {
        **BaseDAClassifier._parameter_constraints,
        "lambda_": [Interval(Real, 0, None, closed="left")],
        "lambda_schedule": [StrOptions({"dann", "constant"})],
        "discriminator_hidden_layer_sizes": [tuple, list],
        "discriminator": [torch.nn.Module, None],
    }

    def __init__(
        self,
        lambda_=0.3,
        *,
        lambda_schedule="dann",
        discriminator_hidden_layer_sizes=(256,),
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=False,
        feature_extractor=None,
        max_epochs=100,
        batch_size=64,
        min_iterations_per_epoch=20,
        lr=1e-2,
        optimizer="adam",
        weight_decay=1e-4,
        lr_schedule="dann",
        device="auto",
        mixed_precision=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        input_scaling="pooled",
        feature_extractor_kwargs=None,
        head=None,
        discriminator=None,
        validation_fraction=None,
    ):
        store_parameters(self, locals())

    def _extra_modules(self, n_features):
        disc = build_discriminator(self, n_features, DomainDiscriminator)
        return {"discriminator": disc}

    def _net_params(self):
        return {"adv_weight": self.lambda_, "adv_schedule": self.lambda_schedule}
