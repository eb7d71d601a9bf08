"""Replay last year's actual deals under each scheme's payout rules, next to the simulation.

What commercial compensation tools do: take the deals and appointments of a real year, apply a
plan's rules, and show who would have been paid what. The rules are those of
:mod:`incentsim.pay`, applied to calendar months of real dates:

* **Measures** per calendar month of the replayed year: ``appointments`` (marketing's leads
  handed over, by hand-off date), ``sourced_bookings`` (won amounts from marketing's leads),
  ``own_bookings`` / ``own_wins`` (the rep's won deals, by closed date), ``team_bookings`` /
  ``team_wins`` (all), ``own_margin`` / ``team_margin`` (each won deal's amount spread evenly
  over the 364 days after it closed, so last year's December deals count this year).
* **Periods** are calendar months grouped into quarters, halves or the year.
* **Targets, money, curves, true-up**: the rules of :mod:`incentsim.pay` (the same code the
  simulation pays with): annual targets split by ``phasing``, money at target per period, the
  curve with its gate and cap at the period's attainment, and the year-end true-up. A marketing team member's
  bonus is paid to each of ``marketing.headcount`` people. (Ratchets only move later years'
  targets, so they do not change a single replayed year.)

The simulated distribution comes from :func:`incentsim.comparison.compare` with ``fixed``
behaviour (everyone at normal effort: the same mechanical view as the replay) on common random
numbers; last year's position in it is a mid-rank percentile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..pay import PayComponent
from ..scenario.errors import ArgumentError, ScenarioError
from ..scenario.schema import MONTHS, Scenario
from .format import Export

_PERIOD_LABELS = {
    "month": list(MONTHS),
    "quarter": ["Q1", "Q2", "Q3", "Q4"],
    "half": ["H1", "H2"],
    "year": ["year"],
}
_SIM_METRICS = ("revenue", "bonus_cost", "bonus_sales", "bonus_marketing")


@dataclass
class ComponentPay:
    """One person's pay from one component.

    Attributes
    ----------
    measure, period : str
    weight : float
    actual, target, attainment : float
        Annual measure, annual target and their ratio.
    periods : list of tuple
        ``(label, measure, target, payout)`` per period.
    true_up : float
        Year-end true-up paid (0 without one).
    pay : float
        Periods plus true-up.
    """

    measure: str
    period: str
    weight: float
    actual: float
    target: float
    attainment: float
    periods: list[tuple[str, float, float, float]]
    true_up: float
    pay: float


@dataclass
class SchemeReplay:
    """A scheme applied to last year.

    Attributes
    ----------
    scheme, description : str
    marketing : list of ComponentPay
        One marketing team member's components (empty if marketing is not paid).
    marketing_headcount : int
    sales : dict of str to list of ComponentPay
        Each rep's components.
    """

    scheme: str
    description: str
    marketing: list[ComponentPay]
    marketing_headcount: int
    sales: dict[str, list[ComponentPay]]

    @property
    def marketing_each(self) -> float:
        """One marketing team member's bonus."""
        return float(sum(c.pay for c in self.marketing))

    @property
    def bonus_marketing(self) -> float:
        """Marketing's bonus for the team (each member's x headcount)."""
        return self.marketing_each * self.marketing_headcount

    @property
    def rep_pay(self) -> dict[str, float]:
        """Each rep's bonus."""
        return {r: float(sum(c.pay for c in comps)) for r, comps in self.sales.items()}

    @property
    def bonus_sales(self) -> float:
        """All reps' bonuses."""
        return float(sum(self.rep_pay.values()))

    @property
    def bonus_cost(self) -> float:
        """Total bonus cost of the year."""
        return self.bonus_sales + self.bonus_marketing


@dataclass
class Replay:
    """Last year's actuals under each scheme, and (optionally) where they fall in the simulation.

    Attributes
    ----------
    year : int
    scenario : Scenario
    export : Export
    reps : list of str
        Reps active in the year.
    revenue, margin_in_year : float
        Won amounts closed in the year; their in-year recognised margin (previous year's deals
        included).
    wins, appointments : int
    schemes : dict of str to SchemeReplay
    simulated : dict
        ``{scheme: {metric: ndarray}}`` once :meth:`simulate` has run.
    replications : int
    notes : list of str
    """

    year: int
    scenario: Scenario
    export: Export
    reps: list[str]
    revenue: float
    margin_in_year: float
    wins: int
    appointments: int
    schemes: dict[str, SchemeReplay]
    simulated: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    replications: int = 0
    notes: list[str] = field(default_factory=list)

    def actual(self, scheme: str, metric: str) -> float:
        """Last year's value of a simulated metric under a scheme."""
        s = self.schemes[scheme]
        return {
            "revenue": self.revenue,
            "bonus_cost": s.bonus_cost,
            "bonus_sales": s.bonus_sales,
            "bonus_marketing": s.bonus_marketing,
        }[metric]

    def percentile(self, scheme: str, metric: str) -> float:
        """Mid-rank percentile (0-100) of last year's value in the simulated distribution."""
        sim = self.simulated[scheme][metric]
        x = self.actual(scheme, metric)
        tol = 1e-9 * max(1.0, abs(x))
        below = np.mean(sim < x - tol)
        equal = np.mean(np.abs(sim - x) <= tol)
        return float(100.0 * (below + 0.5 * equal))

    def simulate(self, replications: int = 2000, seed: int | None = None, progress=None) -> None:
        """Simulate the scenario's schemes (fixed behaviour, common random numbers) for comparison."""
        from ..comparison import compare

        cmp = compare(
            self.scenario,
            list(self.schemes),
            replications=replications,
            seed=seed,
            behaviour="fixed",
            progress=progress,
            keep=True,  # percentiles of last year within every simulated year
        )
        self.replications = replications
        self.simulated = {
            name: {m: res.metric(m) for m in _SIM_METRICS}
            for name, res in zip(self.schemes, cmp.results.values(), strict=True)
        }

    def report(self) -> str:
        """Payouts per scheme, role and person, with the simulated distribution beside them."""
        return _report(self)


def last_complete_year(export: Export) -> int:
    """The latest calendar year the export covers to its end (its date on or after 25 December)."""
    a = export.as_of
    return a.year if (a.month == 12 and a.day >= 25) else a.year - 1


def replay(export: Export, scenario: Scenario, year: int | None = None) -> Replay:
    """Apply each scheme of ``scenario`` to the deals of ``year`` (default: the last complete one).

    Parameters
    ----------
    export : Export
        The export to replay.
    scenario : Scenario
        Supplies the schemes, automatic targets, bonus at target and marketing headcount.
    year : int, optional
        Calendar year to replay.

    Returns
    -------
    Replay
    """
    it = export.items
    first_created = pd.Timestamp(it["created"].min())
    if year is None:
        year = last_complete_year(export)
        if year < first_created.year:
            raise ArgumentError(
                "year",
                f"the export covers no complete calendar year (from {first_created.date()} to "
                f"{export.as_of.date()}); choose one",
                export.source,
            )
    if year > export.as_of.year or year < first_created.year:
        # (a year the export does not reach replays nothing: every scheme would pay 0 on 0 deals)
        raise ArgumentError(
            "year",
            f"{year} is outside the export, which covers {first_created.date()} to {export.as_of.date()}; "
            f"choose a year from {first_created.year} to {export.as_of.year}",
            export.source,
        )
    notes = []
    if year == export.as_of.year and last_complete_year(export) < year:
        notes.append(f"{year} is not complete in the export (it ends {export.as_of.date()})")
    if first_created > pd.Timestamp(year, 1, 7):
        notes.append(
            f"the export starts {first_created.date()}: deals and appointments of {year} created earlier are missing"
        )
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
    hand = f"date_{export.handoff}"
    sales_item = it["reached"] >= export.handoff_index
    dates = it[["created", hand, "followup", "closed"]]
    in_year = ((dates >= start) & (dates < end)).any(axis=1)
    won = it["outcome"] == "won"
    closed_in = won & (it["closed"] >= start) & (it["closed"] < end)
    reps = sorted(set(it.loc[sales_item & in_year, "owner"]) | set(it.loc[closed_in, "owner"]))
    no_amount = int((closed_in & ~(it["amount"] > 0)).sum())
    if no_amount:
        notes.append(f"{no_amount} deals won in {year} without an amount count as 0")
    m = _monthly(it, export, year, reps)
    schemes = {}
    from ..pay import role_components

    for name, scheme in scenario.schemes.items():
        mkt: list[ComponentPay] = []
        sales: dict[str, list[ComponentPay]] = {r: [] for r in reps}
        for pc in role_components(scenario, scheme, "marketing"):
            mkt.append(_pay(pc, 0, m[pc.measure][0]))
        for pc in role_components(scenario, scheme, "sales"):
            if pc.by_ability and not any(n.startswith(f"{name} sets sales targets by ability") for n in notes):
                # (the simulation scales each rep's target by their ability level; an export does not
                # say which level a real rep is)
                notes.append(
                    f"{name} sets sales targets by ability: replayed on the average rep's target for every rep "
                    f"(the simulation scales it by level: {', '.join(f'{f:.2f}' for f in pc.ability_scale)})"
                )
            person = _rep_persons(pc.annual_target, reps, scenario, name, export.source)
            own = pc.source == "own"
            for ri, rep in enumerate(reps):
                sales[rep].append(_pay(pc, person[ri], m[pc.measure][ri if own else 0]))
        schemes[name] = SchemeReplay(name, scheme.description, mkt, scenario.marketing.headcount, sales)
    if len(reps) != scenario.sales.reps:
        notes.append(
            f"{len(reps)} reps were active in {year}; the scenario (and its simulation) has {scenario.sales.reps}"
        )
    return Replay(
        year=year,
        scenario=scenario,
        export=export,
        reps=reps,
        revenue=float(m["team_bookings"][0].sum()),
        margin_in_year=float(m["team_margin"][0].sum()),
        wins=int(m["team_wins"][0].sum()),
        appointments=int(m["appointments"][0].sum()),
        schemes=schemes,
        notes=notes,
    )


def _rep_persons(annual: np.ndarray, reps: list[str], scenario: Scenario, scheme: str, source: str) -> list[int]:
    """Which of the scenario's per-rep targets applies to each active rep (all the first when equal)."""
    if np.allclose(annual, annual[0]):
        return [0] * len(reps)
    if len(annual) == len(reps):
        return list(range(len(reps)))
    raise ScenarioError(
        scenario.source,
        f"schemes.{scheme}.sales.target",
        f"lists {len(annual)} rep targets but {source} has {len(reps)} active reps; give one target for all",
    )


def _monthly(it: pd.DataFrame, export: Export, year: int, reps: list[str]) -> dict[str, np.ndarray]:
    """Each measure per person (row) and calendar month (column) of ``year``.

    Team measures have one row; own measures one row per rep in ``reps`` order.
    """
    R = len(reps)
    rep_ix = {r: i for i, r in enumerate(reps)}
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
    won = (it["outcome"] == "won").to_numpy()
    closed = pd.DatetimeIndex(it["closed"])
    amount = np.nan_to_num(it["amount"].to_numpy(dtype=float))
    amount = np.where(amount > 0, amount, 0.0)
    in_year = won & np.asarray((closed >= start) & (closed < end))
    month = np.asarray(closed.month.fillna(1), dtype=np.int64) - 1
    mkt = (it["source"] == "marketing").to_numpy()
    owner = it["owner"].map(rep_ix).fillna(-1).to_numpy(dtype=np.int64)

    def by_month(mask, weights=None, rows=None):
        out = np.zeros((1 if rows is None else R, 12))
        sel = mask & (rows >= 0) if rows is not None else mask
        w = np.ones(sel.sum()) if weights is None else weights[sel]
        np.add.at(out, ((rows[sel] if rows is not None else 0), month[sel]), w)
        return out

    hand = pd.DatetimeIndex(it[f"date_{export.handoff}"])
    h_in = mkt & np.asarray((hand >= start) & (hand < end))
    appts = np.zeros((1, 12))
    np.add.at(appts, (0, np.asarray(hand.month.fillna(1), dtype=np.int64)[h_in] - 1), 1.0)

    # In-year margin: a deal's amount spread over the 364 days after it closes.
    bounds = np.array([pd.Timestamp(year, mm, 1).value for mm in range(1, 13)] + [end.value]) // 86_400_000_000_000
    recent = won & np.asarray((closed >= pd.Timestamp(year - 1, 1, 1)) & (closed < end))
    c_day = (closed[recent].asi8 // 86_400_000_000_000)[:, None]
    lo = np.maximum(c_day + 1, bounds[None, :-1])
    hi = np.minimum(c_day + 365, bounds[None, 1:])
    share = np.clip(hi - lo, 0, None) / 364.0 * amount[recent][:, None]
    team_mg = share.sum(axis=0, keepdims=True)
    own_mg = np.zeros((R, 12))
    rows = owner[recent]
    np.add.at(own_mg, rows[rows >= 0], share[rows >= 0])

    return {
        "appointments": appts,
        "sourced_bookings": by_month(in_year & mkt, amount),
        "team_bookings": by_month(in_year, amount),
        "team_wins": by_month(in_year),
        "own_bookings": by_month(in_year, amount, owner),
        "own_wins": by_month(in_year, None, owner),
        "team_margin": team_mg,
        "own_margin": own_mg,
    }


def _pay(pc: PayComponent, person: int, monthly: np.ndarray) -> ComponentPay:
    """The pay rules of :mod:`incentsim.pay` for one person and component over one year."""
    n = pc.n_periods
    measure = monthly.reshape(n, 12 // n).sum(axis=1)
    periods = []
    paid = 0.0
    for kk in range(n):
        pay = float(pc.period_pay(measure[kk], person, kk))
        paid += pay
        periods.append((_PERIOD_LABELS[pc.period][kk], float(measure[kk]), float(pc.targets[person, kk]), pay))
    total = float(measure.sum())
    annual_target = float(pc.annual_target[person])
    extra = float(pc.true_up_extra(total, paid, person))
    c = pc.component
    return ComponentPay(
        c.measure, c.period, c.weight, total, annual_target, total / annual_target, periods, extra, paid + extra
    )


# -- report ---------------------------------------------------------------------------------------


def _money(x: float, cur: str) -> str:
    return f"{x:,.0f} {cur}"


def _report(rp: Replay) -> str:
    sc = rp.scenario
    cur = sc.currency
    L = [
        f"Replay of {rp.year} from {rp.export.source} under the schemes of {sc.name} ({sc.source})",
        f"Actual {rp.year}: revenue (bookings) {_money(rp.revenue, cur)} from {rp.wins:,} won deals by "
        f"{_plural(len(rp.reps), 'rep')}; in-year margin {_money(rp.margin_in_year, cur)}; "
        f"{rp.appointments:,} appointments "
        "handed over by marketing.",
    ]
    ex = rp.export
    if len(ex.bad) or ex.notes:
        L.append(f"Read {ex.rows_read:,} rows, {len(ex.items):,} used, {len(ex.bad):,} set aside:")
        L += [f"  set aside: {line}" for line in ex.bad_summary()]
        L += [f"  note: {n:,} {text}" for text, n in ex.notes.items()]
    for note in rp.notes:
        L.append(f"note: {note}")
    if rp.simulated:
        first = next(iter(rp.simulated))
        sim = rp.simulated[first]["revenue"]
        L.append(
            f"Simulated revenue ({rp.replications:,} company-years, fixed behaviour): "
            f"P5 {_money(np.percentile(sim, 5), cur)}, "
            f"P50 {_money(np.percentile(sim, 50), cur)}, P95 {_money(np.percentile(sim, 95), cur)}; "
            f"{rp.year} is at the {_ordinal(rp.percentile(first, 'revenue'))} percentile."
        )
    for name, s in rp.schemes.items():
        L.append("")
        L.append(f"Scheme {name}" + (f": {s.description}" if s.description else ""))
        if s.marketing:
            comps = "; ".join(_comp_text(c) for c in s.marketing)
            L.append(
                f"  marketing  {s.marketing_headcount} x {_money(s.marketing_each, cur)} = "
                f"{_money(s.bonus_marketing, cur)}   [{comps}]"
            )
        if any(s.sales.values()):
            L.append(f"  sales      {_plural(len(s.sales), 'rep')}, {_money(s.bonus_sales, cur)}")
            width = max(len(r) for r in s.sales)
            for rep, comps in s.sales.items():
                L.append(
                    f"    {rep:<{width}}  {s.rep_pay[rep]:>10,.0f} {cur}   ["
                    + "; ".join(_comp_text(c) for c in comps)
                    + "]"
                )
        line = f"  bonus cost {_money(s.bonus_cost, cur)}"
        if rp.simulated:
            sim = rp.simulated[name]["bonus_cost"]
            line += (
                f"; simulated P5 {_money(np.percentile(sim, 5), cur)}, "
                f"P50 {_money(np.percentile(sim, 50), cur)}, "
                f"P95 {_money(np.percentile(sim, 95), cur)}: {rp.year} at the "
                f"{_ordinal(rp.percentile(name, 'bonus_cost'))} percentile"
            )
        L.append(line)
        if rp.simulated:
            parts = []
            for metric, label in (("bonus_sales", "sales"), ("bonus_marketing", "marketing")):
                if np.any(rp.simulated[name][metric]) or rp.actual(name, metric):
                    parts.append(f"{label} bonus at the {_ordinal(rp.percentile(name, metric))}")
            if parts:
                L.append("  (" + ", ".join(parts) + " percentile)")
    if rp.simulated:
        L.append("")
        L.append(
            "Percentile: share of simulated company-years below last year's figure (ties count half), "
            "on the scenario's funnel at normal effort."
        )
    return "\n".join(L)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _ordinal(p: float) -> str:
    n = int(round(p))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _comp_text(c: ComponentPay) -> str:
    w = f"{c.weight:.0%} " if c.weight < 1 else ""
    extra = f", true-up {c.true_up:,.0f}" if c.true_up > 0 else ""
    per = f" per {c.period}" if c.period != "year" else ""
    return f"{w}{c.measure}{per} {c.actual:,.0f} / {c.target:,.0f} = {c.attainment:.0%}{extra}"
