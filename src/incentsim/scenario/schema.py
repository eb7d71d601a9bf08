"""The scenario as frozen, typed objects (the model: docs/model/index.md; keys: docs/reference/scenario.md).

Build them with :func:`incentsim.scenario.load_scenario` (from a TOML file) or
:func:`incentsim.scenario.scenario_from_dict` (from Python); both validate. Units: time in weeks
(52 a year), money in the scenario's currency, rates per week, probabilities in [0, 1].
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..calendar import MONTHS, PERIODS, WEEKS_PER_YEAR  # noqa: F401  (the calendar's, used here and re-used)

if TYPE_CHECKING:
    from .uncertainty import Uncertainty

#: Measures a scheme component can pay on, and the roles that may use each.
MEASURES: dict[str, tuple[str, ...]] = {
    "appointments": ("marketing",),  # appointments marketing hands over to sales (team count)
    "sourced_bookings": ("marketing",),  # bookings of deals that came from marketing's appointments
    "own_bookings": ("sales",),  # the rep's own bookings (deal value at close)
    "team_bookings": ("marketing", "sales"),  # bookings of the whole company
    "own_margin": ("sales",),  # the rep's in-year recognised margin
    "team_margin": ("marketing", "sales"),  # in-year recognised margin of the whole company
    "own_wins": ("sales",),  # the rep's number of won deals
    "team_wins": ("marketing", "sales"),  # won deals of the whole company
}
ROLES = ("marketing", "sales")
BEHAVIOURS = ("optimising", "fixed")
#: How a component's targets are set: as the scheme writes them, or per rep from ability.
TARGET_BY = ("scheme", "ability")


@dataclass(frozen=True)
class Stage:
    """One funnel stage.

    Attributes
    ----------
    name : str
        Stage name, e.g. ``"quote"``.
    owner : str
        ``"marketing"`` or ``"sales"``.
    dwell_weeks : float
        Mean time an item spends in the stage before it leaves (weeks, >= 1; geometric).
    conversion : float
        Probability that a leaving item advances to the next stage (else it is lost).
    """

    name: str
    owner: str
    dwell_weeks: float
    conversion: float


@dataclass(frozen=True)
class Funnel:
    """The chain of stages: marketing-owned first, then sales-owned; the last advances to won.

    Attributes
    ----------
    stages : tuple of Stage
        In flow order. The first sales stage is the hand-off (``appointment`` by default).
    """

    stages: tuple[Stage, ...]

    @property
    def marketing_stages(self) -> tuple[Stage, ...]:
        """Stages owned by marketing (leads before the hand-off)."""
        return tuple(s for s in self.stages if s.owner == "marketing")

    @property
    def sales_stages(self) -> tuple[Stage, ...]:
        """Stages owned by sales, from the hand-off to the last before won."""
        return tuple(s for s in self.stages if s.owner == "sales")

    @property
    def handoff(self) -> str:
        """Name of the hand-off stage (the first sales stage)."""
        return self.sales_stages[0].name


@dataclass(frozen=True)
class Quality:
    """Marketing's volume-versus-quality trade-off (docs/model/funnel.md).

    Quality focus q in [0, 1]. ``volume(q)`` multiplies the number of appointments handed over,
    ``conversion(q)`` each appointment's chance to convert at the hand-off stage. Both are
    piecewise linear through ``(0, *_at_zero)``, ``(baseline, 1)`` and ``(1, *_at_one)``, so
    today's focus (``baseline``) reproduces the funnel as entered.

    Attributes
    ----------
    baseline : float
        Today's quality focus in [0, 1]: the funnel as entered is what it produces.
    volume_at_zero, volume_at_one : float
        Multiplier of the appointments handed over at focus 0 (all volume) and 1 (all quality).
    conversion_at_zero, conversion_at_one : float
        Multiplier of an appointment's hand-off conversion at focus 0 and 1.
    """

    baseline: float = 0.5
    volume_at_zero: float = 1.4
    volume_at_one: float = 0.7
    conversion_at_zero: float = 0.6
    conversion_at_one: float = 1.35

    def volume(self, q: float) -> float:
        """Appointment volume multiplier at quality focus ``q``."""
        return _through(q, self.baseline, self.volume_at_zero, self.volume_at_one)

    def conversion(self, q: float) -> float:
        """Hand-off stage conversion multiplier at quality focus ``q``."""
        return _through(q, self.baseline, self.conversion_at_zero, self.conversion_at_one)


def _through(q: float, q0: float, at_zero: float, at_one: float) -> float:
    if q <= q0:
        return at_zero + (1.0 - at_zero) * (q / q0) if q0 > 0 else 1.0
    return 1.0 + (at_one - 1.0) * (q - q0) / (1.0 - q0) if q0 < 1 else 1.0


@dataclass(frozen=True)
class Marketing:
    """The marketing team.

    Attributes
    ----------
    headcount : int
        People paid under marketing's scheme (0: no marketing bonus).
    leads_per_week : float
        Mean new leads per week at normal effort (Poisson), before seasonality.
    seasonality : tuple of float
        12 monthly multipliers of the lead rate, normalised to mean 1.
    bonus_at_target : float
        Bonus per person per year at 100 % attainment (currency), unless a scheme overrides it.
    base_salary : float
        Fixed pay per person per year (currency; counts in cost of sales).
    quality : Quality
        Volume-versus-quality trade-off.
    """

    headcount: int = 0
    leads_per_week: float = 0.0
    seasonality: tuple[float, ...] = (1.0,) * 12
    bonus_at_target: float = 0.0
    base_salary: float = 0.0
    quality: Quality = field(default_factory=Quality)


@dataclass(frozen=True)
class Ability:
    """Spread of rep ability: discrete levels (productivity multipliers) and their probabilities.

    Each rep in each replication draws one level (from its own stream), kept for the whole
    replication. A lognormal spread is discretised into equally likely quantile levels.

    Attributes
    ----------
    levels : tuple of float
        Productivity multipliers of the ability levels (1.0 = the funnel as entered).
    weights : tuple of float
        Probability of each level (sums to 1).
    """

    levels: tuple[float, ...] = (1.0,)
    weights: tuple[float, ...] = (1.0,)


@dataclass(frozen=True)
class Sales:
    """The sales team.

    Attributes
    ----------
    reps : int
        Number of sales reps (>= 1).
    calls_per_week : float
        Self-prospecting contacts per rep per week at normal effort.
    call_to_appointment : float
        Probability a contact becomes an appointment (prospect visited).
    calls_per_followup : float
        Contacts a rep could make in the time one handed-over appointment takes to follow up:
        an ignored appointment frees that time for self-prospecting.
    ability : Ability
        Ability levels of reps.
    bonus_at_target, base_salary : float
        Per rep per year (currency), unless a scheme overrides them.
    """

    reps: int = 1
    calls_per_week: float = 0.0
    call_to_appointment: float = 0.25
    calls_per_followup: float = 3.0
    ability: Ability = field(default_factory=Ability)
    bonus_at_target: float = 0.0
    base_salary: float = 0.0


@dataclass(frozen=True)
class Handoff:
    """How marketing's appointments reach sales: the alignment levers that are not pay
    (docs/model/funnel.md).

    Attributes
    ----------
    delay_weeks : float
        Mean wait before sales follows up a handed-over appointment (0: same week).
    response_decay_per_week : float
        Probability per week of waiting that the prospect goes cold (is lost).
    ignored_share : float
        Share of appointments sales never follows up (before behaviour adds its own choice).
    recycle_share : float
        Share of ignored appointments that fall back to marketing as leads (else lost).
    sla_weeks : int or None
        Follow-up service level: an appointment is followed up at the latest after this many
        weeks of waiting (0: the week it arrives); ``None`` for no service level.
    duplicated_share : float
        Share of marketing's appointments that duplicate accounts sales already works (both
        teams on the same accounts): they take follow-up time but never convert.
    feedback_gain : float
        Sales-to-marketing feedback: marketing's targeting improves the genuine share of its
        appointments by up to this fraction, learning with a time constant of a year
        (multiplier ``1 + gain (1 - exp(-weeks / 52))`` from the start of each history).
    relationship : str or None
        The relationship-type preset these levers came from, if any.
    """

    delay_weeks: float = 1.0
    response_decay_per_week: float = 0.0
    ignored_share: float = 0.0
    recycle_share: float = 0.0
    sla_weeks: int | None = None
    duplicated_share: float = 0.0
    feedback_gain: float = 0.0
    relationship: str | None = None


@dataclass(frozen=True)
class Deals:
    """Won-deal value: gross margin of the first 12 months, lognormal.

    Attributes
    ----------
    value_mean : float
        Mean value per won deal (currency).
    value_cv : float
        Coefficient of variation of the value (0: every deal has the mean value).
    """

    value_mean: float = 5000.0
    value_cv: float = 0.0


@dataclass(frozen=True)
class BehaviourParams:
    """How people respond to the scheme (docs/model/solver.md).

    Attributes
    ----------
    effort_levels : tuple of float
        Effort grid (1.0 = today's normal effort).
    conversion_elasticity : float
        Sales-stage conversion multiplier is ``(ability * effort) ** conversion_elasticity``;
        self-prospecting contacts scale linearly with ability * effort.
    quality_levels : tuple of float
        Marketing's quality-focus grid in [0, 1].
    effort_cost_sales, effort_cost_marketing : float or None
        Money-equivalent cost per year of effort 2 versus effort 1; the cost of effort e is
        ``cost x (e^n - 1) / (2^n - 1)`` with n = ``effort_cost_exponent``. ``None`` to calibrate
        so that, under the baseline scheme, the funnel is as entered (reps' expected output at
        today's level, marketing's average effort 1).
    effort_cost_exponent : float
        Convexity n of the effort cost (> 1). Effort then moves with the marginal reward to the
        power 1 / (n - 1): 2 is very responsive, 3 (default) moderate, 5 sluggish.
    quality_cost_marketing : float or None
        Marketing's cost of a low-quality focus q, ``quality_cost x (1 - q)^2`` per year (sales
        complaints, management pressure); ``None`` to calibrate so that, under the baseline
        scheme, marketing keeps today's focus (``marketing.quality.baseline``).
    implicit_incentive : float
        Share of today's incentive to perform that does not come from the bonus (career,
        recognition, the manager's review of one's own results) and so stays whatever the
        scheme: each person values their own results (a rep's bookings, the bookings marketing's
        appointments bring) at this share of today's total marginal reward. 0: all effort above
        the minimum is bought by the bonus (free-riding under team targets is then strongest).
    baseline_scheme : str or None
        Scheme against which the effort cost is calibrated (default: the first scheme).
    annual_discount : float
        How much a bonus paid a year from now is worth to a person today (impatience; compounded
        weekly). Bonuses are paid at the end of their period, effort costs now, so annual pay
        back-loads effort towards the deadline and monthly pay does not.
    pull_in_discount : float
        Price discount on a deal closed early at a period end.
    pull_in_weeks : int
        How far ahead a rep can pull deals at a period end: quotes that would close within this
        many weeks can be closed now (at the discount).
    hold_back_loss : float
        Probability a deal held back into the next period is lost.
    help_gain : float
        Team work, part 1: how much a colleague's help can lift a quote's chance to close (the
        share of the remaining miss chance removed at most). Reps choose to spend ``team_time`` of
        their week on the team (helping colleagues' deals, and at marketing's events) at the cost
        of their own prospecting; help pays under team measures and not under own measures, so
        the trade-off emerges from the scheme. 0: nobody helps (the mechanism is off).
    event_gain : float
        Team work, part 2: how much sales' presence at marketing's events can lift the genuine
        share of marketing's appointments (relative). 0: off.
    team_time : float
        Share of a week a rep spends on the team when helping (helping colleagues and events).
    event_share : float
        Share of that team time spent at marketing's events (the rest helps colleagues' deals).
    monitoring : float
        Mutual monitoring (peer pressure): a rep whose effort falls below the team's mean bears a
        cost ``monitoring x effort cost scale x shortfall^2 x 2 / (reps - 1)`` a year, times the
        share of its pay on team measures (peers only care under shared pay); it fades as the team
        grows. 0 when the team cannot see each other's work.
    passing : float
        Share of new prospects a rep passes to the colleague most likely to win them when that pays
        under the scheme (always under pure team pay, never under own pay). 0: off.
    choice_noise : float
        Scale of the random taste shocks in people's weekly choices (extreme-value, as in
        structural dynamic models), as a share of the role's money at target per week: choices
        are logit, so behaviour moves smoothly with every input. 0: always the single best action.
    grid_points : int
        Points on the attainment grid of the policy solver (a state with one measure axis).
    grid_points_2d : int
        Points per axis when the state has two measure axes (e.g. quarter-to-date and
        year-to-date, or one's own and the team's bookings).
    max_rounds : int
        Maximum best-response rounds between marketing and sales. Where sales' follow-up falls
        late in the year and the fall spreads back a few weeks a round (marketing answering each
        week's follow-up, sales each week's appointments), an equilibrium took up to 39 rounds in 24
        plausible worlds of the bundled company; 20, the old default, left 3 of 36 scheme-worlds
        unsettled (reported, not hidden).
    """

    effort_levels: tuple[float, ...] = tuple(round(0.3 + 0.1 * i, 1) for i in range(18))  # 0.3 .. 2.0
    conversion_elasticity: float = 0.2
    quality_levels: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    effort_cost_sales: float | None = None
    effort_cost_marketing: float | None = None
    effort_cost_exponent: float = 3.0
    quality_cost_marketing: float | None = None
    implicit_incentive: float = 0.7
    baseline_scheme: str | None = None
    annual_discount: float = 0.92
    pull_in_discount: float = 0.1
    pull_in_weeks: int = 4
    hold_back_loss: float = 0.05
    help_gain: float = 0.0
    event_gain: float = 0.0
    team_time: float = 0.15
    event_share: float = 0.3
    monitoring: float = 0.0
    passing: float = 0.0
    choice_noise: float = 0.02
    grid_points: int = 161
    grid_points_2d: int = 31
    max_rounds: int = 50


@dataclass(frozen=True)
class Simulation:
    """Run settings.

    Attributes
    ----------
    replications : int
        Simulated company histories per scheme, or ``"auto"`` (the default): ``compare`` and
        ``report`` then add replications in batches, on the same sequence of replications, until
        the 95 % confidence interval of the verdict's profit difference is narrower than
        ``precision`` of the difference or ``max_replications`` is reached, and say which.
        Commands that simulate a fixed number (``run``, ``forecast``, sweeps) use
        10,000 with ``"auto"``.
    horizon_years : int
        Recorded years per replication (after the burn-in).
    burn_in_years : int
        Unrecorded years that fill the pipeline first.
    seed : int
        Root seed (non-negative).
    behaviour : str
        ``"optimising"`` (people respond to the scheme) or ``"fixed"`` (everyone at normal
        effort and quality: the mechanical baseline).
    precision : float
        With ``replications = "auto"``: the 95 % confidence interval of the verdict's profit
        difference must be narrower than this share of the difference (half-width over
        |difference|; 0.05 = the difference known to within +-5 %).
    max_replications : int
        With ``replications = "auto"``: the most replications per scheme (when the precision is
        not reached by then, the output says so).
    auto : bool
        Whether replications are ``"auto"`` (set by the loader from ``replications``; not a key).
    """

    replications: int = 10000
    horizon_years: int = 1
    burn_in_years: int = 1
    seed: int = 12345
    behaviour: str = "fixed"
    precision: float = 0.05
    max_replications: int = 50_000
    auto: bool = True

    @property
    def replications_text(self) -> str:
        """The replications in words: ``"10,000"`` or ``"auto (to 5% precision, at most 50,000)"``."""
        if not self.auto:
            return f"{self.replications:,}"
        return f"auto (to {self.precision * 100:g}% precision, at most {self.max_replications:,})"


@dataclass(frozen=True)
class Curve:
    """Payout curve on attainment (measure / target), as a multiple of the bonus at target.

    Attributes
    ----------
    points : tuple of (float, float)
        Piecewise-linear points, x non-decreasing; two points at the same x make a step
        (the later y applies from that x on). Below the first point the curve is 0.
    extrapolate : bool
        Beyond the last point, continue the last segment's slope (uncapped) instead of
        holding the last value (capped).
    gate : float
        Threshold: nothing is paid below this attainment.
    cap : float or None
        Maximum payout multiple (``None``: no explicit cap).
    """

    points: tuple[tuple[float, float], ...]
    extrapolate: bool = False
    gate: float = 0.0
    cap: float | None = None

    @property
    def max_payout(self) -> float | None:
        """Highest payout multiple the curve can reach, or ``None`` when unbounded."""
        if self.extrapolate and self._last_slope() > 0:
            return self.cap
        top = max(y for _, y in self.points)
        return top if self.cap is None else min(top, self.cap)

    def _last_slope(self) -> float:
        pts = self.points
        if len(pts) < 2 or pts[-1][0] == pts[-2][0]:
            return 0.0
        return (pts[-1][1] - pts[-2][1]) / (pts[-1][0] - pts[-2][0])


@dataclass(frozen=True)
class Component:
    """One pay component of a role.

    Attributes
    ----------
    measure : str
        One of :data:`MEASURES`.
    period : str
        One of :data:`PERIODS`.
    weight : float
        Share of the role's bonus at target paid through this component.
    target : tuple of float or None
        Annual target per person (one value per rep for sales, one for marketing);
        ``None`` for automatic: the expected annual measure at normal effort.
    target_level : float
        Multiplier on the automatic target (1.1 = a stretch of 10 %).
    phasing : tuple of float
        Share of the annual target (and of the bonus) in each period; sums to 1.
    curve : Curve
        Payout curve on period attainment.
    payout : str
        How the curve was written: ``linear``, ``step``, ``commission`` or ``curve``.
    commission_rate : float or None
        Straight commission at an explicit rate: pay this rate times the measure (the curve is
        in units of rate x target, and the component's bonus at target is rate x target).
        ``None`` otherwise, including commission at ``rate = "auto"`` (the rate that pays the
        bonus at target at 100 %).
    true_up : bool
        At year end, pay the annual curve on annual attainment minus what the periods paid,
        when positive (a missed quarter recovered when the year is hit).
    ratchet_up, ratchet_down : float
        Next year's target moves toward this year's result by ``ratchet_up`` of the gap after
        a beat and by ``ratchet_down`` after a miss (0: no ratchet). A full ratchet (``up = down
        = 1``) sets next year's target to this year's result: quotas from history.
    target_by : str
        ``"scheme"``: the targets as written (automatic ones are the average rep's expectation);
        ``"ability"``: each rep's target is the written one times the expected measure of the
        rep's own ability level over the average rep's (automatic: the expected annual measure
        of the rep's ability level at today's effort, times ``target_level``). Rep-specific
        quotas from ability (the firm is assumed to know it); sales' own measures only.
    """

    measure: str
    period: str = "year"
    weight: float = 1.0
    target: tuple[float, ...] | None = None
    target_level: float = 1.0
    phasing: tuple[float, ...] = (1.0,)
    curve: Curve = field(default_factory=lambda: Curve(((0.0, 0.0), (1.0, 1.0)), extrapolate=True))
    payout: str = "linear"
    commission_rate: float | None = None
    true_up: bool = False
    ratchet_up: float = 0.0
    ratchet_down: float = 0.0
    target_by: str = "scheme"

    @property
    def n_periods(self) -> int:
        """Number of target periods in a year."""
        return PERIODS[self.period]


@dataclass(frozen=True)
class RolePlan:
    """What one role is paid under a scheme.

    Attributes
    ----------
    bonus_at_target : float
        Bonus per person per year at 100 % on every component (currency).
    base_salary : float
        Fixed pay per person per year (currency).
    components : tuple of Component
        Weighted components (weights of non-commission components sum to 1).
    """

    bonus_at_target: float
    base_salary: float
    components: tuple[Component, ...]


@dataclass(frozen=True)
class Scheme:
    """A target and bonus scheme: a plan per role.

    Attributes
    ----------
    name : str
        Key under ``[schemes]``.
    description : str
        One line for reports.
    marketing, sales : RolePlan or None
        ``None`` when the role earns no bonus under this scheme.
    preset : str or None
        The preset it was built from, if any.
    handoff : Handoff or None
        Alignment levers that come with this scheme (a relationship type, a service level),
        replacing the scenario's ``[handoff]``; ``None``: the scenario's.
    """

    name: str
    description: str
    marketing: RolePlan | None
    sales: RolePlan | None
    preset: str | None = None
    handoff: Handoff | None = None

    def plan(self, role: str) -> RolePlan | None:
        """The plan of ``role`` (``"marketing"`` or ``"sales"``)."""
        return self.marketing if role == "marketing" else self.sales

    @cached_property
    def hash(self) -> str:
        """Short SHA-256 of everything that decides what the scheme pays and how people respond
        (all but its name and description); computed once.

        A cache of anything solved for a scheme is keyed by it: a scheme need not be one of its
        scenario's (``incentsim design`` solves candidate plans of one name against the base
        scenario), so the scenario's hash and the scheme's name do not identify its content.
        """
        d = dataclasses.asdict(self)
        d.pop("name", None)
        d.pop("description", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: the company, its funnel and the schemes to compare.

    Attributes
    ----------
    name, description : str
        For reports.
    currency : str
        Currency label (money is in units of it).
    source : str
        File the scenario came from (``"<dict>"`` from Python).
    funnel, marketing, sales, handoff, deals, behaviour, simulation
        The model's parts.
    schemes : dict of str to Scheme
        In file order.
    uncertainty : Uncertainty or None
        The ``[uncertainty]`` table (:mod:`incentsim.scenario.uncertainty`): which inputs are
        uncertain, and how; not part of :attr:`hash` (it changes no simulated number).
    """

    name: str
    description: str
    currency: str
    source: str
    funnel: Funnel
    marketing: Marketing
    sales: Sales
    handoff: Handoff
    deals: Deals
    behaviour: BehaviourParams
    simulation: Simulation
    schemes: dict[str, Scheme]
    uncertainty: Uncertainty | None = None

    def with_simulation(self, **changes) -> Scenario:
        """A copy with some simulation settings changed (replications, seed, behaviour...).

        A number of replications turns ``"auto"`` off; ``replications="auto"`` turns it on.
        """
        if "replications" in changes and "auto" not in changes:
            if changes["replications"] == "auto":
                changes["replications"] = self.simulation.replications
                changes["auto"] = True
            else:
                changes["auto"] = False
        return dataclasses.replace(self, simulation=dataclasses.replace(self.simulation, **changes))

    def for_scheme(self, scheme: Scheme | str) -> Scenario:
        """The scenario as simulated under a scheme: its own hand-off levers, if it has any."""
        if isinstance(scheme, str):
            scheme = self.scheme(scheme)
        if scheme.handoff is None:
            return self
        return dataclasses.replace(self, handoff=scheme.handoff)

    @property
    def baseline_name(self) -> str:
        """The scheme effort costs are calibrated against (today's scheme):
        ``behaviour.baseline_scheme``, else the first scheme."""
        return self.behaviour.baseline_scheme or next(iter(self.schemes))

    def scheme(self, name: str) -> Scheme:
        """The scheme called ``name``; ``KeyError`` with the known names otherwise."""
        try:
            return self.schemes[name]
        except KeyError:
            raise KeyError(f"no scheme {name!r}; the scenario has {', '.join(self.schemes)}") from None

    def to_dict(self) -> dict:
        """Plain nested dict of every input (for reports and provenance); not the ``[uncertainty]`` table."""
        d = dataclasses.asdict(self)
        d.pop("source", None)
        d.pop("uncertainty", None)  # which inputs are uncertain is not an input of the simulation
        return d

    @cached_property
    def hash(self) -> str:
        """Short SHA-256 of all inputs except the run settings (seed, replications); computed once."""
        d = self.to_dict()
        d.pop("simulation", None)
        text = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
