"""skuda's benchmark suites: one entry point.

Usage::

    python -m benchmarks.run --suite tabular [--quick] ...   # benchmarks/tabular.py
    python -m benchmarks.run --suite signals ...             # benchmarks/signals.py
    python -m benchmarks.run --suite selection ...           # benchmarks/selection.py
    python -m benchmarks.run --suite search ...              # benchmarks/search.py
    python -m benchmarks.run --suite multisource ...         # benchmarks/multisource.py
    python -m benchmarks.run --suite regression ...          # benchmarks/regression.py
    python -m benchmarks.run --suite defaults ...            # defaults_study.py
    python -m benchmarks.run --suite speed ...               # benchmarks/bench_speed.py
    python -m benchmarks.run --suite methods ...             # bench_methods.py
    python -m benchmarks.run --suite scale ...               # benchmarks/bench_scale.py
    python -m benchmarks.run --suite gpu ...                 # benchmarks/bench_gpu.py
    python -m benchmarks.run --suite sparse ...              # bench_sparse.py
    python -m benchmarks.run --suite tabular --help          # a suite's own options

Every argument after ``--suite NAME`` goes to that suite's ``main(argv)``; each
suite also runs on its own (``python -m benchmarks.signals ...``). Tasks are
named ``dataset:source:target`` with the dataset and domain names of
:func:`skuda.datasets.load_domain`: ``office_caltech:amazon:webcam``,
``mnist_usps:usps:mnist``, ``wine:red:white``, ``gas:batch1:batch2``,
``cwru:load0:load3``, ``har:subject07:subject13``.
"""

from __future__ import annotations

if __package__:  # python -m benchmarks.run
    from . import _common as common
    from . import (
        bench_gpu,
        bench_methods,
        bench_scale,
        bench_sparse,
        bench_speed,
        defaults_study,
        multisource,
        regression,
        search,
        selection,
        signals,
        tabular,
    )
else:  # python benchmarks/run.py
    import _common as common
    import bench_gpu
    import bench_methods
    import bench_scale
    import bench_sparse
    import bench_speed
    import defaults_study
    import multisource
    import regression
    import search
    import selection
    import signals
    import tabular

SUITES = {
    "tabular": tabular,
    "signals": signals,
    "selection": selection,
    "search": search,
    "multisource": multisource,
    "regression": regression,
    "defaults": defaults_study,
    "speed": bench_speed,
    "methods": bench_methods,
    "scale": bench_scale,
    "gpu": bench_gpu,
    "sparse": bench_sparse,
}


def main(argv=None):
    """Run the suite named by ``--suite`` with the remaining arguments."""
    # no help of its own: a --help after --suite NAME is that suite's
    parser = common.argument_parser(__doc__, add_help=False, allow_abbrev=False)
    parser.add_argument("--suite", choices=list(SUITES))
    parser.add_argument("-h", "--help", action="store_true")
    args, rest = parser.parse_known_args(argv)
    if args.suite is None:
        if args.help:
            parser.print_help()
            return None
        parser.error("the following arguments are required: --suite")
    return SUITES[args.suite].main([*rest, "--help"] if args.help else rest)


if __name__ == "__main__":
    main()
