"""One candidate plan evaluated: its policy solved, its years simulated, its figures as one row.

:func:`evaluate_candidate` is the function the batch runtime calls on a worker. Its randomness
comes from the item alone (root seed and spawn key), and the effort costs arrive calibrated
(``kappa``: the company does not change between candidates), so a candidate's row is the same
on any worker. Every search candidate uses the same seed and key (common random numbers: each
plan lives through the same simulated years); finalists use another key (fresh years).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario.schema import Scenario, Scheme

#: Metrics whose per-replication values a final evaluation keeps (paired verdicts against the baseline).
PAIRED = ("profit_after_bonus", "revenue", "margin_in_year", "bonus_cost")


@dataclass(frozen=True)
class CandidateItem:
    """What a worker needs to evaluate one plan (picklable).

    Attributes
    ----------
    index : int
        Trial number (search) or slot (finals); labels the row.
    stage : str
        ``"trial"`` or ``"final"``.
    label : str
        ``"trial 12"``, ``"baseline"``...
    params : dict
        Parameter key path -> value (empty for the baseline).
    scenario : Scenario
        The base scenario with replications, seed and behaviour set.
    scheme : Scheme
        The plan.
    kappa : dict or None
        Calibrated effort costs (``None`` with fixed behaviour).
    key : tuple of int
        Spawn-key prefix of every random stream.
    budget : float or None
        Budget for the probability of exceeding it.
    keep_values : bool
        Keep per-replication values of :data:`PAIRED` (for paired differences).
    """

    index: int
    stage: str
    label: str
    params: dict[str, Any]
    scenario: Scenario
    scheme: Scheme
    kappa: dict | None
    key: tuple[int, ...]
    budget: float | None = None
    keep_values: bool = False


def median_pay_at_target(scenario: Scenario, scheme: Scheme) -> float:
    """Annual pay (base salary + bonus) of the median rep at exactly 100 % of every target.

    The on-target earnings HR quotes when hiring: each component pays its money at target times
    its curve at 100 % in every period. Reps differ when targets differ (a list per rep, targets
    by ability: each level weighted by its share); the median over reps is returned.
    """
    from ..pay import role_components

    plan = scheme.sales
    base = plan.base_salary if plan is not None else scenario.sales.base_salary
    comps = role_components(scenario, scheme, "sales")
    level_weights = scenario.sales.ability.weights
    reps = scenario.sales.reps
    values, weights = [], []
    for p in range(reps):
        for k, wk in enumerate(level_weights):
            bonus = sum(float(pc.at_ability(k).money[p].sum()) * float(pc.multiple(1.0)) for pc in comps)
            values.append(base + bonus)
            weights.append(wk / reps)
    order = np.argsort(values)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][np.searchsorted(cum, 0.5 - 1e-12)])


def evaluate_candidate(item: CandidateItem) -> list[dict]:
    """Solve the plan's policy (optimising behaviour), simulate it, and summarise it in one row.

    Returns
    -------
    list of dict
        One row: ``item``, ``stage``, ``label``, the parameters, ``M_mean`` for every metric of
        :data:`incentsim.results.METRICS`, ``profit_after_bonus_p5/p50/p95``, the bonus budget
        at P50/P90/P95, ``p_over_budget``, ``zero_bonus_share`` (people), ``reps_zero_bonus_share``,
        ``payout_gini``, ``median_pay_at_target``, ``effort_q1``..``effort_q4`` (mean rep effort by
        quarter), the solver's ``converged``, ``rounds`` and ``solve_seconds``; with
        ``keep_values`` also ``values_M`` (per replication-year, float64 arrays) for :data:`PAIRED`.
    """
    from ..comparison import hr_view
    from ..kernels import layout as L
    from ..results import METRICS
    from ..simulation import simulate

    sc = item.scenario
    sim = sc.simulation
    policy, info = None, {}
    if sim.behaviour == "optimising":
        from ..model.policy import solve_policy

        solved = solve_policy(sc, item.scheme, kappa=item.kappa)
        policy, info = solved.policy, solved.info
    res = simulate(sc, item.scheme, key=item.key, policy=policy, solver_info=info)
    hr = hr_view(res, item.budget)
    row: dict[str, Any] = {"item": item.index, "stage": item.stage, "label": item.label, **item.params}
    for metric in METRICS:
        v = res.metrics[metric]
        row[f"{metric}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    profit = res.metrics["profit_after_bonus"].reshape(-1)
    row.update(
        profit_after_bonus_p5=float(np.percentile(profit, 5)),
        profit_after_bonus_p50=float(np.percentile(profit, 50)),
        profit_after_bonus_p95=float(np.percentile(profit, 95)),
        bonus_budget_p50=hr.bonus_budget["p50"],
        bonus_budget_p90=hr.bonus_budget["p90"],
        bonus_budget_p95=hr.bonus_budget["p95"],
        p_over_budget=float("nan") if hr.p_over_budget is None else hr.p_over_budget,
        zero_bonus_share=hr.zero_bonus_share,
        reps_zero_bonus_share=float((res.person[:, :, : res.reps, L.P_PAY] <= 0).mean()) if res.reps else float("nan"),
        payout_gini=hr.payout_gini,
        median_pay_at_target=median_pay_at_target(sc, item.scheme),
    )
    ew = np.asarray(res.effort_week, dtype=np.float64)
    for q in range(4):
        block = ew[:, q * 13 : (q + 1) * 13]
        row[f"effort_q{q + 1}"] = float(np.nanmean(block)) if np.isfinite(block).any() else float("nan")
    row.update(
        converged=bool(info.get("converged", True)),
        rounds=int(info.get("rounds", 0)),
        solve_seconds=float(info.get("solve_seconds", 0.0)),
        replications=sim.replications,
        horizon_years=sim.horizon_years,
        seed=sim.seed,
        key=list(item.key),
    )
    if item.keep_values:
        for metric in PAIRED:
            row[f"values_{metric}"] = np.asarray(res.metrics[metric], dtype=np.float64).reshape(-1)
    return [row]


def warm_up(item: CandidateItem) -> None:
    """Compile (or load from the disk cache) every kernel a candidate needs: one tiny evaluation, on
    one thread (the calling thread's count is restored afterwards)."""
    import dataclasses

    from ..threads import thread_count_set

    with thread_count_set(1):
        evaluate_candidate(dataclasses.replace(item, scenario=item.scenario.with_simulation(replications=2)))
