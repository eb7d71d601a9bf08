"""The inputs a sensitivity analysis varies and their ranges: defaults, and the ranges file.

Default inputs are the numbers that matter in any scenario, each at +-20 % of its value (clipped
to what is valid): stage conversions and dwell times, lead rate, calls per rep, deal value mean
and CV, the behaviour parameters ``implicit_incentive`` and ``effort_cost_exponent`` (when people
optimise) and each scheme's sales ``target_level``. A ranges file states others
(:func:`read_ranges`).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..batch.keypaths import flatten, get_path, parse_range, scenario_value, set_path, validate_overrides
from ..scenario.errors import ScenarioError
from ..scenario.load import read_toml, scenario_from_dict
from ..scenario.reader import MISSING, Table
from ..scenario.schema import Scenario

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
                note = f"0 in the scenario: +-{spread:.0%} of it is no range; give it one in the ranges"
                skipped.append(f"{path} ({note})")
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
