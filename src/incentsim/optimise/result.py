"""What a plan design found: the best plan, its verdict, the optimism removed, the frontier, behaviour in words.

:class:`DesignResult` is what :func:`incentsim.design` returns: the trials and finals as tables,
the trade-off frontier as a DataFrame, the best plan as a :class:`~incentsim.scenario.schema.Scheme`
(``compare`` accepts it next to the scenario's own schemes) and as a ready-to-paste TOML block.
:meth:`DesignResult.save` writes ``summary.json``, ``best-scheme.toml``, ``frontier.csv`` and
``frontier.png`` to the output folder; ``incentsim report --design DIR`` reads them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..report.format import ci95, money, number, share
from ..results import METRICS
from ..scenario.schema import Scheme
from .designfile import Design

#: The two trade-offs drawn: x-axis column -> (label, unit, constraints set aside for it).
FRONTIERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bonus_budget_p90": ("Bonus budget at P90", "money", ("bonus_budget_p90", "over_budget")),
    "reps_zero_bonus_share": ("Share of reps with no bonus", "share", ("zero_bonus_share",)),
}
#: Summary file of a design folder (what the report section reads).
SUMMARY_FILE = "summary.json"


@dataclass
class DesignResult:
    """The outcome of a plan design.

    Attributes
    ----------
    design : Design
    trials : pandas.DataFrame
        One row per trial (the search, on common random numbers): parameters, every metric's
        mean, the HR figures, ``feasible`` and ``violation``.
    finals : pandas.DataFrame
        The baseline on the search's years, then the baseline and the finalists on fresh years.
    frontier : pandas.DataFrame
        The non-dominated trials of each trade-off (column ``frontier``: ``bonus_budget_p90`` or
        ``reps_zero_bonus_share``), each among the trials meeting every other constraint.
    best : Scheme
        The winning plan (named ``design.scheme_name``).
    best_table : dict
        Its scheme table, as written in the block for the scenario file.
    summary : dict
        Everything reported, JSON-ready (see :meth:`to_json`).
    """

    design: Design
    trials: Any
    finals: Any
    frontier: Any
    best: Scheme
    best_table: dict
    summary: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """The winner against the baseline on fresh years, with its 95 % interval."""
        return self.summary["verdict"]

    @property
    def behaviour(self) -> list[str]:
        """How the plan changes what people do, in sentences."""
        return list(self.summary["behaviour"])

    def scheme_block(self) -> str:
        """The best plan as a TOML block to paste into the scenario file."""
        return self.summary["scheme_block"]

    def to_json(self) -> dict:
        """The summary (JSON-ready)."""
        return self.summary

    def save(self, out: str | Path) -> None:
        """Write ``summary.json``, ``best-scheme.toml``, ``frontier.csv`` and ``frontier.png`` to ``out``
        (each atomically)."""
        from ..io import with_atomic_file, write_atomic
        from ..report.design_view import frontier_figure
        from ..report.plots import save_figure

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / SUMMARY_FILE, json.dumps(self.summary, indent=2, default=_json_default) + "\n")
        write_atomic(folder / "best-scheme.toml", self.scheme_block())
        with_atomic_file(folder / "frontier.csv", lambda tmp: self.frontier.to_csv(tmp, index=False))
        save_figure(frontier_figure(self.summary), folder / "frontier.png")


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _clean(v: Any) -> Any:
    """A value for JSON: plain Python, NaN as None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def pareto(df, x: str, y: str):
    """Rows not dominated in (lower ``x``, higher ``y``), sorted by ``x``."""
    d = df.sort_values([x, y], ascending=[True, False], kind="stable")
    keep, best = [], -np.inf
    for idx, v in zip(d.index, d[y], strict=True):
        if np.isfinite(v) and v > best + 1e-9:
            keep.append(idx)
            best = v
    return df.loc[keep]


def frontier_table(trials, design: Design):
    """Both trade-off frontiers as one table (see :attr:`DesignResult.frontier`)."""
    import pandas as pd

    from .search import feasibility

    col = f"{design.metric}_mean"
    names = [p.path for p in design.parameters]
    parts = []
    for x, (_, _, skip) in FRONTIERS.items():
        ok, _gap = feasibility(trials, design, skip)
        eligible = trials[ok & np.isfinite(trials[x].to_numpy(dtype=float))]
        front = pareto(eligible, x, col)
        part = pd.DataFrame({"frontier": x, "trial": front["item"].astype(int)})
        for n in names:
            part[n] = front[n].to_numpy()
        for c in dict.fromkeys([col, "bonus_budget_p90", "reps_zero_bonus_share", "zero_bonus_share", "feasible"]):
            part[c] = front[c].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def behaviour_words(best: dict, base: dict, behaviour: str, name: str, baseline: str) -> list[str]:
    """How the plan changes effort, quality and timing against the baseline, in sentences."""
    if behaviour == "fixed":
        return [
            "Behaviour is fixed (everyone at today's effort, quality and timing): the plan changes only who gets "
            "how much money, not what people do."
        ]

    def lv(v):
        return number(v, "level")

    def pc(v):
        return number(v, "share")

    q_best = ", ".join(lv(best[f"effort_q{q}"]) for q in range(1, 5))
    q_base = ", ".join(lv(base[f"effort_q{q}"]) for q in range(1, 5))
    d_eff = best["mean_effort_mean"] - base["mean_effort_mean"]
    way = "more than" if d_eff > 0.005 else ("less than" if d_eff < -0.005 else "about as much as")
    out = [
        f"Effort: under {name} reps work {way} under {baseline}: {lv(best['mean_effort_mean'])} of today's "
        f"normal effort on average against {lv(base['mean_effort_mean'])} (by quarter {q_best}; under {baseline} "
        f"{q_base}). {pc(best['reps_on_target_share_mean'])} of reps reach their target "
        f"({pc(base['reps_on_target_share_mean'])} under {baseline}).",
        f"Quality: marketing's quality focus {lv(best['marketing_quality_mean'])} "
        f"({lv(base['marketing_quality_mean'])} under {baseline}); sales ignores "
        f"{pc(best['appointments_ignored_share_mean'])} of marketing's appointments "
        f"({pc(base['appointments_ignored_share_mean'])}), and {pc(best['appointment_win_rate_mean'])} of "
        f"appointments become won deals ({pc(base['appointment_win_rate_mean'])}).",
        f"Timing: {number(best['deals_pulled_in_mean'], 'count')} deals a year pulled into a period end and "
        f"{number(best['deals_held_back_mean'], 'count')} held back into the next "
        f"({number(base['deals_pulled_in_mean'], 'count')} and {number(base['deals_held_back_mean'], 'count')} under "
        f"{baseline}); {pc(best['december_revenue_share_mean'])} of the year's bookings close in December "
        f"({pc(base['december_revenue_share_mean'])}).",
    ]
    return out


def scheme_block(name: str, table: dict) -> str:
    """The scheme as a TOML block for the scenario file (``[schemes.NAME]`` and its role tables)."""
    import tomli_w

    return tomli_w.dumps({"schemes": {name: table}})


def build_result(design: Design, trials, finals, kappa: dict | None) -> DesignResult:
    """Assemble the result from the trials and the finals (see :mod:`incentsim.optimise.search`)."""
    from ..stats import paired_difference
    from .search import feasibility

    trials = trials.copy()
    ok, gap = feasibility(trials, design)
    trials["feasible"] = ok
    trials["violation"] = gap
    col = f"{design.metric}_mean"
    label = METRICS[design.metric][0]
    cur = design.scenario.currency
    names = [p.path for p in design.parameters]
    rows = finals.to_dict("records")
    base_search, base_fresh, fins = rows[0], rows[1], rows[2:]
    finals_ok, _ = feasibility(finals.iloc[2:], design)
    order = sorted(range(len(fins)), key=lambda i: (not finals_ok[i], -fins[i][col] if finals_ok[i] else 0.0, i))
    win = fins[order[0]]
    best_trial = int(win["label"].split()[-1])
    values = {n: _clean(win[n]) for n in names}
    best_table = design.scheme_table(values)
    best = design.candidate(values)
    block = scheme_block(design.scheme_name, best_table)

    n, h = design.final_replications, int(win["horizon_years"])
    d = paired_difference(
        np.asarray(win[f"values_{design.metric}"]).reshape(n, h),
        np.asarray(base_fresh[f"values_{design.metric}"]).reshape(n, h),
    )
    lo, hi = d.ci95
    if d.significant:
        verdict = (
            f"{design.scheme_name} {'beats' if d.mean > 0 else 'falls short of'} {design.baseline} on "
            f"{label.lower()} by {money(abs(d.mean), cur)} a year ({ci95(lo, hi, lambda v: money(v, cur))}); better in "
            f"{share(d.p_a_beats_b)} of years ({n:,} fresh replications)."
        )
        if d.mean < 0 and design.constraints:
            missed = [c.kind.label.lower() for c in design.constraints if not c.met(float(base_fresh[c.kind.column]))]
            if missed:
                verdict += f" {design.baseline} itself misses the limit on {', '.join(missed)}."
    else:
        verdict = (
            f"No clear difference on {label.lower()}: {design.scheme_name} vs {design.baseline} differs by "
            f"{money(d.mean, cur)} a year ({ci95(lo, hi, lambda v: money(v, cur))}), within simulation noise at "
            f"{n:,} fresh replications."
        )
    # No finalist within every limit on fresh years: the plan shown is the search's best, and says so
    # first (it presented a winning verdict, the breach only a "NO" in the constraints table).
    missed_by_best = [c.kind.label.lower() for c in design.constraints if not c.met(float(win[c.kind.column]))]
    if missed_by_best:
        verdict = (
            f"No plan met every limit on fresh years: the plan shown (trial {best_trial}) misses the limit on "
            f"{', '.join(missed_by_best)}. " + verdict
        )
    search_row = trials.loc[best_trial]
    # Optimism: the winner's lead over the baseline as the search saw it (on the search's years)
    # minus its lead on fresh years. Leads, not levels: every candidate shares the search years'
    # luck (common random numbers), so only the selection of the luckiest candidate is removed.
    base_s, base_f = float(base_search[col]), float(base_fresh[col])
    lead_search = float(search_row[col]) - base_s
    lead_fresh = float(win[col]) - base_f
    optimism = lead_search - lead_fresh
    fin_search = [float(trials.loc[int(f["label"].split()[-1]), col]) for f in fins]
    fin_fresh = [float(f[col]) for f in fins]
    fin_optimism = [(s - base_s) - (f - base_f) for s, f in zip(fin_search, fin_fresh, strict=True)]
    top_search = int(fins[0]["label"].split()[-1])
    constraints = [
        {
            "name": c.name, "label": c.kind.label, "unit": c.kind.unit, "sense": c.kind.sense, "limit": c.limit,
            "budget": c.budget, "value": _clean(float(win[c.kind.column])),
            "met": bool(c.met(float(win[c.kind.column]))),
            "baseline": _clean(float(base_fresh[c.kind.column])),
        }
        for c in design.constraints
    ]  # fmt: skip
    frontier = frontier_table(trials, design)

    def point(r) -> dict:
        return {
            "objective": _clean(float(r[col])), "bonus_budget_p90": _clean(float(r["bonus_budget_p90"])),
            "reps_zero_bonus_share": _clean(float(r["reps_zero_bonus_share"])),
        }  # fmt: skip

    summary = {
        "name": design.name,
        "source": design.source,
        "base": design.base_source,
        "scenario": design.scenario.name,
        "scenario_hash": design.scenario.hash,
        "currency": cur,
        "fingerprint": design.fingerprint,
        "family": design.family_name,
        "baseline": design.baseline,
        "scheme_name": design.scheme_name,
        "objective": design.objective,
        "objective_metric": design.metric,
        "objective_label": label,
        "parameters": [p.describe() for p in design.parameters],
        "sampler": design.sampler,
        "trials": design.trials,
        "batch": design.batch,
        "replications": design.replications,
        "final_replications": design.final_replications,
        "seed": design.seed,
        "behaviour_mode": design.behaviour,
        "effort_costs": kappa,
        "feasible_trials": int(ok.sum()),
        "best_trial": best_trial,
        "best_missed": missed_by_best,
        "best_values": values,
        "best": {k: _clean(float(win[k])) for k in (col, "profit_after_bonus_mean", "revenue_mean", "bonus_cost_mean",
                                                       "bonus_budget_p90", "reps_zero_bonus_share", "zero_bonus_share",
                                                       "median_pay_at_target", "payout_gini", "cost_of_sales_mean")},
        "baseline_figures": {k: _clean(float(base_fresh[k])) for k in (col, "profit_after_bonus_mean", "revenue_mean",
                                                                       "bonus_cost_mean", "bonus_budget_p90",
                                                                       "reps_zero_bonus_share", "zero_bonus_share",
                                                                       "median_pay_at_target", "payout_gini",
                                                                       "cost_of_sales_mean")},
        "difference": {"mean": d.mean, "ci95": list(d.ci95), "p_beats_baseline": d.p_a_beats_b, "n": d.n},
        "verdict": verdict,
        "optimism": {
            "winner_search": _clean(float(search_row[col])), "winner_fresh": _clean(float(win[col])),
            "lead_search": lead_search, "lead_fresh": lead_fresh,
            "removed": optimism, "mean_over_finalists": float(np.mean(fin_optimism)),
            "search_top_trial": top_search, "search_top_rank_fresh": 1 + order.index(0),
        },
        "finalists": [
            {"trial": int(f["label"].split()[-1]), "search": s, "fresh": fr, "feasible_fresh": bool(finals_ok[i]),
             **{nm: _clean(f[nm]) for nm in names}}
            for i, (f, s, fr) in enumerate(zip(fins, fin_search, fin_fresh, strict=True))
        ],
        "constraints": constraints,
        "behaviour": behaviour_words(win, base_fresh, design.behaviour, design.scheme_name, design.baseline),
        "scheme_block": block,
        "frontier": [{k: _clean(v) for k, v in r.items()} for r in frontier.to_dict("records")],
        "points": [
            {"trial": int(r["item"]), "feasible": bool(r["feasible"]), **point(r)} for r in trials.to_dict("records")
        ],
        "baseline_point": point(base_search),
        "limits": {c.name: c.limit for c in design.constraints},
    }  # fmt: skip
    return DesignResult(design, trials, finals, frontier, best, best_table, summary)
