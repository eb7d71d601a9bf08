"""Lags between effort and results (model page, "Behaviour: lags").

Effort in a week closes deals weeks or months later. The policy solver credits the output of a
week's action to the target periods it will land in with these lag distributions; the simulation
kernel, for its part, lets each person see their own pipeline (what is expected to land before a
period ends), so both describe the same state.

* **Sales**: the extra wins a rep's effort of week t brings, by the week they close: effort
  raises the conversion of the items that leave a sales stage that week (the last stage's close
  at once, earlier stages' later) and adds self-prospected appointments (closing after every
  stage). Computed from the kernel's weekly flow (stages processed last first, so an item spends
  at least one week in each stage) as the impulse response of expected wins.
* **Marketing**: leads created by effort become appointments after the marketing stages; the
  deals they bring close after the follow-up wait and the sales stages.
* **Margin** is recognised evenly over the 52 weeks after a booking: its lag is the booking lag
  followed by a uniform 1..52 weeks.

All lags are pmfs over weeks ``k = 0, 1, ..., MAX_LAG - 1`` after the effort (0: the same week).
"""

from __future__ import annotations

import numpy as np

from ..calendar import WEEKS_PER_YEAR
from ..funnel import follow_hazard
from ..scenario.schema import Scenario

MAX_LAG = 2 * WEEKS_PER_YEAR + 52  # long enough for slow funnels; the tail beyond is negligible


def _stage_lag(hazards: list[float], start: int) -> np.ndarray:
    """pmf of the weeks until an item entering the first of ``hazards``' stages at the end of week 0
    (``start`` = 1) or leaving it in week 0 (``start`` = 0) leaves the last one (conditional on
    advancing: the time in a stage does not depend on where the item goes)."""
    pmf = np.zeros(MAX_LAG)
    pmf[0] = 1.0
    for n, h in enumerate(hazards):
        geo = np.zeros(MAX_LAG)
        first = start if n == 0 else 1
        k = np.arange(MAX_LAG - first)
        geo[first:] = h * (1.0 - h) ** k
        pmf = np.convolve(pmf, geo)[:MAX_LAG]
    return pmf / max(pmf.sum(), 1e-300)


def sales_effort_lag(sc: Scenario, level: float = 1.0) -> np.ndarray:
    """Weeks from a rep's effort to the extra wins it brings (pmf, ``(MAX_LAG,)``).

    The impulse response of expected wins to a small rise of one week's effort, at normal effort:
    a share comes from higher conversion of the items leaving each stage that week (closing after
    the remaining stages) and a share from more self-prospected appointments (closing after all
    stages), in proportion to their contributions to the marginal product.
    """
    from ..funnel import sales_conversion, steady_state

    stages = sc.funnel.sales_stages
    hz = [1.0 / st.dwell_weeks for st in stages]
    gamma = sc.behaviour.conversion_elasticity
    ss = steady_state(sc)
    per_rep_appts = (ss.self_appointments + ss.followed) / max(sc.sales.reps, 1)
    p_mkt, p_self = sales_conversion(sc, level)
    # Wins per week per rep at normal effort, and their derivative in log effort: each stage's
    # conversion contributes gamma (if below its cap), new self appointments contribute their
    # share of wins.
    self_appts = ss.self_appointments / max(sc.sales.reps, 1)
    wins = max(self_appts * p_self + (per_rep_appts - self_appts) * p_mkt, 1e-12)
    weights = []
    pieces = []
    for j in range(len(stages)):
        # The conversion of stage j at week 0 moves wins at the weeks the items then need for the
        # remaining stages (starting in week 0, they enter stage j + 1 at its end).
        remaining = hz[j + 1 :]
        lag = _stage_lag(remaining, start=1) if remaining else _point(0)
        weights.append(gamma * wins)
        pieces.append(lag)
    weights.append(self_appts * p_self)  # new self-prospected appointments
    pieces.append(_stage_lag(hz, start=1))
    w = np.asarray(weights)
    pmf = sum(wi * p for wi, p in zip(w / max(w.sum(), 1e-300), pieces, strict=True))
    return pmf / pmf.sum()


def marketing_effort_lag(sc: Scenario) -> np.ndarray:
    """Weeks from marketing's effort (new leads) to the appointments handed over (pmf)."""
    hz = [1.0 / st.dwell_weeks for st in sc.funnel.marketing_stages]
    return _stage_lag(hz, start=1)


def sourced_lag(sc: Scenario) -> np.ndarray:
    """Weeks from marketing's effort to the deals its appointments bring (pmf): the marketing
    stages, the follow-up wait, then every sales stage."""
    h = follow_hazard(sc.handoff.delay_weeks)
    wait = np.zeros(MAX_LAG)
    k = np.arange(MAX_LAG)
    wait[:] = h * (1.0 - h) ** k  # followed up in the week it arrives with probability h
    sales = _stage_lag([1.0 / st.dwell_weeks for st in sc.funnel.sales_stages], start=1)
    pmf = np.convolve(np.convolve(marketing_effort_lag(sc), wait)[:MAX_LAG], sales)[:MAX_LAG]
    return pmf / pmf.sum()


def margin_lag(booking_lag: np.ndarray) -> np.ndarray:
    """Lag of recognised margin: a booking in week s is recognised as 1/52 in each of the weeks
    s + 1 .. s + 52."""
    spread = np.zeros(WEEKS_PER_YEAR + 1)
    spread[1:] = 1.0 / WEEKS_PER_YEAR
    pmf = np.convolve(booking_lag, spread)[:MAX_LAG]
    return pmf / pmf.sum()


def _point(k: int) -> np.ndarray:
    pmf = np.zeros(MAX_LAG)
    pmf[k] = 1.0
    return pmf


def landing_shares(lag: np.ndarray, week_period: np.ndarray, n_years: int = 3) -> np.ndarray:
    """Where the output of each week lands: ``S[t, m]`` is the share of week t's output that lands in
    the m-th period from t's own (m = 0: t's period, 1: the next, ...), over ``n_years`` years of
    periods (the calendar repeats every year).

    Parameters
    ----------
    lag : ndarray(float, (MAX_LAG,))
    week_period : ndarray(int, (52,))
        Period index of each week.

    Returns
    -------
    ndarray(float, (52, n_periods * n_years))
    """
    n_per = int(week_period.max()) + 1
    T = WEEKS_PER_YEAR
    weeks = np.arange(T * n_years + MAX_LAG)
    period_of = (weeks // T) * n_per + week_period[weeks % T]
    out = np.zeros((T, n_per * n_years))
    for t in range(T):
        own = period_of[t]
        landing = period_of[t : t + MAX_LAG] - own
        keep = landing < out.shape[1]
        np.add.at(out[t], landing[keep], lag[keep])
    return out
