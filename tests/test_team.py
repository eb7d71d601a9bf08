"""Tier: what teams do besides free-riding (help, events, mutual monitoring, passing prospects).

Purpose-built companies; each test states its seed, replications and tolerance, and compares
schemes on common random numbers. Sources:

* Friebel, Heinz, Krüger & Zubanov (2017), "Team incentives and performance", AER 107(8): a team
  bonus on top of fixed pay raised sales by about 3 % and returned 3.80 of sales per unit of bonus,
  through effort complementarities more than peer pressure.
* Hamilton, Nickerson & Owan (2003), JPE 111(3); Chan, Li & Pierce (2014), Management Science
  60(8): under team pay strong members help weaker ones; under individual pay they do not.
* Kandel & Lazear (1992), "Peer pressure and partnerships", JPE 100(4): mutual monitoring curbs
  free-riding, less so as the team grows.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small

from incentsim import scenario_from_dict
from incentsim.comparison import compare
from incentsim.model.policy import solve_policy

GRID = {"grid_points": 81, "grid_points_2d": 21}
OFF = {"help_gain": 0.0, "event_gain": 0.0, "passing": 0.0, "monitoring": 0.0}
#: The mechanisms at the bundled scenarios' values (the schema's defaults leave them off).
ON = {"help_gain": 0.3, "event_gain": 0.2, "passing": 0.3, "monitoring": 0.5}
TEAM = {"sales": {"measure": "team_bookings", "payout": "linear"}}
OWN = {"sales": {"measure": "own_bookings", "payout": "linear"}}


def _company(schemes, behaviour=None, reps=6, levels=(0.7, 1.0, 1.3), replications=600, seed=3, **sales):
    d = small(
        simulation={"replications": replications, "seed": seed, "behaviour": "optimising"},
        marketing={"headcount": 0, "leads_per_week": 4.0 * reps},
        sales={
            "reps": reps, "calls_per_week": 8.0, "bonus_at_target": 10000.0, "base_salary": 50000.0,
            "ability": {"levels": list(levels), "weights": [1.0 / len(levels)] * len(levels)}, **sales,
        },
        deals={"value_mean": 8000.0, "value_cv": 0.5},
        behaviour={**GRID, **ON, **(behaviour or {})},
        schemes=schemes,
    )  # fmt: skip
    return scenario_from_dict(d)


@pytest.mark.slow
def test_team_bonus_on_fixed_pay_raises_sales_and_returns_more_than_it_costs():
    # Friebel et al. (2017): a team bonus of 3,000 a rep at target on top of fixed pay (the
    # baseline: salary only, the implicit incentive calibrated against a usual bonus of 10,000),
    # with the team mechanisms at the bundled scenarios' values. Revenue rises by a few percent (band +1 % to
    # +12 %, the paired 95 % CI above 0), and each unit of bonus brings more than one unit of
    # sales. Seed 3, N = 1000.
    sc = _company(
        {
            "fixed_pay": {"sales": {"measure": "own_bookings", "bonus_at_target": 0.0}},
            "team_bonus": {"sales": {"measure": "team_bookings", "payout": "linear", "bonus_at_target": 3000.0}},
        },
        behaviour={"baseline_scheme": "fixed_pay"},
        replications=1000,
    )
    cmp = compare(sc)
    rev = cmp.difference("team_bonus", "revenue", "fixed_pay")
    base = cmp.summaries["fixed_pay"]["revenue"].mean
    bonus = cmp.summaries["team_bonus"]["bonus_sales"].mean
    assert rev.ci95[0] > 0 and 0.01 < rev.mean / base < 0.12, (rev.mean / base, rev.ci95)
    assert rev.mean / bonus > 1.0, rev.mean / bonus
    assert cmp.summaries["team_bonus"]["help_hours_per_rep"].mean > 0


def test_help_flows_from_strong_to_weak_under_team_pay_only():
    # Hamilton, Nickerson & Owan (2003); Chan, Li & Pierce (2014). Two ability levels; under team
    # pay the strong reps give more help and the weak receive more (lift of their quotes' chance
    # to close); under individual pay nobody helps. Seed 3, N = 300.
    sc = _company(
        {"team": TEAM, "own": OWN}, levels=(0.7, 1.3), replications=300,
        behaviour={"passing": 0.0, "implicit_incentive": 0.3, "baseline_scheme": "own"},
    )  # fmt: skip
    cmp = compare(sc, keep=True)
    team = cmp.results["team"].person_frame()
    team = team[team.role == "sales"]
    # Help given is team time worth ability squared (the model's help): the strong give more of it,
    # although the weak, whose own prospecting is worth less, may spend as much time or more.
    team = team.assign(help_given=team.team_time * team.ability**2)
    by = team.groupby("ability")[["team_time", "help_given", "help_lift_received"]].mean()
    assert by.loc[1.3, "help_given"] > by.loc[0.7, "help_given"] > 0.0, by
    assert by.loc[0.7, "help_lift_received"] > by.loc[1.3, "help_lift_received"], by
    own = cmp.results["own"].person_frame()
    assert own.team_time.max() == 0.0 and cmp.summaries["own"]["deals_helped"].mean == 0.0


def test_monitoring_curbs_free_riding_more_in_small_teams():
    # Kandel & Lazear (1992): with mutual monitoring, team pay keeps effort up more in a team of 3
    # than in a team of 20. Solver expectations (exact); effort costs given, no implicit incentive,
    # the other mechanisms off. Effort lift from monitoring must be larger at 3 by 0.02 or more.
    lift = {}
    for reps in (3, 20):
        effort = {}
        for m in (0.0, 2.0):
            sc = _company(
                {"team": TEAM},
                behaviour={**OFF, "monitoring": m, "effort_cost_sales": 20000.0, "implicit_incentive": 0.0},
                reps=reps, levels=(1.0,),
            )  # fmt: skip
            effort[m] = float(solve_policy(sc, "team").sales_effort_week.mean())
        lift[reps] = effort[2.0] - effort[0.0]
    assert lift[3] > lift[20] + 0.02 and lift[20] >= 0.0, lift


def test_prospects_pass_to_stronger_colleagues_only_when_the_scheme_pays_for_it():
    # Under team pay a weaker rep passes prospects to the strongest colleague; under individual
    # pay nobody does (the colleague's win would pay nothing). Seed 3, N = 200.
    sc = _company({"team": TEAM, "own": OWN}, levels=(0.7, 1.3), replications=200, behaviour={"passing": 0.3})
    cmp = compare(sc)
    assert cmp.summaries["team"]["prospects_passed"].mean > 1.0
    assert cmp.summaries["own"]["prospects_passed"].mean == 0.0
    fixed = compare(sc, behaviour="fixed")  # no response to the scheme: no passing either
    assert fixed.summaries["team"]["prospects_passed"].mean == 0.0


def test_with_every_mechanism_off_nothing_changes():
    # With help, events, passing and monitoring off, the team parameters that remain (team time,
    # event share) leave no trace: the results are bit-identical whatever their values, and the
    # team-work figures are exactly zero. Seed 3, N = 100.
    a = _company({"team": TEAM, "own": OWN}, behaviour={**OFF, "team_time": 0.15, "event_share": 0.3})
    b = _company({"team": TEAM, "own": OWN}, behaviour={**OFF, "team_time": 0.4, "event_share": 0.9})
    ca, cb = compare(a, replications=100), compare(b, replications=100)
    for s in ("team", "own"):
        for metric in ("revenue", "bonus_cost", "mean_effort", "team_time_share", "prospects_passed", "deals_helped"):
            assert ca.summaries[s][metric].mean == cb.summaries[s][metric].mean, (s, metric)
        assert ca.summaries[s]["team_time_share"].mean == 0.0
    np.testing.assert_array_equal(ca.results["team"].year, cb.results["team"].year)


def test_what_each_mechanism_adds_is_measured_by_switching_it_off(monkeypatch):
    # What the reports show per scheme: each mechanism switched off in turn, effort costs held, the
    # scheme re-solved, both simulated on the same draws. Under individual pay none can act (no
    # solve, an empty list). Under team pay: help and passing each raise revenue directly (at the
    # same choices: better odds on helped quotes, prospects with likelier winners), monitoring acts
    # only through choices (direct part exactly 0) and raises revenue by curbing free-riding (95 %
    # CI above 0). The second call reads the cache (solving again would fail). Help and monitoring
    # at twice the bundled values so that their parts show at this N. Seed 3, N = 600.
    from incentsim import mechanisms

    sc = _company(
        {"team": TEAM, "own": OWN}, levels=(0.7, 1.3), replications=600,
        behaviour={"baseline_scheme": "own", "monitoring": 2.0, "help_gain": 0.6},
    )  # fmt: skip
    assert mechanisms.acting(sc, "own") == []
    assert mechanisms.acting(sc, "team") == ["help", "passing", "monitoring"]
    effects = mechanisms.mechanism_effects(sc, replications=600)
    assert effects["own"] == []
    by = {e.key: e for e in effects["team"]}
    assert by["help"].revenue_same_behaviour.ci95[0] > 0, by["help"].revenue_same_behaviour
    assert by["passing"].revenue_same_behaviour.ci95[0] > 0, by["passing"].revenue_same_behaviour
    mon = by["monitoring"]
    assert mon.revenue_same_behaviour.mean == 0.0 and mon.revenue_same_behaviour.ci95 == (0.0, 0.0)
    assert mon.revenue.ci95[0] > 0, mon.revenue
    assert all(e.revenue.n == 600 for e in effects["team"])

    def no_solving(*args, **kwargs):
        raise AssertionError("solved again instead of reading the cache")

    monkeypatch.setattr("incentsim.model.policy.solve_policy", no_solving)
    again = mechanisms.mechanism_effects(sc, replications=600)
    assert [(e.key, e.revenue.mean, e.profit_after_bonus.ci95) for e in again["team"]] == [
        (e.key, e.revenue.mean, e.profit_after_bonus.ci95) for e in effects["team"]
    ]


def test_compare_reports_what_team_work_adds_in_text_json_and_verdict():
    # compare(mechanisms=True) carries the effects into the terminal text, the JSON and (when one
    # adds a clear amount of profit under a scheme of the verdict) the verdict's "Why". Without
    # the option nothing is measured. Seed 3, N = 200.
    from incentsim.report.text import comparison_text

    sc = _company(
        {"team": TEAM, "own": OWN}, levels=(0.7, 1.3), replications=200,
        behaviour={"baseline_scheme": "own", "monitoring": 2.0},
    )  # fmt: skip
    plain = compare(sc)
    assert plain.mechanisms is None and plain.to_json()["mechanisms"] is None
    cmp = compare(sc, mechanisms=True)
    data = cmp.to_json()["mechanisms"]
    assert data["own"] == [] and [m["mechanism"] for m in data["team"]] == ["help", "passing", "monitoring"]
    assert set(data["team"][0]) >= {"revenue", "profit_after_bonus", "revenue_same_behaviour", "replications"}
    text = comparison_text(cmp)
    assert "What team work adds" in text and "mutual monitoring: profit after bonuses" in text
    assert "own: none acts" in text
    if any(e.profit_after_bonus.significant for e in cmp.mechanisms["team"]):
        assert "what team work adds to profit: under team" in cmp.verdict


def test_compare_measures_team_work_on_its_own_replications_without_simulating_them_again(monkeypatch, tmp_path):
    """compare(mechanisms=True) hands each scheme's first replications to what team work adds
    (the same seed, draws and policy that ``mechanism_effects`` would simulate): the effects are
    bit for bit those measured alone, and the scheme's own world is not simulated again. Seed 3,
    N = 300 (the compare) and 300 (the effects)."""
    from incentsim import mechanisms, simulation

    sc = _company(
        {"team": TEAM, "own": OWN}, levels=(0.7, 1.3), replications=300,
        behaviour={"baseline_scheme": "own", "monitoring": 2.0},
    )  # fmt: skip
    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(tmp_path / "alone"))
    alone = mechanisms.mechanism_effects(sc, replications=300)
    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(tmp_path / "compare"))  # effects measured afresh
    compare(sc)  # (policies solved and cached: the run below only simulates)
    calls = []
    real = simulation.simulate

    def counting(scenario, name, **kwargs):
        calls.append((name, scenario == sc))
        return real(scenario, name, **kwargs)

    monkeypatch.setattr(simulation, "simulate", counting)  # (what mechanisms calls; compare has its own)
    cmp = compare(sc, mechanisms=True)
    assert cmp.replications == 300
    for key_a, key_b in zip(alone["team"], cmp.mechanisms["team"], strict=True):
        assert key_a == key_b
    # Per mechanism of team: help and passing twice (re-solved, and at the same choices),
    # monitoring once; never team's own world (the comparison's replications are used).
    assert calls == [("team", False)] * 5, calls


def test_a_counterfactual_starts_from_where_the_scheme_settled(monkeypatch):
    # mechanisms._solve_without warm-starts the world without a mechanism from the scheme's own
    # equilibrium: fewer rounds than the same solve from today's behaviour, an answer within the
    # equilibrium's tolerance of it, and bit for bit the same answer whether the scheme's own solve
    # is fresh or read back from the disk cache (which keeps its warm start). Deterministic solver;
    # tolerance: mean effort and follow-up within 0.01 of the cold solve.
    monkeypatch.setenv("INCENTSIM_NO_CACHE", "1")
    from incentsim import mechanisms
    from incentsim.model import policy as P

    sc = _company({"team": TEAM, "own": OWN}, levels=(0.7, 1.3), behaviour={"baseline_scheme": "own"})
    full = solve_policy(sc, "team")
    off = mechanisms.without(sc, "monitoring")
    cold = solve_policy(off, "team", kappa=P.calibrate(sc))
    warm = mechanisms._solve_without(sc, "team", "monitoring", full)
    assert warm.info["rounds"] < cold.info["rounds"], (warm.info["rounds"], cold.info["rounds"])
    for key in ("mean_sales_effort", "mean_follow_share"):
        assert warm.info[key] == pytest.approx(cold.info[key], abs=0.01), key
    read_back = P._from_arrays(P._to_arrays(full), sc)
    assert read_back is not None and P.warm_digest(read_back.warm) == P.warm_digest(full.warm)
    again = mechanisms._solve_without(sc, "team", "monitoring", read_back)
    for role in ("sales", "marketing"):
        for a, b in zip(getattr(warm.policy, role), getattr(again.policy, role), strict=True):
            np.testing.assert_array_equal(a, b)
