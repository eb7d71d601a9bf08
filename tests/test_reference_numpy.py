"""Tier: the vectorised-numpy reference (benchmarks/reference_numpy.py) against the numba kernel.

Two independent implementations of the same funnel model must give the same *distribution* of
each figure per replication-year (different generators: numpy's PCG64 vs our xoshiro streams, so
not draw for draw): for every figure in ``FIELDS`` (wins, revenue, in-year margin, leads,
appointments, genuine / worked / ignored / cold appointments, self-prospected appointments, wins
by source, sourced bookings, bonuses),

* means within 4 standard errors of their difference, and
* variances within 15 % of each other (at N = 4,000 per side that is 4 or more standard errors of
  the variance ratio for these figures),

with N = 4,000 replications each, numpy seed 11 and kernel seed 12 (fixed seeds: the test is
deterministic). Cases: the bundled 8-rep company under its hybrid scheme (two pay components per
role), and a small company with every hand-off lever on and quarterly pay with a true-up and a
ratchet over two recorded years. The reference is also what ``benchmarks`` times the kernel
against.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS, small

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.reference_numpy import FIELDS, compare_distributions, kernel_fields, simulate_numpy  # noqa: E402

from incentsim import load_scenario, scenario_from_dict  # noqa: E402
from incentsim.simulation import simulate  # noqa: E402

N = 4000
NUMPY_SEED = 11
KERNEL_SEED = 12
VAR_TOL = 0.15


def _levers():
    """A small company with every hand-off lever on (service level, ignoring, recycling,
    duplicates, feedback), quarterly pay with a true-up, a ratchet and two recorded years."""
    d = small(
        simulation={
            "replications": N,
            "seed": 1,
            "horizon_years": 2,
            "burn_in_years": 1,
            "behaviour": "fixed",
        },
        handoff={
            "delay_weeks": 1.5,
            "response_decay_per_week": 0.1,
            "ignored_share": 0.2,
            "recycle_share": 0.5,
            "sla_weeks": 2,
            "duplicated_share": 0.1,
            "feedback_gain": 0.3,
        },
        schemes={
            "quarterly": {
                "marketing": {
                    "measure": "sourced_bookings",
                    "period": "quarter",
                    "payout": "step",
                    "steps": [[0.9, 0.5], [1.0, 1.0]],
                },
                "sales": {
                    "measure": "own_bookings",
                    "period": "quarter",
                    "true_up": True,
                    "payout": "linear",
                    "cap": 1.5,
                    "ratchet": {"up": 0.5, "down": 0.2},
                },
            }
        },
    )
    return scenario_from_dict(d)


CASES = {
    "bundled-hybrid": (lambda: load_scenario(SCENARIOS / "separate-vs-shared.toml"), "hybrid"),
    "levers-quarterly": (_levers, "quarterly"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_numpy_reference_has_the_kernels_distribution(case):
    make, scheme = CASES[case]
    sc = make()
    ref = simulate_numpy(sc, scheme, N, seed=NUMPY_SEED)
    res = simulate(sc, scheme, replications=N, seed=KERNEL_SEED, behaviour="fixed")
    rows = compare_distributions(kernel_fields(res), ref, FIELDS, var_tol=VAR_TOL)
    bad = {k: v for k, v in rows.items() if not v["ok"]}
    assert not bad, bad
    assert rows["wins"]["mean_kernel"] > 10  # not a degenerate scenario
    assert rows["revenue"]["mean_kernel"] > 0
