"""Tier: compiling. One specialisation of the simulation kernel for every scenario, scheme and
behaviour (so a first run compiles once, and numba's disk cache serves every later run), and the
background compile of a first run. Deterministic; seeds and N stated where a kernel runs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from conftest import SCENARIOS, small
from numba import typeof

from incentsim import compiling, load_scenario, scenario_from_dict
from incentsim.compile import action_tables, compile_model, compile_scheme, fixed_policy
from incentsim.simulation import _kernel, simulate

SMALL_GRID = {"grid_points": 41, "grid_points_2d": 11}


def _argument_types(sc, name, policy, behaviour):
    """numba's types of the kernel arguments that depend on the scenario (as ``simulate`` builds them)."""
    model = compile_model(sc.for_scheme(name))
    if behaviour == "fixed":
        model = model._replace(passing=0.0)
    args = (model, compile_scheme(sc, sc.scheme(name)), policy.sales, policy.marketing, bool(policy.any_timing),
            action_tables(sc))  # fmt: skip
    return [typeof(a) for a in args]


def test_every_bundled_scenario_and_scheme_gives_the_kernel_the_same_types():
    """No int-vs-float, layout or dtype drift between scenarios: one compiled kernel serves them all."""
    reference = None
    for path in sorted(SCENARIOS.glob("*.toml")):
        if path.stem == "sweep-example" or path.stem.startswith("design-"):  # sweep and design files
            continue
        sc = load_scenario(path)
        for name in sc.schemes:
            types = _argument_types(sc, name, fixed_policy(sc), "fixed")
            reference = reference or types
            assert types == reference, (path.name, name)


def test_solved_and_cached_policies_give_the_fixed_policy_s_types():
    """Seed 42, 3 reps, a coarse grid: a policy solved, then read back from the disk cache."""
    sc = scenario_from_dict(small(behaviour=SMALL_GRID, simulation={"replications": 64, "behaviour": "optimising"}))
    from incentsim.model.policy import solve_policy

    for name in sc.schemes:
        fixed = _argument_types(sc, name, fixed_policy(sc), "fixed")
        assert _argument_types(sc, name, solve_policy(sc, name).policy, "optimising") == fixed
        assert _argument_types(sc, name, solve_policy(sc, name).policy, "optimising") == fixed  # from the cache


def test_the_kernel_has_one_specialisation_after_fixed_and_optimising_runs():
    """Seed 42, 64 replications of each behaviour in this process: still one compiled signature."""
    sc = scenario_from_dict(small(behaviour=SMALL_GRID, simulation={"replications": 64, "behaviour": "optimising"}))
    simulate(sc, "shared", behaviour="fixed")
    simulate(sc, "shared", behaviour="optimising")
    simulate(sc, "separate", behaviour="fixed", record_pipeline=True)
    signatures = _kernel().signatures
    assert len(signatures) == 1, signatures


def test_the_background_compile_runs_and_starts_only_when_needed():
    """With the kernel cached (it is, after the test above or any earlier run), nothing starts; the
    background process itself loads the scenario it is sent and simulates one replication."""
    sc = scenario_from_dict(small())
    simulate(sc, "shared", replications=1)
    assert compiling.kernel_cached() and compiling.start(sc, "shared") is None
    proc = subprocess.run(
        [sys.executable, "-m", "incentsim.compiling"], input=pickle.dumps((sc, "shared")), capture_output=True,
        env=dict(os.environ), timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()


_SOLVER_SIGNATURES = """
import gc, sys
from numba.core.registry import CPUDispatcher
from incentsim.scenario.load import read_toml, scenario_from_dict
from incentsim.model.policy import calibrate, solve_policy
grid = {"grid_points": 41, "grid_points_2d": 11}
for path, names in ((sys.argv[1], ["hybrid"]), (sys.argv[2], ["quarterly-step", "ratchet"])):
    d = read_toml(path)
    d.setdefault("behaviour", {}).update(grid)
    sc = scenario_from_dict(d)
    kappa = calibrate(sc)
    for name in names:
        solve_policy(sc, name, kappa=kappa)
for obj in gc.get_objects():
    if isinstance(obj, CPUDispatcher) and obj.py_func.__module__.startswith("incentsim."):
        if len(obj.overloads) > 1:
            print(obj.py_func.__module__, obj.py_func.__name__, [str(s) for s in obj.overloads])
"""


def test_the_solver_compiles_one_specialisation_of_each_function(tmp_path):
    """The solver's kernels and their helpers, compiled from an empty numba cache in a fresh process
    (a cache hit compiles no helper, so nothing to count), for a calibration and three solves that
    take every path (two state axes with marketing and deal timing; a quarter with a true-up and a
    paid axis; a ratchet): one signature each. A literal argument (a counter starting at 0) made
    numba compile a helper twice. Deterministic; coarse grids (41 / 11 points)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), INCENTSIM_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-c", _SOLVER_SIGNATURES, str(SCENARIOS / "separate-vs-shared.toml"),
         str(SCENARIOS / "hr-bonus-structures.toml")],
        capture_output=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert proc.stdout.decode().strip() == "", proc.stdout.decode()
