"""The domain and plausible range of every numeric key of a scenario file: one table.

:data:`LIMITS` maps a key pattern to its :class:`Limit`. The loader (``scenario.load``) checks
every number it reads against its row, so bad input stops with one line naming the file, the key
and the reason; the scenario reference can be generated from the same rows (:func:`rows`).

* The **domain** is what the model can take at all (a probability in [0, 1], a dwell of at least
  one week).
* The **plausible range** is what a real company has; values outside it are refused too, because
  they are typos or unit mistakes (a deal value of 1e308, leads per week in the billions) and
  would overflow the simulation's sums or run for hours. Money is bounded by 1e9 per deal, person
  or year, counts per week by 1e5, multipliers by 10 or 100.

Patterns: ``<stage>`` is any funnel stage, ``<scheme>`` any scheme, ``<role>`` ``marketing`` or
``sales`` (their keys may also sit in ``components[i]``), ``[i]`` any list item and ``[i][0]`` /
``[i][1]`` the two numbers of a pair. Replications are also bounded by memory when per-replication
results are kept (see ``incentsim.memory``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Largest money amount accepted anywhere (per deal, per person and year, per target).
MONEY_MAX = 1e9
#: Largest weekly count (leads, calls).
WEEKLY_COUNT_MAX = 1e5
#: Won deals a year (expected, at normal effort) beyond which a funnel is refused: the simulation
#: draws every deal, so millions a year would run for hours (a cross-key check of the loader).
MAX_WINS_PER_YEAR = 200_000


@dataclass(frozen=True)
class Limit:
    """Domain and plausible range of one numeric key.

    Attributes
    ----------
    key : str
        Key pattern, e.g. ``"funnel.<stage>.dwell_weeks"``.
    kind : str
        ``"number"``, ``"integer"`` or ``"probability"``.
    unit : str
        Unit of the value (``"currency"``, ``"weeks"``, ``"per week"``, ``"multiplier"`` ...).
    lo, hi : float or None
        Domain bounds (``None``: unbounded on that side).
    lo_open, hi_open : bool
        Whether the domain excludes the bound.
    plausible_lo, plausible_hi : float or None
        Plausible range (closed); ``None`` where it adds nothing to the domain.
    meaning : str
        One line for the reference.
    domain_text : str or None
        How to say the domain in an error message, when the plain bounds say it badly.
    """

    key: str
    kind: str
    unit: str
    lo: float | None
    hi: float | None
    plausible_lo: float | None
    plausible_hi: float | None
    meaning: str
    lo_open: bool = False
    hi_open: bool = False
    domain_text: str | None = None

    def domain(self) -> str:
        """The domain in words, e.g. ``"a number >= 1"``."""
        if self.domain_text:
            return self.domain_text
        if self.kind == "probability":
            return "a probability in [0, 1]"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {_g(self.lo)}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {_g(self.hi)}")
        noun = "an integer" if self.kind == "integer" else "a number"
        return f"{noun} {' and '.join(parts)}" if parts else noun

    def plausible(self) -> str:
        """The plausible range in words, e.g. ``"0 to 1e+09 currency"``."""
        lo = self.plausible_lo if self.plausible_lo is not None else self.lo
        hi = self.plausible_hi if self.plausible_hi is not None else self.hi
        unit = f" {self.unit}" if self.unit not in ("", "share", "probability") else ""
        return f"{_g(lo) if lo is not None else '-inf'} to {_g(hi) if hi is not None else 'inf'}{unit}"

    def check(self, value: float) -> str | None:
        """Why ``value`` is refused (domain first, then plausibility), or ``None`` when accepted."""
        if not math.isfinite(value):
            return f"must be a finite number, got {value}"
        lo, hi = self.lo, self.hi
        if self.kind == "integer" and not self.domain_text:
            if lo is not None and value < lo:
                return f"must be at least {_g(lo)}, got {_g(value)}"
            if hi is not None and value > hi:
                return f"must be at most {_g(hi)}, got {_g(value)}"
        if (lo is not None and (value < lo or (self.lo_open and value == lo))) or (
            hi is not None and (value > hi or (self.hi_open and value == hi))
        ):
            return f"must be {self.domain()}, got {_g(value)}"
        if (self.plausible_lo is not None and value < self.plausible_lo) or (
            self.plausible_hi is not None and value > self.plausible_hi
        ):
            return f"{_g(value)} is outside the plausible range ({self.plausible()}): {self.meaning}"
        return None


def _g(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e7:
        return f"{int(x)}"
    return f"{x:g}"


def _money(key: str, meaning: str, *, positive: bool = False) -> Limit:
    return Limit(key, "number", "currency", 0.0, None, None, MONEY_MAX, meaning, lo_open=positive)


def _prob(key: str, meaning: str) -> Limit:
    return Limit(key, "probability", "probability", 0.0, 1.0, None, None, meaning)


_ROWS: list[Limit] = [
    # [simulation]
    Limit("simulation.replications", "integer", "replications", 1, None, None, 100_000_000,
          "simulated company histories (at 10,000 a second, 1e8 take hours; memory bounds them too)"),
    Limit("simulation.precision", "number", "share of the difference", 0.0, 1.0, None, None,
          'with replications = "auto": 95 % CI half-width over the profit difference', lo_open=True),
    Limit("simulation.max_replications", "integer", "replications", 1, None, None, 100_000_000,
          'with replications = "auto": the most replications per scheme'),
    Limit("simulation.horizon_years", "integer", "years", 1, 100, None, None, "recorded years per replication"),
    Limit("simulation.burn_in_years", "integer", "years", 0, 20, None, None, "unrecorded years that fill the pipeline"),
    Limit("simulation.seed", "integer", "", 0, 2**63 - 1, None, None, "root seed"),
    # [funnel.STAGE]
    Limit("funnel.<stage>.dwell_weeks", "number", "weeks", 1.0, None, None, 520.0,
          "mean weeks an item spends in the stage (ten years at most)",
          domain_text="at least 1 week (an item spends at least the week it arrives)"),
    _prob("funnel.<stage>.conversion", "probability that a leaving item advances"),
    # [marketing]
    Limit("marketing.headcount", "integer", "people", 0, None, None, 10_000, "people paid under marketing's scheme"),
    Limit("marketing.leads_per_week", "number", "leads per week", 0.0, None, None, WEEKLY_COUNT_MAX,
          "mean new leads per week"),
    Limit("marketing.seasonality[i]", "number", "multiplier", 0.0, None, None, 10.0,
          "monthly multiplier of the lead rate (normalised to mean 1)"),
    _money("marketing.bonus_at_target", "bonus per person per year at 100 % attainment"),
    _money("marketing.base_salary", "fixed pay per person per year"),
    Limit("marketing.quality.baseline", "number", "focus", 0.0, 1.0, None, None, "today's quality focus",
          lo_open=True, hi_open=True),
    Limit("marketing.quality.volume_at_zero", "number", "multiplier", 0.0, None, None, 100.0,
          "appointment volume multiplier at quality focus 0", lo_open=True),
    Limit("marketing.quality.volume_at_one", "number", "multiplier", 0.0, None, None, 100.0,
          "appointment volume multiplier at quality focus 1", lo_open=True),
    Limit("marketing.quality.conversion_at_zero", "number", "multiplier", 0.0, None, None, 100.0,
          "hand-off conversion multiplier at quality focus 0"),
    Limit("marketing.quality.conversion_at_one", "number", "multiplier", 0.0, None, None, 100.0,
          "hand-off conversion multiplier at quality focus 1", lo_open=True),
    # [sales]
    Limit("sales.reps", "integer", "reps", 1, None, None, 10_000, "sales reps"),
    Limit("sales.calls_per_week", "number", "calls per week", 0.0, None, None, WEEKLY_COUNT_MAX,
          "self-prospecting contacts per rep per week"),
    _prob("sales.call_to_appointment", "probability a contact becomes an appointment"),
    Limit("sales.calls_per_followup", "number", "calls", 0.0, None, None, 1000.0,
          "contacts a rep could make in the time one appointment's follow-up takes"),
    _money("sales.bonus_at_target", "bonus per rep per year at 100 % attainment"),
    _money("sales.base_salary", "fixed pay per rep per year"),
    Limit("sales.ability.levels[i]", "number", "multiplier", 0.0, None, 0.001, 100.0,
          "productivity multiplier of an ability level", lo_open=True,
          domain_text="a positive productivity multiplier"),
    Limit("sales.ability.weights[i]", "number", "weight", 0.0, None, None, 1e6, "relative weight of an ability level"),
    Limit("sales.ability.cv", "number", "", 0.0, 3.0, None, None, "coefficient of variation of rep ability"),
    Limit("sales.ability.types", "integer", "levels", 1, 9, None, None, "equally likely ability levels"),
    # [handoff] (also [schemes.NAME.handoff])
    Limit("handoff.delay_weeks", "number", "weeks", 0.0, 52.0, None, None, "mean wait before sales follows up"),
    _prob("handoff.response_decay_per_week", "probability per week of waiting that the prospect goes cold"),
    _prob("handoff.ignored_share", "share of appointments sales never follows up"),
    _prob("handoff.recycle_share", "share of ignored appointments that fall back to marketing"),
    Limit("handoff.sla_weeks", "integer", "weeks", 0, 26, None, None, "follow-up service level"),
    Limit("handoff.duplicated_share", "number", "share", 0.0, 1.0, None, None,
          "share of appointments on accounts sales already works", hi_open=True),
    Limit("handoff.feedback_gain", "number", "", 0.0, 3.0, None, None, "sales-to-marketing feedback gain"),
    # [deals]
    _money("deals.value_mean", "mean value of a won deal", positive=True),
    Limit("deals.value_cv", "number", "", 0.0, 10.0, None, None, "coefficient of variation of deal values"),
    # [behaviour]
    Limit("behaviour.effort_levels[i]", "number", "effort", 0.0, None, None, 10.0, "effort grid (1 = today)",
          lo_open=True, domain_text="a positive effort level"),
    Limit("behaviour.conversion_elasticity", "number", "", 0.0, 3.0, None, None,
          "elasticity of sales conversions to ability x effort"),
    Limit("behaviour.quality_levels[i]", "number", "focus", 0.0, 1.0, None, None, "marketing's quality-focus grid"),
    Limit("behaviour.effort_cost_sales", "number", "currency", 0.0, None, None, 10 * MONEY_MAX,
          'cost per year of effort 2 versus 1 (or "calibrate")', domain_text='a non-negative number or "calibrate"'),
    Limit("behaviour.effort_cost_marketing", "number", "currency", 0.0, None, None, 10 * MONEY_MAX,
          'cost per year of effort 2 versus 1 (or "calibrate")', domain_text='a non-negative number or "calibrate"'),
    Limit("behaviour.quality_cost_marketing", "number", "currency", 0.0, None, None, 10 * MONEY_MAX,
          'marketing\'s cost of a low-quality focus (or "calibrate")',
          domain_text='a non-negative number or "calibrate"'),
    Limit("behaviour.effort_cost_exponent", "number", "", 1.0, 10.0, None, None, "convexity of the effort cost",
          lo_open=True),
    Limit("behaviour.implicit_incentive", "number", "share", 0.0, 0.95, None, None,
          "share of today's drive that does not come from the bonus"),
    Limit("behaviour.annual_discount", "number", "", 0.05, 1.0, None, None, "worth today of a bonus paid in a year"),
    _prob("behaviour.pull_in_discount", "price discount on a deal pulled in"),
    Limit("behaviour.pull_in_weeks", "integer", "weeks", 1, 13, None, None, "how far ahead deals can be pulled in"),
    _prob("behaviour.hold_back_loss", "probability a held-back deal is lost"),
    Limit("behaviour.choice_noise", "number", "", 0.0, 1.0, None, None, "noise scale of the logit choices"),
    _prob("behaviour.help_gain", "share of a quote's miss chance a colleague's help can remove"),
    Limit("behaviour.event_gain", "number", "", 0.0, 2.0, None, None,
          "relative lift of the genuine share from sales at marketing's events"),
    Limit("behaviour.team_time", "number", "share of a week", 0.0, 0.5, None, None,
          "share of a week a rep spends on the team when helping"),
    _prob("behaviour.event_share", "share of team time spent at marketing's events"),
    Limit("behaviour.monitoring", "number", "", 0.0, 10.0, None, None, "strength of mutual monitoring"),
    _prob("behaviour.passing", "share of new prospects passed to a stronger colleague when it pays"),
    Limit("behaviour.grid_points", "integer", "points", 21, 1001, None, None, "attainment grid of the policy solver"),
    Limit("behaviour.grid_points_2d", "integer", "points", 11, 201, None, None,
          "attainment grid of the second state axis"),
    Limit("behaviour.max_rounds", "integer", "rounds", 1, 200, None, None, "best-response rounds"),
    # [schemes.NAME.ROLE] and its components[i]
    _money("schemes.<scheme>.<role>.bonus_at_target", "bonus per person per year at 100 % attainment"),
    _money("schemes.<scheme>.<role>.base_salary", "fixed pay per person per year"),
    Limit("schemes.<scheme>.<role>.weight", "number", "share", 0.0, 1.0, None, None, "share of the bonus at target"),
    Limit("schemes.<scheme>.<role>.target", "number", "measure units", 0.0, None, None, 1e12,
          "annual target (money or count)", lo_open=True,
          domain_text='a positive number, a list per rep, or "auto"'),
    Limit("schemes.<scheme>.<role>.target[i]", "number", "measure units", 0.0, None, None, 1e12,
          "annual target of one rep", lo_open=True, domain_text="a positive target"),
    Limit("schemes.<scheme>.<role>.target_level", "number", "multiplier", 0.0, None, None, 100.0,
          "multiplier on the automatic target", lo_open=True),
    # A period without a target has no attainment to pay on (the pay rules divide by it).
    Limit("schemes.<scheme>.<role>.targets[i]", "number", "measure units", 0.0, None, None, 1e12,
          "target of one period", lo_open=True,
          domain_text="a positive target (every period needs one: attainment is measured against it)"),
    Limit("schemes.<scheme>.<role>.phasing[i]", "number", "share", 0.0, 1.0, None, None,
          "share of the annual target in one period", lo_open=True,
          domain_text="a share in (0, 1] (every period needs part of the target: attainment is measured against it)"),
    Limit("schemes.<scheme>.<role>.threshold", "number", "attainment", 0.0, None, None, 100.0,
          "gate: nothing is paid below this attainment"),
    Limit("schemes.<scheme>.<role>.cap", "number", "payout multiple", 0.0, None, None, 1000.0,
          "maximum payout as a multiple of the bonus at target", lo_open=True),
    Limit("schemes.<scheme>.<role>.accelerator", "number", "slope", 0.0, None, None, 100.0,
          "payout slope above target"),
    Limit("schemes.<scheme>.<role>.rate", "number", "currency per unit", 0.0, None, None, MONEY_MAX,
          "commission per unit of the measure", lo_open=True, domain_text='a positive rate or "auto"'),
    Limit("schemes.<scheme>.<role>.rate_tiers[i][0]", "number", "attainment", 0.0, None, None, 100.0,
          "attainment where a commission tier starts"),
    Limit("schemes.<scheme>.<role>.rate_tiers[i][1]", "number", "currency per unit", 0.0, None, None, MONEY_MAX,
          "commission rate of a tier"),
    Limit("schemes.<scheme>.<role>.steps[i][0]", "number", "attainment", 0.0, None, None, 100.0,
          "attainment of a step"),
    Limit("schemes.<scheme>.<role>.steps[i][1]", "number", "payout multiple", 0.0, None, None, 1000.0,
          "payout of a step, as a multiple of the bonus at target"),
    Limit("schemes.<scheme>.<role>.points[i][0]", "number", "attainment", 0.0, None, None, 100.0,
          "attainment of a curve point"),
    Limit("schemes.<scheme>.<role>.points[i][1]", "number", "payout multiple", 0.0, None, None, 1000.0,
          "payout of a curve point, as a multiple of the bonus at target"),
    Limit("schemes.<scheme>.<role>.ratchet.up", "number", "share", 0.0, 2.0, None, None,
          "move of next year's target toward a beat"),
    Limit("schemes.<scheme>.<role>.ratchet.down", "number", "share", 0.0, 1.0, None, None,
          "move of next year's target toward a miss"),
]  # fmt: skip

#: Key pattern -> Limit, in reference order.
LIMITS: dict[str, Limit] = {row.key: row for row in _ROWS}


def limit(key: str) -> Limit:
    """The row of a key pattern (``KeyError`` for a pattern the table does not have)."""
    return LIMITS[key]


def rows() -> list[dict]:
    """The table as plain dicts (for a generated reference): key, kind, unit, domain, plausible
    range, meaning, and the bounds as numbers."""
    return [
        {
            "key": r.key,
            "kind": r.kind,
            "unit": r.unit,
            "domain": r.domain(),
            "plausible": r.plausible(),
            "meaning": r.meaning,
            "lo": r.lo,
            "hi": r.hi,
            "lo_open": r.lo_open,
            "hi_open": r.hi_open,
            "plausible_lo": r.plausible_lo,
            "plausible_hi": r.plausible_hi,
        }
        for r in _ROWS
    ]
