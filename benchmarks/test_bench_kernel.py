"""Kernel throughput at the named sizes, fixed and optimising behaviour (policy solved outside the
timed part), after a warm-up call that compiles or loads the kernel."""

from __future__ import annotations

import pytest

from . import harness as H
from .configurations import SIZES
from .conftest import bench, record, suite_sizes


@pytest.mark.parametrize("behaviour", ["fixed", "optimising"])
@pytest.mark.parametrize("size", suite_sizes())
def test_kernel_throughput(benchmark, sc, size, behaviour):
    n = SIZES[size]
    if behaviour == "optimising":
        H.solved()  # solve once, outside the timing
    H.run_kernel(sc, 64, behaviour)  # warm-up: compile or load from the cache
    benchmark.group = f"kernel-{behaviour}"
    bench(benchmark, H.run_kernel, sc, n, behaviour, rounds=3 if n <= 10_000 else 1)
    record(benchmark, sc, n)
