"""Terminal tables and a fan chart of rolling forecasts (see ``model.forecast``)."""

from __future__ import annotations

import numpy as np

from ..model.forecast import ForecastTable, coverage_needed
from ..scenario.schema import MONTHS
from .format import number, short_money

SLOT_LABELS = ["start"] + [f"end {m}" for m in MONTHS]


def _q(x, p):
    return float(np.percentile(x, p))


def _coverage(v: float | None) -> str:
    """A coverage multiple, ``>=100x`` at the cap, ``n/a`` when the fit gives none."""
    from ..model.forecast import COVERAGE_CAP

    if v is None or not np.isfinite(v):
        return "n/a"
    return f">={COVERAGE_CAP:.0f}x" if v >= COVERAGE_CAP else f"{v:.2f}x"


def forecast_text(
    name: str, scheme: str, currency: str, ft: ForecastTable, ft_fixed: ForecastTable | None = None
) -> str:
    """Fan-chart figures, forecast errors by method, and the coverage table."""
    n = len(ft.actual)
    lines = [
        f"Rolling forecast of the year's bookings, scheme {scheme!r} of {name} ({n:,} simulated years); {currency}.",
        f"Actual bookings: P10 {number(_q(ft.actual, 10), 'money')}  P50 {number(_q(ft.actual, 50), 'money')}  "
        f"P90 {number(_q(ft.actual, 90), 'money')}; team target {number(ft.target, 'money')}.",
        "",
        "Year-end bookings as seen from each month end (timing-aware forecast), and each method's error",
        "(forecast minus actual: mean [P10, P90]):",
        f"{'as of':>9} {'P10':>11} {'P50':>11} {'P90':>11}   "
        f"{'timing-aware error':>30}   {'weighted pipeline error':>30}",
    ]
    for slot, label in enumerate(SLOT_LABELS):
        f = ft.timing[:, slot]
        et = ft.timing[:, slot] - ft.actual
        ew = ft.weighted[:, slot] - ft.actual
        se = et.std(ddof=1) / np.sqrt(n)
        lines.append(
            f"{label:>9} {_q(f, 10):>11,.0f} {_q(f, 50):>11,.0f} {_q(f, 90):>11,.0f}   "
            f"{et.mean():>+10,.0f} ±{1.96 * se:<6,.0f} [{_q(et, 10):+,.0f}, {_q(et, 90):+,.0f}]".ljust(45)
            + f"{ew.mean():>+12,.0f} [{_q(ew, 10):+,.0f}, {_q(ew, 90):+,.0f}]"
        )
    lines += [
        "",
        "The weighted pipeline (eventual win probability x value) ignores when deals close and deals not yet in",
        "the funnel: it misleads early in the year and counts next year's closings late in the year.",
        "",
        "Pipeline coverage (open pipeline value / target still to book) needed at each quarter start, among",
        "the years with something still to book:",
        f"{'quarter':>8} {'already on target':>18} {'median coverage':>16} {'P(target hit)':>14} "
        f"{'for 80 %':>10} {'for 90 %':>10}",
    ]
    hit = ft.actual >= ft.target
    on = ft.on_target if ft.on_target is not None else ~np.isfinite(ft.coverage)
    for q in range(4):
        left = ~on[:, q]
        if not left.any():
            lines.append(
                f"{'Q' + str(q + 1):>8} {1.0:>18.0%} {'already on target':>16} {hit.mean():>14.0%} {'-':>10} {'-':>10}"
            )
            continue
        need = coverage_needed(ft.coverage[left, q], hit[left])
        lines.append(
            f"{'Q' + str(q + 1):>8} {on[:, q].mean():>18.0%} {_coverage(np.median(ft.coverage[left, q])):>16} "
            f"{hit.mean():>14.0%} {_coverage(need[0.8]):>10} {_coverage(need[0.9]):>10}"
        )
    if ft_fixed is not None:
        lines += ["", "Deal timing and effort that respond to the scheme make the forecast less accurate:"]
        lines.append(f"{'as of':>9} {'mean abs error, behaviour on':>30} {'with behaviour fixed':>22}")
        for slot in (3, 6, 9, 11, 12):
            a = np.abs(ft.timing[:, slot] - ft.actual).mean()
            b = np.abs(ft_fixed.timing[:, slot] - ft_fixed.actual).mean()
            lines.append(f"{SLOT_LABELS[slot]:>9} {a:>30,.0f} {b:>22,.0f}")
    return "\n".join(lines)


def forecast_figure(name: str, scheme: str, currency: str, ft: ForecastTable, path: str) -> None:
    """Fan chart: P10-P90 and P25-P75 bands of the timing-aware forecast by month, the weighted
    pipeline's median, and the actual outcome's median."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    x = np.arange(13)
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    p = {q: np.percentile(ft.timing, q, axis=0) for q in (10, 25, 50, 75, 90)}
    ax.fill_between(x, p[10], p[90], color="tab:blue", alpha=0.2, label="timing-aware forecast P10-P90")
    ax.fill_between(x, p[25], p[75], color="tab:blue", alpha=0.35, label="P25-P75")
    ax.plot(x, p[50], color="tab:blue", lw=2, label="timing-aware median")
    ax.plot(x, np.median(ft.weighted, axis=0), color="tab:orange", lw=2, ls="--", label="weighted pipeline median")
    ax.axhline(np.median(ft.actual), color="k", lw=1, ls=":", label="actual median")
    ax.axhline(ft.target, color="tab:red", lw=1, label="team target")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    ax.set_xticks(x, ["start", *months],
                  rotation=0, fontsize=8)  # fmt: skip
    ax.set_xlabel("forecast made at the end of")
    ax.set_ylabel(f"forecast of the year's bookings ({currency})")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: short_money(v)))
    ax.set_title(f"{name}: rolling forecast under scheme '{scheme}'", fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    from ..io import with_atomic_file

    with_atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=130, format="png"))
    plt.close(fig)
