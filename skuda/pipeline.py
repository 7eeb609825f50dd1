"""Pipelines that pass the target rows through their preprocessing steps.

A plain :class:`~sklearn.pipeline.Pipeline` handles skuda's *stacked* form,
``fit(X, y)`` with target rows labelled ``-1``: every step sees all rows. The
three-argument form ``fit(X_src, y_src, X_tgt)`` needs more: the preceding
steps must transform ``X_tgt`` too before the final estimator sees it. Passing
``dannclassifier__X_tgt=X_tgt`` to a plain ``Pipeline.fit`` gives the estimator
the *raw* target rows (an error with a ``ColumnTransformer``, silently wrong
results with numeric steps), so use one of:

* :func:`make_da_pipeline` / :class:`DAPipeline` (below): ``fit(X_src, y_src,
  X_tgt)`` fits the preceding steps on the source and target rows stacked --
  the rows they see in the stacked form, so both forms mean the same -- and
  hands the final estimator the transformed domains.
* scikit-learn's metadata routing: with
  ``sklearn.set_config(enable_metadata_routing=True)``,
  ``Pipeline(steps, transform_input=["X_tgt"])`` and
  ``estimator.set_fit_request(X_tgt=True)``, ``fit(X_src, y_src,
  X_tgt=X_tgt)`` fits the preceding steps on the *source* rows only and
  transforms ``X_tgt`` with them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline

from ._validation import n_rows

__all__ = ["DAPipeline", "make_da_pipeline"]


class DAPipeline(Pipeline):
    """A ``Pipeline`` whose ``fit`` also takes the unlabelled target rows.

    ``fit(X_src, y_src, X_tgt)`` fits every step before the last on the rows
    of both domains stacked (source first), without labels, as in the stacked
    form ``fit(X, y)``, where they also see every row; then it fits the final
    skuda estimator with ``fit(Z_src, y_src, Z_tgt)``, the two domains
    transformed by those steps. Without ``X_tgt`` it is a plain ``Pipeline``
    (the stacked form, or a source-free ``SHOTAdapter`` fit on target rows).
    ``predict``, ``transform``, ``score``, ``set_output``, ``GridSearchCV`` on
    the stacked form: all as for ``Pipeline``.

    Preprocessing that needs labels (``SelectKBest``, ``TargetEncoder``)
    cannot be fitted on unlabelled target rows: it gets ``y=None`` here. The
    ``memory`` cache is not used by the three-argument form.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As for :class:`~sklearn.pipeline.Pipeline`; the last step is a skuda
        estimator.
    transform_input : list of str, default=None
        As for :class:`~sklearn.pipeline.Pipeline` (metadata routing).
    memory : str or object with the joblib.Memory interface, default=None
        As for :class:`~sklearn.pipeline.Pipeline` (stacked form only).
    verbose : bool, default=False
        As for :class:`~sklearn.pipeline.Pipeline`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from skuda import DANNClassifier
    >>> from skuda.pipeline import make_da_pipeline
    >>> rng = np.random.default_rng(0)
    >>> def table(n, shift):
    ...     return pd.DataFrame({"x": rng.normal(shift, 1, n),
    ...                          "kind": rng.choice(["a", "b"], n)})
    >>> X_src, X_tgt = table(40, 0.0), table(30, 2.0)
    >>> y_src = (X_src["x"] > 0).astype(int)
    >>> pre = make_column_transformer((StandardScaler(), ["x"]),
    ...                               (OneHotEncoder(), ["kind"]))
    >>> pipe = make_da_pipeline(pre, DANNClassifier(max_epochs=2, random_state=0))
    >>> pipe.fit(X_src, y_src, X_tgt).predict(X_tgt).shape
    (30,)
    """

    def fit(self, X, y=None, X_tgt=None, **params):
        """Fit the steps on both domains, then the final estimator on both.

        Parameters
        ----------
        X : array-like or DataFrame
            Source rows (with ``X_tgt``), else whatever ``Pipeline.fit`` takes.
        y : array-like, default=None
            Source labels (with ``X_tgt``), else as for ``Pipeline.fit``.
        X_tgt : array-like or DataFrame, default=None
            Unlabelled target rows, in the format of ``X``. Also accepted as
            ``<last step name>__X_tgt``.
        **params : dict
            Fit parameters of the steps, as ``<step name>__<parameter>``.

        Returns
        -------
        self : DAPipeline
        """
        last_name = self.steps[-1][0]
        X_tgt = _one_target(X_tgt, params.pop(f"{last_name}__X_tgt", None))
        if X_tgt is None:
            return super().fit(X, y, **params)
        step_params = _params_by_step(params, [name for name, _ in self.steps])
        n_src = n_rows(X)
        Z = self._fit_preceding(_stack_rows(X, X_tgt), step_params)
        last = self.steps[-1][1]
        if last is not None and last != "passthrough":
            Z_src, Z_tgt = _take(Z, slice(0, n_src)), _take(Z, slice(n_src, None))
            last.fit(Z_src, y, Z_tgt, **step_params[last_name])
        return self

    def fit_transform(self, X, y=None, X_tgt=None, **params):
        """Fit (either form), then transform ``X`` through every step.

        Parameters
        ----------
        X, y, X_tgt, **params
            As for :meth:`fit`.

        Returns
        -------
        ndarray or DataFrame
            The final step's ``transform`` of the rows of ``X``.
        """
        if X_tgt is None and f"{self.steps[-1][0]}__X_tgt" not in params:
            return super().fit_transform(X, y, **params)
        return self.fit(X, y, X_tgt, **params).transform(X)

    def _fit_preceding(self, Z, step_params):
        """Fit clones of the steps before the last on ``Z`` (no labels); return Z."""
        for i, (name, step) in enumerate(self.steps[:-1]):
            if step is None or step == "passthrough":
                continue
            if not hasattr(step, "fit_transform"):
                raise TypeError(
                    f"Step {name!r} ({type(step).__name__}) has no fit_transform; "
                    "every step before the last must be a transformer."
                )
            fitted = clone(step)
            Z = fitted.fit_transform(Z, None, **step_params[name])
            self.steps[i] = (name, fitted)
        return Z


def make_da_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build a :class:`DAPipeline` from estimators, naming them automatically.

    As :func:`sklearn.pipeline.make_pipeline`, for a pipeline whose ``fit``
    also takes the target rows: ``fit(X_src, y_src, X_tgt)``.

    Parameters
    ----------
    *steps : list of estimators
        Transformers, then a skuda estimator.
    memory, transform_input, verbose
        As for :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    DAPipeline
    """
    pipe = make_pipeline(*steps, memory=memory, transform_input=transform_input)
    return DAPipeline(
        pipe.steps, memory=memory, transform_input=transform_input, verbose=verbose
    )


def _one_target(X_tgt, routed):
    if X_tgt is not None and routed is not None:
        raise ValueError("X_tgt was given twice: as X_tgt and as a fit parameter.")
    return X_tgt if X_tgt is not None else routed


def _params_by_step(params, names):
    """``{step name: {param: value}}`` from ``<step>__<param>`` keys."""
    by_step = {name: {} for name in names}
    for key, value in params.items():
        step, sep, param = key.partition("__")
        if not sep or step not in by_step:
            raise ValueError(
                f"Fit parameter {key!r} is not of the form <step name>__<parameter> "
                f"with a step of this pipeline ({names})."
            )
        by_step[step][param] = value
    return by_step


def _stack_rows(X, X_tgt):
    """Stack the rows of ``X`` and then ``X_tgt``, in ``X``'s container type."""
    if hasattr(X, "iloc"):
        import pandas as pd

        if not hasattr(X_tgt, "iloc"):
            raise TypeError(
                "X is a DataFrame, so X_tgt must be one too (with the same "
                f"columns); got {type(X_tgt).__name__}."
            )
        return pd.concat([X, X_tgt], axis=0, ignore_index=True)
    if sp.issparse(X):
        return sp.vstack([X, X_tgt], format="csr")
    return np.concatenate([np.asarray(X), np.asarray(X_tgt)])


def _take(Z, rows):
    if hasattr(Z, "iloc"):
        return Z.iloc[rows]
    return Z[rows]
