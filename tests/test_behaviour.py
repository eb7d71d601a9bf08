"""Tier: behaviour that must emerge from the policy solver (docs/model/equilibrium.md), each on a purpose-built
scenario, on common random numbers.

Every check compares schemes (or states) where only the scheme differs; each would fail with
the solver replaced by fixed effort (the controls at the end show the differences vanish).
Effort costs are set explicitly (no calibration) to keep the tests fast. Simulation checks use
seed 5 and N = 600 replications x 4 reps, and require the paired 95 % confidence interval of
the difference to exclude zero in the stated direction.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small

from incentsim import scenario_from_dict
from incentsim.comparison import compare
from incentsim.model.policy import solve_policy
from incentsim.stats import paired_difference

N = 600


def _sales_only(schemes, sales=None, behaviour=None, replications=N):
    beh = {
        "effort_cost_sales": 40000.0, "effort_cost_marketing": 10000.0, "quality_cost_marketing": 0.0,
        "implicit_incentive": 0.0, "grid_points": 81,
    }  # fmt: skip
    beh.update(behaviour or {})
    sal = {"reps": 4, "calls_per_week": 8.0, "bonus_at_target": 20000.0, "ability": {"levels": [1.0], "weights": [1.0]}}
    sal.update(sales or {})
    d = small(
        simulation={"replications": replications, "seed": 5, "behaviour": "optimising"},
        marketing={"headcount": 0, "leads_per_week": 0.0},
        sales=sal,
        behaviour=beh,
        schemes=schemes,
    )
    return scenario_from_dict(d)


def _effort(solved, level, week, attainment):
    return solved.effort("sales", level, week, attainment)


def _above_zero(cmp, a, metric, b=None):
    d = cmp.difference(a, metric, b)
    assert d.ci95[0] > 0, (metric, d.mean, d.ci95)


STEP = {"sales": {"measure": "own_bookings", "payout": "step"}}
LINEAR = {"sales": {"measure": "own_bookings", "payout": "commission"}}


def test_give_up_far_below_threshold_late_in_the_year():
    sc = _sales_only({"step": STEP})
    solved = solve_policy(sc, sc.schemes["step"])
    for week in (38, 41, 44):  # output of later weeks lands partly in next year
        far, near = _effort(solved, 0, week, 0.2), _effort(solved, 0, week, 0.85)
        assert far < 0.6 * near, (week, far, near)
        # Gave up on this year: close to the least effort (what still lands in January is worth a
        # little towards next year's target).
        assert far < min(sc.behaviour.effort_levels) + 0.2


def test_hockey_stick_under_an_annual_step():
    # Impatient reps (annual discount 0.5) who cannot coast below normal effort or hold deals back
    # (a held deal is lost): an annual step bonus back-loads effort and pulls deals into December;
    # monthly commission paid as earned does not.
    sc = _sales_only(
        {
            "commission": {"sales": {"measure": "own_bookings", "period": "month", "payout": "commission"}},
            "step": {"sales": {"measure": "own_bookings", "payout": "step", "target_level": 1.1}},
        },
        behaviour={"annual_discount": 0.5, "hold_back_loss": 1.0, "effort_levels": [1.0, 1.2, 1.4]},
    )
    cmp = compare(sc)
    # Share of the year's revenue closed in December (the last month of the annual period; for
    # monthly commission every month is a period end, so compare December itself).
    december = {s: r.month[..., 11] / r.month.sum(axis=2) for s, r in cmp.results.items()}
    d = paired_difference(december["step"], december["commission"])
    assert d.ci95[0] > 0, (d.mean, d.ci95)
    assert cmp.summaries["step"]["deals_pulled_in"].mean > 0.1
    effort = cmp.results["step"].effort_week.mean(axis=0)
    assert effort[40:52].mean() > effort[0:12].mean() + 0.05  # effort builds toward the deadline


def test_coasting_above_a_cap():
    sc = _sales_only({"capped": {"sales": {"measure": "own_bookings", "payout": "linear", "cap": 1.0}}})
    solved = solve_policy(sc, sc.schemes["capped"])
    lowest = min(sc.behaviour.effort_levels)
    for week in (10, 26, 45):
        assert _effort(solved, 0, week, 1.3) < lowest + 0.15  # nothing more to earn: coast
        assert _effort(solved, 0, week, 0.3) > lowest + 0.3


def test_hold_back_under_a_cap_or_a_ratchet():
    sc = _sales_only(
        {
            "linear": LINEAR,
            "capped": {"sales": {"measure": "own_bookings", "payout": "linear", "cap": 1.0}},
            "ratchet": {"sales": {"measure": "own_bookings", "payout": "linear", "ratchet": {"up": 1.0}}},
        },
        sales={"ability": {"levels": [0.7, 1.3], "weights": [0.5, 0.5]}},
    )
    cmp = compare(sc)
    _above_zero(cmp, "capped", "deals_held_back", "linear")
    _above_zero(cmp, "ratchet", "deals_held_back", "linear")


def test_quality_gaming_when_marketing_is_paid_per_appointment():
    d = small(
        simulation={"replications": N, "seed": 5, "behaviour": "optimising"},
        marketing={"headcount": 2, "leads_per_week": 40.0, "bonus_at_target": 8000.0},
        sales={"reps": 4, "calls_per_week": 4.0, "bonus_at_target": 12000.0},
        behaviour={
            "effort_cost_sales": 40000.0, "effort_cost_marketing": 20000.0, "quality_cost_marketing": 0.0,
            "implicit_incentive": 0.0,
        },  # fmt: skip
        schemes={
            "per-appointment": {"preset": "separate"},
            "shared": {"preset": "shared"},
        },
    )
    sc = scenario_from_dict(d)
    cmp = compare(sc)
    _above_zero(cmp, "shared", "marketing_quality", "per-appointment")
    _above_zero(cmp, "per-appointment", "appointments", "shared")
    _above_zero(cmp, "shared", "appointment_win_rate", "per-appointment")


def test_weaker_reps_work_more_evenly_under_quarterly_targets():
    # Weaker reps (ability 0.85 against a target set for the average rep) start an annual step
    # year trying and give up as they fall behind; quarterly steps give them a fresh chance each
    # quarter. Spread = standard deviation over the 52 weeks of the weak level's expected effort.
    sc = _sales_only(
        {
            "annual": STEP,
            "quarterly": {"sales": {"measure": "own_bookings", "period": "quarter", "payout": "step"}},
        },
        sales={"ability": {"levels": [0.85, 1.15], "weights": [0.5, 0.5]}},
    )
    spread = {}
    for name in sc.schemes:
        solved = solve_policy(sc, sc.schemes[name])
        spread[name] = float(np.std(solved.sales_effort_week[0]))
    assert spread["quarterly"] < spread["annual"], spread
    # The simulation agrees: the team's mean effort varies less from week to week (N = 300).
    cmp = compare(sc, replications=300)
    by_week = {name: float(np.std(res.effort_week.mean(axis=0))) for name, res in cmp.results.items()}
    assert by_week["quarterly"] < by_week["annual"], by_week


@pytest.mark.parametrize("scheme", ["step", "capped"])
def test_controls_fixed_behaviour_shows_no_differences(scheme):
    sc = _sales_only(
        {
            "linear": LINEAR,
            "step": STEP,
            "capped": {"sales": {"measure": "own_bookings", "payout": "linear", "cap": 1.0}},
        },
        replications=200,
    )
    cmp = compare(sc, ["linear", scheme], behaviour="fixed")
    for metric in ("revenue", "period_end_revenue_share", "deals_held_back", "deals_pulled_in", "mean_effort"):
        d = cmp.difference(scheme, metric)
        assert d.mean == 0 and d.ci95 == (0.0, 0.0), metric


def test_a_policy_that_changes_with_the_week_is_read_every_week():
    """The kernel reads a policy that chooses the same every week (fixed behaviour) only in a
    replication's first week; one that changes with the week must still be read weekly. Sales'
    effort 1.0 then 1.4 from week 30, marketing's effort doubled from week 30, deals held back in
    week 51: seed 4, 40 replications x 2 reps, the exact recorded effort and clear differences."""
    from incentsim.compile import component_index, fixed_policy
    from incentsim.simulation import simulate

    sc = scenario_from_dict(small(simulation={"replications": 40, "seed": 4, "behaviour": "fixed"},
                                  sales={"reps": 2}, schemes={"s": LINEAR}))  # fmt: skip
    fixed = fixed_policy(sc)
    sales_choice = fixed.sales.choice.copy()
    sales_choice[:, :, 30:, ..., 0] = 1.4
    mkt_choice = fixed.marketing.choice.copy()
    mkt_choice[:, :, 30:, ..., 0] *= 2.0
    timing = fixed.sales.timing.copy()
    timing[:, :, 51] = 1  # hold ready deals in the year's last week (the axis of the sales component)
    axis_comp = np.array([component_index(sc, sc.scheme("s"), "sales", 0), -1])
    by_week = fixed._replace(
        sales=fixed.sales._replace(choice=sales_choice, timing=timing, axis_comp=axis_comp,
                                   axis_year=np.array([1, 0])),
        marketing=fixed.marketing._replace(choice=mkt_choice),
        any_timing=True,
    )
    base = simulate(sc, "s", replications=40, seed=4, policy=fixed)
    moved = simulate(sc, "s", replications=40, seed=4, policy=by_week)
    np.testing.assert_allclose(base.effort_week, 1.0, atol=1e-6)
    np.testing.assert_allclose(moved.effort_week[:, :30], 1.0, atol=1e-6)
    np.testing.assert_allclose(moved.effort_week[:, 30:], 1.4, atol=1e-6)
    assert moved.metrics["leads"].mean() > 1.3 * base.metrics["leads"].mean()
    assert base.metrics["deals_held_back"].sum() == 0 and moved.metrics["deals_held_back"].sum() > 0
