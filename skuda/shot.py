"""SHOT: source hypothesis transfer (Liang, Hu & Feng, ICML 2020).

The source classifier (the "hypothesis") is frozen; the feature extractor is
adapted on unlabelled target rows alone, with information maximisation and
self-supervised pseudo-labels. The source data is needed only to train the
source model, which may also come ready-made (``source_estimator=``).
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, column_or_1d
from torch import nn

from ._base import BaseDAClassifier, _moments, _output_size
from ._batching import DomainData
from ._net import DANet, DANetwork, map_chunks
from ._validation import UNLABELED, check_features

# -- pure functions ----------------------------------------------------------------


def prediction_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean per-row entropy of the softmax predictions (SHOT Eq. 2, first term).

    Low when every row is predicted confidently.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)

    Returns
    -------
    Tensor
        Scalar ``mean_i -sum_k p_ik log p_ik`` (natural log).
    """
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1).mean()


def prediction_diversity(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the mean softmax prediction (SHOT Eq. 2, second term).

    High when the batch's predictions are spread over the classes; its
    maximum ``log(n_classes)`` is reached by a uniform mean prediction.

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)

    Returns
    -------
    Tensor
        Scalar ``-sum_k pbar_k log pbar_k`` with ``pbar = mean_i softmax(logits_i)``.
    """
    p_mean = F.softmax(logits, dim=1).mean(dim=0)
    # xlogy gives 0 * log 0 = 0 for classes that nobody predicts.
    return -torch.special.xlogy(p_mean, p_mean).sum()


def information_maximization_loss(logits: torch.Tensor) -> torch.Tensor:
    """SHOT's information-maximisation loss: entropy minus diversity.

    Minimising it makes each prediction confident and the predictions of a
    batch diverse (Liang et al., 2020, Eq. 2).

    Parameters
    ----------
    logits : Tensor of shape (n, n_classes)

    Returns
    -------
    Tensor
        Scalar ``prediction_entropy(logits) - prediction_diversity(logits)``.
    """
    return prediction_entropy(logits) - prediction_diversity(logits)


def shot_pseudo_labels(
    features: torch.Tensor, logits: torch.Tensor, *, refine_rounds: int = 1
) -> torch.Tensor:
    """Self-supervised pseudo-labels by nearest class centroid (SHOT Eqs. 4-6).

    Features are L2-normalised. Each class centroid is the mean of the
    features weighted by that class's softmax probability; every row takes
    the label of its nearest centroid by cosine distance. Each refinement
    round recomputes the centroids from these hard labels and reassigns.
    Only classes that are the arg-max of at least one row are candidates
    (as in the authors' code), and a refinement round drops classes that
    received no row.

    Parameters
    ----------
    features : Tensor of shape (n, d)
    logits : Tensor of shape (n, n_classes)
    refine_rounds : int, default=1

    Returns
    -------
    Tensor of shape (n,), dtype long
        Class indices.
    """
    feats = F.normalize(features.flatten(1).double(), dim=1)
    weights = F.softmax(logits.double(), dim=1)
    n_classes = weights.shape[1]
    candidates = torch.bincount(weights.argmax(dim=1), minlength=n_classes) > 0
    labels = _nearest_centroid(feats, weights, candidates)
    for _ in range(refine_rounds):
        hard = F.one_hot(labels, n_classes).double()
        labels = _nearest_centroid(feats, hard, candidates & (hard.sum(0) > 0))
    return labels


def _nearest_centroid(feats, weights, candidates):
    centroids = weights.T @ feats / (weights.sum(dim=0)[:, None] + 1e-8)
    similarity = feats @ F.normalize(centroids, dim=1).T
    similarity[:, ~candidates] = -math.inf
    return similarity.argmax(dim=1)


# -- modules and nets ----------------------------------------------------------------


class WeightNormLinear(nn.Module):
    """Linear layer with weight normalisation ``w_k = g_k v_k / ||v_k||``.

    The same map as ``torch.nn.utils.parametrizations.weight_norm(nn.Linear)``
    (``dim=0``: one norm per output unit), written as a plain module because
    parametrized modules cannot be pickled, and skuda estimators must be.

    Parameters
    ----------
    in_features, out_features : int
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        linear = nn.Linear(in_features, out_features)
        self.weight_v = nn.Parameter(linear.weight.detach().clone())
        self.weight_g = nn.Parameter(linear.weight.detach().norm(dim=1, keepdim=True))
        self.bias = nn.Parameter(linear.bias.detach().clone())
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x):
        weight = self.weight_g * self.weight_v / self.weight_v.norm(dim=1, keepdim=True)
        return F.linear(x, weight, self.bias)


class _SHOTSourceNet(DANet):
    """Source phase: label-smoothed cross-entropy on source rows."""

    use_target = False

    def __init__(self, module, *args, label_smoothing=0.1, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.label_smoothing = label_smoothing

    def batch_loss(self, xs, ys, xt, p):
        logits = self.module_(xs)
        return {
            "task_loss": F.cross_entropy(
                logits, ys, label_smoothing=self.label_smoothing
            )
        }


class _SHOTNet(DANet):
    """Adaptation phase on target rows only, with the head frozen.

    It is fitted on ``DomainData(X_tgt, pseudo_labels, None)``: the target rows
    fill the labelled slot, and their "labels" are the current pseudo-labels,
    refreshed in place at the start of every ``pseudo_label_interval``-th epoch
    (the batches read them lazily). So ``batch_loss`` gets target rows as
    ``xs`` and their pseudo-labels as ``ys``.
    """

    def __init__(
        self, module, *args, ent_par=1.0, cls_par=0.3, pseudo_label_interval=1, **kwargs
    ):
        super().__init__(module, *args, **kwargs)
        self.ent_par = ent_par
        self.cls_par = cls_par
        self.pseudo_label_interval = pseudo_label_interval

    def target_rows(self, data):
        return data.X_src  # the target rows fill the labelled slot here

    def initialize_module(self):
        super().initialize_module()
        self.module_.head.requires_grad_(False)
        return self

    def get_all_learnable_params(self):
        # The frozen hypothesis never enters the optimizer (nor its weight decay).
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.epochs_this_fit_ = 0

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, **kwargs)
        if self.cls_par > 0:
            if self.epochs_this_fit_ % self.pseudo_label_interval == 0:
                self.pseudo_label_change_ = self._refresh_pseudo_labels(dataset_train)
            self.log("pseudo_label_changed", self.pseudo_label_change_)
        self.epochs_this_fit_ += 1

    def _refresh_pseudo_labels(self, data):
        """Relabel every target row (eval mode); return the fraction changed."""
        self.module_.eval()
        encoder, head = self.module_.encoder, self.module_.head

        def features_and_logits(xb):
            z = encoder(xb)
            return z.flatten(1), head(z)

        with torch.no_grad():
            feats, logits = map_chunks(features_and_logits, data.X_src)
        labels = shot_pseudo_labels(feats, logits)
        first = not getattr(data, "pseudo_labelled", False)
        changed = math.nan if first else (labels != data.y_src).double().mean().item()
        data.y_src.copy_(labels)
        data.pseudo_labelled = True
        return changed

    def batch_loss(self, xs, ys, xt, p):
        logits = self.module_(xs)
        entropy, diversity = prediction_entropy(logits), prediction_diversity(logits)
        self.log("entropy", entropy)
        self.log("diversity", diversity)
        terms = {"im_loss": self.ent_par * (entropy - diversity)}
        if self.cls_par > 0:
            terms["pseudo_label_loss"] = self.cls_par * F.cross_entropy(logits, ys)
        return terms


# -- estimator ---------------------------------------------------------------------


class SHOTAdapter(BaseDAClassifier):
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
    source_estimator : fitted skuda estimator or (module, module) tuple, default=None
        The source model to adapt (copied, never modified; ``clone`` keeps
        the same fitted object, and a ``sklearn.frozen.FrozenEstimator``
        wrapper is accepted). A fitted skuda
        estimator (e.g. :class:`SourceOnlyClassifier`, :class:`DANNClassifier`)
        contributes its encoder as feature extractor, its head as the frozen
        hypothesis and its ``classes_``. A pair ``(feature_extractor,
        classifier)`` of torch modules, where ``classifier`` maps features to
        logits, contributes ``classes_ = arange(n_outputs)`` unless ``classes``
        is given. When set, ``fit`` takes target rows only and the parameters
        that build a new source model (``hidden_layer_sizes``, ``dropout``,
        ``batch_norm``, ``bottleneck_dim``, ``source_epochs``, ``lr``,
        ``label_smoothing``) are unused.
    classes : array-like of shape (n_outputs,), default=None
        Class labels of the outputs of a ``(feature_extractor, classifier)``
        pair; only valid with such a pair.
    ent_par : float, default=1.0
        Weight of the information-maximisation loss.
    cls_par : float, default=0.3
        Weight of the pseudo-label cross-entropy; 0 gives SHOT-IM (and skips
        pseudo-labelling).
    label_smoothing : float, default=0.1
        Label smoothing of the source cross-entropy.
    bottleneck_dim : int, default=256
        Width of the bottleneck between feature extractor and classifier.
    pseudo_label_interval : int, default=1
        Recompute the pseudo-labels at the start of every this-many epochs.
    source_epochs : int, default=100
        Epochs of source training (epoch = ``ceil(n_src / batch_size)`` iterations).
    max_epochs : int, default=30
        Epochs of target adaptation (epoch = ``ceil(n_tgt / batch_size)``
        iterations).
    lr : float, default=1e-3
        Learning rate of source training.
    adapt_lr : float, default=3e-4
        Learning rate of adaptation.
    hidden_layer_sizes : tuple of int, default=(256,)
        Hidden widths of the default MLP feature extractor.
    dropout : float, default=0.1
    batch_norm : bool, default=True
    feature_extractor : {"wdcnn", "cnn1d"}, torch.nn.Module or None, default=None
        The feature extractor. ``None``: the MLP (2-D input). ``"wdcnn"``
        (:class:`skuda.modules.WDCNN`, wide first kernel, for raw vibration)
        or ``"cnn1d"`` (:class:`skuda.modules.CNN1d`, for multichannel
        sensors): a 1-D CNN for signals of shape ``(n_samples, n_channels,
        length)``, or ``(n_samples, length)`` read as one channel; input
        scaling is then per channel. A module: used instead of the MLP
        (copied, never modified); it may take inputs of any rank and its
        output is flattened per row.
    feature_extractor_kwargs : dict, default=None
        Constructor arguments of the named backbone, e.g. ``{"n_filters": 32}``
        (``in_channels`` is set from the data). Only with a named
        ``feature_extractor``.
    batch_size : int, default=64
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Used in both phases; ``"sgd"`` uses momentum 0.9 as in the paper.
    weight_decay : float, default=1e-4
    lr_schedule : {"dann", "constant"}, default="dann"
        ``"dann"`` anneals each phase's rate as ``lr / (1 + 10 p) ** 0.75``.
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout and batch order of both phases; the same
        seed gives bit-identical results on CPU.
    verbose : int, default=0
    callbacks : list of skorch callbacks, default=None
        Extra callbacks, copied into each phase.
    warm_start : bool, default=False
        On the next ``fit``, continue adapting the adapted network (no new
        source training).
    input_scaling : {"pooled", "domain"} or None, default="pooled"
        Standardise each input feature inside the estimator. With source
        rows: ``"pooled"`` uses the statistics of both domains, ``"domain"``
        each domain's own (rows given to ``predict`` get the target's).
        Source-free (no source rows, so nothing to pool): the target rows are
        standardised with their own statistics, unless the source model was
        trained on unscaled inputs (``input_scaling=None`` or a module pair),
        in which case ``"pooled"`` leaves them unscaled and ``"domain"`` still
        standardises them. ``None``: inputs as given.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    input_shape_ : tuple
        Shape of one row as the network sees it; ``(1, length)`` for 2-D
        input to a signal backbone.
    device_ : str
    net_ : skorch.NeuralNet
        The adaptation net; ``net_.module_`` holds ``encoder`` (feature
        extractor and bottleneck) and the frozen ``head``.
    history_ : skorch.History
        Per adaptation epoch: ``train_loss``, ``im_loss`` and
        ``pseudo_label_loss`` (weighted, as summed into ``train_loss``),
        ``entropy`` and ``diversity`` (unweighted), ``pseudo_label_changed``
        (fraction of target rows whose pseudo-label changed at the last
        refresh; NaN until a second refresh) and ``lr``.
    source_history_ : skorch.History or None
        History of source training; None for source-free fits.

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
        **BaseDAClassifier._parameter_constraints,
        "source_estimator": "no_validation",  # checked in _source_parts
        "classes": ["array-like", None],
        "ent_par": [Interval(Real, 0, None, closed="left")],
        "cls_par": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "bottleneck_dim": [Interval(Integral, 1, None, closed="left")],
        "pseudo_label_interval": [Interval(Integral, 1, None, closed="left")],
        "source_epochs": [Interval(Integral, 1, None, closed="left")],
        "adapt_lr": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        source_estimator=None,
        *,
        classes=None,
        ent_par=1.0,
        cls_par=0.3,
        label_smoothing=0.1,
        bottleneck_dim=256,
        pseudo_label_interval=1,
        source_epochs=100,
        max_epochs=30,
        lr=1e-3,
        adapt_lr=3e-4,
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=True,
        feature_extractor=None,
        batch_size=64,
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
    ):
        self.source_estimator = source_estimator
        self.classes = classes
        self.ent_par = ent_par
        self.cls_par = cls_par
        self.label_smoothing = label_smoothing
        self.bottleneck_dim = bottleneck_dim
        self.pseudo_label_interval = pseudo_label_interval
        self.source_epochs = source_epochs
        self.max_epochs = max_epochs
        self.lr = lr
        self.adapt_lr = adapt_lr
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.feature_extractor = feature_extractor
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.input_scaling = input_scaling
        self.feature_extractor_kwargs = feature_extractor_kwargs

    # -- fitting -------------------------------------------------------------------
    def fit(self, X, y=None, X_tgt=None):
        """Train a source model and adapt it, or adapt ``source_estimator``.

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

        Returns
        -------
        self : object
        """
        if self.source_estimator is None:
            return super().fit(X, y, X_tgt)
        self._validate_params()
        if X_tgt is not None:
            raise ValueError(
                "With source_estimator set, pass the target rows as X "
                "(fit(X_tgt)); X_tgt must be None."
            )
        if y is not None:
            y = column_or_1d(y, warn=True)
            if not np.all(y == UNLABELED):
                raise ValueError(
                    "With source_estimator set, fit takes unlabelled target rows "
                    "only: y must be None or all -1; got labelled rows."
                )
        return self._fit_source_free(X)

    def _fit_source_free(self, X):
        encoder, head, classes, shape, stats = self._source_parts()
        X = check_features(self, X, name="X", reset=True, allow_nd=True)
        X = self._as_signals(X, "X")
        if shape is not None and X.shape[1:] != tuple(shape):
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but source_estimator was "
                f"fitted on shape {tuple(shape)}."
            )
        X = self._scale_target(X, stats)
        n_out = _dry_run(encoder, head, X)
        if classes is None:
            classes = np.arange(n_out)
        elif len(classes) != n_out:
            raise ValueError(
                f"classes has {len(classes)} labels but the classifier of "
                f"source_estimator has {n_out} outputs."
            )
        reuse = self._can_warm_start(classes, X.shape[1:])
        self.classes_, self.input_shape_ = classes, X.shape[1:]
        self.source_history_ = None
        network = None if reuse else DANetwork(encoder, head)
        return self._run_training(
            lambda batch_seed: self._adapt(network, X, batch_seed)
        )

    def _scale_target(self, X, source_stats):
        """Source-free input scaling: the target rows' own statistics.

        Without source rows no pooled statistics can be formed, and reusing the
        source statistics can blow up features that are near-constant in the
        source (e.g. MNIST's empty borders scale USPS pixels by 1000x). So the
        target is standardised with its own statistics, as ``"domain"``
        scaling would do. A source model trained on unscaled inputs (or a
        module pair) gets unscaled target rows unless ``input_scaling="domain"``.
        """
        if self.input_scaling is None or (
            self.input_scaling == "pooled" and source_stats[0] is None
        ):
            stats = None
        else:
            stats = _moments(X)
        return self._apply_scaling(None, X, None, stats)[1]

    def _source_parts(self):
        """Copies of (encoder, head); classes, input shape, input statistics."""
        src = self._unwrapped_source()
        if isinstance(src, BaseDAClassifier):
            check_is_fitted(src)
            if self.classes is not None:
                raise ValueError(
                    "classes is only for a (feature_extractor, classifier) pair; "
                    "a fitted source_estimator brings its own classes_."
                )
            encoder = copy.deepcopy(src._prediction_encoder()).cpu()
            head = copy.deepcopy(src.net_.module_.head).cpu()
            stats = (
                getattr(src, "input_mean_", None),
                getattr(src, "input_scale_", None),
            )
            return encoder, head, src.classes_.copy(), src.input_shape_, stats
        if (
            isinstance(src, (tuple, list))
            and len(src) == 2
            and all(isinstance(m, nn.Module) for m in src)
        ):
            classes = None if self.classes is None else np.asarray(self.classes).copy()
            if classes is not None and (
                classes.ndim != 1 or len(np.unique(classes)) != len(classes)
            ):
                raise ValueError("classes must be a 1-D array of distinct labels.")
            encoder, head = (copy.deepcopy(m).cpu() for m in src)
            return encoder, head, classes, None, (None, None)
        raise TypeError(
            "source_estimator must be a fitted skuda estimator or a "
            "(feature_extractor, classifier) pair of torch modules; got "
            f"{type(src).__name__}."
        )

    def _build_network(self, input_shape, n_classes):
        features = self._build_encoder(input_shape)
        n_features = _output_size(features, input_shape)
        encoder = nn.Sequential(
            OrderedDict(
                features=features,
                flatten=nn.Flatten(),
                bottleneck=nn.Linear(n_features, self.bottleneck_dim),
                bn=nn.BatchNorm1d(self.bottleneck_dim),
            )
        )
        return DANetwork(encoder, WeightNormLinear(self.bottleneck_dim, n_classes))

    def _train(self, X_src, y_idx, X_tgt, batch_seed, *, reuse):
        if reuse and X_tgt is not None:
            return self._adapt(None, X_tgt, batch_seed)
        network = self._build_network(self.input_shape_, len(self.classes_))
        source_net = self._make_net(
            _SHOTSourceNet,
            network,
            batch_seed,
            max_epochs=self.source_epochs,
            warm_start=False,
            label_smoothing=self.label_smoothing,
        )
        source_net.fit(DomainData(X_src, y_idx, None, device=self.device_), None)
        self.source_history_ = source_net.history
        if X_tgt is None:
            return source_net
        return self._adapt(source_net.module_, X_tgt, batch_seed)

    def _adapt(self, network, X_tgt, batch_seed):
        """Adapt ``network`` (None: continue ``net_``) on the target rows."""
        if network is None:
            net = self.net_
            net.set_params(max_epochs=self.max_epochs, lr_schedule=self.lr_schedule)
        else:
            net = self._make_net(
                _SHOTNet,
                network,
                batch_seed,
                lr=self.adapt_lr,
                ent_par=self.ent_par,
                cls_par=self.cls_par,
                pseudo_label_interval=self.pseudo_label_interval,
            )
        placeholder = np.zeros(len(X_tgt), dtype=np.int64)  # pseudo-labels go here
        return net.fit(DomainData(X_tgt, placeholder, None, device=self.device_), None)


def _dry_run(encoder, head, X):
    """Number of outputs of ``head(encoder(X[:2]))``; ValueError if it fails."""
    was = encoder.training, head.training
    encoder.eval(), head.eval()
    try:
        with torch.no_grad():
            out = head(encoder(torch.from_numpy(X[:2])))
    except Exception as exc:
        raise ValueError(
            f"source_estimator's modules failed on X of shape {X.shape}: {exc}"
        ) from exc
    finally:
        encoder.train(was[0]), head.train(was[1])
    if out.ndim != 2:
        raise ValueError(
            f"source_estimator's classifier must return (n, n_classes) logits; "
            f"got shape {tuple(out.shape)}."
        )
    return out.shape[1]
