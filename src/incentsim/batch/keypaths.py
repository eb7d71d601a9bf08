"""Key paths of batch studies: the scenario's key-path helpers plus ranges and override checks.

The key-path helpers themselves (:func:`split_path`, :func:`flatten`, :func:`get_path`,
:func:`set_path`, :func:`scenario_value`) live in :mod:`incentsim.scenario.keypaths`, beside the
loader that also uses them; they are re-exported here. This module adds what only batch studies
need: numeric ranges (:func:`parse_range`), one type per swept parameter (:func:`normalise`) and
validating an overridden scenario so that an error points at the override that caused it
(:func:`validate_overrides`).
"""

from __future__ import annotations

import math
from typing import Any

from ..scenario.errors import ScenarioError
from ..scenario.keypaths import describe, flatten, get_path, is_number, scenario_value, set_path, split_path
from ..scenario.load import scenario_from_dict
from ..scenario.schema import Scenario

__all__ = [
    "describe", "flatten", "get_path", "is_number", "normalise", "parse_range", "scenario_value", "set_path",
    "split_path", "validate_overrides",
]  # fmt: skip


def normalise(values: list[Any]) -> list[Any]:
    """Numbers of one parameter get one type: floats if any is a float (so Parquet columns agree)."""
    if values and all(is_number(v) for v in values) and any(isinstance(v, float) for v in values):
        return [float(v) for v in values]
    return values


def parse_range(source: str, where: str, value: Any) -> tuple[float, float]:
    """Validate ``[low, high]`` (numbers, low < high); one-line error otherwise."""
    if not isinstance(value, list) or len(value) != 2 or not all(is_number(v) and math.isfinite(v) for v in value):
        raise ScenarioError(source, where, f"must be a range [low, high] of two numbers, got {describe(value)}")
    lo, hi = float(value[0]), float(value[1])
    if not lo < hi:
        raise ScenarioError(source, where, f"low must be below high, got [{lo:g}, {hi:g}]")
    return lo, hi


def validate_overrides(data: dict, params: dict, where: dict[str, str], source: str, label: str) -> Scenario:
    """Validate an overridden scenario dict with the normal loader; errors point at the override.

    An error on an overridden key (or a table on its path) is reported at that key in the sweep
    or ranges file; any other error names the scenario key and says which overrides caused it.
    """
    try:
        return scenario_from_dict(data, source=source)
    except ScenarioError as exc:
        for path in params:
            if path in where and (exc.key == path or path.startswith(exc.key + ".") or exc.key.startswith(path + ".")):
                suffix = "" if exc.reason.startswith("unknown key") else f" ({label})"
                raise ScenarioError(source, where[path], exc.reason + suffix) from None
        changed = ", ".join(f"{k}={describe(v)}" for k, v in params.items() if k != "variant")
        raise ScenarioError(source, exc.key, f"{exc.reason} ({label}: {changed})") from None
