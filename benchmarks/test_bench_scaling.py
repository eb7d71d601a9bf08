"""How cost grows: time and peak numpy memory of ``simulate`` at the named sizes (fixed
behaviour). Time per replication should be flat and memory should hold only the summary arrays.
The rounds are timed without ``tracemalloc`` (it also traces the kernel's scratch allocations and
slows the threads); one more run measures the traced peak, stored per replication-year in
``extra_info``. (The report measures the same in fresh processes, with resident memory too.)"""

from __future__ import annotations

import tracemalloc

import pytest

from . import harness as H
from .configurations import SIZES
from .conftest import bench, record, suite_sizes


@pytest.mark.parametrize("size", suite_sizes())
def test_scaling(benchmark, sc, size):
    n = SIZES[size]
    H.run_kernel(sc, 64)
    benchmark.group = "scaling"
    bench(benchmark, H.run_kernel, sc, n, rounds=2 if n <= 10_000 else 1)
    record(benchmark, sc, n)
    tracemalloc.start()
    try:
        H.run_kernel(sc, n)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    benchmark.extra_info["seconds_per_replication"] = benchmark.stats.stats.min / n
    benchmark.extra_info["traced_peak_bytes"] = peak
    benchmark.extra_info["traced_peak_per_replication_year"] = peak / (n * sc.simulation.horizon_years)
