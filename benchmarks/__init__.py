"""Benchmarks of incentsim: the kernel against a vectorised-numpy reference, the random-number bound
and the machine (run ``make bench`` for the pytest-benchmark suites, ``make bench-report`` for one table)."""
