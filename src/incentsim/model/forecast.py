"""Rolling forecasts of year-end revenue from the pipeline, and the coverage a director needs.

At the start of the year and at each month end the simulation records the revenue booked so
far and the open pipeline by stage (``Results.pipeline``). Two forecasts of the year's bookings
are made from each snapshot:

* **weighted pipeline** (what most CRMs show): booked so far + each open item's eventual win
  probability x the mean deal value. Blind to timing: it counts deals that will close next
  year and ignores deals that have not entered the funnel yet.
* **timing-aware**: booked so far + each open item's probability of winning *before year end*
  (the funnel's weekly dwell-time chain, exactly as the simulation moves items) x the mean
  deal value + the expected wins, before year end, of leads and prospects still to arrive.
  With fixed behaviour and one ability level it is unbiased; behaviour (deals pulled in or held
  back, effort that changes with attainment) and ability spread make it err.

Each is compared with the simulated actual. The *coverage* at each quarter start is the open
pipeline's value over the target still to book; the coverage needed to reach the target with
80 % and 90 % probability is read off a logistic fit of reaching it on coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..calendar import WEEK_MONTH
from ..funnel import (
    conversion_max,
    follow_hazard,
    genuine_multiplier,
    pipeline_stock,
    steady_state,
)
from ..pay import resolved_targets
from ..scenario.schema import WEEKS_PER_YEAR, Scenario, Scheme

#: Coverage is shown up to this multiple: beyond it the target still to book is a rounding error.
COVERAGE_CAP = 100.0
#: Week (0-51) at whose end each snapshot slot is taken; slot 0 is before week 0 (start of year).
SNAPSHOT_WEEK = [-1] + [max(w for w in range(WEEKS_PER_YEAR) if WEEK_MONTH[w] == m) for m in range(12)]


def _stage_win_by(h: float, a: float, nxt: np.ndarray, horizon: int) -> np.ndarray:
    """P(an item at a stage wins within W weekly processings), W = 0 .. horizon.

    Each week it leaves with probability ``h``, advancing with ``a``; an advanced item is next
    processed a week later with win function ``nxt`` (all ones for "won on advancing").
    """
    f = np.zeros(horizon + 1)
    for W in range(1, horizon + 1):
        t = np.arange(1, W + 1)
        f[W] = np.sum((1 - h) ** (t - 1) * h * a * nxt[W - t])
    return f


@dataclass
class WinChain:
    """Win-by-a-deadline probabilities of the funnel's positions, at normal behaviour.

    Attributes (each ``(horizon + 1,)``: index W = weekly processings left)
    ----------
    marketing : list of ndarray
        Per marketing stage, for an item at a week boundary.
    queue_now : ndarray
        For an appointment reaching the follow-up queue this week (processed this week too):
        per genuine appointment.
    sales : ndarray, (2, Ks, horizon + 1)
        Per source (0 marketing, 1 self) and sales stage, ability-weighted.
    """

    marketing: list[np.ndarray]
    queue_now: np.ndarray
    sales: np.ndarray


def win_chain(sc: Scenario, horizon: int = WEEKS_PER_YEAR + 1, week_offset: int = 0) -> WinChain:
    """The chain at normal effort and baseline quality (the entered funnel).

    ``week_offset`` is the first recorded week since the start of a history (for the feedback
    lever's genuine-share multiplier of appointments created later).
    """
    f, m, s, h = sc.funnel, sc.marketing, sc.sales, sc.handoff
    gamma = sc.behaviour.conversion_elasticity
    cmax = conversion_max(sc)
    stock = pipeline_stock(sc)
    Ks = len(f.sales_stages)
    won = np.ones(horizon + 1)  # advancing out of the last stage is a win that same week
    sales = np.zeros((2, Ks, horizon + 1))
    for src in range(2):
        weights = np.array([stock.sales[k][src] for k in range(len(s.ability.levels))])  # (K, Ks)
        for j in reversed(range(Ks)):
            acc = np.zeros(horizon + 1)
            total_w = 0.0
            for k, level in enumerate(s.ability.levels):
                mult = level**gamma
                # Item-level chain for this ability level, from stage j to won.
                nxt = won
                for jj in reversed(range(j, Ks)):
                    st = f.sales_stages[jj]
                    a = min(1.0, st.conversion * mult * (cmax if (src == 0 and jj == 0) else 1.0))
                    nxt = _stage_win_by(1.0 / st.dwell_weeks, a, nxt if jj < Ks - 1 else won, horizon)
                w = weights[k, j] if weights[:, j].sum() > 0 else s.ability.weights[k]
                acc += w * nxt
                total_w += w
            sales[src, j] = acc / total_w if total_w > 0 else acc
    # Waiting appointments: processed this week, followed with the follow hazard (or go cold),
    # worked with the work share, then in the first sales stage from next week.
    hf = follow_hazard(h.delay_weeks)
    r = (1 - hf) * (1 - h.response_decay_per_week)
    work = 1.0 - h.ignored_share
    s0 = sales[0, 0]
    queue_now = np.zeros(horizon + 1)
    for W in range(1, horizon + 1):
        t = np.arange(1, W + 1)
        queue_now[W] = np.sum(r ** (t - 1) * hf * work * s0[W - t])
    # Marketing stages: the last one creates appointments that reach the queue the same week.
    q = m.quality.baseline
    genuine0 = m.quality.conversion(q) / cmax
    mk = f.marketing_stages
    marketing: list[np.ndarray] = [np.zeros(horizon + 1) for _ in mk]
    # An appointment created at processing t (of W left) reaches the queue with W - t + 1 left.
    q_same = queue_now
    for k in reversed(range(len(mk))):
        st = mk[k]
        hk = 1.0 / st.dwell_weeks
        if k == len(mk) - 1:
            a = min(1.0, st.conversion * m.quality.volume(q)) * genuine0 * genuine_multiplier(h, week_offset)
            fk = np.zeros(horizon + 1)
            for W in range(1, horizon + 1):
                t = np.arange(1, W + 1)
                fk[W] = np.sum((1 - hk) ** (t - 1) * hk * a * q_same[W - t + 1])
        else:
            fk = _stage_win_by(hk, min(1.0, st.conversion), marketing[k + 1], horizon)
        marketing[k] = fk
    return WinChain(marketing=marketing, queue_now=queue_now, sales=sales)


@dataclass
class ForecastTable:
    """Forecasts and errors by snapshot slot (0: start of year, 1-12: month ends).

    Attributes
    ----------
    actual : ndarray(float, (n,))
        Simulated bookings of each replication-year.
    weighted, timing : ndarray(float, (n, 13))
        Forecast of the year's bookings from each snapshot, by method.
    booked : ndarray(float, (n, 13))
        Bookings so far at each snapshot.
    coverage : ndarray(float, (n, 4))
        Open pipeline value over the target still to book, at each quarter start, at most
        :data:`COVERAGE_CAP`; NaN where nothing remains to book (the year is already on target).
    target : float
        The team's annual bookings target used for coverage.
    on_target : ndarray(bool, (n, 4))
        Whether the year had already reached the target at each quarter start.
    """

    actual: np.ndarray
    weighted: np.ndarray
    timing: np.ndarray
    booked: np.ndarray
    coverage: np.ndarray
    target: float
    on_target: np.ndarray | None = None


def team_target(sc: Scenario, scheme: Scheme) -> float:
    """Annual bookings target of the whole sales team under a scheme.

    The sum of the reps' targets of sales' main component when it is a bookings or margin
    measure; otherwise the expected bookings at normal effort.
    """
    plan = scheme.sales
    if plan is not None:
        weights = [1.0 if c.commission_rate is not None else c.weight for c in plan.components]
        i = int(np.argmax(weights))
        c = plan.components[i]
        targets = resolved_targets(sc, scheme)[("sales", i)]
        if c.measure in ("own_bookings", "own_margin"):
            return float(np.sum(targets))
        if c.measure in ("team_bookings", "team_margin"):
            return float(targets[0])
    return float(steady_state(sc).bookings)


def forecasts(sc: Scenario, scheme: Scheme, res) -> ForecastTable:
    """Both forecasts from every snapshot of a run made with ``record_pipeline=True``."""
    if res.pipeline is None:
        raise ValueError("the results have no pipeline snapshots: simulate with record_pipeline=True")
    sc = sc.for_scheme(scheme)
    pipe = res.pipeline.reshape(-1, 13, res.pipeline.shape[-1])  # (n, 13, F)
    n = pipe.shape[0]
    fields = res.pipeline_fields
    idx = {name: i for i, name in enumerate(fields)}
    v = sc.deals.value_mean
    burn_weeks = sc.simulation.burn_in_years * WEEKS_PER_YEAR
    chain = win_chain(sc, week_offset=burn_weeks)
    inf = WEEKS_PER_YEAR * 40  # "eventually": a long horizon
    chain_inf = win_chain(sc, horizon=inf, week_offset=burn_weeks)
    mk = [st.name for st in sc.funnel.marketing_stages]
    sk = [st.name for st in sc.funnel.sales_stages]
    ss = steady_state(sc)
    # Expected future arrivals per week: new leads (with recycling), self-prospected appointments.
    loop_mult = ss.appointments / max(1e-12, _through(sc) * ss.leads) if ss.leads > 0 else 1.0
    lead_week = np.array([sc.marketing.leads_per_week * sc.marketing.seasonality[WEEK_MONTH[w]] for w in range(52)])
    lead_week = lead_week * loop_mult
    self_week = _self_appointments_by_week(sc, lead_week)  # all reps, with the freed time's calls
    weighted = np.zeros((n, 13))
    timing = np.zeros((n, 13))
    booked = pipe[:, :, idx["booked"]]
    for slot, week in enumerate(SNAPSHOT_WEEK):
        left = WEEKS_PER_YEAR - 1 - week  # weekly processings still to come this year

        def pos_value(ch, W, slot=slot):
            total = np.zeros(n)
            for k, name in enumerate(mk):
                total += pipe[:, slot, idx[f"marketing:{name}"]] * ch.marketing[k][W]
            # A waiting appointment at a boundary is next processed next week: like an
            # appointment arriving then.
            total += pipe[:, slot, idx["waiting:genuine"]] * ch.queue_now[W]
            for j, name in enumerate(sk):
                total += pipe[:, slot, idx[f"marketing_sourced:{name}"]] * ch.sales[0, j][W]
                total += pipe[:, slot, idx[f"self_sourced:{name}"]] * ch.sales[1, j][W]
            return total

        weighted[:, slot] = booked[:, slot] + v * pos_value(chain_inf, inf)
        future = 0.0
        for s_week in range(week + 1, WEEKS_PER_YEAR):
            W = WEEKS_PER_YEAR - 1 - s_week  # processings after the arrival week
            future += lead_week[s_week] * chain.marketing[0][W] + self_week[s_week] * chain.sales[1, 0][W]
        timing[:, slot] = booked[:, slot] + v * (pos_value(chain, left) + future)
    actual = res.metric("revenue")
    target = team_target(sc, scheme)
    coverage = np.full((n, 4), np.nan)
    on_target = np.zeros((n, 4), dtype=bool)
    for q, slot in enumerate((0, 3, 6, 9)):
        open_value = v * (
            pipe[:, slot, idx["waiting:genuine"]]
            + sum(pipe[:, slot, idx[f"marketing_sourced:{s}"]] + pipe[:, slot, idx[f"self_sourced:{s}"]] for s in sk)
        )
        remaining = target - booked[:, slot]
        on_target[:, q] = remaining <= 0
        left = ~on_target[:, q]
        # Nothing left to book: coverage is undefined (not 1e13x). Almost nothing left: capped.
        coverage[left, q] = np.minimum(open_value[left] / remaining[left], COVERAGE_CAP)
    return ForecastTable(
        actual=actual, weighted=weighted, timing=timing, booked=booked, coverage=coverage, target=target,
        on_target=on_target,
    )  # fmt: skip


def _self_appointments_by_week(sc: Scenario, lead_week: np.ndarray) -> np.ndarray:
    """Expected self-prospected appointments per week (all reps), by week of the year.

    Cold calls at today's rate, plus those made in the time freed by ignored appointments, which
    follow marketing's seasonal flow: leads delayed by the marketing stages (geometric weeks)
    and by the follow-up wait (periodic steady state, a circular convolution over the year).
    """
    s, h, f = sc.sales, sc.handoff, sc.funnel
    ss = steady_state(sc)
    mean_level = float(np.dot(s.ability.levels, s.ability.weights))
    base = s.reps * s.calls_per_week * s.call_to_appointment * mean_level
    extra_total = ss.self_appointments - base * WEEKS_PER_YEAR  # per year, from ignored appointments
    if extra_total <= 1e-12:
        return np.full(WEEKS_PER_YEAR, base)
    delay = np.zeros(WEEKS_PER_YEAR)
    delay[0] = 1.0
    k = np.arange(WEEKS_PER_YEAR)
    # Each marketing stage takes at least a week; the follow-up can come in the arrival week.
    stages = [(1.0 / st.dwell_weeks, 1) for st in f.marketing_stages] + [(follow_hazard(h.delay_weeks), 0)]
    for haz, first in stages:
        pmf = np.where(k >= first, (1 - haz) ** np.maximum(k - first, 0) * haz, 0.0)
        delay = np.real(np.fft.ifft(np.fft.fft(delay) * np.fft.fft(pmf / pmf.sum())))
    profile = np.real(np.fft.ifft(np.fft.fft(lead_week) * np.fft.fft(delay)))
    profile = profile / profile.mean() if profile.mean() > 0 else np.ones(WEEKS_PER_YEAR)
    return base + extra_total / WEEKS_PER_YEAR * profile


def _through(sc: Scenario) -> float:
    m = sc.marketing
    t = 1.0
    stages = sc.funnel.marketing_stages
    for i, st in enumerate(stages):
        t *= min(1.0, st.conversion * (m.quality.volume(m.quality.baseline) if i == len(stages) - 1 else 1.0))
    return t


def coverage_needed(coverage: np.ndarray, hit: np.ndarray, probs=(0.8, 0.9)) -> dict[float, float | None]:
    """Coverage at which a logistic fit of P(hit | coverage) reaches each probability.

    Returns ``None`` for a probability the fit does not reach within the simulated coverage range
    (or when the fit is not increasing); the lowest simulated coverage when every level reaches it.
    """
    from scipy.optimize import minimize

    x = np.asarray(coverage, dtype=float)
    y = np.asarray(hit, dtype=float)
    ok = np.isfinite(x)
    x, y = x[ok], y[ok]
    out: dict[float, float | None] = {p: None for p in probs}
    if len(x) < 20 or y.min() == y.max():
        return out
    mu, sd = x.mean(), x.std() or 1.0
    z = (x - mu) / sd

    def nll(b):
        eta = b[0] + b[1] * z
        return np.sum(np.logaddexp(0, eta) - y * eta)

    fit = minimize(nll, np.zeros(2), method="BFGS")
    b0, b1 = fit.x
    if b1 <= 0:
        return out
    for p in probs:
        zc = (np.log(p / (1 - p)) - b0) / b1
        xc = mu + sd * zc
        # Only report coverage levels inside the simulated range (no extrapolation).
        if x.min() <= xc <= x.max():
            out[p] = float(xc)
        elif xc < x.min():
            out[p] = float(x.min())
    return out
