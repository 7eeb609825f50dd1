"""The text of the parameters every skuda estimator shares, written once.

An estimator's docstring documents its own parameters and puts the line
``[shared parameters]`` where the shared ones go; :func:`shared_parameters`
fills it with the entries below for the shared parameters in its signature,
with the default read from the signature (so it can never drift).
"""

from __future__ import annotations

import inspect
import re
import textwrap

SHARED = {
    "hidden_layer_sizes": (
        "tuple of int",
        "Hidden widths of the default MLP feature extractor (each layer "
        "``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]``); unused with another "
        "``feature_extractor``.",
    ),
    "dropout": (
        "float",
        "Dropout after each hidden layer of the MLP feature extractor.",
    ),
    "batch_norm": (
        "bool",
        "Batch normalisation in the MLP feature extractor. Its running "
        "statistics, learnt on training batches, are used at prediction; the "
        "user guide reports where that helps and where it hurts.",
    ),
    "feature_extractor": (
        '{"wdcnn", "cnn1d"}, torch.nn.Module or None',
        'The feature extractor. ``None``: the MLP (2-D input). ``"wdcnn"`` '
        "(:class:`skuda.modules.WDCNN`, wide first kernel, for raw vibration) or "
        '``"cnn1d"`` (:class:`skuda.modules.CNN1d`, for multichannel sensors): a '
        "1-D CNN for signals of shape ``(n_samples, n_channels, length)``, or "
        "``(n_samples, length)`` read as one channel; input scaling is then per "
        "channel. A module: used instead of the MLP (copied, never modified); it "
        "may take inputs of any rank and its output is flattened per row.",
    ),
    "feature_extractor_kwargs": (
        "dict",
        'Constructor arguments of the named backbone, e.g. ``{"n_filters": 32}`` '
        "(``in_channels`` is set from the data). Only with a named "
        "``feature_extractor``.",
    ),
    "batch_size": ("int", "Rows per domain per iteration, in every training phase."),
    "optimizer": (
        '{"adam", "adamw", "sgd"} or torch optimizer class',
        'Optimizer of every training phase; ``"sgd"`` uses momentum 0.9, as in '
        "the papers.",
    ),
    "weight_decay": ("float", "L2 penalty passed to the optimizer."),
    "lr_schedule": (
        '{"dann", "constant"}',
        '``"dann"``: the learning rate is annealed as ``lr / (1 + 10 p) ** 0.75`` '
        "over the training progress ``p`` in [0, 1], every iteration (Ganin & "
        "Lempitsky, ICML 2015), by a skorch ``LRScheduler`` callback named "
        '``"lr_schedule"``. ``"constant"``: the rate stays fixed. A method\'s '
        "notes say which of its phases follow this setting.",
    ),
    "device": (
        "str or torch.device",
        '``"auto"`` uses CUDA when available; the choice is stored in ``device_``.',
    ),
    "mixed_precision": (
        '{"bf16", "fp16"} or None',
        "Mixed-precision training and prediction on CUDA: forward passes run "
        "under ``torch.autocast`` in bfloat16 (GPUs of compute capability 8.0 "
        "and newer) or float16 (with loss scaling). A no-op on the CPU, where "
        "results are identical to ``None``.",
    ),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds weight initialisation, dropout and batch order of every training "
        "phase. The same seed gives bit-identical predictions on CPU; the global "
        "RNG state is left as found.",
    ),
    "verbose": ("int", "Print skorch's per-epoch table when positive."),
    "callbacks": (
        "list of skorch callbacks",
        "Extra skorch callbacks, copied for each fit and each training phase.",
    ),
    "warm_start": (
        "bool",
        "Continue training the fitted network on the next ``fit`` (for two-phase "
        "methods, the adaptation phase, with no new source phase); the schedules "
        "restart at ``p = 0``. The classes and input shape must not change.",
    ),
    "input_scaling": (
        '{"pooled", "domain"} or None',
        "Standardise each input feature (each channel of a signal) inside the "
        'estimator. ``"pooled"``: statistics of source and target rows together, '
        "applied to every row (safe for any input; a ``StandardScaler`` before "
        'the estimator then changes nothing). ``"domain"``: each domain with its '
        "own statistics, which aligns first and second moments before training; "
        "rows passed to ``predict``/``transform`` are then scaled with the "
        "*target* statistics, so use it when you predict target rows. ``None``: "
        "use the inputs as given. With a fitted source model (ADDA, SHOT), the "
        "method's notes say how the source model's scaling is reused.",
    ),
}
"""Shared parameter -> (type, description)."""

MARKER = "[shared parameters]"


def entry(name, default, indent="    "):
    """Format the numpydoc entry of shared parameter ``name`` with its ``default``."""
    kind, text = SHARED[name]
    body = textwrap.fill(text, 88 - 2 * len(indent) - 4)
    return f"{indent}{name} : {kind}, default={default!r}\n" + textwrap.indent(
        body, indent * 2
    )


def shared_parameters(cls):
    """Class decorator: fill ``[shared parameters]`` in ``cls.__doc__``.

    Fills in every shared parameter of ``cls.__init__`` that the docstring
    does not document itself, in signature order.
    """
    doc = cls.__doc__
    if doc is None:  # python -OO strips docstrings
        return cls
    if MARKER not in doc:
        raise ValueError(f"{cls.__name__}'s docstring has no '{MARKER}' line.")
    params = inspect.signature(cls.__init__).parameters
    own = set(re.findall(r"^    (\w+) :", doc, flags=re.MULTILINE))
    entries = [
        entry(name, p.default)
        for name, p in params.items()
        if name in SHARED and name not in own
    ]
    cls.__doc__ = doc.replace(f"    {MARKER}", "\n".join(entries))
    return cls
