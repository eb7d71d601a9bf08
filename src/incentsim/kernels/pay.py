"""Numba half of the pay rules (the rules themselves are documented in :mod:`incentsim.pay`).

The payout curve, the year-end true-up and the ratchet are written here once, as ``@njit``
functions on plain arrays: the simulation kernel calls the scalar helpers (:func:`_curve_at`,
:func:`_true_up_extra`, :func:`_ratchet_scale`); Python (the policy solver on its attainment
grids, ``replay``, the payout tables, through :mod:`incentsim.pay`) calls their elementwise
``*_many`` wrappers, which run the same compiled lines. No other module writes these formulas
(``tests/test_one_home.py`` checks both).
"""

from __future__ import annotations

from .jit import entry_helper, helper

#: The lowest target scale a ratchet can reach, as a share of the base target.
RATCHET_FLOOR = 0.05


@helper
def _curve_at(x, cx, cy, n, extrapolate, gate, cap):
    """Payout multiple at attainment ``x``.

    Parameters
    ----------
    x : float
        Attainment (measure / target).
    cx, cy : ndarray(float64, (>= n,))
        Points of the piecewise-linear curve, ``cx`` non-decreasing; two equal x make a step
        (the later y applies from that x on). Below the first point the curve is 0.
    n : int
        Number of points used.
    extrapolate : int
        1: beyond the last point continue the last segment's slope; 0: hold the last value.
    gate : float
        Nothing is paid below this attainment.
    cap : float
        Highest multiple paid (``inf`` for none).

    Returns
    -------
    float
        The multiple of the money at target (never negative).
    """
    if x < gate:
        return 0.0
    if x < cx[0]:
        return 0.0
    i = 0
    for j in range(n):
        if cx[j] <= x:
            i = j
        else:
            break
    if i == n - 1:
        if extrapolate == 1 and n >= 2 and cx[n - 1] > cx[n - 2]:
            slope = (cy[n - 1] - cy[n - 2]) / (cx[n - 1] - cx[n - 2])
            y = cy[n - 1] + slope * (x - cx[n - 1])
        else:
            y = cy[n - 1]
    else:
        x0 = cx[i]
        x1 = cx[i + 1]
        if x1 == x0:
            y = cy[i + 1]
        else:
            y = cy[i] + (cy[i + 1] - cy[i]) * (x - x0) / (x1 - x0)
    if y < 0.0:
        y = 0.0  # a falling extrapolated segment never pays negative
    return y if y < cap else cap


@entry_helper
def _curve_many(xs, cx, cy, n, extrapolate, gate, cap, out):
    """:func:`_curve_at` at every attainment of ``xs`` (filled into ``out``, same shape)."""
    for i in range(xs.shape[0]):
        out[i] = _curve_at(xs[i], cx, cy, n, extrapolate, gate, cap)


@helper
def _true_up_extra(annual_money, annual_multiple, paid):
    """Year-end true-up: the annual curve's pay on annual attainment minus what the periods paid,
    when positive (a missed quarter recovered when the year is hit)."""
    extra = annual_money * annual_multiple - paid
    return extra if extra > 0.0 else 0.0


@entry_helper
def _true_up_many(annual_money, annual_multiple, paid, out):
    """:func:`_true_up_extra` elementwise (1-D arrays of one length; ``out`` filled)."""
    for i in range(out.shape[0]):
        out[i] = _true_up_extra(annual_money[i], annual_multiple[i], paid[i])


@helper
def _ratchet_scale(scale, attainment, up, down):
    """Next year's target scale: toward this year's result by ``up`` of a beat and ``down`` of a
    miss (``attainment`` is measured against this year's scaled target), never below
    :data:`RATCHET_FLOOR` of the base target (with ``down = 1`` a year with nothing booked would
    set next year's target to zero, and every attainment after it would divide by it)."""
    if attainment >= 1.0:
        nxt = scale * (1.0 + up * (attainment - 1.0))
    else:
        nxt = scale * (1.0 - down * (1.0 - attainment))
    return nxt if nxt > RATCHET_FLOOR else RATCHET_FLOOR


@entry_helper
def _ratchet_many(scale, attainment, up, down, out):
    """:func:`_ratchet_scale` elementwise (``scale``, ``attainment``, ``out``: 1-D arrays of one
    length; ``up``, ``down``: floats)."""
    for i in range(out.shape[0]):
        out[i] = _ratchet_scale(scale[i], attainment[i], up, down)
