"""The outer design: plausible worlds drawn from the ``[uncertainty]`` table, and their order.

Each world is one draw of every uncertain input. The draws are a quasi-random design in the
unit cube (scrambled Sobol points or a Latin hypercube, :mod:`scipy.stats.qmc`, seeded from the
scenario's seed), mapped to each input's distribution by its quantile function, so ``n``
worlds cover the plausible range far more evenly than ``n`` independent draws (Owen 1997,
"Scrambled net variance for integrals of smooth functions", Annals of Statistics 25(4)).

Worlds run in **chains**: a chain is a run of worlds that follow one another along a
nearest-neighbour path through the design (greedy tour from the world nearest the centre of the
cube), one task of the run, its worlds evaluated one after the other in one process. Each world is
calibrated and solved cold (:mod:`incentsim.worlds.evaluate`), so its results are its own,
whatever its chain, the chains' length or the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scenario.uncertainty import Uncertainty

#: Worlds per chain (a chain is one task of the run; chains run in parallel).
CHAIN_LENGTH = 4


@dataclass(frozen=True)
class World:
    """One plausible world: a value for every uncertain input.

    Attributes
    ----------
    index : int
        Position in the design (the world's spawn key and part file).
    u : tuple of float
        The world's point in the unit cube of the design, one coordinate per input (the
        probability of each value under its distribution); distances between worlds are
        measured here.
    values : dict
        Key path -> value, as the scenario file would hold it (whole numbers for counts).
    """

    index: int
    u: tuple[float, ...]
    values: dict[str, float | int]


def unit_design(dimensions: int, worlds: int, method: str, seed: int) -> Any:
    """Points of a space-filling design in the unit cube.

    Parameters
    ----------
    dimensions : int
        Number of uncertain inputs.
    worlds : int
        Number of points (a power of 2 for Sobol, for its balance).
    method : str
        ``"sobol"`` (scrambled, Owen) or ``"lhs"`` (Latin hypercube).
    seed : int
        Root seed (the scenario's): the same seed gives the same worlds.

    Returns
    -------
    ndarray(float, (worlds, dimensions))
        Points in the open unit cube.
    """
    import numpy as np
    from scipy.stats import qmc

    rng = np.random.default_rng(seed)
    engine_cls = qmc.LatinHypercube if method == "lhs" else qmc.Sobol
    try:
        engine = engine_cls(dimensions, rng=rng)
    except TypeError:  # scipy < 1.15 names it seed
        engine = engine_cls(dimensions, seed=rng)
    return engine.random(worlds)


def draw_worlds(spec: Uncertainty, seed: int, worlds: int | None = None, design: str | None = None) -> list[World]:
    """The plausible worlds of an ``[uncertainty]`` table.

    Parameters
    ----------
    spec : Uncertainty
        The validated table.
    seed : int
        Root seed.
    worlds, design : optional
        Override the table's number of worlds and design.

    Returns
    -------
    list of World
        In design order (world ``i`` is row ``i`` of the design).
    """
    n = spec.worlds if worlds is None else worlds
    method = design or spec.design
    u = unit_design(len(spec.inputs), n, method, seed)
    columns = [inp.values(u[:, j]) for j, inp in enumerate(spec.inputs)]
    out = []
    for i in range(n):
        values: dict[str, float | int] = {}
        for inp, col in zip(spec.inputs, columns, strict=True):
            values[inp.path] = int(col[i]) if inp.integer else float(col[i])
        out.append(World(i, tuple(float(x) for x in u[i]), values))
    return out


def world_path(worlds: list[World]) -> list[int]:
    """A nearest-neighbour path through the worlds (indices), from the one nearest the cube's centre.

    Greedy: from the current world go to the nearest world not yet visited (Euclidean distance
    in the unit cube; ties to the lower index), so consecutive worlds are close. Deterministic.
    """
    import numpy as np

    if not worlds:
        return []
    pts = np.array([w.u for w in worlds], dtype=float)
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2))
    current = int(np.argmin(((pts - 0.5) ** 2).sum(axis=1)))
    order = [current]
    seen = np.zeros(len(worlds), dtype=bool)
    seen[current] = True
    for _ in range(len(worlds) - 1):
        row = np.where(seen, np.inf, d[current])
        current = int(np.argmin(row))
        order.append(current)
        seen[current] = True
    return [worlds[i].index for i in order]


def chains(worlds: list[World], length: int = CHAIN_LENGTH) -> list[list[int]]:
    """Cut the nearest-neighbour path into chains of ``length`` worlds (the last may be shorter).

    Returns
    -------
    list of list of int
        World indices, each chain in solving order; together every world once.
    """
    path = world_path(worlds)
    length = max(1, int(length))
    return [path[i : i + length] for i in range(0, len(path), length)]
