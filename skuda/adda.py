"""Adversarial discriminative domain adaptation (ADDA): classifier and regressor."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._base import BaseDARegressor, store_parameters, user_stacklevel
from ._batching import map_chunks
from ._docs import shared_parameters
from ._net import DANet
from ._network import build_discriminator, check_sizes, output_size
from ._scaling import float32_moments
from ._two_phase import TwoPhaseDAClassifier, TwoPhaseMixin
from ._validation import Interval
from .exceptions import CollapseWarning
from .losses import domain_accuracy, domain_adversarial_loss, inverted_label_loss
from .modules import DANetwork, DomainDiscriminator


class _ADDANet(DANet):
    """ADDA's adversarial phase: alternating discriminator / target-encoder steps.

    ``module_`` is a :class:`~skuda._net.DANetwork` with the frozen source
    ``encoder`` and ``head`` and the trainable ``target_encoder`` and
    ``discriminator``. ``optimizer_`` updates the target encoder,
    ``discriminator_optimizer_`` the discriminator.
    """

    _frozen = ("encoder", "head")

    def initialize_module(self):
        super().initialize_module()
        for name in self._frozen:
            getattr(self.module_, name).requires_grad_(False)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        net = self.module_
        pgroups, kw = self.get_params_for_optimizer(
            "optimizer", net.target_encoder.named_parameters()
        )
        self.optimizer_ = self.optimizer(*pgroups, **kw)
        pgroups, kw = self.get_params_for_optimizer(
            "optimizer", net.discriminator.named_parameters()
        )
        self.discriminator_optimizer_ = self.optimizer(*pgroups, **kw)
        return self

    def target_logits(self, x):
        net = self.module_
        return net.head(net.target_encoder(x))

    def _set_training(self, training=True):
        super()._set_training(training)
        # Frozen parts stay in eval mode: BN statistics and dropout of the
        # source model must not move while the target encoder is trained.
        for name in self._frozen:
            getattr(self.module_, name).eval()

    def train_step(self, batch, **fit_params):
        # Replaces skorch's single closure step: two optimizers, two losses, the
        # second computed against the discriminator the first step updated.
        net, xs, xt = self.module_, batch.xs, batch.xt
        with self.autocast():
            with torch.no_grad():
                zs = net.encoder(xs)
            zt = net.target_encoder(xt)
            # Discriminator step: source features -> 1, target features -> 0 (Eq. 6).
            logits = net.discriminator(torch.cat([zs, zt.detach()])).reshape(-1)
            d_loss = domain_adversarial_loss(logits, len(zs))
        self.descend("discriminator_optimizer", d_loss, net.discriminator, batch)

        # Target-encoder step against the updated discriminator (Eq. 7).
        with self.autocast():
            g_loss = inverted_label_loss(net.discriminator(zt))
        self.descend("optimizer", g_loss, net.target_encoder, batch)

        self.log_batch("discriminator_acc", domain_accuracy(logits, len(zs)))
        self.log_batch("discriminator_loss", d_loss)
        self.log_batch("encoder_loss", g_loss)
        return {"loss": (d_loss + g_loss).detach(), "y_pred": None}


class _ADDA(TwoPhaseMixin):
    """What ADDAClassifier and ADDARegressor share: both phases, the views.

    Task-specific: ``_match_source`` (a given source model against this fit's
    targets) and ``_after_adaptation`` (the classifier's collapse guard).
    """

    _parameter_constraints: dict = {
        **TwoPhaseMixin._parameter_constraints,
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "adapt_betas": [tuple, list],
        "discriminator_hidden_layer_sizes": [tuple, list],
        "discriminator": [torch.nn.Module, None],
    }

    # -- fitting -----------------------------------------------------------------
    def _fit_scaling(self, X_src, X_tgt):
        source = self._source_model_param()
        if source is None:
            return super()._fit_scaling(X_src, X_tgt)
        _check_source_shape(source, X_src.shape[1:])
        if source.scaling == "domain":
            src_stats = float32_moments(X_src)
            tgt_stats = float32_moments(X_tgt) if X_tgt is not None else src_stats
        elif source.mean is None:
            src_stats = tgt_stats = None
        else:
            src_stats = tgt_stats = (source.mean, source.scale)
        return self._apply_scaling(X_src, X_tgt, src_stats, tgt_stats)

    def _train(self, X_src, y_idx, X_tgt, batch_seed, *, reuse):
        if self.discriminator is None:  # fail before the source phase, not after
            self._discriminator_sizes()
        data = self._domain_data(X_src, y_idx, X_tgt)
        source = self._source_model_param()
        if source is not None:  # also on a warm start: the targets' units
            self._match_source(source)
        if reuse:
            net = self._continue_net(lr_schedule="constant")
        else:
            encoder, head = self._source_modules(data, batch_seed)
            net = self._make_net(
                _ADDANet,
                self._network_from_source(encoder, head),
                batch_seed,
                lr=self.adapt_lr,
                lr_schedule="constant",  # the paper's fixed-rate Adam
                phase="adaptation",
                **self._adapt_optimizer_params(),
            )
        if X_tgt is None or self.max_epochs == 0 or self.interrupted_:
            if not reuse:  # no adaptation: the target encoder is the source one
                net.initialize()
            return net
        self._fit_net(net, data)
        if not self.interrupted_:
            self._after_adaptation(net, data.X_tgt)
        return net

    def _source_modules(self, data, batch_seed):
        """Source encoder and head: trained here, or copied from the estimator."""
        if self.source_estimator is None:
            net = self._source_phase(data, batch_seed)
            return net.module_.encoder, net.module_.head
        source = self._given_source()
        return source.encoder, source.head

    def _match_source(self, source):
        """Check a given source model against the targets of this fit (task-specific).

        Raises a ValueError when the source model's outputs cannot be this
        fit's targets.
        """
        raise NotImplementedError

    def _after_adaptation(self, net, X_tgt):
        """Check the adapted net once after adaptation (nothing by default)."""

    def _network_from_source(self, encoder, head):
        encoder.eval()
        n_features = output_size(encoder, self.input_shape_)
        return DANetwork(
            encoder,
            head,
            target_encoder=copy.deepcopy(encoder),
            discriminator=build_discriminator(self, n_features, DomainDiscriminator),
        )

    def _discriminator_sizes(self):
        return check_sizes(
            self.discriminator_hidden_layer_sizes,
            "discriminator_hidden_layer_sizes",
            allow_empty=True,
        )

    def _adapt_optimizer_params(self):
        params = self._optimizer_params()
        optimizer = params["optimizer"]
        if issubclass(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
            params["optimizer__betas"] = _check_betas(self.adapt_betas)
        return params

    # -- fitted views and prediction ---------------------------------------------
    def _prediction_encoder(self):
        check_is_fitted(self)
        return self.net_.module_.target_encoder

    @property
    def source_encoder_(self):
        """The frozen source encoder (torch module)."""
        return self.net_.module_.encoder

    @property
    def target_encoder_(self):
        """The adapted target encoder used for prediction (torch module)."""
        return self.net_.module_.target_encoder

    @property
    def classifier_(self):
        """The source classifier head, shared by both encoders (torch module)."""
        return self.net_.module_.head

    @property
    def discriminator_(self):
        """The domain discriminator of the adaptation phase (torch module)."""
        return self.net_.module_.discriminator


@shared_parameters
class ADDAClassifier(_ADDA, TwoPhaseDAClassifier):
    """Adversarial discriminative domain adaptation (ADDA) classifier.

    Two phases (Tzeng et al., 2017):

    1. **Source training.** A source encoder and a classifier are trained on
       the labelled source rows with cross-entropy (the
       :class:`SourceOnlyClassifier` network), for ``source_epochs`` epochs.
       Skipped when a fitted ``source_estimator`` is given.
    2. **Adversarial adaptation.** A separate target encoder (untied weights)
       starts as an exact copy of the source encoder. Each iteration, a domain
       discriminator is updated to tell source features (from the frozen
       source encoder) from target features, then the target encoder is
       updated with the inverted-label GAN loss (target features labelled
       "source"). Source encoder and classifier are frozen (no gradients, eval
       mode), for ``max_epochs`` epochs.

    Predictions, probabilities and ``transform`` use the target encoder
    followed by the source classifier, for rows of any domain.

    Parameters
    ----------
    source_estimator : fitted estimator or (module, module) tuple, default=None
        The source model to adapt, instead of training one: a fitted skuda
        classifier (e.g. :class:`SourceOnlyClassifier`), a fitted skorch
        ``NeuralNetClassifier`` or ``NeuralNet`` (its ``module_`` is split
        into feature extractor and classifier as the user guide describes),
        either optionally wrapped in :class:`sklearn.frozen.FrozenEstimator`
        (do that for ``GridSearchCV`` and ``cross_val_score``, whose clones
        would otherwise be unfitted), or a pair ``(feature_extractor,
        classifier)`` of torch modules whose outputs are the classes of
        ``y_src`` in sorted order. It is copied, never modified. A skuda
        classifier must have been fitted on the same input shape and classes
        as the rows passed to ``fit``. The parameters that build and train a
        source network (``hidden_layer_sizes`` ... ``feature_extractor``,
        ``head``, ``source_epochs``, ``lr``, ``validation_fraction``) are then
        unused (``validation_fraction`` must be None).
    source_epochs : int, default=100
        Epochs of source training.
    max_epochs : int, default=40
        Epochs of adversarial adaptation; 0 keeps the target encoder equal to
        the source encoder (no adaptation). One epoch is
        ``ceil(max(n_src, n_tgt) / batch_size)`` alternating updates, at least
        ``min_iterations_per_epoch``.
    lr : float, default=1e-3
        Learning rate of source training (annealed as ``lr_schedule`` says).
    adapt_lr : float, default=1e-3
        Learning rate of both adaptation optimizers, constant as in the paper
        (``lr_schedule`` does not apply). The paper uses 2e-4 (with LeNet on
        images); on the MLPs and benchmarks here 1e-3 for 40 epochs was
        better on average (see Notes).
    adapt_betas : tuple of float, default=(0.5, 0.999)
        Adam's ``betas`` in the adaptation phase (paper: ``beta1 = 0.5``); used
        when ``optimizer`` is ``"adam"``, ``"adamw"`` or an Adam subclass.
    discriminator_hidden_layer_sizes : tuple of int, default=(500, 500)
        Hidden widths of the domain discriminator (ReLU; one output logit), as
        in the paper; ``()`` gives a linear discriminator.
    collapse_guard : float in [0, 1] or None, default=0.5
        Label-free guard against a collapsed target encoder, checked once after
        adaptation: when the effective number of classes predicted for the
        target rows (the exponential of the entropy of the predicted-class
        histogram) by the adapted target encoder is below ``collapse_guard``
        times that of the source encoder on the same rows, or when every
        target row gets one class but not from the source encoder, the target
        encoder is reset to the source encoder (predictions become the source
        model's), ``collapse_restored_`` is set and a
        :class:`~skuda.CollapseWarning` is issued. No target label is read.
        0 keeps only the one-class rule; None switches the guard off.
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
        The adaptation-phase net; ``net_.module_`` holds ``encoder`` (source),
        ``head``, ``target_encoder`` and ``discriminator``.
    history_ : skorch.History
        Adaptation history, per epoch: ``discriminator_loss``,
        ``discriminator_acc``, ``encoder_loss`` (target encoder),
        ``train_loss`` (their sum) and ``phase`` (``"adaptation"``).
    source_history_ : skorch.History or None
        History of source training (``task_loss``, ``phase`` = ``"source"``
        and, with ``validation_fraction``, ``valid_loss`` and ``valid_acc``
        per epoch); a copy of the source estimator's history when
        ``source_estimator`` is given (None for a module pair).
    collapse_ratio_ : float or None
        Effective number of target classes predicted by the adapted encoder
        divided by the source encoder's (see ``collapse_guard``); None when
        no adaptation ran.
    collapse_restored_ : bool
        True when ``collapse_guard`` fired and the source encoder was restored.
    source_encoder_, target_encoder_, classifier_, discriminator_ : torch.nn.Module
        The four networks (views into ``net_.module_``).

    Warns
    -----
    CollapseWarning
        When ``collapse_guard`` restores the source encoder, or when every
        target row is predicted as the same class after fit although the
        source has several classes: the target encoder has probably collapsed
        (ADDA's known failure mode; lower ``adapt_lr`` or ``max_epochs``).

    Notes
    -----
    With ``source_estimator``, ``input_scaling`` is unused: the source model's
    own scaling is reused, since its frozen encoder was trained on inputs
    scaled that way (``"domain"`` statistics are recomputed from the rows
    passed to ``fit``).

    Defaults were chosen on the real benchmarks (Office-Caltech SURF and the
    16x16 MNIST/USPS set), one setting for all tasks, never per task with
    target labels. Measured with these defaults (user guide): mean target
    accuracy over the 12 Office-Caltech tasks and MNIST<->USPS 47.7 % vs
    41.9 % for source-only and 46.4 % for DANN; ADDA loses 2-4 points on
    A->C, W->C and W->D. Compared with the paper's LeNet on images, the
    encoder here is a small MLP on pre-extracted features, where long
    adversarial training drifts; hence the moderate ``max_epochs``.

    References
    ----------
    .. [1] E. Tzeng, J. Hoffman, K. Saenko and T. Darrell, "Adversarial
       discriminative domain adaptation", CVPR 2017.

    Examples
    --------
    >>> from skuda import ADDAClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = ADDAClassifier(source_epochs=5, max_epochs=3, random_state=0)
    >>> clf.fit(Xs, ys, Xt).predict(Xt[:3]).shape
    (3,)
    """

    _regressor = "ADDARegressor"
    _parameter_constraints: dict = {
        **_ADDA._parameter_constraints,
        "collapse_guard": [Interval(Real, 0, 1, closed="both"), None],
    }

    def __init__(
        self,
        source_estimator=None,
        *,
        source_epochs=100,
        max_epochs=40,
        lr=1e-3,
        adapt_lr=1e-3,
        adapt_betas=(0.5, 0.999),
        discriminator_hidden_layer_sizes=(500, 500),
        collapse_guard=0.5,
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=True,
        feature_extractor=None,
        batch_size=64,
        min_iterations_per_epoch=20,
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

    # -- fitting -----------------------------------------------------------------
    def _match_source(self, source):
        n_out = source.n_outputs(self.input_shape_)
        classes = self.classes_ if source.classes is None else source.classes
        if n_out != len(self.classes_) or not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"source_estimator predicts {n_out} classes "
                f"{'' if source.classes is None else source.classes}, but y_src has "
                f"classes {self.classes_}; they must be the same."
            )

    def _train(self, X_src, y_idx, X_tgt, batch_seed, *, reuse):
        self.collapse_ratio_, self.collapse_restored_ = None, False
        return super()._train(X_src, y_idx, X_tgt, batch_seed, reuse=reuse)

    def _after_adaptation(self, net, X_tgt):
        self._guard_collapse(net, X_tgt)

    def _guard_collapse(self, net, X_tgt):
        """Restore the source encoder when the adapted predictions degenerate.

        Label-free: compares the effective number of predicted classes on the
        target rows (see :func:`_effective_classes`) of the two encoders.
        """
        module = net.module_
        module.eval()
        with torch.inference_mode():
            adapted = map_chunks(
                lambda xb: module.head(module.target_encoder(xb)).argmax(dim=1), X_tgt
            )
            source = map_chunks(
                lambda xb: module.head(module.encoder(xb)).argmax(dim=1), X_tgt
            )
        n_classes = len(self.classes_)
        n_adapted = _effective_classes(adapted, n_classes)
        n_source = _effective_classes(source, n_classes)
        self.collapse_ratio_ = n_adapted / n_source
        guard = self.collapse_guard
        one_class = len(adapted) > 1 and bool((adapted == adapted[0]).all())
        if guard is not None and (
            self.collapse_ratio_ < guard or (one_class and n_source > 1.0)
        ):
            module.target_encoder.load_state_dict(module.encoder.state_dict())
            self.collapse_restored_ = True
            warnings.warn(
                f"ADDA's target encoder collapsed: its target predictions use "
                f"{n_adapted:.2f} classes (effective number) against the source "
                f"encoder's {n_source:.2f}, below collapse_guard={guard}; the "
                "source encoder was restored (predictions are the source "
                "model's). Lower adapt_lr or max_epochs, or check the inputs' "
                "scale; collapse_guard=None keeps the adapted encoder.",
                CollapseWarning,
                stacklevel=user_stacklevel(),
            )
        elif one_class:
            # Source labels have >= 2 classes (validated): one predicted class
            # for every target row is the obvious form of collapse.
            cls = self.classes_[int(adapted[0])]
            warnings.warn(
                f"ADDA's target encoder collapsed: every target row is predicted as "
                f"class {cls!r} although the source has {n_classes} "
                "classes. Lower adapt_lr or max_epochs, or check the inputs' scale.",
                CollapseWarning,
                stacklevel=user_stacklevel(),
            )


@shared_parameters
class ADDARegressor(_ADDA, BaseDARegressor):
    """Adversarial discriminative domain adaptation (ADDA) regressor.

    ADDA (Tzeng et al., 2017) with a regression head. Its adversarial phase
    never reads labels, so only the source phase changes: the squared error on
    the source targets instead of the cross-entropy.

    1. **Source training.** A source encoder and a regression head are trained
       on the labelled source rows (the :class:`SourceOnlyRegressor`
       network, targets standardised with their source mean and standard
       deviation), for ``source_epochs`` epochs. Skipped when a fitted
       ``source_estimator`` is given.
    2. **Adversarial adaptation.** A target encoder starts as an exact copy of
       the source encoder and is trained, with the inverted-label GAN loss,
       against a domain discriminator that tells its target features from the
       frozen source encoder's source features; encoder and head of the
       source model stay frozen (no gradients, eval mode). As in
       :class:`ADDAClassifier`.

    ``predict`` and ``transform`` use the target encoder followed by the
    source head; predictions are in the units of ``y``. In the stacked
    ``fit(X, y)`` form, target rows are the rows whose ``y`` is NaN (in every
    column). There is no collapse guard (``ADDAClassifier``'s
    ``collapse_guard``): it counts the *classes* predicted for the target
    rows, which continuous predictions do not have; a collapsed target encoder
    shows as near-constant predictions, kept within the source targets' range
    by ``clip_predictions``.

    Parameters
    ----------
    source_estimator : fitted estimator or (module, module) tuple, default=None
        The source model to adapt, instead of training one: a fitted skuda
        regressor (e.g. :class:`SourceOnlyRegressor`; its head predicts its
        own standardised targets, so its ``target_mean_`` and
        ``target_scale_`` are carried over), a fitted skorch
        ``NeuralNetRegressor`` or ``NeuralNet``, or a pair
        ``(feature_extractor, head)`` of torch modules (the outputs of these
        two are taken in the units of ``y``: ``target_mean_`` 0,
        ``target_scale_`` 1), optionally wrapped in
        :class:`sklearn.frozen.FrozenEstimator`. It is copied, never modified,
        and must have one output per column of ``y_src``. The parameters that
        build and train a source network are then unused, as for
        :class:`ADDAClassifier`.
    source_epochs : int, default=100
        Epochs of source training.
    max_epochs : int, default=40
        Epochs of adversarial adaptation; 0 keeps the target encoder equal to
        the source encoder (no adaptation).
    lr : float, default=1e-3
        Learning rate of source training (annealed as ``lr_schedule`` says).
    adapt_lr : float, default=1e-3
        Learning rate of both adaptation optimizers, constant (as for
        :class:`ADDAClassifier`).
    adapt_betas : tuple of float, default=(0.5, 0.999)
        Adam's ``betas`` in the adaptation phase (paper: ``beta1 = 0.5``).
    discriminator_hidden_layer_sizes : tuple of int, default=(500, 500)
        Hidden widths of the domain discriminator, as in the paper.
    [shared parameters]

    Attributes
    ----------
    target_mean_ : ndarray of shape () or (n_outputs,)
        Mean of the source targets (shape () for 1-D ``y``); the source
        model's with a skuda ``source_estimator``.
    target_scale_ : ndarray of shape () or (n_outputs,)
        Their standard deviation (1 where constant); likewise.
    target_min_, target_max_ : ndarray of shape () or (n_outputs,)
        Range of the source targets passed to ``fit`` (rows of weight 0
        excluded): the bounds of the predictions with ``clip_predictions``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only for DataFrame input with string column names.
    input_shape_ : tuple
        Shape of one row as the network sees it.
    device_ : str
    interrupted_ : bool
        True when a user interrupt (Ctrl-C) ended the last fit early.
    net_ : skorch.NeuralNet
        The adaptation-phase net; ``net_.module_`` holds ``encoder`` (source),
        ``head``, ``target_encoder`` and ``discriminator``.
    history_ : skorch.History
        Adaptation history, per epoch: ``discriminator_loss``,
        ``discriminator_acc``, ``encoder_loss``, ``train_loss`` and ``phase``.
    source_history_ : skorch.History or None
        History of source training (``task_loss``: squared error on
        standardised targets), or a copy of the source estimator's.
    source_encoder_, target_encoder_, classifier_, discriminator_ : torch.nn.Module
        The four networks (views into ``net_.module_``); ``classifier_`` is
        the source regression head (named as in :class:`ADDAClassifier`).

    See Also
    --------
    ADDAClassifier : The classifier.
    SourceOnlyRegressor : The source phase's network, without adaptation.

    References
    ----------
    .. [1] E. Tzeng, J. Hoffman, K. Saenko and T. Darrell, "Adversarial
       discriminative domain adaptation", CVPR 2017.

    Examples
    --------
    >>> from skuda import ADDARegressor
    >>> from skuda.datasets import make_shifted_regression
    >>> Xs, ys, Xt, yt = make_shifted_regression(random_state=0)
    >>> reg = ADDARegressor(source_epochs=5, max_epochs=3, random_state=0)
    >>> reg.fit(Xs, ys, Xt).predict(Xt[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseDARegressor._parameter_constraints,  # clip_predictions
        **_ADDA._parameter_constraints,
    }

    def __init__(
        self,
        source_estimator=None,
        *,
        source_epochs=100,
        max_epochs=40,
        lr=1e-3,
        adapt_lr=1e-3,
        adapt_betas=(0.5, 0.999),
        discriminator_hidden_layer_sizes=(500, 500),
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=True,
        feature_extractor=None,
        batch_size=64,
        min_iterations_per_epoch=1,
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

    def _match_source(self, source):
        """Check the source model's outputs; adopt its target standardisation."""
        if source.classes is not None:
            raise ValueError(
                f"source_estimator is a classifier (classes {source.classes}); "
                "ADDARegressor adapts a regressor. Use ADDAClassifier."
            )
        n_out, n_targets = source.n_outputs(self.input_shape_), self._n_outputs()
        if n_out != n_targets:
            raise ValueError(
                f"source_estimator predicts {n_out} outputs, but y_src has "
                f"{n_targets} columns; they must be the same."
            )
        # The frozen head predicts the source model's standardised targets.
        shape = np.shape(self.target_mean_)
        if source.target_mean is None:  # a foreign model: outputs in y's units
            mean, scale = np.zeros(shape), np.ones(shape)
        else:
            mean, scale = source.target_mean, source.target_scale
        self.target_mean_ = np.array(mean, dtype=float).reshape(shape)
        self.target_scale_ = np.array(scale, dtype=float).reshape(shape)


def _effective_classes(pred, n_classes):
    """``exp`` of the entropy of the predicted-class histogram (1 to n_classes)."""
    freq = torch.bincount(pred.reshape(-1).cpu(), minlength=n_classes).double()
    freq = freq[freq > 0] / freq.sum()
    return float(torch.exp(-(freq * freq.log()).sum()))


def _check_source_shape(source, input_shape):
    if source.input_shape is not None and source.input_shape != tuple(input_shape):
        raise ValueError(
            f"source_estimator was fitted on samples of shape {source.input_shape}, "
            f"but X_src has samples of shape {tuple(input_shape)}."
        )


def _check_betas(betas):
    betas = tuple(betas)
    if len(betas) != 2 or not all(isinstance(b, Real) and 0 <= b < 1 for b in betas):
        raise ValueError(f"adapt_betas must be two floats in [0, 1); got {betas!r}.")
    return tuple(float(b) for b in betas)
