"""Named benchmark sizes, the workload and the targets, as data (shared by the suites and the report).

A *replication* is one simulated company history: ``burn_in_years`` unrecorded years plus
``horizon_years`` recorded ones, for ``reps`` sales reps and a marketing team, 52 weeks a year.
Throughput is counted in

* **rep-weeks** simulated (reps x weeks, burn-in included: the work the kernel does), and
* **company-years**: *simulated* (burn-in included) and *recorded* (what a user gets).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The workload: the bundled 8-rep company (marketing team, 3 schemes, optimising behaviour).
SCENARIO = ROOT / "scenarios" / "separate-vs-shared.toml"
#: The scheme timed in the throughput benchmarks (the scenario's baseline).
SCHEME = "separate"
#: Root seed of every benchmark run (timings do not depend on it; distributions tests state it).
SEED = 20261123

#: Named sizes, in replications (one recorded year each for the bundled scenario).
SIZES: dict[str, int] = {
    "small": 1_000,
    "medium": 10_000,
    "large": 100_000,
}
#: Sizes the pytest-benchmark suites run by default (``INCENTSIM_BENCH_SIZES=small,medium,large``
#: for all of them).
DEFAULT_SUITE_SIZES = ("small", "medium")

#: Replications of the head-to-head runs in the report (kernel, numpy reference, random-number
#: bound, 1 vs 2 threads): big enough that a run lasts about a second, small enough for best-of-3.
COMPARE_REPLICATIONS = 4_000
#: Replications of the numpy reference and kernel in the distribution check (tests/ and report).
CHECK_REPLICATIONS = 4_000
#: Replications run under NUMBA_DISABLE_JIT with counting samplers, to count the kernel's draws.
COUNT_REPLICATIONS = 20
#: Replications of the warm/cold ``incentsim compare`` run, end to end.
CLI_REPLICATIONS = 10_000
#: Repeats of every timing (the best is kept: other processes share this 2-core machine).
REPEAT = 3
#: Thread counts for the scaling figure.
THREADS = (1, 2)


@dataclass(frozen=True)
class Target:
    """One ratio the report checks, with its threshold and direction."""

    name: str
    threshold: float
    higher_is_better: bool
    unit: str
    description: str

    def passes(self, value: float | None) -> bool | None:
        """True/False against the threshold; None when there is no value."""
        if value is None:
            return None
        return value >= self.threshold if self.higher_is_better else value <= self.threshold


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "kernel_vs_numpy",
            6.0,
            True,
            "x",
            "kernel (all cores) vs vectorised-numpy reference, same work, fixed behaviour",
        ),
        Target(
            "kernel_vs_rng_bound",
            0.75,
            True,
            "",
            "kernel throughput / random-number bound throughput (same draws, no bookkeeping)",
        ),
        Target("threads_2_vs_1", 1.8, True, "x", "kernel speed-up from 1 to 2 threads"),
        Target(
            "per_replication_drift",
            0.20,
            False,
            "",
            "time per replication, 1k -> 100k replications, relative change",
        ),
        Target(
            "memory_per_replication_year",
            1024.0,
            False,
            "B",
            "peak memory growth per replication-year, 1k -> 100k",
        ),
        Target(
            "compare_warm_seconds",
            5.0,
            False,
            " s",
            "incentsim compare, 10,000 replications x 3 schemes, warm caches, end to end",
        ),
        # Issue 17: where users wait.
        Target(
            "fresh_demo_seconds",
            60.0,
            False,
            " s",
            "make demo from a fresh clone with an empty home, after make install (compile + calibrate + run)",
        ),
        Target(
            "fresh_demo_longest_silence",
            5.0,
            False,
            " s",
            "make demo in a terminal: the longest stretch without new output (progress shown throughout)",
        ),
        Target(
            "fresh_second_compare_seconds",
            5.0,
            False,
            " s",
            "the second incentsim compare of the bundled scenario after make demo (default replications)",
        ),
        Target(
            "compare_cold_seconds",
            30.0,
            False,
            " s",
            "first incentsim compare with cold caches (compile + calibrate + solve + run), default replications",
        ),
        Target("compare_imports_seconds", 0.5, False, " s", "imports of a warm incentsim compare (-X importtime)"),
        Target(
            "company_years_per_minute_optimising",
            1_000_000.0,
            True,
            "",
            "recorded 8-rep company-years per minute, optimising behaviour, kernel on all cores",
        ),
        Target("calibration_cold_seconds", 1.0, False, " s", "calibrate(), no cache, a nearby scenario"),
        Target(
            "calibration_warm_seconds",
            0.3,
            False,
            " s",
            "calibrate(start=...) warm-started from the solved benchmark scenario",
        ),
    )
}
