"""SHOT: source hypothesis transfer (Liang, Hu & Feng, ICML 2020).

The source classifier (the "hypothesis") is frozen; the feature extractor is
adapted on unlabelled target rows alone, with information maximisation and
self-supervised pseudo-labels. The source data is needed only to train the
source model, which may also come ready-made (``source_estimator=``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import column_or_1d
from torch import nn

from ._base import store_parameters
from ._batching import DomainData, map_chunks
from ._docs import shared_parameters
from ._net import DANet
from ._network import build_encoder, build_head, output_size
from ._scaling import float32_moments
from ._two_phase import TwoPhaseDAClassifier
from ._validation import (
    Interval,
    StrOptions,
    check_rows,
    is_unlabeled,
)
from .losses import prediction_diversity, prediction_entropy, prior_divergence
from .modules import DANetwork, WeightNormLinear
from .pseudo_labels import centroid_pseudo_labels, em_class_prior, shrink_prior


class _SHOTNet(DANet):
    """Adaptation phase on target rows only, with the head frozen.

    It is fitted on ``DomainData(None, None, X_tgt)``. The net owns the
    pseudo-labels of the target rows (``pseudo_labels_``), refreshed at the
    start of every ``pseudo_label_interval``-th epoch; the batches carry them
    as ``batch.yt``.
    """

    def __init__(
        self,
        module,
        *args,
        ent_par=1.0,
        cls_par=0.3,
        pseudo_label_interval=1,
        source_prior=None,
        prior_shrinkage=0.0,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.ent_par = ent_par
        self.cls_par = cls_par
        self.pseudo_label_interval = pseudo_label_interval
        self.source_prior = source_prior
        self.prior_shrinkage = prior_shrinkage

    def initialize_module(self):
        super().initialize_module()
        self.module_.head.requires_grad_(False)
        return self

    def get_all_learnable_params(self):
        # The frozen hypothesis never enters the optimizer (nor its weight decay).
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def target_labels(self):
        return self.pseudo_labels_

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.pseudo_labels_ = None
        self.target_prior_ = None
        if self.source_prior is not None:  # diversity="prior"
            self.target_prior_ = self._estimate_target_prior(X.X_tgt)

    def _estimate_target_prior(self, X_tgt):
        """EM estimate of the target's class proportions (before adapting)."""
        self.module_.eval()
        with torch.no_grad():
            logits = map_chunks(self.module_, X_tgt)
        proba = F.softmax(logits.double(), dim=1).cpu().numpy()
        prior = shrink_prior(
            em_class_prior(proba, self.source_prior), self.prior_shrinkage
        )
        return torch.as_tensor(prior, dtype=torch.float32, device=X_tgt.device)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, **kwargs)
        if self.cls_par > 0:
            if (self.epoch_ - 1) % self.pseudo_label_interval == 0:
                self.pseudo_label_change_ = self._refresh_pseudo_labels(
                    dataset_train.X_tgt
                )
            self.history.record("pseudo_label_changed", self.pseudo_label_change_)

    def _refresh_pseudo_labels(self, X_tgt):
        """Relabel every target row (eval mode); return the fraction changed."""
        self.module_.eval()
        encoder, head = self.module_.encoder, self.module_.head

        def features_and_logits(xb):
            z = encoder(xb)
            return z.flatten(1), head(z)

        with torch.no_grad():
            feats, logits = map_chunks(features_and_logits, X_tgt)
        labels = centroid_pseudo_labels(feats, logits)
        old = self.pseudo_labels_
        self.pseudo_labels_ = labels
        return math.nan if old is None else (labels != old).double().mean().item()

    def batch_loss(self, batch, p):
        logits = self.module_(batch.xt)
        entropy, diversity = prediction_entropy(logits), prediction_diversity(logits)
        self.log_batch("entropy", entropy)
        self.log_batch("diversity", diversity)
        if self.target_prior_ is None:  # the paper's term: uniform classes
            terms = {"im_loss": self.ent_par * (entropy - diversity)}
        else:  # pull the mean prediction towards the estimated proportions
            gap = prior_divergence(logits, self.target_prior_)
            terms = {"im_loss": self.ent_par * (entropy + gap)}
        if self.cls_par > 0:
            terms["pseudo_label_loss"] = self.cls_par * F.cross_entropy(
                logits, batch.yt
            )
        return terms


@shared_parameters
class SHOTAdapter(TwoPhaseDAClassifier):
    """Source hypothesis transfer (SHOT): adapt a model without the source data.

    SHOT keeps the source classifier (the *hypothesis*) fixed and trains only
    the feature extractor on unlabelled target rows, so that target features
    fit the source hypothesis. Two losses drive it: information maximisation
    (confident yet diverse predictions) and cross-entropy on self-supervised
    pseudo-labels (nearest class centroid in feature space, refreshed every
    ``pseudo_label_interval`` epochs).

    Two ways in:

    * ``SHOTAdapter().fit(X_src, y_src, X_tgt)`` (or the stacked ``fit(X, y)``
      with target rows labelled ``-1``) first trains a SHOT source model:
      feature extractor, bottleneck (``Linear -> BatchNorm1d``) and a
      weight-normalised linear classifier, with label-smoothed cross-entropy;
      then it adapts on the target rows.
    * ``SHOTAdapter(source_estimator=fitted).fit(X_tgt)`` is source-free: it
      adapts a copy of an already-trained model from target rows alone. ``y``
      may be omitted (``Pipeline.fit(X_tgt)``) or all ``-1``.

    Parameters
    ----------
    source_estimator : fitted estimator or (module, module) tuple, default=None
        The source model to adapt (copied, never modified). Wrap a fitted
        estimator in :class:`sklearn.frozen.FrozenEstimator` for
        ``GridSearchCV`` and ``cross_val_score``, whose clones would otherwise
        be unfitted. A fitted skuda
        estimator (e.g. :class:`SourceOnlyClassifier`, :class:`DANNClassifier`)
        contributes its encoder as feature extractor, its head as the frozen
        hypothesis and its ``classes_``. A pair ``(feature_extractor,
        classifier)`` of torch modules, where ``classifier`` maps features to
        logits, contributes ``classes_ = arange(n_outputs)`` unless ``classes``
        is given. A fitted skorch ``NeuralNetClassifier`` or ``NeuralNet``:
        its ``module_`` is split into feature extractor and classifier (an
        ``nn.Sequential``'s last layer, after dropping a final softmax, or the
        attributes ``encoder``/``head`` or ``features``/``classifier``; see
        the user guide), and its ``classes_`` are used when it has them. When
        set, ``fit`` takes target rows only and the parameters that build a
        new source model (``hidden_layer_sizes``, ``dropout``, ``batch_norm``,
        ``bottleneck_dim``, ``head``, ``source_epochs``, ``lr``,
        ``label_smoothing``) are unused; ``validation_fraction`` must be None.
    classes : array-like of shape (n_outputs,), default=None
        Class labels of the outputs of a ``(feature_extractor, classifier)``
        pair or of a skorch net (whose ``classes_`` are the integer codes it
        was trained on); not with a skuda ``source_estimator``.
    ent_par : float, default=1.0
        Weight of the information-maximisation loss.
    cls_par : float, default=0.3
        Weight of the pseudo-label cross-entropy; 0 gives SHOT-IM (and skips
        pseudo-labelling).
    diversity : {"uniform", "prior"}, default="uniform"
        The diversity half of information maximisation. ``"uniform"``: the
        paper's term, the entropy of the mean prediction, which pushes the
        target towards balanced classes. ``"prior"``: the KL divergence of the
        mean prediction from the target's class proportions, estimated before
        adaptation by EM on the source model's predictions (Saerens et al.,
        2002; :func:`skuda.pseudo_labels.em_class_prior`) from the source
        proportions (uniform when unknown, i.e. source-free). It fits a pure
        shift of class proportions; under covariate drift the source model is
        miscalibrated on the target and EM can starve a class. Measured on gas
        batch 1 -> 2 (0.4 % in the rarest class): 45.9 -> 81.1 % target
        accuracy; over all 7 gas targets 66.0 -> 43.4 % (seed 0), so the
        paper's ``"uniform"`` stays the default.
    prior_shrinkage : float in [0, 1], default=0.0
        With ``diversity="prior"``: shrink the estimated proportions towards
        uniform, ``(1 - prior_shrinkage) * estimate + prior_shrinkage /
        n_classes`` (:func:`skuda.pseudo_labels.shrink_prior`), so that no
        class gets less than ``prior_shrinkage / n_classes`` of the mean
        prediction however miscalibrated the EM estimate is; 1 is the
        ``"uniform"`` term. Unused with ``diversity="uniform"``.
    bottleneck_dim : int, default=256
        Width of the bottleneck between feature extractor and classifier.
    pseudo_label_interval : int, default=1
        Recompute the pseudo-labels at the start of every this-many epochs.
    source_epochs : int, default=100
        Epochs of source training (epoch = ``ceil(n_src / batch_size)`` iterations).
    max_epochs : int, default=30
        Epochs of target adaptation (epoch = ``ceil(n_tgt / batch_size)``
        iterations, at least ``min_iterations_per_epoch``).
    lr : float, default=1e-3
        Learning rate of source training.
    adapt_lr : float, default=3e-4
        Learning rate of adaptation.
    [shared parameters]

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    input_shape_ : tuple
        Shape of one row as the network sees it; ``(1, length)`` for 2-D
        input to a signal backbone.
    device_ : str
    interrupted_ : bool
        True when a user interrupt (Ctrl-C) ended the last fit early; the
        model is then the one trained so far (see the user guide).
    net_ : skorch.NeuralNet
        The adaptation net; ``net_.module_`` holds ``encoder`` (feature
        extractor and bottleneck) and the frozen ``head``.
    history_ : skorch.History
        Per adaptation epoch: ``train_loss``, ``im_loss`` and
        ``pseudo_label_loss`` (weighted, as summed into ``train_loss``),
        ``entropy`` and ``diversity`` (unweighted), ``pseudo_label_changed``
        (fraction of target rows whose pseudo-label changed at the last
        refresh; NaN until a second refresh), ``lr`` and ``phase``
        (``"adaptation"``).
    source_history_ : skorch.History or None
        History of source training (``phase`` = ``"source"``; with
        ``validation_fraction`` also ``valid_loss`` and ``valid_acc``): a copy
        of the source estimator's history for source-free fits (None for a
        module pair).

    Notes
    -----
    ``lr_schedule="dann"`` anneals the rate of each phase over that phase.
    ``input_scaling`` with source rows: ``"pooled"`` uses the statistics of
    both domains, ``"domain"`` each domain's own. Source-free (no source rows,
    so nothing to pool): the target rows are standardised with their own
    statistics, unless the source model was trained on unscaled inputs
    (``input_scaling=None`` or a module pair), in which case ``"pooled"``
    leaves them unscaled and ``"domain"`` still standardises them.

    See Also
    --------
    SourceOnlyClassifier : A source model that ``source_estimator`` accepts.

    References
    ----------
    .. [1] J. Liang, D. Hu and J. Feng, "Do we really need to access the source
       data? Source hypothesis transfer for unsupervised domain adaptation",
       ICML 2020.

    Examples
    --------
    >>> from skuda import SourceOnlyClassifier
    >>> from skuda.shot import SHOTAdapter
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = SHOTAdapter(source_epochs=5, max_epochs=3, random_state=0)
    >>> clf.fit(Xs, ys, Xt).predict(Xt[:3]).shape
    (3,)
    >>> src = SourceOnlyClassifier(max_epochs=5, random_state=0).fit(Xs, ys)
    >>> shot = SHOTAdapter(src, max_epochs=3, random_state=0).fit(Xt)
    >>> shot.classes_
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        **TwoPhaseDAClassifier._parameter_constraints,
        "classes": ["array-like", None],
        "ent_par": [Interval(Real, 0, None, closed="left")],
        "cls_par": [Interval(Real, 0, None, closed="left")],
        "diversity": [StrOptions({"uniform", "prior"})],
        "prior_shrinkage": [Interval(Real, 0, 1, closed="both")],
        "bottleneck_dim": [Interval(Integral, 1, None, closed="left")],
        "pseudo_label_interval": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        source_estimator=None,
        *,
        classes=None,
        ent_par=1.0,
        cls_par=0.3,
        diversity="uniform",
        prior_shrinkage=0.0,
        label_smoothing=0.1,
        bottleneck_dim=256,
        pseudo_label_interval=1,
        source_epochs=100,
        max_epochs=30,
        lr=1e-3,
        adapt_lr=3e-4,
        hidden_layer_sizes=(256, 256),
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
        validation_fraction=None,
        class_weight=None,
    ):
        store_parameters(self, locals())

    # -- fitting -------------------------------------------------------------------
    def fit(self, X, y=None, X_tgt=None, *, sample_weight=None, domains=None):
        """Train a source model and adapt it, or adapt ``source_estimator``.

        As for every skuda estimator, the fitted state is replaced atomically
        (a failing fit leaves the estimator as it was), and Ctrl-C ends the
        whole fit, source phase included (see the user guide).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Without ``source_estimator``: source rows (with ``X_tgt``) or the
            stacked rows of both domains. With it: the target rows.
        y : array-like of shape (n_samples,), default=None
            Source labels, or stacked labels with ``-1`` for target rows. With
            ``source_estimator``: None or all ``-1``.
        X_tgt : array-like of shape (n_target, n_features), default=None
            Target rows of the three-argument form (not with ``source_estimator``).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows of ``X`` in the source phase's label loss, as
            for :meth:`DANNClassifier.fit`; not with ``source_estimator``.
        domains : array-like of shape (n_samples,), default=None
            Source domain of each row of ``X``: recorded in
            ``source_domains_``; SHOT pools the sources. Not with
            ``source_estimator``.

        Returns
        -------
        self : object
        """
        return super().fit(X, y, X_tgt, sample_weight=sample_weight, domains=domains)

    def _fit(self, X, y, X_tgt):
        if self.source_estimator is None:
            return super()._fit(X, y, X_tgt)
        if X_tgt is not None:
            raise ValueError(
                "With source_estimator set, pass the target rows as X "
                "(fit(X_tgt)); X_tgt must be None."
            )
        if y is not None and not np.all(is_unlabeled(column_or_1d(y, warn=True))):
            raise ValueError(
                "With source_estimator set, fit takes unlabelled target rows "
                "only: y must be None or all -1; got labelled rows."
            )
        given = [k for k, v in getattr(self, "_metadata", {}).items() if v is not None]
        if given:
            raise ValueError(
                f"{' and '.join(given)} describe source rows, but with "
                "source_estimator set the fit has none (pass them when fitting "
                "the source estimator)."
            )
        return self._fit_source_free(X)

    def _fit_source_free(self, X):
        source = self._source_model_param()
        source.check_feature_names(X, "X")
        X = check_rows(self, X, name="X", reset=True, allow_nd=True)
        X = self._network_rows(X, "X")
        if source.input_shape is not None and X.shape[1:] != source.input_shape:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but source_estimator was "
                f"fitted on shape {source.input_shape}."
            )
        X = self._scale_target(X, source)
        classes = self._source_classes(source, source.n_outputs(X.shape[1:]))
        reuse = self._can_warm_start(classes, X.shape[1:])
        self.classes_, self.input_shape_ = classes, X.shape[1:]
        network = None
        if not reuse:
            source = self._given_source()
            network = self._network_from_source(source.encoder, source.head)
        return self._run_training(
            lambda batch_seed: self._adapt(network, X, batch_seed)
        )

    def _source_classes(self, source, n_out):
        """``classes_`` of a source-free fit: ``classes``, the source's, or 0..n-1.

        ``classes`` names the outputs of a module pair or a skorch net (whose
        ``classes_`` are the integer codes it was trained on); a skuda
        estimator brings its own.
        """
        if self.classes is not None and source.classes is not None:
            if source.whole is None:
                raise ValueError(
                    "classes is only for a (feature_extractor, classifier) pair "
                    "or a skorch net; a fitted skuda source_estimator brings its "
                    "own classes_."
                )
        if self.classes is None and source.classes is not None:
            classes, name = source.classes.copy(), "source_estimator.classes_"
        elif self.classes is None:
            return np.arange(n_out)
        else:
            classes, name = np.asarray(self.classes).copy(), "classes"
            if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
                raise ValueError("classes must be a 1-D array of distinct labels.")
        if len(classes) != n_out:
            raise ValueError(
                f"{name} has {len(classes)} labels but the classifier of "
                f"source_estimator has {n_out} outputs; pass classes= with one "
                "label per output."
            )
        return classes

    def _scale_target(self, X, source):
        """Source-free input scaling: the target rows' own statistics.

        Without source rows no pooled statistics can be formed, and reusing the
        source statistics can blow up features that are near-constant in the
        source (e.g. MNIST's empty borders scale USPS pixels by 1000x). So the
        target is standardised with its own statistics, as ``"domain"``
        scaling would do. A source model trained on unscaled inputs (or a
        module pair) gets unscaled target rows unless ``input_scaling="domain"``.
        """
        if self.input_scaling is None or (
            self.input_scaling == "pooled" and source.mean is None
        ):
            stats = None
        else:
            stats = float32_moments(X)
        return self._apply_scaling(None, X, None, stats)[1]

    def _network_from_source(self, encoder, head):
        return DANetwork(encoder, head)

    def _build_network(self, input_shape, n_classes):
        features = build_encoder(self, input_shape)
        n_features = output_size(features, input_shape)
        encoder = nn.Sequential(
            OrderedDict(
                features=features,
                flatten=nn.Flatten(),
                bottleneck=nn.Linear(n_features, self.bottleneck_dim),
                bn=nn.BatchNorm1d(self.bottleneck_dim),
            )
        )
        head = build_head(self.head, self.bottleneck_dim, n_classes, WeightNormLinear)
        return DANetwork(encoder, head)

    def _train(self, X_src, y_idx, X_tgt, batch_seed, *, reuse):
        if reuse and X_tgt is not None:
            return self._adapt(None, X_tgt, batch_seed)
        source_net = self._source_phase(
            self._domain_data(X_src, y_idx, None),
            batch_seed,
            warm_start=False,
        )
        if X_tgt is None or self.interrupted_:
            return source_net
        prior = np.bincount(y_idx, minlength=len(self.classes_)) / len(y_idx)
        return self._adapt(source_net.module_, X_tgt, batch_seed, prior)

    def _adapt(self, network, X_tgt, batch_seed, source_prior=None):
        """Adapt ``network`` (None: continue ``net_``) on the target rows.

        ``source_prior``: class proportions of the source rows (None: unknown,
        taken as uniform), used by ``diversity="prior"``.
        """
        if self.diversity == "uniform":
            source_prior = None
        elif source_prior is None:
            source_prior = np.full(len(self.classes_), 1.0 / len(self.classes_))
        if network is None:
            net = self._continue_net()
        else:
            net = self._make_net(
                _SHOTNet,
                network,
                batch_seed,
                phase="adaptation",
                lr=self.adapt_lr,
                ent_par=self.ent_par,
                cls_par=self.cls_par,
                pseudo_label_interval=self.pseudo_label_interval,
                source_prior=source_prior,
                prior_shrinkage=self.prior_shrinkage,
            )
        return self._fit_net(net, DomainData(None, None, X_tgt, device=self.device_))
