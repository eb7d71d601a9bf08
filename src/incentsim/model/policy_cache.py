"""Checks of cached calibrations and solved policies before they are used (see ``incentsim._cache``).

A cached entry is used only when it is exactly what the solver would store for this scenario:
every key, finite numbers, arrays of the scenario's shapes and action indices in range. Anything
else (a damaged file, an entry of another scenario shape) is refused, so the entry is deleted and
recomputed instead of crashing the kernel or silently steering every agent to a wrong effort.
"""

from __future__ import annotations

import json

import numpy as np

from .._cache import CacheEntryError, expect_numbers

#: What :func:`incentsim.model.policy.calibrate` stores.
check_calibration = expect_numbers(
    "sales", "marketing", "marketing_quality", "implicit_sales", "implicit_marketing", strings=("baseline_scheme",)
)


def check_policy_arrays(d: dict, sc) -> None:
    """Refuse cached policy arrays that do not fit scenario ``sc`` (raises :class:`CacheEntryError`).

    Checks every field of ``CompiledPolicy`` and the weekly profiles are present, the grids have
    ``behaviour.grid_points`` points and one row per ability level, every action index points at
    an action, and the solver's diagnostics decode; then rebuilds the policy as the solver does.
    """
    from ..compile import CompiledPolicy
    from .policy import _from_arrays

    missing = [f"policy_{k}" for k in CompiledPolicy._fields if f"policy_{k}" not in d]
    missing += [k for k in ("info", "sales_effort_week", "follow_week", "marketing_effort_week") if k not in d]
    if missing:
        raise CacheEntryError(f"missing {', '.join(missing)}")
    G = sc.behaviour.grid_points
    K = len(sc.sales.ability.levels)

    def arr(name: str) -> np.ndarray | None:
        return d.get(f"policy_{name}")

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise CacheEntryError(what)

    grid_n = arr("grid_n")
    need(grid_n is not None and grid_n.ndim == 0 and int(grid_n) == G, f"grid_n is not {G}")
    for name, lead in (("sales_action", (K, 52)), ("sales_timing", (K, 52)), ("mkt_action", (52,))):
        a = arr(name)
        if a is not None:
            need(a.dtype.kind in "iu", f"{name} is not integer")
            need(a.shape == (*lead, G), f"{name} has shape {a.shape}, expected {(*lead, G)}")
            need(bool((a >= 0).all()), f"{name} has negative entries")
    pairs = (("sales_action", "sales_effort"), ("sales_action", "sales_follow"), ("mkt_action", "mkt_effort"))
    for index, table in pairs:
        a, t = arr(index), arr(table)
        if a is not None and t is not None:
            need(t.ndim == 1 and t.size > 0, f"{table} is not a list of actions")
            need(int(a.max(initial=0)) < t.size, f"{index} points past the {t.size} actions")
    timing = arr("sales_timing")
    if timing is not None:
        need(int(timing.max(initial=0)) <= 2, "sales_timing has unknown choices")
    mq = arr("mkt_quality")
    if mq is not None:
        levels = len(sc.behaviour.quality_levels) + 1  # the appended baseline focus
        need(mq.dtype.kind in "iu" and bool(((mq >= 0) & (mq < levels)).all()), "mkt_quality is out of range")
    gmax = arr("sales_grid_max")
    if gmax is not None:
        need(gmax.shape == (K,) and bool((gmax > 0).all()), "sales_grid_max does not fit the ability levels")
    mg = arr("mkt_grid_max")
    if mg is not None:
        need(mg.ndim == 0 and float(mg) > 0, "mkt_grid_max is not positive")
    need(d["sales_effort_week"].shape == (K, 52), "sales_effort_week does not fit the ability levels")
    weekly = d["follow_week"].shape == (52,) and d["marketing_effort_week"].shape == (52,)
    need(weekly, "weekly profiles are not 52 weeks")
    try:
        info = json.loads(str(d["info"]))
    except ValueError as exc:
        raise CacheEntryError(f"info does not decode: {exc}") from None
    need(isinstance(info, dict), "info is not an object")
    _from_arrays(d)  # the solver's own reconstruction must succeed
