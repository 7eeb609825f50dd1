"""Domain-adversarial neural network (DANN)."""

from __future__ import annotations

from numbers import Real

import torch
import torch.nn.functional as F

from ._base import BaseDAClassifier, BaseDAEstimator, BaseDARegressor, store_parameters
from ._docs import shared_parameters
from ._net import DANet
from ._network import build_discriminator
from ._validation import Interval, StrOptions
from .losses import domain_accuracy, domain_adversarial_loss
from .modules import DomainDiscriminator, grad_reverse
from .schedules import adversarial_weight


class _DANNNet(DANet):
    """DANN's loss: the source label loss plus the domain loss through a GRL.

    The label loss is the net's criterion: cross-entropy for classifiers, the
    squared error on standardised targets for regressors (``_task``).

    ``n_source_domains`` K >= 2: the discriminator tells the K source domains
    and the target apart (cross-entropy over K + 1 domains, target last).
    """

    def __init__(
        self,
        module,
        *args,
        adv_weight=1.0,
        adv_schedule="dann",
        n_source_domains=1,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.adv_weight = adv_weight
        self.adv_schedule = adv_schedule
        self.n_source_domains = n_source_domains

    def batch_loss(self, batch, p):
        net, xs, xt = self.module_, batch.xs, batch.xt
        if xt is None:  # no target rows: plain source training
            return {"task_loss": self.task_loss(net(xs), batch)}
        n_src = len(xs)
        z = net.encoder(torch.cat([xs, xt]))
        task = self.task_loss(net.head(z[:n_src]), batch)
        coeff = adversarial_weight(self.adv_weight, self.adv_schedule, p)
        domain_logits = net.discriminator(grad_reverse(z, coeff))
        if self.n_source_domains > 1:
            domain, acc = _multi_domain_loss(domain_logits, batch.ds, len(xt))
        else:
            domain_logits = domain_logits.reshape(-1)
            domain = domain_adversarial_loss(domain_logits, n_src)
            acc = domain_accuracy(domain_logits, n_src)
        self.log_batch("domain_acc", acc)
        self.log_batch("lambda", coeff)
        return {"task_loss": task, "domain_loss": domain}


def _multi_domain_loss(logits, source_domains, n_target):
    """Cross-entropy over K source domains and the target (code K); accuracy.

    ``logits`` has one row per source row then per target row, one column per
    domain; ``source_domains`` holds the codes ``0..K-1`` of the source rows.
    """
    target = torch.full(
        (n_target,), logits.shape[1] - 1, dtype=torch.long, device=logits.device
    )
    labels = torch.cat([source_domains, target])
    acc = (logits.detach().argmax(dim=1) == labels).float().mean()
    return F.cross_entropy(logits, labels), acc


class _DANN:
    """What DANNClassifier and DANNRegressor share: net, discriminator, params."""

    _net_class = _DANNNet

    _parameter_constraints: dict = {
        **BaseDAEstimator._parameter_constraints,
        "lambda_": [Interval(Real, 0, None, closed="left")],
        "lambda_schedule": [StrOptions({"dann", "constant"})],
        "multi_source": [StrOptions({"multiclass", "pooled"})],
        "discriminator_hidden_layer_sizes": [tuple, list],
        "discriminator": [torch.nn.Module, None],
    }

    def _extra_modules(self, n_features):
        n_domains = self._n_source_domains() + 1
        disc = build_discriminator(self, n_features, DomainDiscriminator, n_domains)
        return {"discriminator": disc}

    def _n_source_domains(self):
        """Source domains the discriminator tells apart (1: pooled, binary)."""
        domains = getattr(self, "source_domains_", None)
        if self.multi_source == "pooled" or domains is None:
            return 1
        return len(domains)

    def _net_params(self):
        params = {"adv_weight": self.lambda_, "adv_schedule": self.lambda_schedule}
        if self._n_source_domains() > 1:  # the binary net keeps its old settings
            params["n_source_domains"] = self._n_source_domains()
        return params


@shared_parameters
class DANNClassifier(_DANN, BaseDAClassifier):
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
    multi_source : {"multiclass", "pooled"}, default="multiclass"
        What DANN does with ``fit(..., domains=)`` naming K >= 2 source
        domains. ``"multiclass"``: the discriminator has K + 1 outputs and
        learns, through the GRL, to tell every source domain and the target
        apart (cross-entropy over the domains), so the features are pushed to
        be indistinguishable across all domains, as in the multi-domain
        adversarial learning of [3]_; ``domain_acc`` is then its K + 1-way
        accuracy. ``"pooled"``: the sources are pooled into one source domain
        (the binary discriminator of [2]_). Without ``domains``, or with one
        source domain, both are the binary DANN.
    discriminator_hidden_layer_sizes : tuple of int, default=(256,)
        Hidden widths of the domain discriminator (ReLU; single output logit).
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(max(n_src, n_tgt) / batch_size)``
        iterations, at least ``min_iterations_per_epoch``, each with
        ``batch_size`` rows of each domain (the smaller domain is cycled).
    lr : float or "auto", default="auto"
        Initial learning rate ``mu_0``. ``"auto"``: ``1e-2 * min(1, sqrt(8 / d))`` for
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
    .. [3] A. Schoenauer-Sebag, L. Heinrich, M. Schoenauer, M. Sebag, L. F.
       Wu and S. J. Altschuler, "Multi-domain adversarial learning", ICLR
       2019. (MDAN, H. Zhao et al., "Adversarial multiple source domain
       adaptation", NeurIPS 2018, uses K binary discriminators instead.)

    Examples
    --------
    >>> from skuda import DANNClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = DANNClassifier(max_epochs=5, random_state=0).fit(Xs, ys, Xt)
    >>> clf.predict(Xt[:3]).shape
    (3,)
    """

    def __init__(
        self,
        lambda_=0.3,
        *,
        lambda_schedule="dann",
        multi_source="multiclass",
        discriminator_hidden_layer_sizes=(256,),
        hidden_layer_sizes=(256, 256),
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
        discriminator=None,
        validation_fraction=None,
        class_weight=None,
        label_smoothing=0.0,
    ):
        store_parameters(self, locals())


@shared_parameters
class DANNRegressor(_DANN, BaseDARegressor):
    """Domain-adversarial neural network (DANN) regressor.

    DANN (Ganin et al., 2016) with a regression head: the label loss of the
    paper's Eq. 10 is the squared error instead of the cross-entropy (the
    paper's objective is a source risk plus the adversarial domain term, and
    its bound holds for any bounded loss), so the features are trained to
    predict the source targets while the domain discriminator, through the
    gradient reversal layer, cannot tell the domains apart. Same network,
    schedules and loss hook as :class:`DANNClassifier`.

    Targets are standardised with the mean and standard deviation of the
    source targets for training, so ``lambda_`` and ``lr`` mean the same in
    any units; ``predict`` returns values in the units of ``y``. Integer
    targets are values, never classes. ``y`` may have several columns
    (multi-output). In the stacked ``fit(X, y)`` form, target rows are the
    rows whose ``y`` is NaN (in every column): ``-1`` is a valid target value.

    Parameters
    ----------
    lambda_ : float, default=0.3
        Final weight of the adversarial term (as for :class:`DANNClassifier`).
    lambda_schedule : {"dann", "constant"}, default="dann"
        ``"dann"``: warm-up ``lambda_ * (2 / (1 + exp(-10 p)) - 1)``.
        ``"constant"``: ``lambda_`` throughout.
    multi_source : {"multiclass", "pooled"}, default="multiclass"
        With ``domains=`` naming K >= 2 source domains, ``"multiclass"``
        trains one discriminator over the K sources and the target (as for
        :class:`DANNClassifier`); ``"pooled"`` keeps the binary
        source-vs-target discriminator.
    discriminator_hidden_layer_sizes : tuple of int, default=(256,)
        Hidden widths of the domain discriminator (ReLU; single output logit).
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(max(n_src, n_tgt) / batch_size)``
        iterations.
    lr : float, default=1e-3
        Initial learning rate ``mu_0``.
    [shared parameters]

    Attributes
    ----------
    target_mean_ : ndarray of shape () or (n_outputs,)
        Mean of the source targets (shape () for 1-D ``y``).
    target_scale_ : ndarray of shape () or (n_outputs,)
        Their standard deviation (1 where constant).
    target_min_, target_max_ : ndarray of shape () or (n_outputs,)
        Range of the source targets (rows of weight 0 excluded): the bounds
        of the predictions with ``clip_predictions``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only for DataFrame input with string column names.
    input_shape_ : tuple
        Shape of one row as the network sees it.
    device_ : str
    interrupted_ : bool
        True when a user interrupt (Ctrl-C) ended the last fit early.
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` holds ``encoder``, ``head`` (one
        output per target column) and ``discriminator``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``task_loss`` (squared error on
        standardised targets), ``domain_loss``, ``domain_acc``, ``lambda``
        and ``lr``.

    See Also
    --------
    SourceOnlyRegressor : The same network without adaptation.
    DANNClassifier : The classifier.

    References
    ----------
    .. [1] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle,
       F. Laviolette, M. Marchand and V. Lempitsky, "Domain-adversarial
       training of neural networks", JMLR 17(59):1-35, 2016.

    Examples
    --------
    >>> from skuda import DANNRegressor
    >>> from skuda.datasets import make_shifted_regression
    >>> Xs, ys, Xt, yt = make_shifted_regression(random_state=0)
    >>> reg = DANNRegressor(max_epochs=5, random_state=0).fit(Xs, ys, Xt)
    >>> reg.predict(Xt[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseDARegressor._parameter_constraints,  # clip_predictions
        **_DANN._parameter_constraints,
    }

    def __init__(
        self,
        lambda_=0.3,
        *,
        lambda_schedule="dann",
        multi_source="multiclass",
        discriminator_hidden_layer_sizes=(256,),
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
        discriminator=None,
        validation_fraction=None,
        clip_predictions=True,
    ):
        store_parameters(self, locals())
