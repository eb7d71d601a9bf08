"""How cost grows: time and peak numpy memory of ``simulate`` at the named sizes (fixed
behaviour). Time per replication should be flat and memory should hold only the summary arrays;
``extra_info`` has the traced peak per replication-year. (The report measures the same in fresh
processes, with resident memory too.)"""

from __future__ import annotations

import tracemalloc

import pytest

from . import harness as H
from .configurations import SIZES
from .conftest import record, suite_sizes


@pytest.mark.parametrize("size", suite_sizes())
def test_scaling(benchmark, sc, size):
    n = SIZES[size]
    H.run_kernel(sc, 64)
    peaks = []

    def run():
        tracemalloc.start()
        try:
            H.run_kernel(sc, n)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()

    benchmark.group = "scaling"
    benchmark.pedantic(run, rounds=2 if n <= 10_000 else 1, iterations=1)
    record(benchmark, sc, n)
    best = benchmark.stats.stats.min
    benchmark.extra_info["seconds_per_replication"] = best / n
    benchmark.extra_info["traced_peak_bytes"] = max(peaks)
    benchmark.extra_info["traced_peak_per_replication_year"] = max(peaks) / (n * sc.simulation.horizon_years)
