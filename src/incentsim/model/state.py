"""What an agent keeps track of: the state axes of its dynamic programme (model page, "Behaviour:
state").

Every pay component of a role is anticipated, but not every one needs a state:

* a component that pays in proportion to its measure from zero (straight commission: no gate, no
  cap, no steps, no ratchet) is worth the same per unit whatever was done before, so it is valued
  exactly per unit of output, discounted to when each period pays;
* every other component needs the progress of its measure in its open period: an *axis*.
  Components on the same measure and period share an axis. A true-up or a ratchet on a
  component whose period is shorter than a year also needs the year-to-date of its measure (a
  year axis), and a true-up the money already paid this year (the paid axis).

Up to two measure axes (and the paid axis) are solved exactly. When a plan needs more, the axes
carrying the most money are kept and the rest are valued at their expected marginal pay (the
slope of the expected payout under the period measure's distribution at today's output): an
approximation that is reported (``StateDesign.notes``), never silent.

Axis 0 is, where possible, the axis whose output is contained in axis 1's (one's own bookings
inside the team's, a quarter inside its year), so that one increment moves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..calendar import PERIODS
from ..pay import PayComponent


@dataclass
class Guess:
    """What the previous solve said (the fixed point the solver iterates): per axis, the head start
    of each period (its mean, measure units, and its variance), the marginal value of the measure
    at each period start (currency per unit), and the forward pass' period-end distributions. Here,
    not with the solver (``model.agent``), because a policy read from the cache carries one (its
    warm start) and reading it loads no solver."""

    head: list[np.ndarray] = field(default_factory=list)
    head_var: list[np.ndarray] = field(default_factory=list)  # per axis: the head start's variance (units^2)
    mu: list[np.ndarray] = field(default_factory=list)
    end_dist: list[np.ndarray] = field(default_factory=list)  # per axis: (n_periods, G)

_SOURCE_INSIDE = {("own", "team"), ("sourced", "team")}


@dataclass
class AxisSpec:
    """One measure axis of an agent's state.

    Attributes
    ----------
    source : str
        ``own``, ``team``, ``appointments`` or ``sourced``.
    counts : bool
        The measure counts items (deals, appointments) rather than money.
    margin : bool
        In-year recognised margin rather than bookings.
    period : str
        The axis restarts at the end of each of these periods.
    comps : list of PayComponent
        Components paid on this axis' attainment (empty for a year axis kept only for a true-up
        or a ratchet).
    ref : PayComponent
        Component whose targets scale the axis and whose accumulator the kernel reads.
    ref_year : bool
        The axis is the year-to-date of ``ref`` (whose own period is shorter).
    weight : float
        Money per year carried (priority when axes are too many).
    """

    source: str
    counts: bool
    margin: bool
    period: str
    comps: list[PayComponent]
    ref: PayComponent
    ref_year: bool = False
    weight: float = 0.0

    @property
    def key(self) -> tuple:
        """What makes two components share an axis (:meth:`PayComponent.axis_key`)."""
        return self.ref.axis_key(self.period)

    @property
    def n_periods(self) -> int:
        """Periods in a year."""
        return PERIODS[self.period]

    def ref_targets(self, person: int) -> np.ndarray:
        """Target of the reference component per period (measure units), ``(n_periods,)``."""
        if self.ref_year:
            return np.array([self.ref.annual_target[person]])
        return self.ref.targets[person]

    def contains(self, other: AxisSpec) -> bool:
        """Whether every deal counted on ``other`` in its period also counts on this axis."""
        if (self.counts, self.margin) != (other.counts, other.margin):
            return False
        same = self.source == other.source or (other.source, self.source) in _SOURCE_INSIDE
        return same and PERIODS[self.period] <= PERIODS[other.period]


@dataclass
class StateDesign:
    """The state of one role's programme.

    Attributes
    ----------
    axes : list of AxisSpec
        0, 1 or 2 measure axes.
    linear : list of PayComponent
        Components valued exactly per unit of output (proportional pay from zero).
    approximated : list of PayComponent
        Non-linear components without an axis, valued at their expected marginal pay.
    true_up : list of PayComponent
        Components whose true-up is solved on the paid axis (period on axis 0, year on axis 1).
    ratchets : list of tuple of (PayComponent, int)
        Components whose ratchet is anticipated, with the axis carrying their year measure.
    notes : list of str
        Every approximation made, in words.
    """

    axes: list[AxisSpec]
    linear: list[PayComponent] = field(default_factory=list)
    approximated: list[PayComponent] = field(default_factory=list)
    true_up: list[PayComponent] = field(default_factory=list)
    ratchets: list[tuple[PayComponent, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def paid_axis(self) -> bool:
        """Whether the state has the axis of money already paid (a true-up)."""
        return bool(self.true_up)


def _needs_true_up(pc: PayComponent) -> bool:
    return pc.component.true_up and pc.period != "year" and not pc.linear_from_zero


def design_state(comps: tuple[PayComponent, ...] | list[PayComponent], max_axes: int = 2) -> StateDesign:
    """Choose the state axes of a role's plan.

    Parameters
    ----------
    comps : sequence of PayComponent
        The role's resolved components (:func:`incentsim.pay.role_components`).
    max_axes : int
        Measure axes solved exactly.

    Returns
    -------
    StateDesign
    """
    linear = [pc for pc in comps if pc.valued_per_unit]
    rest = [pc for pc in comps if pc not in linear]
    candidates: dict[tuple, AxisSpec] = {}
    for pc in rest:
        key = pc.axis_key()
        w = float(np.mean(pc.annual_money)) * max(1.0, min(pc.max_multiple, 2.0))
        if key not in candidates:
            candidates[key] = AxisSpec(pc.source, pc.counts, pc.margin, pc.period, [], pc)
        candidates[key].comps.append(pc)
        candidates[key].weight += w
    for pc in rest:
        if (_needs_true_up(pc) or pc.has_ratchet) and pc.period != "year":
            key = pc.axis_key("year")
            if key not in candidates:
                candidates[key] = AxisSpec(pc.source, pc.counts, pc.margin, "year", [], pc, ref_year=True)
            candidates[key].weight += 0.5 * float(np.mean(pc.annual_money))
    ranked = sorted(candidates.values(), key=lambda a: -a.weight)
    axes = ranked[:max_axes]
    notes = []
    approximated = []
    for ax in ranked[max_axes:]:
        for pc in ax.comps:
            approximated.append(pc)
            notes.append(
                f"{pc.role} component {pc.index + 1} ({pc.measure} per {pc.period}) is valued at its expected "
                "marginal pay: the plan needs more than two state axes"
            )
    if len(axes) == 2 and axes[1].contains(axes[0]) is False and axes[0].contains(axes[1]):
        axes = [axes[1], axes[0]]
    keys = [a.key for a in axes]
    design = StateDesign(axes=axes, linear=linear, approximated=approximated, notes=notes)
    for pc in rest:
        if _needs_true_up(pc):
            period_axis = keys.index(pc.axis_key()) if pc.axis_key() in keys else -1
            year_axis = keys.index(pc.axis_key("year")) if pc.axis_key("year") in keys else -1
            if period_axis == 0 and year_axis == 1:
                design.true_up.append(pc)
            else:
                notes.append(
                    f"the true-up of {pc.role} component {pc.index + 1} is not anticipated: its period and year "
                    "measures do not both fit in the state"
                )
        if pc.has_ratchet:
            year_key = pc.axis_key("year")
            if year_key in keys:
                design.ratchets.append((pc, keys.index(year_key)))
            else:
                notes.append(
                    f"the ratchet of {pc.role} component {pc.index + 1} is not anticipated: its year measure does "
                    "not fit in the state"
                )
    if len(design.true_up) > 1:
        notes.append("several true-ups share one paid axis: each is settled against their total payments")
    return design
