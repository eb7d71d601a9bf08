"""How numbers are written: money, shares, probabilities, differences and intervals.

The one home of every number format of incentsim's outputs: the terminal, Markdown, HTML,
figure labels, the verdict, sweeps and sensitivity all call these functions, so a value
prints the same everywhere (a probability of 0.995 is ``>99%`` in every output, NaN is
``n/a`` in every output). Nothing heavy is imported here.

Units are those of :data:`incentsim.results.METRICS`: ``money`` (currency per year),
``share`` (a fraction shown in %), ``count`` (per year) and ``level`` (effort, quality focus).
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: What every output prints for a number that does not exist (NaN, infinite or None).
NA = "n/a"


def missing(x: float | None) -> bool:
    """Whether ``x`` is no number to print (None, NaN or infinite)."""
    return x is None or not math.isfinite(x)


def number(x: float | None, unit: str, signed: bool = False) -> str:
    """A value in its unit: money ``1,234,567``, share ``43.0%``, level ``0.933``, count ``12.5``.

    Parameters
    ----------
    x : float or None
        The value (a share as a fraction: 0.43 for 43 %).
    unit : str
        ``"money"``, ``"share"``, ``"level"``, ``"count"`` or ``"index"`` (a coefficient such as
        a Gini, two decimals).
    signed : bool
        Write ``+`` before positive values (for differences).

    Returns
    -------
    str
        :data:`NA` when ``x`` is missing.
    """
    if missing(x):
        return NA
    sign = "+" if signed else ""
    if unit == "money":
        return f"{x:{sign},.0f}"
    if unit == "share":
        return f"{x * 100:{sign}.1f}%"
    if unit == "level":
        return f"{x:{sign}.3f}"
    if unit == "index":
        return f"{x:{sign}.2f}"
    return f"{x:{sign},.1f}"


def money(x: float | None, currency: str = "", signed: bool = False) -> str:
    """Money with thousands separators and the currency: ``1,234,567 EUR`` (:data:`NA` when missing)."""
    text = number(x, "money", signed=signed)
    return f"{text} {currency}".rstrip() if text != NA else NA


def short_money(x: float | None) -> str:
    """A compact money label for figures: ``950k``, ``1.25M``, ``-3.4bn``, ``0`` (no currency)."""
    if missing(x):
        return NA
    a = abs(x)
    for div, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div * 0.9995:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}" if a >= 1 or a == 0 else f"{x:.2g}"


def short_number(x: float | None, unit: str) -> str:
    """A value in a figure label: money compact (``1.25M``), shares ``43.0%``, levels ``0.93``."""
    if missing(x):
        return NA
    if unit == "money":
        return short_money(x)
    if unit == "share":
        return number(x, "share")
    if unit == "level":
        return f"{x:.2f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def share(p: float | None) -> str:
    """A probability or share of years as a whole percentage that never rounds to a false certainty.

    ``0.995`` and ``0.9964`` are ``>99%``, ``0.003`` is ``<1%``; only exactly 0 and 1 are ``0%``
    and ``100%``.
    """
    if missing(p):
        return NA
    if 0.995 <= p < 1.0:
        return ">99%"
    if 0.0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"


def percent(x: float | None, decimals: int = 0) -> str:
    """A fraction stated as a percentage, such as an input's weight or cap: 0.5 -> ``50%``.

    Unlike :func:`share` this does not guard against rounding to 0 % or 100 %: use it for
    values the user wrote, not for estimated probabilities.
    """
    if missing(x):
        return NA
    return f"{x:.{decimals}%}"


def percent_tick(x: float) -> str:
    """A share on a figure axis: 0.25 -> ``25%``, 0.125 -> ``12.5%``, 1.75 -> ``175%``."""
    if missing(x):
        return NA
    v = x * 100.0
    if abs(v) < 1e-9:
        return "0%"
    return f"{v:.0f}%" if abs(v) >= 100 else f"{v:.3g}%"


def difference(x: float | None, unit: str) -> str:
    """A signed difference; differences of shares are in percentage points (``+4.1 pts``)."""
    if unit == "share" and not missing(x):
        return f"{x * 100:+.1f} pts"
    return number(x, unit, signed=True)


def interval(lo: float | None, hi: float | None, fmt: Callable[[float | None], str] | None = None) -> str:
    """``lo to hi`` with each end written by ``fmt`` (default: money without currency); ``n/a`` when
    there is no interval (both ends missing or NaN: one replication gives none)."""
    if _missing(lo) and _missing(hi):
        return "n/a"
    fmt = fmt or (lambda v: number(v, "money"))
    return f"{fmt(lo)} to {fmt(hi)}"


def _missing(v: float | None) -> bool:
    return v is None or v != v  # (NaN is the only value unequal to itself)


def ci95(lo: float | None, hi: float | None, fmt: Callable[[float | None], str] | None = None) -> str:
    """A 95 % confidence interval: ``95% CI lo to hi``."""
    return f"95% CI {interval(lo, hi, fmt)}"


def unit_label(unit: str, currency: str) -> str:
    """What follows a metric's name in a table: ``, EUR per year`` for money, `` per year`` for counts
    (in the current language)."""
    from ..i18n import _

    return {"money": _(", {currency} per year").format(currency=currency), "share": "", "count": _(" per year"),
            "level": ""}[unit]  # fmt: skip


def axis_label(label: str, unit: str, currency: str) -> str:
    """A metric's name on a figure axis, with its unit: ``Revenue per year (EUR)``, ``Reps on target (%)``."""
    if unit == "money":
        return f"{label} per year ({currency})"
    if unit == "share":
        return f"{label} (%)"
    if unit == "count":
        return f"{label} per year"
    return label


def plain(x: float | None) -> str:
    """A number of any size for a ranked list or a range end: ``1,234`` from 1,000 up, else 4 digits."""
    if missing(x):
        return NA
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"
