"""A sensitivity analysis for the terminal and as a tornado chart."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .format import ci95, interval, money, number, plain, share

if TYPE_CHECKING:
    from ..sensitivity import Sensitivity


def _whole(x: float) -> str:
    return number(x, "money")


def sensitivity_text(res: Sensitivity) -> str:
    """Plain-text report: the verdict at the scenario's inputs, the ranked table, the flips."""
    import pandas as pd

    a, b = res.schemes
    cur = res.currency
    m, (lo, hi) = res.base["mean"], res.base["ci95"]
    better = b if m > 0 else a
    # As compare's verdict: a winner only when the interval excludes zero.
    clear = lo > 0 or hi < 0
    at_inputs = f"{better} is better" if clear else f"no clear winner, within simulation noise ({better} ahead)"
    lines = [
        f"Sensitivity of profit after bonuses, {b} minus {a} ({cur} a year): {res.scenario}, behaviour "
        f"{res.behaviour}, {res.replications:,} replications per evaluation, {res.evaluations} evaluations",
        f"At the scenario's inputs: {money(m, cur)} ({ci95(lo, hi)}): {at_inputs}.",
        "",
    ]
    ahead = "better" if clear else "ahead"
    t = res.table
    view = {
        "rank": t["rank"],
        "input": t["input"],
        "low": t["low"].map(plain),
        "high": t["high"].map(plain),
        "at low": t["diff_low"].map(_whole),
        "at high": t["diff_high"].map(_whole),
        "swing": t["swing"].map(_whole),
    }
    if res.method == "morris":
        view["Morris mu*"] = t["mu_star"].map(_whole)
        view["global rank"] = t["global_rank"]
    elif res.method == "sobol":
        view["Sobol ST"] = t["ST"].map(lambda v: f"{v:.2f}")
        view["global rank"] = t["global_rank"]
    view["verdict"] = [
        ("FLIPS" if s else "can flip") if f else "" for f, s in zip(t["flips"], t["flip_significant"], strict=True)
    ]
    lines.append(pd.DataFrame(view).to_string(index=False))
    lines.append("")
    lines.append(
        "One at a time: each input at the low and high end of its range, the others as in the scenario; "
        "ranked by swing."
    )
    if res.method == "morris":
        lines.append(
            f"Morris ({res.design_size} trajectories, SALib): mu* = mean absolute effect of moving an input "
            f"across its range, all inputs varying together."
        )
    elif res.method == "sobol":
        lines.append(
            f"Sobol (N = {res.design_size}, SALib): ST = share of the variance of the difference due to "
            "an input, "
            "interactions included."
        )
    flips = res.flipping
    if flips:
        lines.append(
            f"Inputs whose range can flip the verdict ({better} {ahead}): {', '.join(flips)}. "
            "FLIPS: at that end the other scheme is better with 95% confidence; can flip: the sign changes, "
            "within simulation noise."
        )
    else:
        lines.append(f"No input flips the verdict ({better} {ahead}) on its own within its range.")
    if res.flip_share is not None:
        lines.append(f"Across the global design's points the verdict holds in {share(1 - res.flip_share)} of them.")
    for note in res.skipped:
        lines.append(f"Left out: {note}")
    return "\n".join(lines)


def plot_tornado(res: Sensitivity, path: str | Path) -> None:
    """Tornado chart of the one-at-a-time analysis, written atomically as a PNG.

    Bars run from the difference at the scenario's inputs to its value with each input at the
    low end (light) and the high end (dark) of its range; the largest swing is at the top. The
    dashed line at zero is where the verdict flips.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..io import with_atomic_file

    t = res.table
    a, b = res.schemes
    n = len(t)
    fig = Figure(figsize=(10.0, 1.8 + 0.42 * n), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    base = res.base["mean"]
    low_c, high_c, flip_c = "#9ecae1", "#08519c", "#b2182b"
    ys = list(range(n))[::-1]
    for y, row in zip(ys, t.itertuples(), strict=True):
        ax.barh(y, row.diff_low - base, left=base, height=0.6, color=low_c, edgecolor="none")
        ax.barh(y, row.diff_high - base, left=base, height=0.6, color=high_c, edgecolor="none")
    labels = [f"{row.input}  {interval(row.low, row.high, plain)}" for row in t.itertuples()]
    ax.set_yticks(ys, labels)
    for tick, row in zip(ax.get_yticklabels(), t.itertuples(), strict=True):
        if row.flips:
            tick.set_color(flip_c)
            tick.set_fontweight("bold")
    ax.axvline(0.0, color=flip_c, linestyle="--", linewidth=1)
    ax.axvline(base, color="black", linewidth=1)
    ax.set_xlabel(f"profit after bonuses, {b} minus {a} ({res.currency} a year)")
    ax.xaxis.set_major_formatter(lambda x, _: number(x, "money"))
    ax.spines[["top", "right"]].set_visible(False)
    handles = [
        Patch(color=low_c, label="input at the low end"),
        Patch(color=high_c, label="input at the high end"),
        Line2D([], [], color="black", linewidth=1, label=f"at the scenario's inputs ({number(base, 'money')})"),
        Line2D(
            [],
            [],
            color=flip_c,
            linestyle="--",
            linewidth=1,
            label="zero: the verdict flips (red inputs cross it)",
        ),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False, fontsize=8)
    fig.suptitle(
        f"What moves the verdict between {a} and {b}: {res.scenario} "
        f"({res.replications:,} replications per evaluation, common random numbers)",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    with_atomic_file(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
