"""The sweep file: a base scenario and the values to try, validated into cells.

A *sweep file* (TOML) names a base scenario and what to vary:

- ``[grid]``: key path = list of values; every combination is a cell (first key slowest);
- ``[[variants]]``: explicit cells, each a table of key path = value (and an optional ``name``);
- ``[design]``: a space-filling design (``lhs`` Latin hypercube or ``sobol``, from
  :mod:`scipy.stats.qmc`) of ``samples`` cells over ``[design.ranges]`` (key path = [low, high]).

Key paths are the scenario file's own (:mod:`incentsim.batch.keypaths`). Every cell's scenario
is validated by the normal scenario loader before any work starts, so a bad key path or value is
one :class:`~incentsim.scenario.errors.ScenarioError` naming the file and key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..scenario.errors import ArgumentError, ScenarioError
from ..scenario.load import read_toml, scenario_from_dict
from ..scenario.reader import MISSING, Table, did_you_mean
from ..scenario.schema import BEHAVIOURS, Scenario
from .keypaths import describe, flatten, get_path, normalise, parse_range, scenario_value, set_path, validate_overrides

MODES = ("grid", "variants", "design")
DESIGNS = ("lhs", "sobol")
#: Simulation settings that belong to the whole sweep, not to a cell (key path -> why).
RUN_SETTINGS = {
    "simulation.seed": "the sweep sets seed for every cell: use [sweep] instead",
    "simulation.replications": "the sweep sets replications for every cell: use [sweep] instead",
}


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
    """A sweep file: the path, or the bundled sweep of exactly that name (``scenarios/``); a
    path-like argument is never replaced by a bundled file (:func:`incentsim.scenario.bundled.resolve`)."""
    from ..scenario.bundled import resolve

    return resolve(str(name_or_path), sweeps=True)


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
    reps = meta.integer("replications", base_sc.simulation.replications, lo=2, hi=2**31 - 1)
    root = meta.integer("seed", base_sc.simulation.seed, lo=0)
    beh = meta.string("behaviour", base_sc.simulation.behaviour, choices=BEHAVIOURS)
    meta.finish()
    reps = reps if replications is None else int(replications)
    if reps < 2:
        # One replication gives no interval, and a share of years from one year (ArgumentError: the
        # override; the file's own value is refused by its range above).
        raise ArgumentError("replications", f"must be at least 2 (one gives no interval), got {reps}", src)
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
        from ..scenario.bundled import resolve

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
                t.source, t.key(path), f"must be a non-empty list of values to try, got {describe(values)}"
            )
        names.append(path)
        axes.append(normalise(values))
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
    fixed = iter(normalise(values))
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
        set_path(data, path, copy.deepcopy(value), source, where[path], RUN_SETTINGS)
    sc = validate_overrides(data, params, where, source, f"cell {index}")
    return Cell(index, params, sc.with_simulation(replications=reps, seed=seed, behaviour=behaviour))


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


def with_settings(sw: Sweep, replications: int | None, seed: int | None, behaviour: str | None) -> Sweep:
    """A copy of a sweep with other run settings."""
    reps = sw.replications if replications is None else int(replications)
    root = sw.seed if seed is None else int(seed)
    beh = sw.behaviour if behaviour is None else behaviour
    cells = tuple(
        Cell(c.index, c.params, c.scenario.with_simulation(replications=reps, seed=root, behaviour=beh))
        for c in sw.cells
    )
    return dataclasses.replace(sw, replications=reps, seed=root, behaviour=beh, cells=cells)
