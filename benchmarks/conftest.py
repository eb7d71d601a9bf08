"""Fixtures of the pytest-benchmark suites (``make bench``: ``pytest benchmarks --benchmark-only``).

Sizes come from ``configurations.SIZES``; by default the suites run ``small`` and ``medium``, and
``INCENTSIM_BENCH_SIZES=small,medium,large`` adds ``large``. Every benchmark runs its warm-up
outside the timed rounds and records its throughput (rep-weeks and company-years per second) in
``extra_info``, so ``--benchmark-json`` output carries the figures.
"""

from __future__ import annotations

import os
import time

import pytest

from . import harness as H
from .configurations import DEFAULT_SUITE_SIZES, SCENARIO, SCHEME, SEED, SIZES


def suite_sizes() -> list[str]:
    """Size names to benchmark (``INCENTSIM_BENCH_SIZES``, default ``DEFAULT_SUITE_SIZES``)."""
    env = os.environ.get("INCENTSIM_BENCH_SIZES")
    names = [s.strip() for s in env.split(",")] if env else list(DEFAULT_SUITE_SIZES)
    unknown = [s for s in names if s not in SIZES]
    if unknown:
        raise ValueError(f"INCENTSIM_BENCH_SIZES: unknown size(s) {unknown}; known: {list(SIZES)}")
    return names


@pytest.fixture(scope="session")
def sc():
    """The bundled 8-rep company."""
    return H.scenario()


@pytest.fixture(scope="session")
def draw_counts():
    """The kernel's draws per call site (counted once per session, in a subprocess)."""
    from .configurations import COUNT_REPLICATIONS
    from .draw_counts import count_in_subprocess

    return count_in_subprocess(str(SCENARIO), SCHEME, COUNT_REPLICATIONS, SEED)


@pytest.fixture(scope="session")
def draw_plan(draw_counts):
    """The random-number bound's plan (see ``rng_bound``)."""
    from .rng_bound import plan_from_counts

    return plan_from_counts(draw_counts)


def bench(benchmark, fn, *args, rounds: int = 3, **kwargs):
    """``benchmark.pedantic(fn, args, kwargs, rounds)``, also storing the CPU cores the rounds used
    on average (process CPU time over wall time: below ~1.8 for a 2-thread run means another
    process had part of the machine) in ``extra_info["cpu_cores_used"]``."""
    t0, c0 = time.perf_counter(), os.times()
    value = benchmark.pedantic(fn, args=args, kwargs=kwargs, rounds=rounds, iterations=1)
    wall, c1 = time.perf_counter() - t0, os.times()
    benchmark.extra_info["cpu_cores_used"] = (c1.user + c1.system - c0.user - c0.system) / wall if wall else 0.0
    return value


def record(benchmark, sc, replications: int) -> None:
    """Store the work and the throughput of the best round in ``benchmark.extra_info`` (nothing to
    store under ``--benchmark-disable``, which runs each benchmark once untimed)."""
    if benchmark.stats is None:
        return
    best = benchmark.stats.stats.min
    benchmark.extra_info["replications"] = replications
    benchmark.extra_info.update(H.work(sc, replications))
    benchmark.extra_info.update(H.throughput(sc, replications, best))
