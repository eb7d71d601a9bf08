"""An uncertainty analysis (plausible worlds) for the terminal and as figures.

Text: the verdict, then per scheme P(best), expected profit, the across-world spread of its
difference against the baseline and its expected regret, then per uncertain input its share of
the across-world variance, break-even value and value of information. Figures: the across-world
distribution of each scheme's difference against the baseline (one dot per world) and the
break-even chart of an input (each world's difference against the input, the fitted curves, and
where the verdict flips).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .format import NA, money, number, plain, share, short_money

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..worlds.analysis import InputEffect
    from ..worlds.result import UncertaintyResult

METRIC = "profit_after_bonus"


def _money(x: float) -> str:
    return number(x, "money", signed=True)


def loses_text(e: InputEffect) -> str:
    """Where the best scheme loses along an input: ``above 0.78``, ``between 0.4 and 0.6``, ``never in
    range``, or ``no clear effect`` when the input's fit is flat (nothing told from the noise)."""
    if e.break_even is None:
        return "no clear effect" if e.variance_share == 0.0 and e.evppi == 0.0 else "never in range"
    if e.loses_when in ("above", "below"):
        return f"{e.loses_when} {plain(e.break_even)}"
    if e.loses_when == "between" and len(e.crossings) >= 2:
        return f"between {plain(e.crossings[0])} and {plain(e.crossings[1])}"
    if e.loses_when == "outside" and len(e.crossings) >= 2:
        return f"below {plain(e.crossings[0])} or above {plain(e.crossings[-1])}"
    return f"near {plain(e.break_even)}"


def scheme_rows(res: UncertaintyResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-scheme table (strings, formatted)."""
    header = [
        "scheme", "P(best)", f"expected profit ({res.currency}/yr)", f"vs {res.baseline}: P5", "P50", "P95",
        "expected regret",
    ]  # fmt: skip
    rows = []
    for s in res.summaries:
        base = s.scheme == res.baseline
        rows.append(
            [
                s.scheme, share(s.p_best), number(s.expected_profit, "money"),
                "(baseline)" if base else _money(s.diff_p5), "" if base else _money(s.diff_p50),
                "" if base else _money(s.diff_p95), number(s.expected_regret, "money"),
            ]
        )  # fmt: skip
    return header, rows


def input_rows(res: UncertaintyResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-input table, ranked by the value of information."""
    dist = {i.path: i.distribution.text() for i in res.inputs}
    header = [
        "input", "distribution", "share of variance", f"{res.best} loses when", "to",
        f"value of information ({res.currency}/yr)",
    ]  # fmt: skip
    rows = []
    for e in res.ranked:
        rows.append(
            [
                e.path, dist.get(e.path, ""), share(e.variance_share), loses_text(e), e.winner_beyond or "",
                number(e.evppi, "money"),
            ]
        )  # fmt: skip
    noise = NA if res.noise_share != res.noise_share else share(res.noise_share)
    rows.append(["(simulation noise)", f"{res.replications:,} replications per world", noise, "", "", ""])
    rows.append(["(every input together)", "", "", "", "", number(res.evpi, "money")])
    return header, rows


def uncertainty_text(res: UncertaintyResult) -> str:
    """Plain-text report of an uncertainty analysis."""
    import pandas as pd

    lines = [
        f"How sure, really: {res.scenario} across {res.worlds} plausible worlds ({res.design} design, seed "
        f"{res.seed}; {res.replications:,} replications per world and scheme on common random numbers; behaviour "
        f"{res.behaviour})",
        "",
        f"Verdict: {res.verdict}",
        "",
        f"Per scheme: profit after bonuses ({res.currency} a year), its difference against {res.baseline} across "
        "worlds, and the expected regret of choosing it (what it costs on average against knowing the world):",
    ]
    header, rows = scheme_rows(res)
    lines.append(pd.DataFrame(rows, columns=header).to_string(index=False))
    lines += [
        "",
        f"What the verdict hinges on ({res.best} minus {res.runner_up}), ranked by the value of perfect information "
        "(EVPPI):",
    ]
    header, rows = input_rows(res)
    lines.append(pd.DataFrame(rows, columns=header).to_string(index=False))
    lines += [
        "",
        "Share of variance: first-order share of the across-world variance of the difference (a smoothing spline of "
        "the difference on the input; an effect that cannot be told from the noise at 5 % over all the inputs' fits "
        "is flat: \"no clear effect\"). Loses when: where the fitted best scheme changes, inside the range the worlds "
        "cover. Value of information: what knowing the input exactly would be worth a year before deciding "
        "(regression EVPPI, Strong, Oakley & Brennan 2014), an upper bound on what measuring it can earn.",
    ]
    lines += [f"Note: {n}" for n in res.notes]
    return "\n".join(lines)


# -- figures -------------------------------------------------------------------------------------


def _world_matrix(res: UncertaintyResult):
    import numpy as np

    t = res.table
    n = res.worlds
    nb = np.full((n, len(res.schemes)), np.nan)
    col = {s: j for j, s in enumerate(res.schemes)}
    for w, s, m in zip(t["world"], t["scheme"], t[f"{METRIC}_mean"], strict=True):
        nb[int(w), col[s]] = float(m)
    return nb


def distribution_axes(ax, res: UncertaintyResult) -> None:
    """Each scheme's difference against the baseline across worlds: one dot per world, P5-P95 bar, P50."""
    import numpy as np

    from .plots import scheme_colors

    colors = scheme_colors(res.schemes)
    nb = _world_matrix(res)
    others = res.schemes[1:]
    rng = np.random.default_rng(0)  # jitter only: the same picture every time
    for k, name in enumerate(others):
        j = res.schemes.index(name)
        d = nb[:, j] - nb[:, 0]
        y = len(others) - 1 - k
        ax.scatter(d, y + rng.uniform(-0.18, 0.18, len(d)), s=14, color=colors[name], alpha=0.55, linewidths=0)
        p5, p50, p95 = np.percentile(d, [5, 50, 95])
        ax.plot([p5, p95], [y - 0.32, y - 0.32], color=colors[name], linewidth=3, solid_capstyle="butt")
        ax.plot([p50], [y - 0.32], marker="D", color="black", markersize=5)
    labels = [f"{name}\nbest in {share(res.summary(name).p_best)}" for name in others]
    ax.set_yticks(range(len(others))[::-1], labels)
    ax.axvline(0.0, color="#b2182b", linestyle="--", linewidth=1)
    ax.set_ylim(-0.7, len(others) - 0.5)
    ax.set_xlabel(f"profit after bonuses minus {res.baseline} ({res.currency} a year)")
    ax.xaxis.set_major_formatter(lambda v, _: short_money(v))
    ax.set_title(
        f"Across {res.worlds} plausible worlds ({res.baseline} best in {share(res.summary(res.baseline).p_best)})",
        loc="left",
    )


def break_even_axes(ax, res: UncertaintyResult, effect: InputEffect) -> None:
    """The break-even chart of one input: each world's difference, the fitted curves, the flip."""
    import numpy as np

    from .plots import scheme_colors

    colors = scheme_colors(res.schemes)
    nb = _world_matrix(res)
    x = np.array([float(v) for v in res.table.drop_duplicates("world").sort_values("world")[effect.path]])
    for j, name in enumerate(res.schemes[1:], start=1):
        ax.scatter(x, nb[:, j] - nb[:, 0], s=12, color=colors[name], alpha=0.4, linewidths=0)
        ax.plot(effect.curve_x, effect.curves[name], color=colors[name], linewidth=2, label=f"{name} (fitted)")
    ax.axhline(0.0, color=colors[res.baseline], linewidth=1.5, label=f"{res.baseline} (baseline)")
    if effect.break_even is not None:
        for c in effect.crossings:
            ax.axvline(c, color="#b2182b", linestyle="--", linewidth=1)
        ax.annotate(
            f"break-even {plain(effect.break_even)}", xy=(effect.break_even, 1.0), xycoords=("data", "axes fraction"),
            xytext=(4, -12), textcoords="offset points", color="#b2182b", fontsize=9,
        )  # fmt: skip
    ax.set_xlabel(effect.path)
    ax.set_ylabel(f"profit after bonuses minus {res.baseline} ({res.currency} a year)")
    ax.yaxis.set_major_formatter(lambda v, _: short_money(v))
    ax.legend(loc="best", fontsize=8)
    worth = money(effect.evppi, res.currency)
    ax.set_title(
        f"{res.best} loses when {effect.path} is {loses_text(effect)}; worth up to {worth}/yr", loc="left", fontsize=10
    )


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def uncertainty_figure(res: UncertaintyResult) -> Figure:
    """The summary figure: across-world distribution (left) and the hinge input's break-even chart (right)."""
    import matplotlib as mpl

    from .plots import _RC

    effect = res.hinge or (res.ranked[0] if res.effects else None)
    with mpl.rc_context(_RC):
        fig = _figure(13.0, 4.6)
        axes = fig.subplots(1, 2 if effect is not None else 1, squeeze=False)[0]
        distribution_axes(axes[0], res)
        if effect is not None:
            break_even_axes(axes[1], res, effect)
    return fig


def uncertainty_figures(res: UncertaintyResult, dpi: int = 150, inputs: int = 2) -> dict[str, bytes]:
    """PNGs for the HTML report: ``worlds`` (the distribution) and ``break-even:PATH`` per top input."""
    import matplotlib as mpl

    from .plots import _RC, to_png

    out = {}
    with mpl.rc_context(_RC):
        fig = _figure(9.0, 1.6 + 1.1 * max(1, len(res.schemes) - 1))
        distribution_axes(fig.subplots(), res)
        out["worlds"] = to_png(fig, dpi)
        shown = [e for e in res.ranked if e.break_even is not None][:inputs] or res.ranked[:1]
        for e in shown:
            fig = _figure(9.0, 4.2)
            break_even_axes(fig.subplots(), res, e)
            out[f"break-even:{e.path}"] = to_png(fig, dpi)
    return out
