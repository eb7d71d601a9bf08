"""Tier: plan design (incentsim design). A pay-floor problem whose best commission rate is known by
hand, worker-count invariance, resume after an interruption, one-line errors for bad design files,
the report section, and quotas per rep from ability (target_by = "ability").

Fast tests use fixed behaviour (no policy solve) on a 3-rep company; the end-to-end run with
people responding is marked slow. Seeds and sizes are stated in each test.
"""

from __future__ import annotations

import copy
import json
import tomllib

import numpy as np
import pytest
from conftest import small

import incentsim
from incentsim import scenario_from_dict
from incentsim.cli.main import cli
from incentsim.funnel import expected_measure, steady_state
from incentsim.optimise import load_design
from incentsim.optimise.search import run_design
from incentsim.scenario.errors import ScenarioError

#: A 3-rep company paid by straight commission; base salary 50,000 EUR a rep.
COMPANY = small(
    simulation={"replications": 200, "seed": 3, "behaviour": "fixed"},
    sales={"reps": 3, "calls_per_week": 6.0, "bonus_at_target": 10000.0, "base_salary": 50000.0},
    schemes={
        "commission": {
            "sales": {"measure": "own_bookings", "period": "year", "payout": "commission", "rate": 0.1},
            "marketing": {"measure": "appointments", "payout": "linear"},
        }
    },
)
FLOOR = 60_000.0


def floor_design(**settings) -> dict:
    """Maximise profit with fixed behaviour: commission rate in [0.01, 0.3], pay at target >= 60,000."""
    meta = {"base": copy.deepcopy(COMPANY), "start": "commission", "trials": 48, "batch": 4, "replications": 200,
            "seed": 1, "behaviour": "fixed", "finalists": 2, "final_replications": 500}  # fmt: skip
    meta.update(settings)
    return {
        "design": meta,
        "parameters": {"sales": {"rate": [0.01, 0.3]}},
        "constraints": {"median_pay_at_target": FLOOR},
    }


def best_rate_by_hand() -> float:
    """With everyone at today's effort, revenue is the same under every rate, so profit falls with the
    rate: the best plan is the cheapest that meets the floor, base + rate x expected bookings = 60,000
    (expected bookings per rep from the funnel's steady state at normal effort)."""
    sc = scenario_from_dict(copy.deepcopy(COMPANY))
    return (FLOOR - 50_000.0) / expected_measure(sc, "own_bookings", "sales")


def test_pay_floor_optimum_found_where_random_search_misses():
    # Seed 1, 48 trials in rounds of 4, 200 replications each. Tolerance: 2 % of the rate.
    # Over 20 seeds of the same problem (benchmarks/design_sampler.py), TPE lands within 2 % in
    # 16 and random sampling in 6: this seed is one where TPE does and random sampling does not.
    r_star = best_rate_by_hand()
    tpe = run_design(load_design(floor_design()), workers=0)
    rate = tpe.summary["best_values"]["sales.rate"]
    assert r_star <= rate <= r_star * 1.02, (rate, r_star)
    assert tpe.summary["best"]["median_pay_at_target"] >= FLOOR
    rnd = run_design(load_design(floor_design(sampler="random")), workers=0)
    r_rate = rnd.summary["best_values"]["sales.rate"]
    assert r_rate > r_star * 1.02, (r_rate, r_star)
    # Same years for every candidate: with fixed behaviour profit is exactly linear in the rate.
    t = tpe.trials
    assert np.corrcoef(t["sales.rate"], t["profit_after_bonus_mean"])[0, 1] < -0.9999
    # The baseline (rate 0.1) misses the floor, so the designed plan costs money, and says why.
    assert "falls short of commission" in tpe.verdict and "misses the limit" in tpe.verdict


def small_design(**settings) -> dict:
    """Two parameters, one of them a choice; 8 trials in rounds of 4 (fixed behaviour)."""
    d = floor_design(**{"trials": 8, "batch": 4, "finalists": 2, "final_replications": 300, **settings})
    d["parameters"] = {"sales": {"rate": [0.05, 0.3], "period": ["month", "year"]}}
    d["constraints"]["bonus_budget_p90"] = 40_000
    return d


def test_one_and_two_workers_give_the_same_frontier():
    # Embedded Dask clusters of 1 and 2 processes; results ordered by trial, told in trial order.
    one = run_design(load_design(small_design()), workers=1)
    two = run_design(load_design(small_design()), workers=2)
    cols = ["sales.rate", "sales.period", "profit_after_bonus_mean", "bonus_budget_p90"]
    assert one.trials[cols].equals(two.trials[cols])
    assert one.frontier.equals(two.frontier)
    assert one.summary["verdict"] == two.summary["verdict"]


def test_interrupted_design_resumes_to_the_same_result(tmp_path):
    spec = small_design()
    whole = run_design(load_design(spec), tmp_path / "whole", workers=0)

    def stop_after_five(done, total):
        if done >= 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_design(load_design(spec), tmp_path / "cut", workers=0, progress=stop_after_five)
    parts = sorted((tmp_path / "cut" / "trials").glob("trial-*.parquet"))
    assert len(parts) == 5
    with pytest.raises(ScenarioError, match="resume"):
        run_design(load_design(spec), tmp_path / "cut", workers=0)
    seen = []
    resumed = run_design(load_design(spec), tmp_path / "cut", workers=0, resume=True,
                         progress=lambda d, t: seen.append(d))  # fmt: skip
    assert resumed.trials.drop(columns=["solve_seconds"]).equals(whole.trials.drop(columns=["solve_seconds"]))
    assert resumed.summary["scheme_block"] == whole.summary["scheme_block"]
    assert json.loads((tmp_path / "cut" / "summary.json").read_text())["best_trial"] == whole.summary["best_trial"]
    # Another design refuses the folder.
    other = small_design(seed=2)
    with pytest.raises(ScenarioError, match="different design"):
        run_design(load_design(other), tmp_path / "cut", workers=0, resume=True)
    # The report section reads the folder back; a report on another scenario refuses it.
    from incentsim.report.design_view import design_section

    sc = scenario_from_dict(copy.deepcopy(COMPANY))
    key, heading, body = design_section(tmp_path / "cut", sc)
    assert key == "plan-design" and "Frontier: profit against bonus budget P90" in body and "[schemes.designed" in body
    with pytest.raises(ScenarioError, match="another scenario"):
        design_section(tmp_path / "cut", scenario_from_dict(small()))


@pytest.mark.slow
def test_killed_design_process_resumes(tmp_path):
    # A real `kill -9` of `incentsim design` once 4 trials are on disk, then --resume: the same
    # trials table and plan as an uninterrupted run (fixed behaviour, 16 trials, seed 1).
    import os
    import signal
    import subprocess
    import sys
    import time

    import pandas as pd
    import tomli_w

    spec = small_design(trials=16)
    path = tmp_path / "design.toml"
    path.write_text(tomli_w.dumps(spec))
    cmd = [sys.executable, "-m", "incentsim.cli.main", "design", str(path), "--workers", "0", "--out"]
    proc = subprocess.Popen([*cmd, str(tmp_path / "cut")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list((tmp_path / "cut" / "trials").glob("trial-*.parquet"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list((tmp_path / "cut" / "trials").glob("trial-*.parquet")))
    assert 4 <= kept < 16
    subprocess.run([*cmd, str(tmp_path / "cut"), "--resume"], check=True, capture_output=True)
    subprocess.run([*cmd, str(tmp_path / "whole")], check=True, capture_output=True)
    a = pd.read_parquet(tmp_path / "cut" / "results.parquet").drop(columns=["solve_seconds"])
    b = pd.read_parquet(tmp_path / "whole" / "results.parquet").drop(columns=["solve_seconds"])
    assert a.equals(b)
    assert (tmp_path / "cut" / "best-scheme.toml").read_text() == (tmp_path / "whole" / "best-scheme.toml").read_text()


def test_scheme_block_pastes_into_the_scenario_and_compare_takes_the_best_plan():
    res = run_design(load_design(small_design()), workers=0)
    block = tomllib.loads(res.scheme_block())
    data = copy.deepcopy(COMPANY)
    data["schemes"].update(block["schemes"])
    pasted = scenario_from_dict(data)
    assert pasted.schemes["designed"] == res.best
    sc = scenario_from_dict(copy.deepcopy(COMPANY))
    cmp = incentsim.compare(sc, ["commission", res.best], replications=50)
    assert cmp.schemes == ["commission", "designed"]
    import dataclasses

    with pytest.raises(ValueError, match="already has a different scheme"):
        incentsim.compare(sc, [dataclasses.replace(res.best, name="commission")], replications=10)


def _set(path: str, value):
    """An edit of the design file: set a dotted path (a value of None deletes the key)."""

    def edit(spec: dict) -> None:
        *head, last = path.split(".")
        node = spec
        for k in head:
            node = node.setdefault(k, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return edit


BAD = [
    (_set("design.base", None), "design.base: is required"),
    (_set("sweep", {"base": "company.toml"}), "sweep: this is a sweep file"),
    (_set("desgin", {}), 'desgin: unknown key (did you mean "design"?)'),
    (_set("parameters", {"sales": {"rate": [0.2, 0.1]}}), "parameters.sales.rate: low must be below high"),
    (_set("parameters", {"sales": {"rte": [0.1, 0.2]}}), "parameters.sales.rte: unknown key"),
    (_set("parameters", {"sales": {"period": ["quarter", "week"]}}), "parameters.sales.period: must be one of"),
    (_set("parameters", {"sales": {"rate": {"low": 0.0, "high": 0.2, "log": True}}}), "parameters.sales.rate.low: a log-scale"),
    (_set("parameters", {"funnel": {"quote": {"conversion": [0.4, 0.6]}}}), "parameters.funnel.quote.conversion: a parameter is a key path inside the scheme"),
    (_set("parameters", {}), "parameters: is empty"),
    (_set("constraints", {"bonus_budget": 1000}), 'constraints.bonus_budget: unknown constraint (did you mean "bonus_budget_p90"?)'),
    (_set("constraints", {"over_budget": {"probability": 0.1}}), "constraints.over_budget.budget: is required"),
    (_set("constraints", {"zero_bonus_share": 1.5}), "constraints.zero_bonus_share: must be a probability"),
    (_set("design.start", "comission"), "design.start: no scheme 'comission'"),
    (_set("design.objective", "profits"), "design.objective: must be one of profit, revenue, margin"),
    (_set("design.finalists", 99), "design.finalists: must be at most trials"),
]  # fmt: skip


def test_a_json_output_that_cannot_be_written_is_refused_before_the_search(tmp_path, runner):
    """The search ran to its end and printed its result before --json was found unwritable."""
    import tomli_w

    (tmp_path / "company.toml").write_text(tomli_w.dumps(COMPANY))
    spec = floor_design()
    spec["design"]["base"] = "company.toml"
    path = tmp_path / "design.toml"
    path.write_text(tomli_w.dumps(spec))
    out, nowhere = tmp_path / "out", tmp_path / "missing" / "d.json"
    result = runner.invoke(cli, ["design", str(path), "--out", str(out), "--workers", "0", "--json", str(nowhere)])
    assert result.exit_code == 2, result.output
    assert f"{nowhere}: --json: " in result.stderr and not out.exists()
    # One replication per candidate (the file's minimum is 2; -n skipped that check).
    result = runner.invoke(cli, ["design", str(path), "--out", str(out), "--workers", "0", "-n", "1"])
    assert result.exit_code == 2 and "--replications: must be at least 2" in result.stderr, result.output
    assert not out.exists()


@pytest.mark.parametrize(("edit", "message"), BAD, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_design_files_give_one_line_errors(tmp_path, runner, edit, message):
    import tomli_w

    (tmp_path / "company.toml").write_text(tomli_w.dumps(COMPANY))
    spec = floor_design()
    spec["design"]["base"] = "company.toml"
    edit(spec)
    path = tmp_path / "design.toml"
    path.write_text(tomli_w.dumps(spec))
    out = tmp_path / "out"
    result = runner.invoke(cli, ["design", str(path), "--out", str(out), "--workers", "0"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    assert message in lines[0], lines[0]
    assert not out.exists()


def test_free_weights_split_the_bonus():
    spec = floor_design(trials=4, batch=4, finalists=1)
    spec["design"]["start"] = None
    del spec["design"]["start"]
    spec["scheme"] = {"preset": "hybrid"}
    spec["parameters"] = {"sales": {"components[0]": {"weight": [0.2, 0.8]}}}
    spec["constraints"] = {}
    d = load_design(spec)
    table = d.scheme_table({"sales.components[0].weight": 0.3})
    assert [c["weight"] for c in table["sales"]["components"]] == [0.3, pytest.approx(0.7)]
    assert d.candidate({"sales.components[0].weight": 0.3}).sales.components[1].weight == pytest.approx(0.7)
    spec["parameters"] = {"sales": {"components[0]": {"weight": [0.2, 0.8]}, "components[1]": {"weight": [0.5, 0.9]}}}
    table = load_design(spec).scheme_table({"sales.components[0].weight": 0.3, "sales.components[1].weight": 0.6})
    assert [c["weight"] for c in table["sales"]["components"]] == [pytest.approx(1 / 3), pytest.approx(2 / 3)]


# -- quotas per rep from ability ----------------------------------------------------------------------


def quota_scenario(behaviour: str = "fixed") -> dict:
    return small(
        simulation={"replications": 400, "seed": 5, "behaviour": behaviour},
        sales={"reps": 4, "calls_per_week": 6.0, "ability": {"levels": [0.7, 1.3], "weights": [0.5, 0.5]}},
        behaviour={"grid_points": 81, "grid_points_2d": 21},
        schemes={
            "same": {"sales": {"measure": "own_bookings", "payout": "step", "steps": [[1.0, 1.0]]}},
            "quota": {"sales": {"measure": "own_bookings", "payout": "step", "steps": [[1.0, 1.0]],
                                "target_by": "ability"}},
        },
    )  # fmt: skip


def test_targets_by_ability_scale_each_reps_quota():
    from incentsim.pay import role_components

    sc = scenario_from_dict(quota_scenario())
    pc = role_components(sc, sc.schemes["quota"], "sales")[0]
    scale = pc.ability_scale
    w = np.asarray(sc.sales.ability.weights)
    assert float(w @ scale) == pytest.approx(1.0)  # the average rep keeps the automatic target
    assert scale[0] < 1.0 < scale[1]
    ss = steady_state(sc)
    assert pc.at_ability(1).annual_target[0] == pytest.approx(ss.wins_per_rep_by_level[1] * sc.deals.value_mean)
    # Simulated: each level's mean attainment is near 1 under quotas, far apart under one target.
    from incentsim.kernels import layout as L

    means = {}
    for name in ("same", "quota"):
        res = incentsim.simulate(sc, name)  # fixed behaviour, 400 replications, seed 5
        att = res.person[:, 0, :4, L.P_ATTAIN]
        means[name] = [float(att[res.ability == k].mean()) for k in (0, 1)]
    assert means["same"][0] < 0.8 and means["same"][1] > 1.2
    assert all(abs(m - 1.0) < 0.05 for m in means["quota"]), means
    with pytest.raises(ScenarioError, match="target_by: .*own_bookings, own_margin or own_wins"):
        d = quota_scenario()
        d["schemes"]["quota"]["sales"]["measure"] = "team_bookings"
        scenario_from_dict(d)


def test_quotas_by_ability_keep_weaker_reps_trying():
    # Optimising behaviour, 2 ability levels (0.7, 1.3), an annual step bonus at 100 %: with one
    # target for all, the weaker reps rarely reach it and ease off; with quotas from ability they
    # try (Chung, Steenburgh & Sudhir 2014). Exact expectations from the solver's forward pass.
    sc = scenario_from_dict(quota_scenario("optimising"))
    same = incentsim.solve_policy(sc, "same")
    quota = incentsim.solve_policy(sc, "quota")
    assert quota.sales_effort_week[0].mean() > same.sales_effort_week[0].mean() + 0.05
    assert quota.sales_output_week[0].sum() > same.sales_output_week[0].sum()


@pytest.mark.slow
def test_design_end_to_end_with_people_responding(tmp_path, runner):
    # Optimising behaviour on the 4-rep quota company: target level, period and quotas per rep from
    # ability, 12 trials in rounds of 4 on an embedded cluster of 2, 300 replications each.
    import tomli_w

    (tmp_path / "company.toml").write_text(tomli_w.dumps(quota_scenario("optimising")))
    spec = {
        "design": {"base": "company.toml", "start": "same", "trials": 12, "batch": 4, "replications": 300,
                   "seed": 4, "finalists": 2, "final_replications": 2000},
        "parameters": {"sales": {"target_level": [0.7, 1.2], "target_by": ["scheme", "ability"],
                                 "period": ["quarter", "year"]}},
        "constraints": {"zero_bonus_share": 0.6},
    }  # fmt: skip
    path = tmp_path / "design.toml"
    path.write_text(tomli_w.dumps(spec))
    out = tmp_path / "out"
    result = runner.invoke(cli, ["design", str(path), "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    for text in ("Best plan: trial", "Verdict:", "Optimism removed:", "How the plan changes behaviour:",
                 "Effort: under designed", "[schemes.designed.sales]"):  # fmt: skip
        assert text in result.output, text
    for name in (
        "summary.json",
        "best-scheme.toml",
        "frontier.csv",
        "frontier.png",
        "results.parquet",
        "finals.parquet",
    ):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["behaviour"] and summary["effort_costs"]["sales"] > 0
    report = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", str(tmp_path / "company.toml"), "--out", str(report), "-n", "200",
                                 "--design", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    html = report.read_text()
    assert 'id="plan-design"' in html and "Frontier: profit against the share of reps with no bonus" in html


def test_a_path_is_a_path_for_design_files(runner, tmp_path):
    # A path-like argument is never replaced by the bundled design of the same name (issue 13's rule,
    # as for scenarios and sweeps); the bare name is the bundled file.
    from incentsim.optimise.designfile import resolve_design

    assert resolve_design("design-simple").name == "design-simple.toml" and resolve_design("design-simple").exists()
    result = runner.invoke(cli, ["design", "nodir/design-simple.toml", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "nodir/design-simple.toml: file not found" in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_a_search_with_no_plan_within_its_limits_says_so_first():
    """Pay at target of at least 10 million (no commission rate in [0.01, 0.3] reaches it): 4 trials,
    fixed behaviour, seed 1. The design showed a "Best plan" and a winning verdict, the breach only a
    "NO" in the constraints table."""
    from incentsim.report.design_view import design_text

    spec = floor_design(trials=4, batch=2, replications=50, final_replications=100)
    spec["constraints"] = {"median_pay_at_target": 10_000_000.0}
    res = run_design(load_design(spec), workers=0)
    s = res.summary
    missed = "pay of the median rep at target (base + bonus)"
    assert s["feasible_trials"] == 0 and s["best_missed"] == [missed], s["best_missed"]
    assert s["verdict"].startswith("No plan met every limit on fresh years: the plan shown (trial ")
    text = design_text(s)
    assert text.startswith(f"No plan within the limits (it misses the limit on {missed} on fresh years)")
    assert "The block below misses the limit on" in text and "Best plan" not in text
    # A search whose plan is within its limits says nothing of the kind.
    ok = run_design(load_design(floor_design(trials=4, batch=2, replications=50, final_replications=100)), workers=0)
    assert ok.summary["best_missed"] == [] and design_text(ok.summary).startswith("Best plan: trial")
