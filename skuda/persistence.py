"""Save and load fitted estimators without pickle.

``pickle`` (and ``joblib``) files run code when they are loaded, so a model
file from elsewhere is as dangerous as a script from elsewhere. :func:`save`
writes a zip archive that loads without running any: the network weights and
optimizer states as ``torch.save`` state dicts (read back with
``torch.load(weights_only=True)``), the input scaling statistics as ``.npy``
files (read with ``allow_pickle=False``), and parameters, classes, input shape,
training history and versions as JSON. :func:`load` rebuilds the estimator
from its parameters, rebuilds its network from them, and loads the weights.

What a file cannot hold is code: a torch module passed as
``feature_extractor`` or a ``(feature_extractor, classifier)`` pair passed as
``source_estimator`` is stored as weights only, and :func:`load` needs the
module (or pair) again, as ``params={"feature_extractor": MyNet()}``. A fitted
skuda estimator given as ``source_estimator`` is saved with the model, in the
same archive. Callbacks of classes outside torch/skorch/skuda are left out
(with a warning on load); they only act during training.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
import warnings
import zipfile

import numpy as np
import sklearn
import skorch
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from . import __version__
from ._base import BaseDAEstimator
from ._codec import Unsaved, class_path, decode, encode, import_class
from ._device import resolve_device, seeded
from ._net import DANet

__all__ = ["FORMAT", "load", "save"]

FORMAT = 1
"""Version of the archive layout; :func:`load` reads this one only."""

_META = "skuda.json"
_ARCHITECTURE = ("feature_extractor", "source_estimator")
"""Parameters without which the network cannot be rebuilt."""


def save(estimator, path):
    """Save a fitted skuda estimator to ``path``, safely loadable with :func:`load`.

    The file (a zip archive; any name) is written to a temporary file first
    and then renamed, so an interrupted save never leaves a truncated file.

    Parameters
    ----------
    estimator : fitted skuda estimator
    path : str or os.PathLike

    Examples
    --------
    >>> import tempfile, os
    >>> from skuda import SourceOnlyClassifier
    >>> from skuda.datasets import make_shifted_blobs
    >>> from skuda.persistence import load, save
    >>> Xs, ys, Xt, _ = make_shifted_blobs(random_state=0)
    >>> clf = SourceOnlyClassifier(max_epochs=2, random_state=0).fit(Xs, ys)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skuda")
    >>> save(clf, path)
    >>> (load(path).predict_proba(Xt) == clf.predict_proba(Xt)).all()
    np.True_
    """
    if not isinstance(estimator, BaseDAEstimator) or not class_path(type(estimator)):
        raise TypeError(
            "save takes one of skuda's estimators (a class defined in skuda); got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    members = {}
    record = _record(estimator, "", members)
    meta = {"format": FORMAT, "versions": _versions(), "estimator": record}
    members[_META] = json.dumps(meta, indent=1).encode()
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".skuda-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w") as archive:
                for name, data in members.items():
                    archive.writestr(name, data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it an existing file's mode
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path, *, device=None, params=None):
    """Load an estimator saved by :func:`save`; no pickle, no code is run.

    Parameters
    ----------
    path : str or os.PathLike
    device : str or torch.device, default=None
        Where to put the network (``map_location``): ``"cpu"``, ``"cuda"``,
        ``"auto"`` (CUDA when available). None: the device it was fitted on,
        or the CPU (with a warning) when that is CUDA and CUDA is missing.
    params : dict, default=None
        Values for parameters the file could not hold (a module given as
        ``feature_extractor``, a module pair or foreign model given as
        ``source_estimator``, a custom optimizer class, ...); they replace the
        stored ones.

    Returns
    -------
    estimator
        The fitted estimator; ``predict_proba`` gives bit-identical results on
        the same device.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is damaged (e.g. truncated), not a skuda model, written by an
        incompatible skuda version, or needs ``params`` it was not given.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise _damaged(path, exc) from None
    with archive:
        try:
            meta = json.loads(archive.read(_META))
        except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
            raise _damaged(path, exc) from None
        _check_versions(path, meta)
        reader = _Reader(archive, path, device, params or {})
        try:
            return reader.estimator(meta["estimator"], top=True)
        except (KeyError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
            raise _damaged(path, exc) from exc


# -- writing --------------------------------------------------------------------------
def _record(estimator, prefix, members):
    """Return the JSON record of an estimator; arrays and weights go to members."""

    def nested(est, key):
        return _record(est, f"{prefix}{key}/", members)

    params = {
        key: encode(value, lambda est, key=key: nested(est, key), key)
        for key, value in estimator.get_params(deep=False).items()
    }
    net = estimator.net_
    fitted = {}
    for name in _fitted_attributes(estimator):
        value = getattr(estimator, name)
        if value is net.history:
            fitted[name] = {"__net_history__": True}
        elif isinstance(value, History):
            fitted[name] = {"__history__": _history_json(value)}
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            members[f"{prefix}{name}.npy"] = _npy_bytes(value)
            fitted[name] = {"__npy__": f"{prefix}{name}.npy"}
        else:
            fitted[name] = encode(value, _no_nested)
    weights = {
        "module": net.module_.state_dict(),
        "optimizers": {n: getattr(net, n + "_").state_dict() for n in net._optimizers},
    }
    members[f"{prefix}weights.pt"] = _torch_bytes(weights)
    net_params = {
        key: encode(value, _no_nested, key)
        for key, value in net.get_params(deep=False).items()
        if key != "module" and not key.startswith("_")
    }
    net_record = {
        "class": class_path(type(net)),
        "params": net_params,
        "history": _history_json(net.history),
    }
    return {
        "class": class_path(type(estimator)),
        "params": params,
        "fitted": fitted,
        "net": net_record,
        "weights": f"{prefix}weights.pt",
    }


def _no_nested(value):
    raise TypeError(f"cannot store a {type(value).__name__} here.")


def _fitted_attributes(estimator):
    params = estimator.get_params(deep=False)
    return sorted(
        name
        for name in vars(estimator)
        if name.endswith("_")
        and not name.startswith("_")
        and name not in params
        and name != "net_"
    )


def _history_json(history):
    def plain(value):
        if isinstance(value, (torch.Tensor, np.generic)):
            return value.item() if value.ndim == 0 else value.tolist()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(list(history))


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _torch_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _versions():
    return {
        "skuda": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


# -- reading --------------------------------------------------------------------------
def _damaged(path, exc):
    return ValueError(
        f"{os.fspath(path)!r} is not a readable skuda model file: it is damaged "
        f"(e.g. truncated) or not written by skuda.persistence.save ({exc!r})."
    )


def _check_versions(path, meta):
    fmt = meta.get("format") if isinstance(meta, dict) else None
    saved = str((meta.get("versions") or {}).get("skuda")) if fmt else "?"
    if fmt != FORMAT or saved.split(".")[:2] != __version__.split(".")[:2]:
        raise ValueError(
            f"{os.fspath(path)!r} was written by skuda {saved} (file format {fmt}); "
            f"this is skuda {__version__} (format {FORMAT}), which reads files of "
            "the same major.minor version only. Load it with that version and "
            "refit, or install it (pip install skuda==<version>)."
        )


class _Reader:
    """Rebuilds the estimators of one archive on one device."""

    def __init__(self, archive, path, device, overrides):
        self.archive, self.path = archive, path
        self.device, self.overrides = device, overrides

    def estimator(self, record, top=False):
        cls = import_class(record["class"], BaseDAEstimator)
        overrides = self.overrides if top else {}
        unknown = sorted(set(overrides) - set(record["params"]))
        if unknown:
            raise ValueError(
                f"params has {unknown}, which are not parameters of {cls.__name__}."
            )
        params = {
            key: overrides[key] if key in overrides else self._param(key, value, top)
            for key, value in record["params"].items()
        }
        estimator = cls(**params)
        fitted = record["fitted"]
        for name, value in fitted.items():
            if not (isinstance(value, dict) and "__net_history__" in value):
                setattr(estimator, name, self._fitted(value))
        estimator.device_ = self._device(estimator.device_)
        net = self._net(estimator, record, overrides)
        estimator.net_ = net
        for name, value in fitted.items():
            if isinstance(value, dict) and "__net_history__" in value:
                setattr(estimator, name, net.history)
        return estimator

    def _param(self, key, value, top):
        value = decode(value, self.estimator, key)
        if key == "callbacks" and isinstance(value, list):
            return self._known_callbacks(value, "callbacks")
        return self._unsaved(key, value, top)

    def _unsaved(self, key, value, top):
        """``value``, unless it was not stored: then raise, naming ``params``."""
        if isinstance(value, Unsaved):
            where = "" if top else " of the saved source_estimator"
            hint = (
                f'params={{"{key}": ...}}'
                if top
                else 'params={"source_estimator": <the fitted source estimator>}'
            )
            raise ValueError(
                f"{os.fspath(self.path)!r}: the parameter {key}{where} was a "
                f"{value.kind}, whose code a model file cannot hold safely; pass it "
                f"again: load(path, {hint})."
            )
        return value

    def _known_callbacks(self, callbacks, where):
        kept = [
            cb
            for cb in callbacks
            if not isinstance(cb, Unsaved)
            and not (isinstance(cb, tuple) and isinstance(cb[-1], Unsaved))
        ]
        if len(kept) < len(callbacks):
            warnings.warn(
                f"{len(callbacks) - len(kept)} callback(s) in {where} of a class "
                "outside torch/skorch/skuda were not saved and are left out; pass "
                'params={"callbacks": [...]} to load to set them again.',
                UserWarning,
                stacklevel=5,
            )
        return kept

    def _fitted(self, value):
        if isinstance(value, dict) and "__npy__" in value:
            data = io.BytesIO(self.archive.read(value["__npy__"]))
            return np.load(data, allow_pickle=False)
        if isinstance(value, dict) and "__history__" in value:
            return History(value["__history__"])
        return decode(value, self.estimator)

    def _device(self, saved):
        if self.device is not None:
            return resolve_device(self.device)
        if torch.device(saved).type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"The model was fitted on {saved}, but CUDA is not available here: "
                "it is loaded on the CPU (device_='cpu').",
                UserWarning,
                stacklevel=4,
            )
            return "cpu"
        return saved

    def _net(self, estimator, record, overrides):
        net_record = record["net"]
        cls = import_class(net_record["class"], DANet)
        params = {}
        for key, value in net_record["params"].items():
            value = decode(value, self.estimator, key)
            if key == "callbacks":
                value = self._known_callbacks(value, "the network")
            elif isinstance(value, Unsaved) and key in overrides:  # e.g. optimizer
                value = overrides[key]
            params[key] = self._unsaved(key, value, bool(overrides))
        params["device"] = estimator.device_
        with seeded(0, "cpu"):  # building draws initial weights; keep the RNG
            net = cls(estimator._blank_network(), **params).initialize()
        try:
            state = torch.load(
                io.BytesIO(self.archive.read(record["weights"])),
                map_location=estimator.device_,
                weights_only=True,
            )
        except (RuntimeError, pickle.UnpicklingError) as exc:
            raise _damaged(self.path, exc) from None
        try:
            net.module_.load_state_dict(state["module"])
            for name, opt_state in state["optimizers"].items():
                getattr(net, name + "_").load_state_dict(opt_state)
        except (RuntimeError, ValueError, AttributeError) as exc:
            raise ValueError(
                f"{os.fspath(self.path)!r}: the saved weights do not fit the "
                f"network rebuilt from the parameters (was a different "
                f"{' or '.join(_ARCHITECTURE)} passed?): {exc}"
            ) from None
        net.history = History(net_record.get("history", []))
        return net
