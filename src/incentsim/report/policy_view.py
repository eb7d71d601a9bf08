"""Show what the policy solver decided: effort by week and attainment, deal timing, quality.

Terminal heatmaps (plain ASCII, one character per week) and a matplotlib PNG, so a director can
see *why* a scheme pays off or backfires: where reps give up, sprint, coast, hold deals back or
pull them in, and what quality marketing chooses.
"""

from __future__ import annotations

import numpy as np

from ..calendar import MONTHS, PERIODS, week_period
from ..model.policy import SolvedPolicy
from ..scenario.schema import Scenario, Scheme
from .format import money, number, percent

SHADES = " .:-=+*#%@"
ROWS = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6, 2.0)
EFFORT_BANDS = (0.5, 0.7, 0.85, 0.95, 1.05, 1.15, 1.3, 1.5, 1.75)  # shade thresholds of the terminal view


def _pace(solved: SolvedPolicy, role: str, week: int, x: float) -> tuple[float, float]:
    """State to show for attainment ``x`` of the first axis: the second axis (if any) on the same
    pace, i.e. ``x`` times the share of its period covered by the end of the first axis' period
    (the same ``x`` when both axes share a period)."""
    axes = solved.state_axes(role)
    if len(axes) < 2 or PERIODS[axes[0]["period"]] <= PERIODS[axes[1]["period"]]:
        return (x, x)
    wp0, wp1 = week_period(axes[0]["period"]), week_period(axes[1]["period"])
    end0 = int(np.flatnonzero(wp0 == wp0[week])[-1])
    in1 = np.flatnonzero(wp1 == wp1[week])
    return (x, x * (end0 - in1[0] + 1) / len(in1))


def _matrix(solved: SolvedPolicy, role: str, level: int, rows, what: str) -> np.ndarray:
    """``what`` (effort, follow, quality, timing) by attainment row and week."""
    out = np.zeros((len(rows), 52), dtype=object if what == "timing" else float)
    for r, x in enumerate(rows):
        for w in range(52):
            state = _pace(solved, role, w, x)
            if what == "effort":
                out[r, w] = solved.effort(role, level, w, state)
            elif what == "follow":
                out[r, w] = solved.follow(level, w, state)
            elif what == "quality":
                out[r, w] = solved.quality(w, state)
            else:
                out[r, w] = solved.timing(level, w, state)
    return out


def _shade(effort: float) -> str:
    return SHADES[int(np.searchsorted(EFFORT_BANDS, effort))]


def _axis_line(width: int) -> str:
    line = [" "] * 52
    for m in range(12):
        w = (52 * m + 11) // 12
        for j, ch in enumerate(MONTHS[m][:3]):
            if w + j < 52:
                line[w + j] = ch
    return " " * width + "".join(line)


def _rows(solved: SolvedPolicy, role: str, level: int) -> list[float]:
    pol = solved.policy.sales if role == "sales" else solved.policy.marketing
    NS = pol.scales.shape[0]  # (the row of the base target: see compile.AgentPolicy)
    row = (level if role == "sales" else 0) * NS + int(np.argmin(np.abs(pol.scales - 1.0)))
    top = float(pol.grid_max[0, row, 0])
    return [x for x in ROWS if x <= top + 1e-9]


def sales_heatmap(solved: SolvedPolicy, level: int) -> list[str]:
    """Rows: attainment of the first state axis so far (pipeline included); columns: weeks 1-52.
    Shade = effort; ``H``/``P`` = hold ready deals back / pull deals in (at period ends); ``x`` =
    works fewer than half of marketing's appointments at that state."""
    rows = _rows(solved, "sales", level)
    eff = _matrix(solved, "sales", level, rows, "effort")
    fol = _matrix(solved, "sales", level, rows, "follow")
    tim = _matrix(solved, "sales", level, rows, "timing")
    lines = []
    for r in range(len(rows) - 1, -1, -1):
        chars = []
        for w in range(52):
            if tim[r, w] in ("hold", "hold excess"):
                chars.append("H")
            elif tim[r, w] == "pull":
                chars.append("P")
            elif fol[r, w] < 0.5:
                chars.append("x")
            else:
                chars.append(_shade(eff[r, w]))
        lines.append(f"{rows[r] * 100:5.0f}% |" + "".join(chars))
    lines.append(_axis_line(8))
    return lines


def marketing_heatmap(sc: Scenario, solved: SolvedPolicy) -> list[str]:
    """Rows: marketing's attainment so far; columns: weeks. Digit = quality focus (0 = pure
    volume ... 9 = pure quality)."""
    del sc
    rows = _rows(solved, "marketing", 0)
    q = _matrix(solved, "marketing", 0, rows, "quality")
    lines = []
    for r in range(len(rows) - 1, -1, -1):
        lines.append(f"{rows[r] * 100:5.0f}% |" + "".join(str(min(9, int(round(v * 9)))) for v in q[r]))
    lines.append(_axis_line(8))
    return lines


def _state_line(solved: SolvedPolicy, role: str) -> str:
    st = solved.info.get("state", {}).get(role, {})
    axes = st.get("axes", [])
    if not axes:
        return f"{role.capitalize()} pay is proportional to results: every unit is valued exactly, no state needed."
    parts = [f"{a['measure']} {'year-to-date' if a['year_to_date'] else 'per ' + a['period']}" for a in axes]
    text = f"{role.capitalize()} keeps track of: " + " and ".join(parts)
    if st.get("paid_axis"):
        text += ", and the bonus already paid this year (true-up)"
    if st.get("ratchets_anticipated"):
        text += "; anticipates next year's ratcheted target"
    scales = solved.info.get("ratchet_scales", {}).get(role)
    if scales:
        text += (f"; also solved at targets {', '.join(f'{s:g}' for s in scales if s != 1.0)} x the base, for the "
                 "years after a ratchet moves them (shown: at the base)")
    for note in st.get("notes", []):
        text += f"; approximation: {note}"
    return text + "."


def policy_text(sc: Scenario, scheme: Scheme, solved: SolvedPolicy, levels: list[int] | None = None) -> str:
    """The whole terminal view of a solved scheme."""
    info = solved.info
    out = [f"Policy of scheme {scheme.name!r} in {sc.name}: {scheme.description}"]
    out.append(
        f"Equilibrium after {info.get('rounds')} round(s), best responses {info.get('last_change', 0):.2g} from the "
        "behaviour they answered"
        f" ({'converged' if info.get('converged') else 'not converged'}); effort costs calibrated on "
        f"{info.get('calibrated_on')!r}: sales {number(info.get('effort_cost_sales', 0), 'money')}, marketing "
        f"{money(info.get('effort_cost_marketing', 0), sc.currency)} per year of effort 2 vs 1."
    )
    out.append(
        f"Expected: rep effort {info.get('mean_sales_effort', 1):.2f}, appointments worked "
        f"{percent(info.get('mean_follow_share', 1))}, marketing effort {info.get('mean_marketing_effort', 1):.2f}, "
        f"quality focus {info.get('mean_marketing_quality', 0):.2f}."
    )
    if scheme.sales is not None:
        legend = (
            "  ".join(f"{ch!r}<{hi:g}" for ch, hi in zip(SHADES, EFFORT_BANDS, strict=False))
            + f"  {SHADES[-1]!r}>={EFFORT_BANDS[-1]:g}"
        )
        out += ["", _state_line(solved, "sales"),
                f"Sales effort by week (columns) and attainment so far, pipeline included (rows): {legend};",
                "H = hold this week's ready deals into the next period, P = pull next weeks' deals in,"
                " x = ignore most of marketing's appointments."]  # fmt: skip
        if len(solved.state_axes("sales")) > 1:
            out.append("Rows are the first measure; the second is taken on the same pace.")
        all_levels = list(range(len(sc.sales.ability.levels)))
        for k in levels if levels is not None else all_levels:
            lv = sc.sales.ability.levels[k]
            profile = solved.sales_effort_week[k]
            quarters = ", ".join(f"Q{q + 1} {profile[13 * q : 13 * (q + 1)].mean():.2f}" for q in range(4))
            out += ["", f"Ability level {lv:.2f} (expected effort by quarter: {quarters})"]
            out += sales_heatmap(solved, k)
    else:
        out += ["", "Sales earns no bonus under this scheme: normal effort, every appointment worked."]
    if scheme.marketing is not None and sc.marketing.headcount > 0:
        out += ["", _state_line(solved, "marketing")]
        out += ["Marketing quality focus by week and attainment (0 = pure volume ... 9 = pure quality):"]
        out += marketing_heatmap(sc, solved)
    return "\n".join(out)


def policy_figure(sc: Scenario, scheme: Scheme, solved: SolvedPolicy, path: str) -> None:
    """Write a PNG: one effort heatmap per ability level (timing marked), and marketing quality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K = len(sc.sales.ability.levels)
    has_sales = scheme.sales is not None
    has_mkt = scheme.marketing is not None and sc.marketing.headcount > 0
    panels = max((K if has_sales else 0) + (1 if has_mkt else 0), 1)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels + 1, 4.2), squeeze=False, constrained_layout=True)
    axes = axes[0]
    weeks = np.arange(1, 53)
    rows = np.linspace(0.0, 2.0, 41)
    i = 0
    im = None
    if has_sales:
        for k in range(K):
            ax = axes[i]
            i += 1
            eff = _matrix(solved, "sales", k, rows, "effort")
            im = ax.imshow(
                eff, origin="lower", aspect="auto", cmap="viridis", vmin=0.3, vmax=2.0, extent=(0.5, 52.5, 0, 200),
            )  # fmt: skip
            tim = _matrix(solved, "sales", k, rows, "timing")
            fol = _matrix(solved, "sales", k, rows, "follow")
            ignore = fol < 0.5
            if ignore.any():
                ax.contourf(weeks, rows * 100, ignore.astype(float), levels=[0.5, 1.5], colors="none", hatches=["xx"])
                ax.plot([], [], color="k", lw=0, marker="s", mfc="none", label="ignores appointments (xx)")
            for code, marker, color, label in (
                ("hold", "s", "tab:red", "hold back"),
                ("pull", "^", "white", "pull in"),
            ):
                g_idx, w_idx = np.nonzero(tim == code)
                if len(w_idx):
                    ax.scatter(weeks[w_idx], rows[g_idx] * 100, s=6, marker=marker, color=color, label=label)
            if (tim != "none").any() or ignore.any():
                ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
            ax.set_title(f"Rep effort, ability {sc.sales.ability.levels[k]:.2f}", fontsize=10)
            ax.set_xlabel("week of the year")
            ax.set_ylabel("attainment so far, pipeline included (%)")
        cb = fig.colorbar(im, ax=axes[:i], shrink=0.85)
        cb.set_label("expected effort (1 = normal)")
    if has_mkt:
        ax = axes[i]
        q = _matrix(solved, "marketing", 0, rows, "quality")
        im2 = ax.imshow(q, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1, extent=(0.5, 52.5, 0, 200))
        ax.set_title("Marketing quality focus", fontsize=10)
        ax.set_xlabel("week of the year")
        ax.set_ylabel("attainment so far (%)")
        cb2 = fig.colorbar(im2, ax=ax, shrink=0.85)
        cb2.set_label("quality focus (0 volume, 1 quality)")
    fig.suptitle(f"{sc.name}: what people do under scheme '{scheme.name}'", fontsize=11)
    from ..io import with_atomic_file

    with_atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)
