"""Sensitivity analysis: ranking on a scenario with a known dominant input, flags, ranges, CLI.

The reference case: two schemes identical except that scheme ``cheap`` sets its sales target 10 %
above the automatic one (target_level 1.1). Under fixed behaviour, with auto targets and a
linear payout, a rep's attainment stays near 1 whatever the funnel, so the difference in profit
(``cheap - separate`` = the bonus saved) is driven by cheap's target level alone: at 0.88 (its
low end at -20 %) cheap pays *more* than separate, so that input also flips the verdict.
Runs in this process (workers=0), fixed behaviour, seed 3.
"""

from __future__ import annotations

import json

import pytest
from conftest import SCENARIOS, small

from incentsim.cli.main import cli
from incentsim.scenario import ScenarioError, load_scenario
from incentsim.scenario.load import read_toml
from incentsim.sensitivity import build_inputs, read_ranges, sensitivity

DOMINANT = "schemes.cheap.sales.target_level"


def dominant_scenario() -> dict:
    d = small(sales={"bonus_at_target": 20000.0})
    d["schemes"]["cheap"] = {"preset": "separate", "sales": {"target_level": 1.1}}
    return d


def test_dominant_input_ranks_first_one_at_a_time_and_globally():
    # 200 replications per evaluation, Morris with 2 trajectories (SALib), seed 3.
    ranges = {"ranges": {"schemes.separate.sales.target_level": "off"}}
    res = sensitivity(
        dominant_scenario(),
        ["separate", "cheap"],
        ranges=ranges,
        replications=200,
        seed=3,
        workers=0,
        trajectories=2,
    )
    t = res.table
    assert t.loc[0, "input"] == DOMINANT and t.loc[0, "rank"] == 1
    assert list(t["swing"]) == sorted(t["swing"], reverse=True)
    assert t.loc[0, "swing"] > 10 * t.loc[1, "swing"]
    assert t.loc[0, "global_rank"] == 1
    assert t.loc[0, "mu_star"] > 10 * t["mu_star"].iloc[1:].max()
    # The verdict (cheap better: it pays less) holds at the scenario's inputs with confidence ...
    assert res.base["mean"] > 0 and res.base["ci95"][0] > 0
    # ... and only the target level can flip it: at 0.88 cheap pays more, significantly.
    assert res.flipping == [DOMINANT]
    row = t.loc[0]
    assert row["diff_low"] < 0 < row["diff_high"] and row["flip_significant"]
    assert 0 < res.flip_share < 1
    assert res.evaluations <= 1 + 2 * len(t) + 2 * (len(t) + 1)
    assert "schemes.separate.sales.target_level" not in set(t["input"])


def test_sobol_indices_from_salib_rank_the_dominant_input():
    # Only two inputs (defaults off), Sobol with N = 8: 8 x (2 + 2) + 5 evaluations, 100 replications.
    ranges = {"defaults": False, "ranges": {DOMINANT: [0.9, 1.3], "funnel.quote.conversion": "10%"}}
    res = sensitivity(
        dominant_scenario(), ["separate", "cheap"], ranges=ranges, replications=100, seed=3, workers=0,
        method="sobol", samples=8,
    )  # fmt: skip
    t = res.table.set_index("input")
    assert set(t.index) == {DOMINANT, "funnel.quote.conversion"}
    assert t.loc[DOMINANT, "ST"] > 0.9 and t.loc["funnel.quote.conversion", "ST"] < 0.1
    assert t.loc[DOMINANT, "global_rank"] == 1
    assert (
        t.loc["funnel.quote.conversion", "low"],
        t.loc["funnel.quote.conversion", "high"],
    ) == pytest.approx((0.45, 0.55))


def test_default_inputs_and_their_ranges():
    data = read_toml(SCENARIOS / "separate-vs-shared.toml")
    sc = load_scenario(SCENARIOS / "separate-vs-shared.toml")
    inputs, skipped = build_inputs(data, sc, ("separate", "shared"), "optimising", {}, True, 0.2, "")
    by = {i.path: i for i in inputs}
    for stage in ("lead", "appointment", "quote"):
        assert f"funnel.{stage}.conversion" in by and f"funnel.{stage}.dwell_weeks" in by
    for p in ("marketing.leads_per_week", "sales.calls_per_week", "deals.value_mean", "deals.value_cv",
              "behaviour.implicit_incentive", "behaviour.effort_cost_exponent",
              "schemes.separate.sales.target_level", "schemes.shared.sales.target_level"):  # fmt: skip
        assert p in by, p
    q = by["funnel.quote.conversion"]
    assert (q.low, q.base, q.high) == pytest.approx((0.4, 0.5, 0.6))
    assert by["behaviour.implicit_incentive"].high == pytest.approx(0.84)  # the bundled 0.7, +20 %
    fixed, _ = build_inputs(data, sc, ("separate", "shared"), "fixed", {}, True, 0.2, "")
    assert not [i for i in fixed if i.path.startswith("behaviour.")]  # no effect without behaviour
    assert not skipped


def test_default_range_is_clipped_and_narrowed_to_valid_values():
    # appointment conversion 0.7 with a quality boost up to 1.35: +20 % (0.84) would convert
    # 1.134 > 1, so the high end is halved toward 0.7 until valid: 0.77 (1.04), then 0.735 (0.99).
    d = small(funnel={"appointment": {"dwell_weeks": 2.0, "conversion": 0.7}}, deals={"value_cv": 0.0})
    d["marketing"]["quality"] = {"conversion_at_one": 1.35}
    d["funnel"]["quote"]["conversion"] = 0.9
    from incentsim.scenario import scenario_from_dict

    sc = scenario_from_dict(d)
    inputs, skipped = build_inputs(d, sc, ("separate", "shared"), "fixed", {}, True, 0.2, "")
    by = {i.path: i for i in inputs}
    assert by["funnel.appointment.conversion"].high == pytest.approx(0.735)
    assert by["funnel.appointment.conversion"].low == pytest.approx(0.56)
    assert by["funnel.quote.conversion"].high == 1.0  # clipped to a probability
    assert any(s.startswith("deals.value_cv") for s in skipped)  # 0: no range around it


BAD_RANGES = [
    (
        {"ranges": {"funnel.qoute.conversion": [0.4, 0.6]}},
        "ranges.funnel.qoute.conversion",
        'did you mean "quote"',
    ),
    ({"ranges": {"funnel.quote.conversoin": [0.4, 0.6]}}, "ranges.funnel.quote.conversoin", "unknown key"),
    ({"ranges": {"funnel.quote.conversion": [0.4, 1.6]}}, "ranges.funnel.quote.conversion", "probability"),
    ({"ranges": {"funnel.quote.conversion": [0.6, 0.4]}}, "ranges.funnel.quote.conversion", "below"),
    ({"ranges": {"funnel.quote.conversion": "lots"}}, "ranges.funnel.quote.conversion", "percentage"),
    ({"ranges": {"sales.ability.cv": "off"}}, "ranges.sales.ability.cv", "not a default input"),
    ({"ranges": {"handoff.delay_weeks": "20%"}, "defaults": False}, "ranges.handoff.delay_weeks", None),
    ({"defaults": False, "ranges": {"deals.value_cv": "off"}}, "ranges", "no input"),
    ({"spread": 0}, "spread", "fraction"),
    ({"range": {}}, "range", 'did you mean "ranges"'),
]


@pytest.mark.parametrize("ranges, key, reason", BAD_RANGES)
def test_bad_ranges_are_one_line_errors(ranges, key, reason):
    if reason is None:  # handoff.delay_weeks: the small scenario's default (1 week) is a fine base
        res_inputs = read_ranges(ranges)[0]
        assert res_inputs == {"handoff.delay_weeks": 0.2}
        return
    with pytest.raises(ScenarioError) as info:
        sensitivity(dominant_scenario(), ["separate", "cheap"], ranges=ranges, replications=10, workers=0)
    assert info.value.key == key, str(info.value)
    assert reason in info.value.reason and "\n" not in str(info.value)


def test_bad_schemes_and_method():
    d = dominant_scenario()
    for schemes, fragment in ((["separate"], "two schemes"), (["separate", "chaep"], 'did you mean "cheap"'),
                              (["cheap", "cheap"], "two different")):  # fmt: skip
        with pytest.raises(ScenarioError, match=fragment):
            sensitivity(d, schemes, workers=0)
    with pytest.raises(ScenarioError, match="power of 2"):
        sensitivity(d, ["separate", "cheap"], method="sobol", samples=12, workers=0)


def _write_scenario(tmp_path) -> str:
    # The dominant scenario as a TOML file (small + a cheap scheme).
    text = (SCENARIOS.parent / "tests" / "test_sweep.py").read_text().split('SMALL_TOML = """')[1].split('"""')[0]
    text = text.replace("bonus_at_target = 10000.0", "bonus_at_target = 20000.0")
    text += '[schemes.cheap]\npreset = "separate"\n[schemes.cheap.sales]\ntarget_level = 1.1\n'
    path = tmp_path / "dominant.toml"
    path.write_text(text)
    return str(path)


def test_cli_sensitivity_table_png_json(runner, tmp_path):
    scen = _write_scenario(tmp_path)
    png, js, ranges = tmp_path / "t.png", tmp_path / "s.json", tmp_path / "r.toml"
    ranges.write_text('[ranges]\nschemes.separate.sales.target_level = "off"\n')
    args = ["sensitivity", scen, "--schemes", "separate,cheap", "-n", "100", "--seed", "3",
            "--method", "none", "--workers", "0", "--ranges", str(ranges), "--png", str(png),
            "--json", str(js)]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert data["a"] == "separate" and data["b"] == "cheap" and data["difference"] == "b - a"
    assert data["inputs"][0]["input"] == DOMINANT and data["inputs"][0]["flips"] is True
    first_row = result.stdout.splitlines()[4]  # title, verdict, blank, table header, rank 1
    assert first_row.split()[:2] == ["1", DOMINANT] and first_row.rstrip().endswith("FLIPS")


def test_cli_sensitivity_bad_input_is_one_line_and_writes_nothing(runner, tmp_path):
    scen = _write_scenario(tmp_path)
    png = tmp_path / "t.png"
    for extra in (["--schemes", "separate"], ["--schemes", "separate,nope"]):
        result = runner.invoke(cli, ["sensitivity", scen, *extra, "--workers", "0", "--png", str(png)])
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line and "Traceback" not in result.output
    ranges = tmp_path / "r.toml"
    ranges.write_text("[ranges]\nfunnel.quote.conversion = [0.5, 1.5]\n")
    result = runner.invoke(cli, ["sensitivity", scen, "--ranges", str(ranges), "--workers", "0", "--png", str(png)])
    assert result.exit_code == 2 and f"error: {ranges}: ranges.funnel.quote.conversion" in result.stderr
    assert not png.exists()


@pytest.mark.slow
def test_same_table_on_two_dask_workers_as_in_process():
    # 2 inputs, one at a time only (5 evaluations), 100 replications, seed 3.
    ranges = {"defaults": False, "ranges": {DOMINANT: [0.9, 1.3], "deals.value_cv": [0.2, 0.8]}}
    kw = dict(ranges=ranges, replications=100, seed=3, method="none")
    here = sensitivity(dominant_scenario(), ["separate", "cheap"], workers=0, **kw)
    dask = sensitivity(dominant_scenario(), ["separate", "cheap"], workers=2, **kw)
    import pandas as pd

    pd.testing.assert_frame_equal(here.table, dask.table, check_exact=True)
    assert here.base == dask.base


@pytest.mark.parametrize(
    "ci,said",
    [((-909.0, 117.0), "no clear winner, within simulation noise (separate ahead)"),
     ((-909.0, -117.0), "separate is better")],
)  # fmt: skip
def test_the_verdict_at_the_scenarios_inputs_is_a_winner_only_when_its_interval_excludes_zero(ci, said):
    """As compare's verdict: -396 EUR with a CI from -909 to +117 is no clear winner (it said
    "separate is better")."""
    import pandas as pd

    from incentsim.sensitivity.analysis import Sensitivity

    table = pd.DataFrame(
        {"rank": [1], "input": ["funnel.quote.conversion"], "base": [0.5], "low": [0.4], "high": [0.6],
         "diff_low": [-2000.0], "diff_high": [900.0], "swing": [2900.0], "flips": [True], "flip_significant": [False]}
    )  # fmt: skip
    res = Sensitivity("x", ("separate", "shared"), "EUR", 200, 1, "fixed", {"mean": -396.0, "ci95": ci}, table,
                      "none", 0, 3)  # fmt: skip
    lines = res.text().splitlines()
    assert lines[1] == f"At the scenario's inputs: -396 EUR (95% CI {ci[0]:,.0f} to {ci[1]:,.0f}): {said}.", lines[1]
    ahead = "better" if ci[1] < 0 else "ahead"
    assert any(f"can flip the verdict (separate {ahead})" in line for line in lines)
