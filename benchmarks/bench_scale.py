"""Scaling of DANNClassifier with the number of rows, on memory-mapped data.

DANN with its default network, 50 features, 5 classes, source = target rows
n in {1e5, 1e6, 1e7} by default. Each domain is written to disk as a float32
``.npy`` file (1e7 x 50 is 2 GB per domain, 4 GB in all, under ``--dir``,
deleted afterwards) and passed to ``fit`` as ``np.load(path, mmap_mode="r")``.
Every size runs in a fresh subprocess, which reports:

* ``setup``: seconds from ``fit`` to the first training batch (validation,
  the streaming pass of the input statistics, the first window);
* ``s / 1000 it``: seconds per 1000 training iterations (one iteration = one
  optimizer step on ``batch`` source + ``batch`` target rows), timed over
  ``--iterations`` iterations after ``--warmup`` (the fit is stopped then by a
  callback, as ``UnsupervisedEarlyStopping`` stops one);
* ``predict rows/s``: ``predict`` on the memory-mapped target rows (the first
  ``--predict-rows``, all by default), streamed in chunks;
* ``peak RSS``: the process's peak resident set size over the whole run
  (``VmHWM``, which counts mapped file pages too), and the RSS after the
  imports (psutil).

The files are written by this process before each child starts, so by default
they are in the OS page cache when the child reads them (``--cold`` evicts
them first with ``posix_fadvise``, so the first pass reads the disk).
Results go to ``benchmarks/results/scale.csv``; ``--plot PATH`` and ``--rst
PATH`` write the figure and table of the docs (``docs/benchmarks/scale.png``,
``docs/benchmarks/scale.inc``).

Usage: ``python -m benchmarks.run --suite scale [--sizes 1e5 1e6 1e7]
[--iterations 2000] [--threads 1] [--dir /tmp] [--plot PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D, C, BS = 50, 5, 128
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale.csv"
FIELDS = [
    "rows_per_domain",
    "data_gb",
    "setup_s",
    "s_per_1000_it",
    "predict_rows",
    "predict_rows_per_s",
    "peak_rss_mb",
    "imports_rss_mb",
]


def write_domains(directory, n, seed=0, chunk=10**6):
    """Write ``Xs``, ``ys``, ``Xt`` of ``n`` rows each under ``directory``; paths."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, C))
    paths = {k: Path(directory) / f"{k}_{n}.npy" for k in ("Xs", "ys", "Xt")}
    Xs = np.lib.format.open_memmap(paths["Xs"], "w+", np.float32, (n, D))
    Xt = np.lib.format.open_memmap(paths["Xt"], "w+", np.float32, (n, D))
    ys = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        block = rng.standard_normal((stop - start, D)).astype(np.float32)
        Xs[start:stop] = block
        ys[start:stop] = (block @ W).argmax(1)
        Xt[start:stop] = rng.standard_normal((stop - start, D)) * 1.2 + 0.3
    Xs.flush(), Xt.flush()
    del Xs, Xt
    np.save(paths["ys"], ys)
    return paths


def evict(paths):
    """Drop the files from the OS page cache (clean pages; no root needed)."""
    for path in paths.values():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def child(n, directory, iterations, warmup, threads, predict_rows):
    """Fit and predict in this (fresh) process; print one JSON line of results."""
    import psutil
    import torch
    from skorch.callbacks import Callback

    from benchmarks._common import peak_rss_mb
    from skuda import DANNClassifier

    torch.set_num_threads(threads)
    imports_rss = psutil.Process().memory_info().rss / 2**20
    paths = {k: Path(directory) / f"{k}_{n}.npy" for k in ("Xs", "ys", "Xt")}
    Xs = np.load(paths["Xs"], mmap_mode="r")
    Xt = np.load(paths["Xt"], mmap_mode="r")
    ys = np.load(paths["ys"])
    stamps = {}

    class Timer(Callback):
        """Record when the first batch starts and time the iterations after warmup."""

        def on_batch_begin(self, net, training=None, **kwargs):
            stamps.setdefault("first_batch", time.perf_counter())

        def on_batch_end(self, net, training=None, **kwargs):
            if net.iteration_ == warmup:
                stamps["start"] = time.perf_counter()
            if net.iteration_ == warmup + iterations:
                stamps["stop"] = time.perf_counter()
                raise KeyboardInterrupt  # skorch ends the fit cleanly

    clf = DANNClassifier(
        max_epochs=100, batch_size=BS, device="cpu", random_state=0, callbacks=[Timer()]
    )
    t0 = time.perf_counter()
    clf.fit(Xs, ys, Xt)
    rows = Xt if predict_rows is None else Xt[:predict_rows]
    t1 = time.perf_counter()
    clf.predict(rows)
    t_predict = time.perf_counter() - t1
    result = {
        "rows_per_domain": n,
        "data_gb": round(2 * n * D * 4 / 1e9, 3),
        "setup_s": round(stamps["first_batch"] - t0, 2),
        "s_per_1000_it": round(
            1000 * (stamps["stop"] - stamps["start"]) / iterations, 3
        ),
        "predict_rows": len(rows),
        "predict_rows_per_s": round(len(rows) / t_predict),
        "peak_rss_mb": round(peak_rss_mb()),
        "imports_rss_mb": round(imports_rss),
    }
    print(json.dumps(result))


def run_size(n, args):
    """Write the data of size ``n``, run the child on it, delete the data."""
    need = 2 * n * D * 4 + 16 * n + 2**28
    free = shutil.disk_usage(args.dir).free
    if free < 1.2 * need:
        print(f"skipping n={n:.0e}: {need / 1e9:.1f} GB needed, {free / 1e9:.1f} free")
        return None
    directory = tempfile.mkdtemp(prefix="skuda_scale_", dir=args.dir)
    try:
        paths = write_domains(directory, n)
        if args.cold:
            evict(paths)
        cmd = [  # -m from the repository root: this checkout's skuda
            sys.executable,
            "-m",
            "benchmarks.bench_scale",
            "--child",
            str(n),
            directory,
            str(args.iterations),
            str(args.warmup),
            str(args.threads),
            str(args.predict_rows or 0),
        ]
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=False, cwd=HERE.parent
        )
        if out.returncode != 0:
            raise RuntimeError(f"n={n}: child failed\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def print_table(rows):
    """Print the results as a Markdown table."""
    print(
        "| rows per domain | data | setup | s / 1000 it | predict rows/s "
        "| peak RSS | RSS after imports |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['rows_per_domain']:.0e} | {r['data_gb']:.2f} GB | {r['setup_s']} s "
            f"| {r['s_per_1000_it']} s | {r['predict_rows_per_s']:,} "
            f"| {r['peak_rss_mb']} MB | {r['imports_rss_mb']} MB |"
        )
    base = rows[0]["s_per_1000_it"]
    print("\ntime per iteration relative to the smallest size (target <= 1.3):")
    print(
        ", ".join(
            f"{r['rows_per_domain']:.0e}: {r['s_per_1000_it'] / base:.2f}" for r in rows
        )
    )


def write_rst(rows, path, threads):
    """Write the docs' table (an RST include) of ``rows``."""
    base = rows[0]["s_per_1000_it"]
    header = ["rows", "data", "setup", "s / 1000 it", "ratio", "predict rows/s"]
    header.append("peak RSS")
    cells = [
        [
            f"{r['rows_per_domain']:,}",
            f"{r['data_gb']:.2f} GB",
            f"{r['setup_s']:.1f} s",
            f"{r['s_per_1000_it']:.2f} s",
            f"{r['s_per_1000_it'] / base:.2f}",
            f"{r['predict_rows_per_s']:,}",
            f"{r['peak_rss_mb']} MB",
        ]
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)

    def line(values):
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))

    lines = [
        (
            "Measured with the files in the OS page cache"
            if rows[0]["cache"] == "warm"
            else "Measured with the files evicted from the OS page cache first"
        )
        + f", {threads} torch thread(s), on a shared 2-core machine (a few "
        "percent of noise in the times):",
        "",
        rule,
        line(header),
        rule,
        *(line(c) for c in cells),
        rule,
        "",
        "*rows*: per domain (source = target); *data*: both domains on disk; "
        "*setup*: from ``fit`` to the first batch (checks, the streaming pass of "
        "the statistics, the first windows); *ratio*: time per iteration "
        "against the smallest size; *peak RSS*: of the whole process (the "
        f"imports alone: {rows[0]['imports_rss_mb']} MB), fit and predict, "
        "mapped file pages included.",
        "",
    ]
    Path(path).write_text("\n".join(line_.rstrip() for line_ in lines))
    print(f"wrote {path}")


def plot(rows, path):
    """Draw time per iteration, peak RSS and predict throughput against rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["rows_per_domain"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    panels = [
        ("s_per_1000_it", "seconds per 1000 iterations", None),
        ("peak_rss_mb", "peak RSS (MB)", [1e3 * r["data_gb"] for r in rows]),
        ("predict_rows_per_s", "predict: rows per second", None),
    ]
    for ax, (key, label, data_mb) in zip(axes, panels, strict=True):
        ax.plot(n, [r[key] for r in rows], "o-", label="skuda, memmap input")
        if data_mb:
            ax.plot(n, data_mb, "k--", lw=1, label="size of the data")
            ax.set_yscale("log")
            ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("rows per domain (50 features)")
        ax.set_title(label, fontsize=10)
        ax.set_ylim(bottom=0 if not data_mb else None)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv=None):
    """Run every size in a fresh process; print and save the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run --suite scale",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--predict-rows", type=int, default=None)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--plot", default=None, help="write the figure here")
    parser.add_argument("--rst", default=None, help="write the docs table here")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes:
        result = run_size(int(size), args)
        if result is not None:
            result["cache"] = "cold" if args.cold else "warm"
            rows.append(result)
            print(json.dumps(result), flush=True)
    print_table(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*FIELDS, "cache"])
        writer.writeheader()
        writer.writerows(rows)
    if args.plot:
        plot(rows, args.plot)
    if args.rst:
        write_rst(rows, args.rst, args.threads)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        n, directory, its, warm, threads, pred = sys.argv[2:8]
        child(int(n), directory, int(its), int(warm), int(threads), int(pred) or None)
    else:
        main()
