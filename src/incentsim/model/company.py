"""The company as the policy solver sees it: weekly rates of each role's results by action.

Scheme-independent: the funnel's steady-state flows at a chosen action (the same model the kernel
simulates, :mod:`incentsim.funnel`), and what each role sees of the other (a *field*: the other
side's expected behaviour by week, from its current policy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..calendar import WEEK_MONTH, WEEKS_PER_YEAR
from ..funnel import conversion_max, followup_survival, mean_genuine_multiplier, sales_conversion, stage_conversions
from ..scenario.schema import Scenario

#: Shares of followed-up marketing appointments a rep may choose to work.
FOLLOW_LEVELS = (0.0, 1.0)  # logit choices mix them, so the expected share moves smoothly
#: Columns of :meth:`Company.sales_rates`.
S_OWN, S_SOURCED, S_SELF, S_WORKED, S_PMKT, S_EFFORT, S_FOLLOW, S_TEAM, S_EXTRA, S_HELP, S_EVENT, S_PASSED = range(12)
#: Columns of :meth:`Company.marketing_rates`.
M_APPTS, M_GENUINE, M_SOURCED, M_EFFORT, M_QUALITY = range(5)


@dataclass
class MarketingField:
    """Marketing as seen by sales, by week: appointments handed over (company total), their
    genuine share, and marketing's expected effort and quality focus. Arrays ``(52,)``."""

    appts: np.ndarray
    genuine: np.ndarray
    effort: np.ndarray
    quality: np.ndarray


@dataclass
class SalesField:
    """Sales as seen by marketing and by each rep, by week (per rep, averaged over ability levels).

    Attributes
    ----------
    follow : ndarray(float, (52,))
        Share of reachable genuine appointments worked (relative to ``1 - ignored_share``).
    p_mkt : ndarray(float, (52,))
        Win probability of a worked genuine marketing appointment.
    self_wins, own_wins : ndarray(float, (52,))
        Wins per rep and week from self-prospecting and in all.
    effort : ndarray(float, (52,))
    help : ndarray(float, (52,))
        Help a rep gives colleagues per week (team time x (1 - event share) x ability^2).
    events : ndarray(float, (52,))
        A rep's presence at marketing's events per week (team time x event share x ability).
    passed : ndarray(float, (52,))
        Prospects a rep passes to a colleague per week.
    """

    follow: np.ndarray
    p_mkt: np.ndarray
    self_wins: np.ndarray
    own_wins: np.ndarray
    effort: np.ndarray
    help: np.ndarray = field(default_factory=lambda: np.zeros(WEEKS_PER_YEAR))
    events: np.ndarray = field(default_factory=lambda: np.zeros(WEEKS_PER_YEAR))
    passed: np.ndarray = field(default_factory=lambda: np.zeros(WEEKS_PER_YEAR))


class Company:
    """Scheme-independent rates of the funnel, per week and per action."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        b, m, s, h = sc.behaviour, sc.marketing, sc.sales, sc.handoff
        self.R = s.reps
        self.levels = np.asarray(s.ability.levels, dtype=np.float64)
        self.weights = np.asarray(s.ability.weights, dtype=np.float64)
        self.efforts = np.asarray(b.effort_levels, dtype=np.float64)
        self.qualities = np.asarray(b.quality_levels, dtype=np.float64)
        self.q0 = m.quality.baseline
        self.lead_week = np.array([m.leads_per_week * m.seasonality[WEEK_MONTH[w]] for w in range(WEEKS_PER_YEAR)])
        self._cmax = conversion_max(sc)
        self._gm = mean_genuine_multiplier(sc)  # duplication and feedback levers
        self.survive = followup_survival(h.delay_weeks, h.response_decay_per_week, h.sla_weeks)
        self.work_base = 1.0 - h.ignored_share
        self.call_rate = s.calls_per_week * s.call_to_appointment
        self.extra_per_ignored = s.calls_per_followup * s.call_to_appointment
        self.value_mean = sc.deals.value_mean
        sigma2 = math.log1p(sc.deals.value_cv**2)
        self.value_mu = math.log(sc.deals.value_mean) - 0.5 * sigma2
        self.value_sigma = math.sqrt(sigma2)
        self.value_m2 = sc.deals.value_mean**2 * math.exp(sigma2)  # E[V^2]
        self.annual_discount = b.annual_discount
        self.weekly_discount = b.annual_discount ** (1.0 / WEEKS_PER_YEAR)
        self.pull_discount = b.pull_in_discount
        # Pulled deals: the last stage's wins of the next pull_in_weeks weeks, as a multiple of one
        # week's wins (sum of the geometric closing chances).
        h_last = 1.0 / sc.funnel.sales_stages[-1].dwell_weeks
        self.pull_weeks_equivalent = (1.0 - (1.0 - h_last) ** b.pull_in_weeks) / h_last
        self.hold_loss = b.hold_back_loss
        #: Sales actions: (effort, follow-up share, team time); marketing: (effort, quality focus, 0).
        self.sales_actions = self.sales_action_table(False)
        self.mkt_actions = np.array([(e, q, 0.0) for e in self.efforts for q in self.qualities], dtype=np.float64)
        # Team work (help for colleagues' deals, sales at marketing's events, passing prospects).
        self.help_gain = b.help_gain
        self.event_gain = b.event_gain
        self.event_share = b.event_share
        self.help_scale = b.team_time * (1.0 - b.event_share)
        self.event_scale = self.R * b.team_time * b.event_share
        self.passing = b.passing
        self.need = np.array([1.0 - stage_conversions(sc, lv)[1][-1] for lv in self.levels])
        self.close_rate = np.array([sales_conversion(sc, lv)[1] for lv in self.levels])

    def sales_action_table(self, team: bool) -> np.ndarray:
        """Sales actions (effort, follow-up share, team time): with ``team``, also a week with
        ``team_time`` spent on the team (helping colleagues, marketing's events)."""
        times = (0.0, self.sc.behaviour.team_time) if team else (0.0,)
        return np.array([(e, f, h) for e in self.efforts for f in FOLLOW_LEVELS for h in times], dtype=np.float64)

    def event_multiplier(self, events_per_rep: np.ndarray) -> np.ndarray:
        """Multiplier of the genuine share from sales' presence at marketing's events, by week."""
        if self.event_gain <= 0.0 or self.event_scale <= 0.0:
            return np.ones_like(events_per_rep)
        return 1.0 + self.event_gain * (1.0 - np.exp(-self.R * events_per_rep / self.event_scale))

    def help_lift(self, help_per_rep: np.ndarray, k: int) -> np.ndarray:
        """Lift of a level-k rep's quote conversion from its colleagues' help (mean field), by week."""
        if self.help_gain <= 0.0 or self.help_scale <= 0.0:
            return np.zeros_like(help_per_rep)
        need_mean = float(np.dot(self.weights, self.need))
        received = help_per_rep * self.need[k] / max(need_mean, 1e-12)
        return self.help_gain * (1.0 - np.exp(-received / self.help_scale))

    def passes(self, k: int, threshold: float) -> bool:
        """Whether a rep of level k passes prospects to the strongest colleague under a scheme whose
        pass threshold is ``threshold`` (:func:`incentsim.pay.pass_threshold`)."""
        return self.passing > 0.0 and self.R > 1 and self.close_rate.max() > threshold * self.close_rate[k]

    def through(self, q: float) -> float:
        """Share of new leads handed over as appointments at quality focus ``q``."""
        m = self.sc.marketing
        t = 1.0
        stages = self.sc.funnel.marketing_stages
        for i, st in enumerate(stages):
            t *= min(1.0, st.conversion * (m.quality.volume(q) if i == len(stages) - 1 else 1.0))
        return t

    def genuine(self, q: float) -> float:
        """Genuine share of appointments at quality focus ``q`` (levers included)."""
        return min(1.0, self.sc.marketing.quality.conversion(q) / self._cmax * self._gm)

    def sales_rates(
        self, level: float, mkt: MarketingField, others: SalesField | None = None, actions: np.ndarray | None = None,
        k: int = 0, pass_threshold: float = float("inf"),
    ) -> np.ndarray:  # fmt: skip
        """Per-rep weekly rates of a rep of ability ``level`` (level index ``k``) for every sales action.

        With team work on, ``others`` (the colleagues' field) gives the help this rep receives and
        the team's presence at marketing's events; the rep's own team time lowers its prospecting
        and adds deals won by colleagues (:data:`S_EXTRA`, a team measure's gain).

        Returns
        -------
        ndarray(float, (52, A, 12))
            Columns :data:`S_OWN` (wins), :data:`S_SOURCED` (wins from marketing's appointments),
            :data:`S_SELF` (self-prospected wins), :data:`S_WORKED` (appointments worked),
            :data:`S_PMKT` (win probability of a worked genuine one), :data:`S_EFFORT`,
            :data:`S_FOLLOW`, :data:`S_TEAM` (team time), :data:`S_EXTRA` (colleagues' extra wins
            from this rep's team time and passed prospects), :data:`S_HELP` (help given),
            :data:`S_EVENT` (event presence), :data:`S_PASSED` (prospects passed).
        """
        acts = self.sales_actions if actions is None else actions
        e, f, h = acts[:, 0], acts[:, 1], acts[:, 2]
        T = WEEKS_PER_YEAR
        lift = self.help_lift(others.help, k) if others is not None else np.zeros(T)  # (52,)
        ev_mult = self.event_multiplier(others.events) if others is not None else np.ones(T)
        out = np.zeros((T, len(e), 12))
        p_mkt = np.zeros((T, len(e)))
        p_self = np.zeros((T, len(e)))
        for x in np.unique(e):
            mkt_st, own_st = stage_conversions(self.sc, level * x)
            cols = np.flatnonzero(e == x)
            # The last stage's conversion, lifted by the help received.
            p_mkt[:, cols] = (float(np.prod(mkt_st[:-1])) * (mkt_st[-1] + (1.0 - mkt_st[-1]) * lift))[:, None]
            p_self[:, cols] = (float(np.prod(own_st[:-1])) * (own_st[-1] + (1.0 - own_st[-1]) * lift))[:, None]
        genuine = np.minimum(1.0, mkt.genuine * ev_mult)[:, None]
        arriving = (mkt.appts / self.R * self.survive)[:, None]
        worked = arriving * self.work_base * f[None, :]
        ignored = arriving - worked
        calls = self.call_rate * level * e[None, :] + ignored * self.extra_per_ignored * level
        self_appts = calls * (1.0 - h[None, :])
        extra = np.zeros((T, len(e)))
        passed = np.zeros((T, len(e)))
        if self.passes(k, pass_threshold):
            p_best = float(self.close_rate.max())
            passed = self.passing * (worked * genuine + self_appts)
            extra += passed * p_best
            worked = worked * (1.0 - self.passing)
            self_appts = self_appts * (1.0 - self.passing)
        sourced = worked * genuine * p_mkt
        self_wins = self_appts * p_self
        # Own team time: help to colleagues (worth ability^2, diminishing returns) and presence at
        # marketing's events (more genuine appointments for everyone, 1/R of them this rep's).
        help_given = h * (1.0 - self.event_share) * level**2
        events_given = h * self.event_share * level
        if others is not None and np.any(h > 0):
            if self.help_gain > 0 and self.help_scale > 0 and self.R > 1:
                # A colleague's quotes decided per week, their chance to be lost, and how much of it
                # this rep's help removes on top of the help they already get.
                miss = float(np.dot(self.weights, self.need))
                quotes = others.own_wins / max(1.0 - miss, 1e-12)
                base = others.help
                gain = np.exp(-base / self.help_scale)[:, None] - np.exp(
                    -(base[:, None] + help_given[None, :] / (self.R - 1)) / self.help_scale
                )
                extra += (self.R - 1) * quotes[:, None] * miss * self.help_gain * gain
            if self.event_gain > 0 and self.event_scale > 0:
                team_worked = mkt.appts * self.survive * self.work_base * others.follow * mkt.genuine * others.p_mkt
                now = self.event_multiplier(others.events)
                more = 1.0 + self.event_gain * (
                    1.0 - np.exp(-(self.R * others.events[:, None] + events_given[None, :]) / self.event_scale)
                )
                gain = team_worked[:, None] * (more / now[:, None] - 1.0)
                sourced = sourced + gain / self.R
                extra += gain * (self.R - 1) / self.R
        out[:, :, S_OWN] = sourced + self_wins
        out[:, :, S_SOURCED] = sourced
        out[:, :, S_SELF] = self_wins
        out[:, :, S_WORKED] = worked
        out[:, :, S_PMKT] = p_mkt
        out[:, :, S_EFFORT] = e[None, :]
        out[:, :, S_FOLLOW] = f[None, :]
        out[:, :, S_TEAM] = h[None, :]
        out[:, :, S_EXTRA] = extra
        out[:, :, S_HELP] = help_given[None, :]
        out[:, :, S_EVENT] = events_given[None, :]
        out[:, :, S_PASSED] = passed
        return out

    def marketing_rates(self, sales: SalesField) -> np.ndarray:
        """Marketing's weekly rates for every marketing action.

        Returns
        -------
        ndarray(float, (52, B, 5))
            Columns :data:`M_APPTS`, :data:`M_GENUINE`, :data:`M_SOURCED` (wins from its
            appointments, given sales' follow-up and conversion), :data:`M_EFFORT`,
            :data:`M_QUALITY`.
        """
        e = self.mkt_actions[:, 0]
        q = self.mkt_actions[:, 1]
        through = np.array([self.through(x) for x in q])
        genuine = np.array([self.genuine(x) for x in q])
        appts = self.lead_week[:, None] * (e * through)[None, :]
        gen = appts * genuine[None, :] * self.event_multiplier(sales.events)[:, None]
        gen = np.minimum(gen, appts)
        worked = gen * (self.survive * self.work_base) * sales.follow[:, None]
        out = np.empty((WEEKS_PER_YEAR, len(e), 5))
        out[:, :, M_APPTS] = appts
        out[:, :, M_GENUINE] = gen
        out[:, :, M_SOURCED] = worked * sales.p_mkt[:, None]
        out[:, :, M_EFFORT] = e[None, :]
        out[:, :, M_QUALITY] = q[None, :]
        return out

    def fixed_marketing(self) -> MarketingField:
        """Marketing at normal effort and today's focus."""
        appts = self.lead_week * self.through(self.q0)
        return MarketingField(
            appts,
            np.full(WEEKS_PER_YEAR, self.genuine(self.q0)),
            np.ones(WEEKS_PER_YEAR),
            np.full(WEEKS_PER_YEAR, self.q0),
        )

    def fixed_sales(self, mkt: MarketingField) -> SalesField:
        """Every rep at normal effort, working every reachable appointment."""
        own = np.zeros(WEEKS_PER_YEAR)
        selfw = np.zeros(WEEKS_PER_YEAR)
        pm = 0.0
        arriving = mkt.appts / self.R * self.survive
        for lv, w in zip(self.levels, self.weights, strict=True):
            p_mkt, p_self = sales_conversion(self.sc, lv)
            worked = arriving * self.work_base
            ignored = arriving - worked
            sw = (self.call_rate * lv + ignored * self.extra_per_ignored * lv) * p_self
            own += w * (worked * mkt.genuine * p_mkt + sw)
            selfw += w * sw
            pm += w * p_mkt
        ones = np.ones(WEEKS_PER_YEAR)
        return SalesField(ones.copy(), np.full(WEEKS_PER_YEAR, pm), selfw, own, ones)
