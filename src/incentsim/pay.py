"""One home for a role's pay rules (the model page, section "Pay").

A scheme gives each role (marketing, sales) one or more *components*. This module says, once,
what a component measures, its period targets, the money it pays at target, its payout curve with
gate and cap, the year-end true-up and the ratchet. The simulation kernel (through the arrays of
:mod:`incentsim.compile`), the policy solver, ``replay`` and the payout tables all use it; the
curve, true-up and ratchet arithmetic itself is the ``@njit`` code of
:mod:`incentsim.kernels.pay`, so the kernel and everything else evaluate the same lines.

Rules
-----
* **Measure**: what is counted (:data:`MEASURES`): a *source* (the person's own deals, the team's,
  marketing's appointments, or the deals from marketing's appointments), a *unit* (money or a
  count) and a *recognition* (at booking, or in-year margin spread over the 52 weeks after it).
* **Targets**: the annual target of each person (automatic: the expected annual measure at
  today's effort times ``target_level``), split over the component's periods by ``phasing``.
  Targets set by ability (``target_by = "ability"``) scale each rep's target by the expected
  measure of the rep's ability level over the average rep's (:attr:`PayComponent.ability_scale`;
  the level is drawn per replication, so the simulation applies it as the starting target scale).
* **Money at target**: per person and year, the role's ``bonus_at_target`` times the
  component's ``weight``; a commission at an explicit ``rate`` pays rate x annual target at
  100 % (so its curve is in units of rate x target). A period pays its phasing share.
* **Period pay** = money at target x period share x curve(period measure / period target); the
  curve is piecewise linear with a gate (nothing below it) and a cap (the highest multiple).
* **True-up**: at year end, money at target x curve(annual attainment) minus what the periods
  paid, when positive.
* **Ratchet**: next year's target scale moves toward this year's annual attainment by ``up`` of a
  beat and ``down`` of a miss; targets and (for explicit commission) the money scale with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .calendar import period_end_weeks, week_period
from .funnel import ability_target_scale, expected_measure
from .kernels import pay as _kpay
from .scenario.schema import MEASURES, PERIODS, ROLES, Component, Curve, RolePlan, Scenario, Scheme

#: The source each measure counts: the person's own deals, the team's, marketing's appointments,
#: or the deals that came from marketing's appointments.
MEASURE_SOURCE: dict[str, str] = {
    "appointments": "appointments",
    "sourced_bookings": "sourced",
    "own_bookings": "own",
    "team_bookings": "team",
    "own_margin": "own",
    "team_margin": "team",
    "own_wins": "own",
    "team_wins": "team",
}
assert set(MEASURE_SOURCE) == set(MEASURES)
#: Measures that count items (deals or appointments) rather than money.
COUNT_MEASURES = frozenset({"appointments", "own_wins", "team_wins"})
#: Measures recognised as in-year margin: a deal's value spread evenly over the 52 weeks after it.
MARGIN_MEASURES = frozenset({"own_margin", "team_margin"})


def is_count(measure: str) -> bool:
    """Whether ``measure`` counts items (deals, appointments) rather than money."""
    return measure in COUNT_MEASURES


def money_weight(component: Component) -> float:
    """How much of the role's bonus a component carries (explicit commission counts as 1)."""
    return 1.0 if component.commission_rate is not None else component.weight


def headline_component(plan: RolePlan) -> int:
    """Index of the component whose annual attainment is reported as "the" attainment of a
    person (the one carrying most money; the first on ties). Reporting only: behaviour
    anticipates every component."""
    weights = [money_weight(c) for c in plan.components]
    return int(np.argmax(weights))


def resolved_targets(scenario: Scenario, scheme: Scheme) -> dict[tuple[str, int], np.ndarray]:
    """Annual target per person for each (role, component index); automatic ones resolved.

    Returns
    -------
    dict
        ``(role, i) -> ndarray(float, (persons,))`` with persons = reps for sales, 1 for marketing.
    """
    out = {}
    for role in ROLES:
        plan = scheme.plan(role)
        if plan is None:
            continue
        n = scenario.sales.reps if role == "sales" else 1
        for i, c in enumerate(plan.components):
            if c.target is None:
                t = np.full(n, expected_measure(scenario, c.measure, role) * c.target_level)
            else:
                t = np.asarray(c.target, dtype=np.float64) * c.target_level
            out[(role, i)] = np.maximum(t, 1e-9)
    return out


def money_at_target(plan: RolePlan, component: Component, annual_target: np.ndarray) -> np.ndarray:
    """Money per person and year paid at 100 % attainment (currency, shape of ``annual_target``)."""
    annual_target = np.asarray(annual_target, dtype=np.float64)
    if component.commission_rate is not None:
        return component.commission_rate * annual_target
    return np.full(annual_target.shape, plan.bonus_at_target * component.weight)


def curve_arrays(curve: Curve) -> tuple[np.ndarray, np.ndarray, int, int, float, float]:
    """The curve as the kernel takes it: ``(x, y, n, extrapolate, gate, cap)`` (cap ``inf`` if none)."""
    x = np.array([p[0] for p in curve.points], dtype=np.float64)
    y = np.array([p[1] for p in curve.points], dtype=np.float64)
    cap = np.inf if curve.cap is None else float(curve.cap)
    return x, y, len(x), int(curve.extrapolate), float(curve.gate), cap


def curve_multiple(curve: Curve, attainment) -> np.ndarray | float:
    """Payout multiple of ``curve`` at ``attainment`` (a float or an array of any shape)."""
    x, y, n, ext, gate, cap = curve_arrays(curve)
    a = np.asarray(attainment, dtype=np.float64)
    flat = np.ascontiguousarray(a.reshape(-1))
    out = np.empty_like(flat)
    _kpay._curve_many(flat, x, y, n, ext, gate, cap, out)
    return float(out[0]) if a.ndim == 0 else out.reshape(a.shape)


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1)


def true_up(annual_money, annual_multiple, paid) -> np.ndarray | float:
    """Year-end true-up: ``annual_money x annual_multiple - paid`` when positive, else 0.

    The rule is :func:`incentsim.kernels.pay._true_up_extra`, the code the simulation kernel runs;
    this is its elementwise form for Python callers (the policy solver's year-end values,
    :meth:`PayComponent.true_up_extra`).

    Parameters
    ----------
    annual_money, annual_multiple, paid : float or array_like
        Money per year at 100 %, the annual curve's multiple at the year's attainment, and what
        the year's periods paid (currency); broadcast together.

    Returns
    -------
    float or ndarray
        The extra pay (a float when every input is a scalar).
    """
    m, a, p = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (annual_money, annual_multiple, paid)))
    out = np.empty(m.shape)
    _kpay._true_up_many(_flat(m), _flat(a), _flat(p), out.reshape(-1))
    return float(out) if out.ndim == 0 else out


def ratchet_scale(scale, attainment, up: float, down: float) -> np.ndarray | float:
    """Next year's target scale after a year at ``attainment`` (of this year's target x ``scale``).

    The rule is :func:`incentsim.kernels.pay._ratchet_scale`, the code the simulation kernel runs
    at each year end; this is its elementwise form for Python callers.

    Parameters
    ----------
    scale, attainment : float or array_like
        This year's target scale and attainment (broadcast together).
    up, down : float
        Share of a beat (of a miss) by which the target moves toward the result.

    Returns
    -------
    float or ndarray
        The new scale (a float when both inputs are scalars).
    """
    s, a = np.broadcast_arrays(np.asarray(scale, dtype=np.float64), np.asarray(attainment, dtype=np.float64))
    out = np.empty(s.shape)
    _kpay._ratchet_many(_flat(s), _flat(a), float(up), float(down), out.reshape(-1))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True, eq=False)
class PayComponent:
    """One component of a role's plan with everything resolved for one scheme and scenario.

    Attributes
    ----------
    role : str
        ``"marketing"`` or ``"sales"``.
    index : int
        Position in the role's plan.
    component : Component
        The component as written (measure, period, curve, true-up, ratchet ...).
    annual_target : ndarray(float, (persons,))
        Base annual target per person (measure units).
    annual_money : ndarray(float, (persons,))
        Money per person and year at 100 % (currency).
    ability_scale : ndarray(float, (K,)) or None
        Targets set by ability: a rep of ability level k has ``annual_target x ability_scale[k]``
        (and, for an explicit commission rate, the money scaled alike); ``None`` otherwise.
    """

    role: str
    index: int
    component: Component
    annual_target: np.ndarray
    annual_money: np.ndarray
    ability_scale: np.ndarray | None = None

    def __eq__(self, other: object) -> bool:
        # The same component of the same role's plan (also as paid at another ability level): the
        # arrays are derived from it, and comparing them elementwise has no truth value.
        if not isinstance(other, PayComponent):
            return NotImplemented
        return (self.role, self.index, self.component) == (other.role, other.index, other.component)

    def __hash__(self) -> int:
        return hash((self.role, self.index))

    @property
    def by_ability(self) -> bool:
        """Whether each rep's targets depend on its ability level."""
        return self.ability_scale is not None

    def money_factor(self, scale: float) -> float:
        """How the money at 100 % moves when the target is scaled by ``scale``: with it for an
        explicit commission rate (the money is rate x target), not at all for a bonus at target
        (the simulation kernel's ``_period_money``)."""
        return scale if self.scales_with_target else 1.0

    def _target_scaled(self, f: float, ability_scale: np.ndarray | None) -> PayComponent:
        return PayComponent(
            self.role, self.index, self.component, self.annual_target * f, self.annual_money * self.money_factor(f),
            ability_scale,
        )  # fmt: skip

    def at_ability(self, level: int) -> PayComponent:
        """The component as a rep of ability level ``level`` is paid (itself unless targets are by ability)."""
        if self.ability_scale is None:
            return self
        return self._target_scaled(float(self.ability_scale[level]), None)

    def at_scale(self, scale: float) -> PayComponent:
        """The component once a ratchet has moved its target to ``scale`` of the base (money as
        :meth:`money_factor`); targets by ability keep their levels on top."""
        if scale == 1.0:
            return self
        return self._target_scaled(scale, self.ability_scale)

    @property
    def measure(self) -> str:
        """What is counted (one of :data:`MEASURES`)."""
        return self.component.measure

    @property
    def source(self) -> str:
        """``own``, ``team``, ``appointments`` or ``sourced``."""
        return MEASURE_SOURCE[self.component.measure]

    @property
    def counts(self) -> bool:
        """Whether the measure counts items rather than money."""
        return is_count(self.component.measure)

    @property
    def margin(self) -> bool:
        """Whether the measure is in-year recognised margin."""
        return self.component.measure in MARGIN_MEASURES

    @property
    def period(self) -> str:
        """``month``, ``quarter``, ``half`` or ``year``."""
        return self.component.period

    @property
    def n_periods(self) -> int:
        """Target periods in a year."""
        return PERIODS[self.component.period]

    @property
    def persons(self) -> int:
        """Persons with their own target (reps for sales, 1 for marketing)."""
        return len(self.annual_target)

    @property
    def scales_with_target(self) -> bool:
        """Whether the money moves with the target (explicit commission rate: rate x target)."""
        return self.component.commission_rate is not None

    @property
    def weight(self) -> float:
        """Share of the role's bonus (explicit commission: 1)."""
        return money_weight(self.component)

    @cached_property
    def phasing(self) -> np.ndarray:
        """Share of the annual target and money in each period, ``(n_periods,)``."""
        return np.asarray(self.component.phasing, dtype=np.float64)

    @cached_property
    def targets(self) -> np.ndarray:
        """Base target per person and period, ``(persons, n_periods)``."""
        return self.annual_target[:, None] * self.phasing[None, :]

    @cached_property
    def money(self) -> np.ndarray:
        """Money per person and period at 100 %, ``(persons, n_periods)``."""
        return self.annual_money[:, None] * self.phasing[None, :]

    @cached_property
    def week_period(self) -> np.ndarray:
        """Period index of each week, ``(52,)`` int64."""
        return week_period(self.component.period)

    @cached_property
    def week_end(self) -> np.ndarray:
        """Whether each week closes a period, ``(52,)`` bool."""
        return period_end_weeks(self.component.period)

    @cached_property
    def curve(self) -> tuple[np.ndarray, np.ndarray, int, int, float, float]:
        """The curve as kernel arrays (:func:`curve_arrays`)."""
        return curve_arrays(self.component.curve)

    @cached_property
    def max_multiple(self) -> float:
        """Highest multiple the curve can pay (``inf`` when unbounded)."""
        top = self.component.curve.max_payout
        return np.inf if top is None else float(top)

    @property
    def linear_from_zero(self) -> bool:
        """Whether the curve pays in proportion to the measure from zero, without gate or cap (a
        true-up then never adds anything and the period boundaries do not matter)."""
        c = self.component.curve
        pts = c.points
        if c.gate > 0 or c.cap is not None or not c.extrapolate or pts[0] != (0.0, 0.0):
            return False
        slopes = {
            round((y1 - y0) / (x1 - x0), 12) for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True) if x1 > x0
        }
        steps = any(x1 == x0 for (x0, _), (x1, _) in zip(pts[:-1], pts[1:], strict=True))
        return len(slopes) == 1 and not steps

    @property
    def valued_per_unit(self) -> bool:
        """Whether the component pays the same for each unit of its measure whatever was done
        before (proportional from zero, no ratchet): the policy solver values it per unit of
        output and it needs no state axis; every other component is paid on one."""
        return self.linear_from_zero and not self.has_ratchet

    def axis_key(self, period: str | None = None) -> tuple:
        """What makes components share a state axis of the policy solver (and so the deal-timing
        rule of the simulation): source, unit, recognition and ``period`` (default: the
        component's own; ``"year"`` for its year-to-date)."""
        return (self.source, self.counts, self.margin, period or self.period)

    def multiple(self, attainment):
        """Payout multiple at ``attainment`` (float or array)."""
        return curve_multiple(self.component.curve, attainment)

    def period_pay(self, measure, person: int, period: int, scale: float = 1.0):
        """Money paid for a period: money x share x curve(measure / (target x scale)).

        ``scale`` is the ratchet's target scale (explicit commission money scales with it).
        ``measure`` may be an array (the solver's grid).
        """
        target = self.targets[person, period] * scale
        money = self.money[person, period] * self.money_factor(scale)
        return money * self.multiple(np.asarray(measure, dtype=np.float64) / target)

    def true_up_extra(self, year_measure, paid, person: int, scale: float = 1.0):
        """Year-end true-up (0 unless ``true_up``): annual pay on annual attainment minus ``paid``
        (:func:`true_up`; arrays broadcast)."""
        if not self.component.true_up:
            return np.zeros_like(np.asarray(year_measure, dtype=np.float64)) if np.ndim(year_measure) else 0.0
        target = self.annual_target[person] * scale
        money = self.annual_money[person] * self.money_factor(scale)
        return true_up(money, self.multiple(np.asarray(year_measure, dtype=np.float64) / target), paid)

    @property
    def has_ratchet(self) -> bool:
        """Whether next year's target moves with this year's result."""
        return self.component.ratchet_up > 0 or self.component.ratchet_down > 0

    def next_scale(self, attainment, scale=1.0):
        """Next year's target scale after a year at ``attainment`` (of the scaled target):
        :func:`ratchet_scale` with the component's ``ratchet_up`` and ``ratchet_down``."""
        c = self.component
        return ratchet_scale(scale, attainment, c.ratchet_up, c.ratchet_down)


def role_components(scenario: Scenario, scheme: Scheme, role: str) -> tuple[PayComponent, ...]:
    """The resolved components of a role's plan (empty when the role earns no bonus)."""
    plan = scheme.plan(role)
    if plan is None:
        return ()
    targets = resolved_targets(scenario, scheme)
    out = []
    for i, c in enumerate(plan.components):
        annual = targets[(role, i)]
        scale = np.asarray(ability_target_scale(scenario, c.measure)) if c.target_by == "ability" else None
        out.append(PayComponent(role, i, c, annual, money_at_target(plan, c, annual), scale))
    return tuple(out)


def scheme_components(scenario: Scenario, scheme: Scheme) -> tuple[PayComponent, ...]:
    """Every resolved component of a scheme: marketing's first, then sales'."""
    return role_components(scenario, scheme, "marketing") + role_components(scenario, scheme, "sales")


def marginal_pay(component: PayComponent) -> float:
    """Average pay per unit of a component's measure between 50 % and 150 % attainment (currency per
    unit): the slope a person feels on a typical year."""
    slope = component.multiple(1.5) - component.multiple(0.5)
    return float(np.mean(component.annual_money)) * slope / float(np.mean(component.annual_target))


def pass_threshold(components: tuple[PayComponent, ...] | list[PayComponent]) -> float:
    """How much likelier a colleague must be to win a prospect before passing it pays a rep: a deal
    won oneself pays the own and team components, one won by the colleague the team components
    only, so passing pays when ``p_colleague x team > p_own x (own + team)`` (infinite without a
    team component: under individual pay nobody passes)."""
    own = sum(marginal_pay(pc) for pc in components if pc.source == "own")
    team = sum(marginal_pay(pc) for pc in components if pc.source == "team")
    if team <= 0.0:
        return float("inf")
    return 1.0 + own / team
