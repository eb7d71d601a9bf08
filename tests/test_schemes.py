"""Tier: the scheme language. Payout tables against hand calculations, curve properties
(hypothesis), the kernel's curve against the plain-Python reference, period effects with fixed
behaviour, and the HR figures on hand-made outcomes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS, small
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_sim import curve_value

from incentsim import load_scenario, scenario_from_dict
from incentsim.comparison import compare, hr_view
from incentsim.compile import compile_scheme
from incentsim.kernels.funnel import _curve
from incentsim.report.payout_table import payout_tables
from incentsim.scenario.presets import PRESETS
from incentsim.scenario.schema import Curve


def _table(sales: dict, bonus: float = 10000.0, target: float = 100000.0):
    d = small(schemes={"x": {"sales": dict(sales, target=target, bonus_at_target=bonus)}})
    sc = scenario_from_dict(d)
    (t,) = payout_tables(sc, sc.schemes["x"])
    return dict(zip(np.round(t.attainment, 2), t.per_year, strict=True)), t


def test_linear_capped_by_hand():
    pay, t = _table({"measure": "own_bookings", "payout": "linear", "cap": 1.5})
    assert pay[0.5] == 5000 and pay[1.0] == 10000 and pay[1.4] == pytest.approx(14000) and pay[2.0] == 15000


def test_step_by_hand():
    pay, _ = _table({"measure": "own_bookings", "payout": "step", "steps": [[0.9, 0.5], [1.0, 1.0], [1.2, 1.3]]})
    assert pay[0.8] == 0 and pay[0.9] == 5000 and pay[1.1] == 10000 and pay[1.2] == 13000 and pay[2.0] == 13000


def test_gate_and_accelerator_by_hand():
    pay, _ = _table({"measure": "own_bookings", "payout": "linear", "threshold": 0.7, "accelerator": 2.0, "cap": 2.5})
    assert pay[0.6] == 0 and pay[0.7] == pytest.approx(7000) and pay[1.0] == 10000
    assert pay[1.3] == pytest.approx(16000) and pay[1.8] == 25000 and pay[2.0] == 25000


def test_commission_with_rate_and_tiers_by_hand():
    # 5 % of bookings up to target, 8 % above; target 100,000 -> 5,000 at target.
    pay, t = _table({"measure": "own_bookings", "payout": "commission", "rate": 0.05, "rate_tiers": [[1.0, 0.08]]})
    assert t.bonus_at_target == 5000
    assert pay[0.5] == pytest.approx(2500) and pay[1.0] == pytest.approx(5000) and pay[1.5] == pytest.approx(9000)


def test_curve_points_by_hand():
    pay, _ = _table(
        {"measure": "own_bookings", "payout": "curve", "points": [[0.5, 0.0], [1.0, 1.0], [1.0, 1.2], [2.0, 2.0]]}
    )
    assert pay[0.4] == 0 and pay[0.7] == pytest.approx(4000) and pay[1.0] == pytest.approx(12000)
    assert pay[1.5] == pytest.approx(16000) and pay[2.0] == 20000


def test_quarterly_phasing_and_per_period():
    d = small(schemes={"q": {"sales": {"measure": "own_bookings", "period": "quarter", "phasing": [0.1, 0.2, 0.3, 0.4],
                                        "target": 100000, "bonus_at_target": 8000, "payout": "step"}}})  # fmt: skip
    sc = scenario_from_dict(d)
    cs = compile_scheme(sc, sc.schemes["q"])
    j = 0  # the only component
    np.testing.assert_allclose(cs.target[j, 0, :4], [10000, 20000, 30000, 40000])
    np.testing.assert_allclose(cs.bonus[j, 0, :4], [800, 1600, 2400, 3200])
    # The payout table says that its per-period column is the average period's, and how they differ.
    (table,) = payout_tables(sc, sc.schemes["q"])
    assert "periods pay 10%/20%/30%/40% of the year (per period: the average)" in table.notes, table.notes
    np.testing.assert_allclose(table.per_period * 4, table.per_year)


def test_the_payout_table_names_targets_by_ability():
    """Targets by ability: the table shows the average rep's target and says each level's factor
    (it showed the average as if every rep had it)."""
    d = small(simulation={"replications": 10, "seed": 1, "behaviour": "fixed"}, sales={"reps": 3,
              "ability": {"cv": 0.3, "types": 3}},
              schemes={"q": {"sales": {"measure": "own_bookings", "target_by": "ability"}}})  # fmt: skip
    sc = scenario_from_dict(d)
    (table,) = payout_tables(sc, sc.schemes["q"])
    assert "targets by ability: the average rep's target shown; each level's is it x " in table.notes, table.notes


curves = st.builds(
    lambda xs, ys, extrap, gate, cap: Curve(
        tuple(zip(sorted(xs), ys, strict=False)), extrapolate=extrap, gate=gate, cap=cap
    ),
    st.lists(st.floats(0, 3), min_size=2, max_size=6),
    st.lists(st.floats(0, 3), min_size=6, max_size=6),
    st.booleans(),
    st.floats(0, 1.5),
    st.one_of(st.none(), st.floats(0.1, 3)),
)


def _kernel_curve(curve: Curve, x: float) -> float:
    d = small(schemes={"x": {"sales": {"measure": "own_bookings", "payout": "curve", "points": [list(p) for p in curve.points],
                                        "extrapolate": curve.extrapolate, "threshold": curve.gate,
                                        **({"cap": curve.cap} if curve.cap is not None else {})}}})  # fmt: skip
    sc = scenario_from_dict(d)
    return float(_curve(compile_scheme(sc, sc.schemes["x"]), 0, x))


@settings(max_examples=150, deadline=None)
@given(curve=curves, xs=st.lists(st.floats(0, 5), min_size=1, max_size=8))
def test_curve_properties_and_kernel_equals_reference(curve, xs):
    top = curve.max_payout
    for x in xs:
        y = curve_value(curve, x)
        assert y >= 0
        if top is not None:
            assert y <= top + 1e-12
        assert _kernel_curve(curve, x) == pytest.approx(y, abs=1e-12)
    # Non-decreasing wherever the points are non-decreasing.
    if all(b[1] >= a[1] for a, b in zip(curve.points, curve.points[1:], strict=False)):
        grid = np.linspace(0, 5, 101)
        ys = [curve_value(curve, x) for x in grid]
        assert all(b >= a - 1e-12 for a, b in zip(ys, ys[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(rate=st.floats(0.001, 0.5), x=st.floats(0, 4), y=st.floats(0, 4))
def test_commission_is_linear(rate, x, y):
    d = small(
        schemes={"c": {"sales": {"measure": "own_bookings", "payout": "commission", "rate": rate, "target": 1000.0}}}
    )
    sc = scenario_from_dict(d)
    (t,) = payout_tables(sc, sc.schemes["c"], attainments=(x, y, x + y))
    px, py, pxy = t.per_year
    assert px == pytest.approx(rate * 1000 * x) and pxy == pytest.approx(px + py)


def test_quarterly_and_annual_steps_cost_differently_on_the_same_outcomes():
    # Fixed behaviour: identical outcomes (same seeds); the step paid per quarter versus once a
    # year gives a different bonus-cost distribution (Jensen: the convex step on noisier
    # quarterly attainment). Seed 5, N = 2,000 replication-years.
    d = small(
        simulation={"replications": 2000, "seed": 5, "behaviour": "fixed"},
        marketing={"headcount": 0, "leads_per_week": 0.0},
        sales={"reps": 6, "calls_per_week": 8.0, "bonus_at_target": 12000.0},
        schemes={
            "annual": {"sales": {"measure": "own_bookings", "period": "year", "payout": "step"}},
            "quarterly": {"sales": {"measure": "own_bookings", "period": "quarter", "payout": "step"}},
        },
    )
    cmp = compare(scenario_from_dict(d))
    assert cmp.difference("quarterly", "revenue").mean == 0  # same outcomes
    a = cmp.results["annual"].metric("bonus_cost")
    q = cmp.results["quarterly"].metric("bonus_cost")
    assert cmp.difference("quarterly", "bonus_cost").ks > 0.1
    assert q.std() < a.std()  # quarterly steps smooth the cost: no all-or-nothing year
    assert not np.allclose(np.percentile(a, [10, 50, 90]), np.percentile(q, [10, 50, 90]))


def test_hr_figures_by_hand():
    # Two replication-years, two reps and one marketing person (headcount 2). Rep payouts:
    # year 1: 0 and 100; year 2: 50 and 50. Marketing: 30, then 0. Abilities: rep 0 level 0,
    # rep 1 level 1 in both replications.
    from incentsim.kernels import layout as L
    from incentsim.results import Results

    person = np.zeros((2, 1, 3, L.N_P))
    person[0, 0, :, L.P_PAY] = [0, 100, 30]
    person[1, 0, :, L.P_PAY] = [50, 50, 0]
    person[0, 0, 1, L.P_CAPPED] = 1
    year = np.zeros((2, 1, L.N_Y))
    year[:, 0, L.Y_BONUS_SALES] = [100, 100]
    year[:, 0, L.Y_BONUS_MKT] = [60, 0]
    res = Results(
        scenario_name="hand", scenario_hash="0", scheme="s", seed=0, key=(), replications=2, horizon_years=1,
        reps=2, marketing_headcount=2, behaviour="fixed", version="x", year=year, person=person,
        month=np.zeros((2, 1, 12)), effort_week=np.ones((2, 52)), ability=np.array([[0, 1], [0, 1]]),
        ability_levels=np.array([0.8, 1.2]), base_cost=0.0, last_month_mask=np.eye(12, dtype=bool)[11],
        marketing_paid=True, sales_paid=True,
    )  # fmt: skip
    hr = hr_view(res, budget=150.0)
    # People-years: 4 rep-years + 2 marketing years x headcount 2 = 8; zero: rep 0 in year 1,
    # marketing in year 2 (x2) -> 3 / 8.
    assert hr.zero_bonus_share == pytest.approx(3 / 8)
    assert hr.capped_share == pytest.approx(1 / 8)
    # Gini of (0, 100) is 0.5, of (50, 50) is 0: mean 0.25.
    assert hr.payout_gini == pytest.approx(0.25)
    # Bonus cost per year: 160 and 100; over a budget of 150 in one year of two.
    assert hr.p_over_budget == pytest.approx(0.5)
    assert hr.bonus_budget["p50"] == pytest.approx(130)
    # Rep payouts 0, 100, 50, 50: level 0 -> {0, 50} mean 25, level 1 -> {100, 50} mean 75;
    # total variance 1250, between levels 625: luck share 0.5.
    assert hr.luck_share_of_payout_variance == pytest.approx(0.5)
    assert [r["mean_bonus"] for r in hr.by_ability] == [25, 75]


@pytest.mark.slow
def test_every_preset_runs_through_compare_on_a_bundled_scenario():
    sc = load_scenario(SCENARIOS / "separate-vs-shared.toml")
    d = {name: {"preset": name} for name in PRESETS}
    from incentsim.scenario.load import read_toml

    raw = read_toml(SCENARIOS / "separate-vs-shared.toml")
    raw["schemes"] = d
    raw["behaviour"]["baseline_scheme"] = "separate"
    sc = scenario_from_dict(raw)
    cmp = compare(sc, replications=200)
    for name in PRESETS:
        s = cmp.summaries[name]
        assert s["revenue"].mean > 0 and s["bonus_cost"].mean > 0, name
    assert "profit after bonuses" in cmp.verdict
