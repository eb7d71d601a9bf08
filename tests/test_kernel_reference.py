"""Tier: the numba kernel against the plain-Python reference (tests/reference_sim.py) on the
same seeds. Tiny scenario (2 reps, 2 recorded years, quarterly components, true-up, a curve),
5 replications, seed 3: counts must be identical and money equal to the cent (float sums are
accumulated in a different order, so money is compared with atol 0.005)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small
from reference_sim import reference_run

from incentsim import scenario_from_dict
from incentsim.simulation import simulate

SCHEMES = {
    "mix": {
        "marketing": {
            "components": [
                {"measure": "appointments", "period": "quarter", "weight": 0.6, "payout": "step",
                 "steps": [[0.9, 0.5], [1.0, 1.0]]},
                {"measure": "sourced_bookings", "period": "year", "weight": 0.4, "payout": "linear", "cap": 1.5},
            ]
        },
        "sales": {
            "components": [
                {"measure": "own_bookings", "period": "quarter", "weight": 0.5, "true_up": True,
                 "payout": "curve", "points": [[0.5, 0], [1, 1], [1, 1.2], [2, 2]], "threshold": 0.6},
                {"measure": "team_margin", "period": "half", "weight": 0.3, "payout": "linear", "accelerator": 2},
                {"measure": "own_wins", "period": "month", "weight": 0.2, "payout": "step"},
            ]
        },
    },
    "commission": {"sales": {"measure": "own_bookings", "period": "month", "payout": "commission", "rate": 0.07}},
    # Quotas per rep from ability: a quarterly step with a true-up and an explicit commission on own wins,
    # each rep's targets scaled to its ability level's expected results.
    "quota": {
        "sales": {
            "components": [
                {"measure": "own_bookings", "period": "quarter", "weight": 1.0, "payout": "step", "true_up": True,
                 "steps": [[0.8, 0.5], [1.0, 1.0], [1.3, 1.6]], "target_by": "ability"},
                {"measure": "own_wins", "period": "half", "payout": "commission", "rate": 300.0, "cap": 1.4,
                 "target_by": "ability"},
            ]
        },
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny():
    d = small(
        simulation={"replications": 5, "seed": 3, "horizon_years": 2, "burn_in_years": 1, "behaviour": "fixed"},
        sales={"reps": 2, "calls_per_week": 5.0, "ability": {"levels": [0.8, 1.3], "weights": [0.5, 0.5]}},
        handoff={"delay_weeks": 1.5, "response_decay_per_week": 0.1, "ignored_share": 0.2, "recycle_share": 0.5},
        schemes=SCHEMES,
    )
    return scenario_from_dict(d)


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_kernel_equals_reference(tiny, scheme):
    res = simulate(tiny, scheme, replications=5, seed=3)
    ref = reference_run(tiny, scheme, 5, 3)
    m = res.metrics
    for idx, row in enumerate(ref):
        i, y = divmod(idx, tiny.simulation.horizon_years)
        for key in ("wins", "appointments", "leads"):
            assert m[key][i, y] == row[key], (key, i, y)
        for key in ("revenue", "margin_in_year", "bonus_sales", "bonus_marketing"):
            assert m[key][i, y] == pytest.approx(row[key], abs=0.005), (key, i, y)
        np.testing.assert_allclose(res.person[i, y, :2, 0], row["pay_rep"], atol=0.005)
    assert sum(r["wins"] for r in ref) > 20  # the scenario is not degenerate
    assert sum(r["bonus_sales"] for r in ref) > 0
