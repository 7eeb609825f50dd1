"""Parameters and fitted values as JSON, for :mod:`skuda.persistence`.

JSON values stay as they are; anything else becomes a one-key tagged object
(``{"__tuple__": [...]}``, ``{"__class__": "torch.optim.adam:Adam"}``, ...).
Decoding never unpickles and imports classes only from torch, skorch,
scikit-learn and skuda, each checked to be of the kind its key needs. A value
that cannot be stored that way -- a user's torch module, a function, a
``RandomState`` -- is written as ``{"__unsaved__": "<type name>"}`` and decoded
as :class:`Unsaved`, for the loader to replace.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from skorch.callbacks import Callback
from torch.utils.data import DataLoader, Dataset

_ROOTS = frozenset({"torch", "skorch", "sklearn", "skuda"})
"""Packages whose classes a saved file may name."""

_CLASS_KINDS = {
    "optimizer": torch.optim.Optimizer,
    "criterion": torch.nn.Module,
    "iterator_train": DataLoader,
    "iterator_valid": DataLoader,
    "dataset": Dataset,
}
"""Parameters whose value may be a class, and what it must subclass."""


class Unsaved:
    """Stands for a value that was not stored (see the module docstring)."""

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"<unsaved {self.kind}>"


def class_path(cls):
    """``"module:qualname"`` of ``cls`` if a saved file may name it, else None."""
    module, name = getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")
    if module.split(".")[0] not in _ROOTS or "<" in name:
        return None
    return f"{module}:{name}"


def import_class(path, base):
    """Import the class at ``path`` (from :func:`class_path`).

    ValueError unless it is a subclass of ``base`` in an allowed package.
    """
    module, _, name = str(path).partition(":")
    if module.split(".")[0] not in _ROOTS or not name:
        raise ValueError(
            f"refusing to import {path!r}: not a torch/skorch/skuda class."
        )
    try:
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"class {path!r} is not available here: {exc}") from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise ValueError(f"{path!r} is not a {base.__name__} class.")
    return obj


def encode(value, nested, key=None):
    """``value`` as JSON; ``nested(estimator)`` returns the record of a skuda one."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        items = [encode(v, nested) for v in value]
        if key != "callbacks" and any(_unsaved(v) for v in items):
            return {"__unsaved__": f"{type(value).__name__} of modules or objects"}
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, nested, k) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        return {"__array__": encode(value.tolist(), nested), "dtype": value.dtype.str}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, type) and class_path(value) and key in _CLASS_KINDS:
        return {"__class__": class_path(value)}
    if isinstance(value, FrozenEstimator) and hasattr(value.estimator, "net_"):
        return {"__frozen__": nested(value.estimator)}
    if hasattr(value, "_blank_network") and hasattr(value, "net_"):
        return {"__estimator__": nested(value)}
    if isinstance(value, Callback) and class_path(type(value)):
        params = _init_arguments(value)
        if params is not None:
            params = {k: encode(v, nested, k) for k, v in params.items()}
            if not any(_unsaved(v) for v in params.values()):
                return {"__object__": class_path(type(value)), "params": params}
    return {"__unsaved__": type(value).__name__}


def _init_arguments(obj):
    """Return the named ``__init__`` arguments of ``obj`` as stored, or None."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = list(inspect.signature(type(obj).__init__).parameters.values())[1:]
    if any(p.kind not in named for p in params):
        return None
    if not all(hasattr(obj, p.name) for p in params):
        return None
    return {p.name: getattr(obj, p.name) for p in params}


def _unsaved(obj):
    if isinstance(obj, dict):
        return "__unsaved__" in obj or any(_unsaved(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_unsaved(v) for v in obj)
    return False


def decode(obj, nested, key=None):
    """Inverse of :func:`encode`; ``nested(record)`` loads a skuda estimator."""
    if isinstance(obj, list):
        return [decode(v, nested) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = next(iter(obj), None)
    if tag == "__tuple__":
        return tuple(decode(v, nested) for v in obj[tag])
    if tag == "__dict__":
        return {k: decode(v, nested, k) for k, v in obj[tag].items()}
    if tag == "__array__":
        return np.array(decode(obj[tag], nested), dtype=np.dtype(str(obj["dtype"])))
    if tag == "__device__":
        return torch.device(obj[tag])
    if tag == "__class__":
        if key not in _CLASS_KINDS:
            raise ValueError(f"a class is not a valid value of {key!r}.")
        return import_class(obj[tag], _CLASS_KINDS[key])
    if tag == "__frozen__":
        return FrozenEstimator(nested(obj[tag]))
    if tag == "__estimator__":
        return nested(obj[tag])
    if tag == "__object__":
        cls = import_class(obj[tag], Callback)
        return cls(**{k: decode(v, nested, k) for k, v in obj["params"].items()})
    if tag == "__unsaved__":
        return Unsaved(obj[tag])
    raise ValueError(f"unknown tag {tag!r}.")
