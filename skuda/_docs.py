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
        '{"wdcnn", "cnn1d", "lenet"}, torch.nn.Module or None',
        'The feature extractor. ``None``: the MLP (2-D input). ``"wdcnn"`` '
        "(:class:`skuda.modules.WDCNN`, wide first kernel, for raw vibration) or "
        '``"cnn1d"`` (:class:`skuda.modules.CNN1d`, for multichannel sensors): a '
        "1-D CNN for signals of shape ``(n_samples, n_channels, length)``, or "
        "``(n_samples, length)`` read as one channel; input scaling is then per "
        'channel. ``"lenet"`` (:class:`skuda.modules.LeNet`): a 2-D CNN for '
        "images ``(n_samples, n_channels, height, width)`` (flat rows with "
        "``input_shape``), scaled per channel. A module: used instead of the "
        "MLP (copied, never modified); it "
        "may take inputs of any rank and must return one feature vector per row. "
        "A module class (skorch's habit): instantiated at fit with "
        "``feature_extractor_kwargs``, which ``set_params(feature_extractor__<arg>="
        "value)`` sets one by one.",
    ),
    "feature_extractor_kwargs": (
        "dict",
        'Constructor arguments of the named backbone, e.g. ``{"n_filters": 32}`` '
        "(``in_channels`` is set from the data), or of a module class. Only with "
        "a named ``feature_extractor`` or a module class.",
    ),
    "input_shape": (
        "tuple of int or None",
        "Shape of one sample as the network reads it, e.g. ``(1, 16, 16)``: "
        "flat rows ``(n_samples, prod(input_shape))`` are reshaped to it (C "
        "order) inside the estimator, at fit and for new rows, so a "
        "``Pipeline`` of 2-D transformers can feed an image backbone; rows "
        "already of this shape pass unchanged. ``None``: rows are used as given "
        "(and with a fitted ``source_estimator`` read from images, reshaped to "
        "its image shape).",
    ),
    "head": (
        "torch.nn.Module or None",
        "The classifier on the learned features, returning one logit per class "
        "(copied, never modified); ``None`` builds the method's default. It "
        "takes the feature extractor's output (SHOT: the ``bottleneck_dim`` "
        "bottleneck features). Unused with a fitted ``source_estimator``.",
    ),
    "discriminator": (
        "torch.nn.Module or None",
        "The domain discriminator on the learned features, returning one logit "
        "per row (copied, never modified); ``None`` builds an MLP of "
        "``discriminator_hidden_layer_sizes``.",
    ),
    "clip_predictions": (
        "bool",
        "Clip each predicted value to the range of the source targets seen in "
        "``fit`` (``target_min_``, ``target_max_``; rows of weight 0 excluded). "
        "Unlabelled target rows carry no evidence of values outside that range, "
        "and a network extrapolates without bound on inputs shifted beyond the "
        "source (the regression benchmark: 1-16 % of target predictions out of "
        "range, R^2 down to -5). ``False``: predictions may extrapolate.",
    ),
    "validation_fraction": (
        "float in (0, 1) or None",
        "Share of the labelled source rows held out from training (stratified, "
        "as ``MLPClassifier``'s): after every epoch of each phase that trains on "
        "source labels, skorch records their loss (``valid_loss``, the training "
        "criterion) and the accuracy of the prediction path (``valid_acc``) in "
        "the history, so skorch's ``EarlyStopping()``, ``Checkpoint()`` and "
        '``EpochScoring("accuracy")`` work with their defaults. The adaptation '
        "phase of ADDA and SHOT records none, and callbacks that read those "
        "columns act only in the source phase. ``None``: every source row "
        "trains.",
    ),
    "class_weight": (
        'dict, "balanced" or None',
        "Weights of the classes in the label loss (of the source phase of ADDA "
        "and SHOT), multiplying ``sample_weight``: a dict maps source labels to "
        "weights (classes left out get 1; a label that is not a class is an "
        'error); ``"balanced"`` gives class ``k`` the weight ``n_src / '
        "(n_classes * n_k)`` from the source label counts, so that every class "
        "weighs the same in total. ``None``: every class weighs 1.",
    ),
    "label_smoothing": (
        "float in [0, 1)",
        "Label smoothing of the cross-entropy on source labels (of the source "
        "phase of ADDA and SHOT): the one-hot label of each source row gives "
        "``label_smoothing`` of its mass uniformly over the classes (Szegedy et "
        "al., CVPR 2016); 0 is the plain cross-entropy. SHOT uses its paper's "
        "0.1; for the other methods the docs' default study measured 0.1 and "
        "kept 0.",
    ),
    "batch_size": ("int", "Rows per domain per iteration, in every training phase."),
    "min_iterations_per_epoch": (
        "int",
        "Least number of iterations (optimizer steps) in one epoch of every "
        "training phase: an epoch is ``max(min_iterations_per_epoch, "
        "ceil(n_max / batch_size))`` iterations, so small domains are cycled "
        "several times per epoch and still get enough steps to adapt (see the "
        "default study in the user guide).",
    ),
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
    "accelerator": (
        "accelerate.Accelerator or None",
        "Data-parallel training over several processes (GPUs), started by "
        "``accelerate launch`` or ``torchrun``: every process calls ``fit`` with "
        "the same data and an ``Accelerator()``, trains its own share of each "
        "epoch (``batch_size`` rows per process and step) and ends with the same "
        "model. Leave ``device='auto'`` and set mixed precision here with "
        "``mixed_precision``, not on the accelerator. See :doc:`/scale`. ADDA and "
        "SHOT raise NotImplementedError.",
    ),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds weight initialisation, dropout and batch order of every training "
        "phase. The same seed gives bit-identical predictions on CPU; the global "
        "RNG state is left as found.",
    ),
    "verbose": (
        "int",
        "Print skorch's per-epoch table when positive; two-phase methods print "
        "``[source phase]`` or ``[adaptation phase]`` above each phase's table "
        "(the history's ``phase`` column).",
    ),
    "callbacks": (
        "list of skorch callbacks",
        "Extra skorch callbacks (or ``(name, callback)`` pairs), copied for each "
        "fit and each training phase. ``set_params(callbacks__<name>__<param>="
        "value)`` sets a parameter of one, as in skorch. With ``lr_schedule="
        "'dann'`` a scheduler callback is an error (set ``lr_schedule="
        "'constant'``).",
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
