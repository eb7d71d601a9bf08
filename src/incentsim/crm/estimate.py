"""Estimate the funnel from a CRM export, each figure with a 95 % interval and its record count.

Model time runs in whole weeks (:func:`incentsim.crm.format.model_week`): an item entering a
stage in week e may first leave it in week e + 1, and leaves a geometric number of weeks later
(weekly leave probability h = 1 / dwell_weeks). What is estimated, and how:

* **Dwell time per stage.** Every week an item sits in a stage after the week it entered is a
  Bernoulli trial with success probability h; an item that left after D weeks gives D trials
  and one event; a still-open item (censored at the export's date) gives the weeks it has sat
  so far and no event, so open items count without bias instead of being dropped. The MLE is
  h = events / trials (exposure), the mean dwell 1 / h; its interval inverts the Wilson
  interval of h. An exit in the entry week (possible in real data, never in the model) counts
  as one week.
* **Conversion per stage** = advanced / decided (items that left the stage), Wilson interval.
  Open items have not decided; with geometric dwell the decision does not depend on time in the
  stage, so leaving them out does not bias it. At the hand-off stage it is shown by source too.
* **Hand-off** (with ``followup_date``): a handed-over appointment waits from its hand-off week;
  each week it is followed up with probability 1 / (1 + delay) (events: follow-ups, trials:
  weeks waited including the hand-off week), else goes cold with probability
  ``response_decay_per_week`` (events: closed lost without follow-up, trials: waiting weeks not
  followed up). Followed up and closed lost the same week counts as ignored (a worked
  appointment stays at least a week); the recycled share is the ignored appointments a
  ``recycled_from`` lead points to. Without the column the hand-off is written as immediate
  and the hand-off stage's dwell and conversion include the wait and the losses in it.
* **Inflow.** New marketing leads (recycled ones excluded) per week, with an exact Poisson
  (chi-square) interval, and per model month, giving the 12 seasonality multipliers relative
  to the week-weighted mean; self-sourced appointments per rep per week likewise.
* **Rep ability.** Over-dispersion of per-rep self-sourced appointment counts (proportional to
  ability in the model): Pearson X^2 of the counts, spread^2 = (X^2 / (R - 1) - 1) / mean count,
  interval by the Q-profile method (X^2 / (1 + mean x spread^2) ~ chi-square(R - 1)). With too
  few self-sourced appointments, per-rep win rates (wins over decided opportunities, which move
  with ability ** (elasticity x sales stages)) instead.
* **Deal value.** Lognormal fit of won amounts (``scipy.stats.lognorm.fit``, location 0);
  interval of the mean by Cox's method, of the CV from the chi-square interval of sigma^2.

Records a figure rests on are counted and printed next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..calendar import WEEK_MONTH
from ..scenario.schema import MONTHS, WEEKS_PER_YEAR
from .format import Export

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """One estimated figure.

    Attributes
    ----------
    key : str
        Where it goes, e.g. ``funnel.quote.conversion`` (scenario keys where there is one).
    label : str
        For the report.
    value, lo, hi : float
        Point estimate and 95 % interval.
    n : int
        Records it rests on.
    records : str
        What the records are (``quotes decided``).
    """

    key: str
    label: str
    value: float
    lo: float
    hi: float
    n: int
    records: str

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the interval."""
        return self.lo <= x <= self.hi


@dataclass
class Calibration:
    """All estimates from one export.

    Attributes
    ----------
    export : Export
    estimates : dict of str to Estimate
        By key, in report order.
    seasonality : list of Estimate
        Lead-rate multiplier per month (Jan..Dec), relative to the week-weighted mean.
    reps : list of str
    first_week, last_week : int
        Global model weeks of the window (the first creation to the export's date).
    per_rep : pandas.DataFrame
        Per rep: self-sourced appointments, appointments received, decided, wins, bookings.
    ability_method : str
        Which signal the ability spread comes from.
    notes : list of str
        Things a reader should know (defaults kept, clamps, same-week exits).
    """

    export: Export
    estimates: dict[str, Estimate]
    seasonality: list[Estimate]
    reps: list[str]
    first_week: int
    last_week: int
    per_rep: pd.DataFrame
    ability_method: str
    notes: list[str] = field(default_factory=list)

    @property
    def weeks(self) -> int:
        """Weeks in the window."""
        return self.last_week - self.first_week + 1

    def __getitem__(self, key: str) -> Estimate:
        return self.estimates[key]

    def get(self, key: str) -> Estimate | None:
        """The estimate of ``key``, or None when the export cannot give it."""
        return self.estimates.get(key)

    def report(self) -> str:
        """The estimates as a text table: value, 95 % interval, records."""
        ex = self.export
        from .format import week_span

        first = week_span(np.array([self.first_week]))[0][0]
        lines = [
            f"Calibrating from {ex.source}: {ex.rows_read:,} rows, {len(ex.items):,} used, {len(ex.bad):,} set aside",
        ]
        for line in ex.bad_summary():
            lines.append(f"  set aside: {line}")
        for text, n in ex.notes.items():
            lines.append(f"  note: {n:,} {text}")
        lines.append(
            f"Window: {first} to {ex.as_of.date()} ({self.weeks:,} weeks: the rows' robust span, from the first "
            f"creation to the export date, open items censored there); "
            f"{_plural(len(self.reps), 'rep')}; funnel {' -> '.join(ex.stages)} -> won, "
            f"hand-off at {ex.handoff}"
        )
        lines.append("")
        w = max(len(e.label) for e in self.estimates.values())
        lines.append(f"{'estimate':<{w}}  {'value':>10}  {'95% CI':>23}  records")
        for e in self.estimates.values():
            lines.append(f"{e.label:<{w}}  {_num(e.value):>10}  {_ci(e):>23}  {e.n:,} {e.records}")
        if any(e.n for e in self.seasonality):
            lines.append("")
            lines.append("Lead seasonality (relative to the mean week; 95% CI):")
            cells = [
                f"{MONTHS[i]} {_num(e.value)} ({_num(e.lo)}-{_num(e.hi)})" if e.n else f"{MONTHS[i]} (no data)"
                for i, e in enumerate(self.seasonality)
            ]
            for i in range(0, 12, 4):
                lines.append("  " + "   ".join(f"{c:<24}" for c in cells[i : i + 4]).rstrip())
        if "sales.ability.spread" in self.estimates:
            lines.append(f"Rep ability spread from {self.ability_method}.")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "inf" if x > 0 else "nan"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.1f}"
    if a >= 10:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _ci(e: Estimate) -> str:
    return f"{_num(e.lo)} to {_num(e.hi)}"


# -- intervals ---------------------------------------------------------------------------------


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k / n (``(0, 1)`` when n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def proportion(key: str, label: str, k: int, n: int, records: str) -> Estimate:
    """A proportion with its Wilson interval."""
    lo, hi = wilson(k, n)
    return Estimate(key, label, k / n if n else float("nan"), lo, hi, int(n), records)


def poisson_rate(k: int, exposure: float) -> tuple[float, float, float]:
    """Rate k / exposure with the exact (chi-square) 95 % interval."""
    from scipy.stats import chi2

    if exposure <= 0:
        return float("nan"), float("nan"), float("nan")
    lo = chi2.ppf(0.025, 2 * k) / 2 / exposure if k > 0 else 0.0
    hi = chi2.ppf(0.975, 2 * k + 2) / 2 / exposure
    return k / exposure, float(lo), float(hi)


def dwell(key: str, label: str, events: int, trials: int, n: int, records: str) -> Estimate:
    """Mean geometric dwell 1 / h from ``events`` in ``trials`` weekly trials (Wilson on h)."""
    if events == 0 or trials == 0:
        return Estimate(key, label, float("nan"), float("nan"), float("inf"), n, records)
    h_lo, h_hi = wilson(events, trials)
    return Estimate(key, label, trials / events, 1.0 / h_hi, 1.0 / h_lo if h_lo > 0 else float("inf"), n, records)


def lognormal_fit(values: np.ndarray) -> tuple[float, float, tuple[float, float], tuple[float, float]]:
    """Lognormal fit (location 0): mean, cv, and their 95 % intervals.

    Returns
    -------
    (mean, cv, (mean_lo, mean_hi), (cv_lo, cv_hi))
    """
    from scipy.stats import chi2, lognorm

    v = np.asarray(values, dtype=float)
    n = v.size
    sigma, _, scale = lognorm.fit(v, floc=0)
    mu = math.log(scale)
    s2 = sigma * sigma * n / (n - 1)  # unbiased log-variance
    mean = math.exp(mu + 0.5 * sigma * sigma)
    cv = math.sqrt(math.expm1(sigma * sigma))
    se = math.sqrt(s2 / n + s2 * s2 / (2 * (n - 1)))  # Cox's method for the log of the mean
    lm = mu + 0.5 * s2
    mean_ci = (math.exp(lm - Z95 * se), math.exp(lm + Z95 * se))
    s2_lo = (n - 1) * s2 / chi2.ppf(0.975, n - 1)
    s2_hi = (n - 1) * s2 / chi2.ppf(0.025, n - 1)
    return mean, cv, mean_ci, (math.sqrt(math.expm1(s2_lo)), math.sqrt(math.expm1(s2_hi)))


def overdispersion_spread(x2: float, df: int, scale: float) -> tuple[float, float, float]:
    """Spread (cv) of a multiplicative effect from a Pearson X^2, with the Q-profile interval.

    Under the model E[X^2] = df (1 + scale x cv^2); the interval solves
    X^2 / (1 + scale x cv^2) = chi-square quantiles with ``df`` degrees of freedom.
    """
    from scipy.stats import chi2

    def cv_at(divisor: float) -> float:
        return math.sqrt(max(0.0, (x2 / divisor - 1.0) / scale))

    return cv_at(df), cv_at(chi2.ppf(0.975, df)), cv_at(chi2.ppf(0.025, df))


# -- the calibration ----------------------------------------------------------------------------


def _record_stage(est: dict, stage: str, nxt: str, e, t, n, a, dec) -> None:
    """Record a stage's dwell-time estimate and, when items were decided, its conversion."""
    est[f"funnel.{stage}.dwell_weeks"] = dwell(
        f"funnel.{stage}.dwell_weeks", f"{stage}: weeks in stage", e, t, n, f"{stage}s"
    )
    if dec:
        est[f"funnel.{stage}.conversion"] = proportion(
            f"funnel.{stage}.conversion", f"{stage}: conversion to {nxt}", a, dec, f"{stage}s decided"
        )


def calibrate(export: Export, elasticity: float = 0.5) -> Calibration:
    """Estimate the funnel of an export.

    Parameters
    ----------
    export : Export
        From :func:`incentsim.crm.format.read_export`.
    elasticity : float
        ``behaviour.conversion_elasticity`` assumed when rep ability has to come from win rates.

    Returns
    -------
    Calibration
    """
    it = export.items
    S = export.stages
    k = export.handoff_index
    last = len(S) - 1
    A = export.as_of_week
    created = export.week("created")
    g0 = int(created.min())
    W = A - g0 + 1
    wk = [export.week(f"date_{s}") for s in S]
    fu = export.week("followup") if export.has_followup else np.full(len(it), -1)
    cl = export.week("closed")
    outcome = it["outcome"].to_numpy()
    reached = it["reached"].to_numpy()
    is_mkt = (it["source"] == "marketing").to_numpy()
    won = outcome == "won"
    lost = outcome == "lost"
    est: dict[str, Estimate] = {}
    notes: list[str] = []

    # -- inflow ---------------------------------------------------------------------------------
    new_lead = is_mkt & (it["recycled_from"].astype(str).str.strip() == "").to_numpy()
    months_of = np.asarray(WEEK_MONTH)[np.arange(g0, A + 1) % WEEKS_PER_YEAR]
    weeks_m = np.bincount(months_of, minlength=12)
    leads_m = np.bincount(np.asarray(WEEK_MONTH)[created[new_lead] % WEEKS_PER_YEAR], minlength=12)
    year_weeks = np.bincount(np.asarray(WEEK_MONTH), minlength=12)
    seen = weeks_m > 0
    rate_m = np.where(seen, leads_m / np.maximum(weeks_m, 1), np.nan)
    n_leads = int(new_lead.sum())
    if n_leads:
        lpw = float(np.nansum(rate_m * year_weeks) / year_weeks[seen].sum())
        _, lo, hi = poisson_rate(n_leads, n_leads / lpw)
        est["marketing.leads_per_week"] = Estimate(
            "marketing.leads_per_week", "marketing leads per week", lpw, lo, hi, n_leads, "new leads"
        )
    else:
        lpw = 0.0
        notes.append("no marketing leads in the export: leads_per_week = 0")
    season = []
    for mth in range(12):
        if seen[mth] and lpw > 0:
            r, lo, hi = poisson_rate(int(leads_m[mth]), float(weeks_m[mth]))
            season.append(
                Estimate(
                    f"marketing.seasonality[{mth}]",
                    MONTHS[mth],
                    r / lpw,
                    lo / lpw,
                    hi / lpw,
                    int(leads_m[mth]),
                    "leads",
                )
            )
        else:
            season.append(
                Estimate(f"marketing.seasonality[{mth}]", MONTHS[mth], 1.0, float("nan"), float("nan"), 0, "leads")
            )
    if lpw > 0 and not seen.all():
        notes.append("the export covers less than a year: months without data get seasonality 1")

    # -- marketing stages ----------------------------------------------------------------------
    same_week = 0
    for j in range(k):
        ent = np.where(is_mkt, wk[j], -1)
        ext, adv = _exits(j, wk, cl, reached, won, lost, last)
        e, t, n, a, dec, sw = _stage_counts(ent, ext, adv, A)
        same_week += sw
        if n == 0:
            continue
        _record_stage(est, S[j], S[j + 1], e, t, n, a, dec)

    # -- hand-off --------------------------------------------------------------------------------
    handed = is_mkt & (wk[k] >= 0)
    ignored = np.zeros(len(it), dtype=bool)
    if export.has_followup and handed.any():
        a0 = wk[k]
        followed = handed & (fu >= 0)
        at_k = handed & (reached == k)
        cold = at_k & (fu < 0) & lost
        waiting = at_k & (fu < 0) & ~lost
        ignored = followed & at_k & lost & (cl == fu)
        f_trials = int((fu - a0 + 1)[followed].sum() + (cl - a0 + 1)[cold].sum() + (A - a0 + 1)[waiting].sum())
        c_trials = int((fu - a0)[followed].sum() + (cl - a0 + 1)[cold].sum() + (A - a0 + 1)[waiting].sum())
        nf, nh = int(followed.sum()), int(handed.sum())
        if nf:
            h_lo, h_hi = wilson(nf, f_trials)
            h = nf / f_trials
            est["handoff.delay_weeks"] = Estimate(
                "handoff.delay_weeks",
                "hand-off: mean wait for follow-up (weeks)",
                1 / h - 1,
                1 / h_hi - 1,
                (1 / h_lo - 1) if h_lo > 0 else float("inf"),
                nh,
                "appointments handed over",
            )
        est["handoff.response_decay_per_week"] = proportion(
            "handoff.response_decay_per_week",
            "hand-off: going cold per week waiting",
            int(cold.sum()),
            c_trials,
            "appointments handed over",
        )
        est["handoff.response_decay_per_week"] = _with_n(est["handoff.response_decay_per_week"], nh)
        est["handoff.ignored_share"] = proportion(
            "handoff.ignored_share",
            "hand-off: ignored after follow-up",
            int(ignored.sum()),
            nf,
            "followed up",
        )
        pool = ignored & (fu < A)
        if export.has_recycled and pool.any():
            pool_ids = set(it.loc[pool, "id"])
            recycled = int(it["recycled_from"].isin(pool_ids).sum())
            est["handoff.recycle_share"] = proportion(
                "handoff.recycle_share",
                "hand-off: ignored that return as leads",
                recycled,
                int(pool.sum()),
                "ignored appointments",
            )
        elif not export.has_recycled:
            notes.append("no recycled_from column: handoff.recycle_share not estimated (kept at 0)")
    elif handed.any():
        notes.append(
            "no followup_date column: the hand-off is written as immediate (delay 0, no decay, none "
            f"ignored) and the {S[k]} stage's dwell and conversion include the wait for follow-up and "
            "the prospects lost in it"
        )

    # -- sales stages -----------------------------------------------------------------------------
    for j in range(k, len(S)):
        ent = wk[j].copy()
        if j == k and export.has_followup:
            # A handed-over appointment enters the stage when it is followed up (the visit).
            ent = np.where(is_mkt, np.where(ignored, -1, fu), ent)
        ext, adv = _exits(j, wk, cl, reached, won, lost, last)
        e, t, n, a, dec, sw = _stage_counts(ent, ext, adv, A)
        same_week += sw
        nxt = S[j + 1] if j < last else "won"
        if n == 0:
            continue
        _record_stage(est, S[j], nxt, e, t, n, a, dec)
        if j == k:
            for src, mask in (("marketing", is_mkt), ("self", ~is_mkt)):
                _, _, _, a_s, dec_s, _ = _stage_counts(np.where(mask, ent, -1), ext, adv, A)
                if dec_s:
                    est[f"funnel.{S[j]}.conversion.{src}"] = proportion(
                        f"funnel.{S[j]}.conversion.{src}",
                        f"  of which {src}-sourced",
                        a_s,
                        dec_s,
                        f"{S[j]}s decided",
                    )
    if same_week:
        notes.append(f"{same_week:,} stage exits in the week of entry counted as one week (the model's minimum)")

    # -- self-sourcing and reps -------------------------------------------------------------------
    reps = export.reps
    R = max(len(reps), 1)
    self_items = ~is_mkt
    n_self = int(self_items.sum())
    r, lo, hi = poisson_rate(n_self, float(R * W))
    est["sales.self_appointments_per_week"] = Estimate(
        "sales.self_appointments_per_week",
        "self-sourced appointments per rep-week",
        r,
        lo,
        hi,
        n_self,
        "self-sourced appointments",
    )
    per_rep = _per_rep(it[reached >= k], reps)
    spread, method = _ability(per_rep, len(S) - k, elasticity)
    if spread is not None:
        est["sales.ability.spread"] = spread
    else:
        notes.append("fewer than 2 reps: no spread of ability (cv 0)")

    # -- deal values ------------------------------------------------------------------------------
    amounts = it.loc[won & (it["amount"] > 0).to_numpy(), "amount"].to_numpy(dtype=float)
    if amounts.size >= 3:
        mean, cv, mci, cci = lognormal_fit(amounts)
        est["deals.value_mean"] = Estimate(
            "deals.value_mean", "deal value: mean", mean, *mci, amounts.size, "won deals with an amount"
        )
        est["deals.value_cv"] = Estimate(
            "deals.value_cv",
            "deal value: coefficient of variation",
            cv,
            *cci,
            amounts.size,
            "won deals with an amount",
        )
    else:
        notes.append("fewer than 3 won deals with an amount: deal values not estimated")

    order = _report_order(S, k)
    est = {key: est[key] for key in order if key in est} | {key: v for key, v in est.items() if key not in order}
    return Calibration(export, est, season, reps, g0, A, per_rep, method, notes)


def _with_n(e: Estimate, n: int) -> Estimate:
    return Estimate(e.key, e.label, e.value, e.lo, e.hi, n, e.records)


def _exits(j, wk, cl, reached, won, lost, last):
    """Exit week of stage j (-1 if still in it or never there) and whether the exit advanced."""
    advanced_next = reached > j
    ext = np.where(advanced_next, wk[j + 1] if j < last else -1, -1)
    if j == last:
        ext = np.where(won, cl, ext)
    closed_here = (reached == j) & (lost | (won & (j == last)))
    ext = np.where(closed_here & lost, cl, ext)
    adv = advanced_next | (won & (j == last))
    return ext, adv


def _stage_counts(ent, ext, adv, A):
    """Events, trials, items, advanced and decided for a stage's entries and exits."""
    inside = ent >= 0
    left = inside & (ext >= 0)
    still = inside & (ext < 0)
    d = ext[left] - ent[left]
    same_week = int((d == 0).sum())
    trials = int(np.maximum(d, 1).sum() + np.maximum(A - ent[still], 0).sum())
    events = int(left.sum())
    return events, trials, int(inside.sum()), int((left & adv).sum()), events, same_week


def _per_rep(sales: pd.DataFrame, reps: list[str]) -> pd.DataFrame:
    """Per rep: self-sourced and received appointments, decided, wins and bookings."""
    g = sales.groupby("owner")
    is_self = sales["source"] == "self"
    decided = sales["outcome"].isin(["won", "lost"])
    df = pd.DataFrame(
        {
            "self_sourced": is_self.groupby(sales["owner"]).sum(),
            "received": (~is_self).groupby(sales["owner"]).sum(),
            "decided": decided.groupby(sales["owner"]).sum(),
            "wins": (sales["outcome"] == "won").groupby(sales["owner"]).sum(),
            "bookings": g["amount"].sum(min_count=1).fillna(0.0),
        }
    )
    return df.reindex(reps).fillna(0).rename_axis("rep").reset_index()


def _ability(per_rep: pd.DataFrame, sales_stages: int, elasticity: float) -> tuple[Estimate | None, str]:
    R = len(per_rep)
    if R < 2:
        return None, "no spread (a single rep)"
    counts = per_rep["self_sourced"].to_numpy(dtype=float)
    if counts.mean() >= 10:
        mean = counts.mean()
        x2 = float(((counts - mean) ** 2).sum() / mean)
        cv, lo, hi = overdispersion_spread(x2, R - 1, mean)
        method = "the over-dispersion of per-rep self-sourced appointment counts (Q-profile interval)"
        return Estimate("sales.ability.spread", "spread of rep ability (cv)", cv, lo, hi, R, "reps"), method
    wins = per_rep["wins"].to_numpy(dtype=float)
    dec = per_rep["decided"].to_numpy(dtype=float)
    ok = dec > 0
    p = wins[ok].sum() / dec[ok].sum() if dec[ok].sum() else 0.0
    if ok.sum() < 2 or p <= 0 or p >= 1:
        return None, "no spread (too little data per rep)"
    var = dec[ok] * p * (1 - p)
    x2 = float(((wins[ok] - dec[ok] * p) ** 2 / var).sum())
    scale = float(dec[ok].mean() * p / (1 - p))
    cv, lo, hi = overdispersion_spread(x2, int(ok.sum()) - 1, scale)
    eps = max(elasticity * sales_stages, 1e-9)
    method = (
        f"per-rep win rates (over-dispersion of wins over decided opportunities; ability moves them with "
        f"elasticity {elasticity:g} x {sales_stages} sales stages)"
    )
    return Estimate(
        "sales.ability.spread",
        "spread of rep ability (cv)",
        cv / eps,
        lo / eps,
        hi / eps,
        int(ok.sum()),
        "reps",
    ), method


def _report_order(S: tuple[str, ...], k: int) -> list[str]:
    keys = ["marketing.leads_per_week"]
    for j in range(k):
        keys += [f"funnel.{S[j]}.dwell_weeks", f"funnel.{S[j]}.conversion"]
    keys += [
        "handoff.delay_weeks",
        "handoff.response_decay_per_week",
        "handoff.ignored_share",
        "handoff.recycle_share",
    ]
    keys += ["sales.self_appointments_per_week"]
    for j in range(k, len(S)):
        keys += [f"funnel.{S[j]}.dwell_weeks", f"funnel.{S[j]}.conversion"]
        if j == k:
            keys += [f"funnel.{S[j]}.conversion.marketing", f"funnel.{S[j]}.conversion.self"]
    keys += ["sales.ability.spread", "deals.value_mean", "deals.value_cv"]
    return keys
