"""Key paths: the scenario file's own dotted names for a value (``funnel.quote.conversion``).

Sweeps, sensitivity ranges, the ``[uncertainty]`` table and every later batch study name the
inputs they change by key path; a list item is ``components[0]``. These helpers split a key
path, read and set values by key path in a scenario's nested dict, and read the value a
validated :class:`~incentsim.scenario.schema.Scenario` uses (defaults included). They live
with the scenario (the loader validates ``[uncertainty]`` with them); :mod:`incentsim.batch.keypaths`
re-exports them beside the batch-only helpers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ScenarioError
from .reader import MISSING, did_you_mean
from .schema import Scenario

_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def split_path(path: str) -> list[str | int]:
    """Split a dotted key path into keys and list indices.

    Parameters
    ----------
    path : str
        E.g. ``"funnel.quote.conversion"`` or ``"schemes.hybrid.sales.components[1].cap"``.

    Returns
    -------
    list of str or int
        ``["schemes", "hybrid", "sales", "components", 1, "cap"]``.

    Raises
    ------
    ValueError
        For an empty segment or malformed brackets.
    """
    parts: list[str | int] = []
    for seg in path.split("."):
        m = _SEGMENT.match(seg.strip())
        if not m:
            raise ValueError(f"{path!r} is not a key path (keys separated by dots, list items as name[0])")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return parts


def flatten(table: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted key paths of the leaves of a nested table, in file order.

    TOML reads ``funnel.quote.conversion = [...]`` as nested tables and ``"funnel.quote.conversion"``
    as one key; both give the path ``funnel.quote.conversion``. Anything that is not a table
    (numbers, strings, lists, lists of tables) is a leaf.
    """
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.extend(flatten(value, path))
        else:
            out.append((path, value))
    return out


def get_path(data: Any, path: str) -> Any:
    """The value at a key path of a nested dict/list, or :data:`MISSING`."""
    node = data
    for part in split_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return MISSING
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
    return node


def set_path(
    data: dict,
    path: str,
    value: Any,
    source: str,
    where: str,
    reserved: Mapping[str, str] | None = None,
    changer: str = "a sweep",
) -> None:
    """Set ``value`` at a key path of a scenario dict, in place.

    Missing tables on the way are created (a key the base scenario leaves at its default), except
    that a study may not add funnel stages or schemes: ``funnel.X`` and ``schemes.X`` must exist.
    Unknown keys are left for the scenario loader to reject (it names the key).

    Parameters
    ----------
    data : dict
        A scenario as a nested dict (modified).
    path : str
        Dotted key path.
    value : any
        The new value.
    source, where : str
        File and key path (in the sweep or ranges file) for error messages.
    reserved : mapping, optional
        Key paths the caller sets itself -> why they cannot be changed here (one-line error).
    changer : str
        What changes the value, in the error about a missing stage or scheme (``"a sweep"``,
        ``"[uncertainty]"``).

    Raises
    ------
    ScenarioError
        When the path is malformed or leads through something that is not a table.
    """
    try:
        parts = split_path(path)
    except ValueError as exc:
        raise ScenarioError(source, where, str(exc)) from None
    if reserved and path in reserved:
        raise ScenarioError(source, where, reserved[path])
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        done = ".".join(str(p) for p in parts[:i]) or "the scenario"
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                n = len(node) if isinstance(node, list) else 0
                raise ScenarioError(source, where, f"{done} has no item [{part}] (it has {n})")
            if last:
                node[part] = value
            else:
                node = node[part]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(source, where, f"{done} is not a table, so it has no key {part!r}")
        if i == 1 and parts[0] in ("funnel", "schemes") and part not in node and part != "handoff":
            what = "funnel stage" if parts[0] == "funnel" else "scheme"
            hint = did_you_mean(part, [k for k in node if k != "handoff"])
            raise ScenarioError(
                source,
                where,
                f"the base scenario has no {what} {part!r}{hint}; {changer} changes values, it adds no {what}s",
            )
        if last:
            node[part] = value
        else:
            if part not in node:
                nxt = parts[i + 1]
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]


def scenario_value(sc: Scenario, path: str) -> Any:
    """The value a validated scenario uses at a key path (defaults included), or :data:`MISSING`.

    Resolves funnel stages by name and a scheme role's keys through its single component (or
    ``components[i]``). Only plain attributes resolve; derived values (a payout curve's cap)
    return :data:`MISSING`.
    """
    try:
        parts = split_path(path)
    except ValueError:
        return MISSING
    node: Any = sc
    i = 0
    if parts[0] == "funnel" and len(parts) == 3:
        stages = {s.name: s for s in sc.funnel.stages}
        node, i = stages.get(parts[1], MISSING), 2
    elif parts[0] == "schemes" and len(parts) >= 4 and parts[2] in ("marketing", "sales"):
        scheme = sc.schemes.get(parts[1])
        plan = getattr(scheme, parts[2], None) if scheme is not None else None
        if plan is None:
            return MISSING
        rest = parts[3:]
        if rest[0] == "components" and len(rest) == 3 and isinstance(rest[1], int):
            if rest[1] >= len(plan.components):
                return MISSING
            node, parts, i = plan.components[rest[1]], rest, 2
        elif hasattr(plan, str(rest[0])) and len(rest) == 1:
            node, parts, i = plan, rest, 0
        elif len(plan.components) == 1 and len(rest) == 1:
            node, parts, i = plan.components[0], rest, 0
        else:
            return MISSING
    for part in parts[i:]:
        if node is MISSING or isinstance(part, int) or not hasattr(node, part):
            return MISSING
        node = getattr(node, part)
    if isinstance(node, (bool, int, float, str)) or node is None:
        return node
    if isinstance(node, tuple) and all(isinstance(v, (int, float)) for v in node):
        return list(node)
    return MISSING


def is_number(v: Any) -> bool:
    """Whether ``v`` is an int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def describe(value: Any) -> str:
    """A value for an error message, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
