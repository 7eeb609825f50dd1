"""The scorer protocol: a scikit-learn scorer on the stacked form."""

from __future__ import annotations

from .._validation import split_stacked


class _DAScorer:
    """Base: split the stacked form, hand the domains to ``score_domains``."""

    def __call__(self, estimator, X, y, sample_weight=None):
        X_src, y_src, X_tgt = split_stacked(X, y)
        if X_tgt is None:
            raise ValueError(
                f"{type(self).__name__} needs target rows (label -1) in the rows it "
                "scores; use skuda.selection.StackedDomainSplit as cv so that every "
                "validation fold holds some."
            )
        return float(self.score_domains(estimator, X_src, y_src, X_tgt))

    def score_domains(self, estimator, X_src, y_src, X_tgt):
        """Score ``estimator`` from labelled source and unlabelled target rows.

        Parameters
        ----------
        estimator : fitted classifier
        X_src : array-like of shape (n_source, ...)
        y_src : array-like of shape (n_source,)
        X_tgt : array-like of shape (n_target, ...)

        Returns
        -------
        float
            Higher is better.
        """
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"
