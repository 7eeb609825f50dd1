"""Mixed precision (a no-op off CUDA) and the CUDA paths that a CPU can reach."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from skuda import ADDAClassifier, DANNClassifier, SHOTAdapter
from skuda._device import autocast_dtype

FAST = dict(
    max_epochs=2,
    batch_size=32,
    min_iterations_per_epoch=1,
    device="cpu",
    random_state=0,
)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_is_a_no_op_on_cpu(blobs, precision):
    Xs, ys, Xt, _ = blobs
    plain = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    mixed = DANNClassifier(mixed_precision=precision, **FAST).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(mixed.predict_proba(Xt), plain.predict_proba(Xt))
    assert mixed.net_.grad_scaler_ is None  # no loss scaling without CUDA


def test_adda_mixed_precision_no_op_on_cpu(blobs):
    Xs, ys, Xt, _ = blobs
    params = dict(source_epochs=2, **FAST)
    plain = ADDAClassifier(**params).fit(Xs, ys, Xt).predict_proba(Xt)
    mixed = ADDAClassifier(mixed_precision="fp16", **params).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(mixed.predict_proba(Xt), plain)


@pytest.mark.parametrize("bad", ["fp8", "bfloat16", 16, True])
def test_mixed_precision_values_checked(blobs, bad):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(InvalidParameterError, match="mixed_precision"):
        DANNClassifier(mixed_precision=bad, **FAST).fit(Xs, ys, Xt)


def test_autocast_dtype_only_on_cuda(monkeypatch):
    assert autocast_dtype("bf16", "cpu") is None
    assert autocast_dtype("fp16", torch.device("cpu")) is None
    assert autocast_dtype(None, "cuda") is None
    assert autocast_dtype("fp16", None) is None  # device placement left to others
    assert autocast_dtype("fp16", "cuda:1") is torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert autocast_dtype("bf16", "cuda") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    with pytest.raises(ValueError, match="does not support bfloat16; use"):
        autocast_dtype("bf16", "cuda")


def test_a_cuda_net_unpickled_without_cuda_predicts_on_the_cpu(blobs, monkeypatch):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    expected = clf.predict_proba(Xt)
    # As if fitted on a GPU: the estimator and its net say CUDA.
    clf.device_ = clf.net_.device = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = pickle.loads(pickle.dumps(clf))
    assert any("no CUDA devices" in str(w.message) for w in caught)  # skorch says
    assert any("moved to the CPU" in str(w.message) for w in caught)  # skuda says
    assert restored.device_ == "cpu"  # where it now runs
    np.testing.assert_array_equal(restored.predict_proba(Xt), expected)


def test_auto_device_resolves_to_cuda_when_available(monkeypatch):
    from skuda._device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")


@pytest.mark.filterwarnings("ignore::skuda.CollapseWarning")
@pytest.mark.parametrize("cls", [DANNClassifier, ADDAClassifier])
def test_fp16_loss_scaling_wiring_runs_through_cpu_autocast(blobs, monkeypatch, cls):
    # CUDA's code path, exercised with the CPU's autocast and GradScaler.
    import skuda._net
    import skuda._precision

    fp16 = {"fp16": torch.float16}
    for module in (skuda._net, skuda._precision):
        monkeypatch.setattr(module, "autocast_dtype", lambda mp, dev: fp16.get(mp))
    Xs, ys, Xt, _ = blobs
    params = dict(FAST, source_epochs=2) if cls is ADDAClassifier else FAST
    plain = cls(**params).fit(Xs, ys, Xt).predict_proba(Xt)
    steps = []
    real_step = torch.amp.GradScaler.step
    monkeypatch.setattr(
        torch.amp.GradScaler,
        "step",
        lambda self, opt, *a, **k: steps.append(opt) or real_step(self, opt, *a, **k),
    )
    mixed = cls(mixed_precision="fp16", **params).fit(Xs, ys, Xt)
    assert steps  # every optimizer step went through the scaler
    proba = mixed.predict_proba(Xt)
    assert np.isfinite(proba).all() and not np.array_equal(proba, plain)
    np.testing.assert_allclose(proba, plain, atol=0.2)  # same model, lower precision


def test_data_parallel_feature_extractor_is_the_module_it_wraps(blobs):
    # The multi-GPU recipe of the docs; on a CPU DataParallel runs its module.
    Xs, ys, Xt, _ = blobs
    # device="auto": on a GPU machine DataParallel replicates over the GPUs and
    # needs the network on the first one.
    inner = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU())
    wrapped = torch.nn.DataParallel(inner)
    params = dict(FAST, device="auto")
    a = DANNClassifier(feature_extractor=wrapped, **params).fit(Xs, ys, Xt)
    b = DANNClassifier(feature_extractor=inner, **params).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))


def test_data_parallel_over_gpus_with_a_cpu_device_is_a_clear_error(blobs):
    # Once torch's "module must have its parameters and buffers on device
    # cuda:0" from deep inside the first training step (seen on an H200).
    Xs, ys, Xt, _ = blobs
    wrapped = torch.nn.DataParallel(torch.nn.Linear(2, 16))
    wrapped.device_ids = [0]  # what it holds on a GPU machine
    with pytest.raises(ValueError, match="DataParallel over the GPUs .0.*cuda:0"):
        DANNClassifier(feature_extractor=wrapped, **FAST).fit(Xs, ys, Xt)


@pytest.mark.parametrize(
    "cls, extra",
    [(DANNClassifier, {}), (ADDAClassifier, {"source_epochs": 2}),
     (SHOTAdapter, {"source_epochs": 2})],
)  # fmt: skip
def test_pickle_sends_every_torch_state_through_torch_save(blobs, cls, extra):
    # skorch loads only what it torch.save'd with a map_location: a CUDA tensor
    # pickled any other way (the module instance, SHOT's pseudo-labels) cannot
    # load without CUDA (tests/test_gpu.py runs the real thing).
    Xs, ys, Xt, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls(**FAST, **extra).fit(Xs, ys, Xt)
    state = est.net_.__getstate__()
    torch_state = (torch.Tensor, torch.nn.Module, torch.optim.Optimizer)
    assert [k for k, v in state.items() if isinstance(v, torch_state)] == []
    restored = pickle.loads(pickle.dumps(est))
    assert restored.net_.module is restored.net_.module_
    np.testing.assert_array_equal(restored.predict_proba(Xt), est.predict_proba(Xt))


def test_batch_history_holds_floats_not_tensors(blobs):
    # Kept CPU tensors pinned ~60 KB of freed activations each (RSS grew with
    # every batch); accelerator tensors are read into floats in bulk.
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    values = [v for row in clf.history_[-1, "batches"] for v in row.values()]
    assert values and not any(torch.is_tensor(v) for v in values)
    from skuda._net import _read_tensors

    rows = [{"a": torch.tensor(0.5), "b": 2.0}, {"a": torch.tensor(1.5)}]
    _read_tensors(rows)
    assert rows == [{"a": 0.5, "b": 2.0}, {"a": 1.5}]
