"""A comparison as one self-contained HTML file for the board (``incentsim report``).

The file has no external resources: figures are embedded as base64 PNG ``data:`` URIs, the
style sheet is inline, and there are no scripts, fonts or links to fetch, so it opens offline
and can be mailed as it is. The answer comes first (which scheme, by how much, how sure, at
what bonus cost), then the figures, the numbers, every input and the provenance.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

from ..i18n import N_, _, current_language
from .format import money, percent, plain, share
from .markdown import (
    MECHANISMS_NOTE,
    difference_table_rows,
    director_summary,
    hr_table_rows,
    mechanism_table_rows,
    metric_table_rows,
    provenance_rows,
    summary_table_rows,
)
from .text import caution_notes

if TYPE_CHECKING:
    from ..comparison import Comparison
    from ..scenario.schema import Component, RolePlan, Scenario
    from ..worlds.result import UncertaintyResult

#: Report sections in order: id -> heading. Tests check that each is present.
SECTIONS: dict[str, str] = {
    "answer": N_("The answer"),
    "profit": N_("Profit after bonuses"),
    "revenue": N_("Revenue"),
    "attainment": N_("Target attainment"),
    "bonus-cost": N_("Bonus cost and budget"),
    "timing": N_("Timing through the year"),
    "marketing": N_("Marketing's appointments"),
    "payout-curves": N_("The schemes and their payout curves"),
    "figures": N_("All key figures"),
    "assumptions": N_("Every assumption used"),
    "reproducibility": N_("Reproducibility"),
}

_CSS = """
:root { --ink: #1d1d1f; --muted: #5a5a5f; --line: #d9d9de; --box: #f3f6fa; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 18px 24px 40px; }
h1 { font-size: 25px; margin: 0 0 2px; }
h2 { font-size: 20px; margin: 30px 0 8px; padding-top: 6px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 18px 0 6px; }
.lede { margin: 0 0 2px; color: var(--muted); }
.meta { margin: 0 0 10px; color: var(--muted); font-size: 13px; }
.answer { background: var(--box); border: 1px solid #c9d6e6; border-left: 6px solid var(--accent);
          border-radius: 6px; padding: 10px 18px 12px; }
.answer h2 { border: 0; margin: 2px 0 4px; padding: 0; font-size: 15px; text-transform: uppercase;
             letter-spacing: .04em; color: var(--muted); }
.headline { font-size: 20px; font-weight: 700; margin: 0 0 6px; }
.facts { margin: 0 0 8px; padding-left: 18px; }
.facts li { margin: 2px 0; }
.verdict { margin: 8px 0 0; font-size: 13px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 10px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; white-space: nowrap; }
th { background: #fafafa; font-weight: 600; }
.answer table { background: #fff; }
tr.best td { font-weight: 700; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
          vertical-align: baseline; }
figure { margin: 10px 0 18px; page-break-inside: avoid; break-inside: avoid; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
nav { font-size: 13px; margin: 10px 0 0; color: var(--muted); }
nav a { color: var(--accent); text-decoration: none; margin-right: 12px; white-space: nowrap; }
.inputs { columns: 2 460px; column-gap: 28px; }
.inputs table { break-inside: avoid; margin: 0 0 14px; font-size: 12px; }
.inputs caption { text-align: left; font-weight: 700; font-size: 13px; padding: 2px 0; }
.inputs td { text-align: left; padding: 2px 6px; white-space: normal; overflow-wrap: anywhere; }
.inputs td:first-child { font-family: ui-monospace, Menlo, Consolas, monospace; width: 55%; }
.note { color: var(--muted); font-size: 13px; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; font-size: 14px; }
dl.prov dt { font-weight: 600; }
dl.prov dd { margin: 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; background: #f4f4f6;
       padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
@media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; } }
"""

#: How to read each figure (caption under it).
CAPTIONS = {
    "difference": N_(
        "Diamond: the best scheme's average extra profit per year over each other scheme, with its 95% confidence "
        "interval (how sure the average is). Shaded band: the middle 80% of single years (how much one year varies). "
        "Every scheme lives through the same simulated years, so these differences are paired."
    ),
    "profit": N_(
        "How often each level of profit after bonuses (margin recognised in the year minus bonuses and base pay of "
        "the commercial team) occurs over the simulated years. Below: P5, P50 (dot) and P95 of each scheme."
    ),
    "revenue": N_(
        "Revenue (bookings: value of deals won in the year) over the simulated years; below: P5, P50 (dot), P95."
    ),
    "attainment": N_(
        "Left: share of person-years at or above 100% of the role's primary annual target. Right: median attainment "
        "with its P5-P95 range. 'unpaid': the role earns no bonus under that scheme."
    ),
    "bonus": N_("Total bonus cost per year. Budget at P50 covers half the years; at P90, nine years out of ten."),
    "months": N_(
        "Average bookings by month. Shaded: months that close a sales target period; a bump there is an "
        "end-of-period sprint or deals pulled in, a dip after it deals held back."
    ),
    "effort": N_(
        "Average effort of the sales reps by week (1 = today's normal effort, the funnel as entered). Reps work "
        "harder when extra effort pays (near a threshold before a period end) and ease off when it does not "
        "(far behind, past a cap, or on a team target where their own effort moves the figure little)."
    ),
    "marketing": N_(
        "Appointments marketing hands over, the share that become won deals, and the share sales never follows up "
        "('sales does not follow up our leads'). Bars: mean; whiskers: P5-P95 of years."
    ),
    "curves": N_(
        "Payout as a % of the component's bonus at target against attainment of the period target. "
        "Components of a hybrid are drawn separately with their weight."
    ),
}


def _img(png: bytes, alt: str) -> str:
    from .plots import REPORT_DPI

    data = base64.b64encode(png).decode("ascii")
    size = ""
    if png[12:16] == b"IHDR":  # shown at 100 dpi whatever the resolution rendered
        w, h = struct.unpack(">II", png[16:24])
        size = f' width="{round(w * 100 / REPORT_DPI)}" height="{round(h * 100 / REPORT_DPI)}"'
    return f'<img src="data:image/png;base64,{data}"{size} alt="{escape(alt)}">'


def _figure(figures: Mapping[str, bytes], key: str, caption: str | None = None) -> str:
    from .plots import REPORT_FIGURES

    if key not in figures:
        return ""
    alt = REPORT_FIGURES[key][1] if key in REPORT_FIGURES else key
    caption = _(CAPTIONS[key]) if caption is None and key in CAPTIONS else (caption or "")
    return f"<figure>{_img(figures[key], alt)}<figcaption>{escape(caption)}</figcaption></figure>"


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    cls: str = "",
    first_col_html: Sequence[str] | None = None,
    row_cls: Sequence[str] | None = None,
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = [escape(str(c)) for c in row]
        if first_col_html is not None:
            cells[0] = first_col_html[i]
        rc = f' class="{row_cls[i]}"' if row_cls and row_cls[i] else ""
        body.append(f"<tr{rc}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _scheme_label(name: str, colors: Mapping[str, str]) -> str:
    return f'<span class="swatch" style="background:{colors[name]}"></span>{escape(name)}'


# -- inputs --------------------------------------------------------------------------------------


def _scalar_text(key: str, v) -> str:
    if v is None:
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "target":
            return "auto (expected annual measure at normal effort)"
        if leaf.startswith(("effort_cost", "quality_cost")):
            return "calibrate"
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.6g}" if math.isfinite(v) else str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10000 and not key.endswith("seed") else str(v)
    return str(v)


def _seq_text(key: str, v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_seq_text(key, e) for e in v) + "]"
    return _scalar_text(key, v)


def flatten_inputs(d: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    """Every input of a nested scenario dict as ``(dotted.key, value)`` rows.

    Lists of tables are keyed by their ``name`` when they have one (``funnel.stages.quote``),
    else by position (``components[0]``); lists of numbers stay on one row.

    Parameters
    ----------
    d : mapping
        For example :meth:`Scenario.to_dict`.
    prefix : str
        Key prefix.

    Returns
    -------
    list of (str, str)
    """
    rows: list[tuple[str, str]] = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            rows.extend(flatten_inputs(v, key) if v else [(key, "(none)")])
        elif isinstance(v, (list, tuple)) and v and all(isinstance(e, Mapping) for e in v):
            for i, e in enumerate(v):
                name = e.get("name")
                rows.extend(flatten_inputs(e, f"{key}.{name}" if isinstance(name, str) and name else f"{key}[{i}]"))
        elif isinstance(v, (list, tuple)):
            rows.append((key, _seq_text(key, v)))
        else:
            rows.append((key, _scalar_text(key, v)))
    return rows


def input_groups(scenario: Scenario) -> dict[str, list[tuple[str, str]]]:
    """Every input of a scenario, grouped for the report: ``{group: [(key in group, value)]}``.

    Groups are the scenario's tables (``funnel``, ``marketing``...), one per scheme
    (``schemes.NAME``), and ``scenario`` for the top-level name, description and currency.
    Together the rows are exactly :func:`flatten_inputs` of :meth:`Scenario.to_dict`.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, value in flatten_inputs(scenario.to_dict()):
        parts = key.split(".")
        if len(parts) == 1:
            group, rest = "scenario", key
        elif parts[0] == "schemes" and len(parts) > 2:
            group, rest = f"schemes.{parts[1]}", ".".join(parts[2:])
        else:
            group, rest = parts[0], ".".join(parts[1:])
        groups.setdefault(group, []).append((rest, value))
    return groups


def _inputs_html(scenario: Scenario) -> str:
    tables = []
    for group, rows in input_groups(scenario).items():
        body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
        tables.append(f"<table><caption>[{escape(group)}]</caption><tbody>{body}</tbody></table>")
    return f'<div class="inputs">{"".join(tables)}</div>'


def _component_text(comp: Component, n: int, currency: str) -> str:
    parts = [f"{comp.measure.replace('_', ' ')} per {comp.period}"]
    if n > 1:
        parts[0] += f" ({percent(comp.weight)} of the bonus)"
    if comp.target is None:
        level = f" x {comp.target_level:g}" if comp.target_level != 1.0 else ""
        parts.append(f"automatic target{level}")
    else:
        parts.append(
            "target " + ", ".join(f"{t:,.10g}" for t in comp.target[:4]) + (" ..." if len(comp.target) > 4 else "")
        )
    payout = f"{comp.payout} payout"
    if comp.commission_rate is not None:
        payout += f" of {comp.commission_rate:,.10g} {currency} per unit of the measure"
    parts.append(payout)
    if comp.curve.gate > 0:
        parts.append(f"nothing below {percent(comp.curve.gate)}")
    top = comp.curve.max_payout
    parts.append(f"capped at {percent(top)} of bonus at target" if top is not None else "uncapped")
    if comp.true_up:
        parts.append("year-end true-up")
    if comp.ratchet_up or comp.ratchet_down:
        parts.append(f"ratchet up {comp.ratchet_up:g} / down {comp.ratchet_down:g}")
    return ", ".join(parts)


def _plan_text(role: str, plan: RolePlan | None, currency: str) -> str:
    who = "Sales (per rep)" if role == "sales" else "Marketing (per person)"
    if plan is None or not plan.components:
        return f"<b>{who}:</b> no bonus."
    comps = "; ".join(escape(_component_text(c, len(plan.components), currency)) for c in plan.components)
    return (
        f"<b>{who}:</b> bonus at target {escape(money(plan.bonus_at_target, currency))}, base salary "
        f"{escape(money(plan.base_salary, currency))}. Paid on {comps}."
    )


def _schemes_html(cmp: Comparison, colors: Mapping[str, str]) -> str:
    sc: Scenario = cmp.scenario
    items = []
    for label, res in cmp.results.items():
        scheme = sc.scheme(res.scheme)
        desc = f" - {escape(scheme.description)}" if scheme.description else ""
        role_lines = "<br>".join(_plan_text(r, scheme.plan(r), sc.currency) for r in ("marketing", "sales"))
        items.append(f"<li><b>{_scheme_label(label, colors)}</b>{desc}<br>{role_lines}</li>")
    return f"<ul>{''.join(items)}</ul>"


def _solver_html(cmp: Comparison) -> str:
    solved = {name: res.solver for name, res in cmp.results.items() if res.solver}
    if not solved:
        return ""
    keys = sorted({k for s in solved.values() for k in s})

    def cell(v) -> str:
        if isinstance(v, float):
            return plain(v)
        if isinstance(v, bool):
            return "yes" if v else "no"
        return str(v)

    rows = [[k.replace("_", " ")] + [cell(solved[n].get(k, "")) for n in solved] for k in keys]
    note = (
        "How people's choices were solved (the model's policy solver and equilibrium): best-response rounds "
        "between marketing and sales, "
        "the last change of policy, and the effort and quality costs calibrated so that the baseline scheme "
        "reproduces today's funnel."
    )
    return f"<h3>Behaviour solver</h3><p class='note'>{escape(note)}</p>" + _table(["Solver"] + list(solved), rows)


# -- document ------------------------------------------------------------------------------------


def comparison_html(
    cmp: Comparison,
    figures: Mapping[str, bytes] | None = None,
    uncertainty: UncertaintyResult | None = None,
    extra: Sequence[tuple[str, str, str]] = (),
) -> str:
    """The whole report as one self-contained HTML document.

    Parameters
    ----------
    cmp : Comparison
    figures : mapping of str to bytes, optional
        PNG bytes keyed as :data:`incentsim.report.plots.REPORT_FIGURES`; rendered from ``cmp``
        when not given.
    uncertainty : UncertaintyResult, optional
        An uncertainty analysis of the same scenario (``incentsim.uncertainty``): adds the
        section :data:`UNCERTAINTY_SECTION` after the answer.
    extra : sequence of (id, heading, body HTML)
        More sections, placed before "All key figures" (a plan design's, for example).

    Returns
    -------
    str
        An HTML5 document with every image inline and no network reference.
    """
    from .plots import has_appointments, report_figures, scheme_colors

    header, rows = mechanism_table_rows(cmp)
    if rows:
        extra = [("team-work", _("What team work adds"), f"<p class='note'>{escape(_(MECHANISMS_NOTE))}</p>"
                  + _table(header, rows)), *extra]  # fmt: skip
    if figures is None:
        figures = report_figures(cmp)
    colors = scheme_colors(cmp.schemes)
    sc = cmp.scenario
    first = next(iter(cmp.results.values()))
    summary = director_summary(cmp)
    cur = escape(sc.currency)

    header, rows = summary_table_rows(cmp, summary)
    summary_table = _table(
        header, rows,
        first_col_html=[_scheme_label(r.scheme, colors) for r in summary.rows],
        row_cls=["best" if r.scheme == summary.best else "" for r in summary.rows],
    )  # fmt: skip
    facts = "".join(
        f"<li><b>{escape(q)}</b> {escape(a)}</li>"
        for q, a in (
            (_("By how much?"), summary.how_much),
            (_("How sure?"), summary.how_sure),
            (_("At what bonus cost?"), summary.bonus_cost),
        )
    )
    title = f"{sc.name}: {' vs '.join(cmp.schemes)}"
    meta = _(
        "{replications:,} simulated company histories x {years} year(s) for each scheme, all living through the same "
        "luck (common random numbers); people's behaviour {behaviour}; money in {currency} per year."
    ).format(
        replications=first.replications, years=first.horizon_years, behaviour=first.behaviour, currency=sc.currency
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{current_language()}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)} - incentsim report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<header><h1>" + escape(_("Which bonus scheme?")) + f" {escape(title)}</h1>",
        f'<p class="lede">{escape(sc.description)}</p>' if sc.description else "",
        f'<p class="meta">{escape(meta)}</p></header>',
        f'<section id="answer" class="answer"><h2>{escape(_(SECTIONS["answer"]))}</h2>',
        f'<p class="headline">{escape(summary.which)}</p>',
        f'<ul class="facts">{facts}</ul>',
        summary_table,
        '<p class="verdict"><b>' + escape(_("Verdict:")) + f"</b> {escape(cmp.verdict)}</p>"
        + "".join(f'<p class="verdict">{escape(note)}</p>' for note in caution_notes(cmp))
        + "</section>",
        "<nav>"
        + escape(_("Contents:"))
        + " "
        + "\n".join(f'<a href="#{k}">{escape(_(v))}</a>' for k, v in SECTIONS.items() if k != "answer")
        + "".join(f'\n<a href="#{k}">{escape(h)}</a>' for k, h, _b in extra)
        + "</nav>",
    ]
    if uncertainty is not None:
        parts.append(uncertainty_html(uncertainty))

    def section(key: str, body: str) -> None:
        parts.append(f'<section id="{key}"><h2>{escape(_(SECTIONS[key]))}</h2>{body}</section>')

    section("profit", _figure(figures, "difference") + _figure(figures, "profit"))
    section("revenue", _figure(figures, "revenue"))
    section("attainment", _figure(figures, "attainment"))
    budget_note = ""
    if cmp.budget is not None:
        probs = ", ".join(f"{escape(n)} {share(cmp.hr[n].p_over_budget)}" for n in cmp.schemes)
        budget_note = (
            f"<p>Probability that a year's bonus cost exceeds the stated budget of "
            f"{escape(money(cmp.budget, sc.currency))}: {probs}.</p>"
        )
    section(
        "bonus-cost",
        _figure(figures, "bonus")
        + budget_note
        + "<h3>"
        + escape(_("Pay per person (HR view)"))
        + "</h3>"
        + _table(*hr_table_rows(cmp))
        + "<p class='note'>"
        + escape(
            _(
                "Rep bonus P5/P50/P95: one rep's bonus in a year. No bonus / at cap: share of person-years. Gini: "
                "inequality of bonuses between reps (0 = equal). Luck share: share of the variance of rep bonuses "
                "not explained by ability."
            )
        )
        + "</p>",
    )
    effort = (
        _figure(figures, "effort")
        if "effort" in figures
        else "<p class='note'>Behaviour is fixed: everyone works at today's normal effort every week, so effort "
        "does not change with the scheme (set the behaviour to <code>optimising</code> to let people respond).</p>"
    )
    section("timing", _figure(figures, "months") + effort)
    section("marketing", _figure(figures, "marketing", None if has_appointments(cmp) else ""))
    section("payout-curves", _schemes_html(cmp, colors) + _figure(figures, "curves"))
    for key, heading, body in extra:
        parts.append(f'<section id="{escape(key)}"><h2>{escape(heading)}</h2>{body}</section>')
    figures_body = "<p class='note'>" + escape(_("Mean [P5 to P95] over simulated years.")) + "</p>"
    figures_body += _table(*metric_table_rows(cmp))
    if len(cmp.schemes) > 1:
        figures_body += (
            f"<h3>Differences against {escape(cmp.baseline)} (the baseline)</h3><p class='note'>Paired on the same "
            "simulated years: mean (95% confidence interval); share of years the scheme is better (for behaviour, "
            "such as effort or focus, which has no better direction: higher). Shares differ "
            "in percentage points (pts).</p>" + _table(*difference_table_rows(cmp))
        )
    section("figures", figures_body)
    section(
        "assumptions",
        f"<p class='note'>Every input of the scenario as simulated ({escape(sc.source)}, after defaults and "
        "command-line overrides). Money in "
        f"{cur}, time in weeks (52 a year), probabilities between 0 and 1.</p>" + _inputs_html(sc) + _solver_html(cmp),
    )
    prov = "".join(f"<dt>{escape(k)}</dt><dd><code>{escape(v)}</code></dd>" for k, v in provenance_rows(cmp))
    section(
        "reproducibility",
        f'<dl class="prov">{prov}</dl><p class="note">Same scenario, seed and replications give the same numbers '
        "to the last digit, on any machine and thread count.</p>",
    )
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p) + "\n"


# -- across plausible worlds ---------------------------------------------------------------------

#: Id and heading of the section an uncertainty analysis adds (after the answer).
UNCERTAINTY_SECTION = ("uncertainty", "How sure, really: across plausible worlds")


def uncertainty_html(res: UncertaintyResult, figures: Mapping[str, bytes] | None = None) -> str:
    """The report's section on an uncertainty analysis: verdict, per scheme, per input, the figures.

    Parameters
    ----------
    res : UncertaintyResult
    figures : mapping of str to bytes, optional
        PNGs from :func:`incentsim.report.uncertainty_view.uncertainty_figures` (rendered when
        not given).
    """
    from .uncertainty_view import input_rows, scheme_rows, uncertainty_figures

    if figures is None:
        figures = uncertainty_figures(res)
    key, heading = UNCERTAINTY_SECTION
    dists = "; ".join(f"{i.path}: {i.distribution.text()}" for i in res.inputs)
    intro = (
        f"The answer above holds for the scenario's own assumptions. Here the comparison is rerun in {res.worlds} "
        f"plausible worlds ({res.design} design), each drawing the uncertain assumptions from their distributions "
        f"({dists}), "
        + (
            "with its own calibration of effort costs and people's responses, and "
            if res.behaviour == "optimising"
            else ""
        )
        + f"{res.replications:,} simulated years per scheme on common random numbers."
    )
    body = [
        f'<section id="{key}"><h2>{escape(heading)}</h2>',
        f'<p class="headline">{escape(res.verdict)}</p>',
        f"<p class='note'>{escape(intro)}</p>",
        _table(*scheme_rows(res)),
        "<figure>" + _img(figures["worlds"], "difference against the baseline in each plausible world")
        + "<figcaption>"
        + escape(
            f"Each dot is one plausible world: the scheme's profit after bonuses minus {res.baseline}'s, a year. "
            "Bar: P5 to P95 across worlds; diamond: the median world. Left of the dashed line the baseline wins."
        )
        + "</figcaption></figure>",
        f"<h3>What the verdict hinges on ({escape(res.best)} minus {escape(res.runner_up)})</h3>",
        _table(*input_rows(res)),
        "<p class='note'>"
        + escape(
            "Share of variance: how much of the spread of the difference across worlds each assumption explains on "
            "its own. Loses when: where the best scheme changes along the assumption (others averaged). Value of "
            "information: what knowing the assumption exactly would be worth a year before deciding (EVPPI), an "
            "upper bound on what a study measuring it can earn."
        )
        + "</p>",
    ]  # fmt: skip
    for name, png in figures.items():
        if name.startswith("break-even:"):
            path = name.split(":", 1)[1]
            body.append(
                "<figure>" + _img(png, f"break-even chart of {path}") + "<figcaption>"
                + escape(
                    f"Each dot is one world's difference against {res.baseline} at its value of {path}; the lines are "
                    "the fitted averages over the other assumptions. The dashed line marks where the verdict flips."
                )
                + "</figcaption></figure>"
            )  # fmt: skip
    body += [f"<p class='note'>Note: {escape(n)}</p>" for n in res.notes]
    body.append("</section>")
    return "".join(body)
