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
    ADDARegressor,
    CDANClassifier,
    DANNClassifier,
    DANNRegressor,
    DeepCORALClassifier,
    DeepCORALRegressor,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
    SourceOnlyRegressor,
)
from skuda._batching import DomainData
from skuda.datasets import make_shifted_moons

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
    # CPU against CUDA: the same draws (initial weights, batch order) give the
    # same model up to kernel rounding, with plain SGD and no dropout. Dropout
    # masks come from each device's own generator, and Adam divides each step
    # by sqrt(v), so a gradient component that is ~0 steps by about +-lr either
    # way: default fits end up 0.04 apart in probability (SGD with dropout
    # 0.007; seen on an H200) whatever the draws.
    same = dict(FAST, optimizer="sgd", dropout=0.0)
    on_gpu = DANNClassifier(device="cuda", **same).fit(Xs, ys, Xt).predict_proba(Xt)
    cpu = DANNClassifier(device="cpu", **same).fit(Xs, ys, Xt).predict_proba(Xt)
    np.testing.assert_allclose(on_gpu, cpu, atol=1e-3)


def test_cuda_tensors_used_in_place_never_modified(blobs):
    Xs, ys, Xt, _ = blobs
    ts, tt = torch.from_numpy(Xs).cuda(), torch.from_numpy(Xt).cuda()
    copies = ts.clone(), tt.clone()
    clf = DANNClassifier(device="cuda", **FAST)
    a, b = clf._fit_scaling(*clf._check_domains(ts, tt, ("X_src", "y_src", "X_tgt")))
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


CLASSIFIERS = {
    "source_only": (SourceOnlyClassifier, {}),
    "dann": (DANNClassifier, {}),
    "mcc": (MCCClassifier, {}),
    "cdan_full_map": (CDANClassifier, {"randomized_threshold": 10**6}),
    "cdan_random_map": (CDANClassifier, {"randomized_threshold": 1}),
    "coral": (DeepCORALClassifier, {}),
    "dan_mmd": (DeepCORALClassifier, {"discrepancy": "mmd"}),
    "adda_fp16": (ADDAClassifier, {"source_epochs": 2, "mixed_precision": "fp16"}),
    "shot": (SHOTAdapter, {"source_epochs": 2}),
}


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_every_classifier_on_cuda(blobs, name):
    Xs, ys, Xt, _ = blobs
    cls, extra = CLASSIFIERS[name]
    est = cls(**FAST, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ADDA may warn about collapse
        est.fit(Xs, ys, Xt)
    assert est.device_ == "cuda"
    assert all(p.is_cuda for p in est.net_.module_.parameters())
    proba = est.predict_proba(Xt)
    assert proba.shape == (len(Xt), 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("cls", [SourceOnlyRegressor, DANNRegressor,
                                 DeepCORALRegressor, ADDARegressor])  # fmt: skip
def test_every_regressor_on_cuda(blobs, cls):
    Xs, _, Xt, _ = blobs
    y = Xs[:, 0] - 2 * Xs[:, 1]
    extra = {"source_epochs": 2} if cls is ADDARegressor else {}
    est = cls(**FAST, **extra).fit(Xs, y, Xt)
    assert est.device_ == "cuda"
    pred = est.predict(Xt)
    assert pred.shape == (len(Xt),) and np.isfinite(pred).all()


def test_conv_backbones_on_cuda():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((64, 1, 16, 16)).astype(np.float32)
    y = np.arange(64) % 3
    clf = MCCClassifier(feature_extractor="lenet", **FAST)
    clf.fit(images, y, images + 0.5)
    assert next(clf.net_.module_.parameters()).is_cuda
    assert clf.predict(images).shape == (64,)
    signals = rng.standard_normal((64, 2, 128)).astype(np.float32)
    sig = DANNClassifier(feature_extractor="cnn1d", **FAST).fit(signals, y, signals)
    assert sig.predict_proba(signals).shape == (64, 3)


def test_defaults_adapt_on_cuda():
    """The README demo's problem: DANN's default gain holds on the GPU too."""
    gains = []
    for seed in range(2):
        Xs, ys, Xt, yt = make_shifted_moons(300, rotation=40.0, random_state=seed)
        so = SourceOnlyClassifier(random_state=seed).fit(Xs, ys, Xt)
        dann = DANNClassifier(random_state=seed).fit(Xs, ys, Xt)
        assert dann.device_ == "cuda"
        gains.append(dann.score(Xt, yt) - so.score(Xt, yt))
    assert np.mean(gains) >= 0.05, gains


@pytest.mark.parametrize("name", ["dann", "adda_fp16", "shot", "mcc"])
def test_pickled_cuda_estimator_loads_on_cpu(blobs, monkeypatch, name):
    # Every piece of torch state travels through skorch's map_location path:
    # the network (also as the ``module`` instance), ADDA's discriminator
    # optimizer, SHOT's pseudo-labels (once a RuntimeError: "Attempting to
    # deserialize object on a CUDA device").
    Xs, ys, Xt, _ = blobs
    cls, extra = CLASSIFIERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = cls(device="cuda", **FAST, **extra).fit(Xs, ys, Xt)
    blob = pickle.dumps(clf)
    expected = clf.predict_proba(Xt)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA devices"):
        restored = pickle.loads(blob)
    assert restored.net_.module is restored.net_.module_
    assert all(not p.is_cuda for p in restored.net_.module_.parameters())
    # fp16 autocast on the GPU, float32 on the CPU
    atol = 1e-3 if "fp16" in name else 1e-5
    np.testing.assert_allclose(restored.predict_proba(Xt), expected, atol=atol)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_data_parallel_feature_extractor_on_two_gpus(blobs):
    Xs, ys, Xt, _ = blobs
    inner = nn.Sequential(nn.Linear(Xs.shape[1], 64), nn.ReLU())
    clf = DANNClassifier(
        feature_extractor=nn.DataParallel(inner), device="cuda", **FAST
    ).fit(Xs, ys, Xt)
    assert clf.predict(Xt).shape == (len(Xt),)
