"""skuda.persistence: safe save/load, round trips in a fresh process, faults."""

import io
import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from skorch.callbacks import Callback
from torch import nn

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda.callbacks import UnsupervisedEarlyStopping
from skuda.datasets import make_shifted_blobs
from skuda.persistence import load, save

CPU = dict(device="cpu", random_state=0, batch_size=32, min_iterations_per_epoch=1)
MLP = dict(hidden_layer_sizes=(16,), **CPU)


@pytest.fixture(scope="module")
def data():
    Xs, ys, Xt, _ = make_shifted_blobs(40, n_features=4, random_state=0)
    return (
        pd.DataFrame(Xs, columns=list("abcd")),
        ys,
        pd.DataFrame(Xt, columns=list("abcd")),
    )


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(0)
    y = np.arange(24) % 2
    t = np.arange(64)
    X = np.sin(2 * np.pi * (3 + 5 * y)[:, None] * t / 64) + 0.1 * rng.normal(
        size=(24, 64)
    )
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(data, signals):
    """One fitted model of every kind, by name, with the rows to predict."""
    S, ys, T = data
    X, y = signals
    src = SourceOnlyClassifier(max_epochs=2, **MLP).fit(S, ys, T)
    two = dict(source_epochs=2, max_epochs=2, **MLP)
    models = {
        "source_only": (src, T),
        "dann": (
            DANNClassifier(
                max_epochs=2, callbacks=[UnsupervisedEarlyStopping()], **MLP
            ).fit(S, ys, T),
            T,
        ),
        "mcc": (MCCClassifier(max_epochs=2, **MLP).fit(S, ys, T), T),
        "cdan": (
            CDANClassifier(max_epochs=2, randomized_threshold=8, **MLP).fit(S, ys, T),
            T,
        ),
        "mmd": (
            DeepCORALClassifier(discrepancy="mmd", max_epochs=2, **MLP).fit(S, ys, T),
            T,
        ),
        "adda": (
            ADDAClassifier(discriminator_hidden_layer_sizes=(8,), **two).fit(S, ys, T),
            T,
        ),
        "adda_with_source": (
            ADDAClassifier(src, discriminator_hidden_layer_sizes=(8,), **two).fit(
                S, ys, T
            ),
            T,
        ),
        "shot": (SHOTAdapter(bottleneck_dim=8, **two).fit(S, ys, T), T),
        "shot_source_free": (SHOTAdapter(FrozenEstimator(src), **two).fit(T), T),
        "wdcnn": (
            SourceOnlyClassifier(feature_extractor="wdcnn", max_epochs=1, **CPU).fit(
                X, y
            ),
            X,
        ),
        "shot_cnn1d": (
            SHOTAdapter(
                feature_extractor="cnn1d",
                feature_extractor_kwargs={"n_filters": 8, "out_channels": 8},
                bottleneck_dim=8,
                **{**two, "hidden_layer_sizes": (16,)},
            ).fit(X, y, X[::-1]),
            X,
        ),
    }
    return models


NAMES = [
    "source_only",
    "dann",
    "mcc",
    "adda",
    "adda_with_source",
    "shot",
    "shot_source_free",
    "wdcnn",
    "shot_cnn1d",
]

_LOAD_ALL = """
import sys, numpy as np
from skuda.persistence import load
paths, rows, out = sys.argv[1].split(","), np.load(sys.argv[2]), sys.argv[3]
np.savez(out, **{p: load(p).predict_proba(rows[p]) for p in paths})
"""


@pytest.mark.slow  # a subprocess: ~5 s of imports on a busy machine
def test_round_trip_in_a_fresh_process_is_bit_identical(fitted, tmp_path):
    paths, rows, expected = [], {}, {}
    for name, (est, X) in fitted.items():
        path = str(tmp_path / f"{name}.skuda")
        save(est, path)
        paths.append(path)
        rows[path] = np.asarray(X, dtype=np.float32)
        expected[path] = est.predict_proba(X)
        # the weights are plain state dicts: torch.load(weights_only=True) reads them
        with zipfile.ZipFile(path) as archive:
            weights = torch.load(
                io.BytesIO(archive.read("weights.pt")), weights_only=True
            )
        assert set(weights["module"]) == set(est.net_.module_.state_dict())
    np.savez(tmp_path / "rows.npz", **rows)
    out = tmp_path / "proba.npz"
    subprocess.run(
        [sys.executable, "-c", _LOAD_ALL, ",".join(paths), tmp_path / "rows.npz", out],
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    got = np.load(out)
    for path in paths:
        np.testing.assert_array_equal(got[path], expected[path], err_msg=path)


def _no_addresses(text):
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def _fitted_attributes(est):
    return {
        k: v
        for k, v in vars(est).items()
        if k.endswith("_") and k not in ("net_", "lambda_")
    }


@pytest.mark.parametrize("name", NAMES)
def test_loaded_estimator_has_the_same_parameters_and_attributes(
    fitted, name, tmp_path
):
    est, X = fitted[name]
    save(est, tmp_path / "m.skuda")
    loaded = load(tmp_path / "m.skuda")
    assert type(loaded) is type(est)
    assert _no_addresses(repr(loaded)) == _no_addresses(repr(est))
    before, after = _fitted_attributes(est), _fitted_attributes(loaded)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if key.endswith("history_"):
            assert after[key][:, "train_loss"] == value[:, "train_loss"]
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
            assert after[key].dtype == value.dtype
        else:
            assert after[key] == value, key
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


def test_warm_start_after_load_continues_like_the_original(data, tmp_path):
    S, ys, T = data
    clf = DANNClassifier(max_epochs=2, warm_start=True, **MLP).fit(S, ys, T)
    save(clf, tmp_path / "m.skuda")
    loaded = load(tmp_path / "m.skuda")
    clf.fit(S, ys, T)
    loaded.fit(S, ys, T)  # optimizer state and history were restored
    np.testing.assert_array_equal(loaded.predict_proba(T), clf.predict_proba(T))


def test_a_module_feature_extractor_must_be_passed_again(data, tmp_path):
    S, ys, T = data
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    clf = DANNClassifier(feature_extractor=module, max_epochs=1, **CPU).fit(S, ys, T)
    save(clf, tmp_path / "m.skuda")
    with pytest.raises(ValueError, match=r"feature_extractor was a Sequential.*params"):
        load(tmp_path / "m.skuda")
    fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    with pytest.raises(ValueError, match=r"params has \['feature_extrator'\]"):
        load(tmp_path / "m.skuda", params={"feature_extrator": fresh})
    loaded = load(tmp_path / "m.skuda", params={"feature_extractor": fresh})
    np.testing.assert_array_equal(loaded.predict_proba(T), clf.predict_proba(T))
    pair = (nn.Linear(4, 6), nn.Linear(6, 3))
    shot = SHOTAdapter(pair, max_epochs=1, **CPU).fit(T)
    save(shot, tmp_path / "pair.skuda")
    with pytest.raises(ValueError, match="source_estimator was a tuple of modules"):
        load(tmp_path / "pair.skuda")
    loaded = load(tmp_path / "pair.skuda", params={"source_estimator": pair})
    np.testing.assert_array_equal(loaded.predict_proba(T), shot.predict_proba(T))


class _UserCallback(Callback):
    pass


_UserCallback.__module__ = "user_code"  # a class a model file may not name


def test_user_callbacks_are_left_out_with_a_warning(data, tmp_path):
    S, ys, T = data
    clf = SourceOnlyClassifier(
        max_epochs=1, callbacks=[_UserCallback(), UnsupervisedEarlyStopping()], **MLP
    ).fit(S, ys)
    save(clf, tmp_path / "m.skuda")
    with pytest.warns(UserWarning, match="1 callback"):
        loaded = load(tmp_path / "m.skuda")
    assert [type(cb) for cb in loaded.callbacks] == [UnsupervisedEarlyStopping]


# -- faults ---------------------------------------------------------------------------
@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.skuda"
    save(fitted["mcc"][0], path)
    return path


def _rewrite(path, member, edit):
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[member] = edit(members[member])
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def _edit_meta(change):
    def edit(content):
        meta = json.loads(content)
        change(meta)
        return json.dumps(meta).encode()

    return edit


def test_missing_truncated_and_corrupt_files(saved, tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.skuda")
    content = saved.read_bytes()
    for bad in (
        content[: len(content) // 2],  # truncated
        content[:-30],  # end of the archive cut off
        b"not a model",
        content.replace(b"skuda.json", b"skuda.jsoN"),  # member missing
    ):
        saved.write_bytes(bad)
        with pytest.raises(ValueError, match="not a readable skuda model file"):
            load(saved)
    # a flipped byte inside the weights: the zip checksum catches it
    start = content.index(b"PK\x03\x04", content.index(b"weights.pt") - 40)
    flipped = bytearray(content)
    flipped[start + 200] ^= 0xFF
    saved.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="not a readable skuda model file"):
        load(saved)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m: m["versions"].update(skuda="9.1.0"), "written by skuda 9.1.0"),
        (lambda m: m.update(format=2), "file format 2"),
        (
            lambda m: m["estimator"].update({"class": "os:system"}),
            "refusing to import 'os:system'",
        ),
        (
            lambda m: m["estimator"]["params"].update(
                optimizer={"__class__": "torch.nn:Linear"}
            ),
            "not a Optimizer class",
        ),
    ],
)
def test_incompatible_or_tampered_files(saved, change, match):
    _rewrite(saved, "skuda.json", _edit_meta(change))
    with pytest.raises(ValueError, match=match):
        load(saved)


def test_cuda_saved_model_loads_on_the_cpu(fitted, tmp_path, monkeypatch):
    est, X = fitted["adda_with_source"]
    path = tmp_path / "m.skuda"
    save(est, path)
    _rewrite(path, "skuda.json", _edit_meta(lambda m: _set_device(m, "cuda:0")))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="fitted on cuda:0, but CUDA is not avail"):
        loaded = load(path)
    assert loaded.device_ == "cpu" and loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    with pytest.raises(ValueError, match="CUDA is not available"):
        load(path, device="cuda")


def _set_device(meta, device):
    meta["estimator"]["fitted"]["device_"] = device
    meta["estimator"]["params"]["source_estimator"]["__estimator__"]["fitted"][
        "device_"
    ] = device


def test_save_is_atomic_and_checks_its_argument(fitted, saved, monkeypatch):
    before = saved.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save(fitted["dann"][0], saved)
    assert saved.read_bytes() == before  # the old file is intact ...
    assert os.listdir(saved.parent) == [saved.name]  # ... and no temporary is left
    with pytest.raises(NotFittedError):
        save(SourceOnlyClassifier(), saved)
    with pytest.raises(TypeError, match="skuda's estimators"):
        save(FrozenEstimator(fitted["dann"][0]), saved)
