"""A comparison as Markdown for a wiki or a notebook, and the director's summary it shares with HTML.

:func:`director_summary` answers the four questions a commercial director asks of a comparison
(which scheme, by how much, how sure, at what bonus cost) as plain sentences and a small table;
:func:`comparison_markdown` wraps it with the key figures, the HR view and the provenance.
Nothing heavy is imported here: no matplotlib, no numba.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..i18n import N_, _
from ..results import METRICS, ahead_word
from .format import NA, difference, interval, money, number, share, unit_label
from .text import BEHAVIOUR_METRICS, KEY_METRICS, caution_notes

if TYPE_CHECKING:
    from ..comparison import Comparison


@dataclass
class SchemeRow:
    """One scheme's line of the director's summary table (money per year, in the scenario's currency).

    Attributes
    ----------
    scheme : str
    profit, revenue : float
        Means over simulated years.
    lead_mean : float or None
        Mean profit of the best scheme minus this one; ``None`` for the best itself.
    lead_ci95 : (float, float) or None
        95 % confidence interval of ``lead_mean``.
    best_ahead_share : float or None
        Share of simulated years in which the best scheme makes more profit than this one.
    bonus_p50, bonus_p90 : float
        Bonus budget needed in a median year and in 9 years out of 10.
    reps_on_target : float
        Mean share of reps on target (NaN when sales is unpaid).
    """

    scheme: str
    profit: float
    revenue: float
    lead_mean: float | None
    lead_ci95: tuple[float, float] | None
    best_ahead_share: float | None
    bonus_p50: float
    bonus_p90: float
    reps_on_target: float


@dataclass
class DirectorSummary:
    """Which scheme, by how much, how sure, at what bonus cost.

    Attributes
    ----------
    best : str
        The scheme with the highest mean profit after bonuses.
    runner_up : str or None
        The next best (``None`` with one scheme).
    clear : bool
        Whether the best scheme's lead over the runner-up is outside simulation noise (95 %).
    which, how_much, how_sure, bonus_cost : str
        One plain sentence each (no markup).
    rows : list of SchemeRow
        In scheme order.
    """

    best: str
    runner_up: str | None
    clear: bool
    which: str
    how_much: str
    how_sure: str
    bonus_cost: str
    rows: list[SchemeRow] = field(default_factory=list)

    @property
    def sentences(self) -> list[str]:
        """The four answers in reading order."""
        return [self.which, self.how_much, self.how_sure, self.bonus_cost]


def _mean_profit(cmp: Comparison, scheme: str) -> float:
    m = cmp.summaries[scheme]["profit_after_bonus"].mean
    return m if math.isfinite(m) else -math.inf


def director_summary(cmp: Comparison) -> DirectorSummary:
    """Answer which scheme, by how much, how sure and at what bonus cost.

    Parameters
    ----------
    cmp : Comparison

    Returns
    -------
    DirectorSummary
        The best scheme is the one with the highest mean profit after bonuses; its lead over
        each other scheme is a paired difference on common random numbers.
    """
    cur = cmp.scenario.currency
    ranked = sorted(cmp.schemes, key=lambda s: -_mean_profit(cmp, s))
    best = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    n_years = cmp.replications * next(iter(cmp.results.values())).horizon_years
    rows = []
    for s in cmp.schemes:
        sm = cmp.summaries[s]
        budget = cmp.hr[s].bonus_budget
        lead = lead_ci = ahead = None
        if s != best:
            d = cmp.difference(best, "profit_after_bonus", s)
            lead, lead_ci, ahead = d.mean, d.ci95, d.p_a_beats_b
        rows.append(
            SchemeRow(
                scheme=s,
                profit=sm["profit_after_bonus"].mean,
                revenue=sm["revenue"].mean,
                lead_mean=lead,
                lead_ci95=lead_ci,
                best_ahead_share=ahead,
                bonus_p50=budget["p50"],
                bonus_p90=budget["p90"],
                reps_on_target=sm["reps_on_target_share"].mean,
            )
        )
    b = cmp.summaries[best]["profit_after_bonus"]
    budget = cmp.hr[best].bonus_budget
    bonus = _(
        "{best} needs a bonus budget of {p50} in a typical year (P50) and {p90} to be covered 9 years out of 10 (P90)"
    ).format(best=best, p50=money(budget["p50"], cur), p90=money(budget["p90"], cur))
    if runner is None:
        return DirectorSummary(
            best=best,
            runner_up=None,
            clear=False,
            which=_("One scheme only: {best}.").format(best=best),
            how_much=_("It makes {mean} profit after bonuses a year on average (P5 {p5}, P95 {p95}).").format(
                mean=money(b.mean, cur), p5=money(b.p5, cur), p95=money(b.p95, cur)
            ),
            how_sure=_("Based on {years:,} simulated company-years.").format(years=n_years),
            bonus_cost=bonus + ".",
            rows=rows,
        )
    d = cmp.difference(best, "profit_after_bonus", runner)
    lo, hi = d.ci95
    clear = bool(d.significant)
    if clear:
        which = _("{best} makes the most profit after bonuses of the {n} schemes compared.").format(
            best=best, n=len(ranked)
        )
        others = [
            _("{amount} more than {scheme}").format(amount=money(r.lead_mean, cur), scheme=r.scheme)
            for r in rows
            if r.lead_mean is not None
        ]
        how_much = _("Its profit after bonuses averages {mean} a year: {others}.").format(
            mean=money(b.mean, cur), others=", ".join(others)
        )
        how_sure = _(
            "Its lead over {runner} is between {lo} and {hi} a year (95% confidence), and it comes out ahead in "
            "{share} of {years:,} simulated years (every scheme lives through the same years)."
        ).format(runner=runner, lo=money(lo, cur), hi=money(hi, cur), share=share(d.p_a_beats_b), years=n_years)
    else:
        which = _("No clear winner on profit after bonuses between {best} and {runner}.").format(
            best=best, runner=runner
        )
        how_much = _(
            "{best} averages {mean} a year, {diff} more than {runner}, which is within simulation noise."
        ).format(best=best, mean=money(b.mean, cur), diff=money(d.mean, cur), runner=runner)
        how_sure = _(
            "The 95% confidence interval of the difference, {lo} to {hi}, includes zero; {best} is ahead in {share} "
            "of {years:,} simulated years. More replications (--replications) narrow the interval."
        ).format(lo=money(lo, cur), hi=money(hi, cur), best=best, share=share(d.p_a_beats_b), years=n_years)
    bc = cmp.difference(best, "bonus_cost", runner)
    if math.isfinite(bc.mean):
        more = _(": on average {amount} a year more in bonuses than {runner}.")
        less = _(": on average {amount} a year less in bonuses than {runner}.")
        bonus += (more if bc.mean > 0 else less).format(amount=money(abs(bc.mean), cur), runner=runner)
    else:
        bonus += "."
    return DirectorSummary(best, runner, clear, which, how_much, how_sure, bonus, rows)


def summary_table_rows(cmp: Comparison, summary: DirectorSummary | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the director's table (plain text cells, money with separators)."""
    cur = cmp.scenario.currency
    summary = summary or director_summary(cmp)
    header = [
        _("Scheme"), _("Profit after bonuses, {cur}/yr").format(cur=cur),
        _("Lead of {best} (95% CI)").format(best=summary.best), _("{best} ahead in").format(best=summary.best),
        _("Revenue, {cur}/yr").format(cur=cur), _("Bonus budget P50, {cur}").format(cur=cur),
        _("Bonus budget P90, {cur}").format(cur=cur), _("Reps on target"),
    ]  # fmt: skip
    rows = []
    for r in summary.rows:
        if r.lead_mean is None:
            lead, ahead = _("best"), "-"
        else:
            lo, hi = r.lead_ci95
            lead = f"{number(r.lead_mean, 'money', signed=True)} ({interval(lo, hi)})"
            ahead = _("{share} of years").format(share=share(r.best_ahead_share))
        rows.append(
            [
                r.scheme, number(r.profit, "money"), lead, ahead, number(r.revenue, "money"),
                number(r.bonus_p50, "money"), number(r.bonus_p90, "money"), number(r.reps_on_target, "share"),
            ]
        )  # fmt: skip
    return header, rows


def report_metrics(cmp: Comparison) -> tuple[str, ...]:
    """Metrics shown in reports: the key ones, plus behaviour when people respond to the scheme."""
    behaviour = any(r.behaviour == "optimising" for r in cmp.results.values())
    metrics = KEY_METRICS + (BEHAVIOUR_METRICS if behaviour else ())
    return tuple(m for m in metrics if any(cmp.summaries[s][m].n for s in cmp.schemes))


def metric_table_rows(cmp: Comparison) -> tuple[list[str], list[list[str]]]:
    """Key figures: per metric, each scheme's mean [P5 to P95] (header, rows)."""
    cur = cmp.scenario.currency
    header = [_("Metric")] + list(cmp.schemes)
    rows = []
    for metric in report_metrics(cmp):
        label, unit = METRICS[metric]
        cells = [f"{_(label)}{unit_label(unit, cur)}"]
        for s in cmp.schemes:
            sm = cmp.summaries[s][metric]
            if sm.n == 0:
                cells.append(NA)
            else:
                cells.append(f"{number(sm.mean, unit)} [{interval(sm.p5, sm.p95, partial(number, unit=unit))}]")
        rows.append(cells)
    return header, rows


def difference_table_rows(cmp: Comparison) -> tuple[list[str], list[list[str]]]:
    """Paired differences against the baseline: mean (95% CI) and P(better) per metric and scheme."""
    cur = cmp.scenario.currency
    others = cmp.schemes[1:]
    header = ["Metric"] + [f"{s} - {cmp.baseline}" for s in others]
    rows = []
    for metric in report_metrics(cmp):
        label, unit = METRICS[metric]
        cells = [f"{label}{unit_label(unit, cur)}"]
        for s in others:
            d = cmp.difference(s, metric)
            if d.n == 0:
                cells.append(NA)
                continue
            cells.append(
                f"{difference(d.mean, unit)} ({interval(*d.ci95, partial(difference, unit=unit))}); "
                f"{ahead_word(metric)} in {share(d.p_a_beats_b)} of years"
            )
        rows.append(cells)
    return header, rows


def hr_table_rows(cmp: Comparison) -> tuple[list[str], list[list[str]]]:
    """The HR view: one person's bonus and the bonus budget per scheme (header, rows)."""
    cur = cmp.scenario.currency
    header = [
        _("Scheme"), _("Rep bonus P5, {cur}").format(cur=cur), "P50", "P95", _("No bonus"), _("At cap"),
        _("Gini (reps)"), _("Budget P50, {cur}").format(cur=cur), "P90", "P95", _("Luck share"),
    ]  # fmt: skip
    rows = []
    for s in cmp.schemes:
        h = cmp.hr[s]
        rows.append(
            [
                s, number(h.rep_payout.p5, "money"), number(h.rep_payout.p50, "money"),
                number(h.rep_payout.p95, "money"), number(h.zero_bonus_share, "share"),
                number(h.capped_share, "share"), number(h.payout_gini, "index"), number(h.bonus_budget["p50"], "money"),
                number(h.bonus_budget["p90"], "money"), number(h.bonus_budget["p95"], "money"),
                number(h.luck_share_of_payout_variance, "share"),
            ]
        )  # fmt: skip
    return header, rows


#: What the team-work table says about itself (Markdown and HTML).
MECHANISMS_NOTE = N_(
    "Each mechanism switched off in turn (its [behaviour] parameter at 0), the people's effort costs held, the "
    "scheme solved again and both simulated on the same draws: the scheme with the mechanism minus without it, "
    "per year, with 95% confidence intervals. Direct: the mechanism off while people keep their choices; "
    "through choices: the rest."
)


def mechanism_table_rows(cmp: Comparison) -> tuple[list[str], list[list[str]]]:
    """What each team-work mechanism adds under each scheme (header, rows); no rows when it was not
    measured or none acts."""
    cur = cmp.scenario.currency

    def signed(v: float) -> str:
        return number(v, "money", signed=True)

    header = [
        _("Scheme"), _("Mechanism"), _("Profit after bonuses, {cur}").format(cur=cur),
        _("Revenue, {cur}").format(cur=cur), _("Direct"), _("Through choices"),
    ]  # fmt: skip
    rows = []
    for name, effects in (cmp.mechanisms or {}).items():
        for e in effects:
            pro, rev = e.profit_after_bonus, e.revenue
            rows.append([
                name, _(e.label), f"{signed(pro.mean)} ({interval(*pro.ci95, signed)})",
                f"{signed(rev.mean)} ({interval(*rev.ci95, signed)})", signed(e.revenue_same_behaviour.mean),
                signed(rev.mean - e.revenue_same_behaviour.mean),
            ])  # fmt: skip
    return header, rows


def provenance_rows(cmp: Comparison) -> list[tuple[str, str]]:
    """Everything needed to reproduce the run, as (label, value) pairs."""
    first = next(iter(cmp.results.values()))
    p = first.provenance
    rows = [
        ("Scenario", f"{cmp.scenario.name} ({cmp.scenario.source})"),
        ("Schemes", ", ".join(cmp.schemes) + f" (baseline: {cmp.baseline})"),
        ("Seed", str(p["seed"])),
        ("Replications", f"{p['replications']:,} per scheme x {p['horizon_years']} recorded year(s)"),
        ("Behaviour", p["behaviour"]),
        ("Scenario hash", p["scenario_hash"]),
        ("incentsim version", p["version"]),
    ]
    if p.get("key"):
        rows.append(("Spawn key", ", ".join(str(k) for k in p["key"])))
    rows.append(("Reproduce with", reproduce_command(cmp)))
    return rows


def reproduce_command(cmp: Comparison, command: str = "report", out: str = "report.html") -> str:
    """The command line that reruns this comparison bit for bit."""
    first = next(iter(cmp.results.values()))
    schemes = ",".join(r.scheme for r in cmp.results.values())
    args = [
        "incentsim", command, cmp.scenario.source, "--schemes", schemes, "--replications", str(first.replications),
        "--seed", str(first.seed), "--behaviour", first.behaviour,
    ]  # fmt: skip
    if cmp.budget is not None:
        args += ["--budget", f"{cmp.budget:g}"]
    if command == "report":
        args += ["--out", out]
    return shlex.join(args)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (first column left-aligned, the others right-aligned)."""
    align = [":---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def comparison_markdown(cmp: Comparison, image: str | os.PathLike | None = None, path: str | None = None) -> str:
    """The comparison as Markdown: the answer, key figures, differences, HR view, provenance.

    Parameters
    ----------
    cmp : Comparison
    image : path, optional
        A summary figure to embed (``compare --plot``); linked relative to ``path``.
    path : str, optional
        Where the Markdown will be written (for the relative image link).

    Returns
    -------
    str
    """
    summary = director_summary(cmp)
    first = next(iter(cmp.results.values()))
    lines = [
        f"# {cmp.scenario.name}: {' vs '.join(cmp.schemes)}",
        "",
    ]
    if cmp.scenario.description:
        lines += [f"> {cmp.scenario.description}", ""]
    lines += [
        f"{first.replications:,} simulated company histories x {first.horizon_years} year(s) per scheme, "
        f"on common random numbers; behaviour {first.behaviour}; money in {cmp.scenario.currency} per year.",
        "",
        "## The answer",
        "",
    ]
    lines += [f"- **{s}**" if i == 0 else f"- {s}" for i, s in enumerate(summary.sentences)]
    lines += ["", md_table(*summary_table_rows(cmp, summary)), "", f"**Verdict:** {cmp.verdict}", ""]
    lines += [f"> {note}\n" for note in caution_notes(cmp)]
    if image is not None:
        target = Path(image)
        if path and path != "-":
            target = Path(os.path.relpath(Path(image).resolve(), Path(path).resolve().parent))
        lines += [f"![Summary of the comparison]({target.as_posix()})", ""]
    lines += [
        "## Key figures",
        "",
        "Mean [P5 to P95] over simulated years.",
        "",
        md_table(*metric_table_rows(cmp)),
        "",
    ]
    if len(cmp.schemes) > 1:
        lines += [
            f"## Differences against {cmp.baseline}",
            "",
            "Paired on the same simulated years: mean (95% confidence interval); share of years the scheme is better.",
            "",
            md_table(*difference_table_rows(cmp)),
            "",
        ]
    header, rows = mechanism_table_rows(cmp)
    if rows:
        lines += ["## What team work adds", "", _(MECHANISMS_NOTE), "", md_table(header, rows), ""]
    lines += [
        "## Pay (HR view)",
        "",
        "Bonus per rep per year; budget = total bonus cost per year; luck share = share of the variance of rep "
        "bonuses not explained by ability.",
        "",
        md_table(*hr_table_rows(cmp)),
        "",
        "## Reproducibility",
        "",
    ]
    lines += [f"- {label}: `{value}`" for label, value in provenance_rows(cmp)]
    return "\n".join(lines) + "\n"
