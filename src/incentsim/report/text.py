"""Human-readable comparison tables for the terminal (plain text, aligned, no colour codes)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..results import METRICS, ahead_word
from .format import ci95, money, number, percent, share, unit_label

if TYPE_CHECKING:
    from ..comparison import Comparison

#: Metrics shown by default in the terminal (JSON always has all of them).
KEY_METRICS = (
    "profit_after_bonus", "revenue", "margin_in_year", "bonus_cost", "cost_of_sales", "wins",
    "appointments", "appointment_win_rate", "sales_attainment", "marketing_attainment",
    "reps_on_target_share", "leads",
)  # fmt: skip
BEHAVIOUR_METRICS = (
    "marketing_quality", "mean_effort", "appointments_ignored_share", "december_revenue_share",
    "deals_pulled_in", "deals_held_back", "team_time_share", "help_hours_per_rep", "deals_helped",
    "helped_win_rate", "prospects_passed", "effort_gap_strong_weak",
    "effort_below_team_mean",
)  # fmt: skip


GLANCE = (
    "profit_after_bonus", "revenue", "bonus_cost", "cost_of_sales", "reps_on_target_share",
    "appointment_win_rate", "appointments_ignored_share", "mean_effort", "marketing_quality",
)  # fmt: skip


def glance_lines(cmp: Comparison) -> list[str]:
    """One compact table: the mean of the key figures per scheme, side by side."""
    cur = cmp.scenario.currency
    first = next(iter(cmp.results.values()))
    rows = [m for m in GLANCE if not (first.behaviour == "fixed" and m in ("mean_effort", "marketing_quality"))]
    col = max(12, max(len(s) for s in cmp.schemes) + 2)
    label_w = 34
    out = ["At a glance (mean per simulated year):", f"{'':<{label_w}}" + "".join(f"{s:>{col}}" for s in cmp.schemes)]
    for metric in rows:
        label, unit = METRICS[metric]
        vals = [cmp.summaries[s][metric].mean for s in cmp.schemes]
        if all(not math.isfinite(v) for v in vals):
            continue
        unit_txt = f" ({cur})" if unit == "money" else ""
        out.append(f"{(label + unit_txt)[:label_w]:<{label_w}}" + "".join(f"{number(v, unit):>{col}}" for v in vals))
    return out


def precision_note(cmp: Comparison) -> str:
    """``" (to 5% precision: reached)"`` after the replications of a run to a precision, else ``""``."""
    p = cmp.precision
    if p is None:
        return ""
    target = f"{p['target'] * 100:g}%"
    if p["reached"]:
        return f" (to {target} precision: reached)"
    return f" (to {target} precision: not reached, stopped at the maximum)"


def unsettled_notes(cmp: Comparison) -> list[str]:
    """A note when the calibration of the effort costs did not settle
    (``Comparison.calibration_unsettled``) and one per scheme whose equilibrium did not
    (``Comparison.unsettled``): a report never presents such figures as if they had."""
    notes = []
    cal = cmp.calibration_unsettled
    if cal is not None:
        base, rounds, change, tol = cal
        # (it settles when the equilibrium is reached *and* reproduces today's funnel)
        why = (
            f"in its last round the best responses still lay {change:.3f} from the behaviour they answered "
            f"(settled means below {tol:g})"
            if change >= tol
            else "its costs were still being adjusted to reproduce today's funnel"
        )
        notes.append(
            f"Note: the calibration of effort costs on today's scheme {base} did not settle in {rounds} rounds: {why}, "
            "so every scheme's behaviour rests on costs fitted to a moving target and its figures are less certain "
            "than their intervals say."
        )
    notes += [
        f"Note: {name}'s equilibrium did not settle in {rounds} round{'s' * (rounds != 1)} (behaviour.max_rounds): "
        f"in the last round people's best responses still lay {change:.3f} from the weekly mean effort, quality "
        f"focus or follow-up they answered (settled means below {tol:g}), so its figures are less certain than "
        "their intervals say."
        for name, rounds, change, tol in cmp.unsettled
    ]
    return notes


def burn_in_note(scenario, behaviour: str) -> str | None:
    """A note when ``scenario`` simulates no burn-in year and ``behaviour`` is ``"optimising"``:
    each replication then starts from the pipeline of today's behaviour (``funnel.PipelineStock``,
    at normal effort), and the recorded figures lean towards it. Reports, the analysis across
    plausible worlds and ``validate`` show it, after "Note: "."""
    if scenario.simulation.burn_in_years > 0 or behaviour != "optimising":
        return None
    return (
        "no burn-in year (simulation.burn_in_years = 0): each replication starts from the pipeline of "
        "today's behaviour, and its first recorded year is spent moving to what each scheme makes people do, so "
        "the figures lean towards today's (in the bundled scenario, revenue 1.7 % to 3.7 % higher than with a "
        "burn-in year: python -m benchmarks.burn_in); burn_in_years = 1 removes this."
    )


def caution_notes(cmp: Comparison) -> list[str]:
    """Every note a report shows below the verdict: :func:`unsettled_notes`, then
    :func:`burn_in_note`."""
    optimising = any(r.behaviour == "optimising" for r in cmp.results.values())
    note = burn_in_note(cmp.scenario, "optimising" if optimising else "fixed")
    return unsettled_notes(cmp) + ([f"Note: {note}"] if note else [])


def comparison_text(
    cmp: Comparison, metrics: tuple[str, ...] | None = None, hr: bool = True, brief: bool = False
) -> str:
    """The terminal report: header, key figures at a glance, the verdict, then one table per
    metric, the HR view, and the verdict again with its precision (``brief``: stop after the
    verdict)."""
    cur = cmp.scenario.currency
    first = next(iter(cmp.results.values()))
    lines = [
        f"Scenario: {cmp.scenario.name}  ({cmp.scenario.source})",
        f"Schemes: {', '.join(cmp.schemes)} (baseline: {cmp.baseline})",
        f"{first.replications:,} replications{precision_note(cmp)} x {first.horizon_years} year(s), seed {first.seed}, "
        f"behaviour {first.behaviour}, scenario hash {cmp.scenario.hash}, incentsim {first.version}",
        "",
    ]
    lines += glance_lines(cmp)
    lines += ["", f"Verdict: {cmp.verdict}", ""]
    notes = caution_notes(cmp)
    if notes:
        lines += [*notes, ""]
    if brief:
        return "\n".join(lines).rstrip()
    if metrics is None:
        metrics = KEY_METRICS + (BEHAVIOUR_METRICS if first.behaviour == "optimising" else ())
    lines.append(
        "Distributions per simulated year"
        + (", and each scheme against the baseline:" if cmp.differences else " (no pairing: use compare for that):")
    )
    width = max(12, max(len(s) for s in cmp.schemes) + 4)
    col = 13
    head = f"{'':<{width}}" + "".join(f"{h:>{col}}" for h in ("mean", "P5", "P50", "P95"))
    lines.append(head)
    for metric in metrics:
        label, unit = METRICS[metric]
        summaries = [cmp.summaries[s][metric] for s in cmp.schemes]
        if all(s.n == 0 for s in summaries):
            continue
        lines.append(f"{label}{unit_label(unit, cur)}")
        for name, s in zip(cmp.schemes, summaries, strict=True):
            vals = [number(v, unit) for v in (s.mean, s.p5, s.p50, s.p95)]
            lines.append(f"  {name:<{width - 2}}" + "".join(f"{v:>{col}}" for v in vals))
        for name in cmp.schemes[1:] if cmp.differences else []:
            d = cmp.difference(name, metric)
            if d.n == 0:
                continue
            diff = number(d.mean, unit, signed=True)
            ci = ci95(*d.ci95, lambda v, unit=unit: number(v, unit, signed=True))
            lines.append(
                f"  {name} - {cmp.baseline}: {diff}  ({ci});"
                f" {name} {ahead_word(metric)} in {share(d.p_a_beats_b)} of years"
            )
    if cmp.mechanisms:
        lines += ["", mechanisms_text(cmp)]
    if hr:
        lines += ["", hr_text(cmp)]
    d = None
    if len(cmp.schemes) > 1:
        best, other = cmp.verdict_pair()
        d = cmp.difference(best, "profit_after_bonus", other)
    lines.append("")
    if len(cmp.schemes) > 2:
        for metric in ("profit_after_bonus", "revenue"):
            order = sorted(cmp.schemes, key=lambda s: -cmp.summaries[s][metric].mean)
            label = METRICS[metric][0].lower()
            ranked = ", ".join(f"{s} ({number(cmp.summaries[s][metric].mean, 'money')})" for s in order)
            lines.append(f"Ranking by {label}: {ranked}")
    if cmp.precision is not None:
        p = cmp.precision
        got = percent(p["achieved"], 1)
        state = "reached" if p["reached"] else f"not reached (stopped at the maximum of {p['max_replications']:,})"
        lines.append(
            f"Precision: target {percent(p['target'], 1)} of the profit difference {state} after {cmp.replications:,} "
            f"replications; 95% CI half-width {money(p['half_width'], cur)} = {got} "
            "of the difference."
        )
    elif d is not None:
        lines.append(
            f"Precision: {cmp.replications:,} replications; 95% CI half-width of the verdict's profit difference "
            f"({best} vs {other}) {money(d.half_width, cur)}."
        )
    if not cmp.exact:
        lines.append(streamed_note(cmp))
    lines.append(f"Verdict: {cmp.verdict}")
    return "\n".join(lines)


def mechanisms_text(cmp: Comparison) -> str:
    """What each team-work mechanism adds under each scheme: revenue and profit after bonuses
    with and without it, with their 95 % intervals (``incentsim.mechanisms``)."""
    cur = cmp.scenario.currency
    effects = cmp.mechanisms or {}
    n = max((e.revenue.n for es in effects.values() for e in es), default=0)
    lines = [
        f"What team work adds, {cur} a year: each mechanism switched off in turn, effort costs "
        f"held, the scheme solved again, {n:,} replications on the same draws (with minus without):"
    ]
    for name, es in effects.items():
        if not es:
            lines.append(f"  {name}: none acts (no team measure in sales' pay makes helping, passing or peers pay)")
            continue
        lines.append(f"  {name}:")
        for e in es:
            rev, pro, same = e.revenue, e.profit_after_bonus, e.revenue_same_behaviour

            def signed(v):
                return number(v, "money", signed=True)

            lines.append(
                f"    {e.label}: profit after bonuses {signed(pro.mean)} ({ci95(*pro.ci95, signed)}); "
                f"revenue {signed(rev.mean)} ({ci95(*rev.ci95, signed)}), of which {signed(same.mean)} directly "
                f"and {signed(rev.mean - same.mean)} through what people choose differently"
            )
    return "\n".join(lines)


def streamed_note(cmp: Comparison) -> str:
    """One line on how a long run was summarised (see ``incentsim.accumulate``)."""
    from ..stats import QuantileSketch

    return (
        f"Summaries streamed in blocks of {cmp.block:,} replications: means, intervals and shares are exact, "
        f"percentiles within {QuantileSketch.RELATIVE_ACCURACY:.1%}."
    )


def hr_text(cmp: Comparison) -> str:
    """The HR view: pay distribution per person, budget, fairness, luck, winners and losers."""
    cur = cmp.scenario.currency
    width = max(12, max(len(s) for s in cmp.schemes) + 2)
    cols = (
        ("rep bonus P5", 13), ("P50", 10), ("P95", 10), ("no bonus", 9), ("at cap", 8), ("Gini", 6),
        ("budget P50", 12), ("P90", 12), ("P95", 12), ("luck", 6),
    )  # fmt: skip
    lines = [f"Pay (HR view), {cur}: bonus per rep per year; budget = total bonus cost per year"]
    lines.append(f"{'':<{width}}" + "".join(f"{h:>{w}}" for h, w in cols))
    for name in cmp.schemes:
        h = cmp.hr[name]
        vals = (
            number(h.rep_payout.p5, "money"), number(h.rep_payout.p50, "money"),
            number(h.rep_payout.p95, "money"), number(h.zero_bonus_share, "share"),
            number(h.capped_share, "share"), number(h.payout_gini, "index"),
            number(h.bonus_budget["p50"], "money"), number(h.bonus_budget["p90"], "money"),
            number(h.bonus_budget["p95"], "money"), number(h.luck_share_of_payout_variance, "share"),
        )  # fmt: skip
        lines.append(f"{name:<{width}}" + "".join(f"{v:>{w}}" for v, (_, w) in zip(vals, cols, strict=True)))
    if cmp.budget is not None:
        probs = ", ".join(f"{n} {share(cmp.hr[n].p_over_budget)}" for n in cmp.schemes)
        lines.append(f"Probability the year's bonus cost exceeds the budget of {money(cmp.budget, cur)}: {probs}")
    base = cmp.hr[cmp.baseline].by_ability
    if len(cmp.schemes) > 1 and len(base) > 1:
        lines.append("Who gains and who loses (mean bonus per rep per year, by ability level):")
        for name in cmp.schemes[1:]:
            parts = []
            for b, a in zip(base, cmp.hr[name].by_ability, strict=False):
                delta = a["mean_bonus"] - b["mean_bonus"]
                parts.append(f"ability {b['ability']:.2f}: {number(delta, 'money', signed=True)}")
            lines.append(f"  {cmp.baseline} -> {name}: " + "; ".join(parts))
    return "\n".join(lines)
