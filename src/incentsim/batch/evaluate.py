"""One evaluation of a batch study: a scenario compared under its schemes, as summary rows.

Sweeps (a cell) and sensitivity (a point of the design) evaluate the same thing: the scenario
simulated under every scheme on common random numbers, summarised per scheme with the paired
difference against the baseline. :func:`compare_rows` is the function the batch runner calls on
a worker; its randomness comes from the item's root seed and spawn key only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scenario.schema import Scenario

#: Summary statistics of every metric, in each row: ``M_mean``, ``M_std``, ...
STATS = ("mean", "std", "p5", "p50", "p95")
#: Against the baseline scheme: ``M_diff_mean``, ... (NaN in the baseline's own row).
DIFF_STATS = ("diff_mean", "diff_ci95_lo", "diff_ci95_hi", "p_beats_baseline")


@dataclass(frozen=True)
class CompareItem:
    """What a worker needs to evaluate one scenario (picklable).

    Attributes
    ----------
    index : int
        Label of the rows (the ``cell`` column).
    params : dict
        Parameter columns of the rows (key path -> value).
    scenario : Scenario
        With replications, seed and behaviour set.
    schemes : tuple of str
        Baseline first.
    key : tuple of int
        Spawn-key prefix of the item's random streams.
    """

    index: int
    params: dict[str, Any]
    scenario: Scenario
    schemes: tuple[str, ...]
    key: tuple[int, ...]


def compare_rows(item: CompareItem) -> list[dict]:
    """Simulate one scenario under every scheme; one summary row per scheme.

    Returns
    -------
    list of dict
        Rows with ``cell``, the parameters, ``scheme``, ``baseline``, ``replications``, ``seed``,
        ``behaviour``, ``scenario_hash``, for every metric M of :data:`incentsim.results.METRICS`
        the columns ``M_mean, M_std, M_p5, M_p50, M_p95`` and, against the baseline,
        ``M_diff_mean, M_diff_ci95_lo, M_diff_ci95_hi, M_p_beats_baseline`` (NaN in the
        baseline's own row).
    """
    from ..comparison import compare

    sc = item.scenario
    sim = sc.simulation
    cmp = compare(sc, list(item.schemes), replications=sim.replications, seed=sim.seed, key=item.key)
    return summary_rows(cmp, {"cell": item.index, **item.params})


def summary_rows(cmp: Any, labels: dict[str, Any]) -> list[dict]:
    """One summary row per scheme of a comparison, led by ``labels`` (the columns of :func:`compare_rows`).

    Parameters
    ----------
    cmp : Comparison
        Schemes compared on common random numbers (baseline first).
    labels : dict
        The first columns of every row (e.g. ``{"cell": 3, "deals.value_mean": 12000.0}``).

    Returns
    -------
    list of dict
        ``labels``, ``scheme``, ``baseline``, ``replications``, ``seed``, ``behaviour``,
        ``scenario_hash``, then ``M_mean ... M_p95`` and ``M_diff_mean ... M_p_beats_baseline``
        for every metric M.
    """
    from ..results import METRICS

    sc = cmp.scenario
    first = next(iter(cmp.results.values()))
    rows = []
    nan = float("nan")
    for name in cmp.schemes:
        row: dict[str, Any] = {**labels, "scheme": name, "baseline": cmp.baseline}
        row.update(replications=cmp.replications, seed=first.seed, behaviour=first.behaviour, scenario_hash=sc.hash)
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


def warm_up(item: CompareItem) -> None:
    """Compile (or load from the disk cache) every kernel an item needs: one tiny run, on one thread
    (the calling thread's count is restored afterwards)."""
    from ..threads import thread_count_set

    with thread_count_set(1):
        sc = item.scenario.with_simulation(replications=2)
        compare_rows(CompareItem(item.index, item.params, sc, item.schemes, item.key))
