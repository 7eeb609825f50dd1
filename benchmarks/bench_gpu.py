"""DANNClassifier against the bare PyTorch loop on a GPU, data resident there.

The problem of ``bench_speed.py`` (20 000 + 20 000 rows x 50 features, 5
classes, batch 128 per domain, the same DANN maths in both contenders), with
both domains passed as CUDA tensors: skuda trains on them in place (no copy),
the bare loop indexes them directly. For each precision (``fp32``; ``bf16``
when the GPU supports it; ``fp16`` with loss scaling) the contenders' fits are
interleaved over ``--rounds`` rounds; the first epoch of every fit is dropped
(warm-up, cuDNN/cuBLAS autotuning) and medians are reported. Also measured:
``predict`` throughput on ``--predict-rows`` rows resident on the GPU, and the
peak GPU memory of a skuda fit (``torch.cuda.max_memory_allocated``).

Results go to ``benchmarks/results/gpu.csv`` (``--out`` to change).

Usage: ``python -m benchmarks.run --suite gpu [--epochs 4] [--rounds 3]
[--predict-rows 2000000]``. Needs CUDA; exits with a message without it.
``--device cpu`` runs the same script on the CPU (fp32 only, no GPU memory
figures): a dry run that checks the script, not a measurement.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import torch

if __package__:
    from .bench_speed import BS, PARAMS, N, bare_epochs, make_data
else:
    from bench_speed import BS, PARAMS, N, bare_epochs, make_data

from skuda import DANNClassifier

RESULTS = Path(__file__).resolve().parent / "results" / "gpu.csv"
N_IT = -(-N // BS)
AMP = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def skuda_fit(Xs, ys, Xt, epochs, precision, device):
    """Fit on tensors on ``device``; return epoch durations and the classifier."""
    params = dict(PARAMS, device=device)
    clf = DANNClassifier(
        max_epochs=epochs,
        random_state=0,
        mixed_precision=None if precision == "fp32" else precision,
        **params,
    )
    clf.fit(Xs, ys, Xt)
    _sync()
    return [row["dur"] for row in clf.history_], clf


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak_memory(reset=False):
    if not torch.cuda.is_available():
        return 0
    if reset:
        torch.cuda.reset_peak_memory_stats()
    return torch.cuda.max_memory_allocated()


def predict_throughput(predict, X, repeats=5):
    """Median rows per second of ``predict(X)`` (X on the device)."""
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        predict(X)
        _sync()
        times.append(time.perf_counter() - t0)
    return len(X) / statistics.median(times)


def run_precision(precision, data, args):
    """Interleaved skuda / bare fits at one precision; one result row."""
    Xs, ys, Xt = data
    amp = AMP[precision]
    skuda_durs, bare_durs, fitted = [], [], {}
    for r in range(args.rounds):
        order = ["skuda", "bare"] if r % 2 == 0 else ["bare", "skuda"]
        for name in order:
            if name == "skuda":
                _peak_memory(reset=True)
                durs, clf = skuda_fit(Xs, ys, Xt, args.epochs, precision, args.device)
                fitted["skuda"], fitted["peak"] = clf, _peak_memory()
                skuda_durs += durs[1:]
            else:
                durs, predict = bare_epochs(
                    Xs, ys, Xt, args.epochs, True, device=args.device, amp=amp
                )
                fitted["bare"] = predict
                bare_durs += durs[1:]
    X_pred = torch.randn(args.predict_rows, Xs.shape[1], device=args.device)
    sk, bare = statistics.median(skuda_durs), statistics.median(bare_durs)
    return {
        "precision": precision,
        "skuda_epoch_s": round(sk, 4),
        "bare_epoch_s": round(bare, 4),
        "skuda_ms_per_it": round(1e3 * sk / N_IT, 3),
        "bare_ms_per_it": round(1e3 * bare / N_IT, 3),
        "ratio": round(sk / bare, 3),
        "skuda_predict_rows_per_s": round(
            predict_throughput(fitted["skuda"].predict, X_pred)
        ),
        "bare_predict_rows_per_s": round(predict_throughput(fitted["bare"], X_pred)),
        "skuda_fit_peak_gpu_mb": round(fitted["peak"] / 2**20),
    }


def main(argv=None):
    """Time both contenders at every precision; print and save the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run --suite gpu",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--predict-rows", type=int, default=2_000_000)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: CUDA is not available; nothing measured.")
        return None
    Xs, ys, Xt = (torch.as_tensor(a).to(args.device) for a in make_data())
    precisions = ["fp32"]
    if args.device == "cuda":
        precisions += ["bf16", "fp16"] if torch.cuda.is_bf16_supported() else ["fp16"]
    rows = [run_precision(p, (Xs, ys, Xt), args) for p in precisions]
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU (dry run)"
    print(f"{name}, torch {torch.__version__}, {N} + {N} rows")
    print(
        "| precision | skuda ms/it | bare ms/it | ratio | predict rows/s skuda "
        "| bare | fit peak GPU MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['precision']} | {r['skuda_ms_per_it']} | {r['bare_ms_per_it']} "
            f"| {r['ratio']} | {r['skuda_predict_rows_per_s']:,} "
            f"| {r['bare_predict_rows_per_s']:,} | {r['skuda_fit_peak_gpu_mb']} |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
