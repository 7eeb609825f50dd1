"""Label-free hyper-parameter search in one line: :class:`DASearchCV`."""

from __future__ import annotations

import time
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    clone,
    is_regressor,
)
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._inference import AccuracyScoreMixin
from .._task import CLASSIFICATION
from .._validation import check_source_labels, n_rows
from ._base import task_of
from ._reverse import _stack, _stackable_labels
from ._scorers import get_da_scorer
from ._split import StackedDomainSplit

ENSEMBLE = "ensemble"  # the scoring value that selects by ensemble agreement
DEFAULT_GRIDS = {
    "DANNClassifier": {"lambda_": [0.1, 0.3, 1.0]},
    "MCCClassifier": {"mcc_weight": [0.3, 1.0, 3.0]},
    "CDANClassifier": {"lambda_": [0.1, 0.3, 1.0]},
    "DeepCORALClassifier": {"lambda_": [0.3, 1.0, 3.0]},
    "ADDAClassifier": {"adapt_lr": [2e-4, 1e-3], "max_epochs": [10, 40]},
    "SHOTAdapter": {"cls_par": [0.0, 0.3], "adapt_lr": [1e-4, 3e-4]},
    "SourceOnlyClassifier": {"lr": [1e-3, 1e-2]},
    "DANNRegressor": {"lambda_": [0.0, 0.1, 0.3, 1.0]},
    "DeepCORALRegressor": {"lambda_": [0.0, 0.3, 1.0, 3.0]},
    "ADDARegressor": {"max_epochs": [0, 10, 40]},
    "SourceOnlyRegressor": {"lr": [3e-4, 1e-3]},
}
"""Grids searched when ``param_grid=None``, by estimator class name.

Small on purpose (2-4 fits per fold). The adaptation methods search their
adaptation weight with the learning rate at its default (``lr="auto"``): the
information-maximisation scorer rewards confident predictions, and
a larger step gives more confident, not more accurate, ones (Office-Caltech
A->W: with ``lr`` in {1e-3, 1e-2} in the grid it chose 1e-2, 38.3 % on the
target against 46.8 % for the best candidate). Each weight grid spans the
method's default about threefold either way (DANN and CDAN ``lambda_=0.3``,
Deep CORAL ``lambda_=1``, MCC ``mcc_weight=1``; DAN's ``lambda_=3`` is
the top of the CORAL grid). The source-only network, scored
by held-out source accuracy, searches its learning rate. The
regressors' grids hold ``lambda_=0`` (no alignment) so that the search can
decline to adapt: marginal alignment hurts a regressor when the target's
label distribution has shifted (Zhao et al., "On learning invariant
representations for domain adaptation", ICML 2019), and a continuous target
has no class prior to correct it with; their learning rate stays at its
default, since it changes the source fit as much as the adaptation. ADDA's
regressor has no weight: its grid is the length of the adversarial phase,
``max_epochs=0`` (the source model unchanged) included.
"""


def default_grid(estimator):
    """Return the default grid of ``estimator`` (the last step of a Pipeline).

    Parameters
    ----------
    estimator : skuda estimator or Pipeline ending in one

    Returns
    -------
    dict
        Parameter name (prefixed with the step name for a Pipeline) -> values.
    """
    prefix = ""
    if isinstance(estimator, Pipeline):
        prefix = f"{estimator.steps[-1][0]}__"
    estimator = _final_step(estimator)
    grid = DEFAULT_GRIDS.get(type(estimator).__name__)
    if grid is None:
        raise ValueError(
            f"No default grid for {type(estimator).__name__}; pass param_grid "
            f"(default grids exist for {sorted(DEFAULT_GRIDS)})."
        )
    return {prefix + key: list(values) for key, values in grid.items()}


def _final_step(estimator):
    """Return the estimator itself, or the last step of a Pipeline."""
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _fitted_best(search):
    return hasattr(search, "best_estimator_")


def _has_proba(search):
    return not is_regressor(search.estimator) and _fitted_best(search)


class DASearchCV(
    MetaEstimatorMixin, AccuracyScoreMixin, ClassifierMixin, BaseEstimator
):
    """Grid search for domain adaptation, scored without target labels.

    ``DASearchCV(DANNClassifier()).fit(X_src, y_src, X_tgt)`` is the
    ``LogisticRegressionCV`` of skuda: it searches a small default grid of the
    estimator's adaptation weight (or ``param_grid``) and keeps a candidate
    without reading a target label. By default (adaptation classifiers) the
    choice is by ensemble agreement: every candidate is fitted once on all
    rows and the one whose target predictions agree most with the
    candidates' average is kept (``scoring="ensemble"``, below); it had the
    lowest regret against the oracle in a leave-one-dataset-out comparison
    with information maximisation over real and synthetic shifts (user
    guide, "How close to the oracle"). With a scorer instead (a name of
    :func:`~skuda.selection.get_da_scorer` or a callable), every candidate
    is scored on held-out source *and* target rows of
    :class:`StackedDomainSplit` folds and the best is refitted on all rows:
    that path is a :class:`sklearn.model_selection.GridSearchCV` underneath,
    run on the stacked form. ``n_jobs`` and joblib backends (Dask included)
    work on both paths. No target label is read, or can be: the
    three-argument form has none, and in the stacked form every target row
    carries the marker ``-1``.

    Given no target row (stacked labels without ``-1``), it warns and falls
    back to what needs none: candidates train on the source alone (as the
    skuda estimators do then) and are scored by their accuracy on held-out
    source rows of stratified folds, the classical source-risk selection.

    Parameters
    ----------
    estimator : skuda estimator or Pipeline ending in one
        The model to tune (cloned, never fitted itself).
    param_grid : dict or list of dict, default=None
        As for ``GridSearchCV``; None uses :data:`DEFAULT_GRIDS` for the
        estimator's class.
    scoring : str, callable or None, default=None
        ``"ensemble"``, a name of :func:`skuda.selection.get_da_scorer` or a
        scorer ``scorer(estimator, X, y)`` on the stacked form. None:
        ``"ensemble"`` for an adaptation classifier, ``"source_accuracy"``
        (held-out source rows) for :class:`~skuda.SourceOnlyClassifier`,
        which does not adapt, and ``"dev"`` (deep embedded validation on the
        squared error) for a regressor. ``"ensemble"`` selects without folds
        by ensemble agreement (EnsV; Hu, Luo, Liang and Foo, "Towards reliable model
        selection for unsupervised domain adaptation: an empirical study and
        a certified baseline", NeurIPS 2024 Datasets and Benchmarks): every
        candidate is fitted once on all rows, their target predictions are
        averaged (classifiers: the probabilities), and the candidate that
        agrees most with that average is kept (classifiers: the share of
        target rows whose predicted class is the ensemble's; regressors: the
        smallest mean squared distance to the ensemble's mean, scored as its
        negative). One fit per candidate (a scorer needs ``cv`` per
        candidate and one refit); all candidates are held in memory until
        the end.
    cv : int, cross-validator or None, default=None
        Folds of a scorer: an int makes a shuffled :class:`StackedDomainSplit`
        with that many folds (seeded by ``random_state``); None means 3.
        ``scoring="ensemble"`` uses no folds (a ``cv`` given with it is
        ignored, with a warning).
    n_jobs : int, default=None
        Parallel fits, as for ``GridSearchCV``.
    refit : bool, default=True
        Refit the best candidate on all rows (needed for ``predict``).
    error_score : "raise" or float, default=np.nan
        Score of a candidate whose fit fails.
    verbose : int, default=0
    random_state : int or None, default=0
        Seeds the folds of an int ``cv``.

    Attributes
    ----------
    best_params_ : dict
    best_score_ : float
    best_index_ : int
    best_estimator_ : estimator
        Refitted on all rows (``refit=True``).
    cv_results_ : dict
        As for ``GridSearchCV`` (with ``scoring="ensemble"``: ``params``,
        ``param_<name>``, ``mean_test_score`` (the agreement),
        ``std_test_score`` (zeros), ``rank_test_score`` and ``mean_fit_time``).
    n_splits_ : int
        Folds per candidate (1 with ``scoring="ensemble"``: one fit on all
        rows).
    param_grid_ : dict or list of dict
        The grid that was searched.
    classes_ : ndarray of shape (n_classes,)
        Classifiers only.
    n_features_in_ : int

    Notes
    -----
    With a regressor, target rows are marked with NaN in the stacked form
    (``-1`` is a value), ``score`` is R^2 and there is no ``predict_proba``.

    Examples
    --------
    >>> from skuda import DANNClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> from skuda.selection import DASearchCV
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> search = DASearchCV(DANNClassifier(max_epochs=2, random_state=0))
    >>> sorted(search.fit(Xs, ys, Xt).best_params_)
    ['lambda_']
    """

    def __init__(
        self,
        estimator,
        param_grid=None,
        *,
        scoring=None,
        cv=None,
        n_jobs=None,
        refit=True,
        error_score=np.nan,
        verbose=0,
        random_state=0,
    ):
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.cv = cv
        self.n_jobs = n_jobs
        self.refit = refit
        self.error_score = error_score
        self.verbose = verbose
        self.random_state = random_state

    def fit(self, X, y=None, X_tgt=None, *, groups=None, **fit_params):
        """Search the grid, then refit the best candidate on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source rows when ``X_tgt`` is given, else the stacked rows.
        y : array-like of shape (n_samples,)
            Source labels, or stacked labels with ``-1`` for target rows.
            In the three-argument form, any class labels the estimator
            takes (strings, booleans, ``{-1, 1}``): labels that would clash
            with the ``-1`` marker are encoded for the search, and
            ``classes_`` and the predictions use the labels given.
        X_tgt : array-like of shape (n_target, n_features), default=None
            Unlabelled target rows (three-argument form).
        groups : array-like of shape (n_samples,), default=None
            Groups of the rows of ``X`` for the splitter, e.g. the
            ``domains`` with ``cv=LeaveOneDomainOut()`` (or an int ``cv``:
            the folds then keep each source domain together).
        **fit_params : dict
            Passed to the estimator's ``fit`` for the rows of each fold
            (``sample_weight``, ``domains``), as ``GridSearchCV`` does; with
            metadata routing enabled, the estimator must request them
            (``set_fit_request``). In the three-argument form they hold one
            value per source row.

        Returns
        -------
        self : object
        """
        classes = None
        if X_tgt is not None:
            if n_rows(X_tgt) == 0:
                raise ValueError("X_tgt is empty: the search needs target rows.")
            n_tgt = n_rows(X_tgt)
            groups = _pad_target(groups, n_tgt)
            fit_params = {
                k: _pad_target(v, n_tgt, weights=k == "sample_weight")
                for k, v in fit_params.items()
            }
            regression = is_regressor(self.estimator)
            if not regression:
                y = check_source_labels(y, n_rows(X), name="y")
                y, classes = _stackable_labels(y)
            X, y = _stack(X, y, X_tgt, regression=regression)
        if groups is not None:
            fit_params["groups"] = groups
        self._fit_stacked(X, y, X_tgt, fit_params)
        if classes is not None and self.refit:  # labels the stacking encoded
            _final_step(self.best_estimator_).classes_ = classes[self.classes_]
            self.classes_ = self.best_estimator_.classes_
        return self

    def _fit_stacked(self, X, y, X_tgt, fit_params):
        """Search on the stacked rows (``X_tgt``: the target rows, or None)."""
        if y is None:
            raise ValueError(
                "DASearchCV requires y to be passed, but the target y is None "
                "(pass source labels, with -1 (regressors: NaN) for target rows)."
            )
        task = task_of(self.estimator)
        if task is CLASSIFICATION:
            check_classification_targets(y)
        target = bool(np.any(task.stacked_targets(y)[1]))
        if not target:
            warnings.warn(
                f"DASearchCV.fit got no target rows (no label {task.marker} in y): "
                "the candidates train on the source only and are scored on "
                "held-out source rows.",
                UserWarning,
                stacklevel=3,
            )
        self.param_grid_ = (
            default_grid(self.estimator) if self.param_grid is None else self.param_grid
        )
        if target and self._scoring() == ENSEMBLE:
            if self.cv is not None:
                warnings.warn(
                    f"cv={self.cv!r} is not used: scoring='ensemble' (the default "
                    "for adaptation classifiers) fits every candidate once on all "
                    "rows, without folds. Pass scoring='im' (or another scorer) to "
                    "score the candidates on folds.",
                    UserWarning,
                    stacklevel=3,
                )
            fit_params.pop("groups", None)  # no folds to keep groups together
            if X_tgt is None:
                X_tgt = _safe_indexing(X, np.flatnonzero(task.stacked_targets(y)[1]))
            return self._fit_ensemble(X, y, X_tgt, fit_params)
        search = GridSearchCV(
            clone(self.estimator),
            self.param_grid_,
            scoring=self._scorer() if target else "accuracy",
            cv=self._splitter(target),
            n_jobs=self.n_jobs,
            refit=self.refit,
            error_score=self.error_score,
            verbose=self.verbose,
        ).fit(X, y, **fit_params)
        for name in ("cv_results_", "best_index_", "best_params_", "best_score_"):
            setattr(self, name, getattr(search, name))
        self.n_splits_ = search.n_splits_
        if self.refit:
            self._keep(search.best_estimator_)
        return self

    def _keep(self, best):
        """Store the refitted best estimator and what it tells about the data."""
        self.best_estimator_ = best
        if hasattr(best, "classes_"):
            self.classes_ = best.classes_
        self.n_features_in_ = best.n_features_in_

    def _fit_ensemble(self, X, y, X_tgt, fit_params):
        """EnsV: fit every candidate on all rows, keep the one closest to their mean."""
        candidates = list(ParameterGrid(self.param_grid_))
        fits = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_candidate)(
                clone(self.estimator).set_params(**params),
                X,
                y,
                fit_params,
                self.error_score,
            )
            for params in candidates
        )
        if all(est is None for est, _, _ in fits):  # the inputs, most likely
            raise fits[0][2]  # the estimator's own error says what is wrong
        regression = is_regressor(self.estimator)
        outputs = [
            None
            if est is None
            else (est.predict if regression else est.predict_proba)(X_tgt)
            for est, _, _ in fits
        ]
        scores = ensemble_scores(outputs, regression, self.error_score)
        order = np.where(np.isnan(scores), -np.inf, scores)  # failures rank last
        ranks = rankdata(-order, method="min").astype(np.int32)
        self.cv_results_ = _ensemble_results(candidates, scores, ranks, fits)
        self.best_index_ = int(np.argmax(order))
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(scores[self.best_index_])
        self.n_splits_ = 1
        if self.refit:  # fitted on all rows already: the refit of the others
            self._keep(fits[self.best_index_][0])
        return self

    def _scoring(self):
        """``scoring``, or the default for the estimator when it is None."""
        if self.scoring is not None:
            return self.scoring
        if is_regressor(self.estimator):
            return "dev"
        if type(_final_step(self.estimator)).__name__ == "SourceOnlyClassifier":
            return "source_accuracy"  # it does not adapt: its source risk
        return ENSEMBLE  # chosen by leave-one-dataset-out (docs: Model selection)

    def _scorer(self):
        scoring = self._scoring()
        if isinstance(scoring, str):
            return get_da_scorer(scoring)
        return scoring

    def _splitter(self, target=True):
        cv = 3 if self.cv is None else self.cv
        if not isinstance(cv, Integral):
            return cv
        if not target:  # source rows only: the label-free folds cannot apply
            folds = KFold if is_regressor(self.estimator) else StratifiedKFold
            return folds(cv, shuffle=True, random_state=self.random_state)
        return StackedDomainSplit(cv, random_state=self.random_state)

    @available_if(_fitted_best)
    def predict(self, X):
        """Predict with the refitted best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.best_estimator_.predict(X)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Return class probabilities of the refitted best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self.best_estimator_.predict_proba(X)

    @available_if(_fitted_best)
    def transform(self, X):
        """Return the learned features of the refitted best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_learned_features)
        """
        return self.best_estimator_.transform(X)

    def __sklearn_is_fitted__(self):
        """Return whether ``fit`` has run (the search results exist)."""
        return hasattr(self, "cv_results_")

    def __sklearn_tags__(self):
        """Return the tags of the searched estimator, as a meta-estimator does."""
        tags = super().__sklearn_tags__()
        inner = clone(self.estimator).__sklearn_tags__()
        tags.input_tags = inner.input_tags
        tags.non_deterministic = inner.non_deterministic
        tags.estimator_type = inner.estimator_type
        tags.target_tags = inner.target_tags
        return tags

    def score(self, X, y, sample_weight=None):
        """Return the accuracy (a regressor's search: R^2) of ``predict(X)``.

        Plain accuracy or R^2 against ``y``, as for the searched estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if not is_regressor(self.estimator):
            return super().score(X, y, sample_weight=sample_weight)
        check_is_fitted(self)
        return r2_score(y, self.predict(X), sample_weight=sample_weight)


def _fit_candidate(estimator, X, y, fit_params, error_score):
    """Fit one candidate; return ``(estimator or None, seconds, error or None)``."""
    start = time.perf_counter()
    try:
        estimator.fit(X, y, **fit_params)
    except Exception as exc:
        if error_score == "raise":
            raise
        warnings.warn(
            f"DASearchCV: a candidate failed to fit ({type(exc).__name__}: "
            f"{exc}); its score is {error_score}.",
            FitFailedWarning,
            stacklevel=2,
        )
        return None, time.perf_counter() - start, exc
    return estimator, time.perf_counter() - start, None


def ensemble_scores(outputs, regression=False, error_score=np.nan):
    """Score each candidate's agreement with the candidates' mean (EnsV).

    ``outputs`` holds each candidate's target probabilities (regressors: its
    predictions), or None for a candidate that failed (scored
    ``error_score``). Classifiers: the share of rows whose predicted class is
    that of the mean probabilities; regressors: minus the mean squared
    distance to the mean prediction.
    """
    done = [out for out in outputs if out is not None]
    if not done:
        raise ValueError("DASearchCV: every candidate failed to fit; see the warnings.")
    consensus = np.mean(done, axis=0)
    if not regression:
        consensus = consensus.argmax(axis=1)

    def agreement(out):
        if regression:
            return -float(np.mean((np.asarray(out, float) - consensus) ** 2))
        return float(np.mean(out.argmax(axis=1) == consensus))

    return np.array(
        [error_score if out is None else agreement(out) for out in outputs],
        dtype=float,
    )


def _ensemble_results(candidates, scores, ranks, fits):
    """``cv_results_`` of an ensemble selection, in GridSearchCV's layout."""
    results = {
        "params": candidates,
        "mean_test_score": scores,
        "std_test_score": np.zeros(len(scores)),
        "rank_test_score": ranks,
        "mean_fit_time": np.array([seconds for _, seconds, _ in fits]),
    }
    for name in sorted({key for params in candidates for key in params}):
        values = np.ma.MaskedArray(
            np.empty(len(candidates), dtype=object),
            mask=[name not in params for params in candidates],
        )
        for i, params in enumerate(candidates):
            if name in params:
                values[i] = params[name]
        results[f"param_{name}"] = values
    return results


def _pad_target(values, n_tgt, weights=False):
    """Per-source-row ``values`` extended to the stacked rows (None stays None).

    The target rows' entries are not used by skuda; they are 1 for
    ``weights``, else the first source row's value (same dtype, never missing).
    """
    if values is None:
        return None
    values = np.asarray(values)
    if values.ndim != 1 or len(values) == 0:
        return values  # the estimator's checks say what is wrong
    fill = 1 if weights else values[0]
    return np.concatenate([values, np.full(n_tgt, fill, dtype=values.dtype)])
