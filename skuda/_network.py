"""Building networks from an estimator's parameters: encoders and their sizes."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch

from ._device import resolve_device
from .modules import MLP
from .modules.conv import BACKBONES
from .modules.conv2d import IMAGE_BACKBONES


def build_encoder(estimator, input_shape):
    """Build a fresh encoder: named backbone, module class, module copy, or MLP.

    Reads ``feature_extractor``, ``feature_extractor_kwargs``,
    ``hidden_layer_sizes``, ``dropout`` and ``batch_norm`` of ``estimator``.
    """
    fe, kwargs = estimator.feature_extractor, estimator.feature_extractor_kwargs
    if kwargs is not None and not isinstance(fe, (str, type)):
        raise ValueError(
            "feature_extractor_kwargs configures a named backbone "
            f"({sorted({**BACKBONES, **IMAGE_BACKBONES})}) or a module class; "
            f"feature_extractor is "
            f"{type(fe).__name__}."
        )
    if fe in IMAGE_BACKBONES:
        return image_backbone(fe, kwargs or {}, input_shape)
    if isinstance(fe, str):
        return signal_backbone(fe, kwargs or {}, input_shape)
    if isinstance(fe, type):
        return _instantiate(fe, kwargs or {}, "feature_extractor")
    if fe is not None:
        _check_data_parallel(fe, estimator.device)
        return copy.deepcopy(fe)
    if len(input_shape) != 1:
        raise ValueError(
            "The default MLP takes 2-D input (n_samples, n_features); got "
            f"samples of shape {input_shape}. Use feature_extractor='wdcnn' or "
            "'cnn1d' for signals or 'lenet' for images, or flatten each row."
        )
    return MLP(
        input_shape[0],
        hidden_layer_sizes=check_sizes(
            estimator.hidden_layer_sizes, "hidden_layer_sizes"
        ),
        dropout=estimator.dropout,
        batch_norm=estimator.batch_norm,
    )


def _instantiate(cls, kwargs, name):
    """``cls(**kwargs)`` for a module class given as parameter ``name``."""
    if not issubclass(cls, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module class; got {cls!r}.")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise TypeError(
            f"{name}_kwargs={kwargs!r} does not fit {name}={cls.__name__}: {exc}"
        ) from exc


def build_head(head, n_features, n_classes, default):
    """Return a checked copy of ``head``, or ``default(n_features, n_classes)``."""
    if head is None:
        return default(n_features, n_classes)
    head = copy.deepcopy(head)
    out = dry_run(head, (n_features,), what="head")
    if tuple(out.shape) != (2, n_classes):
        raise ValueError(
            f"head must map {n_features} features to {n_classes} class logits, "
            f"shape (n, {n_classes}); it returned shape {tuple(out.shape[1:])} per "
            "row."
        )
    return head


def build_discriminator(estimator, n_features, default, n_domains=2):
    """Return a checked copy of ``estimator.discriminator``, or the default MLP.

    ``default`` builds the discriminator from ``discriminator_hidden_layer_sizes``
    (and ``n_domains=`` when there are more than 2 domains to tell apart: one
    logit per domain instead of one logit).
    """
    extra = {} if n_domains == 2 else {"n_domains": n_domains}
    if estimator.discriminator is None:
        sizes = check_sizes(
            estimator.discriminator_hidden_layer_sizes,
            "discriminator_hidden_layer_sizes",
            allow_empty=True,
        )
        return default(n_features, sizes, **extra)
    disc = copy.deepcopy(estimator.discriminator)
    out = dry_run(disc, (n_features,), what="discriminator")
    n_out = 1 if n_domains == 2 else n_domains
    if out.numel() != 2 * n_out:
        raise ValueError(
            f"discriminator must map {n_features} features to {n_out} domain "
            f"logit(s) per row (one per domain with several source domains); it "
            f"returned shape {tuple(out.shape[1:])} per row."
        )
    return disc


def signal_backbone(name, kwargs, input_shape):
    """Build the backbone ``name`` for samples of shape (channels, length)."""
    channels, length = input_shape
    module = _named(BACKBONES[name], name, kwargs, channels)
    if length < module.min_length:
        raise ValueError(
            f"feature_extractor={name!r} needs signals of length >= "
            f"{module.min_length}; got length {length}."
        )
    return module


def image_backbone(name, kwargs, input_shape):
    """Build the backbone ``name`` for images of shape (channels, height, width)."""
    if len(input_shape) != 3:
        raise ValueError(
            f"feature_extractor={name!r} takes images of shape (n_samples, "
            f"n_channels, height, width); got samples of shape {input_shape}. "
            "Set input_shape=(n_channels, height, width) to reshape flat rows."
        )
    channels, *size = input_shape
    try:
        return _named(IMAGE_BACKBONES[name], name, kwargs, channels, tuple(size))
    except ValueError as exc:
        raise ValueError(
            f"feature_extractor={name!r} cannot take samples of shape "
            f"{input_shape}: {exc}"
        ) from exc


def _named(cls, name, kwargs, *shape):
    """``cls(*shape, **kwargs)``; a TypeError naming ``feature_extractor_kwargs``."""
    try:
        return cls(*shape, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"feature_extractor_kwargs={kwargs!r} does not fit feature_extractor="
            f"{name!r}: {exc}"
        ) from exc


def _check_data_parallel(module, device):
    """Raise when a ``DataParallel`` over GPUs would run off its first GPU."""
    for m in module.modules():
        if isinstance(m, torch.nn.DataParallel) and m.device_ids:
            first = torch.device("cuda", m.device_ids[0])
            target = torch.device(resolve_device(device))
            if target.type != "cuda" or (target.index or 0) != first.index:
                raise ValueError(
                    f"feature_extractor holds a torch.nn.DataParallel over the GPUs "
                    f"{m.device_ids}, which needs the network on {first}, but "
                    f"device={device!r} puts it on {target}. Use device='auto' or "
                    f"'{first}', or pass the module it wraps (its .module) to train "
                    "on the CPU."
                )


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


@contextmanager
def evaluating(module):
    """Run a block with ``module`` in eval mode, without gradients; restore modes."""
    modes = [m.training for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        for m, mode in zip(module.modules(), modes, strict=True):
            m.training = mode


def run_on(module, x, *, what):
    """``module(x)`` in eval mode on ``module``'s device; ValueError naming ``what``.

    Leaves the module's train/eval mode as it was.
    """
    param = next(module.parameters(), None)
    x = x.to(param.device if param is not None else "cpu")
    try:
        with evaluating(module):
            return module(x)
    except Exception as exc:
        raise ValueError(
            f"{what} failed on input of shape (n, *{tuple(x.shape[1:])}): {exc}"
        ) from exc


def dry_run(module, input_shape, *, what):
    """Return ``module``'s output on two zero rows of ``input_shape``, in eval mode.

    Leaves the module's train/eval mode as it was; a failure becomes a
    ValueError naming ``what``.
    """
    out = run_on(module, torch.zeros((2, *input_shape)), what=what)
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"{what} returns a {type(out).__name__}, not one tensor; skuda needs "
            "a module that returns a single tensor (wrap it to return the "
            "features or logits you want used)."
        )
    return out
