"""skuda benchmarks: ``python -m benchmarks.run --help``."""
