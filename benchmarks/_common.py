"""What the benchmark suites share.

Task names and data, result CSVs, tables and the target-accuracy oracle.
A task is named ``dataset:source:target`` with the dataset and domain names of
:func:`skuda.datasets.load_domain`, e.g. ``office_caltech:amazon:webcam``,
``mnist_usps:usps:mnist``, ``wine:red:white``, ``gas:batch1:batch2``,
``cwru:load0:load3`` and ``har:subject07:subject13``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from skuda.datasets import load_domain, load_har
from skuda.preprocessing import FFTMagnitude

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb():
    """Peak resident set size of this process, in MB (mapped file pages count).

    Linux: ``VmHWM`` of ``/proc/self/status``. Not ``ru_maxrss``: a child
    process inherits its parent's peak there (Linux records the old memory
    map's high-water mark at ``exec``), so a child of a large benchmark process
    reports at least the parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def argument_parser(doc, suite=None, **kwargs):
    """Build the parser of a suite's ``main``: ``doc``'s first line, then the rest."""
    return argparse.ArgumentParser(
        prog="python -m benchmarks.run" + (f" --suite {suite}" if suite else ""),
        description=doc.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc.split("\n\n", 1)[1],
        **kwargs,
    )


# -- tasks --------------------------------------------------------------------------


def task_name(dataset, source, target):
    """``("cwru", "load0", "load3")`` -> ``"cwru:load0:load3"``."""
    return f"{dataset}:{source}:{target}"


def parse_task(name):
    """``"cwru:load0:load3"`` -> ``("cwru", "load0", "load3")``."""
    parts = name.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(
            f"Task {name!r} is not 'dataset:source:target' with the names of "
            "skuda.datasets.load_domain, e.g. 'cwru:load0:load3' or "
            "'har:subject07:subject13'."
        )
    return tuple(parts)


def task_type(datasets=None):
    """Return an argparse ``type`` that checks a task name (and its dataset)."""

    def check(name):
        try:
            dataset = parse_task(name)[0]
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if datasets is not None and dataset not in datasets:
            raise argparse.ArgumentTypeError(
                f"task {name!r}: the dataset must be one of {', '.join(datasets)}"
            )
        return name

    return check


def short_domain(domain):
    """Shorten a domain for the tables: ``load3`` -> ``3``, ``subject07`` -> ``7``."""
    for prefix in ("load", "subject"):
        number = domain.removeprefix(prefix)
        if number != domain and number.isdigit():
            return str(int(number))
    return domain


class TaskData(NamedTuple):
    """One task's arrays; the model is scored on ``X_test, y_test``.

    ``X_test`` is ``X_tgt`` (transductive protocol), except for HAR where it
    holds the target subject's test rows (AdaTime's protocol).
    """

    X_src: np.ndarray
    y_src: np.ndarray
    X_tgt: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_task(name):
    """Load the :class:`TaskData` of a task named ``dataset:source:target``."""
    dataset, source, target = parse_task(name)
    if dataset == "har":
        X_src, y_src, _, _ = load_har(source)
        X_tgt, _, X_test, y_test = load_har(target)
        return TaskData(X_src, y_src, X_tgt, X_test, y_test)
    X_src, y_src = load_domain(dataset, source)
    X_tgt, y_tgt = load_domain(dataset, target)
    return TaskData(X_src, y_src, X_tgt, X_tgt, y_tgt)


def log_spectra(data):
    """Return ``data`` with every input replaced by its log FFT magnitude.

    The :class:`~skuda.preprocessing.FFTMagnitude` is fitted on the source rows.
    """
    return transform_inputs(data, FFTMagnitude(log=True).fit(data.X_src).transform)


def transform_inputs(data, transform):
    """Return ``data`` with ``transform`` applied to each of its input arrays.

    ``X_test`` stays the same object as ``X_tgt`` when it was (transductive).
    """
    X_tgt = transform(data.X_tgt)
    same = data.X_test is data.X_tgt
    return data._replace(
        X_src=transform(data.X_src),
        X_tgt=X_tgt,
        X_test=X_tgt if same else transform(data.X_test),
    )


class TargetAccuracyOracle:
    """Accuracy on labelled target rows: the oracle of the benchmarks.

    It needs target labels, so it is never available in unsupervised domain
    adaptation; the benchmarks report it next to the label-free scorers. A
    scorer callable (``scorer(estimator, X, y)``) that ignores the rows it is
    called with and returns the fraction of ``y_tgt`` that
    ``estimator.predict(X_tgt)`` gets right.
    """

    def __init__(self, X_tgt, y_tgt):
        self.X_tgt = X_tgt
        self.y_tgt = y_tgt

    def __call__(self, estimator, X=None, y=None, sample_weight=None):
        return float(np.mean(estimator.predict(self.X_tgt) == np.asarray(self.y_tgt)))

    def __repr__(self):
        return f"TargetAccuracyOracle(<{len(self.y_tgt)} labelled rows>)"


# -- result files -------------------------------------------------------------------


def append_row(path, columns, row, *, new=False):
    """Append ``row`` to the CSV at ``path``, header first when the file is new.

    ``new=True`` starts the file over (a run's first row, for the suites that
    do not resume). The file is opened and closed for every row, so an
    interrupted run keeps every row finished before it stopped.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w" if new else "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        if f.tell() == 0:
            writer.writeheader()
        writer.writerow(row)


def read_rows(paths, columns):
    """Read the rows of result CSVs, each value cast by ``columns[name]``.

    ``paths`` is one path or a list of them; ``columns`` maps a column name to
    its type (columns not in it stay strings).
    """
    rows = []
    for path in [paths] if isinstance(paths, str | Path) else paths:
        with open(path, newline="") as f:
            rows += [
                {k: columns.get(k, str)(v) for k, v in r.items()}
                for r in csv.DictReader(f)
            ]
    return rows


# -- tables -------------------------------------------------------------------------


def markdown(header, body):
    """Format a markdown table from a header row and body rows (lists of strings)."""

    def line(cells):
        return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"

    return "\n".join([line(header), "|---" * len(header) + "|", *map(line, body)])


def rst(header, body):
    """Format the same table as an RST ``csv-table`` (markdown emphasis dropped)."""

    def row(cells):
        return ", ".join('"{}"'.format(c.replace("*", "")) for c in cells)

    lines = [".. csv-table::", "   :header: " + row(header), ""]
    lines += ["   " + row(r) for r in body]
    return "\n".join(lines) + "\n"


def mean_std(values):
    """``"mean ± std"`` with one decimal."""
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}"
