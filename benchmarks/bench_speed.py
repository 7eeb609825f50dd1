"""Speed and memory of DANNClassifier against a bare PyTorch loop and skada.

One run, on 2 threads, of the same DANN problem in three implementations:

* ``skuda``: :class:`~skuda.DANNClassifier` with its defaults;
* ``bare``: a plain PyTorch loop doing the same DANN maths (same MLP,
  discriminator, GRL schedule, Adam with the same lr annealing, batch 128 of each
  domain, same index-permutation batching);
* ``skada`` (optional, https://github.com/scikit-adaptation/skada):
  ``skada.deep.DANN`` with the same encoder, head and discriminator sizes, Adam,
  lr, weight decay, batch size and number of epochs (see ``skada_epochs``).

Data: 20 000 source + 20 000 target rows x 50 features. The contenders' fits are
interleaved (the order rotates every round) so all see the same machine load;
the first epoch of every fit is dropped as warm-up and medians are reported.
Also times ``predict`` on 20 000 rows for each, and the peak RSS of a 2-epoch
fit of skuda, of the bare loop (and of skada) each in a fresh subprocess, with
the RSS of the imports alone for reference. Each run appends a summary row to
``benchmarks/results/speed.csv``.

Normalisation: an *iteration* is one optimizer step on a batch of 128 source +
128 target rows in all three. skuda and the bare loop run
ceil(max(n_src, n_tgt) / 128) = 157 iterations per epoch; skada's
``DomainBalancedSampler`` drops the incomplete batch and runs
floor(max(n_src, n_tgt) / 128) = 156. The comparison table therefore reports the
median time per iteration (epoch time / iterations counted in the history) and
the time per pass over the data, defined as 157 iterations (one skuda epoch:
every row of the larger domain seen once); ratios are taken on these normalised
times. Epoch times as measured are printed as well.

Installing skada 0.6.0 without touching torch, scikit-learn, numpy or skorch
(skada's other requirements, numpy, scipy, pandas and scikit-learn, were already
present; POT is its only missing one)::

    pip install --no-deps skada==0.6.0
    pip install --no-deps pot==0.9.7.post1
    python -c "import skada.deep" && pip check

Usage: ``python -m benchmarks.run --suite speed [--epochs 3] [--rounds 3]
[--no-skada] [--no-rss] [--threads 2]`` (or ``python benchmarks/bench_speed.py``
with the same options; skada is skipped, with a message, when it is not
installed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch import nn

from skuda import DANNClassifier
from skuda.losses import domain_adversarial_loss
from skuda.modules import MLP, ClassifierHead, DomainDiscriminator, grad_reverse
from skuda.schedules import grl_lambda, lr_factor

N, D, C, BS = 20_000, 50, 5, 128
# One hidden layer of 256, as the bare loop and skada build it (DANN's default
# became (256, 256) after the width/depth study; this measures overhead).
PARAMS = dict(
    batch_size=BS, lr=1e-3, weight_decay=1e-4, device="cpu", hidden_layer_sizes=(256,)
)
N_IT = -(-N // BS)  # iterations of a skuda / bare epoch: the unit of one "pass"
HERE = Path(__file__).resolve().parent


def make_data(seed=0, n_classes=C):
    """Draw ``(Xs, ys, Xt)``: ``N`` rows per domain, labels from a random linear map."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, n_classes))
    Xs = rng.standard_normal((N, D)).astype(np.float32)
    Xt = (rng.standard_normal((N, D)) * 1.2 + 0.3).astype(np.float32)
    return Xs, (Xs @ W).argmax(1), Xt


def skuda_epochs(Xs, ys, Xt, epochs):
    """Fit a DANNClassifier; return its epoch durations and the fitted classifier."""
    clf = DANNClassifier(max_epochs=epochs, random_state=0, **PARAMS)
    clf.fit(Xs, ys, Xt)
    return [row["dur"] for row in clf.history_], clf


def bare_epochs(Xs, ys, Xt, epochs, return_predict=False, device="cpu", amp=None):
    """Train with the same maths in a plain PyTorch loop; return epoch durations.

    No skorch, no sklearn. With ``return_predict``, also returns a ``predict(X)``
    function of the trained networks (standardise, eval-mode forward, argmax).
    ``device`` (the data may be tensors there already) and ``amp`` (None,
    ``torch.bfloat16`` or ``torch.float16``, with a ``GradScaler``) serve
    ``bench_gpu.py``; the CPU loop is the same as without them.
    """
    torch.manual_seed(0)
    enc = MLP(D, (256,), dropout=0.1, batch_norm=False)  # DANNClassifier defaults
    head = ClassifierHead(256, C)
    disc = DomainDiscriminator(256, (256,))
    for module in (enc, head, disc):
        module.to(device)
    params = [*enc.parameters(), *head.parameters(), *disc.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-4)
    xs, yt_, xt = (torch.as_tensor(a).to(device) for a in (Xs, ys, Xt))
    mean = torch.cat([xs, xt]).mean(0)
    std = torch.cat([xs, xt]).std(0)
    xs, xt = (xs - mean) / std, (xt - mean) / std
    autocast, scaler = _bare_amp(device, amp)
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
        ps, pt = ps.to(device), pt.to(device)
        for i in range(n_it):
            p = it / (total - 1)
            for g in opt.param_groups:
                g["lr"] = 1e-3 * lr_factor(p)
            opt.zero_grad(set_to_none=True)
            with autocast():
                z = enc(torch.cat([xs[ps[i]], xt[pt[i]]]))
                task = F.cross_entropy(head(z[:BS]), yt_[ps[i]])
                dom = domain_adversarial_loss(
                    disc(grad_reverse(z, 0.3 * grl_lambda(p))), BS
                )
                loss = task + dom
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            loss.item()  # the bare loop logs its loss too
            it += 1
        durs.append(time.perf_counter() - t0)
    if not return_predict:
        return durs

    def predict(X):
        enc.eval()
        head.eval()
        with torch.inference_mode(), autocast():
            x = X if torch.is_tensor(X) else torch.from_numpy(np.asarray(X, np.float32))
            x = (x.to(device) - mean) / std
            return head(enc(x)).argmax(1).cpu().numpy()

    return durs, predict


def _bare_amp(device, amp):
    """Return the bare loop's autocast context factory and GradScaler (or None)."""
    if amp is None:
        return contextlib.nullcontext, None
    kind = torch.device(device).type
    scaler = torch.amp.GradScaler(kind) if amp is torch.float16 else None
    return (lambda: torch.autocast(kind, dtype=amp)), scaler


# --- skada -----------------------------------------------------------------
# skada.deep.DANN(module, layer_name, domain_classifier=..., **skorch_kwargs)
# wraps ``module`` in a DomainAwareModule: a forward hook on the submodule named
# ``layer_name`` captures its output (the features), which are fed to
# ``domain_classifier`` on every training forward. Its DomainAwareNet (a skorch
# NeuralNetClassifier) takes ``fit(X, y, sample_domain=...)`` on the
# concatenated rows: sample_domain >= 0 marks source rows, < 0 target rows, and
# unlabelled target rows carry y = -1. Its DomainBalancedDataLoader yields
# batches of ``batch_size`` source + ``batch_size`` target rows, interleaved.
# The loss is base_criterion(source) + reg * DANNLoss, where DANNLoss is
# domain_criterion(source preds, 0) + domain_criterion(target preds, 1).
#
# skada's default discriminator (skada.deep.modules.DomainClassifier) ends in a
# Softmax over its single output unit: the output is the constant 1, so the
# domain loss is constant and passes no gradient. For a fair *speed* comparison
# skada gets instead the discriminator below: skada's own GradientReversalLayer,
# then the same Linear(256, 256) -> ReLU -> Linear(256, 1) as skuda's
# DomainDiscriminator, returning a logit, trained with the
# ``domain_criterion=BCEWithLogitsLoss()`` that skada's DANN accepts. With
# reg=0.5 the skada loss, 0.5 * (mean BCE source + mean BCE target), equals
# skuda's mean BCE over the 256 rows of a batch. The callback below applies
# skuda's schedules per iteration (GRL coefficient 0.3 * grl_lambda(p), lr
# 1e-3 * lr_factor(p)), which skada's DANN does not have built in.


class _SkadaBaseModule(nn.Module):
    """skuda's default encoder and head; ``layer_name="encoder"`` for skada."""

    def __init__(self):
        super().__init__()
        self.encoder = MLP(D, (256,), dropout=0.1, batch_norm=False)
        self.head = ClassifierHead(256, C)

    def forward(self, X, sample_weight=None):  # skada passes sample_weight
        return self.head(self.encoder(X))


class _SkadaDiscriminator(nn.Module):
    """Single-logit discriminator behind skada's GradientReversalLayer."""

    def __init__(self, grl):
        super().__init__()
        self.grl = grl  # skada.deep.modules.GradientReversalLayer (lazy import)
        self.alpha = 1.0  # set every iteration by _SkadaSchedule
        self.net = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1))

    def forward(self, x, sample_weight=None):
        return self.net(self.grl.apply(x, self.alpha)).reshape(-1)


class _SkadaSchedule(Callback):
    """skuda's per-iteration GRL and lr schedules, for skada's DANN."""

    def __init__(self, total):
        self.total = total

    def initialize(self):
        self.it_ = 0
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        p = self.it_ / max(self.total - 1, 1)
        net.module_.domain_classifier_.alpha = 0.3 * grl_lambda(p)
        for g in net.optimizer_.param_groups:
            g["lr"] = 1e-3 * lr_factor(p)
        self.it_ += 1


def skada_available():
    """Whether ``skada.deep`` imports (imported here, lazily, only when wanted)."""
    try:
        import skada.deep  # noqa: F401
    except ImportError:
        return False
    return True


def skada_data(Xs, ys, Xt):
    """Build skada's inputs ``(X, y, sample_domain)`` for the same problem.

    Standardised rows (skada has no scaler of its own; skuda and the bare loop
    standardise with the mean and std of both domains), the source labels with
    -1 for target rows, and sample_domain 1 / -2.
    """
    X = np.concatenate([Xs, Xt])
    X = ((X - X.mean(0)) / X.std(0, ddof=1)).astype(np.float32)
    y = np.concatenate([ys, np.full(len(Xt), -1)]).astype(np.int64)
    sd = np.concatenate([np.ones(len(Xs)), np.full(len(Xt), -2)]).astype(np.int64)
    return X, y, sd


def skada_epochs(X, y, sd, epochs):
    """Fit skada.deep.DANN on the same problem.

    Returns epoch durations, iteration counts per epoch (from skorch's history)
    and the fitted net.
    """
    from skada.deep import DANN
    from skada.deep.modules import GradientReversalLayer

    torch.manual_seed(0)
    # iterations per epoch of skada's DomainBalancedSampler (max_samples="max")
    n_it = max(int((sd >= 0).sum()), int((sd < 0).sum())) // BS
    net = DANN(
        _SkadaBaseModule(),
        layer_name="encoder",
        reg=0.5,
        domain_classifier=_SkadaDiscriminator(GradientReversalLayer),
        domain_criterion=nn.BCEWithLogitsLoss(),
        batch_size=BS,
        max_epochs=epochs,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=1e-4,
        train_split=None,  # skuda and the bare loop hold no validation set out
        callbacks=[("dann_schedule", _SkadaSchedule(epochs * n_it))],
        device="cpu",
        verbose=0,
    )
    net.fit(X, y, sample_domain=sd)
    durs = [row["dur"] for row in net.history_]
    its = [row["train_batch_count"] for row in net.history_]
    return durs, its, net


def peak_rss_of_fit(contender="skuda"):
    """Return the peak RSS (MB) of a 2-epoch ``contender`` fit in a fresh process.

    ``"imports"``: the same process without data or fit (torch, skorch,
    scikit-learn and skuda imported).
    """
    fit = {
        "skuda": "from bench_speed import make_data, skuda_epochs;"
        "Xs, ys, Xt = make_data(); skuda_epochs(Xs, ys, Xt, 2);",
        "bare": "from bench_speed import make_data, bare_epochs;"
        "Xs, ys, Xt = make_data(); bare_epochs(Xs, ys, Xt, 2);",
        "skada": "from bench_speed import make_data, skada_data, skada_epochs;"
        "skada_epochs(*skada_data(*make_data()), 2);",
        "imports": "import bench_speed;",
    }[contender]
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r});"
        "import torch; torch.set_num_threads(2);"
        + fit
        + "from _common import peak_rss_mb; print(peak_rss_mb())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def _median_time(fn, repeats=10):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    """Time the contenders in interleaved rounds; print the comparison tables."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run --suite speed",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-skada",
        action="store_true",
        help="skip the skada contender (skipped anyway when not installed)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (default 2)"
    )
    parser.add_argument(
        "--no-rss", action="store_true", help="skip the peak-RSS subprocess fits"
    )
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch of a fit is dropped)")
    torch.set_num_threads(args.threads)
    use_skada = not args.no_skada
    if use_skada and not skada_available():
        print("skada not installed: pip install skada")
        use_skada = False
    Xs, ys, Xt = make_data()
    Xd, yd, sd = skada_data(Xs, ys, Xt) if use_skada else (None, None, None)
    Xt_skada, sd_t = (Xd[N:], sd[N:]) if use_skada else (None, None)

    # per contender: epoch durations, iterations of those epochs, fit wall times
    runs = {name: ([], [], []) for name in ("skuda", "bare", "skada")}
    fitted = {}

    def run_skuda():
        durs, clf = skuda_epochs(Xs, ys, Xt, args.epochs)
        fitted["skuda"] = clf.predict
        its = [row.get("train_batch_count", N_IT) for row in clf.history_]
        return durs, its

    def run_bare():
        durs, predict = bare_epochs(Xs, ys, Xt, args.epochs, return_predict=True)
        fitted["bare"] = predict
        return durs, [N_IT] * len(durs)

    def run_skada():
        durs, its, net = skada_epochs(Xd, yd, sd, args.epochs)
        fitted["skada"] = lambda: net.predict(Xt_skada, sample_domain=sd_t)
        return durs, its

    contenders = [("skuda", run_skuda), ("bare", run_bare)]
    if use_skada:
        contenders.append(("skada", run_skada))
    for r in range(args.rounds):  # interleave, rotating the order every round
        k = r % len(contenders)
        for name, fn in contenders[k:] + contenders[:k]:
            t0 = time.perf_counter()
            durs, its = fn()
            wall = time.perf_counter() - t0
            runs[name][0].extend(durs[1:])  # the first epoch includes warm-up
            runs[name][1].extend(its[1:])
            runs[name][2].append(wall)

    pred = {
        "skuda": _median_time(lambda: fitted["skuda"](Xt)),
        "bare": _median_time(lambda: fitted["bare"](Xt)),
    }
    if use_skada:
        pred["skada"] = _median_time(fitted["skada"])
    rss = None if args.no_rss else peak_rss_of_fit("skuda")
    rss_bare = None if args.no_rss else peak_rss_of_fit("bare")
    rss_imports = None if args.no_rss else peak_rss_of_fit("imports")
    rss_skada = None if args.no_rss or not use_skada else peak_rss_of_fit("skada")

    sk_m, bare_m = (
        statistics.median(runs["skuda"][0]),
        statistics.median(runs["bare"][0]),
    )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{N} + {N} rows x {D} features, batch {BS} per domain, "
        f"{args.epochs} epochs x {args.rounds} rounds per contender\n"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(
        f"| DANNClassifier epoch (median of {len(runs['skuda'][0])}) | {sk_m:.3f} s | |"
    )
    print(
        f"| bare PyTorch epoch (median of {len(runs['bare'][0])}) | {bare_m:.3f} s | |"
    )
    print(f"| ratio skuda / bare | {sk_m / bare_m:.3f} | <= 1.15 |")
    print(f"| predict on {N} rows (median of 10) | {pred['skuda']:.4f} s | <= 0.03 s |")
    if rss is not None:
        print(f"| peak RSS of a fit (fresh process) | {rss:.0f} MB | <= 500 MB |")
        print(f"| peak RSS of a bare-loop fit | {rss_bare:.0f} MB | |")
        print(f"| ratio skuda / bare (peak RSS) | {rss / rss_bare:.3f} | <= 1.10 |")
        print(f"| peak RSS of the imports alone | {rss_imports:.0f} MB | |")

    # three-way comparison, normalised per iteration (128 source + 128 target rows)
    names = [name for name, _ in contenders]
    per_it = {
        name: statistics.median(
            d / i for d, i in zip(runs[name][0], runs[name][1], strict=True)
        )
        for name in names
    }
    print(
        f"\nPer iteration = one optimizer step on {BS} source + {BS} target rows; "
        f"per pass = {N_IT} iterations (one skuda epoch: every row of the larger "
        "domain once). Medians over epochs, first epoch of each fit dropped; "
        "fit wall = whole fit() including set-up, median over rounds.\n"
    )
    print(
        "| contender | epoch (as run) | iterations / epoch | per iteration "
        f"| per pass ({N_IT} it.) | fit wall ({args.epochs} epochs) "
        f"| predict {N} rows |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in names:
        durs, its, walls = runs[name]
        print(
            f"| {name} | {statistics.median(durs):.3f} s "
            f"| {statistics.median(its):.0f} | {1e3 * per_it[name]:.2f} ms "
            f"| {N_IT * per_it[name]:.3f} s | {statistics.median(walls):.2f} s "
            f"| {pred[name]:.4f} s |"
        )
    print("\n| ratio (per iteration) | value | predict ratio |")
    print("|---|---|---|")
    pairs = [("skuda", "bare")]
    if use_skada:
        pairs += [("skada", "bare"), ("skada", "skuda")]
    for a, b in pairs:
        print(f"| {a} / {b} | {per_it[a] / per_it[b]:.3f} | {pred[a] / pred[b]:.2f} |")
    if rss_skada is not None:
        print(f"\npeak RSS of a skada fit (fresh process): {rss_skada:.0f} MB")
    summary = {
        "threads": torch.get_num_threads(),
        "epochs_x_rounds": f"{args.epochs}x{args.rounds}",
        **{f"{name}_ms_per_it": round(1e3 * per_it[name], 3) for name in names},
        "ratio_skuda_bare": round(per_it["skuda"] / per_it["bare"], 3),
        **{f"{name}_predict_s": round(pred[name], 4) for name in names},
        "rss_skuda_mb": None if rss is None else round(rss),
        "rss_bare_mb": None if rss is None else round(rss_bare),
        "rss_imports_mb": None if rss is None else round(rss_imports),
    }
    out = HERE / "results" / "speed.csv"
    new = not out.exists()
    with open(out, "a", newline="") as f:  # one row per run
        writer = csv.DictWriter(f, fieldnames=list(summary))
        if new:
            writer.writeheader()
        writer.writerow(summary)


if __name__ == "__main__":
    main()
