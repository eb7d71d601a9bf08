"""The company as the policy solver sees it: weekly rates of each role's results by action.

Scheme-independent: the funnel's steady-state flows at a chosen action (the same model the kernel
simulates, :mod:`incentsim.funnel`), and what each role sees of the other (a *field*: the other
side's expected behaviour by week, from its current policy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..calendar import WEEK_MONTH, WEEKS_PER_YEAR
from ..funnel import conversion_max, followup_survival, mean_genuine_multiplier, sales_conversion
from ..scenario.schema import Scenario

#: Shares of followed-up marketing appointments a rep may choose to work.
FOLLOW_LEVELS = (0.0, 1.0)  # logit choices mix them, so the expected share moves smoothly
#: Columns of :meth:`Company.sales_rates`.
S_OWN, S_SOURCED, S_SELF, S_WORKED, S_PMKT, S_EFFORT, S_FOLLOW = range(7)
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
    """

    follow: np.ndarray
    p_mkt: np.ndarray
    self_wins: np.ndarray
    own_wins: np.ndarray
    effort: np.ndarray


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
        #: Sales actions: (effort, follow-up share); marketing actions: (effort, quality focus).
        self.sales_actions = np.array([(e, f) for e in self.efforts for f in FOLLOW_LEVELS], dtype=np.float64)
        self.mkt_actions = np.array([(e, q) for e in self.efforts for q in self.qualities], dtype=np.float64)

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

    def sales_rates(self, level: float, mkt: MarketingField) -> np.ndarray:
        """Per-rep weekly rates of a rep of ability ``level`` for every sales action.

        Returns
        -------
        ndarray(float, (52, A, 7))
            Columns :data:`S_OWN` (wins), :data:`S_SOURCED` (wins from marketing's appointments),
            :data:`S_SELF` (self-prospected wins), :data:`S_WORKED` (appointments worked),
            :data:`S_PMKT` (win probability of a worked genuine one), :data:`S_EFFORT`,
            :data:`S_FOLLOW`.
        """
        e = self.sales_actions[:, 0]
        f = self.sales_actions[:, 1]
        conv = {x: sales_conversion(self.sc, level * x) for x in np.unique(e)}
        p_mkt = np.array([conv[x][0] for x in e])
        p_self = np.array([conv[x][1] for x in e])
        arriving = (mkt.appts / self.R * self.survive)[:, None]
        worked = arriving * self.work_base * f[None, :]
        ignored = arriving - worked
        self_appts = self.call_rate * level * e[None, :] + ignored * self.extra_per_ignored * level
        sourced = worked * mkt.genuine[:, None] * p_mkt[None, :]
        self_wins = self_appts * p_self[None, :]
        out = np.empty((WEEKS_PER_YEAR, len(e), 7))
        out[:, :, S_OWN] = sourced + self_wins
        out[:, :, S_SOURCED] = sourced
        out[:, :, S_SELF] = self_wins
        out[:, :, S_WORKED] = worked
        out[:, :, S_PMKT] = p_mkt[None, :]
        out[:, :, S_EFFORT] = e[None, :]
        out[:, :, S_FOLLOW] = f[None, :]
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
        gen = appts * genuine[None, :]
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
