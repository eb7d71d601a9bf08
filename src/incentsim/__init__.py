"""incentsim: Monte Carlo engine for sales and marketing target and incentive design.

Public API::

    from incentsim import load_scenario, simulate, compare
    scenario = load_scenario("scenarios/separate-vs-shared.toml")
    comparison = compare(scenario, ["separate", "shared"], replications=10_000)
    print(comparison.verdict)
    df = comparison.to_frame()
"""

from __future__ import annotations

from . import _numba_env

_numba_env.configure()

__version__ = "0.1.0"


def __getattr__(name: str):
    # Every part loads on first use, so `import incentsim` stays fast and imports no numpy: the
    # command line sets up the process first (incentsim.cli). Modules are named simulation /
    # comparison so these functions are never shadowed by them.
    if name in ("Scenario", "ScenarioError", "load_scenario", "scenario_from_dict", "scenario"):
        # (importlib: ``from . import scenario`` would ask this function for ``scenario`` again)
        import importlib

        scenario = importlib.import_module(".scenario", __name__)
        return scenario if name == "scenario" else getattr(scenario, name)
    if name == "simulate":
        from .simulation import simulate

        return simulate
    if name in ("compare", "Comparison"):
        from . import comparison

        return getattr(comparison, name)
    if name in ("solve_policy", "SolvedPolicy"):
        from .model import policy

        return getattr(policy, name)
    if name == "Results":
        from .results import Results

        return Results
    if name == "design":
        # The plan search lives in the package incentsim.optimise, so no submodule shadows this name.
        from .optimise import design

        return design
    if name == "sweep":
        # The sweep machinery lives in the package incentsim.batch, so no submodule shadows this name.
        from .batch.run import sweep

        return sweep
    if name in ("uncertainty", "UncertaintyResult"):
        # The two-level simulation lives in the package incentsim.worlds, so no submodule shadows this name.
        from . import worlds

        return getattr(worlds, name)
    raise AttributeError(f"module 'incentsim' has no attribute {name!r}")


__all__ = [
    "Scenario", "ScenarioError", "SolvedPolicy", "__version__", "compare", "design", "load_scenario",
    "scenario_from_dict", "simulate", "solve_policy", "sweep", "uncertainty",
]  # fmt: skip
