"""Thread scaling: the kernel (fixed behaviour) and the random-number bound on 1 and 2 threads
(numba's ``set_num_threads`` in this process). If the bound does not scale either, the machine
(another process on the second core) is the limit, not the kernel."""

from __future__ import annotations

import pytest

from . import harness as H
from .configurations import COMPARE_REPLICATIONS, THREADS
from .conftest import bench, record
from .rng_bound import run_bound


@pytest.mark.parametrize("n_threads", THREADS)
def test_kernel_threads(benchmark, sc, n_threads):
    n = COMPARE_REPLICATIONS
    benchmark.group = "threads-kernel"
    with H.threads(n_threads):
        H.run_kernel(sc, 64)
        bench(benchmark, H.run_kernel, sc, n, rounds=3)
    benchmark.extra_info["threads"] = n_threads
    record(benchmark, sc, n)


@pytest.mark.parametrize("n_threads", THREADS)
def test_rng_bound_threads(benchmark, sc, draw_plan, n_threads):
    n = COMPARE_REPLICATIONS
    benchmark.group = "threads-rng-bound"
    with H.threads(n_threads):
        run_bound(draw_plan, 8)
        bench(benchmark, run_bound, draw_plan, n, rounds=3)
    benchmark.extra_info["threads"] = n_threads
    record(benchmark, sc, n)
