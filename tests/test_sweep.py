"""Sweeps: sweep-file validation, cell seeding, Dask execution, streaming, resume (issue 5).

Tiers: validation (exact errors), seeding (a sweep cell equals compare() with the cell's key,
exactly), distribution (1 and 2 Dask workers give bit-identical tables), robustness (Ctrl-C and a
killed worker lose no cell; resume gives the same final table). All runs use fixed behaviour
and a small company; seeds and sizes are stated in each test.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SCENARIOS, interruptible, small

from incentsim.batch import DIFF_STATS, STATS, load_sweep, run_sweep
from incentsim.cli.main import cli
from incentsim.comparison import compare
from incentsim.results import METRICS
from incentsim.scenario import ScenarioError

EXAMPLE = SCENARIOS / "sweep-example.toml"

#: The conftest SMALL company as a scenario file (for sweep files that name their base).
SMALL_TOML = """
[scenario]
name = "small"
[simulation]
replications = 200
seed = 42
behaviour = "fixed"
[funnel.lead]
dwell_weeks = 2.0
conversion = 0.25
[funnel.appointment]
dwell_weeks = 2.0
conversion = 0.2
[funnel.quote]
dwell_weeks = 3.0
conversion = 0.5
[marketing]
headcount = 2
leads_per_week = 20.0
bonus_at_target = 5000.0
[sales]
reps = 3
calls_per_week = 6.0
bonus_at_target = 10000.0
[deals]
value_mean = 5000.0
value_cv = 0.5
[schemes.separate]
preset = "separate"
[schemes.shared]
preset = "shared"
"""


def grid_sweep(replications: int = 100, seed: int = 11) -> dict:
    """4 cells: quote conversion x shared's sales target level, on the small company."""
    return {
        "base": small(),
        "sweep": {"replications": replications, "seed": seed, "schemes": ["separate", "shared"]},
        "grid": {
            "funnel": {"quote": {"conversion": [0.4, 0.5]}},
            "schemes.shared.sales.target_level": [0.9, 1.1],
        },
    }


def write_sweep_files(folder: Path, replications: int, values: list[float]) -> Path:
    (folder / "small.toml").write_text(SMALL_TOML)
    text = (
        '[sweep]\nbase = "small.toml"\n'
        f"replications = {replications}\nseed = 5\n"
        f"[grid]\nfunnel.quote.conversion = {values}\n"
        "deals.value_mean = [4000, 6000]\n"
    )
    path = folder / "sweep.toml"
    path.write_text(text)
    return path


# -- validation -------------------------------------------------------------------------------


def test_grid_expands_in_file_order_and_applies_key_paths():
    sw = load_sweep(grid_sweep())
    assert sw.parameters == ("funnel.quote.conversion", "schemes.shared.sales.target_level")
    assert [tuple(c.params.values()) for c in sw.cells] == [(0.4, 0.9), (0.4, 1.1), (0.5, 0.9), (0.5, 1.1)]
    for c in sw.cells:
        sc = c.scenario
        assert sc.funnel.stages[2].conversion == c.params["funnel.quote.conversion"]
        # the preset scheme keeps its measure; only the target level changes
        comp = sc.schemes["shared"].sales.components[0]
        assert comp.measure == "team_bookings"
        assert comp.target_level == c.params["schemes.shared.sales.target_level"]
        assert sc.schemes["separate"].sales.components[0].target_level == 1.0
        assert (sc.simulation.replications, sc.simulation.seed) == (100, 11)


def test_quoted_and_nested_key_paths_are_the_same_sweep():
    nested = grid_sweep()
    quoted = grid_sweep()
    quoted["grid"] = {
        "funnel.quote.conversion": [0.4, 0.5],
        "schemes": {"shared": {"sales": {"target_level": [0.9, 1.1]}}},
    }
    assert load_sweep(nested).fingerprint == load_sweep(quoted).fingerprint


def test_variants_fill_unset_parameters_with_base_values():
    d = {
        "base": small(),
        "variants": [
            {"name": "pessimistic", "funnel.quote.conversion": 0.35, "deals": {"value_mean": 4000}},
            {"name": "today"},
        ],
    }
    sw = load_sweep(d)
    assert sw.parameters == ("variant", "funnel.quote.conversion", "deals.value_mean")
    assert sw.cells[0].params == {
        "variant": "pessimistic",
        "funnel.quote.conversion": 0.35,
        "deals.value_mean": 4000,
    }
    assert sw.cells[1].params == {
        "variant": "today",
        "funnel.quote.conversion": 0.5,
        "deals.value_mean": 5000.0,
    }
    assert sw.cells[1].scenario.hash == load_sweep({"base": small(), "variants": [{}]}).cells[0].scenario.hash


@pytest.mark.parametrize("method, n", [("lhs", 12), ("sobol", 16)])
def test_design_fills_the_ranges(method, n):
    ranges = {"funnel.quote.conversion": [0.3, 0.6], "sales.reps": [2, 6]}
    d = {"base": small(), "design": {"method": method, "samples": n, "seed": 3, "ranges": ranges}}
    sw = load_sweep(d)
    conv = np.array([c.params["funnel.quote.conversion"] for c in sw.cells])
    reps = [c.params["sales.reps"] for c in sw.cells]
    assert len(sw.cells) == n and ((conv >= 0.3) & (conv <= 0.6)).all()
    assert all(isinstance(r, int) and 2 <= r <= 6 for r in reps)  # integer key stays an integer
    assert [c.scenario.sales.reps for c in sw.cells] == reps
    # Space filling: each of n equal slices of the conversion range holds exactly one point
    # (exact for a Latin hypercube and for a scrambled Sobol set of 2^m points in 1-D).
    slices = np.floor((conv - 0.3) / 0.3 * n).astype(int)
    assert sorted(slices) == list(range(n))
    again = load_sweep(copy.deepcopy(d))
    assert [c.params for c in again.cells] == [c.params for c in sw.cells]
    d["design"]["seed"] = 4
    assert [c.params for c in load_sweep(d).cells] != [c.params for c in sw.cells]


BAD = [
    (
        {"grid": {"funnel": {"qoute": {"conversion": [0.4]}}}},
        "grid.funnel.qoute.conversion",
        'did you mean "quote"',
    ),
    ({"grid": {"funnel.quote.conversoin": [0.4]}}, "grid.funnel.quote.conversoin", "unknown key"),
    ({"grid": {"marketing.qualty.baseline": [0.4]}}, "grid.marketing.qualty.baseline", "unknown key"),
    (
        {"grid": {"funnel.quote.conversion": [0.4, 1.5]}},
        "grid.funnel.quote.conversion",
        "probability in [0, 1], got 1.5 (cell 1)",
    ),
    ({"grid": {"funnel.quote.conversion": 0.4}}, "grid.funnel.quote.conversion", "non-empty list"),
    (
        {"grid": {"schemes.sharde.sales.target_level": [1.0]}},
        "grid.schemes.sharde.sales.target_level",
        "no scheme",
    ),
    ({"grid": {"schemes.shared.sales.target_level": [0.0]}}, "grid.schemes.shared.sales.target_level", "> 0"),
    ({"grid": {"simulation.seed": [1, 2]}}, "grid.simulation.seed", "use [sweep]"),
    ({"grid": {"funnel.quote.conversion.x": [1]}}, "grid.funnel.quote.conversion.x", "not a table"),
    ({"gird": {"funnel.quote.conversion": [0.4]}}, "gird", 'did you mean "grid"'),
    ({}, "", "nothing to sweep"),
    ({"grid": {"deals.value_mean": [1.0]}, "variants": [{}]}, "variants", "only one of"),
    (
        {"variants": [{"marketing.quality.conversion_at_one": 9.0}]},
        "variants[0].marketing.quality.conversion_at_one",
        "exceeds 1",
    ),
    (
        {"design": {"method": "sobol", "samples": 10, "ranges": {"deals.value_mean": [1, 2]}}},
        "design.samples",
        "power of 2",
    ),
    (
        {"design": {"method": "lhs", "samples": 4, "ranges": {"deals.value_mean": [3, 2]}}},
        "design.ranges.deals.value_mean",
        "below",
    ),
    (
        {"design": {"method": "lsh", "samples": 4, "ranges": {"deals.value_mean": [1, 2]}}},
        "design.method",
        "lhs",
    ),
    (
        {"design": {"samples": 4, "ranges": {"deals.value_mean": [-2, -1]}}},
        "design.ranges.deals.value_mean",
        "> 0",
    ),
    (
        {"sweep": {"schemes": ["separate", "hybrid"]}, "grid": {"deals.value_mean": [1.0]}},
        "sweep.schemes",
        "no scheme",
    ),
    ({"sweep": {"replications": 0}, "grid": {"deals.value_mean": [1.0]}}, "sweep.replications", "at least 2"),
]


@pytest.mark.parametrize("edit, key, reason", BAD)
def test_bad_sweeps_are_one_line_errors_naming_the_key(edit, key, reason):
    d = {"base": small(), **copy.deepcopy(edit)}
    with pytest.raises(ScenarioError) as info:
        load_sweep(d, source="s.toml")
    err = info.value
    assert err.source == "s.toml" and err.key == key, str(err)
    assert reason in err.reason and "\n" not in str(err)


def test_bad_inline_base_and_missing_base_file(tmp_path):
    d = {
        "base": small(funnel={"quote": {"dwell_weeks": 3.0, "conversion": 2.0}}),
        "grid": {"deals.value_mean": [1.0]},
    }
    with pytest.raises(ScenarioError) as info:
        load_sweep(d, source="s.toml")
    assert info.value.key == "base.funnel.quote.conversion"
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nbase = "nowhere.toml"\n[grid]\ndeals.value_mean = [1.0]\n')
    with pytest.raises(ScenarioError) as info:
        load_sweep(f)
    assert info.value.key == "sweep.base" and "not found" in info.value.reason


def test_cli_bad_sweep_is_one_line_and_writes_nothing(runner, tmp_path):
    (tmp_path / "small.toml").write_text(SMALL_TOML)
    f = tmp_path / "bad.toml"
    f.write_text('[sweep]\nbase = "small.toml"\n[grid]\nfunnel.quote.conversion = [0.5, 1.5]\n')
    out = tmp_path / "out"
    result = runner.invoke(cli, ["sweep", str(f), "--out", str(out)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line and "Traceback" not in result.output
    assert "grid.funnel.quote.conversion" in line and "1.5" in line
    assert not out.exists()


def test_one_replication_per_cell_is_refused(runner, tmp_path):
    """A cell of one replication has no interval and its "better in" share is one year's: refused, as
    a design's are (the file's own value, and -n on the command line)."""
    (tmp_path / "small.toml").write_text(SMALL_TOML)
    f = tmp_path / "one.toml"
    f.write_text('[sweep]\nbase = "small.toml"\n[grid]\nfunnel.quote.conversion = [0.4, 0.5]\n')
    out = tmp_path / "out"
    result = runner.invoke(cli, ["sweep", str(f), "--out", str(out), "-n", "1", "--workers", "0"])
    assert result.exit_code == 2 and "--replications: must be at least 2" in result.stderr, result.output
    f.write_text('[sweep]\nbase = "small.toml"\nreplications = 1\n[grid]\nfunnel.quote.conversion = [0.4, 0.5]\n')
    result = runner.invoke(cli, ["sweep", str(f), "--out", str(out), "--workers", "0"])
    assert result.exit_code == 2 and "sweep.replications" in result.stderr, result.output
    assert not out.exists()


# -- seeding and results ----------------------------------------------------------------------


def test_cell_is_compare_with_the_cell_key():
    # seed 11, 100 replications, fixed behaviour: the sweep's numbers are exactly compare()'s
    # with key=(cell,), and two cells with the same inputs get independent streams.
    d = {"base": small(), "sweep": {"replications": 100, "seed": 11}, "variants": [{}, {}]}
    sw = load_sweep(d)
    table = run_sweep(sw, workers=0)
    assert len(table) == 4
    for cell in sw.cells:
        cmp = compare(cell.scenario, ["separate", "shared"], replications=100, seed=11, key=(cell.index,))
        rows = table[table.cell == cell.index].set_index("scheme")
        for scheme in ("separate", "shared"):
            s = cmp.summaries[scheme]["profit_after_bonus"]
            assert rows.loc[scheme, "profit_after_bonus_mean"] == s.mean
            assert rows.loc[scheme, "profit_after_bonus_p95"] == s.p95
        d_ = cmp.difference("shared", "profit_after_bonus")
        assert rows.loc["shared", "profit_after_bonus_diff_mean"] == d_.mean
        assert rows.loc["shared", "profit_after_bonus_diff_ci95_lo"] == d_.ci95[0]
    r0 = table[(table.cell == 0) & (table.scheme == "separate")]["revenue_mean"].item()
    r1 = table[(table.cell == 1) & (table.scheme == "separate")]["revenue_mean"].item()
    assert r0 != r1


def test_results_parquet_layout(tmp_path):
    sw = load_sweep(grid_sweep(replications=60))
    table = run_sweep(sw, tmp_path / "out", workers=0)
    back = pd.read_parquet(tmp_path / "out" / "results.parquet")
    pd.testing.assert_frame_equal(table, back)
    assert len(back) == 4 * 2 and list(back.cell.unique()) == [0, 1, 2, 3]
    for metric in METRICS:
        for stat in (*STATS, *DIFF_STATS):
            assert f"{metric}_{stat}" in back.columns
    base_rows = back[back.scheme == "separate"]
    assert base_rows["profit_after_bonus_diff_mean"].isna().all()
    assert back[back.scheme == "shared"]["profit_after_bonus_diff_mean"].notna().all()
    assert (back.baseline == "separate").all() and (back.replications == 60).all()
    assert sorted(p.name for p in (tmp_path / "out" / "cells").iterdir()) == [
        f"cell-00000{i}.parquet" for i in range(4)
    ]


def test_out_folder_rules(tmp_path):
    sw = load_sweep(grid_sweep(replications=30))
    out = tmp_path / "out"
    first = run_sweep(sw, out, workers=0)
    with pytest.raises(ScenarioError, match=r"resume=True"):  # the library names its argument
        run_sweep(sw, out, workers=0)
    again = run_sweep(sw, out, workers=0, resume=True)  # everything done: nothing reruns
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    other = load_sweep(grid_sweep(replications=31))
    with pytest.raises(ScenarioError, match="different sweep"):
        run_sweep(other, out, workers=0, resume=True)
    # A folder of this sweep with no finished cell (a run that failed to start) needs no --resume.
    for part in (out / "cells").iterdir():
        part.unlink()
    pd.testing.assert_frame_equal(first, run_sweep(sw, out, workers=0), check_exact=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScenarioError, match="is a file"):
        run_sweep(sw, tmp_path / "file", workers=0)


def test_incentsim_sweep_is_callable_and_returns_a_frame():
    import incentsim

    df = incentsim.sweep(grid_sweep(replications=30), workers=0)
    assert isinstance(df, pd.DataFrame) and len(df) == 8
    import incentsim.batch.run  # importing the machinery never hides the function

    df2 = incentsim.sweep(grid_sweep(replications=30), workers=0)
    pd.testing.assert_frame_equal(df, df2, check_exact=True)


def test_example_sweep_is_valid_and_documented():
    sw = load_sweep(EXAMPLE)
    assert sw.mode == "grid" and len(sw.cells) == 27
    assert any(p.startswith("funnel.") for p in sw.parameters)
    assert any(p.startswith("marketing.quality.") for p in sw.parameters)
    assert any(p.startswith("schemes.") and p.endswith(".target_level") for p in sw.parameters)
    lines = [ln for ln in EXAMPLE.read_text().splitlines() if "=" in ln and not ln.lstrip().startswith("#")]
    assert all("#" in ln for ln in lines), [ln for ln in lines if "#" not in ln]


# -- on Dask ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_and_two_workers_give_identical_tables(tmp_path):
    # 4 cells x 2 schemes, 100 replications, seed 11: bit-identical on 1 and 2 worker processes,
    # and identical to running the cells in this process.
    sw = load_sweep(grid_sweep())
    one = run_sweep(sw, tmp_path / "one", workers=1)
    two = run_sweep(sw, tmp_path / "two", workers=2)
    here = run_sweep(sw, workers=0)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    pd.testing.assert_frame_equal(one, here, check_exact=True)


def _parts(out: Path) -> list[Path]:
    return sorted((out / "cells").glob("cell-*.parquet")) if (out / "cells").is_dir() else []


@pytest.mark.slow
def test_ctrl_c_keeps_finished_cells_and_resume_gives_the_same_table(tmp_path):
    # 6 cells x 1,500 replications (a fraction of a second each) on 1 worker; Ctrl-C (SIGINT to
    # the whole process group, as a terminal does) once 2 cells are saved; --resume finishes.
    path = write_sweep_files(tmp_path, 1500, [0.3, 0.45, 0.6])
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "incentsim.cli.main",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=interruptible
    )
    t0 = time.monotonic()
    while len(_parts(out)) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < 120, "no cell finished in 2 minutes"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    saved = _parts(out)
    assert 2 <= len(saved) < 6, "the sweep finished before it could be interrupted"
    assert "Traceback" not in err and "--resume" in err
    assert not list((out / "cells").glob(".*")), "a partial file was left behind"
    assert not (out / "results.parquet").exists()
    before = {p.name: p.read_bytes() for p in saved}

    result = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"resuming: {len(saved)} of 6 cells already done" in result.stderr
    assert all(p.read_bytes() == before[p.name] for p in saved)  # finished cells were not redone
    resumed = pd.read_parquet(out / "results.parquet")
    reference = run_sweep(load_sweep(path), workers=0)
    pd.testing.assert_frame_equal(resumed, reference, check_exact=True)


@pytest.mark.slow
def test_killed_worker_loses_no_cell(tmp_path):
    # 4 cells x 1,000 replications on a 2-worker cluster; when the first cell arrives, a worker
    # that is processing a cell is SIGKILLed. Dask reruns that cell elsewhere (the nanny restarts
    # the worker); the final table equals an undisturbed run's.
    from distributed import Client, LocalCluster

    path = write_sweep_files(tmp_path, 1000, [0.4, 0.5])
    sw = load_sweep(path)
    killed = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):

        def progress(done, total):
            if done == 1 and not killed:
                busy = [w for w, keys in client.processing().items() if keys] or list(client.processing())
                victim = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        table = run_sweep(sw, tmp_path / "out", client=client, progress=progress)
        assert killed and killed[0] not in client.run(os.getpid).values()
    reference = run_sweep(sw, workers=0)
    pd.testing.assert_frame_equal(table, reference, check_exact=True)


def test_cli_sweep_runs_in_process_and_prints_the_table(runner, tmp_path):
    path = write_sweep_files(tmp_path, 40, [0.4, 0.5])
    out = tmp_path / "out"
    result = runner.invoke(cli, ["sweep", str(path), "--out", str(out), "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "shared - separate" in result.stdout and "95% CI" in result.stdout
    assert "4 cells (8 rows)" in result.stderr
    assert len(pd.read_parquet(out / "results.parquet")) == 8
    both = runner.invoke(cli, ["sweep", str(path), "--out", str(out), "--workers", "2", "--scheduler", "tcp://x:1"])
    assert both.exit_code == 2 and "not both" in both.stderr


def test_sweep_module_has_no_top_level_heavy_imports():
    heavy = "('numba', 'pandas', 'distributed')"
    code = f"import incentsim.cli.sweep, sys; print(any(m in sys.modules for m in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
