"""Show what the policy solver decided: effort by week and attainment, deal timing, quality.

Terminal heatmaps (plain ASCII, one character per week) and a matplotlib PNG, so a director can
see *why* a scheme pays off or backfires: where reps give up, sprint, coast, hold deals back or
pull them in, and what quality marketing chooses.
"""

from __future__ import annotations

import numpy as np

from ..model.policy import SolvedPolicy
from ..scenario.schema import MONTHS, Scenario, Scheme
from .format import money, number, percent

SHADES = " .:-=+*#%@"
ROWS = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6, 2.0)


def _grid_index(x: float, grid_max: float, n: int) -> int:
    return min(n - 1, max(0, int(round(x / grid_max * (n - 1)))))


def _shade_map(levels: np.ndarray) -> dict[float, str]:
    levels = np.unique(levels)
    if len(levels) == 1:
        return {float(levels[0]): "-"}
    picks = np.linspace(1, len(SHADES) - 1, len(levels)).round().astype(int)
    return {float(v): SHADES[i] for v, i in zip(levels, picks, strict=True)}


def _axis_line(width: int) -> str:
    line = [" "] * 52
    for m in range(12):
        w = (52 * m + 11) // 12
        for j, ch in enumerate(MONTHS[m][:3]):
            if w + j < 52:
                line[w + j] = ch
    return " " * width + "".join(line)


def sales_heatmap(solved: SolvedPolicy, level: int) -> list[str]:
    """Rows: attainment of the period target so far; columns: weeks 1-52. Shade = effort;
    ``H``/``P`` = hold ready deals back / pull deals in (at period ends); ``x`` = ignores
    marketing's appointments at that state."""
    pol = solved.policy
    efforts = pol.sales_effort
    shades = _shade_map(efforts)
    gmax = float(pol.sales_grid_max[level])
    lines = []
    for x in reversed(ROWS):
        if x > gmax:
            continue
        g = _grid_index(x, gmax, pol.grid_n)
        chars = []
        for w in range(52):
            a = pol.sales_action[level, w, g]
            t = pol.sales_timing[level, w, g]
            if t == 1:
                chars.append("H")
            elif t == 2:
                chars.append("P")
            elif pol.sales_follow[a] < 1.0 and len(pol.sales_follow) > 1:
                chars.append("x" if pol.sales_follow[a] == 0 else shades[float(efforts[a])])
            else:
                chars.append(shades[float(efforts[a])])
        lines.append(f"{x * 100:5.0f}% |" + "".join(chars))
    lines.append(_axis_line(8))
    return lines


def marketing_heatmap(sc: Scenario, solved: SolvedPolicy) -> list[str]:
    """Rows: marketing's attainment so far; columns: weeks. Digit = quality focus (0 = pure
    volume ... 9 = pure quality); lower case letter marks effort below normal."""
    pol = solved.policy
    quals = np.asarray(list(sc.behaviour.quality_levels) + [sc.marketing.quality.baseline])
    lines = []
    gmax = pol.mkt_grid_max
    for x in reversed(ROWS):
        if x > gmax:
            continue
        g = _grid_index(x, gmax, pol.grid_n)
        chars = []
        for w in range(52):
            a = pol.mkt_action[w, g]
            q = quals[pol.mkt_quality[a]]
            chars.append(str(min(9, int(round(q * 9)))))
        lines.append(f"{x * 100:5.0f}% |" + "".join(chars))
    lines.append(_axis_line(8))
    return lines


def policy_text(sc: Scenario, scheme: Scheme, solved: SolvedPolicy, levels: list[int] | None = None) -> str:
    """The whole terminal view of a solved scheme."""
    info = solved.info
    pol = solved.policy
    out = [f"Policy of scheme {scheme.name!r} in {sc.name}: {scheme.description}"]
    out.append(
        f"Equilibrium after {info.get('rounds')} round(s), last change {info.get('last_change', 0):.2g}"
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
        shades = _shade_map(pol.sales_effort)
        legend = "  ".join(f"{ch!r}={v:g}" for v, ch in sorted(shades.items()))
        out += ["", f"Sales effort by week (columns) and attainment of the period target so far (rows): {legend};",
                "H = hold this week's ready deals into the next period, P = pull next weeks' deals in,"
                " x = ignore marketing's appointments."]  # fmt: skip
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
        out += ["", "Marketing quality focus by week and attainment (0 = pure volume ... 9 = pure quality):"]
        out += marketing_heatmap(sc, solved)
    return "\n".join(out)


def policy_figure(sc: Scenario, scheme: Scheme, solved: SolvedPolicy, path: str) -> None:
    """Write a PNG: one effort heatmap per ability level (timing marked), and marketing quality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    pol = solved.policy
    K = len(sc.sales.ability.levels)
    has_sales = scheme.sales is not None
    has_mkt = scheme.marketing is not None and sc.marketing.headcount > 0
    panels = (K if has_sales else 0) + (1 if has_mkt else 0)
    panels = max(panels, 1)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels + 1, 4.2), squeeze=False, constrained_layout=True)
    axes = axes[0]
    weeks = np.arange(1, 53)
    i = 0
    if has_sales:
        levels = np.unique(pol.sales_effort)
        cmap = ListedColormap(plt.get_cmap("viridis")(np.linspace(0.1, 0.95, len(levels))))
        edges = np.concatenate([[levels[0] - 0.1], (levels[1:] + levels[:-1]) / 2, [levels[-1] + 0.1]])
        norm = BoundaryNorm(edges, cmap.N)
        for k in range(K):
            ax = axes[i]
            i += 1
            gmax = float(pol.sales_grid_max[k])
            show = min(gmax, 2.0)
            n_rows = _grid_index(show, gmax, pol.grid_n) + 1
            eff = pol.sales_effort[pol.sales_action[k, :, :n_rows]].T
            im = ax.imshow(
                eff, origin="lower", aspect="auto", cmap=cmap, norm=norm,
                extent=(0.5, 52.5, 0, show * 100),
            )  # fmt: skip
            tim = pol.sales_timing[k, :, :n_rows]
            ys = np.linspace(0, show * 100, n_rows)
            ignore = pol.sales_follow[pol.sales_action[k, :, :n_rows]] < 1.0
            if ignore.any():
                ax.contourf(
                    weeks, ys, ignore.T.astype(float), levels=[0.5, 1.5], colors="none", hatches=["xx"],
                )  # fmt: skip
                ax.plot([], [], color="k", lw=0, marker="s", mfc="none", label="ignores appointments (xx)")
            for code, marker, color, label in ((1, "s", "tab:red", "hold back"), (2, "^", "white", "pull in")):
                w_idx, g_idx = np.nonzero(tim == code)
                if len(w_idx):
                    ax.scatter(weeks[w_idx], ys[g_idx], s=6, marker=marker, color=color, label=label)
            if (tim > 0).any() or ignore.any():
                ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
            ax.set_title(f"Rep effort, ability {sc.sales.ability.levels[k]:.2f}", fontsize=10)
            ax.set_xlabel("week of the year")
            ax.set_ylabel("attainment of period target so far (%)")
        cb = fig.colorbar(im, ax=axes[:i], shrink=0.85, ticks=levels)
        cb.set_label("effort (1 = normal)")
    if has_mkt:
        ax = axes[i]
        quals = np.asarray(list(sc.behaviour.quality_levels) + [sc.marketing.quality.baseline])
        gmax = pol.mkt_grid_max
        show = min(gmax, 2.0)
        n_rows = _grid_index(show, gmax, pol.grid_n) + 1
        q = quals[pol.mkt_quality[pol.mkt_action[:, :n_rows]]].T
        im2 = ax.imshow(
            q, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1, extent=(0.5, 52.5, 0, show * 100)
        )
        ax.set_title("Marketing quality focus", fontsize=10)
        ax.set_xlabel("week of the year")
        ax.set_ylabel("attainment of period target so far (%)")
        cb2 = fig.colorbar(im2, ax=ax, shrink=0.85)
        cb2.set_label("quality focus (0 volume, 1 quality)")
    fig.suptitle(f"{sc.name}: what people do under scheme '{scheme.name}'", fontsize=11)
    from ..io import with_atomic_file

    with_atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)
