"""The sensitivity analysis as named steps: study, design, evaluation, one at a time, global indices.

:func:`sensitivity` is the public entry point; it builds :class:`SensitivityParameters` and runs
the steps in order:

1. :func:`prepare_study`: read the scenario, pick the two schemes, read the ranges and build the
   inputs (nothing simulated; every error is raised here);
2. :func:`design_points`: the scenario's own inputs, each input at the low and high end of its
   range, then the global design (Morris trajectories or a Saltelli design, from SALib);
3. :func:`evaluate_points`: validate every point's scenario, simulate each distinct one once on
   the batch runtime, and read the difference ``b - a`` with its interval;
4. :func:`one_at_a_time`: the ranked tornado table and the flags of inputs that flip the verdict;
5. :func:`global_indices`: Morris or Sobol indices (SALib) and the share of design points where
   the verdict flips.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch.evaluate import CompareItem, compare_rows
from ..batch.keypaths import set_path, validate_overrides
from ..batch.runner import Progress, Runtime, map_items
from ..scenario.errors import ArgumentError, ScenarioError
from ..scenario.load import read_toml, scenario_from_dict
from ..scenario.schema import BEHAVIOURS, Scenario
from .inputs import Input, build_inputs, read_ranges

METRIC = "profit_after_bonus"
METHODS = ("morris", "sobol", "none")


@dataclass(frozen=True)
class SensitivityParameters:
    """What a sensitivity analysis studies and how (everything but where it runs).

    Attributes
    ----------
    schemes : (str, str), optional
        Baseline ``a`` and scheme ``b`` (default: the scenario's first two); the output is
        ``b - a`` in currency per year.
    ranges : str, Path or dict, optional
        A ranges file (see :func:`~incentsim.sensitivity.inputs.read_ranges`) or its dict.
    replications : int
        Per evaluation and scheme.
    seed : int, optional
        Root seed (default: the scenario's); every evaluation uses it with spawn key ``()``.
    behaviour : str, optional
        ``fixed`` or ``optimising`` (default: the scenario's).
    method : str
        Global indices: ``morris``, ``sobol`` or ``none``.
    trajectories : int
        Morris trajectories ``r``: ``r (k + 1)`` evaluations for ``k`` inputs.
    samples : int
        Sobol base samples ``N`` (a power of 2): ``N (k + 2)`` evaluations.
    """

    schemes: tuple[str, ...] | None = None
    ranges: str | Path | dict | None = None
    replications: int = 1000
    seed: int | None = None
    behaviour: str | None = None
    method: str = "morris"
    trajectories: int = 2
    samples: int = 16

    def check(self) -> None:
        """Refuse bad settings with a one-line :class:`ArgumentError` naming the argument."""
        if self.behaviour is not None and self.behaviour not in BEHAVIOURS:
            raise ArgumentError("behaviour", f"must be one of {', '.join(BEHAVIOURS)}, got {self.behaviour!r}")
        if self.method not in METHODS:
            raise ArgumentError("method", f"must be one of {', '.join(METHODS)}, got {self.method!r}")
        if isinstance(self.replications, bool) or not isinstance(self.replications, int) or self.replications < 1:
            raise ArgumentError("replications", f"must be a whole number of at least 1, got {self.replications!r}")
        if self.method == "morris" and self.trajectories < 2:
            raise ArgumentError("trajectories", "Morris needs at least 2 trajectories")
        if self.method == "sobol" and (self.samples < 2 or self.samples & (self.samples - 1)):
            raise ArgumentError(
                "samples", f"Sobol needs a power of 2 base samples (8, 16, 32 ...), got {self.samples}"
            )


@dataclass
class Study:
    """A validated sensitivity study: the scenario, the two schemes and the inputs (step 1).

    Attributes
    ----------
    data : dict
        The scenario as a nested dict (the points override it).
    scenario : Scenario
        Its validated form.
    source : str
        The scenario file (for errors).
    schemes : (str, str)
        Baseline and the other scheme.
    behaviour : str
    seed : int
        Root seed of every evaluation.
    replications : int
    inputs : list of Input
    skipped : list of str
        Default inputs left out, with why.
    ranges_source : str
        The ranges file ("" without one).
    """

    data: dict
    scenario: Scenario
    source: str
    schemes: tuple[str, str]
    behaviour: str
    seed: int
    replications: int
    inputs: list[Input]
    skipped: list[str]
    ranges_source: str


@dataclass
class Design:
    """The points evaluated (step 2): overrides of the scenario's inputs.

    Attributes
    ----------
    points : list of dict
        Key path -> value; point 0 is the scenario itself, then low and high of each input in
        turn, then the global design's rows.
    one_at_a_time : int
        Number of leading points that belong to the one-at-a-time analysis (``2k + 1``).
    X : ndarray or None
        The global design (SALib sample), one row per point after the first ``one_at_a_time``.
    problem : dict
        SALib's problem description.
    size : int
        Morris trajectories or Sobol base samples (0 without global indices).
    """

    points: list[dict[str, Any]]
    one_at_a_time: int
    X: Any
    problem: dict
    size: int


@dataclass
class Sensitivity:
    """Result of :func:`sensitivity`.

    Attributes
    ----------
    scenario : str
        Scenario name.
    schemes : (str, str)
        Baseline ``a`` and the other scheme ``b``; differences are ``b - a``.
    currency : str
    replications, seed : int
        Per evaluation; every evaluation uses the same root seed and streams.
    behaviour : str
    base : dict
        ``mean``, ``ci95`` of the difference at the scenario's inputs.
    table : pandas.DataFrame
        One row per input, ranked by one-at-a-time swing: ``rank, input, base, low, high,
        diff_low, diff_high, swing, flips, flip_significant`` and the global indices
        (``mu_star, mu_star_conf, sigma, global_rank`` for Morris; ``S1, S1_conf, ST, ST_conf,
        global_rank`` for Sobol).
    method : str
        ``morris``, ``sobol`` or ``none``.
    design_size : int
        Morris trajectories or Sobol base samples (0 without global indices).
    evaluations : int
        Distinct scenarios simulated.
    flip_share : float or None
        Share of the global design's points where the verdict has the other sign than at the
        scenario's inputs.
    skipped : list of str
        Default inputs left out, with why.
    """

    scenario: str
    schemes: tuple[str, str]
    currency: str
    replications: int
    seed: int
    behaviour: str
    base: dict
    table: Any
    method: str
    design_size: int
    evaluations: int
    flip_share: float | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def flipping(self) -> list[str]:
        """Inputs whose range can flip the verdict, most influential first."""
        return [r.input for r in self.table.itertuples() if r.flips]

    def text(self) -> str:
        """The ranked table and what it means, for a terminal."""
        from ..report.sensitivity_view import sensitivity_text

        return sensitivity_text(self)

    def to_json(self) -> dict:
        """A JSON-ready dict (NaN as None)."""
        rows = []
        for rec in self.table.to_dict("records"):
            rows.append({k: _json_value(v) for k, v in rec.items()})
        return {
            "scenario": self.scenario,
            "metric": METRIC,
            "a": self.schemes[0],
            "b": self.schemes[1],
            "difference": "b - a",
            "currency": self.currency,
            "replications": self.replications,
            "seed": self.seed,
            "behaviour": self.behaviour,
            "base": {
                "mean": _json_value(self.base["mean"]),
                "ci95": [_json_value(v) for v in self.base["ci95"]],
            },
            "method": self.method,
            "design_size": self.design_size,
            "evaluations": self.evaluations,
            "flip_share": _json_value(self.flip_share),
            "inputs": rows,
            "skipped": list(self.skipped),
        }

    def plot(self, path: str | Path) -> None:
        """Write the tornado chart as a PNG (atomically)."""
        from ..report.sensitivity_view import plot_tornado

        plot_tornado(self, path)


def _json_value(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- the steps --------------------------------------------------------------------------------------


def sensitivity(
    scenario: str | Path | dict,
    schemes: tuple[str, str] | list[str] | None = None,
    *,
    ranges: str | Path | dict | None = None,
    replications: int = 1000,
    seed: int | None = None,
    behaviour: str | None = None,
    method: str = "morris",
    trajectories: int = 2,
    samples: int = 16,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: Progress | None = None,
    source: str | None = None,
) -> Sensitivity:
    """Which inputs move the difference in profit after bonuses between two schemes.

    Parameters
    ----------
    scenario : str, Path or dict
        A scenario file (or bundled name), or its parsed dict.
    schemes, ranges, replications, seed, behaviour, method, trajectories, samples
        What is studied: see :class:`SensitivityParameters`.
    workers, scheduler, client
        Where evaluations run: see :class:`~incentsim.batch.runner.Runtime` (``workers=0``
        runs here).
    progress : callable, optional
        ``progress(done, total)`` in evaluations.
    source : str, optional
        Name for errors when ``scenario`` is a dict.

    Returns
    -------
    Sensitivity

    Raises
    ------
    ScenarioError
        For a bad scenario, scheme, range or argument, before any simulation.
    """
    params = SensitivityParameters(
        tuple(schemes) if schemes else None, ranges, replications, seed, behaviour, method, trajectories, samples
    )
    return run_sensitivity(scenario, params, Runtime(workers, scheduler, client), progress=progress, source=source)


def run_sensitivity(
    scenario: str | Path | dict,
    params: SensitivityParameters,
    runtime: Runtime | None = None,
    *,
    progress: Progress | None = None,
    source: str | None = None,
) -> Sensitivity:
    """:func:`sensitivity` with its settings as objects: the five steps in order."""
    runtime = runtime or Runtime()
    runtime.check()
    study = prepare_study(scenario, params, source)
    design = design_points(study, params)
    y, evaluations = evaluate_points(study, design, runtime, progress)
    table, base = one_at_a_time(study, y)
    flip_share = global_indices(table, study, design, params, y)
    table = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return Sensitivity(
        scenario=study.scenario.name,
        schemes=study.schemes,
        currency=study.scenario.currency,
        replications=study.replications,
        seed=study.seed,
        behaviour=study.behaviour,
        base=base,
        table=table,
        method=params.method,
        design_size=design.size,
        evaluations=evaluations,
        flip_share=flip_share,
        skipped=study.skipped,
    )


def prepare_study(scenario: str | Path | dict, params: SensitivityParameters, source: str | None = None) -> Study:
    """Step 1: the scenario, the two schemes, the arguments and the inputs, all validated."""
    params.check()
    if isinstance(scenario, dict):
        data, src = copy.deepcopy(scenario), source or "<dict>"
    else:
        from ..scenario.bundled import resolve

        path = resolve(str(scenario))
        data, src = read_toml(path), str(path)
    sc = scenario_from_dict(copy.deepcopy(data), source=src)
    pair = _pair(sc, params.schemes)
    beh = params.behaviour or sc.simulation.behaviour
    root = sc.simulation.seed if params.seed is None else int(params.seed)
    rng, defaults, spread, rsrc = read_ranges(params.ranges)
    inputs, skipped = build_inputs(data, sc, pair, beh, rng, defaults, spread, rsrc)
    return Study(data, sc, src, pair, beh, root, params.replications, inputs, skipped, rsrc)


def _salib_seed(seed: int) -> int:
    import numpy as np

    # SALib treats seed 0 as "no seed" in places: derive a nonzero one from the root seed.
    return int(np.random.SeedSequence([seed, 0x5E75]).generate_state(1)[0]) + 1


def design_points(study: Study, params: SensitivityParameters) -> Design:
    """Step 2: the scenario's inputs, each input at either end of its range, then the global design."""
    inputs = study.inputs
    points: list[dict[str, Any]] = [{}]
    for inp in inputs:
        points.append({inp.path: _value(inp, inp.low)})
        points.append({inp.path: _value(inp, inp.high)})
    problem = {"num_vars": len(inputs), "names": [i.path for i in inputs], "bounds": [[i.low, i.high] for i in inputs]}
    X = None
    size = 0
    if params.method == "morris":
        from SALib.sample import morris as morris_sample

        X = morris_sample.sample(problem, N=params.trajectories, num_levels=4, seed=_salib_seed(study.seed))
        size = params.trajectories
    elif params.method == "sobol":
        from SALib.sample import sobol as sobol_sample

        X = sobol_sample.sample(problem, params.samples, calc_second_order=False, seed=_salib_seed(study.seed))
        size = params.samples
    n_oat = len(points)
    if X is not None:
        for row in X:
            points.append({inp.path: _value(inp, float(v)) for inp, v in zip(inputs, row, strict=True)})
    return Design(points, n_oat, X, problem, size)


def evaluate_points(
    study: Study, design: Design, runtime: Runtime, progress: Progress | None = None
) -> tuple[list[tuple[float, float, float]], int]:
    """Step 3: validate every point, simulate each distinct scenario once, read ``b - a``.

    Every evaluation uses the same root seed and streams (spawn key ``()``): common random
    numbers across schemes and across points, so differences between points measure the
    inputs, not the luck.

    Returns
    -------
    y : list of (mean, ci95_lo, ci95_hi)
        The difference in profit after bonuses at each point, in point order.
    evaluations : int
        Distinct scenarios simulated.
    """
    source = study.ranges_source or study.source
    where = {i.path: (f"ranges.{i.path}" if i.origin == "ranges" else i.path) for i in study.inputs}
    item_of_point: list[int] = []
    items: list[CompareItem] = []
    by_hash: dict[str, int] = {}
    for j, overrides in enumerate(design.points):
        d = copy.deepcopy(study.data)
        for p, v in overrides.items():
            set_path(d, p, v, source, where[p])
        if j == 0:
            label = "the scenario"
        else:
            label = "one input at an end of its range" if j < design.one_at_a_time else "a design point"
        s = validate_overrides(d, overrides, where, source, label)
        s = s.with_simulation(replications=study.replications, seed=study.seed, behaviour=study.behaviour)
        h = s.hash + f"/{s.simulation.behaviour}"
        if h not in by_hash:
            by_hash[h] = len(items)
            items.append(CompareItem(len(items), {}, s, study.schemes, ()))
        item_of_point.append(by_hash[h])

    results: dict[int, tuple[float, float, float]] = {}
    if progress:
        progress(0, len(items))

    def keep(index: int, rows: list[dict]) -> None:
        r = rows[1]
        results[index] = (
            float(r[f"{METRIC}_diff_mean"]),
            float(r[f"{METRIC}_diff_ci95_lo"]),
            float(r[f"{METRIC}_diff_ci95_hi"]),
        )
        if progress:
            progress(len(results), len(items))

    map_items(list(enumerate(items)), compare_rows, keep, runtime=runtime)
    return [results[item_of_point[j]] for j in range(len(design.points))], len(items)


def one_at_a_time(study: Study, y: list[tuple[float, float, float]]) -> tuple[Any, dict]:
    """Step 4: each input's swing and whether its range flips the verdict (unsorted table, base)."""
    import numpy as np
    import pandas as pd

    base_mean, base_lo, base_hi = y[0]
    s0 = np.sign(base_mean)
    rows = []
    for i, inp in enumerate(study.inputs):
        lo_res, hi_res = y[1 + 2 * i], y[2 + 2 * i]
        flips_lo = np.sign(lo_res[0]) != s0
        flips_hi = np.sign(hi_res[0]) != s0
        sig = any(
            flipped and (r[1] > 0 if s0 < 0 else r[2] < 0) for flipped, r in ((flips_lo, lo_res), (flips_hi, hi_res))
        )
        rows.append(
            {
                "input": inp.path,
                "base": inp.base,
                "low": inp.low,
                "high": inp.high,
                "diff_low": lo_res[0],
                "diff_high": hi_res[0],
                "swing": abs(hi_res[0] - lo_res[0]),
                "flips": bool(flips_lo or flips_hi),
                "flip_significant": bool(sig),
                "origin": inp.origin,
            }
        )
    return pd.DataFrame(rows), {"mean": base_mean, "ci95": (base_lo, base_hi)}


def global_indices(
    table: Any, study: Study, design: Design, params: SensitivityParameters, y: list[tuple[float, float, float]]
) -> float | None:
    """Step 5: add Morris or Sobol indices (SALib) to ``table``; the share of design points that flip."""
    import numpy as np

    if design.X is None:
        return None
    s0 = np.sign(y[0][0])
    Y = np.array([y[j][0] for j in range(design.one_at_a_time, len(design.points))])
    flip_share = float(np.mean(np.sign(Y) != s0))
    if params.method == "morris":
        from SALib.analyze import morris as morris_analyze

        si = morris_analyze.analyze(design.problem, design.X, Y, num_levels=4, seed=_salib_seed(study.seed))
        table["mu_star"] = np.asarray(si["mu_star"], dtype=float)
        table["mu_star_conf"] = np.asarray(si["mu_star_conf"], dtype=float)
        table["sigma"] = np.asarray(si["sigma"], dtype=float)
        key = "mu_star"
    else:
        from SALib.analyze import sobol as sobol_analyze

        si = sobol_analyze.analyze(design.problem, Y, calc_second_order=False, seed=_salib_seed(study.seed))
        for name in ("S1", "S1_conf", "ST", "ST_conf"):
            table[name] = np.asarray(si[name], dtype=float)
        key = "ST"
    table["global_rank"] = table[key].rank(ascending=False, method="min").astype(int)
    return flip_share


def _value(inp: Input, v: float) -> float | int:
    return int(round(v)) if inp.integer else float(v)


def _pair(sc: Scenario, schemes) -> tuple[str, str]:
    from ..scenario.reader import did_you_mean

    names = list(schemes) if schemes else list(sc.schemes)[:2]
    if len(names) != 2:
        raise ScenarioError(
            sc.source,
            "schemes",
            f"sensitivity compares two schemes (baseline first); got {len(names)}: {', '.join(names)}",
        )
    for n in names:
        if n not in sc.schemes:
            raise ScenarioError(
                sc.source,
                "schemes",
                f"no scheme {n!r}{did_you_mean(n, sc.schemes)}; the scenario has {', '.join(sc.schemes)}",
            )
    if names[0] == names[1]:
        raise ScenarioError(sc.source, "schemes", "give two different schemes")
    return names[0], names[1]
