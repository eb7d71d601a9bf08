"""Funnel rates and their steady state in closed form (docs/model/funnel.md).

The kernel moves counts through the stages week by week; this module gives the same model's
expected flows per year in closed form. They set automatic targets ("the expected annual
measure at normal effort"), feed the policy solver's weekly output distributions, and are the
analytic values the statistical tests check the kernel against.

Model, per week (the kernel follows exactly this order):

* marketing leads ~ Poisson(leads_per_week x season(month) x marketing effort);
* each stage: leavers ~ Binomial(n, 1/dwell), of which Binomial(leavers, conversion) advance
  (stages processed last-first, so an item spends at least one week in each stage);
* the last marketing stage's conversion is scaled by volume(q); of the appointments created a
  share conversion(q) / conversion_max are genuine prospects, the rest never convert (sales
  cannot tell them apart before the visit);
* appointments wait for follow-up: each week followed with probability 1 / (1 + delay) (same
  week when the delay is 0), else gone cold with probability ``response_decay_per_week``; under
  a service level of s weeks, whatever still waits after s weeks is followed up then; a
  followed-up appointment is worked with probability ``(1 - ignored_share) x follow share``
  (the rest are ignored; a share recycles to leads);
* the genuine share is further multiplied by ``1 - duplicated_share`` (accounts sales already
  works) and by the feedback multiplier ``1 + feedback_gain (1 - exp(-weeks / 52))``;
* each rep self-prospects: appointments ~ Poisson(calls x call_to_appointment x ability x effort
  + ignored x calls_per_followup x call_to_appointment x ability): time not spent on ignored
  appointments goes to cold calls;
* sales-stage conversions are multiplied by (ability x effort) ** conversion_elasticity
  (capped at 1); genuine marketing appointments convert at the hand-off stage with
  conversion x conversion_max;
* each won deal has a lognormal value; it is booked at close and recognised as margin evenly
  over the following 52 weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scenario.schema import WEEKS_PER_YEAR, Scenario


def follow_hazard(delay_weeks: float) -> float:
    """Weekly probability that a waiting appointment is followed up (mean wait = delay)."""
    return 1.0 / (1.0 + delay_weeks)


def followup_survival(delay_weeks: float, decay: float, sla_weeks: int | None = None) -> float:
    """Probability a handed-over appointment is still warm when sales gets to it.

    Each week of waiting it is followed up with the follow-up hazard, or goes cold with
    probability ``decay``; under a service level of ``sla_weeks`` it is followed up at the latest
    after that many weeks.
    """
    h = follow_hazard(delay_weeks)
    r = (1.0 - h) * (1.0 - decay)
    if sla_weeks is None:
        return h / (1.0 - r)
    return sum(h * r**a for a in range(sla_weeks)) + r**sla_weeks


def waiting_stock(delay_weeks: float, decay: float, sla_weeks: int | None) -> list[float]:
    """Mean number waiting in each age bucket at a week's start, per appointment arriving a week.

    Bucket k holds appointments that arrived k weeks ago (k = 1 .. sla); without a service level
    one bucket holds them all.
    """
    h = follow_hazard(delay_weeks)
    r = (1.0 - h) * (1.0 - decay)
    if sla_weeks is None:
        return [r / (1.0 - r) if r < 1 else 0.0]
    return [0.0] + [r**k for k in range(1, sla_weeks + 1)]


def genuine_multiplier(handoff, week: float) -> float:
    """Multiplier of the genuine share at a week since the start of a history (duplication and
    feedback levers)."""
    return (1.0 - handoff.duplicated_share) * (1.0 + handoff.feedback_gain * (1.0 - math.exp(-week / 52.0)))


def mean_genuine_multiplier(scenario: Scenario) -> float:
    """The genuine-share multiplier averaged over the recorded years."""
    sim = scenario.simulation
    start = sim.burn_in_years * WEEKS_PER_YEAR
    weeks = range(start, start + sim.horizon_years * WEEKS_PER_YEAR)
    return sum(genuine_multiplier(scenario.handoff, w) for w in weeks) / len(weeks)


def conversion_max(scenario: Scenario) -> float:
    """Largest hand-off conversion multiplier over quality focus (for genuine-share thinning)."""
    q = scenario.marketing.quality
    return max(1.0, q.conversion_at_zero, q.conversion_at_one)


@dataclass(frozen=True)
class SteadyState:
    """Expected flows per year at given effort and quality (company totals unless noted).

    Attributes
    ----------
    leads : float
        New leads from campaigns (excluding recycled ones).
    appointments : float
        Appointments marketing hands over.
    worked : float
        Appointments sales works (visits), genuine or not.
    followed : float
        Genuine appointments sales works (the ones that can convert).
    ignored : float
        Appointments sales gets to but ignores.
    self_appointments : float
        Self-prospected appointments (all reps).
    marketing_wins, self_wins, wins : float
        Won deals by source.
    bookings, sourced_bookings : float
        Expected value booked (all deals; deals from marketing's appointments).
    wins_per_rep, bookings_per_rep : float
        Averages over reps (and over ability levels).
    wins_per_rep_by_level : tuple of float
        Expected won deals per year of one rep of each ability level (their weighted mean is
        ``wins_per_rep``).
    """

    leads: float
    appointments: float
    worked: float
    followed: float
    ignored: float
    self_appointments: float
    marketing_wins: float
    self_wins: float
    wins: float
    bookings: float
    sourced_bookings: float
    wins_per_rep: float
    bookings_per_rep: float
    wins_per_rep_by_level: tuple[float, ...] = ()


def stage_conversions(scenario: Scenario, productivity: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Conversion of each sales stage for a rep of given productivity (ability x effort):
    ``min(1, conversion x productivity ** elasticity)``, the hand-off stage of a genuine marketing
    appointment also x conversion_max.

    Returns
    -------
    (tuple of float, tuple of float)
        Per sales stage, for a genuine marketing appointment and for a self-prospected one.
    """
    gamma = scenario.behaviour.conversion_elasticity
    mult = productivity**gamma
    stages = scenario.funnel.sales_stages
    own = tuple(min(1.0, s.conversion * mult) for s in stages)
    mkt = (min(1.0, stages[0].conversion * conversion_max(scenario) * mult),) + own[1:]
    return mkt, own


def sales_conversion(scenario: Scenario, productivity: float) -> tuple[float, float]:
    """Probability an appointment becomes a win, for a rep of given productivity.

    Parameters
    ----------
    productivity : float
        Ability x effort.

    Returns
    -------
    (float, float)
        For a genuine marketing appointment that is worked, and for a self-prospected one.
    """
    mkt, own = stage_conversions(scenario, productivity)
    return math.prod(mkt), math.prod(own)


def steady_state(
    scenario: Scenario,
    sales_effort: float = 1.0,
    marketing_effort: float = 1.0,
    quality: float | None = None,
    follow_share: float = 1.0,
) -> SteadyState:
    """Expected annual flows in steady state.

    Parameters
    ----------
    scenario : Scenario
    sales_effort, marketing_effort : float
        Effort multipliers (1 = normal), the same every week.
    quality : float, optional
        Marketing's quality focus (default: the scenario's baseline).
    follow_share : float
        Share of followed-up genuine appointments sales chooses to work.

    Returns
    -------
    SteadyState
    """
    m, s, h = scenario.marketing, scenario.sales, scenario.handoff
    q = m.quality.baseline if quality is None else quality
    through_mkt = 1.0
    stages = scenario.funnel.marketing_stages
    for i, st in enumerate(stages):
        p = st.conversion * (m.quality.volume(q) if i == len(stages) - 1 else 1.0)
        through_mkt *= min(1.0, p)
    genuine_share = min(1.0, m.quality.conversion(q) / conversion_max(scenario) * mean_genuine_multiplier(scenario))
    survive = followup_survival(h.delay_weeks, h.response_decay_per_week, h.sla_weeks)
    worked_share = (1.0 - h.ignored_share) * follow_share
    # Recycled ignored appointments re-enter as leads: leads_total = L + r * ignored(leads_total).
    loop = through_mkt * survive * (1.0 - worked_share) * h.recycle_share
    new_leads = m.leads_per_week * marketing_effort * WEEKS_PER_YEAR
    total_leads = new_leads / (1.0 - loop) if loop < 1 else float("inf")
    appointments = total_leads * through_mkt
    reached = appointments * survive
    worked = reached * worked_share
    followed = worked * genuine_share
    ignored = reached * (1.0 - worked_share)

    levels, weights = s.ability.levels, s.ability.weights
    mkt_wins = self_wins = self_appts = 0.0
    ignored_per_rep = ignored / s.reps
    by_level = []
    for a, w in zip(levels, weights, strict=True):
        prod = a * sales_effort
        p_mkt, p_self = sales_conversion(scenario, prod)
        rep_self = s.calls_per_week * s.call_to_appointment * prod * WEEKS_PER_YEAR
        rep_self += ignored_per_rep * s.calls_per_followup * s.call_to_appointment * a
        self_appts += w * rep_self * s.reps
        self_wins += w * rep_self * p_self * s.reps
        mkt_wins += w * followed * p_mkt
        by_level.append(followed / s.reps * p_mkt + rep_self * p_self)
    wins = mkt_wins + self_wins
    v = scenario.deals.value_mean
    return SteadyState(
        leads=new_leads,
        appointments=appointments,
        worked=worked,
        followed=followed,
        ignored=ignored,
        self_appointments=self_appts,
        marketing_wins=mkt_wins,
        self_wins=self_wins,
        wins=wins,
        bookings=wins * v,
        sourced_bookings=mkt_wins * v,
        wins_per_rep=wins / s.reps,
        bookings_per_rep=wins * v / s.reps,
        wins_per_rep_by_level=tuple(by_level),
    )


def expected_measure(scenario: Scenario, measure: str, role: str) -> float:
    """Expected annual value of a measure for one person of ``role`` at normal effort.

    Used for automatic targets (same target for every rep: the average rep's expectation).
    """
    ss = steady_state(scenario)
    table = {
        "appointments": ss.appointments,
        "sourced_bookings": ss.sourced_bookings,
        "own_bookings": ss.bookings_per_rep,
        "team_bookings": ss.bookings,
        "own_margin": ss.bookings_per_rep,
        "team_margin": ss.bookings,
        "own_wins": ss.wins_per_rep,
        "team_wins": ss.wins,
    }
    return table[measure]


def ability_target_scale(scenario: Scenario, measure: str) -> tuple[float, ...]:
    """Expected annual measure of a rep of each ability level over the average rep's, at normal effort.

    The factor that turns the average rep's target into a rep's own when targets are set by
    ability (``target_by = "ability"``): ``(K,)``, weighted mean 1. Own measures only (bookings,
    margin and won deals scale alike: deal values do not depend on ability).
    """
    if not measure.startswith("own_"):
        raise ValueError(f"targets by ability need an own measure, got {measure!r}")
    ss = steady_state(scenario)
    mean = ss.wins_per_rep
    return tuple(w / mean if mean > 0 else 1.0 for w in ss.wins_per_rep_by_level)


@dataclass(frozen=True)
class PipelineStock:
    """Mean stock in each stage at a week boundary, in steady state at normal effort.

    The kernel starts each replication with Poisson draws around these means (the stationary
    distribution of an infinite-server network with Poisson inflow), so the burn-in starts
    full instead of empty.

    Attributes
    ----------
    marketing : tuple of float
        Per marketing stage (company).
    queue : tuple of tuple of float
        Appointments waiting for follow-up per rep, by age bucket: genuine ones, and the others.
    sales : tuple of tuple of tuple of float
        ``[ability level][source][stage]`` per rep; source 0 marketing, 1 self-prospected.
    """

    marketing: tuple[float, ...]
    queue: tuple[tuple[float, ...], tuple[float, ...]]
    sales: tuple[tuple[tuple[float, ...], ...], ...]


def pipeline_stock(scenario: Scenario) -> PipelineStock:
    """Steady-state stocks (Little's law per stage: inflow per week x mean weeks in stage)."""
    m, s, h = scenario.marketing, scenario.sales, scenario.handoff
    q = m.quality.baseline
    ss = steady_state(scenario)
    # Lead inflow including recycled leads, per week.
    flow = ss.appointments / WEEKS_PER_YEAR
    stages = scenario.funnel.marketing_stages
    through = 1.0
    for i, st in enumerate(stages):
        through *= min(1.0, st.conversion * (m.quality.volume(q) if i == len(stages) - 1 else 1.0))
    lead_flow = flow / through if through > 0 else 0.0
    mk = []
    inflow = lead_flow
    for i, st in enumerate(stages):
        mk.append(inflow * st.dwell_weeks)
        p = st.conversion * (m.quality.volume(q) if i == len(stages) - 1 else 1.0)
        inflow *= min(1.0, p)
    genuine = min(1.0, m.quality.conversion(q) / conversion_max(scenario) * genuine_multiplier(h, 0.0))
    per_rep = flow / s.reps
    waiting = [per_rep * w for w in waiting_stock(h.delay_weeks, h.response_decay_per_week, h.sla_weeks)]
    queue = (tuple(w * genuine for w in waiting), tuple(w * (1.0 - genuine) for w in waiting))
    worked_per_rep = ss.followed / WEEKS_PER_YEAR / s.reps
    ignored_per_rep = ss.ignored / WEEKS_PER_YEAR / s.reps
    gamma = scenario.behaviour.conversion_elasticity
    cmax = conversion_max(scenario)
    sales = []
    for a in s.ability.levels:
        mult = a**gamma
        per_src = []
        self_rate = (s.calls_per_week + ignored_per_rep * s.calls_per_followup) * s.call_to_appointment * a
        for src, rate in ((0, worked_per_rep), (1, self_rate)):
            inflow = rate
            stocks = []
            for j, st in enumerate(scenario.funnel.sales_stages):
                stocks.append(inflow * st.dwell_weeks)
                p = st.conversion * mult * (cmax if (src == 0 and j == 0) else 1.0)
                inflow *= min(1.0, p)
            per_src.append(tuple(stocks))
        sales.append(tuple(per_src))
    return PipelineStock(tuple(mk), queue, tuple(sales))


def pipeline_landing(sc: Scenario, level: float, source: int, horizon: int = WEEKS_PER_YEAR + 1) -> np.ndarray:
    """Probability that an item now in each sales stage is won within ``w`` weekly steps, at normal
    effort: ``out[j, w]`` (w = 0 .. horizon - 1; 0 steps: 0).

    ``source`` 0: a genuine marketing appointment (the hand-off stage converts x conversion_max),
    1: self-prospected. The forecast a rep reads from their own pipeline.
    """
    conv = stage_conversions(sc, level)[source]
    hz = [1.0 / st.dwell_weeks for st in sc.funnel.sales_stages]
    Ks = len(hz)
    out = np.zeros((Ks, horizon))
    # p[j] after w steps: probability of having been won, starting in stage j.
    for j0 in range(Ks):
        dist = np.zeros(Ks)
        dist[j0] = 1.0
        won = 0.0
        for w in range(1, horizon):
            new = np.zeros(Ks)
            for j in range(Ks - 1, -1, -1):
                leave = dist[j] * hz[j]
                adv = leave * conv[j]
                new[j] += dist[j] - leave
                if j == Ks - 1:
                    won += adv
                else:
                    new[j + 1] += adv  # enters the next stage at the week's end
            dist = new
            out[j0, w] = won
    return out


def queue_landing(
    sc: Scenario, level: float, horizon: int = WEEKS_PER_YEAR + 1, first: np.ndarray | None = None
) -> np.ndarray:
    """Expected wins within ``w`` weekly steps of a genuine appointment now waiting for follow-up, at
    normal effort, per unit of the rep's work share (``1 - ignored_share`` x follow-up share, which
    the caller multiplies in): ``out[w]``.

    As the kernel's week: followed up with the hand-off hazard each week (worked by the work share),
    else gone cold with the decay; a worked one enters the first sales stage at the week's end and
    is then won as :func:`pipeline_landing` says (its first stage's row for a genuine appointment:
    ``first``, computed when not given).
    """
    h = follow_hazard(sc.handoff.delay_weeks)
    stay = (1.0 - h) * (1.0 - sc.handoff.response_decay_per_week)
    if first is None:
        first = pipeline_landing(sc, level, 0, horizon)[0]
    worked = np.zeros(horizon)  # worked in exactly u steps
    worked[1:] = h * stay ** np.arange(horizon - 1)
    return np.convolve(worked, first)[:horizon]


def lead_landing(
    sc: Scenario,
    level: float,
    horizon: int = WEEKS_PER_YEAR + 1,
    queue: np.ndarray | None = None,
    handed: np.ndarray | None = None,
) -> np.ndarray:
    """Expected wins within ``w`` weekly steps that a lead now in each marketing stage brings, through
    a rep of ability ``level``, at today's quality focus and normal effort, per unit of the rep's work
    share: ``out[j, w]``. Handed over in a week (:func:`marketing_landing`), genuine by today's share,
    it waits for follow-up from that same week (:func:`queue_landing`; ``queue`` and ``handed``, those
    two tables, are computed when not given). The deals marketing's pipeline is expected to source,
    as the solver counts them (``model.lags.sourced_lag``)."""
    m = sc.marketing
    genuine = min(1.0, m.quality.conversion(m.quality.baseline) / conversion_max(sc) * mean_genuine_multiplier(sc))
    if handed is None:
        handed = marketing_landing(sc, horizon)
    # Handed over in step s, it waits from that same step: within w steps it has w - s + 1 of them.
    later = (queue_landing(sc, level, horizon) if queue is None else queue)[1:]
    out = np.zeros(handed.shape)
    for j in range(handed.shape[0]):
        step = np.diff(handed[j], prepend=0.0)  # handed over in exactly s steps (none in 0)
        out[j] = genuine * np.convolve(step, later)[:horizon]
    return out


def marketing_landing(sc: Scenario, horizon: int = WEEKS_PER_YEAR + 1) -> np.ndarray:
    """Probability that a lead now in each marketing stage is handed over as an appointment within
    ``w`` weekly steps, at today's quality focus: ``out[j, w]``."""
    stages = sc.funnel.marketing_stages
    hz = [1.0 / st.dwell_weeks for st in stages]
    conv = [st.conversion for st in stages]
    conv[-1] = min(1.0, conv[-1] * sc.marketing.quality.volume(sc.marketing.quality.baseline))
    Km = len(hz)
    out = np.zeros((Km, horizon))
    for j0 in range(Km):
        dist = np.zeros(Km)
        dist[j0] = 1.0
        done = 0.0
        for w in range(1, horizon):
            new = np.zeros(Km)
            for j in range(Km - 1, -1, -1):
                leave = dist[j] * hz[j]
                adv = leave * conv[j]
                new[j] += dist[j] - leave
                if j == Km - 1:
                    done += adv
                else:
                    new[j + 1] += adv
            dist = new
            out[j0, w] = done
    return out
