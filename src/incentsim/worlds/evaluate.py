"""One world of the two-level simulation: its own calibration and policies, then the schemes.

In each world (a scenario with the world's values of the uncertain inputs) people's effort
costs are calibrated anew (revealed preference: the world's funnel is what today's scheme
produces there), every scheme's policy is solved against that calibration, and the schemes are
simulated on common random numbers: the same inner replications for every scheme, drawn from
the root seed with the world's index leading the spawn key, so a world's numbers never depend
on the worker that ran it.

A chain of neighbouring worlds (:func:`evaluate_chain`) is one task of the run, and each of its
worlds is calibrated and solved cold, as ``incentsim compare`` solves that world's scenario: its
answer is its own, whichever worlds share its chain or how many the design has. (Until
2026-11-30 each world started from the nearest world solved before it in its chain. That was
slower, not faster: the bundled analysis' 64 worlds took 1,553 calibration rounds from their
starts against 1,250 cold, ``python -m benchmarks.calibration_rounds --chains``, and the whole run
257 s against 234-246 s; and a world's answer moved with its neighbours', as the equilibrium a solve
settles in can depend on where it starts: separate's lead over hybrid moved by more than the
world's 95 % interval (5,341 EUR) in 19 of the 64 worlds, by 158,000 EUR in world 46.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..scenario.schema import Scenario


@dataclass(frozen=True)
class WorldItem:
    """What a worker needs to evaluate one world (picklable).

    Attributes
    ----------
    index : int
        World index: the ``world`` column and the first element of every spawn key.
    u : tuple of float
        The world's point in the design's unit cube.
    values : dict
        Key path -> the world's value of each uncertain input (columns of the rows).
    scenario : Scenario
        The world's scenario, validated, with inner replications, seed and behaviour set.
    schemes : tuple of str
        Baseline first.
    """

    index: int
    u: tuple[float, ...]
    values: dict[str, Any]
    scenario: Scenario
    schemes: tuple[str, ...]


@dataclass
class WorldSolution:
    """A world's calibration and solved policies (what the next world can start from).

    Attributes
    ----------
    calibration : dict or None
        Effort-cost scales of :func:`incentsim.model.policy.calibrate` (None with fixed
        behaviour).
    policies : dict of str to SolvedPolicy
        By scheme name (empty with fixed behaviour).
    """

    calibration: dict | None = None
    policies: dict[str, Any] = field(default_factory=dict)


def warm(fn: Callable, start: Any) -> Callable:
    """``fn`` with ``start=start`` when there is a start and ``fn`` accepts one, else ``fn``.

    The solver's warm start (``calibrate(sc, start=...)``, ``solve_policy(sc, scheme,
    start=...)``: a previous calibration dict or :class:`~incentsim.model.policy.SolvedPolicy` of
    a nearby scenario) is used as soon as the solver offers it; until then this is ``fn``.
    """
    if start is None:
        return fn
    try:
        takes = "start" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover
        takes = False
    if not takes:
        return fn

    def with_start(*args, **kwargs):
        return fn(*args, start=start, **kwargs)

    return with_start


def solve_world(sc: Scenario, schemes: tuple[str, ...], start: WorldSolution | None = None) -> WorldSolution:
    """Calibrate one world and solve its schemes' policies (nothing to do with fixed behaviour).

    Parameters
    ----------
    sc : Scenario
        The world's scenario.
    schemes : tuple of str
        Schemes to solve.
    start : WorldSolution, optional
        A nearby world already solved: its calibration and policies are the solver's starting
        point (a hint; the answer agrees with a cold solve to the solver's tolerances, not bit for
        bit, and where a world has more than one equilibrium it may settle in another; the
        analysis across worlds solves cold). A calibration refused from the start is tried again
        cold: only that refusal leaves the world out.

    Returns
    -------
    WorldSolution
    """
    if sc.simulation.behaviour != "optimising":
        return WorldSolution()
    from ..model.policy import calibrate, solve_policy
    from ..scenario.errors import ScenarioError

    first = _calibration_start(sc, start)
    try:
        kappa = warm(calibrate, first)(sc)
    except ScenarioError as exc:
        if first is None or exc.key != CALIBRATION_KEY:
            raise
        # Whether a world is left out must not depend on where its chain started it: only its own
        # cold calibration refuses it (a start far from the answer may run out of rounds).
        kappa = calibrate(sc)
    policies = {}
    for name in dict.fromkeys(schemes):
        hint = start.policies.get(name) if start is not None else None
        policies[name] = warm(solve_policy, hint)(sc, sc.scheme(name), kappa=kappa)
    return WorldSolution(kappa, policies)


def _calibration_start(sc: Scenario, start: WorldSolution | None) -> Any:
    """What the calibration of a world starts from: the nearest world's solved baseline scheme
    when it carries its equilibrium (its cost scales and where everyone's behaviour settled), else
    its cost scales, else nothing. From the bundled scenario to one with the quote conversion 0.01
    higher, the calibration took 3 rounds from the solved baseline and 4 from the cost scales
    alone (``python -m benchmarks.report``, solver section)."""
    if start is None:
        return None
    solved = start.policies.get(sc.baseline_name)
    if solved is not None and getattr(solved, "warm", None) is not None:
        return solved
    return start.calibration


def world_rows(item: WorldItem, solution: WorldSolution) -> list[dict]:
    """Simulate the world's schemes on common random numbers; one summary row per scheme.

    Returns
    -------
    list of dict
        ``world``, the uncertain inputs' values (one column per key path), then the columns of
        :func:`incentsim.batch.evaluate.summary_rows` (every metric's mean, spread and
        difference against the baseline), and with optimising behaviour the world's calibrated
        ``effort_cost_sales``, ``effort_cost_marketing``, ``quality_cost_marketing`` and
        whether the scheme's equilibrium ``converged``.
    """
    from ..batch.evaluate import summary_rows
    from ..comparison import compare

    sc = item.scenario
    sim = sc.simulation
    cmp = compare(
        sc, list(item.schemes), replications=sim.replications, seed=sim.seed, key=(item.index,),
        solved=solution.policies or None,
    )  # fmt: skip
    rows = summary_rows(cmp, {"world": item.index, **item.values})
    for row in rows:
        row["excluded"] = ""
    if solution.calibration is not None:
        for row in rows:
            info = solution.policies[row["scheme"]].info
            row["effort_cost_sales"] = float(solution.calibration["sales"])
            row["effort_cost_marketing"] = float(solution.calibration["marketing"])
            row["quality_cost_marketing"] = float(solution.calibration.get("marketing_quality", 0.0))
            row["converged"] = bool(info.get("converged", True))
    return rows


def evaluate_chain(chain: list[WorldItem]) -> list[list[dict]]:
    """Evaluate a chain of worlds in order, each calibrated and solved cold (see the module).

    Parameters
    ----------
    chain : list of WorldItem
        Worlds in solving order (consecutive worlds are close in the design).

    Returns
    -------
    list of list of dict
        The rows of each world, in the chain's order.
    """
    from ..scenario.errors import ScenarioError

    out = []
    for item in chain:
        try:
            solution = solve_world(item.scenario, item.schemes)
        except ScenarioError as exc:
            if exc.key != CALIBRATION_KEY:
                raise
            out.append(excluded_rows(item, exc.reason))
            continue
        out.append(world_rows(item, solution))
    return out


#: The key a refused calibration names (:func:`incentsim.model.policy.calibrate`): a world whose
#: baseline cannot reproduce today's funnel is left out of the analysis, with the reason.
CALIBRATION_KEY = "behaviour.baseline_scheme"


def excluded_rows(item: WorldItem, reason: str) -> list[dict]:
    """The rows of a world left out: under its assumptions today's scheme cannot reproduce today's
    funnel (the calibration refused), so the world contradicts what is observed. One row per
    scheme with the world's inputs and ``excluded`` (the reason); no metrics."""
    return [{"world": item.index, **item.values, "scheme": s, "excluded": reason} for s in dict.fromkeys(item.schemes)]


def warm_up(chain: list[WorldItem]) -> None:
    """Compile (or load from numba's disk cache) every kernel a world needs, on one thread.

    Solves the chain's first world (its calibration lands in the disk cache, where the worker
    that evaluates the chain finds it) and simulates two replications; the thread count of the
    calling thread is restored afterwards.
    """
    from ..comparison import compare
    from ..scenario.errors import ScenarioError
    from ..threads import thread_count_set

    with thread_count_set(1):  # parallel work only waits for itself on a busy machine
        item = chain[0]
        try:
            solution = solve_world(item.scenario, item.schemes)
        except ScenarioError as exc:  # a world left out: the kernels compile at their first use instead
            if exc.key != CALIBRATION_KEY:
                raise
            return
        sc = item.scenario.with_simulation(replications=2)
        compare(sc, list(item.schemes), key=(item.index,), solved=solution.policies or None)
