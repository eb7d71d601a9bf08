"""Batch scenarios and parameter sweeps on Dask (DESIGN §4, ``sweep.py``).

A *sweep file* (TOML) names a base scenario and the values to try:

- ``[grid]``: key path = list of values; every combination is a cell (first key slowest);
- ``[[variants]]``: explicit cells, each a table of key path = value (and an optional ``name``);
- ``[design]``: a space-filling design (``lhs`` Latin hypercube or ``sobol``, from
  :mod:`scipy.stats.qmc`) of ``samples`` cells over ``[design.ranges]`` (key path = [low, high]).

Key paths are the scenario file's own, dotted: ``funnel.quote.conversion``,
``marketing.quality.conversion_at_one``, ``schemes.shared.sales.target_level`` (a list element
is ``components[0]``). Every cell's scenario is validated by the normal scenario loader before any
work starts, so a bad key path or value is one :class:`ScenarioError` naming the file and key.

Each cell is simulated by :func:`incentsim.comparison.compare` with the sweep's root seed and the
spawn-key prefix ``(cell_index,)``, never anything about the worker, so one worker and twenty give
bit-identical results. Cells run as Dask futures: on an embedded ``LocalCluster`` by default
(processes with one thread and one numba thread each), or on an existing cluster given its
scheduler address. Each finished cell is written at once, atomically, as one Parquet part file
``DIR/cells/cell-NNNNNN.parquet``; ``resume=True`` skips the cells already there, so an
interrupted sweep (Ctrl-C, a killed worker or client) loses no finished cell. At the end the
parts are combined into ``DIR/results.parquet``: one row per cell and scheme with the cell's
parameters, the summary statistics of every metric and the paired difference against the
baseline (first) scheme.

This module is callable: once it is imported, the attribute ``incentsim.sweep`` is the module
itself (Python's import system sets it), so ``incentsim.sweep(...)`` forwards to :func:`sweep`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import re
import sys
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .scenario.errors import ScenarioError
from .scenario.load import read_toml, scenario_from_dict
from .scenario.reader import MISSING, Table, did_you_mean
from .scenario.schema import BEHAVIOURS, Scenario

#: ``progress(done, total)``: called once before work starts (``done`` = cells already finished,
#: when resuming) and after every finished cell.
SweepProgress = Callable[[int, int], None]

STATS = ("mean", "std", "p5", "p50", "p95")
DIFF_STATS = ("diff_mean", "diff_ci95_lo", "diff_ci95_hi", "p_beats_baseline")
MODES = ("grid", "variants", "design")
DESIGNS = ("lhs", "sobol")
#: Simulation settings that belong to the whole sweep, not to a cell.
_SWEEP_LEVEL = {"simulation.seed": "seed", "simulation.replications": "replications"}
_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")

log = logging.getLogger(__name__)


# -- key paths --------------------------------------------------------------------------------


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


def set_path(data: dict, path: str, value: Any, source: str, where: str) -> None:
    """Set ``value`` at a key path of a scenario dict, in place.

    Missing tables on the way are created (a key the base scenario leaves at its default), except
    that a sweep may not add funnel stages or schemes: ``funnel.X`` and ``schemes.X`` must exist.
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

    Raises
    ------
    ScenarioError
        When the path is malformed or leads through something that is not a table.
    """
    try:
        parts = split_path(path)
    except ValueError as exc:
        raise ScenarioError(source, where, str(exc)) from None
    if path in _SWEEP_LEVEL:
        raise ScenarioError(source, where, f"the sweep sets {_SWEEP_LEVEL[path]} for every cell: use [sweep] instead")
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
                f"the base scenario has no {what} {part!r}{hint}; a sweep changes values, it adds no {what}s",
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


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _normalise(values: list[Any]) -> list[Any]:
    """Numbers of one parameter get one type: floats if any is a float (so Parquet columns agree)."""
    if values and all(_is_number(v) for v in values) and any(isinstance(v, float) for v in values):
        return [float(v) for v in values]
    return values


# -- the sweep --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One cell of a sweep: a scenario variant, simulated under every scheme.

    Attributes
    ----------
    index : int
        Position in the sweep (0-based); also the cell's spawn-key prefix ``(index,)``.
    params : dict
        Key path -> value of the swept inputs (and ``variant`` -> name for variants).
    scenario : Scenario
        The validated scenario of the cell, with the sweep's replications, seed and behaviour.
    """

    index: int
    params: dict[str, Any]
    scenario: Scenario

    @property
    def key(self) -> tuple[int, ...]:
        """Spawn-key prefix of all the cell's random streams."""
        return (self.index,)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base scenario, cells and run settings.

    Attributes
    ----------
    name : str
        Sweep name (default: the file's stem).
    source : str
        The sweep file (``"<dict>"`` from Python).
    mode : str
        ``grid``, ``variants`` or ``design``.
    parameters : tuple of str
        Column names of the swept inputs (key paths; ``variant`` first for variants).
    schemes : tuple of str
        Schemes compared in every cell, baseline first.
    replications, seed : int
        Per cell and scheme; the root seed of every cell.
    behaviour : str
        ``fixed`` or ``optimising``.
    cells : tuple of Cell
    description : str
    """

    name: str
    source: str
    mode: str
    parameters: tuple[str, ...]
    schemes: tuple[str, ...]
    replications: int
    seed: int
    behaviour: str
    cells: tuple[Cell, ...]
    description: str = ""
    base_source: str = field(default="", compare=False)

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that determines the results (to refuse resuming another sweep)."""
        cells = [[c.index, c.params, c.scenario.hash, dataclasses.asdict(c.scenario.simulation)] for c in self.cells]
        text = json.dumps(
            {
                "version": __version__,
                "schemes": self.schemes,
                "replications": self.replications,
                "seed": self.seed,
                "behaviour": self.behaviour,
                "cells": cells,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def manifest(self) -> dict:
        """What ``DIR/sweep.json`` records."""
        return {
            "name": self.name,
            "source": self.source,
            "base": self.base_source,
            "fingerprint": self.fingerprint,
            "mode": self.mode,
            "cells": len(self.cells),
            "parameters": list(self.parameters),
            "schemes": list(self.schemes),
            "replications": self.replications,
            "seed": self.seed,
            "behaviour": self.behaviour,
            "version": __version__,
        }


def resolve_sweep(name_or_path: str | Path) -> Path:
    """A sweep file: the path if it exists, else a bundled sweep of that name (``scenarios/``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    from .scenario.bundled import bundled_sweeps

    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    return bundled_sweeps().get(stem, path)


def load_sweep(
    spec: str | Path | dict,
    *,
    source: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
) -> Sweep:
    """Read and validate a sweep file (or its parsed dict) and every cell's scenario.

    Parameters
    ----------
    spec : str, Path or dict
        A sweep TOML file (or the name of a bundled sweep), or the parsed dict; a dict's relative
        ``base`` path is taken from the current folder.
    source : str, optional
        Name for error messages when ``spec`` is a dict.
    replications, seed, behaviour : optional
        Override the sweep's settings.

    Returns
    -------
    Sweep

    Raises
    ------
    ScenarioError
        One line naming the file, the key path and the reason; nothing has run yet.
    """
    if isinstance(spec, dict):
        data, src, folder = spec, source or "<dict>", Path.cwd()
    else:
        path = resolve_sweep(spec)
        data, src, folder = read_toml(path), str(path), path.parent
    top = Table(data, "", src)
    for key in data:
        if key not in ("sweep", "base", *MODES):
            hint = did_you_mean(key, ("sweep", "base", *MODES))
            raise top.error(
                key, f"unknown key{hint}; a sweep file has [sweep], [base], [grid], [[variants]] or [design]"
            )
    meta = top.table("sweep")
    base_data, base_source, inline = _base(top, meta, folder)
    try:
        base_sc = scenario_from_dict(copy.deepcopy(base_data), source=base_source)
    except ScenarioError as exc:
        if inline:
            raise ScenarioError(src, f"base.{exc.key}" if exc.key else "base", exc.reason) from None
        raise
    name = meta.string("name", Path(src).stem if src != "<dict>" else "sweep")
    description = meta.string("description", "")
    schemes = _schemes(meta, base_sc)
    reps = meta.integer("replications", base_sc.simulation.replications, lo=1, hi=2**31 - 1)
    root = meta.integer("seed", base_sc.simulation.seed, lo=0)
    beh = meta.string("behaviour", base_sc.simulation.behaviour, choices=BEHAVIOURS)
    meta.finish()
    reps = reps if replications is None else int(replications)
    root = root if seed is None else int(seed)
    beh = beh if behaviour is None else behaviour

    present = [m for m in MODES if top.has(m)]
    if not present:
        raise ScenarioError(src, "", "nothing to sweep: give a [grid] table, [[variants]] or a [design]")
    if len(present) > 1:
        raise top.error(
            present[1],
            f"give only one of [grid], [[variants]] and [design] (this file also has {present[0]})",
        )
    mode = present[0]
    if mode == "grid":
        names, rows = _grid(top.table("grid"))
    elif mode == "variants":
        names, rows = _variants(top)
    else:
        names, rows = _design(top.table("design"), root, base_data, base_sc)
    top.finish(allowed_extra=("base",))

    cells = []
    for index, (row, where) in enumerate(rows):
        cells.append(_cell(index, row, where, base_data, base_sc, src, reps, root, beh))
    params = tuple(names)
    if mode == "variants":
        cells = _fill_variant_params(cells, params, base_data, base_sc)
    return Sweep(
        name=name,
        source=src,
        mode=mode,
        parameters=params,
        schemes=tuple(schemes),
        replications=reps,
        seed=root,
        behaviour=beh,
        cells=tuple(cells),
        description=description,
        base_source=base_source,
    )


def _base(top: Table, meta: Table, folder: Path) -> tuple[dict, str, bool]:
    in_meta = meta.raw("base", None)
    at_top = top.raw("base", None)
    if in_meta is not None and at_top is not None:
        raise meta.error("base", 'give the base scenario once: [sweep] base = "file.toml" or a [base] table')
    base = in_meta if in_meta is not None else at_top
    key = "sweep.base" if in_meta is not None else "base"
    if base is None:
        raise ScenarioError(
            top.source,
            "sweep.base",
            'is required: the scenario to start from ("file.toml", relative to this file), or a [base] table',
        )
    if isinstance(base, dict):
        return base, top.source, True
    if not isinstance(base, str):
        raise ScenarioError(top.source, key, "must be a scenario file name or a table")
    path = folder / base
    if not path.exists():
        from .scenario.bundled import resolve

        bundled = resolve(base)
        if bundled.exists():
            path = bundled
        else:
            raise ScenarioError(
                top.source,
                key,
                f"scenario file {str(path)!r} not found (paths are relative to the sweep file)",
            )
    return read_toml(path), str(path), False


def _schemes(meta: Table, sc: Scenario) -> list[str]:
    raw = meta.raw("schemes", None)
    if raw is None:
        return list(sc.schemes)
    if isinstance(raw, str):
        raw = [s.strip() for s in raw.split(",") if s.strip()]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise meta.error("schemes", "must be a non-empty list of scheme names, baseline first")
    for s in raw:
        if s not in sc.schemes:
            raise meta.error(
                "schemes",
                f"no scheme {s!r}{did_you_mean(s, sc.schemes)}; the base scenario has {', '.join(sc.schemes)}",
            )
    if len(set(raw)) != len(raw):
        raise meta.error("schemes", "names a scheme twice")
    return list(raw)


Row = tuple[dict[str, Any], dict[str, str]]  # params, and each param's key in the sweep file


def _grid(t: Table) -> tuple[list[str], list[Row]]:
    entries = flatten(t.data)
    if not entries:
        raise t.error(None, "is empty: give key path = [values to try]")
    names, axes = [], []
    for path, values in entries:
        if not isinstance(values, list) or not values:
            raise ScenarioError(
                t.source, t.key(path), f"must be a non-empty list of values to try, got {_describe(values)}"
            )
        names.append(path)
        axes.append(_normalise(values))
    rows = []
    for combo in itertools.product(*axes):
        params = dict(zip(names, combo, strict=True))
        rows.append((params, {n: t.key(n) for n in names}))
    return names, rows


def _variants(top: Table) -> tuple[list[str], list[Row]]:
    raw = top.raw("variants")
    if not isinstance(raw, list) or not raw or not all(isinstance(v, dict) for v in raw):
        raise top.error("variants", "must be a list of tables: one [[variants]] table per cell")
    names: list[str] = []
    rows: list[Row] = []
    for i, item in enumerate(raw):
        t = Table(item, f"variants[{i}]", top.source)
        label = t.string("name", f"variant-{i}")
        params: dict[str, Any] = {"variant": label}
        where: dict[str, str] = {}
        for path, value in flatten({k: v for k, v in item.items() if k != "name"}):
            params[path] = value
            where[path] = t.key(path)
            if path not in names:
                names.append(path)
        rows.append((params, where))
    labels = [p["variant"] for p, _ in rows]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            raise top.error(f"variants[{i}].name", f"{label!r} names two variants")
    for name in names:
        _normalise_column(rows, name)
    return ["variant", *names], rows


def _normalise_column(rows: list[Row], name: str) -> None:
    values = [p[name] for p, _ in rows if name in p]
    fixed = iter(_normalise(values))
    for p, _ in rows:
        if name in p:
            p[name] = next(fixed)


def _design(t: Table, root: int, base_data: dict, base_sc: Scenario) -> tuple[list[str], list[Row]]:
    import numpy as np
    from scipy.stats import qmc

    method = t.string("method", "lhs", choices=DESIGNS)
    n = t.integer("samples", lo=1, hi=1_000_000)
    if method == "sobol" and n & (n - 1):
        lo = 1 << (n.bit_length() - 1)
        raise t.error(
            "samples",
            f"a Sobol design needs a power of 2 samples for its balance; got {n}, use {lo} or {lo * 2}",
        )
    seed = t.integer("seed", root, lo=0)
    ranges = t.table("ranges", required=True)
    entries = flatten(ranges.data)
    if not entries:
        raise ranges.error(None, "is empty: give key path = [low, high]")
    names, lows, highs, integer = [], [], [], []
    for path, value in entries:
        lo_hi = parse_range(ranges.source, ranges.key(path), value)
        names.append(path)
        lows.append(lo_hi[0])
        highs.append(lo_hi[1])
        base = get_path(base_data, path)
        if base is MISSING:
            base = scenario_value(base_sc, path)
        integer.append(isinstance(base, int) and not isinstance(base, bool))
    t.finish()
    rng = np.random.default_rng(seed)
    engine_cls = qmc.LatinHypercube if method == "lhs" else qmc.Sobol
    try:
        engine = engine_cls(len(names), rng=rng)
    except TypeError:  # scipy < 1.15 names it seed
        engine = engine_cls(len(names), seed=rng)
    unit = engine.random(n)
    values = qmc.scale(unit, lows, highs)
    rows = []
    for r in range(n):
        params = {}
        for j, name in enumerate(names):
            v = float(values[r, j])
            params[name] = int(round(v)) if integer[j] else v
        rows.append((params, {nm: ranges.key(nm) for nm in names}))
    return names, rows


def parse_range(source: str, where: str, value: Any) -> tuple[float, float]:
    """Validate ``[low, high]`` (numbers, low < high); one-line error otherwise."""
    if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) and math.isfinite(v) for v in value):
        raise ScenarioError(source, where, f"must be a range [low, high] of two numbers, got {_describe(value)}")
    lo, hi = float(value[0]), float(value[1])
    if not lo < hi:
        raise ScenarioError(source, where, f"low must be below high, got [{lo:g}, {hi:g}]")
    return lo, hi


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _cell(
    index: int,
    params: dict[str, Any],
    where: dict[str, str],
    base_data: dict,
    base_sc: Scenario,
    source: str,
    reps: int,
    seed: int,
    behaviour: str,
) -> Cell:
    data = copy.deepcopy(base_data)
    for path, value in params.items():
        if path == "variant":
            continue
        set_path(data, path, copy.deepcopy(value), source, where[path])
    sc = validate_overrides(data, params, where, source, f"cell {index}")
    return Cell(index, params, sc.with_simulation(replications=reps, seed=seed, behaviour=behaviour))


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
        changed = ", ".join(f"{k}={_describe(v)}" for k, v in params.items() if k != "variant")
        raise ScenarioError(source, exc.key, f"{exc.reason} ({label}: {changed})") from None


def _fill_variant_params(cells: list[Cell], names: tuple[str, ...], base_data: dict, base_sc: Scenario) -> list[Cell]:
    """Give every variant a value for every parameter column (the base value where it sets none)."""
    out = []
    for c in cells:
        params = {}
        for name in names:
            if name in c.params:
                params[name] = c.params[name]
            else:
                v = get_path(base_data, name)
                v = scenario_value(base_sc, name) if v is MISSING else v
                params[name] = None if v is MISSING else v
        out.append(Cell(c.index, params, c.scenario))
    return out


# -- one cell (runs on a worker) ---------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """What a worker needs to simulate one cell (picklable).

    Attributes
    ----------
    index : int
        Cell index (a row label, and the spawn-key prefix when ``key`` is None).
    params : dict
        Parameter columns of the output rows.
    scenario : Scenario
        With replications, seed and behaviour set.
    schemes : tuple of str
        Baseline first.
    key : tuple of int
        Spawn-key prefix of the cell's random streams.
    """

    index: int
    params: dict[str, Any]
    scenario: Scenario
    schemes: tuple[str, ...]
    key: tuple[int, ...]


def _one_numba_thread() -> None:
    # Parallelism comes from cells across worker processes; each cell uses one numba thread so
    # cores are not oversubscribed (the thread count never changes a result). set_num_threads is
    # per calling thread, so it is set here, in the thread that runs the cell.
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # pragma: no cover
        pass


def run_task(task: Task, limit_threads: bool = True) -> list[dict]:
    """Simulate one cell under every scheme; one summary row per scheme.

    Parameters
    ----------
    task : Task
        The cell: scenario, schemes and spawn key.
    limit_threads : bool
        Run numba with one thread in the calling thread (on Dask workers, where parallelism
        comes from cells); False leaves the caller's setting alone.

    Returns
    -------
    list of dict
        Rows with ``cell``, the parameters, ``scheme``, ``baseline``, run settings, for every
        metric M of :data:`incentsim.results.METRICS` the columns ``M_mean, M_std, M_p5, M_p50,
        M_p95`` and, against the baseline, ``M_diff_mean, M_diff_ci95_lo, M_diff_ci95_hi,
        M_p_beats_baseline`` (NaN in the baseline's own row).
    """
    from .comparison import compare
    from .results import METRICS

    if limit_threads:
        _one_numba_thread()
    sc = task.scenario
    sim = sc.simulation
    cmp = compare(sc, list(task.schemes), replications=sim.replications, seed=sim.seed, key=task.key)
    rows = []
    nan = float("nan")
    for name in cmp.schemes:
        row: dict[str, Any] = {"cell": task.index, **task.params, "scheme": name, "baseline": cmp.baseline}
        row.update(replications=sim.replications, seed=sim.seed, behaviour=sim.behaviour, scenario_hash=sc.hash)
        for metric in METRICS:
            s = cmp.summaries[name][metric]
            for stat in STATS:
                row[f"{metric}_{stat}"] = getattr(s, stat)
        for metric in METRICS:
            if name == cmp.baseline:
                values = (nan, nan, nan, nan)
            else:
                d = cmp.difference(name, metric)
                values = (d.mean, d.ci95[0], d.ci95[1], d.p_a_beats_b)
            for stat, v in zip(DIFF_STATS, values, strict=True):
                row[f"{metric}_{stat}"] = float(v)
        rows.append(row)
    return rows


def warm_up(task: Task, limit_threads: bool = True) -> None:
    """Compile (or load from the disk cache) every kernel the task needs: one tiny run."""
    sc = task.scenario.with_simulation(replications=2)
    run_task(Task(task.index, task.params, sc, task.schemes, task.key), limit_threads)


# -- running cells on Dask ------------------------------------------------------------------------


def default_workers() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, client=None) -> Iterator[Any]:
    """A ``dask.distributed`` client: the one given, one for ``scheduler``, or an embedded cluster.

    The embedded ``LocalCluster`` has ``workers`` processes with one thread each and
    ``NUMBA_NUM_THREADS=1`` in their environment; it is started here and always stopped on exit
    (also on Ctrl-C). A client or scheduler given from outside is left running.
    """
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            c = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ScenarioError(scheduler, "", f"cannot reach the Dask scheduler ({exc})") from None
        try:
            yield c
        finally:
            c.close()
        return
    threads = {
        "NUMBA_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    with _quiet_dask(), _spawnable_main():
        cluster = LocalCluster(
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never collides with another cluster's 8787
            env=threads,
            silence_logs=logging.ERROR,
            preload=[__name__],  # runs dask_setup below in each worker
        )
        try:
            log.info("Dask dashboard (if bokeh is installed): %s", cluster.dashboard_link)
            c = Client(cluster)
            try:
                yield c
            finally:
                c.close()
        finally:
            cluster.close()


def dask_setup(worker) -> None:
    """Dask preload hook of the embedded cluster's workers: leave Ctrl-C to the client.

    A terminal sends Ctrl-C to every process of the foreground group, workers included; the
    client then saves what is finished and stops the cluster, so workers ignore it rather than
    die with a traceback each.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _spawnable_main() -> Iterator[None]:
    """Let worker processes start when ``__main__`` is not a file (``python - < script``).

    multiprocessing's spawn re-runs the parent's main file in each worker; for a script read
    from stdin that "file" is ``<stdin>`` and every worker fails to start. Without ``__file__``
    spawn treats the parent as interactive (like a notebook), so it is hidden meanwhile.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hide = isinstance(path, str) and not os.path.exists(path)
    if hide:
        del main.__file__
    try:
        yield
    finally:
        if hide:
            main.__file__ = path


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Keep the embedded cluster's start/stop chatter (INFO) off stderr unless logging asks for it."""
    dlog = logging.getLogger("distributed")
    old = dlog.level
    if not logging.getLogger().isEnabledFor(logging.INFO):
        dlog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        dlog.setLevel(old)


def _warm_remote(client, task: Task) -> None:
    """Warm one worker per host first, so workers sharing a disk cache do not compile at once."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    first_per_host: dict[str, str] = {}
    for address, w in info.get("workers", {}).items():
        first_per_host.setdefault(w.get("host", address), address)
    if first_per_host:
        client.run(warm_up, task, workers=list(first_per_host.values()))


def _takes_n_workers(client) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def map_tasks(
    tasks: Sequence[Task],
    on_result: Callable[[Task, list[dict]], None],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> None:
    """Run tasks as Dask futures and hand each result to ``on_result`` as it arrives.

    Parameters
    ----------
    tasks : sequence of Task
        The cells (or sensitivity evaluations) to simulate.
    on_result : callable
        ``on_result(task, rows)``, called in this process in completion order.
    workers : int, optional
        Processes of the embedded cluster (default: the cores available, at most one per task);
        ``0`` runs the tasks here, one after the other, without Dask (for debugging).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``).
    client : distributed.Client, optional
        An existing client (left open).

    Notes
    -----
    The numba cache is warmed in one process before the workers start (concurrent first
    compiles into one cache folder can race): on the embedded cluster the first task runs in this
    process first; on an existing cluster one worker per host runs a tiny warm-up. A worker that
    dies (killed, out of memory) has its cells rescheduled by Dask; nothing about the worker
    enters a result.
    """
    if not tasks:
        return
    if workers == 0 and scheduler is None and client is None:
        for task in tasks:
            on_result(task, run_task(task, limit_threads=False))
        return
    from distributed import as_completed

    local = scheduler is None and client is None
    if local:
        # The first task doubles as the warm-up: run here, before any worker exists, it compiles
        # (or loads) every kernel once and its result is kept.
        on_result(tasks[0], run_task(tasks[0], limit_threads=False))
        tasks = tasks[1:]
        if not tasks:
            return
        workers = min(workers or default_workers(), len(tasks))
    with dask_client(workers, scheduler, client) as c:
        if not local:
            _warm_remote(c, tasks[0])
        token = uuid.uuid4().hex[:8]
        futures = c.map(run_task, list(tasks), key=[f"incentsim-cell-{t.index}-{token}" for t in tasks], pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        try:
            for fut in as_completed(futures):
                rows = fut.result()
                on_result(by_key[fut.key], rows)
                fut.release()
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()


# -- output folder ----------------------------------------------------------------------------------


def part_path(out: Path, index: int) -> Path:
    """Where a cell's rows are stored."""
    return out / "cells" / f"cell-{index:06d}.parquet"


def finished_cells(out: Path) -> set[int]:
    """Indices of cells with a part file (each written atomically, so complete)."""
    folder = out / "cells"
    if not folder.is_dir():
        return set()
    done = set()
    for p in folder.glob("cell-*.parquet"):
        m = re.fullmatch(r"cell-(\d+)\.parquet", p.name)
        if m:
            done.add(int(m.group(1)))
    return done


def prepare_out(sw: Sweep, out: Path, resume: bool) -> set[int]:
    """Check (and create) the output folder; return the cells already finished there.

    Raises
    ------
    ScenarioError
        When ``out`` is a file; when it holds another sweep's results; or when it holds finished
        cells and ``resume`` is not set (a folder of this sweep with no finished cell, left by a
        run that failed to start, is simply reused).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(str(out), "", "is a file; --out needs a folder for the sweep's results")
    manifest = out / "sweep.json"
    done = finished_cells(out)
    if manifest.exists() or done:
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError):
            old = {}
        if old.get("fingerprint") != sw.fingerprint:
            raise ScenarioError(
                str(out),
                "",
                "holds results of a different sweep (its file, base scenario, settings or incentsim version "
                "changed); choose another --out",
            )
        if done and not resume:
            raise ScenarioError(
                str(out),
                "",
                "already holds sweep results: add --resume to finish that sweep, or choose another --out",
            )
        done = {i for i in done if i < len(sw.cells)}
    try:
        (out / "cells").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(str(out), "", f"cannot be created ({exc.strerror or exc})") from None
    if not manifest.exists():
        from .io import write_atomic

        write_atomic(manifest, json.dumps(sw.manifest(), indent=2) + "\n")
    return done


def _write_part(out: Path, index: int, rows: list[dict]) -> None:
    import pandas as pd

    from .io import with_atomic_file

    frame = pd.DataFrame(rows)
    with_atomic_file(part_path(out, index), lambda tmp: frame.to_parquet(tmp, index=False))


def combine(out: Path, sw: Sweep) -> Any:
    """Read every cell's part file, in cell order, into one DataFrame; write ``results.parquet``."""
    import pandas as pd

    from .io import with_atomic_file

    frames = [pd.read_parquet(part_path(out, c.index)) for c in sw.cells]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    with_atomic_file(Path(out) / "results.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    return table


def run_sweep(
    sw: Sweep,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    progress: SweepProgress | None = None,
) -> Any:
    """Run a validated sweep; return its table (one row per cell and scheme).

    Parameters
    ----------
    sw : Sweep
        A sweep from :func:`load_sweep`.
    out : str or Path, optional
        Output folder: part files per cell, ``sweep.json`` and ``results.parquet``. Without it the
        table is only returned (nothing to resume).
    workers, scheduler, client
        Where cells run; see :func:`map_tasks`.
    resume : bool
        Skip the cells already finished in ``out`` (the folder must hold this same sweep).
    progress : callable, optional
        ``progress(done, total)`` in cells.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    total = len(sw.cells)
    done: set[int] = set()
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        done = prepare_out(sw, out_path, resume)
    rows_by_cell: dict[int, list[dict]] = {}
    count = len(done)
    if progress:
        progress(count, total)

    def store(task: Task, rows: list[dict]) -> None:
        nonlocal count
        if out_path is not None:
            _write_part(out_path, task.index, rows)
        else:
            rows_by_cell[task.index] = rows
        count += 1
        if progress:
            progress(count, total)

    tasks = [Task(c.index, c.params, c.scenario, sw.schemes, c.key) for c in sw.cells if c.index not in done]
    map_tasks(tasks, store, workers=workers, scheduler=scheduler, client=client)
    if out_path is not None:
        return combine(out_path, sw)
    return pd.DataFrame([r for c in sw.cells for r in rows_by_cell[c.index]])


def sweep(
    spec: str | Path | dict | Sweep,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
    progress: SweepProgress | None = None,
) -> Any:
    """Run a sweep file on Dask and return its results as a pandas DataFrame.

    Parameters
    ----------
    spec : str, Path, dict or Sweep
        A sweep TOML file (path or bundled name), its parsed dict, or a loaded :class:`Sweep`.
    out : str or Path, optional
        Folder for the results (``cells/`` part files, ``sweep.json``, ``results.parquet``).
    workers : int, optional
        Processes of the embedded Dask cluster (default: the cores available); 0 runs in this
        process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    client : distributed.Client, optional
        An existing client (for example in a notebook); left open.
    resume : bool
        Continue an interrupted sweep in ``out``, skipping its finished cells.
    replications, seed, behaviour : optional
        Override the sweep file's settings.
    progress : callable, optional
        ``progress(done, total)`` in cells.

    Returns
    -------
    pandas.DataFrame
        One row per cell and scheme: ``cell``, the swept key paths, ``scheme``, ``baseline``,
        ``replications``, ``seed``, ``behaviour``, ``scenario_hash``, ``M_mean/std/p5/p50/p95``
        for every metric M, and ``M_diff_mean``, ``M_diff_ci95_lo``, ``M_diff_ci95_hi``,
        ``M_p_beats_baseline`` against the baseline scheme (NaN in the baseline's rows).

    Examples
    --------
    >>> import incentsim
    >>> df = incentsim.sweep("scenarios/sweep-example.toml", "out/example")  # doctest: +SKIP
    >>> df.pivot_table("profit_after_bonus_diff_mean", "cell", "scheme")  # doctest: +SKIP
    """
    if isinstance(spec, Sweep):
        if replications is not None or seed is not None or behaviour is not None:
            spec = load_sweep_again(spec, replications, seed, behaviour)
        sw = spec
    else:
        sw = load_sweep(spec, replications=replications, seed=seed, behaviour=behaviour)
    return run_sweep(sw, out, workers=workers, scheduler=scheduler, client=client, resume=resume, progress=progress)


def load_sweep_again(sw: Sweep, replications: int | None, seed: int | None, behaviour: str | None) -> Sweep:
    """A copy of a sweep with other run settings."""
    reps = sw.replications if replications is None else int(replications)
    root = sw.seed if seed is None else int(seed)
    beh = sw.behaviour if behaviour is None else behaviour
    cells = tuple(
        Cell(c.index, c.params, c.scenario.with_simulation(replications=reps, seed=root, behaviour=beh))
        for c in sw.cells
    )
    return dataclasses.replace(sw, replications=reps, seed=root, behaviour=beh, cells=cells)


class _CallableModule(types.ModuleType):
    """Lets ``incentsim.sweep(...)`` call :func:`sweep` after the module has been imported."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
