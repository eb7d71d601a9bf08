"""Tier: CLI through click's CliRunner (in-process)."""

from __future__ import annotations

import json
import os

import pytest
from conftest import SCENARIOS

from incentsim.cli.main import cli

CONTRACT_METRICS = {
    "revenue", "margin_in_year", "wins", "leads", "appointments", "appointment_win_rate", "bonus_cost",
    "profit_after_bonus", "cost_of_sales", "sales_attainment", "marketing_attainment", "reps_on_target_share",
}  # fmt: skip


def _one_line_error(result, fragment):
    assert result.exit_code == 2, result.output
    out = result.stderr.strip() if hasattr(result, "stderr") else result.output.strip()
    assert out.startswith("error: ") and "\n" not in out, out
    assert fragment in out, out
    assert "Traceback" not in result.output


def test_help_lists_commands(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("compare", "run", "validate", "scenarios"):
        assert name in result.output


def test_scenarios_lists_bundled(runner):
    result = runner.invoke(cli, ["scenarios"])
    assert result.exit_code == 0
    assert "separate-vs-shared" in result.output and "new-business-plan" in result.output


def test_validate_ok(runner):
    result = runner.invoke(cli, ["validate", str(SCENARIOS / "separate-vs-shared.toml")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ") and "scheme shared" in result.output


def test_validate_says_when_a_scenario_has_no_burn_in_year(runner, tmp_path):
    # The bundled scenario as written (one burn-in year) gets no note; with burn_in_years = 0 the
    # same file is valid and says its figures would lean towards today's behaviour.
    text = (SCENARIOS / "separate-vs-shared.toml").read_text()
    assert "burn_in_years = 1" in text
    no_burn = tmp_path / "no-burn-in.toml"
    no_burn.write_text(text.replace("burn_in_years = 1", "burn_in_years = 0", 1))
    note = "no burn-in year (simulation.burn_in_years = 0)"
    as_written = runner.invoke(cli, ["validate", str(SCENARIOS / "separate-vs-shared.toml")])
    result = runner.invoke(cli, ["validate", str(no_burn)])
    assert as_written.exit_code == 0 and note not in as_written.output
    assert result.exit_code == 0, result.output
    assert note in result.output and "after 0 burn-in year(s)" in result.output


def test_compare_json_contract(runner):
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "300", "--seed", "5", "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "new-business-plan" and data["seed"] == 5 and data["replications"] == 300
    assert data["years_per_replication"] == 1
    assert set(data["schemes"]) == {"step-at-10", "per-client"}
    for metrics in data["schemes"].values():
        assert CONTRACT_METRICS <= set(metrics)
        for summary in metrics.values():
            assert set(summary) == {"mean", "std", "p5", "p50", "p95"}
    diff = data["differences"][0]
    assert {"a", "b", "metric", "mean", "ci95", "p_a_beats_b", "variance_reduction"} <= set(diff)
    assert diff["b"] == "step-at-10" and diff["a"] == "per-client"
    for key in ("bonus_budget_p90", "zero_bonus_share", "capped_share", "payout_gini", "luck_share_of_payout_variance"):
        assert key in data["hr"]["per-client"]
    assert isinstance(data["verdict"], str) and "profit after bonuses" in data["verdict"]


def test_compare_human_output(runner):
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "300"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Profit after bonuses" in out and "per-client - step-at-10" in out and "95% CI" in out
    assert out.strip().splitlines()[-1].startswith("Verdict: ")


def test_compare_twice_is_identical(runner):
    a = runner.invoke(cli, ["compare", "new-business-plan", "-n", "200", "--json", "-"]).stdout
    b = runner.invoke(cli, ["compare", "new-business-plan", "-n", "200", "--json", "-"]).stdout
    assert a == b


def test_compare_json_file_and_schemes(runner, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(
        cli, ["compare", "new-business-plan", "-n", "100", "--schemes", "per-client", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert set(json.loads(out.read_text())["schemes"]) == {"per-client"}


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.fixture
def valid_text():
    return (SCENARIOS / "new-business-plan.toml").read_text()


def test_misspelt_key(runner, tmp_path, valid_text):
    path = _write(tmp_path, valid_text.replace("dwell_weeks = 4.0", "dwel_weeks = 4.0"))
    result = runner.invoke(cli, ["compare", path, "-n", "10", "--json", str(tmp_path / "o.json")])
    _one_line_error(result, 'funnel.quote.dwel_weeks: unknown key (did you mean "dwell_weeks"?)')
    assert not (tmp_path / "o.json").exists()  # no partial output


def test_probability_out_of_range(runner, tmp_path, valid_text):
    path = _write(tmp_path, valid_text.replace("conversion = 0.50", "conversion = 1.5"))
    _one_line_error(runner.invoke(cli, ["validate", path]), "funnel.quote.conversion: must be a probability in [0, 1]")


def test_not_toml(runner, tmp_path):
    path = _write(tmp_path, "this is { not toml")
    _one_line_error(runner.invoke(cli, ["compare", path]), "is not valid TOML")


def test_missing_file_and_unknown_scheme(runner, tmp_path):
    _one_line_error(runner.invoke(cli, ["compare", str(tmp_path / "nope.toml")]), "file not found")
    _one_line_error(
        runner.invoke(cli, ["compare", "new-business-plan", "--schemes", "per-clint"]), 'did you mean "per-client"'
    )


def test_unwritable_json_path(runner, tmp_path):
    result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "20", "--json", str(tmp_path / "no" / "x.json")])
    _one_line_error(result, "cannot be written")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where no file can be made")
def test_an_output_that_fails_while_written_is_named_by_its_option(runner, tmp_path):
    """The folder exists (so the check before any work passes) but nothing can be written there: the
    error names the option, and the other output is not left behind."""
    md, js = "/proc/incentsim-test.md", tmp_path / "ok.json"
    args = ["compare", "new-business-plan", "-n", "20", "--behaviour", "fixed", "--json", str(js), "--markdown", md]
    _one_line_error(runner.invoke(cli, args), f"{md}: --markdown: cannot be written")
    assert not js.exists()


def test_run_writes_parquet(runner, tmp_path):
    import pandas as pd

    years, people = tmp_path / "y.parquet", tmp_path / "p.csv"
    result = runner.invoke(cli, ["run", "new-business-plan", "-n", "50", "--out", str(years), "--people", str(people)])
    assert result.exit_code == 0, result.output
    df = pd.read_parquet(years)
    assert len(df) == 100 and {"scheme", "replication", "revenue", "profit_after_bonus"} <= set(df.columns)
    p = pd.read_csv(people)
    # One rep and no marketing team (headcount 0): one person a replication-year, no marketing row.
    assert {"payout", "attainment", "ability", "role"} <= set(p.columns) and len(p) == 100
    assert set(p["role"]) == {"sales"}


def test_output_files_follow_the_umask(runner, tmp_path):
    import os
    import stat

    out = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        result = runner.invoke(cli, ["compare", "new-business-plan", "-n", "50", "--json", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_share_text_never_rounds_to_certainty():
    from incentsim.report.format import share as share_text

    assert share_text(0.9964) == ">99%" and share_text(1.0) == "100%" and share_text(0.003) == "<1%"
    assert share_text(0.5) == "50%" and share_text(0.0) == "0%"


def test_the_console_script_leaves_the_last_garbage_collection_out_at_exit(monkeypatch):
    """``incentsim`` (the console script) registers ``gc.freeze`` as an exit hook before the
    command runs: registered first, it runs after every other hook (a first run's exit walked the
    solver's compile objects for 0.5 s after the answer)."""
    import atexit
    import gc

    from incentsim.cli import main as cli_main

    hooks, ran = [], []
    monkeypatch.setattr(atexit, "register", lambda fn, *a, **k: hooks.append(fn))
    monkeypatch.setattr(cli_main, "cli", lambda **kwargs: ran.append(list(hooks)))
    cli_main.main()
    assert ran == [[gc.freeze]]
