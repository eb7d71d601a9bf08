"""The JSON contract of ``compare --json`` (names are stable; new keys may be added)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..stats import _json_float

if TYPE_CHECKING:
    from ..comparison import Comparison


def comparison_json(cmp: Comparison) -> dict:
    """The comparison as a JSON-ready dict.

    Schema::

        {"scenario": str, "scenario_hash": str, "version": str, "seed": int,
         "replications": int, "years_per_replication": int, "behaviour": str,
         "baseline": NAME,
         "schemes": {NAME: {METRIC: {"mean", "std", "p5", "p50", "p95"}}},
         "differences": [{"a": NAME, "b": NAME, "metric": METRIC, "mean": float,
                          "ci95": [lo, hi] (null, null with one replication),
                          "p_a_beats_b": float (share of years a is better; for a
                          metric with no better direction, e.g. effort, a is higher),
                          "variance_reduction": float | null, "ks": float}],
         "hr": {NAME: {"bonus_budget_p50", "bonus_budget_p90", "bonus_budget_p95",
                       "p_over_budget", "zero_bonus_share", "capped_share", "payout_gini",
                       "luck_share_of_payout_variance", "rep_payout": {...},
                       "marketing_payout": {...}, "by_ability": [...]}},
         "solver": {NAME: {...}},
         "summaries": {"exact": bool, "block_replications": int,
                       "quantile_relative_accuracy": float},
         "mechanisms": {NAME: [...]} | null,   (see mechanisms_json)
         "verdict": str}

    Differences are ``a - b`` with ``b`` the baseline (the first scheme). NaN (a metric that
    does not apply, such as marketing attainment when marketing earns no bonus) is ``null``.
    """
    first = next(iter(cmp.results.values()))
    out = {
        "scenario": cmp.scenario.name,
        "scenario_hash": cmp.scenario.hash,
        "version": first.version,
        "seed": first.seed,
        "replications": first.replications,
        "years_per_replication": first.horizon_years,
        "behaviour": first.behaviour,
        "currency": cmp.scenario.currency,
        "baseline": cmp.baseline,
        "schemes": {
            name: {metric: s.as_dict() for metric, s in metrics.items()} for name, metrics in cmp.summaries.items()
        },
        "differences": [
            {
                "a": d.a,
                "b": d.b,
                "metric": d.metric,
                "mean": _json_float(d.stats.mean),
                "ci95": [_json_float(d.stats.ci95[0]), _json_float(d.stats.ci95[1])],
                "p_a_beats_b": _json_float(d.stats.p_a_beats_b),
                "variance_reduction": _json_float(d.stats.variance_reduction)
                if d.stats.variance_reduction is not None
                else None,
                "ks": _json_float(d.stats.ks),
            }
            for d in cmp.differences
        ],
        "hr": {name: _hr_json(h) for name, h in cmp.hr.items()},
        "solver": {name: r.solver for name, r in cmp.results.items() if r.solver},
        "precision": cmp.precision,
        "summaries": summaries_json(cmp),
        "mechanisms": mechanisms_json(cmp),
        "verdict": cmp.verdict,
    }
    return _clean(out)


def mechanisms_json(cmp: Comparison) -> dict | None:
    """What each team-work mechanism adds per scheme (``null`` when not measured).

    Schema::

        {NAME: [{"mechanism": "help" | "passing" | "monitoring", "label": str,
                 "replications": int,
                 "revenue": {"mean", "ci95": [lo, hi]},
                 "profit_after_bonus": {"mean", "ci95": [lo, hi]},
                 "revenue_same_behaviour": {"mean", "ci95": [lo, hi]}}]}

    Each entry is the scheme with the mechanism minus without it, per year; ``revenue_same_behaviour``
    is the direct part (the mechanism off, people's choices as with it). A scheme under which no
    mechanism can act has an empty list.
    """
    if cmp.mechanisms is None:
        return None

    def diff(d) -> dict:
        return {"mean": _json_float(d.mean), "ci95": [_json_float(d.ci95[0]), _json_float(d.ci95[1])]}

    return {
        name: [
            {"mechanism": e.key, "label": e.label, "replications": e.revenue.n, "revenue": diff(e.revenue),
             "profit_after_bonus": diff(e.profit_after_bonus),
             "revenue_same_behaviour": diff(e.revenue_same_behaviour)}
            for e in effects
        ]
        for name, effects in cmp.mechanisms.items()
    }  # fmt: skip


def summaries_json(cmp: Comparison) -> dict:
    """How the figures were computed: exactly from every replication's results, or streamed in
    blocks (means, intervals and shares exact; percentiles within a stated relative accuracy)."""
    from ..stats import QuantileSketch

    return {
        "exact": cmp.exact,
        "block_replications": cmp.block,
        "quantile_relative_accuracy": 0.0 if cmp.exact else QuantileSketch.RELATIVE_ACCURACY,
    }


def _hr_json(h) -> dict:
    return {
        "bonus_budget_p50": h.bonus_budget["p50"],
        "bonus_budget_p90": h.bonus_budget["p90"],
        "bonus_budget_p95": h.bonus_budget["p95"],
        "p_over_budget": h.p_over_budget,
        "zero_bonus_share": h.zero_bonus_share,
        "capped_share": h.capped_share,
        "payout_gini": h.payout_gini,
        "luck_share_of_payout_variance": h.luck_share_of_payout_variance,
        "rep_payout": h.rep_payout.as_dict(),
        "marketing_payout": h.marketing_payout.as_dict(),
        "by_ability": h.by_ability,
    }


def _clean(x):
    """Replace non-finite floats by None, recursively (strict JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x
