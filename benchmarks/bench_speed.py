"""Speed and memory of DANNClassifier against a bare PyTorch loop.

One run, on 2 threads: a training epoch of ``DANNClassifier`` and of a bare PyTorch
loop doing the same DANN maths (same MLP, discriminator, GRL schedule, Adam with
the same lr annealing, batch 128 of each domain, same index-permutation batching)
on 20 000 source + 20 000 target rows x 50 features; epochs are interleaved so
both see the same machine load. Also times ``predict`` on 20 000 rows and the
peak RSS of a fit (in a fresh subprocess).

Usage: ``python benchmarks/bench_speed.py [--epochs 3] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from skuda import DANNClassifier
from skuda.losses import domain_adversarial_loss
from skuda.modules import MLP, ClassifierHead, DomainDiscriminator, grad_reverse
from skuda.schedules import grl_lambda, lr_factor

N, D, C, BS = 20_000, 50, 5, 128
PARAMS = dict(batch_size=BS, lr=1e-3, weight_decay=1e-4, device="cpu")


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, C))
    Xs = rng.standard_normal((N, D)).astype(np.float32)
    Xt = (rng.standard_normal((N, D)) * 1.2 + 0.3).astype(np.float32)
    return Xs, (Xs @ W).argmax(1), Xt


def skuda_epochs(Xs, ys, Xt, epochs):
    clf = DANNClassifier(max_epochs=epochs, random_state=0, **PARAMS)
    clf.fit(Xs, ys, Xt)
    return [row["dur"] for row in clf.history_], clf


def bare_epochs(Xs, ys, Xt, epochs):
    """The same maths written as a plain PyTorch loop (no skorch, no sklearn)."""
    torch.manual_seed(0)
    enc = MLP(D, (256,), dropout=0.1, batch_norm=False)  # DANNClassifier defaults
    head = ClassifierHead(256, C)
    disc = DomainDiscriminator(256, (256,))
    params = [*enc.parameters(), *head.parameters(), *disc.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-4)
    xs, yt_, xt = torch.from_numpy(Xs), torch.from_numpy(ys), torch.from_numpy(Xt)
    mean = torch.cat([xs, xt]).mean(0)
    std = torch.cat([xs, xt]).std(0)
    xs, xt = (xs - mean) / std, (xt - mean) / std
    n_it = -(-N // BS)
    total, it, durs = epochs * n_it, 0, []
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        t0 = time.perf_counter()
        ps = torch.randperm(N, generator=gen)
        pt = torch.randperm(N, generator=gen)
        ps = torch.cat([ps, torch.randperm(N, generator=gen)])[: n_it * BS].view(
            n_it, BS
        )
        pt = torch.cat([pt, torch.randperm(N, generator=gen)])[: n_it * BS].view(
            n_it, BS
        )
        for i in range(n_it):
            p = it / (total - 1)
            for g in opt.param_groups:
                g["lr"] = 1e-3 * lr_factor(p)
            opt.zero_grad(set_to_none=True)
            z = enc(torch.cat([xs[ps[i]], xt[pt[i]]]))
            task = F.cross_entropy(head(z[:BS]), yt_[ps[i]])
            dom = domain_adversarial_loss(
                disc(grad_reverse(z, 0.3 * grl_lambda(p))), BS
            )
            loss = task + dom
            loss.backward()
            opt.step()
            loss.item()  # the bare loop logs its loss too
            it += 1
        durs.append(time.perf_counter() - t0)
    return durs


def peak_rss_of_fit():
    code = (
        "import resource, sys; sys.path.insert(0, 'benchmarks');"
        "import torch; torch.set_num_threads(2);"
        "from bench_speed import make_data, skuda_epochs;"
        "Xs, ys, Xt = make_data(); skuda_epochs(Xs, ys, Xt, 2);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    Xs, ys, Xt = make_data()
    sk, bare = [], []
    clf = None
    for _ in range(args.rounds):  # interleave so both see the same load
        durs, clf = skuda_epochs(Xs, ys, Xt, args.epochs)
        sk += durs[1:]  # the first epoch of each fit includes warm-up
        bare += bare_epochs(Xs, ys, Xt, args.epochs)[1:]
    pred = []
    for _ in range(10):
        t0 = time.perf_counter()
        clf.predict(Xt)
        pred.append(time.perf_counter() - t0)
    rss = peak_rss_of_fit()
    sk_m, bare_m = statistics.median(sk), statistics.median(bare)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{N} + {N} rows x {D} features, batch {BS} per domain\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| DANNClassifier epoch (median of {len(sk)}) | {sk_m:.3f} s | |")
    print(f"| bare PyTorch epoch (median of {len(bare)}) | {bare_m:.3f} s | |")
    print(f"| ratio skuda / bare | {sk_m / bare_m:.3f} | <= 1.15 |")
    print(
        f"| predict on {N} rows (median of 10) | {statistics.median(pred):.4f} s "
        "| <= 0.03 s |"
    )
    print(f"| peak RSS of a fit (fresh process) | {rss:.0f} MB | <= 500 MB |")


if __name__ == "__main__":
    main()
