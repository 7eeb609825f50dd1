"""Building networks from an estimator's parameters: encoders and their sizes."""

from __future__ import annotations

import copy
from numbers import Integral

import numpy as np
import torch

from .modules import MLP
from .modules.conv import BACKBONES


def build_encoder(estimator, input_shape):
    """Build a fresh encoder: a named signal backbone, a module's copy, or the MLP.

    Reads ``feature_extractor``, ``feature_extractor_kwargs``,
    ``hidden_layer_sizes``, ``dropout`` and ``batch_norm`` of ``estimator``.
    """
    fe, kwargs = estimator.feature_extractor, estimator.feature_extractor_kwargs
    if kwargs is not None and not isinstance(fe, str):
        raise ValueError(
            "feature_extractor_kwargs configures a named backbone "
            f"({sorted(BACKBONES)}); feature_extractor is {type(fe).__name__}."
        )
    if isinstance(fe, str):
        return signal_backbone(fe, kwargs or {}, input_shape)
    if fe is not None:
        return copy.deepcopy(fe)
    if len(input_shape) != 1:
        raise ValueError(
            "The default MLP takes 2-D input (n_samples, n_features); got "
            f"samples of shape {input_shape}. Use feature_extractor='wdcnn' or "
            "'cnn1d' for signals, or flatten each row."
        )
    return MLP(
        input_shape[0],
        hidden_layer_sizes=check_sizes(
            estimator.hidden_layer_sizes, "hidden_layer_sizes"
        ),
        dropout=estimator.dropout,
        batch_norm=estimator.batch_norm,
    )


def signal_backbone(name, kwargs, input_shape):
    """Build the backbone ``name`` for samples of shape (channels, length)."""
    channels, length = input_shape
    try:
        module = BACKBONES[name](channels, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"feature_extractor_kwargs={kwargs!r} does not fit feature_extractor="
            f"{name!r}: {exc}"
        ) from exc
    if length < module.min_length:
        raise ValueError(
            f"feature_extractor={name!r} needs signals of length >= "
            f"{module.min_length}; got length {length}."
        )
    return module


def check_sizes(sizes, name, *, allow_empty=False):
    """``sizes`` as a tuple of positive ints; ValueError naming ``name`` if not."""
    sizes = tuple(sizes)
    if (not sizes and not allow_empty) or not all(
        isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes
    ):
        raise ValueError(
            f"{name} must be a{'' if allow_empty else ' non-empty'} sequence of "
            f"positive ints; got {sizes!r}."
        )
    return sizes


def output_size(encoder, input_shape):
    """Feature size of ``encoder``: ``out_features`` or a dry run on two rows."""
    size = getattr(encoder, "out_features", None)
    if isinstance(size, Integral):
        return int(size)
    out = dry_run(encoder, input_shape, what="feature_extractor")
    return int(np.prod(out.shape[1:]))


def dry_run(module, input_shape, *, what):
    """Return ``module``'s output on two zero rows of ``input_shape``, in eval mode.

    Leaves the module's train/eval mode as it was; a failure becomes a
    ValueError naming ``what``.
    """
    param = next(module.parameters(), None)
    device = param.device if param is not None else "cpu"
    modes = [m.training for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            return module(torch.zeros((2, *input_shape), device=device))
    except Exception as exc:
        raise ValueError(
            f"{what} failed on input of shape (2, *{tuple(input_shape)}): {exc}"
        ) from exc
    finally:
        for m, mode in zip(module.modules(), modes, strict=True):
            m.training = mode
