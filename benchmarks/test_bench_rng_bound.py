"""The random-number bound: the kernel's draws (same counts, kinds and parameters, counted in the
real kernel) with no bookkeeping; and the stream seeding alone."""

from __future__ import annotations

import numpy as np
import pytest

from .configurations import SIZES
from .conftest import bench, record, suite_sizes
from .rng_bound import run_bound


@pytest.mark.parametrize("size", suite_sizes())
def test_rng_bound(benchmark, sc, draw_plan, size):
    n = SIZES[size]
    run_bound(draw_plan, 8)  # warm-up
    benchmark.group = "rng-bound"
    bench(benchmark, run_bound, draw_plan, n, rounds=3 if n <= 10_000 else 1)
    record(benchmark, sc, n)


def test_stream_seeding_only(benchmark, sc, draw_plan):
    n = SIZES["medium"]
    none = np.zeros(draw_plan.kind.shape[0], np.int64)
    run_bound(draw_plan, 8, active=none)
    benchmark.group = "rng-bound"
    bench(benchmark, run_bound, draw_plan, n, active=none, rounds=3)
    record(benchmark, sc, n)
