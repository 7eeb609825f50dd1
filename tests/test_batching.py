import numpy as np
import torch

from skuda._batching import DomainBatches, DomainData, n_iterations


def _batches(n_src, n_tgt, bs, seed=0):
    Xs = np.arange(n_src, dtype=np.float32)[:, None]
    Xt = np.arange(n_tgt, dtype=np.float32)[:, None] if n_tgt else None
    data = DomainData(Xs, np.zeros(n_src), Xt, device="cpu")
    gen = torch.Generator().manual_seed(seed)
    return DomainBatches(data, bs, generator=gen)


def test_epoch_length_follows_larger_domain():
    assert n_iterations(100, 30, 16) == 7
    assert n_iterations(30, 100, 16) == 7
    assert len(_batches(100, 30, 16)) == 7
    assert n_iterations(5, 0, 64) == 1


def test_larger_domain_seen_once_smaller_domain_cycled_evenly():
    it = _batches(64, 20, 16)
    src, tgt = [], []
    for lead, xs, _, xt, yt in it:
        assert lead is xs and yt is None and len(xs) == 16 and len(xt) == 16
        src.append(xs[:, 0]), tgt.append(xt[:, 0])
    src, tgt = torch.cat(src).long(), torch.cat(tgt).long()
    assert sorted(src.tolist()) == list(range(64))  # each source row exactly once
    counts = torch.bincount(tgt, minlength=20)
    assert counts.max() - counts.min() <= 1  # 64 draws over 20 rows: 3 or 4 each
    # within each pass of the stream every target row appears once
    assert sorted(tgt[:20].tolist()) == list(range(20))


def test_leftover_indices_carry_to_next_epoch():
    it = _batches(10, 0, 4)  # 3 batches of 4 = 12 draws per epoch over 10 rows
    first = torch.cat([b.xs[:, 0] for b in it]).long()
    second = torch.cat([b.xs[:, 0] for b in it]).long()
    stream = torch.cat([first, second])
    assert sorted(stream[:10].tolist()) == list(range(10))
    assert sorted(stream[10:20].tolist()) == list(range(10))


def test_target_only_batches_lead_with_target():
    data = DomainData(None, None, np.ones((9, 2), np.float32), device="cpu")
    batches = list(DomainBatches(data, 4, generator=torch.Generator().manual_seed(0)))
    assert len(batches) == 3
    lead, xs, ys, xt, yt = batches[0]
    assert xs is None and ys is None and yt is None and lead is xt


def test_same_seed_same_batches():
    a = [b.xs for b in _batches(50, 50, 8, seed=3)]
    b = [b.xs for b in _batches(50, 50, 8, seed=3)]
    c = [b.xs for b in _batches(50, 50, 8, seed=4)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=False))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=False))


def test_target_labels_travel_with_their_target_rows():
    Xt = np.arange(9, dtype=np.float32)[:, None]
    data = DomainData(np.zeros((4, 1), np.float32), np.zeros(4), Xt, device="cpu")
    labels = [torch.arange(9) * 10]  # owned by the caller (the net), read per epoch
    it = DomainBatches(
        data,
        4,
        generator=torch.Generator().manual_seed(0),
        target_labels=lambda: labels[0],
    )
    for batch in it:
        assert torch.equal(batch.yt, batch.xt[:, 0].long() * 10)
    labels[0] = torch.arange(9) * 100  # a refresh is seen by the next epoch
    for batch in it:
        assert torch.equal(batch.yt, batch.xt[:, 0].long() * 100)


def test_min_iterations_cycles_small_domains_evenly():
    assert n_iterations(100, 30, 16, 20) == 20
    assert n_iterations(1000, 30, 16, 20) == 63  # the floor only lifts
    data = DomainData(
        np.arange(30, dtype=np.float32)[:, None], np.zeros(30), None, device="cpu"
    )
    gen = torch.Generator().manual_seed(0)
    it = DomainBatches(data, 16, generator=gen, min_iterations=15)
    rows = torch.cat([b.xs[:, 0] for b in it]).long()
    assert len(rows) == 15 * 16  # 8 passes over the 30 rows
    assert sorted(rows[:30].tolist()) == list(range(30))
    counts = torch.bincount(rows, minlength=30)
    assert counts.max() - counts.min() <= 1


def test_estimator_min_iterations_per_epoch_sets_steps_per_epoch(blobs):
    from skuda import DANNClassifier

    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(
        min_iterations_per_epoch=25, max_epochs=2, batch_size=64, random_state=0
    )
    clf.fit(Xs, ys, Xt)
    assert [len(row["batches"]) for row in clf.history_] == [25, 25]
    assert clf.net_.total_iterations_ == 50


def test_map_chunks_bounds_the_bytes_of_wide_rows(monkeypatch):
    import torch

    from skuda import _batching

    monkeypatch.setattr(_batching, "INFERENCE_CHUNK_BYTES", 4 * 1000)
    X = torch.arange(30 * 100, dtype=torch.float32).reshape(30, 100)
    sizes = []

    def fn(x):
        sizes.append(len(x))
        return x.sum(1)

    out = _batching.map_chunks(fn, X)
    assert sizes == [10, 10, 10]  # 1000 values = 10 rows of 100 per pass
    assert torch.equal(out, X.sum(1))
