"""Synthetic CRM exports from a known scenario, to test calibration end to end.

The simulation kernel moves counts through the funnel; this generator follows the same model
(:mod:`incentsim.funnel`) item by item, so that every lead and opportunity has its own
dates. Everyone works at normal effort and marketing keeps its baseline quality focus (the
company as the scenario describes it today, the ``fixed`` behaviour). Week by week:

* new leads ~ Poisson(``leads_per_week`` x season(month)) per week;
* an item entering a stage in week t first may leave it in week t + 1: it stays a geometric
  number of whole weeks (weekly leave probability 1 / ``dwell_weeks``, so the mean is
  ``dwell_weeks`` and at least 1), then advances with the stage's ``conversion`` (the last
  marketing stage's scaled by volume(q)) or is lost;
* an appointment handed over goes to a rep chosen uniformly at random; it is a genuine
  prospect with probability conversion(q) / conversion_max, else it never converts;
* it waits for follow-up: each week (from the week of the hand-off) it is followed up with
  probability 1 / (1 + ``delay_weeks``), else goes cold with probability
  ``response_decay_per_week`` (under a service level, ``sla_weeks``, whatever still waits then
  is followed up; duplication and feedback levers, where the scenario has them, scale the
  genuine share as in the kernel); a followed-up appointment is worked with probability
  1 - ``ignored_share``; an ignored one falls back to marketing as a new lead the next week
  with probability ``recycle_share``;
* each rep self-prospects ~ Poisson(``calls_per_week`` x ``call_to_appointment`` x ability
  + ignored that week x ``calls_per_followup`` x ``call_to_appointment`` x ability) a week;
* sales-stage conversions are multiplied by ability ** ``conversion_elasticity`` (capped at 1);
  a genuine marketing appointment converts at the hand-off stage with conversion x
  conversion_max;
* a won deal's value is lognormal with ``value_mean`` and ``value_cv``.

One deviation, in timing only: the kernel drops a worked non-genuine appointment at the visit;
here it stays the hand-off stage's usual dwell and is then lost (no count changes).

The export covers ``years`` calendar years ending with ``end_year`` and holds the items created
in them; a warm-up year before fills the pipeline (its items are not exported, but they can
close deals and recycle leads inside the window). Dates fall on a random day of their model
week (:func:`incentsim.crm.format.week_span`), so the weeks an estimator reads back are exactly
the weeks simulated. Still-open items at the end are ``open``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..calendar import WEEK_MONTH
from ..funnel import conversion_max, follow_hazard, steady_state
from ..scenario.schema import WEEKS_PER_YEAR, Scenario
from .format import week_span

_OPEN, _WON, _LOST = 0, 1, 2


@dataclass
class SynthExport:
    """A synthetic export and the truth behind it.

    Attributes
    ----------
    frame : pandas.DataFrame
        The export, one row per lead or opportunity, in the documented format.
    abilities : ndarray
        Ability (productivity multiplier) of each rep, in the order of ``rep_names``.
    rep_names : list of str
    years : tuple of int
        Calendar years covered.
    scenario : Scenario
        The scenario it was generated from.
    """

    frame: pd.DataFrame
    abilities: np.ndarray
    rep_names: list[str]
    years: tuple[int, ...]
    scenario: Scenario

    def expected(self) -> dict[str, float]:
        """What a perfect calibration of this export should find (see :func:`expected_estimates`)."""
        return expected_estimates(self.scenario, self.abilities, len(self.years))


class _Items:
    """Column arrays of items, grown generation by generation."""

    def __init__(self, n_stages: int):
        self.n_stages = n_stages
        self.cols: dict[str, list[np.ndarray]] = {}

    def add(self, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.cols.setdefault(k, []).append(v)

    def get(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


def synthesize(
    scenario: Scenario, years: int = 3, seed: int = 0, end_year: int = 2024, warmup_years: int = 1
) -> SynthExport:
    """Generate a CRM export of a company that follows ``scenario`` exactly.

    Parameters
    ----------
    scenario : Scenario
        The company to follow.
    years : int
        Calendar years in the export (the last is ``end_year``).
    seed : int
        Seed of the generator (same seed, same export).
    end_year : int
        Last calendar year; the export's date is its 31 December.
    warmup_years : int
        Unexported years before, so the pipeline is full when the export starts.

    Returns
    -------
    SynthExport
    """
    if years < 1:
        raise ValueError("years must be at least 1")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    scenario = _today(scenario)
    f, m, s, h, d = scenario.funnel, scenario.marketing, scenario.sales, scenario.handoff, scenario.deals
    mk, sk = f.marketing_stages, f.sales_stages
    km, ks = len(mk), len(sk)
    n_st = km + ks
    w0 = warmup_years * WEEKS_PER_YEAR
    T = w0 + years * WEEKS_PER_YEAR
    year0 = end_year - years - warmup_years + 1
    q = m.quality.baseline
    volume = m.quality.volume(q)
    cmax = conversion_max(scenario)
    genuine_p = m.quality.conversion(q) / cmax * _genuine_multiplier(h, np.arange(T))
    sla = getattr(h, "sla_weeks", None)
    hf = follow_hazard(h.delay_weeks)
    p_res = hf + (1.0 - hf) * h.response_decay_per_week
    gamma = scenario.behaviour.conversion_elasticity
    R = s.reps
    lv = np.asarray(s.ability.levels, dtype=float)
    abil = lv[rng.choice(len(lv), size=R, p=np.asarray(s.ability.weights))]
    ignored = np.zeros((R, T), dtype=np.int64)

    items = _Items(n_st)
    next_index = 0

    # -- marketing: new leads, then recycled leads, generation by generation -------------------
    rate = np.array([m.leads_per_week * m.seasonality[WEEK_MONTH[t % WEEKS_PER_YEAR]] for t in range(T)])
    created = np.repeat(np.arange(T), rng.poisson(rate))
    recycled_from = np.full(created.size, -1)
    while created.size:
        n = created.size
        index = np.arange(next_index, next_index + n)
        next_index += n
        entry = np.full((n, n_st), -1)
        closed = np.full(n, -1)
        outcome = np.full(n, _OPEN)
        final = np.zeros(n, dtype=np.int64)
        e = created.copy()
        alive = np.ones(n, dtype=bool)
        for j, st in enumerate(mk):
            entry[alive, j] = e[alive]
            x = e + rng.geometric(1.0 / st.dwell_weeks, n)
            p = min(1.0, st.conversion * (volume if j == km - 1 else 1.0))
            adv = rng.random(n) < p
            final[alive] = j
            dec = alive & (x < T)
            lost = dec & ~adv
            closed[lost], outcome[lost] = x[lost], _LOST
            alive = dec & adv
            e = np.where(alive, x, e)
        # Hand-off: the appointment waits for follow-up from the week it is handed over.
        entry[alive, km] = e[alive]
        final[alive] = km
        rep = np.where(alive, rng.integers(0, R, n), -1)
        genuine = alive & (rng.random(n) < np.minimum(1.0, genuine_p[np.clip(e, 0, T - 1)]))
        wait = rng.geometric(p_res, n) - 1
        forced = np.zeros(n, dtype=bool) if sla is None else wait >= int(sla)
        r = e + (np.minimum(wait, int(sla)) if sla is not None else wait)
        res = alive & (r < T)
        fol = res & ((rng.random(n) < hf / p_res) | forced)
        cold = res & ~fol
        closed[cold], outcome[cold] = r[cold], _LOST
        followup = np.where(fol, r, -1)
        worked = fol & (rng.random(n) < 1.0 - h.ignored_share)
        ign = fol & ~worked
        closed[ign], outcome[ign] = r[ign], _LOST
        np.add.at(ignored, (rep[ign], r[ign]), 1)
        rec = ign & (rng.random(n) < h.recycle_share) & (r + 1 < T)
        items.add(
            index=index,
            source=np.zeros(n, dtype=np.int64),
            created=created,
            entry=entry,
            followup=followup,
            closed=closed,
            outcome=outcome,
            final=final,
            rep=rep,
            genuine=genuine,
            recycled_from=recycled_from,
            sales_start=np.where(worked, r, -1),
        )
        created, recycled_from = r[rec] + 1, index[rec]

    # -- self-prospecting, with the time freed by ignored appointments -------------------------
    self_rate = s.calls_per_week * s.call_to_appointment
    extra = s.calls_per_followup * s.call_to_appointment
    lam = (self_rate + ignored * extra) * abil[:, None]
    counts = rng.poisson(lam)
    n = int(counts.sum())
    rep = np.repeat(np.repeat(np.arange(R), T), counts.reshape(-1))
    created = np.repeat(np.tile(np.arange(T), R), counts.reshape(-1))
    entry = np.full((n, n_st), -1)
    entry[:, km] = created
    items.add(
        index=np.arange(next_index, next_index + n),
        source=np.ones(n, dtype=np.int64),
        created=created,
        entry=entry,
        followup=np.full(n, -1),
        closed=np.full(n, -1),
        outcome=np.full(n, _OPEN),
        final=np.full(n, km),
        rep=rep,
        genuine=np.ones(n, dtype=bool),
        recycled_from=np.full(n, -1),
        sales_start=created,
    )
    it = items.get()

    # -- sales stages, for every worked appointment and self-sourced prospect ------------------
    n = it["index"].size
    amount = np.full(n, np.nan)
    alive = it["sales_start"] >= 0
    e = it["sales_start"].copy()
    mult = np.where(it["rep"] >= 0, abil[np.maximum(it["rep"], 0)], 1.0) ** gamma
    is_mkt = it["source"] == 0
    for jj, st in enumerate(sk):
        j = km + jj
        if jj > 0:
            it["entry"][alive, j] = e[alive]
        x = e + rng.geometric(1.0 / st.dwell_weeks, n)
        p = st.conversion * mult
        if jj == 0:
            p = np.where(is_mkt, np.where(it["genuine"], p * cmax, 0.0), p)
        adv = rng.random(n) < np.minimum(1.0, p)
        it["final"][alive] = j
        dec = alive & (x < T)
        lost = dec & ~adv
        it["closed"][lost], it["outcome"][lost] = x[lost], _LOST
        alive = dec & adv
        e = np.where(alive, x, e)
    won = alive
    it["closed"][won], it["outcome"][won] = e[won], _WON
    sigma2 = math.log1p(d.value_cv**2)
    amount[won] = rng.lognormal(math.log(d.value_mean) - 0.5 * sigma2, math.sqrt(sigma2), int(won.sum()))

    frame = _frame(it, amount, scenario, rng, year0, w0)
    names = [f"rep{r + 1:02d}" for r in range(R)]
    return SynthExport(frame, abil, names, tuple(range(end_year - years + 1, end_year + 1)), scenario)


def _today(scenario: Scenario) -> Scenario:
    """The scenario under today's (baseline) scheme, whose own hand-off levers apply if it has any."""
    if not hasattr(scenario, "for_scheme"):
        return scenario
    name = scenario.baseline_name
    return scenario.for_scheme(name)


def _genuine_multiplier(handoff, weeks: np.ndarray) -> np.ndarray:
    """Multiply the genuine share by the duplication and feedback levers, by week since the start.

    1 when the scenario's hand-off has no such levers.
    """
    dup = getattr(handoff, "duplicated_share", 0.0)
    gain = getattr(handoff, "feedback_gain", 0.0)
    return (1.0 - dup) * (1.0 + gain * (1.0 - np.exp(-np.asarray(weeks, dtype=float) / WEEKS_PER_YEAR)))


def _frame(it: dict, amount: np.ndarray, scenario: Scenario, rng, year0: int, w0: int) -> pd.DataFrame:
    """Dates on a random day of each event's model week, in order within an item; the export rows."""
    stages = [st.name for st in scenario.funnel.stages]
    km = len(scenario.funnel.marketing_stages)
    # Ids in order of creation over every item (warm-up ones too: recycled_from may point there).
    by_creation = np.lexsort((it["index"], it["created"]))
    id_of = np.empty(it["index"].size, dtype=object)
    id_of[it["index"][by_creation]] = [f"CRM-{k + 1:06d}" for k in range(by_creation.size)]
    keep = it["created"] >= w0
    it = {k: v[keep] for k, v in it.items()}
    amount = amount[keep]

    def day(weeks: np.ndarray) -> np.ndarray:
        out = np.full(weeks.size, np.nan)
        ok = weeks >= 0
        first, length = week_span(year0 * WEEKS_PER_YEAR + weeks[ok])
        out[ok] = first.astype(np.int64) + np.floor(rng.random(ok.sum()) * length)
        return out

    # Event order of an item: created, stage entries up to the hand-off, follow-up, later stages, closed.
    seq = [("created", day(it["created"]))]
    for j in range(1, len(stages)):
        seq.append((stages[j], day(it["entry"][:, j])))
        if j == km:
            seq.append(("followup", day(it["followup"])))
    seq.append(("closed", day(it["closed"])))
    grid = np.column_stack([v for _, v in seq])
    filled = np.fmax.accumulate(np.where(np.isnan(grid), -np.inf, grid), axis=1)
    grid = np.where(np.isnan(grid), np.nan, filled)
    dates = {name: grid[:, i] for i, (name, _) in enumerate(seq)}
    self_src = it["source"] == 1
    dates[stages[km]] = np.where(self_src, dates["created"], dates[stages[km]])

    def iso(x: np.ndarray) -> np.ndarray:
        out = np.full(x.size, "", dtype=object)
        ok = ~np.isnan(x)
        out[ok] = np.datetime_as_string(x[ok].astype(np.int64).astype("datetime64[D]"))
        return out

    order = np.lexsort((it["index"], dates["created"]))
    rec = np.where(it["recycled_from"] >= 0, id_of[np.maximum(it["recycled_from"], 0)], "")
    stage_name = np.array(stages, dtype=object)[it["final"]]
    stage_name = np.where(it["outcome"] == _WON, "won", stage_name)
    owner = np.where(it["rep"] >= 0, np.char.add("rep", np.char.zfill((it["rep"] + 1).astype(str), 2)), "marketing")
    cols = {
        "id": id_of[it["index"]],
        "owner": owner,
        "source": np.where(self_src, "self", "marketing"),
        "created_date": iso(dates["created"]),
    }
    for j in range(1, len(stages)):
        cols[f"{stages[j]}_date"] = iso(dates[stages[j]])
        if j == km:
            cols["followup_date"] = iso(dates["followup"])
    cols["closed_date"] = iso(dates["closed"])
    cols["stage"] = stage_name
    cols["outcome"] = np.array(["open", "won", "lost"], dtype=object)[it["outcome"]]
    cols["amount"] = np.where(np.isnan(amount), "", np.char.mod("%.2f", np.nan_to_num(amount)))
    cols["recycled_from"] = rec
    return pd.DataFrame(cols).iloc[order].reset_index(drop=True)


def expected_estimates(scenario: Scenario, abilities: np.ndarray, years: int = 3) -> dict[str, float]:
    """What a calibration of a synthetic export should recover, given the reps' abilities.

    Dwell times, the hand-off probabilities, the lead rate and deal values are the scenario's
    own. Stage conversions seen in the data are averages over reps and sources: a sales-stage
    conversion is ``conversion x ability ** elasticity`` per rep, and a marketing appointment
    converts at the hand-off stage with ``conversion x conversion(q)`` on average (genuine
    share x conversion_max); the pooled value weights each rep and source by its expected flow
    through the stage (marketing's appointments are shared evenly, self-sourced ones scale
    with ability).

    Parameters
    ----------
    scenario : Scenario
        The scenario the export was generated from.
    abilities : ndarray
        Ability of each rep.
    years : int
        Years in the export (after a warm-up year), for levers that change over time.

    Returns
    -------
    dict of str to float
        Keys as in :mod:`incentsim.crm.estimate` (``funnel.quote.conversion``, ...).
    """
    scenario = _today(scenario)
    f, m, s, h, d = scenario.funnel, scenario.marketing, scenario.sales, scenario.handoff, scenario.deals
    a = np.asarray(abilities, dtype=float)
    R = a.size
    out: dict[str, float] = {"marketing.leads_per_week": m.leads_per_week}
    for st in f.stages:
        out[f"funnel.{st.name}.dwell_weeks"] = st.dwell_weeks
    vol = m.quality.volume(m.quality.baseline)
    for i, st in enumerate(f.marketing_stages):
        out[f"funnel.{st.name}.conversion"] = min(1.0, st.conversion * (vol if i == len(f.marketing_stages) - 1 else 1))
    ss = steady_state(scenario)
    ign_week = ss.ignored / WEEKS_PER_YEAR / R
    self_week = (s.calls_per_week + ign_week * s.calls_per_followup) * s.call_to_appointment * a
    worked_week = ss.worked / WEEKS_PER_YEAR / R
    window = np.arange(WEEKS_PER_YEAR, WEEKS_PER_YEAR * (1 + years))  # after the one warm-up year
    gen = min(
        1.0,
        m.quality.conversion(m.quality.baseline)
        / conversion_max(scenario)
        * float(_genuine_multiplier(h, window).mean()),
    )
    mult = a**scenario.behaviour.conversion_elasticity
    cmax = conversion_max(scenario)
    # Flows per (rep, kind): kind 0 genuine marketing, 1 other marketing, 2 self-sourced.
    flow = np.stack([np.full(R, worked_week * gen), np.full(R, worked_week * (1 - gen)), self_week])
    for j, st in enumerate(f.sales_stages):
        p = np.minimum(1.0, st.conversion * mult)[None, :].repeat(3, axis=0)
        if j == 0:
            p[0] = np.minimum(1.0, st.conversion * cmax * mult)
            p[1] = 0.0
        if flow.sum() > 0:
            out[f"funnel.{st.name}.conversion"] = float((flow * p).sum() / flow.sum())
        if j == 0:
            for key, rows in (("marketing", slice(0, 2)), ("self", slice(2, 3))):
                if flow[rows].sum() > 0:
                    out[f"funnel.{st.name}.conversion.{key}"] = float((flow[rows] * p[rows]).sum() / flow[rows].sum())
        flow = flow * p
    out["handoff.delay_weeks"] = h.delay_weeks
    out["handoff.response_decay_per_week"] = h.response_decay_per_week
    out["handoff.ignored_share"] = h.ignored_share
    out["handoff.recycle_share"] = h.recycle_share
    out["sales.self_appointments_per_week"] = float(self_week.mean())
    out["sales.ability.spread"] = float(a.std(ddof=1) / a.mean()) if R > 1 else 0.0
    out["deals.value_mean"] = d.value_mean
    out["deals.value_cv"] = d.value_cv
    return out


def write_export(frame: pd.DataFrame, path: str) -> None:
    """Write an export atomically (``.csv``; ``.xlsx`` needs openpyxl)."""
    from ..io import with_atomic_file
    from ..scenario.errors import ScenarioError

    if path.lower().endswith((".xlsx", ".xlsm")):
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise ScenarioError(
                path, "", "writing Excel files needs openpyxl: pip install 'incentsim[excel]'"
            ) from None
        with_atomic_file(path, lambda tmp: frame.to_excel(tmp, index=False, engine="openpyxl"))
    else:
        with_atomic_file(path, lambda tmp: frame.to_csv(tmp, index=False))
