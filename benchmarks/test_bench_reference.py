"""The vectorised-numpy reference on the kernel's work (fixed behaviour, same scenario and sizes).

Compare with the ``kernel-fixed`` group: the ratio of the two is the first figure of the report.
"""

from __future__ import annotations

import pytest

from .configurations import SCHEME, SEED, SIZES
from .conftest import bench, record, suite_sizes
from .reference_numpy import simulate_numpy


@pytest.mark.parametrize("size", suite_sizes())
def test_numpy_reference_throughput(benchmark, sc, size):
    n = SIZES[size]
    benchmark.group = "numpy-reference"
    bench(benchmark, simulate_numpy, sc, SCHEME, n, SEED, rounds=2 if n <= 10_000 else 1)
    record(benchmark, sc, n)
