"""Sensitivity of the verdict: which inputs move the difference in profit after bonuses.

The output studied is ``D(x)``: the mean paired difference in profit after bonuses per year
between two schemes (``b - a``, ``a`` the baseline) at inputs ``x``. Two analyses:

- **One at a time (tornado).** Each input alone at the low and the high end of its range, the
  others at the scenario's values: ``2k + 1`` evaluations for ``k`` inputs. Inputs are ranked by
  the swing ``|D(high) - D(low)|``; an input *flips the verdict* when D at either end has the
  other sign than at the scenario's values.
- **Global indices** from SALib (not hand-written estimators): Morris elementary effects
  (``mu*``, ``sigma``; ``r (k + 1)`` evaluations for ``r`` trajectories) or Sobol indices
  (first order and total; Saltelli design of ``N (k + 2)`` evaluations), which also see
  interactions between inputs.

Default inputs are the numbers that matter in any scenario, each at +-20 % of its value (clipped
to what is valid): stage conversions and dwell times, lead rate, calls per rep, deal value mean
and CV, the behaviour parameters ``implicit_incentive`` and ``effort_cost_exponent`` (when people
optimise) and each scheme's sales ``target_level``. A ranges file states others (see
:func:`read_ranges`).

Every evaluation simulates both schemes with the same root seed and the same streams (spawn
key ``()``): common random numbers across schemes *and* across input points, so the difference
between two points measures the inputs, not the luck. Evaluations run as Dask tasks through
:func:`incentsim.sweep.map_tasks` (embedded cluster by default). With optimising behaviour each
evaluation recalibrates effort costs to its own inputs (revealed preference, DESIGN §2.2.1),
about 3 s each.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .scenario.errors import ScenarioError
from .scenario.load import read_toml, scenario_from_dict
from .scenario.reader import MISSING, Table
from .scenario.schema import BEHAVIOURS, Scenario
from .sweep import (
    SweepProgress,
    Task,
    get_path,
    map_tasks,
    parse_range,
    scenario_value,
    set_path,
    validate_overrides,
)

METRIC = "profit_after_bonus"
METHODS = ("morris", "sobol", "none")
DEFAULT_SPREAD = 0.2
#: Valid interval of an input, by its last key: default ranges are clipped into it.
BOUNDS: dict[str, tuple[float, float]] = {
    "conversion": (0.0, 1.0),
    "dwell_weeks": (1.0, math.inf),
    "leads_per_week": (0.0, math.inf),
    "calls_per_week": (0.0, math.inf),
    "call_to_appointment": (0.0, 1.0),
    "value_mean": (1e-9, math.inf),
    "value_cv": (0.0, 10.0),
    "implicit_incentive": (0.0, 0.95),
    "effort_cost_exponent": (1.05, 10.0),
    "target_level": (1e-6, math.inf),
}
_PERCENT = re.compile(r"^\s*(?:±|\+-|\+/-)?\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class Input:
    """One input varied by the analysis.

    Attributes
    ----------
    path : str
        Key path in the scenario file, e.g. ``"funnel.quote.conversion"``.
    base : float
        The scenario's value.
    low, high : float
        Range studied (``low < high``).
    integer : bool
        Values are rounded to integers (a count such as ``sales.reps``).
    origin : str
        ``"default"`` (+-spread of the value) or ``"ranges"`` (the ranges file).
    """

    path: str
    base: float
    low: float
    high: float
    integer: bool = False
    origin: str = "default"


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
        plot_tornado(self, path)


def _json_value(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- inputs -----------------------------------------------------------------------------------


def _bounds(path: str) -> tuple[float, float]:
    return BOUNDS.get(path.rsplit(".", 1)[-1], (-math.inf, math.inf))


def default_paths(data: dict, sc: Scenario, schemes: tuple[str, str], behaviour: str) -> list[str]:
    """Key paths of the default inputs for a scenario (its dict and validated form) and two schemes."""
    paths = []
    for st in sc.funnel.stages:
        paths += [f"funnel.{st.name}.conversion", f"funnel.{st.name}.dwell_weeks"]
    paths += ["marketing.leads_per_week", "sales.calls_per_week", "deals.value_mean", "deals.value_cv"]
    if behaviour == "optimising":
        paths += ["behaviour.implicit_incentive", "behaviour.effort_cost_exponent"]
    for name in schemes:
        scheme = sc.schemes[name]
        for role in ("sales", "marketing"):
            plan = scheme.plan(role)
            if plan is None or len(plan.components) != 1:
                continue
            comp = plan.components[0]
            if comp.target is None and comp.commission_rate is None:  # target_level scales auto targets
                listed = isinstance(get_path(data, f"schemes.{name}.{role}.components"), list)
                key = "components[0].target_level" if listed else "target_level"
                paths.append(f"schemes.{name}.{role}.{key}")
                break
    return paths


def _base_value(data: dict, sc: Scenario, path: str) -> Any:
    v = get_path(data, path)
    return scenario_value(sc, path) if v is MISSING else v


def _relative(path: str, base: float, spread: float, clip: bool) -> tuple[float, float]:
    lo, hi = base * (1 - spread), base * (1 + spread)
    if base < 0:
        lo, hi = hi, lo
    if clip:
        b_lo, b_hi = _bounds(path)
        lo, hi = max(lo, b_lo), min(hi, b_hi)
    return lo, hi


def _parse_spread(source: str, where: str, value: Any) -> float:
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if not m:
            raise ScenarioError(source, where, f'must be a percentage such as "20%", got {value!r}')
        return float(m.group(1)) / 100
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10:
        raise ScenarioError(source, where, f'must be a fraction such as 0.2 or a percentage "20%", got {value!r}')
    return float(value)


def read_ranges(
    spec: str | Path | dict | None,
) -> tuple[dict[str, Any], bool, float, str]:
    """Read a ranges file.

    The file::

        defaults = true        # also vary the default inputs (false: only those below)
        spread = "20%"         # default inputs at +-20 % of their value
        [ranges]
        funnel.quote.conversion = [0.4, 0.6]   # absolute low and high
        deals.value_mean = "30%"               # +-30 % of the scenario's value
        deals.value_cv = "off"                 # leave a default input out

    Returns
    -------
    ranges : dict
        Key path -> ``[low, high]``, a spread (float) or ``"off"``.
    defaults : bool
    spread : float
    source : str
    """
    if spec is None:
        return {}, True, DEFAULT_SPREAD, ""
    if isinstance(spec, dict):
        data, source = spec, "<ranges>"
    else:
        data, source = read_toml(spec), str(spec)
    top = Table(data, "", source)
    defaults = top.boolean("defaults", True)
    spread = _parse_spread(source, "spread", top.raw("spread", DEFAULT_SPREAD))
    table = top.table("ranges", required=not defaults)
    top.finish()
    from .sweep import flatten

    out: dict[str, Any] = {}
    for path, value in flatten(table.data):
        where = table.key(path)
        if value == "off":
            out[path] = "off"
        elif isinstance(value, str):
            out[path] = _parse_spread(source, where, value)
        else:
            out[path] = list(parse_range(source, where, value))
    if not defaults and not [v for v in out.values() if v != "off"]:
        raise ScenarioError(source, "ranges", "names no input to vary (defaults = false)")
    return out, defaults, spread, source


def build_inputs(
    data: dict,
    sc: Scenario,
    schemes: tuple[str, str],
    behaviour: str,
    ranges: dict[str, Any],
    defaults: bool,
    spread: float,
    ranges_source: str,
) -> tuple[list[Input], list[str]]:
    """The inputs to vary, their ranges checked against the scenario loader.

    A default input whose +-spread end is invalid (for example a conversion whose quality boost
    would exceed 1) is narrowed toward its value until valid; a default input with nothing to
    vary (value 0) is skipped with a note. A stated range that is invalid is an error naming
    the ranges file and key.
    """
    inputs: list[Input] = []
    skipped: list[str] = []
    seen = set()
    if defaults:
        for path in default_paths(data, sc, schemes, behaviour):
            seen.add(path)
            if path in ranges:
                continue
            base = _base_value(data, sc, path)
            if not isinstance(base, (int, float)) or isinstance(base, bool):
                continue
            if base == 0:
                skipped.append(f"{path} (0 in the scenario: +-{spread:.0%} of it is no range; state one with --ranges)")
                continue
            lo, hi = _relative(path, float(base), spread, clip=True)
            lo, hi = _valid_end(data, path, float(base), lo), _valid_end(data, path, float(base), hi)
            if lo is None or hi is None or not lo < hi:
                skipped.append(f"{path} (no valid range around {base:g})")
                continue
            inputs.append(Input(path, float(base), lo, hi, isinstance(base, int)))
    for path, spec in ranges.items():
        where = f"ranges.{path}"
        if spec == "off":
            if path not in seen and defaults:
                raise ScenarioError(ranges_source, where, "is not a default input, so there is nothing to turn off")
            continue
        base = _base_value(data, sc, path)
        if base is MISSING or isinstance(base, bool) or not isinstance(base, (int, float)):
            # let the loader say what is wrong with the key (unknown key, no such stage ...)
            probe = copy.deepcopy(data)
            set_path(probe, path, 1.0, ranges_source, where)
            validate_overrides(probe, {path: 1.0}, {path: where}, ranges_source, "a range end")
            raise ScenarioError(ranges_source, where, "names no number in the scenario, so it cannot be varied")
        if isinstance(spec, float):
            lo, hi = _relative(path, float(base), spec, clip=False)
            if not lo < hi:
                raise ScenarioError(
                    ranges_source, where, f"is {base:g} in the scenario, so +-{spec:.0%} of it is no range"
                )
        else:
            lo, hi = spec
        integer = isinstance(base, int)
        if integer:
            lo, hi = float(round(lo)), float(round(hi))
            if not lo < hi:
                raise ScenarioError(ranges_source, where, "is a whole number: give a range at least 1 wide")
        for end in (lo, hi):
            probe = copy.deepcopy(data)
            value = int(end) if integer else end
            set_path(probe, path, value, ranges_source, where)
            validate_overrides(probe, {path: value}, {path: where}, ranges_source, f"at {value:g}")
        inputs.append(Input(path, float(base), lo, hi, integer, "ranges"))
    if not inputs:
        raise ScenarioError(ranges_source or sc.source, "ranges", "no input to vary")
    return inputs, skipped


def _valid_end(data: dict, path: str, base: float, end: float) -> float | None:
    """``end``, or the nearest value toward ``base`` (halving the step) that the loader accepts."""
    for _ in range(8):
        probe = copy.deepcopy(data)
        set_path(probe, path, end, "<default ranges>", path)
        try:
            scenario_from_dict(probe)
            return end
        except ScenarioError:
            end = base + 0.5 * (end - base)
    return None


# -- the analysis -----------------------------------------------------------------------------


def _salib_seed(seed: int) -> int:
    import numpy as np

    # SALib treats seed 0 as "no seed" in places: derive a nonzero one from the root seed.
    return int(np.random.SeedSequence([seed, 0x5E75]).generate_state(1)[0]) + 1


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
    progress: SweepProgress | None = None,
    source: str | None = None,
) -> Sensitivity:
    """Which inputs move the difference in profit after bonuses between two schemes.

    Parameters
    ----------
    scenario : str, Path or dict
        A scenario file (or bundled name), or its parsed dict.
    schemes : (str, str), optional
        Baseline ``a`` and scheme ``b`` (default: the scenario's first two); the output is
        ``b - a`` in currency per year.
    ranges : str, Path or dict, optional
        A ranges file (see :func:`read_ranges`) or its dict.
    replications : int
        Per evaluation and scheme.
    seed : int, optional
        Root seed (default: the scenario's); every evaluation uses it with spawn key ``()``.
    behaviour : str, optional
        ``fixed`` or ``optimising`` (default: the scenario's).
    method : str
        Global indices: ``morris`` (default), ``sobol`` or ``none``.
    trajectories : int
        Morris trajectories ``r``: ``r (k + 1)`` evaluations.
    samples : int
        Sobol base samples ``N`` (a power of 2): ``N (k + 2)`` evaluations.
    workers, scheduler, client
        Where evaluations run (see :func:`incentsim.sweep.map_tasks`); ``workers=0`` runs here.
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
        For a bad scenario, scheme, range or method, before any simulation.
    """
    import numpy as np
    import pandas as pd

    if isinstance(scenario, dict):
        data, src = copy.deepcopy(scenario), source or "<dict>"
    else:
        from .scenario.bundled import resolve

        path = resolve(str(scenario))
        data, src = read_toml(path), str(path)
    sc = scenario_from_dict(copy.deepcopy(data), source=src)
    pair = _pair(sc, schemes)
    beh = behaviour or sc.simulation.behaviour
    if beh not in BEHAVIOURS:
        raise ScenarioError("--behaviour", "", f"must be one of {', '.join(BEHAVIOURS)}, got {beh!r}")
    if method not in METHODS:
        raise ScenarioError("--method", "", f"must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "morris" and trajectories < 2:
        raise ScenarioError("--trajectories", "", "Morris needs at least 2 trajectories")
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        raise ScenarioError("--samples", "", f"Sobol needs a power of 2 base samples (8, 16, 32 ...), got {samples}")
    root = sc.simulation.seed if seed is None else int(seed)
    rng, defaults, spread, rsrc = read_ranges(ranges)
    inputs, skipped = build_inputs(data, sc, pair, beh, rng, defaults, spread, rsrc)
    k = len(inputs)

    # Points: base, then low/high of each input, then the global design.
    points: list[dict[str, Any]] = [{}]
    for inp in inputs:
        points.append({inp.path: _value(inp, inp.low)})
        points.append({inp.path: _value(inp, inp.high)})
    problem = {"num_vars": k, "names": [i.path for i in inputs], "bounds": [[i.low, i.high] for i in inputs]}
    X = None
    if method == "morris":
        from SALib.sample import morris as morris_sample

        X = morris_sample.sample(problem, N=trajectories, num_levels=4, seed=_salib_seed(root))
        size = trajectories
    elif method == "sobol":
        from SALib.sample import sobol as sobol_sample

        X = sobol_sample.sample(problem, samples, calc_second_order=False, seed=_salib_seed(root))
        size = samples
    else:
        size = 0
    n_oat = len(points)
    if X is not None:
        for row in X:
            points.append({inp.path: _value(inp, float(v)) for inp, v in zip(inputs, row, strict=True)})

    # Validate every point first; simulate each distinct scenario once.
    where = {i.path: (f"ranges.{i.path}" if i.origin == "ranges" else i.path) for i in inputs}
    task_of_point: list[int] = []
    tasks: list[Task] = []
    by_hash: dict[str, int] = {}
    for j, overrides in enumerate(points):
        d = copy.deepcopy(data)
        for p, v in overrides.items():
            set_path(d, p, v, rsrc or src, where[p])
        label = "the scenario" if j == 0 else ("one input at an end of its range" if j < n_oat else "a design point")
        s = validate_overrides(d, overrides, where, rsrc or src, label)
        s = s.with_simulation(replications=replications, seed=root, behaviour=beh)
        h = s.hash + f"/{s.simulation.behaviour}"
        if h not in by_hash:
            by_hash[h] = len(tasks)
            tasks.append(Task(len(tasks), {}, s, pair, ()))
        task_of_point.append(by_hash[h])

    results: dict[int, tuple[float, float, float]] = {}
    if progress:
        progress(0, len(tasks))

    def store(task: Task, rows: list[dict]) -> None:
        r = rows[1]
        results[task.index] = (
            float(r[f"{METRIC}_diff_mean"]),
            float(r[f"{METRIC}_diff_ci95_lo"]),
            float(r[f"{METRIC}_diff_ci95_hi"]),
        )
        if progress:
            progress(len(results), len(tasks))

    map_tasks(tasks, store, workers=workers, scheduler=scheduler, client=client)
    y = [results[task_of_point[j]] for j in range(len(points))]
    base_mean, base_lo, base_hi = y[0]
    s0 = np.sign(base_mean)

    rows = []
    for i, inp in enumerate(inputs):
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
    table = pd.DataFrame(rows)
    flip_share = None
    if X is not None:
        Y = np.array([y[j][0] for j in range(n_oat, len(points))])
        flip_share = float(np.mean(np.sign(Y) != s0))
        if method == "morris":
            from SALib.analyze import morris as morris_analyze

            si = morris_analyze.analyze(problem, X, Y, num_levels=4, seed=_salib_seed(root))
            table["mu_star"] = np.asarray(si["mu_star"], dtype=float)
            table["mu_star_conf"] = np.asarray(si["mu_star_conf"], dtype=float)
            table["sigma"] = np.asarray(si["sigma"], dtype=float)
            key = "mu_star"
        else:
            from SALib.analyze import sobol as sobol_analyze

            si = sobol_analyze.analyze(problem, Y, calc_second_order=False, seed=_salib_seed(root))
            for name in ("S1", "S1_conf", "ST", "ST_conf"):
                table[name] = np.asarray(si[name], dtype=float)
            key = "ST"
        table["global_rank"] = table[key].rank(ascending=False, method="min").astype(int)
    table = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return Sensitivity(
        scenario=sc.name,
        schemes=pair,
        currency=sc.currency,
        replications=replications,
        seed=root,
        behaviour=beh,
        base={"mean": base_mean, "ci95": (base_lo, base_hi)},
        table=table,
        method=method,
        design_size=size,
        evaluations=len(tasks),
        flip_share=flip_share,
        skipped=skipped,
    )


def _value(inp: Input, v: float) -> float | int:
    return int(round(v)) if inp.integer else float(v)


def _pair(sc: Scenario, schemes) -> tuple[str, str]:
    from .scenario.reader import did_you_mean

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


# -- rendering ----------------------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _money(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.0f}"


def sensitivity_text(res: Sensitivity) -> str:
    """Plain-text report: the verdict at the scenario's inputs, the ranked table, the flips."""
    a, b = res.schemes
    cur = res.currency
    m, (lo, hi) = res.base["mean"], res.base["ci95"]
    better = b if m > 0 else a
    lines = [
        f"Sensitivity of profit after bonuses, {b} minus {a} ({cur} a year): {res.scenario}, behaviour "
        f"{res.behaviour}, {res.replications:,} replications per evaluation, {res.evaluations} evaluations",
        f"At the scenario's inputs: {_money(m)} {cur} (95% CI {_money(lo)} to {_money(hi)}): {better} is better.",
        "",
    ]
    t = res.table
    view = {
        "rank": t["rank"],
        "input": t["input"],
        "low": t["low"].map(_num),
        "high": t["high"].map(_num),
        "at low": t["diff_low"].map(_money),
        "at high": t["diff_high"].map(_money),
        "swing": t["swing"].map(_money),
    }
    if res.method == "morris":
        view["Morris mu*"] = t["mu_star"].map(_money)
        view["global rank"] = t["global_rank"]
    elif res.method == "sobol":
        view["Sobol ST"] = t["ST"].map(lambda v: f"{v:.2f}")
        view["global rank"] = t["global_rank"]
    view["verdict"] = [
        ("FLIPS" if s else "can flip") if f else "" for f, s in zip(t["flips"], t["flip_significant"], strict=True)
    ]
    import pandas as pd

    lines.append(pd.DataFrame(view).to_string(index=False))
    lines.append("")
    lines.append(
        "One at a time: each input at the low and high end of its range, the others as in the scenario; "
        "ranked by swing."
    )
    if res.method == "morris":
        lines.append(
            f"Morris ({res.design_size} trajectories, SALib): mu* = mean absolute effect of moving an input "
            f"across its range, all inputs varying together."
        )
    elif res.method == "sobol":
        lines.append(
            f"Sobol (N = {res.design_size}, SALib): ST = share of the variance of the difference due to "
            "an input, "
            "interactions included."
        )
    flips = res.flipping
    if flips:
        lines.append(
            f"Inputs whose range can flip the verdict ({better} better): {', '.join(flips)}. "
            "FLIPS: at that end the other scheme is better with 95% confidence; can flip: the sign changes, "
            "within simulation noise."
        )
    else:
        lines.append(f"No input flips the verdict ({better} better) on its own within its range.")
    if res.flip_share is not None:
        lines.append(f"Across the global design's points the verdict holds in {1 - res.flip_share:.0%} of them.")
    for note in res.skipped:
        lines.append(f"Left out: {note}")
    return "\n".join(lines)


def plot_tornado(res: Sensitivity, path: str | Path) -> None:
    """Tornado chart of the one-at-a-time analysis, written atomically as a PNG.

    Bars run from the difference at the scenario's inputs to its value with each input at the
    low end (light) and the high end (dark) of its range; the largest swing is at the top. The
    dashed line at zero is where the verdict flips.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .io import with_atomic_file

    t = res.table
    a, b = res.schemes
    n = len(t)
    fig = Figure(figsize=(10.0, 1.8 + 0.42 * n), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    base = res.base["mean"]
    low_c, high_c, flip_c = "#9ecae1", "#08519c", "#b2182b"
    ys = list(range(n))[::-1]
    for y, row in zip(ys, t.itertuples(), strict=True):
        ax.barh(y, row.diff_low - base, left=base, height=0.6, color=low_c, edgecolor="none")
        ax.barh(y, row.diff_high - base, left=base, height=0.6, color=high_c, edgecolor="none")
    labels = [f"{row.input}  {row.low:,.4g} to {row.high:,.4g}" for row in t.itertuples()]
    ax.set_yticks(ys, labels)
    for tick, row in zip(ax.get_yticklabels(), t.itertuples(), strict=True):
        if row.flips:
            tick.set_color(flip_c)
            tick.set_fontweight("bold")
    ax.axvline(0.0, color=flip_c, linestyle="--", linewidth=1)
    ax.axvline(base, color="black", linewidth=1)
    ax.set_xlabel(f"profit after bonuses, {b} minus {a} ({res.currency} a year)")
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:,.0f}")
    ax.spines[["top", "right"]].set_visible(False)
    handles = [
        Patch(color=low_c, label="input at the low end"),
        Patch(color=high_c, label="input at the high end"),
        Line2D([], [], color="black", linewidth=1, label=f"at the scenario's inputs ({base:,.0f})"),
        Line2D(
            [],
            [],
            color=flip_c,
            linestyle="--",
            linewidth=1,
            label="zero: the verdict flips (red inputs cross it)",
        ),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False, fontsize=8)
    fig.suptitle(
        f"What moves the verdict between {a} and {b}: {res.scenario} "
        f"({res.replications:,} replications per evaluation, common random numbers)",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    with_atomic_file(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
