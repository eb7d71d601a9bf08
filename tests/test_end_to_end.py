"""Tier: end-to-end runs of the installed ``incentsim`` command in fresh processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS


def _command() -> list[str]:
    exe = Path(sys.executable).parent / "incentsim"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("incentsim")
    return [found] if found else [sys.executable, "-m", "incentsim.cli.main"]


def _run(args, threads=None, check=True):
    env = dict(os.environ)
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    proc = subprocess.run(_command() + args, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_installed_command_compares_and_is_thread_count_independent():
    args = ["compare", str(SCENARIOS / "separate-vs-shared.toml"), "-n", "2000", "--json", "-"]
    one = _run(args, threads=1).stdout
    two = _run(args, threads=2).stdout
    assert one == two
    data = json.loads(one)
    assert data["replications"] == 2000 and set(data["schemes"]) == {"separate", "shared", "hybrid"}
    # What team work adds: nothing can act under separate targets; under shared pay all three do.
    mech = data["mechanisms"]
    assert mech["separate"] == [] and [m["mechanism"] for m in mech["shared"]] == ["help", "passing", "monitoring"]


@pytest.mark.slow
def test_installed_command_bad_input(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((SCENARIOS / "new-business-plan.toml").read_text().replace("conversion = 0.50", "conversion = 1.5"))
    proc = _run(["compare", str(bad)], check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "funnel.quote.conversion" in proc.stderr


def test_help_is_fast_and_does_not_import_numba():
    code = "import sys; from incentsim.cli.main import cli; print('numba' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
def test_import_incentsim_imports_no_numpy_and_the_command_line_runs_one_blas_thread():
    # incentsim.cli sets OPENBLAS_NUM_THREADS=1 before numpy loads (unless the user set it): numpy's
    # import then starts no OpenBLAS worker, which spins on a core for a while. Fails if the package
    # imports numpy first (the setting comes too late: 2 threads) or overrides a user's setting.
    code = (
        "import os, sys; import incentsim; print('numpy' in sys.modules); import incentsim.cli.main, numpy; "
        "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["False", "1", "1"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "OPENBLAS_NUM_THREADS": "2"}).stdout  # fmt: skip
    assert out.split()[:2] == ["False", "2"]
    # The library's names still import on first use.
    code = (
        "import incentsim; from incentsim import Scenario, ScenarioError, load_scenario, scenario_from_dict; "
        "print(Scenario.__name__, incentsim.scenario.load_scenario is load_scenario)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["Scenario", "True"]
