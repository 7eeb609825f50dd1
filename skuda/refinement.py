"""Target-side refinement: make target predictions consistent with their neighbours.

Any fitted skuda estimator maps rows to features (``transform``) and to class
probabilities. On the target domain those predictions are noisy, but target
rows that sit close together in feature space usually share a class. The
refinement here smooths the predictions over the target rows' neighbourhood
graph (label propagation, Zhou et al., NIPS 2004) or reassigns them to the
nearest class centroid (SHOT's pseudo-labelling, Liang et al., ICML 2020), in
the spirit of manifold regularisation (MEDA) and of ATDOC/SHOT++.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from ._inference import AccuracyScoreMixin
from ._validation import Interval, StrOptions, n_rows, split_stacked
from .pseudo_labels import centroid_pseudo_labels

__all__ = ["RefinedClassifier", "propagate_labels"]


def _unit_rows(Z):
    Z = np.asarray(Z, dtype=np.float64).reshape(len(Z), -1)
    return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)


def propagate_labels(features, proba, *, n_neighbors=10, alpha=0.9, n_iter=30):
    """Smooth class probabilities over the k-nearest-neighbour graph of the rows.

    Builds the symmetric kNN graph of the L2-normalised ``features`` with
    weights ``max(cos, 0) ** 3``, normalises it as ``S = D^-1/2 W D^-1/2``,
    and iterates ``F <- alpha S F + (1 - alpha) P`` from ``F = P``: the
    closed form ``(1 - alpha)(I - alpha S)^-1 P`` of Zhou et al. (NIPS 2004),
    reached to within ``alpha ** n_iter``.

    Parameters
    ----------
    features : array-like of shape (n, d)
    proba : array-like of shape (n, n_classes)
        Initial class probabilities of the same rows.
    n_neighbors : int, default=10
    alpha : float in [0, 1), default=0.9
        How much a row's neighbours count against its own prediction.
    n_iter : int, default=30

    Returns
    -------
    ndarray of shape (n, n_classes)
        Refined probabilities (rows sum to 1).
    """
    Z, P = _unit_rows(features), np.asarray(proba, dtype=np.float64)
    k = min(n_neighbors + 1, len(Z))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors(Z)
    cos = np.clip(1.0 - dist**2 / 2.0, 0.0, None) ** 3  # unit rows: |a-b|^2 = 2-2cos
    rows = np.repeat(np.arange(len(Z)), k)
    W = sp.csr_matrix((cos.ravel(), (rows, idx.ravel())), shape=(len(Z), len(Z)))
    W.setdiag(0.0)
    W = W.maximum(W.T)
    degree = np.asarray(W.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    S = sp.diags(inv_sqrt) @ W @ sp.diags(inv_sqrt)
    F = P.copy()
    for _ in range(n_iter):
        F = alpha * (S @ F) + (1.0 - alpha) * P
    return F / np.maximum(F.sum(axis=1, keepdims=True), 1e-12)


def _centroid_refinement(features, proba):
    labels = centroid_pseudo_labels(
        torch.from_numpy(_unit_rows(features)),
        torch.log(torch.from_numpy(np.clip(proba, 1e-12, None))),
    ).numpy()
    return np.eye(proba.shape[1])[labels]


class RefinedClassifier(
    MetaEstimatorMixin, AccuracyScoreMixin, ClassifierMixin, BaseEstimator
):
    """A domain-adaptation classifier whose target predictions are refined.

    ``fit`` fits a clone of ``estimator`` (either fit form), then refines its
    predictions on the target rows in its feature space (``transform``):

    * ``method="propagation"``: label propagation over the target rows'
      k-nearest-neighbour graph (:func:`propagate_labels`);
    * ``method="centroid"``: each target row takes the class of its nearest
      class centroid by cosine distance (SHOT's pseudo-labels,
      :func:`skuda.pseudo_labels.centroid_pseudo_labels`);
    * ``method=None``: no refinement (the estimator's own predictions).

    New rows are predicted from the refined target rows: the similarity-weighted
    mean of the refined probabilities of their ``n_neighbors`` nearest target
    rows in feature space. No label of the target is used.

    Parameters
    ----------
    estimator : fitted-able skuda estimator (with ``transform``)
    method : {"propagation", "centroid"} or None, default="propagation"
    n_neighbors : int, default=10
        Neighbours in the propagation graph and for predicting new rows.
    alpha : float, default=0.9
        Propagation strength (``method="propagation"``).

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone.
    target_proba_ : ndarray of shape (n_target, n_classes)
        Refined probabilities of the target rows seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> from skuda import DANNClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> from skuda.refinement import RefinedClassifier
    >>> Xs, ys, Xt, yt = make_shifted_blobs(random_state=0)
    >>> clf = RefinedClassifier(DANNClassifier(max_epochs=5, random_state=0))
    >>> clf.fit(Xs, ys, Xt).predict(Xt[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": "no_validation",
        "method": [StrOptions({"propagation", "centroid"}), None],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, estimator, *, method="propagation", n_neighbors=10, alpha=0.9):
        self.estimator = estimator
        self.method = method
        self.n_neighbors = n_neighbors
        self.alpha = alpha

    def fit(self, X, y=None, X_tgt=None, **fit_params):
        """Fit the estimator, then refine its predictions on the target rows.

        Parameters
        ----------
        X, y, X_tgt
            As for the estimator's ``fit`` (three-argument or stacked form).
        **fit_params : dict
            Passed to the estimator's ``fit`` (``sample_weight``, ``domains``).

        Returns
        -------
        self : object
        """
        self._validate_params()
        if X_tgt is None:  # stacked form: the estimator splits it itself
            target = split_stacked(X, y)[2]
            if target is None:
                raise ValueError(
                    "RefinedClassifier needs target rows (label -1 in y, or X_tgt)."
                )
        elif n_rows(X_tgt) == 0:
            raise ValueError("X_tgt is empty: refinement needs target rows.")
        else:
            target = X_tgt
        estimator = clone(self.estimator).fit(X, y, X_tgt, **fit_params)
        features = _unit_rows(estimator.transform(target))
        proba = estimator.predict_proba(target)
        if self.method == "propagation":
            proba = propagate_labels(
                features, proba, n_neighbors=self.n_neighbors, alpha=self.alpha
            )
        elif self.method == "centroid":
            proba = _centroid_refinement(features, proba)
        self.estimator_, self.target_features_, self.target_proba_ = (
            estimator,
            features,
            proba,
        )
        self.classes_ = estimator.classes_
        self.n_features_in_ = estimator.n_features_in_
        return self

    def predict_proba(self, X):
        """Return probabilities from the refined target rows nearest to each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        if self.method is None:
            return self.estimator_.predict_proba(X)
        Z = _unit_rows(self.estimator_.transform(X))
        k = min(self.n_neighbors, len(self.target_features_))
        sim = Z @ self.target_features_.T
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weight = np.clip(np.take_along_axis(sim, nearest, axis=1), 1e-6, None)
        proba = np.einsum("nk,nkc->nc", weight, self.target_proba_[nearest])
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Return the most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def transform(self, X):
        """Return the estimator's learned features of the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_learned_features)
        """
        check_is_fitted(self)
        return self.estimator_.transform(X)
