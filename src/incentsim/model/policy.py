"""The policy solver: choices that come from the scheme (model page, "Behaviour").

Each agent (marketing; each rep by ability level and set of targets) solves the dynamic programme
of :mod:`incentsim.model.agent` on the state of :mod:`incentsim.model.state`, anticipating every
component the simulation pays: several components at once, gates, caps and steps on any period,
the year-end true-up, ratchets on any period, rep-specific targets, and the lag between effort and
deals. Team measures add the others' output under their current policies (a mean field), so one
rep's effort moves the team figure by only about 1/R. Marketing and sales best-respond to each
other until their weekly averages stop changing (fictitious play from the third round).

Effort costs are calibrated by revealed preference: under the baseline scheme, reps' expected
output is the funnel as entered and marketing keeps today's effort and focus, so every other
scheme is a counterfactual against an honest baseline.

Public API: :func:`solve_policy` returns a :class:`SolvedPolicy` that answers what each role does
at any week and attainment (:meth:`SolvedPolicy.effort`, :meth:`SolvedPolicy.follow`,
:meth:`SolvedPolicy.timing`, :meth:`SolvedPolicy.quality`) and the expected effort by week.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..calendar import WEEKS_PER_YEAR
from ..compile import SOURCE_CODE, AgentPolicy, CompiledPolicy, component_index, constant_policy
from ..pay import PayComponent, marginal_pay, pass_threshold, role_components
from ..scenario.schema import Scenario, Scheme
from .company import (
    M_APPTS,
    M_EFFORT,
    M_GENUINE,
    M_QUALITY,
    M_SOURCED,
    S_EFFORT,
    S_EVENT,
    S_EXTRA,
    S_HELP,
    S_OWN,
    S_PASSED,
    S_PMKT,
    S_SELF,
    S_WORKED,
    Company,
    MarketingField,
    SalesField,
)
from .state import Guess, StateDesign, design_state

if TYPE_CHECKING:
    # (the solver's problem and its numba kernels load when a policy is solved, not read from the
    # cache: about 10 ms of every command that only reads one)
    from .agent import Rates, Solution

_DEBUG = bool(__import__("os").environ.get("INCENTSIM_DEBUG_EQ"))
TOL = 5e-3  # equilibrium: settled when the best responses' weekly mean effort, quality and follow-up lie closer
#            to the behaviour they answer (:class:`_Damping`)
_CALIBRATION_CACHE: dict[tuple, dict[str, float]] = {}
#: Sources whose deals a rep can hold back or pull in.
_TIMING_SOURCES = ("own", "team")
TIMING_LABELS = ("none", "hold", "pull", "hold excess")


@dataclass
class WarmStart:
    """What a solve leaves for the next solve of a nearby scenario (same structure, nearby numbers):
    the equilibrium's fields, each agent's head starts and marginal values, and the cost scales.

    Results with and without a warm start agree to the solver's tolerances, not bit for bit: a
    study that must give identical results for any number of workers should warm-start each item
    from a start that does not depend on the order items run in (e.g. the nearest of a fixed set of
    anchor items solved first).
    """

    mkt: MarketingField
    sales: SalesField
    guesses: dict = field(default_factory=dict)  # ("marketing", 0, 0) / ("sales", group, level) -> Guess
    kappa: dict | None = None


@dataclass
class SolvedPolicy:
    """A solved scheme: what every role does by week and state, and the equilibrium's averages.

    Attributes
    ----------
    policy : CompiledPolicy
        What the simulation kernel looks up each week.
    info : dict
        Rounds, last change, convergence, cost scales, equilibrium means, the state of each role
        and the approximations made (JSON-ready).
    sales_effort_week : ndarray(float, (K, 52))
        Expected effort of a rep of each ability level by week (from the forward pass).
    follow_week : ndarray(float, (52,))
        Expected share of handed-over appointments sales works, by week.
    marketing_effort_week, marketing_quality_week : ndarray(float, (52,))
        Marketing's expected effort and quality focus by week.
    sales_output_week : ndarray(float, (K, 52))
        Expected wins per rep and week by ability level.
    warm : WarmStart or None
        For warm-starting a nearby solve (``solve_policy(..., start=solved)``); the disk cache
        keeps it with the policy, so a policy read from it starts a solve exactly as the fresh one.
    """

    policy: CompiledPolicy
    info: dict = field(default_factory=dict)
    sales_effort_week: np.ndarray | None = None
    follow_week: np.ndarray | None = None
    marketing_effort_week: np.ndarray | None = None
    marketing_quality_week: np.ndarray | None = None
    sales_output_week: np.ndarray | None = None
    warm: WarmStart | None = None

    # -- questions a user can ask ---------------------------------------------------------------

    def _agent(self, role: str) -> AgentPolicy:
        if role not in ("sales", "marketing"):
            raise ValueError(f"role must be 'sales' or 'marketing', got {role!r}")
        return self.policy.sales if role == "sales" else self.policy.marketing

    def state_axes(self, role: str = "sales") -> list[dict]:
        """What each attainment axis of a role's state measures (component, measure, period)."""
        self._agent(role)
        return list(self.info.get("state", {}).get(role, {}).get("axes", []))

    def _index(self, role: str, ability: int, week: int, attainment, group: int) -> tuple:
        pol = self._agent(role)
        NS = pol.scales.shape[0]
        NG, K = pol.choice.shape[0], pol.choice.shape[1] // NS
        if not 0 <= week < WEEKS_PER_YEAR:
            raise ValueError(f"week must be in 0..51, got {week}")
        if not 0 <= ability < K:
            raise ValueError(f"ability must be a level index in 0..{K - 1}, got {ability}")
        if not 0 <= group < NG:
            raise ValueError(f"group must be in 0..{NG - 1}, got {group}")
        att = np.atleast_1d(np.asarray(attainment, dtype=float))
        G = pol.choice.shape[3:6]
        row = ability * NS + int(np.argmin(np.abs(pol.scales - 1.0)))  # (at the base target)
        idx = []
        for i in range(2):
            if G[i] == 1:
                idx.append(0)
                continue
            x = float(att[i]) if i < len(att) else float(att[0])
            top = float(pol.grid_max[group, row, i])
            idx.append(int(min(G[i] - 1, max(0, round(x / top * (G[i] - 1))))))
        return group, row, week, idx[0], idx[1], 0

    def effort(self, role: str = "sales", ability: int = 0, week: int = 0, attainment=1.0, group: int = 0) -> float:
        """Expected effort (1 = today's normal) of a person of ``role`` at a week and attainment.

        ``attainment`` is the progress of the first state axis (a number), or of both axes (a pair,
        see :meth:`state_axes`), each as a share of its period target including the pipeline
        expected to land before the period ends. ``ability``: level index (sales).
        """
        g, k, w, i, j, pl = self._index(role, ability, week, attainment, group)
        return float(self._agent(role).choice[g, k, w, i, j, pl, 0])

    def follow(self, ability: int = 0, week: int = 0, attainment=1.0, group: int = 0) -> float:
        """Expected share of marketing's reachable appointments a rep works."""
        g, k, w, i, j, pl = self._index("sales", ability, week, attainment, group)
        return float(self.policy.sales.choice[g, k, w, i, j, pl, 1])

    def quality(self, week: int = 0, attainment=1.0) -> float:
        """Marketing's expected quality focus (0 pure volume, 1 pure quality)."""
        g, k, w, i, j, pl = self._index("marketing", 0, week, attainment, 0)
        return float(self.policy.marketing.choice[g, k, w, i, j, pl, 1])

    def timing(self, ability: int = 0, week: int = 0, attainment=1.0, group: int = 0) -> str:
        """Deal timing in the week: ``"none"``, ``"hold"`` (every ready deal into the next
        period), ``"hold excess"`` (the ready deals that no longer raise this period's pay) or
        ``"pull"`` (next weeks' deals in, at a discount)."""
        g, k, w, i, j, pl = self._index("sales", ability, week, attainment, group)
        return TIMING_LABELS[int(self.policy.sales.timing[g, k, w, i, j, pl])]

    def effort_profile(self):
        """Expected effort by week and ability level (and marketing), as a tidy pandas table."""
        import pandas as pd

        rows = []
        K = self.sales_effort_week.shape[0]
        for k in range(K):
            for w in range(WEEKS_PER_YEAR):
                rows.append(
                    {"role": "sales", "ability_level": k, "week": w, "effort": float(self.sales_effort_week[k, w])}
                )
        for w in range(WEEKS_PER_YEAR):
            rows.append(
                {"role": "marketing", "ability_level": 0, "week": w, "effort": float(self.marketing_effort_week[w])}
            )
        return pd.DataFrame(rows)


# -- setting up the roles -------------------------------------------------------------------------


@dataclass
class _Role:
    """One role's plan under a scheme: its components, state, and (sales) target groups."""

    name: str
    comps: tuple[PayComponent, ...]
    design: StateDesign
    persons: list[int]  # representative person of each target group
    group_of: np.ndarray  # (persons,) group index of each person
    group_share: np.ndarray  # (NG,) share of persons in each group
    team_work: bool = False  # reps may spend time on the team (help, events): a team measure pays it
    team_share: float = 0.0  # share of the role's money at target on team measures
    pass_threshold: float = float("inf")  # see incentsim.pay.pass_threshold
    level_designs: tuple[StateDesign, ...] | None = None  # per ability level, when targets are by ability

    @property
    def paid(self) -> bool:
        """Whether the role earns any bonus (a plan with zero money at target is fixed pay)."""
        return any(float(np.mean(pc.annual_money)) > 0 for pc in self.comps)

    def design_at(self, level: int) -> StateDesign:
        """The state design a rep of ability level ``level`` solves (its own targets)."""
        return self.design if self.level_designs is None else self.level_designs[level]

    @property
    def timing_on(self) -> bool:
        return self.name == "sales" and any(
            ax.source in _TIMING_SOURCES and not ax.margin for ax in self.design.axes[:1]
        )


#: Target scales (of the base target) at which a role whose plan has a ratchet is solved: a ratchet
#: moves each person's target from year to year, and a target 20 % higher is a different problem
#: (each unit of output is less of it; an explicit commission's money moves with it). The kernel
#: blends the two solved scales around a person's current one (log-linear); beyond the ends, the
#: end policy. Spaced about 1.2x apart around 1: a year at 70 % attainment under ``down = 1``, or
#: at 145 % under ``up = 1``, is inside.
RATCHET_SCALES = (0.7, 0.84, 1.0, 1.2, 1.45)


def _ratchet_component(comps) -> PayComponent | None:
    """The ratcheted component whose target scale selects a role's policy: of the role's ratcheted
    components, the one carrying most money at target (several with different ratchets share its
    scale: their targets drift apart only as far as their ratchets differ)."""
    ratcheted = [pc for pc in comps if pc.has_ratchet]
    if not ratcheted:
        return None
    return max(ratcheted, key=lambda pc: float(np.mean(pc.annual_money)))


def _role(sc: Scenario, scheme: Scheme, name: str, ratchet_scale: float = 1.0) -> _Role:
    """A role's plan under a scheme; with ``ratchet_scale``, its ratcheted components' targets at that
    scale of the base (:data:`RATCHET_SCALES`)."""
    comps = role_components(sc, scheme, name) if (name == "sales" or sc.marketing.headcount > 0) else ()
    if ratchet_scale != 1.0:
        comps = tuple(pc.at_scale(ratchet_scale) if pc.has_ratchet else pc for pc in comps)
    design = design_state(comps)
    n = sc.sales.reps if name == "sales" else 1
    keys: dict[tuple, int] = {}
    group_of = np.zeros(n, dtype=np.int64)
    persons = []
    for p in range(n):
        key = tuple(round(float(pc.annual_target[p]), 9) for pc in comps)
        if key not in keys:
            keys[key] = len(keys)
            persons.append(p)
        group_of[p] = keys[key]
    share = np.bincount(group_of, minlength=len(persons)) / n
    money = sum(float(np.mean(pc.annual_money)) for pc in comps)
    team_money = sum(float(np.mean(pc.annual_money)) for pc in comps if pc.source == "team")
    b = sc.behaviour
    team_work = name == "sales" and team_money > 0 and (b.help_gain > 0 or b.event_gain > 0) and sc.sales.reps > 1
    levels = None
    if any(pc.by_ability for pc in comps):
        levels = tuple(_at_level(design, k) for k in range(len(sc.sales.ability.levels)))
    return _Role(
        name, comps, design, persons, group_of, share, team_work=team_work,
        team_share=team_money / money if money > 0 else 0.0, pass_threshold=pass_threshold(comps),
        level_designs=levels,
    )  # fmt: skip


def _at_level(design: StateDesign, level: int) -> StateDesign:
    """The same state design with every component at ability level ``level``'s targets (the axes,
    and so the kernel's reading of them, stay those of the role)."""
    import dataclasses

    def at(pc: PayComponent) -> PayComponent:
        return pc.at_ability(level)

    axes = [dataclasses.replace(ax, comps=[at(pc) for pc in ax.comps], ref=at(ax.ref)) for ax in design.axes]
    return dataclasses.replace(
        design, axes=axes, linear=[at(pc) for pc in design.linear], approximated=[at(pc) for pc in design.approximated],
        true_up=[at(pc) for pc in design.true_up], ratchets=[(at(pc), i) for pc, i in design.ratchets],
    )  # fmt: skip


def _sales_rates(co: Company, role: _Role, k: int, mkt: MarketingField, others: SalesField, kappa: float) -> Rates:
    from .agent import Rates

    actions = co.sales_action_table(role.team_work)
    r = co.sales_rates(float(co.levels[k]), mkt, others, actions=actions, k=k, pass_threshold=role.pass_threshold)
    extra_cost = np.zeros(r.shape[:2])
    b = co.sc.behaviour
    if b.monitoring > 0 and co.R > 1 and role.team_share > 0:
        # Mutual monitoring: falling below the colleagues' mean effort costs something socially,
        # when the shortfall costs them pay (team measures), fading with the team's size.
        short = np.maximum(others.effort[:, None] - actions[None, :, 0], 0.0)
        scale = b.monitoring * kappa / WEEKS_PER_YEAR * 2.0 / (co.R - 1) * role.team_share
        extra_cost = scale * short**2
    return Rates(
        action={"own": r[:, :, S_OWN], "team_extra": r[:, :, S_EXTRA]},
        others={"team": (co.R - 1) * others.own_wins},
        qty=r,
        own_value=r[:, :, S_OWN] * co.value_mean,
        extra_cost=extra_cost,
    )


def _marketing_rates(co: Company, sales: SalesField) -> Rates:
    from .agent import Rates

    r = co.marketing_rates(sales)
    return Rates(
        action={"appointments": r[:, :, M_APPTS], "sourced": r[:, :, M_SOURCED]},
        others={"team": co.R * sales.self_wins},
        qty=r,
        own_value=r[:, :, M_SOURCED] * co.value_mean,
    )


# -- solving each side ----------------------------------------------------------------------------


def _solve_sales(sc, co, role: _Role, kappa, psi, mkt, others, guesses) -> dict[tuple[int, int], Solution]:
    """Best responses of every (target group, ability level) of reps: independent problems, solved
    side by side in threads (:func:`_in_threads`)."""
    from .agent import build_problem, solve

    actions = co.sales_action_table(role.team_work)
    keys = [(g, k) for g in range(len(role.persons)) for k in range(len(co.levels))]

    def best_response(key: tuple[int, int]) -> Solution:
        g, k = key
        rates = _sales_rates(co, role, k, mkt, others, kappa)
        guess = guesses.get(key)
        pb = build_problem(
            sc, co, "sales", role.design_at(k), role.persons[g], float(co.levels[k]), rates, actions, kappa, 0.0,
            psi, guess, role.timing_on,
        )  # fmt: skip
        return solve(pb, co, actions, rates.qty, guess, role.timing_on)

    return dict(zip(keys, _in_threads(best_response, keys), strict=True))


#: Thread pools for :func:`_in_threads`, by size (made on first use, kept for the process).
_SOLVE_POOLS: dict = {}


def _in_threads(fn, items: list) -> list:
    """``[fn(x) for x in items]``, run in up to numba's thread count of threads (the solver's
    kernels release the GIL). Each item is computed exactly as alone, so the result does not depend
    on the thread count; with one thread (batch runs and plausible worlds set one per item) or one
    item, in this thread. An item's exception is raised here."""
    from ..threads import thread_count

    threads = min(thread_count(), len(items))
    if threads <= 1:
        return [fn(x) for x in items]
    pool = _SOLVE_POOLS.get(threads)
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _SOLVE_POOLS.setdefault(threads, ThreadPoolExecutor(threads, thread_name_prefix="incentsim-solve"))
    futures = [pool.submit(fn, x) for x in items]
    return [f.result() for f in futures]


def _solve_marketing(sc, co, role: _Role, kappa_e, kappa_q, psi, sales, guess) -> Solution:
    from .agent import build_problem, solve

    rates = _marketing_rates(co, sales)
    pb = build_problem(
        sc, co, "marketing", role.design, 0, 1.0, rates, co.mkt_actions, kappa_e, kappa_q, psi, guess, False
    )
    return solve(pb, co, co.mkt_actions, rates.qty, guess, False)


def _sales_field(co: Company, role: _Role, sols: dict, mkt: MarketingField) -> SalesField:
    m = np.zeros((WEEKS_PER_YEAR, 12))
    for (g, k), sol in sols.items():
        m += role.group_share[g] * co.weights[k] * sol.mean
    arriving = mkt.appts / co.R * co.survive * co.work_base
    follow = np.divide(m[:, S_WORKED], arriving, out=np.ones(WEEKS_PER_YEAR), where=arriving > 0)
    return SalesField(
        follow=np.clip(follow, 0.0, 1.0), p_mkt=m[:, S_PMKT], self_wins=m[:, S_SELF], own_wins=m[:, S_OWN],
        effort=m[:, S_EFFORT], help=m[:, S_HELP], events=m[:, S_EVENT], passed=m[:, S_PASSED],
    )  # fmt: skip


def _marketing_field(co: Company, sol: Solution) -> MarketingField:
    m = sol.mean
    appts = m[:, M_APPTS]
    genuine = np.divide(m[:, M_GENUINE], appts, out=np.full(WEEKS_PER_YEAR, co.genuine(co.q0)), where=appts > 0)
    return MarketingField(appts=appts, genuine=genuine, effort=m[:, M_EFFORT], quality=m[:, M_QUALITY])


def _damp(old, new, weight: float):
    """The field each side responds to moves ``weight`` of the way to the other side's newest best
    response (1: plain best response)."""
    if weight >= 1.0:
        return new
    cls = type(new)
    return cls(**{k: (1.0 - weight) * getattr(old, k) + weight * getattr(new, k) for k in new.__dataclass_fields__})


class _Damping:
    """How far each round's fields move toward the newest best responses, and how far they are
    from them (one rule for the equilibrium and the calibration).

    A round's best responses ``B(x)`` to the fields ``x`` leave a residual ``r = B(x) - x``; the
    fields move ``weight * r``. The weight that would land on the fixed point in one step along the
    last move is ``-1 / J``, with ``J`` the residual's slope along that move (a secant: ``J = dr.dx
    / dx.dx`` from two rounds' residuals and the move between them). Responses that barely react to
    the fields (``J`` near -1) get plain best responses; responses that overshoot (marketing
    switching to volume and sales answering by ignoring its appointments, or sales' follow-up
    flipping between two states each round: ``J`` below -1) get the damping that cancels the
    overshoot, at least 0.1; the next weight is the geometric mean of the last one and that (read
    after a short step and after a long one, the secant alone could alternate between two weights).
    Where the slope is not negative (no contraction to measure) the weight halves. A fixed halving
    on each stall instead left the fields creeping a few per cent a round toward best responses that
    sat still, and a tiny weight made a small move look like convergence: hence the residual, not
    the move, is what must fall below the tolerance.

    Parameters
    ----------
    secant_from : int
        The first round whose secant sets the weight; the rounds before it take plain best
        responses (the calibration moves its cost scales on its first rounds, which moves the best
        responses themselves: no slope of the fields can be read then).
    """

    LOWEST = 0.1

    def __init__(self, secant_from: int) -> None:
        self.secant_from = secant_from
        self.weight = 1.0
        self.residual = math.inf
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, rounds: int, fields: list, best: list) -> float:
        """Read this round's residual (``best`` responses minus the ``fields`` they responded to,
        arrays in the same order: the fields that respond, before this round's move), set the next
        round's weight; return the residual's largest entry, which the caller compares with the
        tolerance."""
        r = np.concatenate([np.ravel(b - a) for a, b in zip(fields, best, strict=True)]) if fields else np.zeros(0)
        move = self.weight * r
        self.residual = float(np.max(np.abs(r))) if r.size else 0.0
        last, self._last = self._last, (move, r)
        if rounds >= self.secant_from and last is not None:
            dx, r_before = last
            dxx = float(dx @ dx)
            slope = float((r - r_before) @ dx) / dxx if dxx > 0.0 else 0.0
            if slope < 0.0:
                # (half way, in proportion, from the last weight to the secant's: the secant read
                # after a short step and after a long one can alternate between two weights)
                secant = min(1.0, max(self.LOWEST, -1.0 / slope))
                self.weight = math.sqrt(self.weight * secant)
            else:
                self.weight = max(self.LOWEST, self.weight * 0.5)
        return self.residual


@dataclass
class _Equilibrium:
    mkt_sol: Solution | None
    sales_sols: dict | None
    mkt: MarketingField
    sales: SalesField
    rounds: int
    change: float


def _equilibrium(
    sc, co, scheme, kappa: dict, roles: dict[str, _Role], max_rounds: int, start: WarmStart | None = None
) -> _Equilibrium:
    """Marketing and sales best-respond to each other until their weekly averages settle (from the
    fields of ``start`` when given, else from everyone at today's behaviour)."""
    mkt_role, sales_role = roles["marketing"], roles["sales"]
    mkt = start.mkt if start else co.fixed_marketing()
    sales = start.sales if start else co.fixed_sales(mkt)
    first_guesses = dict(start.guesses) if start else {}
    mkt_sol = None
    sales_sols = None
    change = 0.0
    rounds = 0
    damping = _Damping(secant_from=2)
    for rounds in range(1, max_rounds + 1):
        weight = damping.weight
        fields, best = [], []  # (the responding fields before the move, and their best responses)
        if mkt_role.paid:
            guess = mkt_sol.guess if mkt_sol is not None else first_guesses.get(("marketing", 0, 0))
            mkt_sol = _solve_marketing(
                sc, co, mkt_role, kappa["marketing"], kappa.get("marketing_quality", 0.0),
                kappa.get("implicit_marketing", 0.0), sales, guess,
            )  # fmt: skip
            response = _marketing_field(co, mkt_sol)
            fields += [mkt.effort, mkt.quality]
            best += [response.effort, response.quality]
            mkt = _damp(mkt, response, weight)
        if sales_role.paid or kappa.get("implicit_sales", 0.0) > 0.0:
            if sales_sols is not None:
                guesses = {key: s.guess for key, s in sales_sols.items()}
            else:
                guesses = {key[1:]: g for key, g in first_guesses.items() if key[0] == "sales"}
            sales_sols = _solve_sales(
                sc, co, sales_role, kappa["sales"], kappa.get("implicit_sales", 0.0), mkt, sales, guesses
            )
            response = _sales_field(co, sales_role, sales_sols, mkt)
            fields += [sales.effort, sales.follow]
            best += [response.effort, response.follow]
            sales = _damp(sales, response, weight)
        else:
            sales = co.fixed_sales(mkt)
        change = damping.update(rounds, fields, best)
        if _DEBUG:
            print("round", rounds, "residual", change, "weight", weight)
        if rounds > 1 and change < TOL:
            break
        if not mkt_role.paid and not sales_role.paid:
            break
    return _Equilibrium(mkt_sol, sales_sols, mkt, sales, rounds, change)


# -- calibration ----------------------------------------------------------------------------------


def marginal_bonus_value(sc: Scenario, scheme: Scheme, role: str) -> float:
    """Bonus earned at the margin per unit of the role's own results (currency per currency).

    Own results: a rep's bookings; for marketing, the bookings its appointments bring. Each pay
    component contributes its average slope (between 50 % and 150 % attainment) per unit of its
    measure, converted to own results; team measures count one's own results one for one.
    """
    from ..funnel import steady_state

    ss = steady_state(sc)
    v = sc.deals.value_mean
    per_appt = v * ss.marketing_wins / ss.appointments if ss.appointments > 0 else v
    total = 0.0
    for pc in role_components(sc, scheme, role):
        per_unit = marginal_pay(pc)
        if pc.counts:  # per deal (or appointment): per unit of the bookings it brings
            per_unit /= per_appt if pc.measure == "appointments" else v
        total += per_unit
    return total


class _Secant:
    """Root of ``f(x) = 0`` for a smooth monotone ``f`` observed one value at a time (x: log of a cost
    scale, f: log of the response over its target): secant steps from a stated first slope, each step
    at most a factor e^1.5, the slope kept of the right sign."""

    def __init__(self, x: float, slope: float):
        self.x = x
        self.slope = slope
        self.last: tuple[float, float] | None = None

    def step(self, f: float, learn: bool = True) -> float:
        if learn and self.last is not None:
            dx, df = self.x - self.last[0], f - self.last[1]
            if abs(dx) > 1e-9 and abs(df) > 1e-9 and (df / dx) * self.slope > 0:
                self.slope = df / dx
        self.last = (self.x, f)
        self.x -= max(-1.5, min(1.5, f / self.slope))
        return self.x


def _reference_bonus_value(sc: Scenario, base: Scheme, role: str, paid: bool) -> float:
    """Marginal bonus value of today's scheme for a role; when today's scheme pays the role no bonus
    (fixed pay), that of a linear bonus of ``bonus_at_target`` on the role's own results (the scale
    the implicit incentive is measured against: the identification then stays that of a paid
    baseline, effort cost chosen to reproduce today's funnel)."""
    if paid:
        return marginal_bonus_value(sc, base, role)
    from ..funnel import steady_state

    ss = steady_state(sc)
    if role == "sales":
        own = ss.bookings_per_rep
        return sc.sales.bonus_at_target / own if own > 0 else 0.0
    return sc.marketing.bonus_at_target / ss.sourced_bookings if ss.sourced_bookings > 0 else 0.0


def _root_log(fn, target: float, guess: float, increasing: bool = False, rtol: float = 2e-3) -> float:
    """A positive scale k with ``fn(k) = target`` for a smooth monotone ``fn`` (secant steps in
    log-log space, kept inside a bracket; responses are smooth, so a few evaluations suffice).
    Returns the nearer end of 1e-3 .. 1e3 x ``guess`` when the target is out of reach."""
    lo, hi = math.log(max(guess, 1e-9) * 1e-3), math.log(max(guess, 1e-9) * 1e3)
    sign = 1.0 if increasing else -1.0

    def g(x: float) -> float:  # increasing in x after the sign flip
        return sign * (math.log(max(fn(math.exp(x)), 1e-300)) - math.log(target))

    x0 = math.log(max(guess, 1e-9))
    g0 = g(x0)
    if abs(g0) < rtol:
        return math.exp(x0)
    # Bracket by doubling steps from the guess.
    step = 0.7
    a, ga = x0, g0
    b = x0 + (step if g0 < 0 else -step)
    gb = g(b)
    while ga * gb > 0:
        if (b >= hi and gb < 0) or (b <= lo and gb > 0):
            return math.exp(max(lo, min(hi, b)))
        a, ga = b, gb
        step *= 2.0
        b = min(hi, max(lo, b + (step if gb < 0 else -step)))
        gb = g(b)
    # Illinois-modified regula falsi on the bracket [a, b].
    side = 0
    for _ in range(30):
        c = b - gb * (b - a) / (gb - ga)
        gc = g(c)
        if abs(gc) < rtol:
            return math.exp(c)
        if gc * gb < 0:
            a, ga = b, gb
            side_new = 0
        else:
            ga = ga * 0.5 if side == 1 else ga
            side_new = 1
        b, gb = c, gc
        side = side_new
    return math.exp(b)


def calibrate(sc: Scenario, start: dict | SolvedPolicy | None = None) -> dict[str, float]:
    """Effort- and quality-cost scales per role (currency per year), and implicit incentives.

    Values given in ``[behaviour]`` are used as they are; ``"calibrate"`` ones are chosen by
    revealed preference: in the equilibrium of the baseline scheme, reps' expected output equals
    the funnel as entered, marketing's average effort is 1 and its focus is today's. Cached on
    disk by scenario hash and solver source.

    Parameters
    ----------
    sc : Scenario
    start : dict or SolvedPolicy, optional
        The calibration of a nearby scenario (or a solved baseline of one) to start from: the
        search then needs a few solves instead of a dozen. The result agrees with a cold start to
        the calibration's tolerance (0.2 % of output), not bit for bit, so it is cached under the
        start's content, never as the scenario's own: a later cold call gets the cold answer.
    """
    base_name = sc.baseline_name
    sim = sc.simulation
    code = _solver_source_hash()
    started = "" if start is None else "-w" + _start_digest(start)
    key = (sc.hash, base_name, sim.burn_in_years, sim.horizon_years, code, started)
    if key in _CALIBRATION_CACHE:
        return dict(_CALIBRATION_CACHE[key])
    from .._cache import load_json, require, save_json

    cache_name = (
        f"calibration-{sc.hash}{started}-{_safe(base_name)}-{sim.burn_in_years}-{sim.horizon_years}-{code}.json"
    )
    stored = load_json(cache_name, validate=require(_valid_calibration, "not a calibration of this solver"))
    if stored is not None:
        _CALIBRATION_CACHE[key] = stored
        return dict(stored)
    out = _calibrate(sc, base_name, start)
    _CALIBRATION_CACHE[key] = dict(out)
    save_json(cache_name, out)
    return out


#: A calibration from a start holds its cost scales until the fields change by less than this in a
#: round (the largest change of weekly mean effort, quality or follow-up).
SETTLED = 0.05

#: A calibrated quality-focus cost below this share of marketing's bonus at target (a year) is 0: a
#: focus still above today's at that cost is marketing's free choice (see ``_calibrate``).
QUALITY_COST_FLOOR = 1e-3

#: Most rounds of a calibration (each a solve of both sides); one that runs out is reported as not
#: settled.
CALIBRATION_ROUNDS = 80

#: How far the calibrated baseline may miss the entered funnel before the calibration is refused:
#: the iteration aims at 0.4 %; a miss beyond this means no cost scale reproduces today's funnel.
CALIBRATION_REFUSED = 0.02


def _check_calibration(
    sc: Scenario, base_name: str, calibrate_sales: bool, ratio: float, pinned_s: bool, calibrate_effort: bool,
    effort_m: float, pinned_e: bool, calibrate_quality: bool, quality_m: float, q0: float, k_q: float,
) -> None:  # fmt: skip
    """Refuse a calibration whose baseline does not reproduce today's funnel, or reproduces it
    only with a cost scale pinned at the search's bound (``pinned_s``, ``pinned_e``).

    That happens when the baseline scheme, not the cost of effort, decides output: under a cap
    with a strong ratchet, for example, reps stop at the target whatever effort costs, so no
    effort-cost scale gives the entered funnel, and any scale chosen would make every other
    scheme's comparison wrong. Raises :class:`ScenarioError` naming ``behaviour.baseline_scheme``.
    """
    from ..scenario.errors import ScenarioError

    where = sc.source or "<dict>"
    cure = (
        "give behaviour.effort_cost_sales (and effort_cost_marketing) explicitly, raise "
        "behaviour.implicit_incentive, set targets by ability, or choose another baseline_scheme"
    )
    if calibrate_sales and (pinned_s or not abs(ratio - 1.0) <= CALIBRATION_REFUSED):
        raise ScenarioError(
            where, "behaviour.baseline_scheme",
            f"under today's scheme {base_name!r} no effort cost makes the reps' best response reproduce the "
            f"entered funnel (it reaches {ratio:.1%} of it at best): the scheme, not the cost of effort, decides "
            f"output; {cure}",
        )  # fmt: skip
    if calibrate_effort and (pinned_e or not abs(effort_m - 1.0) <= CALIBRATION_REFUSED):
        raise ScenarioError(
            where, "behaviour.baseline_scheme",
            f"under today's scheme {base_name!r} no effort cost gives marketing today's effort (it reaches "
            f"{effort_m:.2f} of it at best); {cure}",
        )  # fmt: skip
    # With no quality cost a focus above today's is as far as the costs can go (not a miss).
    quality_miss = q0 - quality_m if (quality_m < q0 or k_q > 0.0) else 0.0
    if calibrate_quality and not abs(quality_miss) <= 0.05:
        raise ScenarioError(
            where, "behaviour.baseline_scheme",
            f"under today's scheme {base_name!r} no quality cost gives marketing today's quality focus "
            f"{q0:g} (it reaches {quality_m:.2f}); {cure}",
        )  # fmt: skip


def _first_cost_scales(
    sc: Scenario, base: Scheme, psi_s: float, psi_m: float, sales_paid: bool, bonus_m: float
) -> tuple[float, float]:
    """Where a cold calibration starts its effort-cost scales (sales, marketing; currency per year):
    the scale at which effort 1 is a static best response under today's scheme.

    A year's effort cost is ``k (e^n - 1) / (2^n - 1)``, so its slope at effort 1 is
    ``k n / (2^n - 1)``; the gain is the pay and implicit value per unit of a role's results
    (:func:`marginal_bonus_value` plus ``psi``) times its results' value a year times their
    elasticity to effort (``1 + 2 x conversion elasticity`` for a rep's own bookings, 1 for
    marketing's sourced bookings). Equating the two ignores discounting, lags and caps: on the
    bundled scenarios it lands within 5-35 % of the calibrated sales scale and 26-62 % of
    marketing's, where the bonus at target (the scale before) was 5-11x too low, and the search
    from there took 2 to 7 rounds more (of 5 to 31). Falls back to the bonus at target when a role's
    results are worth nothing.
    """
    from ..funnel import steady_state

    b = sc.behaviour
    n = b.effort_cost_exponent
    per_slope = (2.0**n - 1.0) / n
    ss = steady_state(sc)
    gain_s = (marginal_bonus_value(sc, base, "sales") if sales_paid else 0.0) + psi_s
    k_s = gain_s * (1.0 + 2.0 * b.conversion_elasticity) * ss.bookings_per_rep * per_slope
    k_m = (marginal_bonus_value(sc, base, "marketing") + psi_m) * ss.sourced_bookings * per_slope
    fallback_s, fallback_m = max(sc.sales.bonus_at_target, 1.0), max(bonus_m, 1.0)
    ok = (math.isfinite(k_s) and k_s > 0.0, math.isfinite(k_m) and k_m > 0.0)
    return (k_s if ok[0] else fallback_s), (k_m if ok[1] else fallback_m)


def _valid_calibration(d) -> bool:
    keys = ("sales", "marketing", "marketing_quality", "implicit_sales", "implicit_marketing")
    if not isinstance(d, dict) or any(k not in d for k in keys):
        return False
    try:
        return all(math.isfinite(float(d[k])) and float(d[k]) >= 0 for k in keys)
    except (TypeError, ValueError):
        return False


def _calibrate(sc: Scenario, base_name: str, start: dict | SolvedPolicy | None = None) -> dict[str, float]:
    b = sc.behaviour
    base = sc.schemes[base_name]
    sc = sc.for_scheme(base)  # calibrate under the baseline scheme's hand-off levers
    co = Company(sc)
    roles = {"marketing": _role(sc, base, "marketing"), "sales": _role(sc, base, "sales")}
    mkt = co.fixed_marketing()
    sales = co.fixed_sales(mkt)
    entered_output = float(sales.own_wins.sum())
    share = b.implicit_incentive
    sales_paid = roles["sales"].paid
    mkt_paid = roles["marketing"].paid
    psi_s = share / (1.0 - share) * _reference_bonus_value(sc, base, "sales", sales_paid)
    psi_m = share / (1.0 - share) * marginal_bonus_value(sc, base, "marketing")
    bonus_m = base.marketing.bonus_at_target if mkt_paid else sc.marketing.bonus_at_target
    k_s, k_e = _first_cost_scales(sc, base, psi_s, psi_m, sales_paid, bonus_m)
    k_s = b.effort_cost_sales if b.effort_cost_sales is not None else k_s
    k_e = b.effort_cost_marketing if b.effort_cost_marketing is not None else k_e
    k_q = b.quality_cost_marketing if b.quality_cost_marketing is not None else 0.0
    warm = start.warm if isinstance(start, SolvedPolicy) else None
    hint = (warm.kappa if warm is not None else start) if start is not None else None
    if isinstance(hint, dict) and _valid_calibration(hint):
        k_s = b.effort_cost_sales if b.effort_cost_sales is not None else float(hint["sales"])
        k_e = b.effort_cost_marketing if b.effort_cost_marketing is not None else float(hint["marketing"])
        k_q = b.quality_cost_marketing if b.quality_cost_marketing is not None else float(hint["marketing_quality"])
    if warm is not None:
        mkt, sales = warm.mkt, warm.sales
    q0 = sc.marketing.quality.baseline
    calibrate_sales = b.effort_cost_sales is None and (sales_paid or psi_s > 0)
    calibrate_effort = mkt_paid and b.effort_cost_marketing is None
    calibrate_quality = mkt_paid and b.quality_cost_marketing is None
    n = b.effort_cost_exponent
    a = 1.0 + 2.0 * b.conversion_elasticity  # output grows like effort ** a (prospecting, two stages)
    # Each side's response to its cost scale is smooth, close to a power law (effort moves with it to
    # the power -1/(n - 1), output to -a/(n - a)). Newton steps in log-log space from those slopes
    # (secant-updated once both sides settle) run inside the equilibrium iteration: one solve of each
    # side per round, until the equilibrium reproduces the entered funnel.
    s_sales = _Secant(math.log(k_s), -a / max(n - a, 0.3))
    s_effort = _Secant(math.log(k_e), -1.0 / max(n - 1.0, 0.3))
    s_quality = _Secant(math.log(max(k_q, bonus_m, 1.0)), 0.5)
    # Cost scales stay within a factor 1e6 of the bonus at target: outside it the baseline cannot
    # identify them (see the check after the loop).
    bounds_s = (max(sc.sales.bonus_at_target, 1.0) * 1e-6, max(sc.sales.bonus_at_target, 1.0) * 1e6)
    bounds_e = (max(bonus_m, 1.0) * 1e-6, max(bonus_m, 1.0) * 1e6)
    # A focus cost below this (a thousandth of the bonus at target a year) moves no choice: it is 0.
    floor_q = max(bonus_m, 1.0) * QUALITY_COST_FLOOR
    guesses: dict = {}
    mguess = None
    change = math.inf
    ratio = effort_m = quality_m = math.nan
    # As in the equilibrium: plain best responses, damped ones once the fields stall or cycle.
    damping = _Damping(secant_from=4)
    previous = math.inf
    # From a start (a nearby scenario's cost scales), the scales are held while the fields settle:
    # a round's output ratio measures the cost scales only once the fields are near their
    # equilibrium. Moving the scales on the first rounds' ratios, with the fields still at today's
    # behaviour, pushed them away from the start and back: a start 1 % of quote conversion away
    # took 24 rounds (9 s) where a cold calibration took 11 (4 s).
    holding = start is not None
    settled = True
    rounds = 0
    # With every cost given, nothing here depends on the rounds (the implicit incentives are set
    # above): no equilibrium to run.
    needed = calibrate_sales or calibrate_effort or calibrate_quality
    for rounds in range(1, CALIBRATION_ROUNDS + 1 if needed else 1):
        weight = damping.weight
        holding = holding and previous > SETTLED
        learn = rounds > 3  # the fields move a lot at first: keep the stated slopes until then
        fields, responses = [], []  # (as in the equilibrium)
        ok_mkt = True
        if mkt_paid:
            sol = _solve_marketing(sc, co, roles["marketing"], k_e, k_q, psi_m, sales, mguess)
            mguess = sol.guess
            effort_m, quality_m = float(sol.mean[:, M_EFFORT].mean()), float(sol.mean[:, M_QUALITY].mean())
            ok_e = not calibrate_effort or abs(effort_m - 1.0) < 0.005
            low, high = quality_m < q0 - 0.01, k_q > 0.0 and quality_m > q0 + 0.01
            ok_q = not calibrate_quality or not (low or high)
            ok_mkt = ok_e and ok_q
            if not ok_e and not holding:
                k_e = min(bounds_e[1], max(bounds_e[0], math.exp(s_effort.step(math.log(effort_m), learn))))
            if not ok_q and not holding:
                if k_q == 0.0:
                    # A focus penalty is needed: from where the search stands (at first the bonus's
                    # scale), never below the floor, under which a cost is 0.
                    s_quality.x = max(s_quality.x, math.log(floor_q))
                    k_q = math.exp(s_quality.x)
                else:
                    k_q = math.exp(s_quality.step(math.log(max(quality_m, 1e-6)) - math.log(max(q0, 1e-6)), learn))
                    if high and k_q < floor_q:
                        # Marketing's free choice is above today's focus: the cost belongs at 0 (as a
                        # cold calibration finds), which steps in log space approach but never reach;
                        # a warm start from a world that needed a cost otherwise ran out of rounds and
                        # the world was refused.
                        k_q = 0.0
            response = _marketing_field(co, sol)
            fields += [mkt.effort, mkt.quality]
            responses += [response.effort, response.quality]
            mkt = _damp(mkt, response, weight)
        ratio = 1.0
        if sales_paid or psi_s > 0:
            sols = _solve_sales(sc, co, roles["sales"], k_s, psi_s, mkt, sales, guesses)
            guesses = {key: sol.guess for key, sol in sols.items()}
            best = _sales_field(co, roles["sales"], sols, mkt)
            ratio = float(best.own_wins.sum()) / max(entered_output, 1e-12)  # of the best response
            fields += [sales.effort, sales.follow]
            responses += [best.effort, best.follow]
            sales = _damp(sales, best, weight)
            if calibrate_sales and abs(ratio - 1.0) >= 0.004 and not holding:
                k_s = min(bounds_s[1], max(bounds_s[0], math.exp(s_sales.step(math.log(ratio), learn))))
        else:
            sales = co.fixed_sales(mkt)
        change = damping.update(rounds, fields, responses)
        ok_sales = not calibrate_sales or abs(ratio - 1.0) < 0.004
        if _DEBUG:
            print("calibration round", rounds, "k", round(k_s), round(k_e), round(k_q, 3), "ratio", round(ratio, 4),
                  "mkt", ok_mkt, round(effort_m, 4), round(quality_m, 4), "change", round(change, 4),
                  "weight", weight)  # fmt: skip
        if rounds > 1 and ok_sales and ok_mkt and change < TOL:
            break
        previous = change
    else:
        settled = not needed  # (the rounds ran out)
    # A scale pinned at a bound that still misses the target: the baseline does not identify it.
    pinned_s = not bounds_s[0] * 1.001 < k_s < bounds_s[1] * 0.999 and not abs(ratio - 1.0) < 0.004
    pinned_e = not bounds_e[0] * 1.001 < k_e < bounds_e[1] * 0.999 and not abs(effort_m - 1.0) < 0.005
    _check_calibration(sc, base_name, calibrate_sales, ratio, pinned_s, calibrate_effort, effort_m, pinned_e,
                       calibrate_quality, quality_m, q0, k_q)  # fmt: skip
    return {
        "baseline_scheme": base_name,
        "sales": float(k_s),
        "marketing": float(k_e),
        "marketing_quality": float(k_q),
        "implicit_sales": float(psi_s),
        "implicit_marketing": float(psi_m),
        # Whether the baseline's equilibrium settled with these costs (else the rounds ran out, with
        # the fields still moving by ``last_change``): reports say so (``Comparison.unsettled``).
        "settled": bool(settled),
        "rounds": int(rounds),
        "last_change": float(change) if math.isfinite(change) else 0.0,
    }


# -- the policy of a scheme -----------------------------------------------------------------------


def _solver_source_hash() -> str:
    from .._cache import source_hash

    return source_hash(
        "model/policy.py", "model/agent.py", "model/state.py", "model/lags.py", "model/company.py", "funnel.py",
        "pay.py", "kernels/dp.py", "kernels/pay.py", "compile.py",
    )  # fmt: skip


def solve_policy(
    sc: Scenario, scheme: Scheme | str, kappa: dict[str, float] | None = None, start: SolvedPolicy | None = None
) -> SolvedPolicy:
    """Solve the marketing-sales equilibrium of a scheme and compile it for the simulation.

    Parameters
    ----------
    sc : Scenario
    scheme : Scheme or str
        The scheme (or its name).
    kappa : dict, optional
        Effort-cost scales ``{"sales": ..., "marketing": ...}`` (and ``marketing_quality``,
        ``implicit_sales``, ``implicit_marketing``); default: :func:`calibrate`.
    start : SolvedPolicy, optional
        A solve of a nearby scenario with the same scheme structure to start the equilibrium
        (and the calibration) from: fewer rounds; the result agrees with a cold start to the
        equilibrium's tolerance, not bit for bit.

    Returns
    -------
    SolvedPolicy
        Cached on disk by scenario, the scheme's content (:attr:`Scheme.hash`: a scheme of one name
        may be solved in several versions, as ``incentsim design``'s candidates are), solver code,
        given ``kappa`` and the content of ``start`` (a cold solve never reads a warm-started one).
    """
    if isinstance(scheme, str):
        scheme = sc.scheme(scheme)
    from .._cache import load_arrays, require, save_arrays

    # Given effort costs (the counterfactuals of incentsim.mechanisms: the same people in a world
    # without one mechanism) are part of the key, and so is a start's content: a solve from a given
    # start is as reproducible as a cold one, but agrees with it only to the tolerances (or, where
    # a scenario has two equilibria, settles in the other), so it is a different entry and a cold
    # solve never reads it.
    given = "" if kappa is None else "-k" + hashlib.sha256(repr(sorted(kappa.items())).encode()).hexdigest()[:12]
    if start is not None:
        given += "-w" + _start_digest(start)
    sim = sc.simulation  # the feedback lever depends on the burn-in and horizon
    cache_name = (
        f"policy-{sc.hash}{given}-{_safe(scheme.name)}-{scheme.hash}-{sim.burn_in_years}-{sim.horizon_years}-"
        f"{_solver_source_hash()}.npz"
    )
    read: list[SolvedPolicy] = []  # the validation's reading of the entry, kept rather than read twice

    def usable(d: dict) -> bool:
        solved = _from_arrays(d, sc)
        if solved is not None:
            read.append(solved)
        return solved is not None

    if load_arrays(cache_name, validate=require(usable, "does not fit the scenario and solver")) is not None:
        return read[-1]
    t0 = time.perf_counter()
    kappa = kappa or calibrate(sc, start)
    sc_s = sc.for_scheme(scheme)  # the scheme's own hand-off levers, if any
    co = Company(sc_s)
    roles = {"marketing": _role(sc_s, scheme, "marketing"), "sales": _role(sc_s, scheme, "sales")}
    warm = start.warm if start is not None else None
    eq = _equilibrium(sc_s, co, scheme, kappa, roles, sc.behaviour.max_rounds, start=warm)
    scaled = _at_ratchet_scales(sc_s, co, scheme, kappa, roles, eq)
    policy = _compile(sc_s, scheme, co, roles, eq, scaled)
    K = len(co.levels)
    if eq.sales_sols is not None:
        sr = roles["sales"]
        effort_week = np.zeros((K, WEEKS_PER_YEAR))
        output_week = np.zeros((K, WEEKS_PER_YEAR))
        for (g, k), sol in eq.sales_sols.items():
            effort_week[k] += sr.group_share[g] * sol.mean[:, S_EFFORT]
            output_week[k] += sr.group_share[g] * sol.mean[:, S_OWN]
    else:
        effort_week = np.ones((K, WEEKS_PER_YEAR))
        output_week = np.stack([co.fixed_sales(eq.mkt).own_wins] * K)
    info = {
        "rounds": eq.rounds,
        "last_change": eq.change,
        "tolerance": TOL,
        "converged": bool(eq.change < TOL) or not (roles["sales"].paid or roles["marketing"].paid),
        "effort_cost_sales": kappa["sales"],
        "effort_cost_marketing": kappa["marketing"],
        "quality_cost_marketing": kappa.get("marketing_quality", 0.0),
        "calibrated_on": kappa.get("baseline_scheme"),
        # (a calibration cached before it recorded this counts as settled: it was accepted then)
        "calibration_settled": bool(kappa.get("settled", True)),
        "calibration_rounds": int(kappa.get("rounds", 0)),
        "calibration_last_change": float(kappa.get("last_change", 0.0)),
        "mean_sales_effort": float(eq.sales.effort.mean()),
        "mean_follow_share": float(eq.sales.follow.mean()),
        "mean_marketing_effort": float(eq.mkt.effort.mean()),
        "mean_marketing_quality": float(eq.mkt.quality.mean()),
        "expected_wins_per_rep": float(eq.sales.own_wins.sum()),
        "solve_seconds": round(time.perf_counter() - t0, 3),
        "state": {name: _describe(role) for name, role in roles.items()},
        # Roles solved again at other target scales (a ratchet moves the target): their scales.
        "ratchet_scales": {name: list(RATCHET_SCALES) for name in scaled},
    }
    solved = SolvedPolicy(
        policy,
        info,
        sales_effort_week=effort_week,
        follow_week=np.asarray(eq.sales.follow, dtype=float),
        marketing_effort_week=np.asarray(eq.mkt.effort, dtype=float),
        marketing_quality_week=np.asarray(eq.mkt.quality, dtype=float),
        sales_output_week=output_week,
        warm=_warm_from(eq, kappa),
    )
    save_arrays(cache_name, _to_arrays(solved))
    return solved


def _warm_from(eq: _Equilibrium, kappa: dict) -> WarmStart:
    guesses = {}
    if eq.mkt_sol is not None:
        guesses[("marketing", 0, 0)] = eq.mkt_sol.guess
    for (g, k), sol in (eq.sales_sols or {}).items():
        guesses[("sales", g, k)] = sol.guess
    return WarmStart(mkt=eq.mkt, sales=eq.sales, guesses=guesses, kappa=dict(kappa))


def _describe(role: _Role) -> dict:
    """The state of a role in words (JSON-ready)."""
    d = role.design
    axes = []
    for ax in d.axes:
        axes.append(
            {
                "measure": ax.ref.measure,
                "period": ax.period,
                "components": [pc.index + 1 for pc in ax.comps],
                "year_to_date": bool(ax.ref_year),
            }
        )
    return {
        "axes": axes,
        "paid_axis": d.paid_axis,
        "linear_components": [pc.index + 1 for pc in d.linear],
        "approximated_components": [pc.index + 1 for pc in d.approximated],
        "ratchets_anticipated": [pc.index + 1 for pc, _ in d.ratchets],
        "true_ups_anticipated": [pc.index + 1 for pc in d.true_up],
        "notes": list(d.notes),
        "target_groups": len(role.persons),
    }


def _agent_policy(
    sc, scheme, co: Company, role: _Role, per_scale: list[dict[tuple[int, int], Solution]], n_comp: int
) -> AgentPolicy:
    """Stack the solutions of a role's agents into the kernel's arrays: ``per_scale`` holds one
    ``{(group, level): Solution}`` per target scale (:data:`RATCHET_SCALES` with a ratchet, else the
    one at scale 1); level k at scale j is row ``k * NS + j``."""
    NG = len(role.persons)
    K = len(co.levels) if role.name == "sales" else 1
    NS = len(per_scale)
    any_sol = next(iter(per_scale[0].values()))
    G0, G1, L = any_sol.problem.G
    choice = np.zeros((NG, K * NS, WEEKS_PER_YEAR, G0, G1, L, 3))
    timing = np.zeros((NG, K * NS, WEEKS_PER_YEAR, G0, G1, L), dtype=np.int8)
    grid_max = np.ones((NG, K * NS, 2))
    paid_money = np.ones((NG, K * NS))
    for j, sols in enumerate(per_scale):
        for (g, k), sol in sols.items():
            row = k * NS + j
            choice[g, row] = sol.choice
            timing[g, row] = sol.timing
            grid_max[g, row] = np.where(sol.problem.grid_max > 0, sol.problem.grid_max, 1.0)
            paid_money[g, row] = sol.problem.paid_money
    scales = np.asarray(RATCHET_SCALES if NS > 1 else (1.0,), dtype=np.float64)
    scale_comp = np.full(1, -1, dtype=np.int64)
    base_scale = np.ones(K)
    ratchet = _ratchet_component(role.comps) if NS > 1 else None
    if ratchet is not None:
        scale_comp[0] = component_index(sc, scheme, role.name, ratchet.index)
        if ratchet.ability_scale is not None and role.name == "sales":
            base_scale[:] = ratchet.ability_scale
    axis_comp = np.full(2, -1, dtype=np.int64)
    axis_year = np.zeros(2, dtype=np.int64)
    axis_source = np.zeros(2, dtype=np.int64)
    axis_unit = np.ones(2)
    axis_margin = np.zeros(2, dtype=np.int64)
    for i, ax in enumerate(role.design.axes):
        axis_comp[i] = component_index(sc, scheme, role.name, ax.ref.index)
        axis_year[i] = int(ax.ref_year)
        axis_source[i] = SOURCE_CODE[ax.source]
        axis_unit[i] = 1.0 if ax.counts else co.value_mean
        axis_margin[i] = int(ax.margin)
    paid_comp = np.zeros(max(n_comp, 1), dtype=np.int64)
    for pc in role.design.true_up:
        paid_comp[component_index(sc, scheme, role.name, pc.index)] = 1
    return AgentPolicy(
        choice=choice, timing=timing, group=role.group_of.astype(np.int64), axis_comp=axis_comp, axis_year=axis_year,
        axis_source=axis_source, axis_unit=axis_unit, axis_margin=axis_margin, grid_max=grid_max, paid_comp=paid_comp,
        paid_money=paid_money, scales=scales, scale_comp=scale_comp, base_scale=base_scale,
    )  # fmt: skip


def _at_ratchet_scales(sc, co, scheme, kappa: dict, roles: dict[str, _Role], eq: _Equilibrium) -> dict[str, list]:
    """Each paid role with a ratchet, solved at every target scale of :data:`RATCHET_SCALES`: the
    best response of a person whose target a ratchet has moved, everyone else at the equilibrium
    (the scale 1 solve is the equilibrium's own). Role name -> one solution dict per scale, keyed
    as the equilibrium's, ``{(group, level): Solution}``."""
    out: dict[str, list] = {}
    for name, role in roles.items():
        sols_1 = eq.sales_sols if name == "sales" else ({(0, 0): eq.mkt_sol} if eq.mkt_sol is not None else None)
        if sols_1 is None or _ratchet_component(role.comps) is None:
            continue
        per_scale = []
        for scale in RATCHET_SCALES:
            if scale == 1.0:
                per_scale.append(sols_1)
                continue
            at = _role(sc, scheme, name, scale)
            guesses = {key: sol.guess for key, sol in sols_1.items()}
            if name == "sales":
                psi = kappa.get("implicit_sales", 0.0)
                per_scale.append(_solve_sales(sc, co, at, kappa["sales"], psi, eq.mkt, eq.sales, guesses))
            else:
                per_scale.append({(0, 0): _solve_marketing(
                    sc, co, at, kappa["marketing"], kappa.get("marketing_quality", 0.0),
                    kappa.get("implicit_marketing", 0.0), eq.sales, guesses[(0, 0)],
                )})  # fmt: skip
        out[name] = per_scale
    return out


def _compile(
    sc, scheme, co: Company, roles: dict[str, _Role], eq: _Equilibrium, scaled: dict[str, list] | None = None
) -> CompiledPolicy:
    n_comp = (len(scheme.marketing.components) if scheme.marketing else 0) + (
        len(scheme.sales.components) if scheme.sales else 0
    )
    scaled = scaled or {}
    K = len(co.levels)
    if eq.sales_sols is not None:
        sales = _agent_policy(sc, scheme, co, roles["sales"], scaled.get("sales", [eq.sales_sols]), n_comp)
    else:
        sales = constant_policy(sc.sales.reps, K, 1.0, 1.0, n_comp)
    if eq.mkt_sol is not None:
        mkt = _agent_policy(sc, scheme, co, roles["marketing"], scaled.get("marketing", [{(0, 0): eq.mkt_sol}]), n_comp)
    else:
        mkt = constant_policy(1, 1, 1.0, co.q0, n_comp)
    return CompiledPolicy(sales=sales, marketing=mkt, any_timing=bool(np.any(sales.timing != 0)))


# -- the disk cache ---------------------------------------------------------------------------------


def _safe(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()[:10]


_PROFILES = ("sales_effort_week", "follow_week", "marketing_effort_week", "marketing_quality_week", "sales_output_week")
_CACHE_FORMAT = 5  # 4: with the warm start; 5: policies at ratchet scales


def _warm_to_arrays(warm: WarmStart) -> dict[str, np.ndarray]:
    """A warm start as named arrays (its fields, its agents' guesses) and a JSON index (the guesses'
    keys and lengths, the cost scales), for the disk cache and :func:`warm_digest`."""
    import dataclasses
    import json

    out: dict[str, np.ndarray] = {}
    for part in ("mkt", "sales"):
        obj = getattr(warm, part)
        for f in dataclasses.fields(obj):
            out[f"warm_{part}_{f.name}"] = np.asarray(getattr(obj, f.name), dtype=np.float64)
    index = []
    for n, key in enumerate(sorted(warm.guesses)):
        g = warm.guesses[key]
        index.append([str(key[0]), int(key[1]), int(key[2]), len(g.head), len(g.mu), len(g.end_dist)])
        for what in ("head", "head_var", "mu", "end_dist"):
            for i, a in enumerate(getattr(g, what)):
                out[f"warm_guess{n}_{what}{i}"] = np.asarray(a, dtype=np.float64)
    out["warm_index"] = np.array(json.dumps({"guesses": index, "kappa": warm.kappa}, sort_keys=True))
    return out


def _warm_from_arrays(d) -> WarmStart | None:
    """The warm start :func:`_warm_to_arrays` stored, or None when it is missing or damaged (not
    finite, not a year of weeks)."""
    import json

    try:
        index = json.loads(str(d["warm_index"]))
        parts = {}
        for part, cls in (("mkt", MarketingField), ("sales", SalesField)):
            arrays = {}
            for name in cls.__dataclass_fields__:
                a = np.array(d[f"warm_{part}_{name}"], dtype=np.float64)
                if a.shape != (WEEKS_PER_YEAR,) or not np.all(np.isfinite(a)):
                    return None
                arrays[name] = a
            parts[part] = cls(**arrays)
        guesses = {}
        for n, (role, g, k, n_head, n_mu, n_end) in enumerate(index["guesses"]):
            lists = {}
            for what, count in (("head", n_head), ("head_var", n_head), ("mu", n_mu), ("end_dist", n_end)):
                lists[what] = [np.array(d[f"warm_guess{n}_{what}{i}"], dtype=np.float64) for i in range(count)]
                if any(not np.all(np.isfinite(a)) for a in lists[what]):
                    return None
            guesses[(str(role), int(g), int(k))] = Guess(**lists)
        kappa = index["kappa"]
        if kappa is not None and not isinstance(kappa, dict):
            return None
        return WarmStart(mkt=parts["mkt"], sales=parts["sales"], guesses=guesses, kappa=kappa)
    except (KeyError, TypeError, ValueError):
        return None


def _start_digest(start: dict | SolvedPolicy) -> str:
    """A short hash of what a solve or calibration starts from (a cost-scale dict, or a solve with
    or without its warm start): equal starts give equal results."""
    if isinstance(start, dict):
        return hashlib.sha256(repr(sorted(start.items())).encode()).hexdigest()[:12]
    return warm_digest(start.warm) if start.warm is not None else "cold-solve"


def warm_digest(warm: WarmStart) -> str:
    """A short hash of a warm start's content (its arrays bit for bit, its cost scales): solves
    from equal starts give equal results, so it keys a warm-started solve in the cache."""
    h = hashlib.sha256()
    for name, a in sorted(_warm_to_arrays(warm).items()):
        h.update(name.encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes() if a.dtype.kind == "f" else str(a).encode())
    return h.hexdigest()[:12]


def _to_arrays(solved: SolvedPolicy) -> dict:
    import json

    out = {"format": np.array(_CACHE_FORMAT)}
    for role in ("sales", "marketing"):
        for k, v in getattr(solved.policy, role)._asdict().items():
            out[f"{role}_{k}"] = np.asarray(v)
    out["any_timing"] = np.array(bool(solved.policy.any_timing))
    out["info"] = np.array(json.dumps(solved.info))
    for name in _PROFILES:
        out[name] = np.asarray(getattr(solved, name))
    if solved.warm is not None:
        out.update(_warm_to_arrays(solved.warm))
    return out


def _from_arrays(d: dict, sc: Scenario) -> SolvedPolicy | None:
    """A cached policy, or None when the entry does not have the expected format, shapes or
    finite values (the caller then solves again and overwrites it)."""
    import json

    try:
        if int(d["format"]) != _CACHE_FORMAT:
            return None
        roles = {}
        for role in ("sales", "marketing"):
            fields = {k: np.ascontiguousarray(d[f"{role}_{k}"]) for k in AgentPolicy._fields}
            pol = AgentPolicy(**fields)
            if pol.choice.ndim != 7 or pol.timing.shape != pol.choice.shape[:6]:
                return None
            if not np.all(np.isfinite(pol.choice)) or not np.all(np.isfinite(pol.grid_max)):
                return None
            # Shares are averages of choice probabilities: a fresh solve can hold 1 + 7e-16 (rounding),
            # which must not make its own cache entry unusable (it was solved again on every run).
            slack = 1e-9
            if pol.choice.shape[6] != 3 or np.any(pol.choice < -slack) or np.any(pol.choice[..., 0] > 3.0 + slack):
                return None
            if np.any(pol.choice[..., 1:] > 1.0 + slack) or np.any(pol.grid_max <= 0) or np.any(pol.paid_money <= 0):
                return None
            NG = pol.choice.shape[0]
            if np.any((pol.timing < 0) | (pol.timing > 3)) or np.any((pol.group < 0) | (pol.group >= NG)):
                return None
            if np.any(pol.axis_comp < -1) or pol.axis_comp.shape != (2,):
                return None
            roles[role] = pol
        K = len(sc.sales.ability.levels)
        for pol, levels in ((roles["sales"], K), (roles["marketing"], 1)):
            NS = pol.scales.shape[0]
            if pol.scales.ndim != 1 or NS < 1 or np.any(pol.scales <= 0) or np.any(np.diff(pol.scales) <= 0):
                return None
            if pol.choice.shape[1] != levels * NS or pol.base_scale.shape != (levels,) or np.any(pol.base_scale <= 0):
                return None
            if pol.scale_comp.shape != (1,) or (NS > 1) != (pol.scale_comp[0] >= 0):
                return None
        if roles["sales"].group.shape[0] != max(sc.sales.reps, 1):
            return None
        profiles = {name: np.asarray(d[name], dtype=float) for name in _PROFILES}
        if any(not np.all(np.isfinite(v)) for v in profiles.values()):
            return None
        policy = CompiledPolicy(sales=roles["sales"], marketing=roles["marketing"], any_timing=bool(d["any_timing"]))
        warm = _warm_from_arrays(d)
        if warm is None:
            return None
        return SolvedPolicy(policy, json.loads(str(d["info"])), **profiles, warm=warm)
    except (KeyError, TypeError, ValueError):
        return None
