"""Source-only baseline: the shared network trained on source labels alone."""

from __future__ import annotations

from ._base import BaseDAClassifier, BaseDARegressor, store_parameters
from ._docs import shared_parameters
from ._source import SourceNet


@shared_parameters
class SourceOnlyClassifier(BaseDAClassifier):
    """The skuda network trained on labelled source rows only (no adaptation).

    The reference every adaptation method is compared with: same feature
    extractor, head, optimizer, schedules and data path as the adaptive
    estimators, without any target term. It accepts both fit forms and
    ignores target rows in training (they only inform ``input_scaling``), so
    it drops into the same ``Pipeline`` or grid.

    Parameters
    ----------
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(n_src / batch_size)`` iterations,
        at least ``min_iterations_per_epoch``.
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
        Shape of one row as the network sees it; ``(1, length)`` for 2-D
        input to a signal backbone.
    device_ : str
    interrupted_ : bool
        True when a user interrupt (Ctrl-C) ended the last fit early; the
        model is then the one trained so far (see the user guide).
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` holds ``encoder`` and ``head``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``task_loss`` and ``lr``.

    See Also
    --------
    DANNClassifier : The same network with domain-adversarial training.

    Examples
    --------
    >>> from skuda import SourceOnlyClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = SourceOnlyClassifier(max_epochs=5, random_state=0).fit(Xs, ys)
    >>> clf.score(Xs, ys) > 0.7  # overlapping blobs: logistic regression gets 0.82
    True
    """

    _net_class = SourceNet
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
        validation_fraction=None,
        class_weight=None,
        label_smoothing=0.0,
    ):
        store_parameters(self, locals())


@shared_parameters
class SourceOnlyRegressor(BaseDARegressor):
    """The skuda network trained on labelled source rows only, for regression.

    The reference of :class:`DANNRegressor` and :class:`DeepCORALRegressor`:
    the same network, optimizer, schedules and data path, trained with the
    squared error on the source targets (standardised with their source mean
    and standard deviation; ``predict`` returns values in the units of
    ``y``). Integer targets are values, never classes; ``y`` may have several
    columns. It accepts both fit forms (in the stacked form, rows whose ``y``
    is NaN are target rows; they only inform ``input_scaling``).

    Parameters
    ----------
    max_epochs : int, default=100
        Training epochs; one epoch is ``ceil(n_src / batch_size)`` iterations.
    lr : float, default=1e-3
        Initial learning rate.
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
        The trained network; ``net_.module_`` holds ``encoder`` and ``head``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``task_loss`` and ``lr``.

    See Also
    --------
    DANNRegressor : The same network with domain-adversarial training.

    Examples
    --------
    >>> from skuda import SourceOnlyRegressor
    >>> from skuda.datasets import make_shifted_regression
    >>> Xs, ys, Xt, yt = make_shifted_regression(random_state=0)
    >>> reg = SourceOnlyRegressor(max_epochs=20, random_state=0).fit(Xs, ys)
    >>> reg.score(Xs, ys) > 0.8
    True
    """

    _net_class = SourceNet
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
        validation_fraction=None,
        clip_predictions=True,
    ):
        store_parameters(self, locals())
