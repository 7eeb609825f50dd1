"""Per-row fit metadata: sample weights, class weights and source domains.

``fit(..., sample_weight=, domains=)`` give one value per row: per source row
in the three-argument form, per stacked row in the stacked form (the entries of
target rows are checked, then dropped: see :func:`source_part`). Everything
here is checked on the host, before any training, with messages naming the
argument.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils import column_or_1d


def as_1d(values, name, n_expected, what):
    """``values`` as a 1-D NumPy array of ``n_expected`` entries, or ValueError."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        values = column_or_1d(values, warn=False)
    except ValueError:
        raise ValueError(
            f"{name} must be 1-D (one value per {what}); got shape {np.shape(values)}."
        ) from None
    if len(values) != n_expected:
        raise ValueError(
            f"{name} has {len(values)} values but there are {n_expected} "
            f"{what}s; they must match."
        )
    return values


def check_sample_weight(sample_weight, n_rows, *, what="source row"):
    """Validate ``sample_weight``: one finite, non-negative number per row.

    A scalar gives every row that weight. Returns a float64 array.
    """
    if isinstance(sample_weight, numbers.Number) and not isinstance(
        sample_weight, bool
    ):
        sample_weight = np.full(n_rows, sample_weight, dtype=np.float64)
    w = as_1d(sample_weight, "sample_weight", n_rows, what)
    if w.dtype.kind not in "iuf" or w.dtype.kind == "b":
        raise ValueError(f"sample_weight must hold numbers; got dtype {w.dtype}.")
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(w < 0):
        raise ValueError(
            f"sample_weight must be non-negative; got {w.min()!r} (at row "
            f"{int(np.argmin(w))})."
        )
    return w


def source_part(values, is_target):
    """Return the source rows' entries of a stacked per-row array (or None)."""
    return None if values is None else values[~is_target]


def row_weights(sample_weight, class_weight, classes, y_idx):
    """Weight of each source row: ``sample_weight * class_weight[y]``, or None.

    None when neither is given (the unweighted, bit-identical path).
    ``class_weight="balanced"`` gives class ``k`` the weight
    ``n_src / (n_classes * n_k)`` from the source label counts (as
    scikit-learn's ``compute_class_weight``); a dict maps labels to weights
    (missing classes get 1).
    """
    if sample_weight is None and class_weight is None:
        return None
    w = np.ones(len(y_idx)) if sample_weight is None else sample_weight.copy()
    if class_weight is not None:
        w *= class_weights(class_weight, classes, y_idx)[y_idx]
    if not np.any(w > 0):
        raise ValueError(
            "sample_weight (times class_weight) is zero for every source row: "
            "nothing would be learnt from the labels. Give some source row a "
            "positive weight."
        )
    return w


def class_weights(class_weight, classes, y_idx):
    """One weight per class of ``classes`` (``y_idx`` indexes them)."""
    if isinstance(class_weight, str):  # "balanced" (the constraint checked it)
        counts = np.bincount(y_idx, minlength=len(classes))
        return len(y_idx) / (len(classes) * counts)
    unknown = [label for label in class_weight if label not in set(classes.tolist())]
    if unknown:
        raise ValueError(
            f"class_weight has weights for {unknown!r}, which are not classes of "
            f"the source labels (classes: {classes.tolist()!r})."
        )
    weights = np.array([class_weight.get(c, 1.0) for c in classes.tolist()])
    if weights.dtype.kind not in "iuf" or not np.all(np.isfinite(weights)):
        raise ValueError("class_weight values must be finite numbers.")
    if np.any(weights < 0):
        raise ValueError("class_weight values must be non-negative.")
    return weights.astype(np.float64)


def check_domains(domains, n_rows, *, what="source row"):
    """Validate ``domains``: one domain label per row, none missing.

    Returns the labels as a 1-D array. The domains are the labels that rows
    have: a pandas categorical's unused categories are not domains (a
    cross-validation fold may lack a declared domain), so no domain, and no
    output of DANN's discriminator, is ever without rows.
    """
    if hasattr(domains, "cat") or hasattr(domains, "categories"):
        domains = np.asarray(domains, dtype=object)  # the values, not the codes
    d = as_1d(domains, "domains", n_rows, what)
    if _has_missing(d):
        raise ValueError(
            "domains contains missing values (NaN or None); give every row a "
            "domain label."
        )
    return d


def _has_missing(d):
    if d.dtype.kind == "f":
        return bool(np.isnan(d).any())
    if d.dtype.kind == "O":
        return any(v is None or (isinstance(v, float) and v != v) for v in d)
    return False


def encode_domains(d_src):
    """Source domain labels ``d_src`` as ``(labels, codes 0..K-1)``, or Nones."""
    if d_src is None:
        return None, None
    try:
        labels, codes = np.unique(d_src, return_inverse=True)
    except TypeError:
        raise ValueError(
            "domains mixes label types that cannot be compared (e.g. str and "
            "int); use one type."
        ) from None
    return labels, codes
