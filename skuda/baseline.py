"""Source-only baseline: the shared network trained on source labels alone."""

from __future__ import annotations

from ._base import BaseDAClassifier
from ._net import DANet


class _SourceOnlyNet(DANet):
    use_target = False

    def batch_loss(self, xs, ys, xt, p):
        return {"task_loss": self.criterion_(self.module_(xs), ys)}


class SourceOnlyClassifier(BaseDAClassifier):
    """The skuda network trained on labelled source rows only (no adaptation).

    The reference every adaptation method is compared with: same feature
    extractor, head, optimizer, schedules and data path as the adaptive
    estimators, without any target term. It accepts both fit forms and
    ignores target rows, so it drops into the same ``Pipeline`` or grid.
    An epoch is ``ceil(n_src / batch_size)`` iterations.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256,)
        Hidden widths of the default MLP feature extractor.
    dropout : float, default=0.1
    batch_norm : bool, default=False
        Batch normalisation in the MLP feature extractor (off by default, see
        :class:`DANNClassifier`).
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
    max_epochs : int, default=100
    batch_size : int, default=64
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    weight_decay : float, default=1e-4
    lr_schedule : {"dann", "constant"}, default="dann"
        Learning-rate annealing ``lr / (1 + 10 p) ** 0.75`` (as for DANN).
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    callbacks : list of skorch callbacks, default=None
    input_scaling : {"pooled", "domain"} or None, default="pooled"
        Standardise each input feature (each channel of a signal) inside the
        estimator. ``"pooled"``: statistics of source and target rows together,
        applied to every row (safe for any input; a ``StandardScaler`` before
        the estimator then changes nothing). ``"domain"``: each domain with its
        own statistics, which aligns first and second moments before training;
        rows passed to ``predict``/``transform`` are then scaled with the
        *target* statistics, so use it when you predict target rows. ``None``:
        use the inputs as given.
    warm_start : bool, default=False

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    input_shape_ : tuple
        Shape of one row as the network sees it; ``(1, length)`` for 2-D
        input to a signal backbone.
    device_ : str
    net_ : skorch.NeuralNet
    history_ : skorch.History

    Examples
    --------
    >>> from skuda import SourceOnlyClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = SourceOnlyClassifier(max_epochs=5, random_state=0).fit(Xs, ys)
    >>> round(clf.score(Xs, ys), 1) >= 0.9
    True
    """

    _net_class = _SourceOnlyNet
    _requires_target = False

    def __init__(
        self,
        *,
        hidden_layer_sizes=(256,),
        dropout=0.1,
        batch_norm=False,
        feature_extractor=None,
        max_epochs=100,
        batch_size=64,
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.feature_extractor = feature_extractor
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
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
