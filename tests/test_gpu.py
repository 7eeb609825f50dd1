"""The CUDA path: device choice, seeding, resident tensors, mixed precision, pickling.

Skipped without CUDA. ``benchmarks/gpu_check.sh`` runs these with the GPU
benchmark in one short session on a GPU machine.
"""

import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from skuda import (
    ADDAClassifier,
    DANNClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda._batching import DomainData

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

FAST = dict(max_epochs=3, batch_size=32, random_state=0)


def test_auto_device_trains_and_predicts_on_cuda(blobs):
    Xs, ys, Xt, yt = blobs
    clf = DANNClassifier(**FAST).fit(Xs, ys, Xt)
    assert clf.device_ == "cuda"
    assert next(clf.net_.module_.parameters()).is_cuda
    assert clf.predict(Xt).shape == yt.shape
    assert isinstance(clf.predict_proba(Xt), np.ndarray)


def test_same_seed_same_model_on_cuda_and_rng_left_alone(blobs):
    Xs, ys, Xt, _ = blobs
    before = torch.cuda.get_rng_state()
    a = DANNClassifier(device="cuda", **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    b = DANNClassifier(device="cuda", **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    np.testing.assert_allclose(a, b, atol=1e-6)
    cpu = DANNClassifier(device="cpu", **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    np.testing.assert_allclose(a, cpu, atol=1e-3)  # same draws, other kernels


def test_cuda_tensors_used_in_place_never_modified(blobs):
    Xs, ys, Xt, _ = blobs
    ts, tt = torch.from_numpy(Xs).cuda(), torch.from_numpy(Xt).cuda()
    copies = ts.clone(), tt.clone()
    clf = DANNClassifier(device="cuda", **FAST)
    a, b = clf._fit_scaling(*clf._check_domains(ts, tt))
    data = DomainData(a, ys, b, device="cuda")
    assert data.X_src.tensor.data_ptr() == ts.data_ptr()
    proba = clf.fit(ts, ys, tt).predict_proba(tt)
    assert torch.equal(ts, copies[0]) and torch.equal(tt, copies[1])
    expected = DANNClassifier(device="cuda", **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    np.testing.assert_allclose(proba, expected, atol=1e-6)


def test_memmap_streams_to_cuda(blobs, tmp_path):
    Xs, ys, Xt, _ = blobs
    np.save(tmp_path / "s.npy", Xs), np.save(tmp_path / "t.npy", Xt)
    Ms = np.load(tmp_path / "s.npy", mmap_mode="r")
    Mt = np.load(tmp_path / "t.npy", mmap_mode="r")
    a = DANNClassifier(device="cuda", **FAST).fit(Ms, ys, Mt).predict_proba(Mt)
    b = DANNClassifier(device="cuda", **FAST).fit(Xs, ys, Xt).predict_proba(Xt)
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_as_well(blobs, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("no bfloat16 on this GPU")
    Xs, ys, Xt, yt = blobs
    params = dict(FAST, max_epochs=20, device="cuda")
    full = DANNClassifier(**params).fit(Xs, ys, Xt)
    mixed = DANNClassifier(mixed_precision=precision, **params).fit(Xs, ys, Xt)
    assert np.isfinite(mixed.predict_proba(Xt)).all()
    assert mixed.score(Xs, ys) >= full.score(Xs, ys) - 0.1
    assert mixed.net_.grad_scaler_ is None  # training state is dropped
    restored = pickle.loads(pickle.dumps(mixed))
    np.testing.assert_array_equal(restored.predict(Xt), mixed.predict(Xt))


def test_every_method_on_cuda(blobs):
    Xs, ys, Xt, _ = blobs
    params = dict(FAST, device="cuda")
    two_phase = dict(params, source_epochs=2)
    estimators = [
        SourceOnlyClassifier(**params),
        MCCClassifier(**params),
        ADDAClassifier(mixed_precision="fp16", **two_phase),
        SHOTAdapter(**two_phase),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ADDA may warn about collapse
        for est in estimators:
            assert est.fit(Xs, ys, Xt).predict(Xt).shape == (len(Xt),)


def test_pickled_cuda_estimator_loads_on_cpu(blobs, monkeypatch):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(device="cuda", **FAST).fit(Xs, ys, Xt)
    blob = pickle.dumps(clf)
    expected = clf.predict_proba(Xt)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA devices"):
        restored = pickle.loads(blob)
    np.testing.assert_allclose(restored.predict_proba(Xt), expected, atol=1e-5)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_data_parallel_feature_extractor_on_two_gpus(blobs):
    Xs, ys, Xt, _ = blobs
    inner = nn.Sequential(nn.Linear(Xs.shape[1], 64), nn.ReLU())
    clf = DANNClassifier(
        feature_extractor=nn.DataParallel(inner), device="cuda", **FAST
    ).fit(Xs, ys, Xt)
    assert clf.predict(Xt).shape == (len(Xt),)
