"""Typed simulation results with provenance, and the metrics derived from the kernel's arrays.

:class:`Results` holds one scheme's raw arrays (per replication-year, per person) and the
run's provenance (seed, scenario hash, version, behaviour). :meth:`Results.metrics` derives
the named figures of docs/model/metrics.md; :meth:`Results.to_frame` gives a tidy table (one row per
replication-year) for pandas and Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .i18n import N_
from .kernels import layout as L

if TYPE_CHECKING:
    import pandas

#: Metric name -> (label, unit) for reports. Order is the report order. Labels are gettext message ids.
METRICS: dict[str, tuple[str, str]] = {
    "revenue": (N_("Revenue (bookings)"), "money"),
    "margin_in_year": (N_("Margin recognised in year"), "money"),
    "profit_after_bonus": (N_("Profit after bonuses"), "money"),
    "bonus_cost": (N_("Bonus cost"), "money"),
    "cost_of_sales": (N_("Cost of sales (pay / revenue)"), "share"),
    "wins": (N_("Won deals"), "count"),
    "leads": (N_("Leads"), "count"),
    "appointments": (N_("Appointments handed over"), "count"),
    "appointment_win_rate": (N_("Appointment-to-win rate"), "share"),
    "sales_attainment": (N_("Sales attainment (mean rep)"), "share"),
    "marketing_attainment": (N_("Marketing attainment"), "share"),
    "reps_on_target_share": (N_("Reps on target"), "share"),
    "marketing_quality": (N_("Marketing quality focus"), "level"),
    "mean_effort": (N_("Mean rep effort"), "level"),
    "marketing_effort": (N_("Marketing effort"), "level"),
    "appointments_ignored_share": (N_("Appointments ignored by sales"), "share"),
    "period_end_revenue_share": (N_("Revenue in the last month of a pay period"), "share"),
    "december_revenue_share": (N_("Revenue in December"), "share"),
    "quarter_end_revenue_share": (N_("Revenue in the last month of calendar quarters"), "share"),
    "team_time_share": (N_("Reps' time spent on the team"), "share"),
    "help_hours_per_rep": (N_("Hours a rep helps colleagues"), "count"),
    "deals_helped": (N_("Quotes decided with a colleague's help"), "count"),
    "helped_win_rate": (N_("Win rate of helped quotes"), "share"),
    "prospects_passed": (N_("Prospects passed to a colleague"), "count"),
    "effort_gap_strong_weak": (N_("Effort gap, strongest minus weakest reps"), "level"),
    "effort_below_team_mean": (N_("Effort below the team's mean (what peers see)"), "level"),
    "deals_pulled_in": (N_("Deals pulled in"), "count"),
    "deals_held_back": (N_("Deals held back"), "count"),
    "bonus_sales": (N_("Bonus paid to sales"), "money"),
    "bonus_marketing": (N_("Bonus paid to marketing"), "money"),
}

#: Metrics where a higher value is better (for "probability that A beats B").
HIGHER_IS_BETTER = {
    "revenue", "margin_in_year", "profit_after_bonus", "wins", "leads", "appointments",
    "appointment_win_rate", "sales_attainment", "marketing_attainment", "reps_on_target_share",
}  # fmt: skip
#: Metrics where a lower value is better: costs, and appointments wasted. The others (effort, focus,
#: timing, team work) describe behaviour and have no better direction: for them a comparison says
#: in what share of years a scheme's value is *higher*.
LOWER_IS_BETTER = {
    "bonus_cost", "cost_of_sales", "bonus_sales", "bonus_marketing", "appointments_ignored_share",
}  # fmt: skip


def higher_counts(metric: str) -> bool:
    """Whether a paired comparison of ``metric`` counts the years where ``a`` is *higher* (every metric
    but the costs of :data:`LOWER_IS_BETTER`, where it counts the years ``a`` is lower)."""
    return metric not in LOWER_IS_BETTER


def ahead_word(metric: str) -> str:
    """What ``p_a_beats_b`` of ``metric`` counts, in words: "better" for a metric with a better
    direction, "higher" for one that only describes behaviour."""
    return "better" if metric in HIGHER_IS_BETTER or metric in LOWER_IS_BETTER else "higher"


@dataclass
class Results:
    """One scheme's simulated company-years.

    Attributes
    ----------
    scenario_name, scenario_hash, scheme : str
        What was simulated.
    seed : int
        Root seed.
    key : tuple of int
        Spawn-key prefix (for example the sweep cell); empty for a plain run.
    replications, horizon_years, reps, marketing_headcount : int
    behaviour : str
        ``"fixed"`` or ``"optimising"``.
    version : str
        incentsim version.
    year : ndarray(float64, (replications, horizon_years, N_Y))
        Company metrics (see ``kernels.layout``). This and the other per-replication arrays are
        ``None`` when only summaries were kept (``compare(..., keep=False)``).
    person : ndarray(float64, (replications, horizon_years, reps + 1, N_P))
        Person metrics; the last person is one marketing team member.
    month : ndarray(float64, (replications, horizon_years, 12))
        Bookings by month.
    effort_week : ndarray(float32, (replications, 52))
        Mean rep effort by week of the year.
    ability : ndarray(int8, (replications, reps))
        Ability level index of each rep.
    ability_levels : ndarray(float64, (K,))
    base_cost : float
        Base salaries of the commercial team per year.
    last_month_mask : ndarray(bool, (12,))
        Months that close a period of the component that carries most of sales' pay.
    marketing_paid, sales_paid : bool
        Whether the scheme pays each role.
    solver : dict
        Policy-solver diagnostics (rounds, last change), empty for fixed behaviour.
    currency : str
    pipeline : ndarray(float64, (replications, horizon_years, 13, F)) or None
        Snapshots (revenue so far, stage counts) at the start of the year (slot 0) and at each
        month end (slots 1-12), when recorded.
    pipeline_fields : list of str
        Names of the snapshot fields (``kernels.layout.pipeline_fields``).
    """

    scenario_name: str
    scenario_hash: str
    scheme: str
    seed: int
    key: tuple[int, ...]
    replications: int
    horizon_years: int
    reps: int
    marketing_headcount: int
    behaviour: str
    version: str
    year: np.ndarray
    person: np.ndarray
    month: np.ndarray
    effort_week: np.ndarray
    ability: np.ndarray
    ability_levels: np.ndarray
    base_cost: float
    last_month_mask: np.ndarray
    marketing_paid: bool
    sales_paid: bool
    currency: str = "EUR"
    event_share: float = 0.0  # share of reps' team time spent at marketing's events (the rest helps)
    solver: dict = field(default_factory=dict)
    pipeline: np.ndarray | None = None
    pipeline_fields: list[str] = field(default_factory=list)

    # -- derived metrics, each an array over replication-years (replications, horizon_years) --
    @cached_property
    def metrics(self) -> dict[str, np.ndarray]:
        """All named metrics of :data:`METRICS`, each ``(replications, horizon_years)``."""
        self._require_arrays()
        y = self.year
        p = self.person
        revenue = y[..., L.Y_REVENUE]
        bonus = y[..., L.Y_BONUS_SALES] + y[..., L.Y_BONUS_MKT]
        pay = bonus + self.base_cost
        appts = y[..., L.Y_APPOINTMENTS]
        followed = y[..., L.Y_WORKED] + y[..., L.Y_IGNORED]
        reps_att = p[:, :, : self.reps, L.P_ATTAIN]
        nan = np.full_like(revenue, np.nan)
        out = {
            "revenue": revenue,
            "margin_in_year": y[..., L.Y_MARGIN],
            "profit_after_bonus": y[..., L.Y_MARGIN] - pay,
            "bonus_cost": bonus,
            "cost_of_sales": _ratio(pay, revenue),
            "wins": y[..., L.Y_WINS],
            "leads": y[..., L.Y_LEADS],
            "appointments": appts,
            "appointment_win_rate": _ratio(y[..., L.Y_MKT_WINS], appts),
            "sales_attainment": reps_att.mean(axis=2) if self.sales_paid else nan,
            "marketing_attainment": p[:, :, self.reps, L.P_ATTAIN] if self.marketing_paid else nan,
            "reps_on_target_share": (reps_att >= 1.0 - 1e-12).mean(axis=2) if self.sales_paid else nan,
            # (No marketing team: nobody chooses a focus or an effort; the leads flow as entered.)
            "marketing_quality": y[..., L.Y_QUALITY] if self.marketing_headcount > 0 else nan,
            "mean_effort": y[..., L.Y_SALES_EFFORT],
            "marketing_effort": y[..., L.Y_MKT_EFFORT] if self.marketing_headcount > 0 else nan,
            "appointments_ignored_share": _ratio(y[..., L.Y_IGNORED], followed),
            # Period-based: depends on the scheme's periods (1.0 under a monthly plan); the calendar
            # ones compare across schemes.
            "period_end_revenue_share": _ratio((self.month * self.last_month_mask).sum(axis=2), revenue),
            "december_revenue_share": _ratio(self.month[..., 11], revenue),
            "quarter_end_revenue_share": _ratio(self.month[..., 2::3].sum(axis=2), revenue),
            "team_time_share": y[..., L.Y_TEAM_TIME],
            # 40-hour weeks, 52 a year; the helping part of team time (the rest is at events).
            "help_hours_per_rep": y[..., L.Y_TEAM_TIME] * (1.0 - self.event_share) * 40.0 * 52,
            "deals_helped": y[..., L.Y_HELPED],
            "helped_win_rate": _ratio(y[..., L.Y_HELPED_WON], y[..., L.Y_HELPED]),
            "prospects_passed": y[..., L.Y_PASSED],
            "effort_gap_strong_weak": self._effort_gap(),
            "effort_below_team_mean": self._effort_below_mean(),
            "deals_pulled_in": y[..., L.Y_PULLED],
            "deals_held_back": y[..., L.Y_HELD],
            "bonus_sales": y[..., L.Y_BONUS_SALES],
            "bonus_marketing": y[..., L.Y_BONUS_MKT],
        }
        return out

    def _require_arrays(self) -> None:
        """Raise a clear error when only the summaries of this run were kept."""
        if self.year is None:
            raise ValueError(
                f"the per-replication results of scheme {self.scheme!r} were not kept, only their summaries "
                "(compare(..., keep=True) keeps them)"
            )

    def _effort_gap(self) -> np.ndarray:
        """Mean effort of the strongest ability level's reps minus the weakest's, per
        replication-year (NaN when a year lacks either)."""
        K = len(self.ability_levels)
        out = np.full(self.year.shape[:2], np.nan)
        if K < 2 or self.reps < 2:
            return out
        effort = self.person[:, :, : self.reps, L.P_EFFORT]
        order = np.argsort(self.ability_levels)
        lo, hi = order[0], order[-1]
        a = self.ability[:, None, :]
        strong = np.where(a == hi, effort, 0.0).sum(axis=2)
        weak = np.where(a == lo, effort, 0.0).sum(axis=2)
        n_strong = (a == hi).sum(axis=2) * np.ones(effort.shape[1], dtype=int)[None, :]
        n_weak = (a == lo).sum(axis=2) * np.ones(effort.shape[1], dtype=int)[None, :]
        ok = (n_strong > 0) & (n_weak > 0)
        out[ok] = strong[ok] / n_strong[ok] - weak[ok] / n_weak[ok]
        return out

    def _effort_below_mean(self) -> np.ndarray:
        """Mean over reps of how far a rep's effort falls below the team's mean effort, per
        replication-year: the shortfall mutual monitoring makes costly (NaN with one rep)."""
        if self.reps < 2:
            return np.full(self.year.shape[:2], np.nan)
        effort = self.person[:, :, : self.reps, L.P_EFFORT]
        return np.maximum(effort.mean(axis=2, keepdims=True) - effort, 0.0).mean(axis=2)

    def metric(self, name: str) -> np.ndarray:
        """One metric flattened over replication-years, ``(replications * horizon_years,)``."""
        return self.metrics[name].reshape(-1)

    @property
    def provenance(self) -> dict:
        """Seed, replications, scenario hash, version: enough to reproduce the run."""
        return {
            "scenario": self.scenario_name,
            "scenario_hash": self.scenario_hash,
            "scheme": self.scheme,
            "seed": self.seed,
            "key": list(self.key),
            "replications": self.replications,
            "horizon_years": self.horizon_years,
            "behaviour": self.behaviour,
            "version": self.version,
        }

    def to_frame(self) -> pandas.DataFrame:
        """Tidy table: one row per replication-year with every metric.

        Returns
        -------
        pandas.DataFrame
            Columns ``scheme, replication, year`` then the metrics of :data:`METRICS`.
        """
        import pandas as pd

        n, h = self.replications, self.horizon_years
        data = {
            "scheme": np.repeat(self.scheme, n * h),
            "replication": np.repeat(np.arange(n), h),
            "year": np.tile(np.arange(1, h + 1), n),
        }
        for name, values in self.metrics.items():
            data[name] = values.reshape(-1)
        return pd.DataFrame(data)

    def person_frame(self) -> pandas.DataFrame:
        """One row per person-year: role, rep index, ability, payout, attainment, bookings, wins,
        mean effort over the year and in each calendar quarter (``effort_q1`` .. ``effort_q4``).
        The marketing row (one team member, ``person`` = reps) only when marketing has people."""
        import pandas as pd

        self._require_arrays()
        n, h, persons = self.replications, self.horizon_years, self.reps + 1
        p = self.person
        role = np.array(["sales"] * self.reps + ["marketing"])
        ability = np.concatenate([self.ability_levels[self.ability], np.full((n, 1), np.nan)], axis=1)
        frame = pd.DataFrame(
            {
                "scheme": self.scheme,
                "replication": np.repeat(np.arange(n), h * persons),
                "year": np.tile(np.repeat(np.arange(1, h + 1), persons), n),
                "role": np.tile(role, n * h),
                "person": np.tile(np.arange(persons), n * h),
                "ability": np.repeat(ability, h, axis=0).reshape(-1),
                "payout": p[..., L.P_PAY].reshape(-1),
                "attainment": p[..., L.P_ATTAIN].reshape(-1),
                "bookings": p[..., L.P_BOOKINGS].reshape(-1),
                "wins": p[..., L.P_WINS].reshape(-1),
                "effort": p[..., L.P_EFFORT].reshape(-1),
                "team_time": p[..., L.P_TEAM_TIME].reshape(-1),
                "help_lift_received": p[..., L.P_HELP_LIFT].reshape(-1),
                **{f"effort_q{q + 1}": p[..., L.P_EFFORT_Q1 + q].reshape(-1) for q in range(4)},
                "capped_periods": p[..., L.P_CAPPED].reshape(-1),
            }
        )
        if self.marketing_headcount == 0:  # (the kernel's marketing slot then describes nobody)
            frame = frame[frame["role"] != "marketing"].reset_index(drop=True)
        return frame


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def concat_results(first: Results, more: Results) -> Results:
    """Results of replications ``0..a-1`` and ``a..a+b-1`` as one run of ``a + b``.

    Seeds depend only on the replication index, so this equals a single longer run.
    """
    import dataclasses

    if (first.scheme, first.seed, first.key, first.scenario_hash) != (
        more.scheme,
        more.seed,
        more.key,
        more.scenario_hash,
    ):
        raise ValueError("can only join batches of the same run")

    def cat(a, b):
        return None if a is None else np.concatenate([a, b], axis=0)

    return dataclasses.replace(
        first,
        replications=first.replications + more.replications,
        year=cat(first.year, more.year),
        person=cat(first.person, more.person),
        month=cat(first.month, more.month),
        effort_week=cat(first.effort_week, more.effort_week),
        ability=cat(first.ability, more.ability),
        pipeline=cat(first.pipeline, more.pipeline),
    )
