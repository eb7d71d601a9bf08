"""Figures of a comparison for directors: distributions, attainment, bonus budget, timing, curves.

Every figure is a :class:`matplotlib.figure.Figure` drawn on the Agg canvas (set here, per
figure, so no display and no pyplot state are ever needed), laid out with constrained layout.
Schemes keep one colour across all figures (:func:`scheme_colors`, keyed by scheme order);
money axes carry the scenario's currency and compact k/M tick labels, shares are in %.

Functions named ``*_figure`` take a :class:`~incentsim.comparison.Comparison` and return a
figure; :func:`report_figures` gives the whole set for the HTML report, :func:`summary_figure`
the single board-slide figure of ``compare --plot``; :func:`to_png` and :func:`save_figure`
render them.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, MultipleLocator, NullLocator

from ..calendar import WEEK_MONTH
from ..kernels import layout as L
from ..pay import curve_multiple
from ..results import METRICS
from ..scenario.schema import MONTHS
from .markdown import share_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..comparison import Comparison
    from ..scenario.schema import Component, Curve

#: Weeks in each simulated month (4 or 5).
WEEKS_IN_MONTH = np.bincount(np.asarray(WEEK_MONTH), minlength=12).astype(float)

#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), by scheme order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D31", "#000000")
#: Line styles by scheme order, so identical curves of two schemes stay visible one over the other.
DASHES = ("-", (0, (6, 3)), (0, (2, 2)), (0, (8, 3, 2, 3)), (0, (1, 1)), "-", "--", ":")
#: Formats :func:`save_figure` writes, by file suffix.
FORMATS = ("png", "svg", "pdf")
NO_DATA = "no data"

GREY = "#555555"

_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 9,
    "legend.frameon": False,
}


def scheme_colors(schemes: Sequence[str]) -> dict[str, str]:
    """One colour per scheme, keyed by order (the baseline is always the first colour).

    Parameters
    ----------
    schemes : sequence of str
        Scheme names, baseline first.

    Returns
    -------
    dict of str to str
        Scheme name -> hex colour (the palette repeats after eight schemes).
    """
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(schemes)}


def short_money(x: float) -> str:
    """A compact money label: ``950k``, ``1.25M``, ``-3.4bn``, ``0`` (no currency)."""
    if not math.isfinite(x):
        return "n/a"
    a = abs(x)
    for div, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div * 0.9995:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}" if a >= 1 or a == 0 else f"{x:.2g}"


def money_formatter() -> FuncFormatter:
    """Tick formatter for money axes (compact k/M labels; the unit goes in the axis label)."""
    return FuncFormatter(lambda x, _pos: short_money(x))


def percent_text(x: float) -> str:
    """A share as a short percentage: 0.25 -> ``25%``, 0.125 -> ``12.5%``, 1.75 -> ``175%``."""
    v = x * 100.0
    if abs(v) < 1e-9:
        return "0%"
    return f"{v:.0f}%" if abs(v) >= 100 else f"{v:.3g}%"


def _percent() -> FuncFormatter:
    """Tick formatter for share axes (one per axis: formatters are bound to their axis)."""
    return FuncFormatter(lambda x, _pos: percent_text(x))


def new_figure(width: float, height: float) -> Figure:
    """A blank figure on the Agg canvas with constrained layout (no display needed)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render a figure as PNG bytes (tight bounding box, white background)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> None:
    """Save a figure atomically in the format its suffix names (png, svg or pdf).

    Raises
    ------
    ValueError
        For a suffix not in :data:`FORMATS`.
    """
    from ..io import with_atomic_file

    fmt = plot_format(path)
    with_atomic_file(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", facecolor="white"))


def plot_format(path: str | Path) -> str:
    """The image format named by a path's suffix (no suffix: png); ``ValueError`` otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    if suffix not in FORMATS:
        raise ValueError(f"unsupported image format .{suffix}; use .png, .svg or .pdf")
    return suffix


# -- helpers ------------------------------------------------------------------------------------


def _style(fig_fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Decorator: build the figure under the report's matplotlib style."""
    import functools

    import matplotlib as mpl

    @functools.wraps(fig_fn)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(_RC):
            return fig_fn(*args, **kwargs)

    return wrapper


def _finite(x: np.ndarray) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64).reshape(-1)
    return v[np.isfinite(v)]


def _pct(v: np.ndarray, q) -> np.ndarray | float:
    """Percentiles of finite values (NaN when there are none, without a warning)."""
    v = _finite(v)
    if v.size == 0:
        return np.full(np.shape(q), np.nan) if np.ndim(q) else float("nan")
    return np.percentile(v, q)


def _mean(v: np.ndarray) -> float:
    v = _finite(v)
    return float(v.mean()) if v.size else float("nan")


def _no_data(ax: Axes, text: str = NO_DATA) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=GREY, wrap=True)


def _unit_axis_label(metric: str, currency: str) -> str:
    label, unit = METRICS[metric]
    if unit == "money":
        return f"{label} per year ({currency})"
    if unit == "share":
        return f"{label} (%)"
    if unit == "count":
        return f"{label} per year"
    return label


def _fmt_axis(ax: Axes, unit: str, axis: str = "x") -> None:
    target = ax.xaxis if axis == "x" else ax.yaxis
    if unit == "money":
        target.set_major_formatter(money_formatter())
    elif unit == "share":
        target.set_major_formatter(_percent())
    target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))


def _value_text(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    if unit == "money":
        return short_money(x)
    if unit == "share":
        return f"{x * 100:.1f}%"
    if unit == "level":
        return f"{x:.2f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


class _Bins(NamedTuple):
    """Common histogram edges of all schemes and how the value axis shows them."""

    edges: np.ndarray
    clipped: bool  # linear axis on P0.5-P99.5, tails piled into the end bins
    linthresh: float | None  # symmetric-log axis (huge spread), linear within +-linthresh

    @property
    def note(self) -> str:
        """What the axis label should add about the scale."""
        if self.linthresh is not None:
            return "  [log scale: huge spread]"
        return "  [axis shows P0.5-P99.5; tails piled into the end bins]" if self.clipped else ""

    def apply(self, ax: Axes, unit: str) -> None:
        """Set the scale, limits and tick labels of an x axis to these bins."""
        if self.linthresh is not None:
            ax.set_xscale("symlog", linthresh=self.linthresh)
            ax.xaxis.set_major_locator(FixedLocator(_symlog_ticks(self.edges[0], self.edges[-1], self.linthresh)))
            ax.xaxis.set_minor_locator(NullLocator())
            if unit == "money":
                ax.xaxis.set_major_formatter(money_formatter())
        else:
            _fmt_axis(ax, unit)
        ax.set_xlim(self.edges[0], self.edges[-1])


def _symlog_ticks(lo: float, hi: float, linthresh: float, max_ticks: int = 7) -> list[float]:
    """Zero and whole decades beyond the linear zone, thinned to at most ``max_ticks``."""
    k0 = math.ceil(math.log10(linthresh))
    pos = list(range(k0, math.floor(math.log10(hi)) + 1)) if hi >= 10.0**k0 else []
    neg = list(range(k0, math.floor(math.log10(-lo)) + 1)) if lo <= -(10.0**k0) else []
    stride = max(1, math.ceil((len(pos) + len(neg) + 1) / max_ticks))
    ticks = [-(10.0**k) for k in neg if (k - k0) % stride == 0] + [10.0**k for k in pos if (k - k0) % stride == 0]
    if lo <= 0.0 <= hi:
        ticks.append(0.0)
    return sorted(ticks)


def _bins(samples: list[np.ndarray], n: int = 40) -> _Bins:
    """Common histogram edges for all schemes: linear, linear with long tails clipped, or symlog.

    A symmetric-log axis is used when the middle 90 % of values would fill under 5 % of a linear
    axis (a spread over orders of magnitude); it shows everything, negative values included.
    """
    pooled = np.concatenate(samples) if samples else np.array([])
    lo, hi = float(pooled.min()), float(pooled.max())
    clipped = False
    if hi > lo:
        q_lo, q5, q50, q95, q_hi = np.percentile(pooled, [0.5, 5, 50, 95, 99.5])
        if q_hi > q_lo and (hi - lo) > 3.0 * (q_hi - q_lo):
            lo, hi, clipped = float(q_lo), float(q_hi), True
        if q95 > q5 and (q95 - q5) < 0.05 * (hi - lo):
            from matplotlib.scale import SymmetricalLogTransform

            lo, hi = float(pooled.min()), float(pooled.max())
            linthresh = max(float(np.median(np.abs(pooled))) * 0.05, 1e-9)
            t = SymmetricalLogTransform(10, linthresh, 1.0)
            edges = t.inverted().transform(np.linspace(*t.transform(np.array([lo, hi])), n + 1))
            edges[0], edges[-1] = lo, hi
            return _Bins(edges, False, linthresh)
    if hi <= lo:  # one value only: one bin centred on it
        span = max(abs(lo) * 0.05, 1.0)
        return _Bins(np.linspace(lo - span, hi + span, n + 2), False, None)
    if not clipped:
        pad = 0.02 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    return _Bins(np.linspace(lo, hi, n + 1), clipped, None)


def _draw_distribution(ax: Axes, ax_range: Axes, cmp: Comparison, metric: str, colors: dict[str, str]) -> None:
    """Overlaid histograms (share of years) above a P5-P50-P95 range bar per scheme."""
    label, unit = METRICS[metric]
    data = {s: _finite(cmp.results[s].metrics[metric]) for s in cmp.schemes}
    present = [s for s in cmp.schemes if data[s].size]
    ax.set_title(label)
    if not present:
        _no_data(ax, f"{label}: {NO_DATA} (does not apply in this scenario)")
        ax_range.set_axis_off()
        return
    bins = _bins([data[s] for s in present])
    edges = bins.edges
    lo, hi = edges[0], edges[-1]
    for s in present:
        v = np.clip(data[s], lo, hi)
        share = np.histogram(v, edges)[0] / v.size
        ax.stairs(share, edges, fill=True, alpha=0.18, color=colors[s])
        ax.stairs(share, edges, color=colors[s], linewidth=1.8, label=s)
        ax.axvline(np.percentile(data[s], 50), color=colors[s], linewidth=1.0, linestyle=":")
    ax.set_ylabel("Share of years")
    ax.yaxis.set_major_formatter(_percent())
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    ax.tick_params(labelbottom=False)
    # Range panel: P5-P95 bar and P50 dot, values at the right.
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax_range.transAxes, ax_range.transData)
    names = list(reversed(present))
    for i, s in enumerate(names):
        p5, p50, p95 = np.percentile(data[s], [5, 50, 95])
        ax_range.hlines(i, max(p5, lo), min(p95, hi), color=colors[s], linewidth=4, alpha=0.8)
        ax_range.plot([min(max(p50, lo), hi)], [i], "o", color="white", markeredgecolor=colors[s], markersize=7, mew=2)
        ax_range.text(
            1.01,
            i,
            f"P5 {_value_text(p5, unit)} · P50 {_value_text(p50, unit)} · P95 {_value_text(p95, unit)}",
            transform=trans,
            va="center",
            ha="left",
            fontsize=8.5,
            color=colors[s],
        )
    ax_range.set_yticks(range(len(names)), names)
    ax_range.set_ylim(-0.7, len(names) - 0.3)
    ax_range.grid(axis="y", visible=False)
    ax_range.set_xlabel(_unit_axis_label(metric, cmp.scenario.currency) + bins.note)
    bins.apply(ax_range, unit)  # the histogram shares this x axis


def _range_axes(fig: Figure, spec=None) -> tuple[Axes, Axes]:
    gs = (
        fig.add_gridspec(2, 1, height_ratios=[3, 1.3])
        if spec is None
        else spec.subgridspec(2, 1, height_ratios=[3, 1.3])
    )
    ax = fig.add_subplot(gs[0])
    ax_range = fig.add_subplot(gs[1], sharex=ax)
    return ax, ax_range


# -- figures ------------------------------------------------------------------------------------


@_style
def distribution_figure(cmp: Comparison, metric: str = "profit_after_bonus") -> Figure:
    """Distribution of one metric per scheme over simulated years, with P5/P50/P95 marked.

    Parameters
    ----------
    cmp : Comparison
    metric : str
        A name of :data:`incentsim.results.METRICS` (``revenue``, ``profit_after_bonus``...).

    Returns
    -------
    Figure
        Overlaid histograms (share of years per bin, common bins) above a range bar per scheme.
    """
    fig = new_figure(9, 4.6)
    ax, ax_range = _range_axes(fig)
    _draw_distribution(ax, ax_range, cmp, metric, scheme_colors(cmp.schemes))
    return fig


def _best_and_others(cmp: Comparison) -> tuple[str, list[str]]:
    """The scheme with the highest mean profit after bonuses and the others, in scheme order."""
    means = {s: cmp.summaries[s]["profit_after_bonus"].mean for s in cmp.schemes}
    finite = [s for s in cmp.schemes if math.isfinite(means[s])]
    best = max(finite, key=lambda s: means[s]) if finite else cmp.baseline
    return best, [s for s in cmp.schemes if s != best]


def _draw_difference(ax: Axes, cmp: Comparison, colors: dict[str, str]) -> None:
    """Profit after bonuses of the best scheme minus each other scheme: mean, 95 % CI, yearly spread."""
    cur = cmp.scenario.currency
    best, others = _best_and_others(cmp)
    ax.set_title(f"How much more profit {best} makes, and how sure")
    if not others:
        _no_data(ax, f"Only one scheme ({best}): nothing to compare it with")
        return
    names = list(reversed(others))
    lo_all, hi_all = 0.0, 0.0
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transAxes, ax.transData)
    for i, s in enumerate(names):
        a = cmp.results[best].metrics["profit_after_bonus"]
        b = cmp.results[s].metrics["profit_after_bonus"]
        yearly = _finite(a - b)
        d = cmp.difference(best, "profit_after_bonus", s)
        if yearly.size == 0 or not math.isfinite(d.mean):
            ax.text(0, i, f"{NO_DATA} for {s}", va="center", color=GREY)
            continue
        p10, p90 = np.percentile(yearly, [10, 90])
        ax.hlines(i, p10, p90, color=colors[s], linewidth=8, alpha=0.25)
        ax.errorbar(
            d.mean, i, xerr=[[d.mean - d.ci95[0]], [d.ci95[1] - d.mean]], fmt="D", color=colors[s],
            markersize=7, capsize=6, linewidth=2,
        )  # fmt: skip
        lo_all, hi_all = min(lo_all, p10, d.ci95[0]), max(hi_all, p90, d.ci95[1])
        ax.text(
            1.01, i,
            f"{short_money(d.mean)} {cur} a year\n(95% CI {short_money(d.ci95[0])} to {short_money(d.ci95[1])});\n"
            f"{best} better in {share_text(d.p_a_beats_b)} of years",
            transform=trans, va="center", ha="left", fontsize=8.5, color=colors[s],
        )  # fmt: skip
    ax.axvline(0, color="black", linewidth=1)
    pad = 0.08 * (hi_all - lo_all) if hi_all > lo_all else 1.0
    ax.set_xlim(lo_all - pad, hi_all + pad)
    ax.set_yticks(range(len(names)), [f"vs {s}" for s in names])
    ax.set_ylim(-0.6, len(names) + 0.1)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"Extra profit after bonuses of {best}, {cur} per year")
    _fmt_axis(ax, "money")
    ax.legend(
        handles=[
            Line2D([], [], marker="D", color=GREY, linestyle="", label="mean, with 95% confidence interval"),
            Patch(color=GREY, alpha=0.25, label="P10-P90 of the yearly difference"),
        ],
        loc="upper right", ncols=2, fontsize=8, frameon=True, framealpha=0.9, edgecolor="none",
    )  # fmt: skip


@_style
def difference_figure(cmp: Comparison) -> Figure:
    """The best scheme's extra profit after bonuses over each other scheme.

    Shows the mean yearly difference with its 95 % confidence interval (how sure the average
    is) and the P10-P90 range of the paired yearly differences (how much a single year varies).
    """
    n = max(len(cmp.schemes) - 1, 1)
    fig = new_figure(9, 1.6 + 0.8 * n)
    _draw_difference(fig.add_subplot(), cmp, scheme_colors(cmp.schemes))
    return fig


def _role_attainment(cmp: Comparison, scheme: str, role: str) -> np.ndarray | None:
    """Annual attainment of the role's primary target per person-year (None when unpaid)."""
    res = cmp.results[scheme]
    if role == "sales":
        if not res.sales_paid:
            return None
        return _finite(res.person[:, :, : res.reps, L.P_ATTAIN])
    if not res.marketing_paid:
        return None
    return _finite(res.person[:, :, res.reps, L.P_ATTAIN])


def _paid_roles(cmp: Comparison) -> list[str]:
    roles = []
    for role in ("sales", "marketing"):
        if any(_role_attainment(cmp, s, role) is not None for s in cmp.schemes):
            roles.append(role)
    return roles


ROLE_LABEL = {"sales": "Sales reps", "marketing": "Marketing"}


@_style
def attainment_figure(cmp: Comparison) -> Figure:
    """Target attainment per role: share of person-years on target, and the attainment spread.

    Left: share of person-years at or above 100 % of the role's primary annual target. Right:
    median attainment with its P5-P95 range, against the 100 % line.
    """
    colors = scheme_colors(cmp.schemes)
    fig = new_figure(10, 4.0)
    ax_share, ax_spread = fig.subplots(1, 2)
    roles = _paid_roles(cmp) or ["sales", "marketing"]
    k = len(cmp.schemes)
    width = 0.8 / k
    ymax = 0.0
    for j, s in enumerate(cmp.schemes):
        for i, role in enumerate(roles):
            x = i + (j - (k - 1) / 2) * width
            att = _role_attainment(cmp, s, role)
            if att is None or att.size == 0:
                why = "unpaid" if att is None else "n/a"
                ax_share.text(x, 0.01, why, rotation=90, ha="center", va="bottom", fontsize=8, color=GREY)
                ax_spread.text(x, 0.02, why, rotation=90, ha="center", va="bottom", fontsize=8, color=GREY)
                continue
            share = float((att >= 1.0 - 1e-9).mean())
            ax_share.bar(x, share, width * 0.92, color=colors[s])
            ax_share.text(x, share + 0.01, share_text(share), ha="center", va="bottom", fontsize=8.5)
            p5, p50, p95 = np.percentile(att, [5, 50, 95])
            ymax = max(ymax, p95)
            ax_spread.errorbar(
                x,
                p50,
                yerr=[[p50 - p5], [p95 - p50]],
                fmt="o",
                color=colors[s],
                capsize=4,
                markersize=7,
                linewidth=2,
            )
    for ax in (ax_share, ax_spread):
        ax.set_xticks(range(len(roles)), [ROLE_LABEL[r] for r in roles])
        ax.set_xlim(-0.6, len(roles) - 0.4)
        ax.grid(axis="x", visible=False)
        ax.yaxis.set_major_formatter(_percent())
    ax_share.set_ylim(0, 1.1)
    ax_share.set_title("Share of people on target")
    ax_share.set_ylabel("Person-years at or above 100% of target")
    ax_spread.axhline(1.0, color="black", linewidth=1, linestyle="--")
    ax_spread.set_ylim(0, max(1.25, ymax * 1.08) if math.isfinite(ymax) else 1.25)
    ax_spread.set_title("Attainment: median and P5-P95")
    ax_spread.set_ylabel("Annual attainment of primary target")
    handles = [Patch(color=colors[s], label=s) for s in cmp.schemes]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
    return fig


@_style
def bonus_cost_figure(cmp: Comparison) -> Figure:
    """Total bonus cost per year, one panel per scheme, with the P50 and P90 budget lines.

    A stated budget (``compare --budget``) is drawn as a black line in every panel.
    """
    colors = scheme_colors(cmp.schemes)
    cur = cmp.scenario.currency
    k = len(cmp.schemes)
    fig = new_figure(9, 1.2 + 1.35 * k)
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0]
    data = {s: _finite(cmp.results[s].metrics["bonus_cost"]) for s in cmp.schemes}
    samples = [v for v in data.values() if v.size]
    if cmp.budget is not None:
        samples.append(np.array([cmp.budget]))
    if not samples:
        for ax in axes:
            _no_data(ax)
        return fig
    bins = _bins(samples)
    edges = bins.edges
    lo, hi = edges[0], edges[-1]
    for ax, s in zip(axes, cmp.schemes, strict=True):
        v = data[s]
        ax.set_title(s, loc="left", fontsize=10, color=colors[s], pad=2)
        if v.size == 0:
            ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", color=GREY)
            continue
        share = np.histogram(np.clip(v, lo, hi), edges)[0] / v.size
        ax.stairs(share, edges, fill=True, color=colors[s], alpha=0.35)
        ax.stairs(share, edges, color=colors[s], linewidth=1.5)
        ax.set_ylim(0, share.max() * 1.35 if share.max() > 0 else 1)
        budget = cmp.hr[s].bonus_budget
        for q, style, ha in (("p50", "-", "right"), ("p90", "--", "left")):
            x = budget[q]
            if not math.isfinite(x):
                continue
            xc = min(max(x, lo), hi)
            ax.axvline(xc, color="black", linestyle=style, linewidth=1.2)
            ax.text(
                xc, 0.97, f" {q.upper()} {x:,.0f} " if ha == "left" else f" {q.upper()} {x:,.0f} ",
                transform=ax.get_xaxis_transform(), ha=ha, va="top", fontsize=8.5,
            )  # fmt: skip
        if cmp.budget is not None:
            ax.axvline(cmp.budget, color="#B00020", linewidth=1.6, linestyle="-.")
        ax.yaxis.set_major_formatter(_percent())
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    fig.suptitle(f"Bonus cost per year: budget at P50 and P90 ({cur})", fontsize=11, fontweight="bold")
    axes[-1].set_xlabel(f"Total bonus cost per year ({cur})" + bins.note)
    bins.apply(axes[-1], "money")
    fig.supylabel("Share of years", fontsize=10)
    handles = [
        Line2D([], [], color="black", linestyle="-", label="P50: budget enough in half the years"),
        Line2D([], [], color="black", linestyle="--", label="P90: budget enough in 9 years out of 10"),
    ]
    if cmp.budget is not None:
        handles.append(Line2D([], [], color="#B00020", linestyle="-.", label=f"stated budget {cmp.budget:,.0f}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def _draw_monthly(ax: Axes, cmp: Comparison, colors: dict[str, str]) -> None:
    cur = cmp.scenario.currency
    months = np.arange(12)
    masks = [np.asarray(cmp.results[s].last_month_mask, dtype=bool) for s in cmp.schemes]
    mask = np.logical_or.reduce(masks)
    for m in np.flatnonzero(mask):
        ax.axvspan(m - 0.5, m + 0.5, color="#999999", alpha=0.15, linewidth=0)
    top = 0.0
    for j, s in enumerate(cmp.schemes):
        month = cmp.results[s].month.reshape(-1, 12)
        monthly = np.nan_to_num(month.mean(axis=0)) if month.shape[0] else np.zeros(12)
        # Per week of each month: simulated months have 4 or 5 weeks, and a 5-week month would
        # otherwise look like a sales spike.
        monthly = monthly / WEEKS_IN_MONTH
        top = max(top, float(monthly.max()))
        ax.plot(
            months,
            monthly,
            marker="o",
            color=colors[s],
            linestyle=DASHES[j % len(DASHES)],
            linewidth=2,
            label=s,
        )
    ax.set_xticks(months, MONTHS)
    ax.set_xlim(-0.5, 11.5)
    ax.set_ylim(0, top * 1.3 if top > 0 else 1.0)  # headroom for the legend
    if top <= 0:
        ax.text(0.5, 0.5, "No bookings in any month", transform=ax.transAxes, ha="center", va="center", color=GREY)
    ax.set_ylabel(f"Mean bookings per week ({cur})")
    _fmt_axis(ax, "money", "y")
    ax.set_title("Revenue by month of the year (per week)")
    handles = [
        Line2D([], [], color=colors[s], linestyle=DASHES[j % len(DASHES)], marker="o", label=s)
        for j, s in enumerate(cmp.schemes)
    ]
    if mask.any():
        same = all(np.array_equal(m, masks[0]) for m in masks)
        label = "last month of a sales target period" + ("" if same else " (in any scheme)")
        handles.append(Patch(color="#999999", alpha=0.3, label=label))
    ax.legend(handles=handles, loc="upper center", ncols=min(len(handles), 4), fontsize=8.5)


@_style
def monthly_revenue_figure(cmp: Comparison) -> Figure:
    """Mean bookings by month of the year per scheme; months closing a target period shaded.

    A bump in the shaded months is an end-of-period sprint (or deals pulled in); a dip after it,
    deals held back or a pipeline emptied by the sprint.
    """
    fig = new_figure(9, 4.0)
    _draw_monthly(fig.add_subplot(), cmp, scheme_colors(cmp.schemes))
    return fig


def has_effort(cmp: Comparison) -> bool:
    """Whether effort varies by scheme (optimising behaviour) so the effort figure says something."""
    return any(r.behaviour == "optimising" and r.effort_week.size for r in cmp.results.values())


@_style
def effort_figure(cmp: Comparison) -> Figure:
    """Mean rep effort by week of the year per scheme (1 = today's normal effort).

    With fixed behaviour everyone works at effort 1 all year, and the figure says so.
    """
    colors = scheme_colors(cmp.schemes)
    fig = new_figure(9, 3.6)
    ax = fig.add_subplot()
    weeks = np.arange(1, 53)
    if not has_effort(cmp):
        _no_data(ax, "Behaviour fixed: everyone works at today's normal effort (1.0) every week")
        return fig
    values = []
    for j, s in enumerate(cmp.schemes):
        ew = cmp.results[s].effort_week
        if ew.size == 0:
            continue
        with np.errstate(invalid="ignore"):
            col_ok = np.isfinite(ew).any(axis=0)
            e = np.full(52, np.nan)
            e[col_ok] = np.nanmean(ew[:, col_ok], axis=0)
        values.append(e[np.isfinite(e)])
        ax.step(weeks, e, where="mid", color=colors[s], linestyle=DASHES[j % len(DASHES)], linewidth=2, label=s)
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
    ax.text(1, 1.0, " today's normal effort", va="bottom", ha="left", fontsize=8.5, color=GREY)
    starts = [1 + m * 52 / 12 for m in range(12)]
    ax.set_xticks(starts, MONTHS)
    ax.set_xlim(0.5, 52.5)
    pooled = np.concatenate(values) if values else np.array([])
    lo = min(float(pooled.min()) if pooled.size else 1.0, 1.0)
    hi = max(float(pooled.max()) if pooled.size else 1.0, 1.0)
    span = max(hi - lo, 0.2)
    ax.set_ylim(lo - 0.1 * span, hi + 0.35 * span)  # headroom for the legend
    ax.set_ylabel("Mean rep effort (1 = today)")
    ax.set_xlabel("Week of the year")
    ax.set_title("Sales effort through the year")
    ax.legend(loc="upper right", ncols=min(len(cmp.schemes), 6))
    return fig


_MARKETING_PANELS = (
    ("appointments", "Appointments handed to sales", "Appointments per year"),
    ("appointment_win_rate", "Share of them that become won deals", "Appointment-to-win rate (%)"),
    ("appointments_ignored_share", "Share sales never follows up", "Appointments ignored by sales (%)"),
)


def _bar_xlim(k: int) -> tuple[float, float]:
    """x limits for k groups of bars: one or two schemes keep the width bars have with three."""
    pad = max(0.0, (3 - k) / 2)
    return -0.5 - pad, k - 0.5 + pad


def has_appointments(cmp: Comparison) -> bool:
    """Whether marketing hands any appointment to sales under some scheme."""
    return any(float(np.nansum(r.metrics["appointments"])) > 0 for r in cmp.results.values())


@_style
def marketing_figure(cmp: Comparison) -> Figure:
    """Marketing's appointments, their win rate and the share sales ignores, per scheme.

    Bars are means over simulated years, whiskers P5-P95. A metric that does not apply to a
    scheme is marked ``n/a``; with no appointments at all the figure says so instead.
    """
    colors = scheme_colors(cmp.schemes)
    if not has_appointments(cmp):
        fig = new_figure(10, 1.6)
        _no_data(fig.add_subplot(), "Marketing hands no appointments to sales in this scenario")
        return fig
    fig = new_figure(10, 3.8)
    axes = fig.subplots(1, len(_MARKETING_PANELS))
    x = np.arange(len(cmp.schemes))
    for ax, (metric, title, ylabel) in zip(axes, _MARKETING_PANELS, strict=True):
        unit = METRICS[metric][1]
        top = 0.0
        labels = []
        for i, s in enumerate(cmp.schemes):
            v = _finite(cmp.results[s].metrics[metric])
            if v.size == 0:
                labels.append((i, 0.0, "n/a"))
                continue
            m = float(v.mean())
            p5, p95 = np.percentile(v, [5, 95])
            ax.bar(i, m, 0.7, color=colors[s])
            ax.errorbar(i, m, yerr=[[m - p5], [p95 - m]], color="black", capsize=4, linewidth=1.2)
            labels.append((i, float(p95), _value_text(m, unit)))
            top = max(top, p95, m)
        top = top if top > 0 else 1.0
        for i, y, text in labels:  # the mean, written above the whisker
            ax.text(
                i,
                y + 0.02 * top,
                text,
                ha="center",
                va="bottom",
                fontsize=8.5,
                color="black" if text != "n/a" else GREY,
            )
        ax.set_xticks(x, cmp.schemes, rotation=20 if len(cmp.schemes) > 3 else 0)
        ax.set_xlim(*_bar_xlim(len(cmp.schemes)))
        ax.grid(axis="x", visible=False)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        _fmt_axis(ax, unit, "y")
        ax.set_ylim(0, top * 1.15)
    fig.suptitle("Marketing's appointments (bars: mean; whiskers: P5-P95 of years)", fontsize=11, fontweight="bold")
    return fig


def _component_label(scheme: str, comp: Component, n_components: int) -> str:
    text = f"{scheme}: {comp.measure.replace('_', ' ')}, {comp.period}"
    if n_components > 1:
        text += f" ({comp.weight:.0%})"
    if comp.commission_rate is not None:
        text += " (commission)"
    return text


def _curve_xy(curve: Curve, x_max: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Points of a payout curve on 0..x_max, with steps drawn vertical (both sides of each break)."""
    x = np.linspace(0.0, x_max, 401)
    breaks = [p[0] for p in curve.points] + [curve.gate]
    extra = [b + d for b in breaks for d in (-1e-9, 0.0) if 0.0 <= b + d <= x_max]
    x = np.unique(np.concatenate([x, extra]))
    y = np.asarray(curve_multiple(curve, x), dtype=float)
    return x, y


def _last_kink(curve: Curve, x_max: float = 3.0) -> float:
    """Attainment of a curve's last change of slope up to ``x_max`` (where a cap bites, say)."""
    x = np.linspace(0.0, x_max, 601)
    y = np.asarray(curve_multiple(curve, x), dtype=float)
    bends = np.flatnonzero(np.abs(np.diff(y, 2)) > 1e-9)
    return float(x[bends[-1] + 1]) if bends.size else 0.0


def _curve_x_max(curves: list[Curve]) -> float:
    """Attainment axis end: 200 %, or a little more when a cap or step sits at 200 % or beyond."""
    last = max((_last_kink(c) for c in curves), default=0.0)
    return 2.0 if last < 1.95 else float(min(3.0, np.ceil((last + 0.25) * 4) / 4))


@_style
def payout_curves_figure(cmp: Comparison) -> Figure:
    """Payout curves of each scheme, one panel per role.

    x: attainment of the component's period target (0 to 200 %, further when a cap bites at
    200 %); y: payout as % of that component's bonus at target. Components of a hybrid are
    drawn separately, with their weight.
    """
    colors = scheme_colors(cmp.schemes)
    plans = {
        role: {s: cmp.scenario.scheme(_scheme_of(cmp, s)).plan(role) for s in cmp.schemes}
        for role in ("sales", "marketing")
    }
    roles = [r for r in ("sales", "marketing") if any(p is not None and p.components for p in plans[r].values())]
    fig = new_figure(10, 4.4)
    axes = fig.subplots(1, max(len(roles), 1), squeeze=False)[0]
    if not roles:
        _no_data(axes[0], "No scheme pays a bonus")
        return fig
    curves = [c.curve for r in roles for p in plans[r].values() if p is not None for c in p.components]
    x_max = _curve_x_max(curves)
    for ax, role in zip(axes, roles, strict=True):
        unpaid = []
        ymax = 1.0
        shapes = []
        for j, s in enumerate(cmp.schemes):
            plan = plans[role][s]
            if plan is None or not plan.components:
                unpaid.append(s)
                continue
            for c, comp in enumerate(plan.components):
                x, y = _curve_xy(comp.curve, x_max)
                shapes.append(y)
                ymax = max(ymax, float(np.nanmax(y)))
                ax.plot(
                    x, y, color=colors[s], linestyle=DASHES[(j + 2 * c) % len(DASHES)],
                    linewidth=max(3.2 - 0.8 * j, 1.4), alpha=0.9, label=_component_label(s, comp, len(plan.components)),
                )  # fmt: skip
        ax.axvline(1.0, color=GREY, linewidth=0.8, linestyle=":")
        if len(shapes) > 1 and all(np.array_equal(shapes[0], y) for y in shapes[1:]):
            ax.text(
                0.98, 0.03, "Same curve in every scheme:\nthey differ in what is measured",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8.5, color=GREY,
            )  # fmt: skip
        ax.set_xlim(0, x_max)
        ax.set_ylim(0, ymax * 1.3)  # headroom for the legend
        ax.xaxis.set_major_locator(MultipleLocator(0.25 if x_max <= 2.0 else 0.5))
        ax.xaxis.set_major_formatter(_percent())
        ax.yaxis.set_major_formatter(_percent())
        ax.set_xlabel("Attainment of the period target")
        ax.set_ylabel("Payout, % of the bonus at target")
        title = f"{ROLE_LABEL[role]}"
        if unpaid:
            title += f" (no bonus under {', '.join(unpaid)})"
        ax.set_title("\n".join(textwrap.wrap(title, 55)))
        ax.legend(loc="upper left", fontsize=8)
    return fig


def _scheme_of(cmp: Comparison, label: str) -> str:
    """Scheme name behind a result label (``shared#2`` when a scheme is compared with itself)."""
    return cmp.results[label].scheme


# -- bundles ------------------------------------------------------------------------------------


def _headline(cmp: Comparison) -> str:
    cur = cmp.scenario.currency
    best, others = _best_and_others(cmp)
    s = cmp.summaries[best]["profit_after_bonus"]
    if not others:
        return f"{best}: profit after bonuses {short_money(s.mean)} {cur} a year on average"
    runner = max(
        others,
        key=lambda o: (
            cmp.summaries[o]["profit_after_bonus"].mean
            if math.isfinite(cmp.summaries[o]["profit_after_bonus"].mean)
            else -math.inf
        ),
    )
    d = cmp.difference(best, "profit_after_bonus", runner)
    if not (d.ci95[0] > 0 or d.ci95[1] < 0):
        return (
            f"No clear winner on profit after bonuses: {best} vs {runner} {short_money(d.mean)} {cur} a year "
            f"(95% CI {short_money(d.ci95[0])} to {short_money(d.ci95[1])})"
        )
    return (
        f"{best} makes the most profit after bonuses: {short_money(d.mean)} {cur} a year more than {runner} "
        f"(95% CI {short_money(d.ci95[0])} to {short_money(d.ci95[1])}), better in {share_text(d.p_a_beats_b)} of years"
    )


def _balanced_wrap(text: str, width: int) -> str:
    """Wrap ``text`` into as few lines as ``width`` allows, of about equal length."""
    if len(text) <= width:
        return text
    lines = math.ceil(len(text) / width)
    return "\n".join(textwrap.wrap(text, math.ceil(len(text) / lines) + 6))


def _draw_budget_bars(ax: Axes, cmp: Comparison, colors: dict[str, str]) -> None:
    cur = cmp.scenario.currency
    k = len(cmp.schemes)
    x = np.arange(k)
    top = 0.0
    for i, s in enumerate(cmp.schemes):
        b = cmp.hr[s].bonus_budget
        for off, q, alpha in ((-0.18, "p50", 1.0), (0.18, "p90", 0.45)):
            v = b[q]
            if not math.isfinite(v):
                ax.text(i + off, 0, "n/a", ha="center", va="bottom", color=GREY, fontsize=8)
                continue
            ax.bar(i + off, v, 0.34, color=colors[s], alpha=alpha, edgecolor=colors[s])
            ax.text(i + off, v, short_money(v), ha="center", va="bottom", fontsize=8)
            top = max(top, v)
    ax.set_xticks(x, cmp.schemes)
    ax.set_xlim(*_bar_xlim(k))
    ax.grid(axis="x", visible=False)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_ylabel(f"Bonus cost per year ({cur})")
    _fmt_axis(ax, "money", "y")
    ax.set_title("Bonus budget needed: P50 (solid) and P90 (light)")


@_style
def summary_figure(cmp: Comparison) -> Figure:
    """One board-slide figure: profit distribution, the best scheme's lead, bonus budget, months.

    Titled with the headline answer (which scheme, by how much, how sure).
    """
    colors = scheme_colors(cmp.schemes)
    fig = new_figure(15, 9)
    fig.get_layout_engine().set(rect=(0, 0.025, 1, 0.975))
    gs = fig.add_gridspec(2, 2)
    ax, ax_range = _range_axes(fig, gs[0, 0])
    _draw_distribution(ax, ax_range, cmp, "profit_after_bonus", colors)
    _draw_difference(fig.add_subplot(gs[0, 1]), cmp, colors)
    _draw_budget_bars(fig.add_subplot(gs[1, 0]), cmp, colors)
    _draw_monthly(fig.add_subplot(gs[1, 1]), cmp, colors)
    first = next(iter(cmp.results.values()))
    fig.suptitle(_balanced_wrap(_headline(cmp), 115), fontsize=13, fontweight="bold")
    fig.text(
        0.99, 0.0,
        f"{cmp.scenario.name} · {first.replications:,} replications x {first.horizon_years} year(s) · seed {first.seed}"
        f" · behaviour {first.behaviour} · scenario {first.scenario_hash} · incentsim {first.version}",
        ha="right", va="bottom", fontsize=8, color=GREY,
    )  # fmt: skip
    return fig


#: Figures of the HTML report: key -> (builder, alt text).
REPORT_FIGURES: dict[str, tuple[Callable[[Comparison], Figure], str]] = {
    "difference": (difference_figure, "Extra profit after bonuses of the best scheme, with its uncertainty"),
    "revenue": (lambda c: distribution_figure(c, "revenue"), "Distribution of revenue per year by scheme"),
    "profit": (
        lambda c: distribution_figure(c, "profit_after_bonus"),
        "Distribution of profit after bonuses per year by scheme",
    ),
    "attainment": (attainment_figure, "Target attainment per role and scheme"),
    "bonus": (bonus_cost_figure, "Distribution of the bonus cost per year with P50 and P90 budget lines"),
    "months": (monthly_revenue_figure, "Revenue by month of the year per scheme"),
    "effort": (effort_figure, "Mean sales effort by week of the year per scheme"),
    "marketing": (marketing_figure, "Marketing appointments and their win rate per scheme"),
    "curves": (payout_curves_figure, "Payout curves of each scheme"),
}


#: Resolution of the report's PNGs: shown at 100 dots per inch, sharp on high-density screens and projectors.
REPORT_DPI = 150


def report_figures(cmp: Comparison, dpi: int = REPORT_DPI) -> dict[str, bytes]:
    """Every figure of the HTML report rendered as PNG bytes, keyed as :data:`REPORT_FIGURES`.

    The effort figure is left out when behaviour is fixed (effort is 1 every week).
    """
    out = {}
    for key, (build, _alt) in REPORT_FIGURES.items():
        if key == "effort" and not has_effort(cmp):
            continue
        out[key] = to_png(build(cmp), dpi=dpi)
    return out
