"""A plan design for people: the terminal text, the frontier figure and the report's section.

Everything here reads the design's summary (``DesignResult.summary``, saved as ``summary.json``
in the design's folder), so ``incentsim report --design DIR`` needs nothing but that folder.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .format import NA, money, number, plain


def _fmt(v: Any, unit: str, currency: str = "") -> str:
    if unit == "money":
        return money(v, currency)
    if unit == "index":
        return number(v, "index")
    return number(v, unit)


def constraint_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """The constraints: limit, the best plan's value on fresh years, the baseline's, met or not."""
    cur = summary["currency"]
    header = ["constraint", "limit", summary["scheme_name"], summary["baseline"], "met"]
    rows = []
    for c in summary["constraints"]:
        sense = "at most" if c["sense"] == "max" else "at least"
        label = c["label"] + (f" {money(c['budget'], cur)}" if c.get("budget") is not None else "")
        rows.append(
            [label, f"{sense} {_fmt(c['limit'], c['unit'], cur)}", _fmt(c["value"], c["unit"], cur),
             _fmt(c["baseline"], c["unit"], cur), "yes" if c["met"] else "NO"]
        )  # fmt: skip
    return header, rows


def frontier_rows(summary: dict, frontier: str) -> tuple[list[str], list[list[str]]]:
    """One trade-off frontier as table rows: trial, the parameters, the objective and both axes."""
    cur = summary["currency"]
    col = f"{summary['objective_metric']}_mean"
    rows = [r for r in summary["frontier"] if r["frontier"] == frontier]
    params = [p.split(" in ")[0] for p in summary["parameters"]]
    header = ["trial", *params, summary["objective_label"], "bonus budget P90", "reps with no bonus"]
    out = []
    for r in rows:
        vals = [(plain(r[p]) if isinstance(r[p], float) else str(r[p])) for p in params]
        out.append(
            [str(r["trial"]), *vals, money(r[col], cur), money(r["bonus_budget_p90"], cur),
             number(r["reps_zero_bonus_share"], "share")]
        )  # fmt: skip
    return header, out


def _table_text(header: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    widths = (
        [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)] if rows else [len(h) for h in header]
    )
    lines = [
        indent
        + "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    ]
    for r in rows:
        lines.append(
            indent
            + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(lines)  # fmt: skip


def design_text(summary: dict) -> str:
    """The design's outcome for the terminal: best plan, verdict, optimism, constraints, behaviour,
    the two frontiers and the block to paste."""
    cur = summary["currency"]
    col = summary["objective_metric"]
    label = summary["objective_label"]
    opt = summary["optimism"]
    best, base = summary["best"], summary["baseline_figures"]
    values = ", ".join(
        f"{k} = {plain(v)}" if isinstance(v, float) else f"{k} = {v}" for k, v in summary["best_values"].items()
    )
    missed = summary.get("best_missed") or []
    head = (
        f"No plan within the limits (it misses the limit on {', '.join(missed)} on fresh years); closest: trial"
        if missed
        else "Best plan: trial"
    )
    lines = [
        f"{head} {summary['best_trial']} of {summary['trials']} ({summary['feasible_trials']} met every "
        f"constraint on the search's years): {values}",
        f"On {summary['final_replications']:,} fresh replications: {label.lower()} "
        f"{money(best[col + '_mean'], cur)} a year ({summary['baseline']}: {money(base[col + '_mean'], cur)}); "
        f"bonus cost {money(best['bonus_cost_mean'], cur)} ({money(base['bonus_cost_mean'], cur)}); "
        f"bonus budget P90 {money(best['bonus_budget_p90'], cur)} "
        f"({money(base['bonus_budget_p90'], cur)}).",
        f"Verdict: {summary['verdict']}",
        f"Optimism removed: on the search's {summary['replications']:,} replications trial {summary['best_trial']} "
        f"led {summary['baseline']} by {money(opt['lead_search'], cur, signed=True)} a year; on fresh years by "
        f"{money(opt['lead_fresh'], cur, signed=True)}: {money(opt['removed'], cur, signed=True)} of luck removed "
        f"({money(opt['mean_over_finalists'], cur, signed=True)} on average over the {len(summary['finalists'])} "
        "finalists)."
        + ("" if opt["search_top_rank_fresh"] == 1 else
           f" The search's top trial {opt['search_top_trial']} ranked {opt['search_top_rank_fresh']} on fresh years."),
    ]  # fmt: skip
    if summary["constraints"]:
        lines += ["", "Constraints (best plan on fresh years):", _table_text(*constraint_rows(summary))]
    lines += ["", "How the plan changes behaviour:"] + [f"  {s}" for s in summary["behaviour"]]
    among = "among plans meeting the other constraints"
    most = f"the most {label.lower()}"
    for key, title in (
        ("bonus_budget_p90", f"Trade-off: {most} for each bonus budget (P90), {among}"),
        ("reps_zero_bonus_share", f"Trade-off: {most} for each share of reps with no bonus, {among}"),
    ):
        header, rows = frontier_rows(summary, key)
        lines += ["", title + ":", _table_text(header, rows) if rows else f"  {NA}: no trial met the other constraints"]
    if missed:
        lines += ["", f"The block below misses the limit on {', '.join(missed)}: loosen a limit or widen the search."]
    lines += ["", f"Paste into the scenario file ({summary['base']}) and compare it with `incentsim compare`:", ""]
    lines += [summary["scheme_block"].rstrip()]
    return "\n".join(lines)


def frontier_figure(summary: dict):
    """Two panels: the objective against the bonus budget at P90 and against the share of reps with
    no bonus; every trial (hollow: misses a constraint), the frontier, the best plan and the baseline."""
    import matplotlib as mpl

    from .plots import _RC, GREY, PALETTE, _fmt_axis, new_figure

    col = f"{summary['objective_metric']}_mean"
    cur = summary["currency"]
    with mpl.rc_context(_RC):
        fig = new_figure(10.0, 4.2)
        axes = fig.subplots(1, 2, sharey=True)
        pts = summary["points"]
        for ax, (x, xlabel, unit, limit) in zip(
            axes,
            (
                ("bonus_budget_p90", f"Bonus budget at P90 ({cur} per year)", "money", "bonus_budget_p90"),
                ("reps_zero_bonus_share", "Share of reps with no bonus (%)", "share", "zero_bonus_share"),
            ),
            strict=True,
        ):
            ok = [p for p in pts if p["feasible"] and p[x] is not None and p["objective"] is not None]
            bad = [p for p in pts if not p["feasible"] and p[x] is not None and p["objective"] is not None]
            ax.scatter(
                [p[x] for p in ok],
                [p["objective"] for p in ok],
                s=16,
                color=GREY,
                alpha=0.6,
                label="trial (meets every constraint)",
            )
            ax.scatter(
                [p[x] for p in bad],
                [p["objective"] for p in bad],
                s=16,
                facecolors="none",
                edgecolors=GREY,
                alpha=0.6,
                label="trial (misses one)",
            )
            front = [r for r in summary["frontier"] if r["frontier"] == x]
            ax.plot([r[x] for r in front], [r[col] for r in front], "-o", color=PALETTE[1], ms=4, label="frontier")
            best = next((p for p in pts if p["trial"] == summary["best_trial"]), None)
            if best is not None:
                ax.scatter(
                    [best[x]],
                    [best["objective"]],
                    marker="*",
                    s=180,
                    color=PALETTE[2],
                    zorder=5,
                    label=f"best plan (trial {summary['best_trial']})",
                )
            b = summary["baseline_point"]
            ax.scatter(
                [b[x]],
                [b["objective"]],
                marker="s",
                s=50,
                color=PALETTE[0],
                zorder=5,
                label=f"baseline ({summary['baseline']})",
            )
            if limit in summary["limits"]:
                ax.axvline(summary["limits"][limit], color=PALETTE[3], ls="--", lw=1, label="limit")
            if unit == "share":  # shares start at 0 (a design where nobody goes without a bonus is one line)
                top = max([p[x] for p in ok + bad] + [b[x] or 0.0, 0.05])
                ax.set_xlim(-0.02 * top, 1.08 * top)
            ax.set_xlabel(xlabel)
            _fmt_axis(ax, unit, "x")
            _fmt_axis(ax, "money", "y")
        axes[0].set_ylabel(f"{summary['objective_label']} ({cur} per year)")
        axes[0].set_title(
            "Profit against the bonus budget" if summary["objective"] == "profit" else "Against the bonus budget"
        )
        axes[1].set_title("Against the reps left with no bonus")
        axes[1].legend(loc="lower right", fontsize=8)
        fig.suptitle(f"Plan design {summary['name']}: {summary['trials']} candidate plans (search years)")  # fmt: skip
    return fig


def design_section_html(summary: dict, png: bytes | None) -> str:
    """The report's "Plan design" section (HTML body, no heading)."""
    from .html import _img, _table

    cur = summary["currency"]
    parts = [
        f"<p><b>{escape(summary['verdict'])}</b></p>",
        "<p>" + escape(
            f"Searched {summary['trials']} candidate plans of {summary['family']} "
            f"({', '.join(summary['parameters'])}) "
            f"with Optuna's {summary['sampler'].upper()} sampler on {summary['replications']:,} replications each "
            f"(common random numbers), objective {summary['objective_label'].lower()}; the "
            f"{len(summary['finalists'])} "
            f"best were re-evaluated on {summary['final_replications']:,} fresh replications. Best: trial "
            f"{summary['best_trial']}. Optimism removed: "
            f"{money(summary['optimism']['removed'], cur, signed=True)} a year "
            "(the winner's lead over the baseline as the search saw it, minus its lead on fresh years)."
        ) + "</p>",
    ]  # fmt: skip
    if png is not None:
        parts.append(
            "<figure>" + _img(png, "plan design frontier") + "<figcaption>" + escape(
                "Each dot is a candidate plan on the search's simulated years (hollow: misses a constraint). The line "
                "is "
                f"the frontier: the most {summary['objective_label'].lower()} for each bonus budget at P90 (left) and "
                "each share of reps left with no "
                "bonus (right), among plans meeting the other constraints."
            ) + "</figcaption></figure>"
        )  # fmt: skip
    if summary["constraints"]:
        parts.append("<h3>Constraints</h3>" + _table(*constraint_rows(summary)))
    parts.append("<h3>How the plan changes behaviour</h3><ul>")
    parts += [f"<li>{escape(s)}</li>" for s in summary["behaviour"]]
    parts.append("</ul>")
    for key, title in (
        ("bonus_budget_p90", "Frontier: profit against bonus budget P90"),
        ("reps_zero_bonus_share", "Frontier: profit against the share of reps with no bonus"),
    ):
        header, rows = frontier_rows(summary, key)
        body = _table(header, rows) if rows else "<p class='note'>No trial met the other constraints.</p>"
        parts.append(f"<h3>{escape(title)}</h3>" + body)
    parts.append(
        "<h3>The plan, ready to paste into the scenario file</h3><pre style='white-space: pre-wrap'><code>"
        + escape(summary["scheme_block"])
        + "</code></pre>"
    )
    return "".join(parts)


def design_section(folder, scenario) -> tuple[str, str, str]:
    """The report section of a finished design in ``folder`` on ``scenario``: ``(id, heading, body)``.

    Raises
    ------
    ArgumentError
        (``design``) When the folder holds no finished design, or one of another scenario.
    """
    import json
    from pathlib import Path

    from ..scenario.errors import ArgumentError

    path = Path(folder) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArgumentError("design", "holds no finished design (no summary.json): run incentsim design first",
                            str(folder)) from None  # fmt: skip
    except (OSError, ValueError) as exc:
        raise ArgumentError("design", f"summary.json cannot be read ({exc})", str(folder)) from None
    if summary.get("scenario_hash") != scenario.hash:
        raise ArgumentError(
            "design",
            f"holds a design on another scenario ({summary.get('base')}, hash {summary.get('scenario_hash')}); this "
            f"report is on {scenario.source} (hash {scenario.hash})",
            str(folder),
        )
    png_path = Path(folder) / "frontier.png"
    png = png_path.read_bytes() if png_path.exists() else None
    return "plan-design", f"Plan design: {summary['name']}", design_section_html(summary, png)
