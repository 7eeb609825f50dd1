"""Data-parallel training over several processes (``accelerator=``).

The 2-process test runs ``tests/distributed_worker.py`` twice, as ``torchrun``
would, on the CPU with the gloo backend; it skips where ``accelerate`` or gloo
is missing.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skuda import ADDAClassifier, DANNClassifier, SHOTAdapter, SourceOnlyClassifier
from skuda._batching import DomainBatches, DomainData
from skuda.modules import DANetwork

ROOT = Path(__file__).resolve().parent.parent


def _batches(data, rank, world_size, batch_size=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return DomainBatches(
        data, batch_size, generator=gen, rank=rank, world_size=world_size
    )


def test_ranks_draw_disjoint_shares_of_the_single_process_epoch():
    X = torch.arange(32, dtype=torch.float32).reshape(16, 2)
    data = DomainData(X, torch.arange(16), X[:12] + 100, device="cpu")
    shares = [list(_batches(data, r, 2)) for r in (0, 1)]
    whole = list(_batches(data, 0, 1, batch_size=8))  # one process, 2x the batch
    assert len(shares[0]) == len(shares[1]) == len(whole) == 2  # ceil(16 / 8)
    for step, (a, b, w) in enumerate(zip(*shares, whole, strict=True)):
        assert len(a.xs) == len(b.xs) == 4
        # The two shares of a step are the single-process batch, split.
        assert torch.equal(torch.cat([a.xs, b.xs]), w.xs), step
        assert torch.equal(torch.cat([a.xt, b.xt]), w.xt), step
        assert torch.equal(a.ys, a.xs[:, 0].long() // 2)  # labels follow rows
    a, b = (set(torch.cat([s.xs for s in sh])[:, 0].tolist()) for sh in shares)
    assert len(a) == len(b) == 8 and not a & b  # the 16 rows: 8 each, disjoint


def test_one_process_batches_are_unchanged():
    X = torch.randn(30, 3)
    data = DomainData(X, torch.zeros(30), X[:7], device="cpu")
    gen = torch.Generator().manual_seed(3)
    plain = list(DomainBatches(data, 8, generator=gen))
    for got, want in zip(_batches(data, 0, 1, 8, 3), plain, strict=True):
        assert torch.equal(got.xs, want.xs) and torch.equal(got.xt, want.xt)


def test_training_forward_returns_the_loss_terms():
    net = DANetwork(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    x = torch.randn(5, 3)
    assert torch.equal(net(x), net.head(net.encoder(x)))
    terms = net(x, loss=lambda: {"a": net.encoder(x).sum()})
    assert torch.equal(terms["a"], net.encoder(x).sum())


def test_two_phase_methods_refuse_an_accelerator(blobs):
    accelerate = pytest.importorskip("accelerate")
    Xs, ys, Xt, _ = blobs
    acc = accelerate.Accelerator(cpu=True)
    for est in (ADDAClassifier(accelerator=acc), SHOTAdapter(accelerator=acc)):
        with pytest.raises(NotImplementedError, match=type(est).__name__):
            est.fit(Xs, ys, Xt)


def test_bad_accelerators_are_named(blobs):
    Xs, ys, Xt, _ = blobs
    with pytest.raises(TypeError, match="accelerator must be"):
        DANNClassifier(accelerator="gpu", max_epochs=1).fit(Xs, ys, Xt)
    accelerate = pytest.importorskip("accelerate")
    acc = accelerate.Accelerator(cpu=True)
    with pytest.raises(ValueError, match="leave device='auto'"):
        DANNClassifier(accelerator=acc, device="cpu").fit(Xs, ys, Xt)


def test_one_process_accelerator_fits_clones_and_pickles(blobs):
    import pickle

    accelerate = pytest.importorskip("accelerate")
    Xs, ys, Xt, _ = blobs
    acc = accelerate.Accelerator(cpu=True)
    clf = DANNClassifier(accelerator=acc, max_epochs=2, random_state=0)
    assert clone(clf).get_params()["accelerator"] is not None
    clf.fit(Xs, ys, Xt)
    assert clf.device_ == "cpu" and clf.net_.wrapped_ is None
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict(Xt), clf.predict(Xt))
    # Single process: the same batches; only dropout's seed differs from a
    # plain fit, so without dropout the fit is the plain fit.
    params = dict(max_epochs=2, dropout=0.0, random_state=0)
    via = DANNClassifier(accelerator=acc, **params).fit(Xs, ys, Xt)
    plain = DANNClassifier(**params).fit(Xs, ys, Xt)
    assert np.array_equal(via.predict_proba(Xt), plain.predict_proba(Xt))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(out, world_size=2, timeout=120):
    """Start ``world_size`` worker processes as torchrun would; wait for all."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # this checkout's skuda, not an installed one
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "WORLD_SIZE": str(world_size),
        "OMP_NUM_THREADS": "1",
    }
    worker = str(ROOT / "tests" / "distributed_worker.py")
    procs = [
        subprocess.Popen(
            [sys.executable, worker, str(out)],
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(world_size)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = [p.returncode for p in procs if p.returncode != 0]
    assert not failed, "\n".join(log[-3000:] for log in logs)
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.slow  # two subprocesses: ~10 s of imports each on a busy machine
@pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
    reason="torch.distributed with gloo is not available",
)
def test_two_processes_train_one_model_on_disjoint_shares(tmp_path):
    pytest.importorskip("accelerate")
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from distributed_worker import BATCH_SIZE, N_ROWS, PARAMS, toy
    finally:
        sys.path.remove(str(ROOT / "tests"))
    rank0, rank1 = _launch(tmp_path)
    assert (rank0["world_size"], rank1["rank"]) == (2, 1)
    # One model: identical parameters (and predictions, after pickling).
    assert rank0["digest"] == rank1["digest"]
    assert rank0["predictions"] == rank1["predictions"]
    assert not rank0["wrapped_after_fit"] and not rank0["accelerator_after_fit"]
    assert rank0["device"] == "cpu"  # not "cpu:0", which pickles unloadably
    # Each process trained on its own half of the first epoch: together, every
    # source row exactly once.
    seen0 = {tuple(r) for r in rank0["rows"]}
    seen1 = {tuple(r) for r in rank1["rows"]}
    assert len(seen0) == len(seen1) == N_ROWS // 2 and not seen0 & seen1
    assert rank0["batches"] == rank1["batches"] == N_ROWS // (2 * BATCH_SIZE)
    # Losses are averaged over the processes: every process logs the same.
    assert rank0["train_loss"] == rank1["train_loss"]
    # One process with the 2 x 64-row batches takes the same steps (the mean
    # of the two halves' gradients is the whole batch's): the same model up to
    # float rounding, and it adapts (measured: 0.746 vs 0.707 source-only).
    Xs, ys, Xt, yt = toy()
    common = dict(PARAMS, batch_size=2 * BATCH_SIZE)
    single = DANNClassifier(**common).fit(Xs, ys, Xt)
    np.testing.assert_allclose(
        rank0["train_loss"], single.history_[:, "train_loss"], rtol=1e-3
    )
    assert np.mean(single.predict(Xt) == rank0["predictions"]) > 0.97
    del common["lambda_"]
    source_only = SourceOnlyClassifier(**common).fit(Xs, ys, Xt)
    assert rank0["accuracy"] > source_only.score(Xt, yt) + 0.02
