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

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..calendar import WEEKS_PER_YEAR
from ..compile import SOURCE_CODE, AgentPolicy, CompiledPolicy, component_index, constant_policy
from ..pay import PayComponent, role_components
from ..scenario.schema import Scenario, Scheme
from .agent import Rates, Solution, build_problem, solve
from .company import (
    M_APPTS,
    M_EFFORT,
    M_GENUINE,
    M_QUALITY,
    M_SOURCED,
    S_EFFORT,
    S_OWN,
    S_PMKT,
    S_SELF,
    S_WORKED,
    Company,
    MarketingField,
    SalesField,
)
from .state import StateDesign, design_state

_DEBUG = bool(__import__("os").environ.get("INCENTSIM_DEBUG_EQ"))
TOL = 5e-3  # equilibrium: stop when weekly mean effort, quality and follow-up move less
_CALIBRATION_CACHE: dict[tuple, dict[str, float]] = {}
#: Sources whose deals a rep can hold back or pull in.
_TIMING_SOURCES = ("own", "team")
TIMING_LABELS = ("none", "hold", "pull", "hold excess")


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
    """

    policy: CompiledPolicy
    info: dict = field(default_factory=dict)
    sales_effort_week: np.ndarray | None = None
    follow_week: np.ndarray | None = None
    marketing_effort_week: np.ndarray | None = None
    marketing_quality_week: np.ndarray | None = None
    sales_output_week: np.ndarray | None = None

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
        NG, K = pol.choice.shape[0], pol.choice.shape[1]
        if not 0 <= week < WEEKS_PER_YEAR:
            raise ValueError(f"week must be in 0..51, got {week}")
        if not 0 <= ability < K:
            raise ValueError(f"ability must be a level index in 0..{K - 1}, got {ability}")
        if not 0 <= group < NG:
            raise ValueError(f"group must be in 0..{NG - 1}, got {group}")
        att = np.atleast_1d(np.asarray(attainment, dtype=float))
        G = pol.choice.shape[3:6]
        idx = []
        for i in range(2):
            if G[i] == 1:
                idx.append(0)
                continue
            x = float(att[i]) if i < len(att) else float(att[0])
            top = float(pol.grid_max[group, ability, i])
            idx.append(int(min(G[i] - 1, max(0, round(x / top * (G[i] - 1))))))
        return group, ability, week, idx[0], idx[1], 0

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
    level_designs: tuple[StateDesign, ...] | None = None  # per ability level, when targets are by ability

    @property
    def paid(self) -> bool:
        return bool(self.comps)

    def design_at(self, level: int) -> StateDesign:
        """The state design a rep of ability level ``level`` solves (its own targets)."""
        return self.design if self.level_designs is None else self.level_designs[level]

    @property
    def timing_on(self) -> bool:
        return self.name == "sales" and any(
            ax.source in _TIMING_SOURCES and not ax.margin for ax in self.design.axes[:1]
        )


def _role(sc: Scenario, scheme: Scheme, name: str) -> _Role:
    comps = role_components(sc, scheme, name) if (name == "sales" or sc.marketing.headcount > 0) else ()
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
    levels = None
    if any(pc.by_ability for pc in comps):
        levels = tuple(_at_level(design, k) for k in range(len(sc.sales.ability.levels)))
    return _Role(name, comps, design, persons, group_of, share, levels)


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


def _sales_rates(co: Company, level: float, mkt: MarketingField, others: SalesField) -> Rates:
    r = co.sales_rates(level, mkt)
    return Rates(
        action={"own": r[:, :, S_OWN]},
        others={"team": (co.R - 1) * others.own_wins},
        qty=r,
        own_value=r[:, :, S_OWN] * co.value_mean,
    )


def _marketing_rates(co: Company, sales: SalesField) -> Rates:
    r = co.marketing_rates(sales)
    return Rates(
        action={"appointments": r[:, :, M_APPTS], "sourced": r[:, :, M_SOURCED]},
        others={"team": co.R * sales.self_wins},
        qty=r,
        own_value=r[:, :, M_SOURCED] * co.value_mean,
    )


# -- solving each side ----------------------------------------------------------------------------


def _solve_sales(sc, co, role: _Role, kappa, psi, mkt, others, guesses) -> dict[tuple[int, int], Solution]:
    """Best responses of every (target group, ability level) of reps."""
    sols = {}
    for g, person in enumerate(role.persons):
        for k, level in enumerate(co.levels):
            rates = _sales_rates(co, float(level), mkt, others)
            guess = guesses.get((g, k))
            pb = build_problem(
                sc, co, "sales", role.design_at(k), person, float(level), rates, co.sales_actions, kappa, 0.0, psi,
                guess, role.timing_on,
            )  # fmt: skip
            sols[(g, k)] = solve(pb, co, co.sales_actions, rates.qty, guess, role.timing_on)
    return sols


def _solve_marketing(sc, co, role: _Role, kappa_e, kappa_q, psi, sales, guess) -> Solution:
    rates = _marketing_rates(co, sales)
    pb = build_problem(
        sc, co, "marketing", role.design, 0, 1.0, rates, co.mkt_actions, kappa_e, kappa_q, psi, guess, False
    )
    return solve(pb, co, co.mkt_actions, rates.qty, guess, False)


def _sales_field(co: Company, role: _Role, sols: dict, mkt: MarketingField) -> SalesField:
    m = np.zeros((WEEKS_PER_YEAR, 7))
    for (g, k), sol in sols.items():
        m += role.group_share[g] * co.weights[k] * sol.mean
    arriving = mkt.appts / co.R * co.survive * co.work_base
    follow = np.divide(m[:, S_WORKED], arriving, out=np.ones(WEEKS_PER_YEAR), where=arriving > 0)
    return SalesField(
        follow=np.clip(follow, 0.0, 1.0), p_mkt=m[:, S_PMKT], self_wins=m[:, S_SELF], own_wins=m[:, S_OWN],
        effort=m[:, S_EFFORT],
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


@dataclass
class _Equilibrium:
    mkt_sol: Solution | None
    sales_sols: dict | None
    mkt: MarketingField
    sales: SalesField
    rounds: int
    change: float


def _equilibrium(
    sc, co, scheme, kappa: dict, roles: dict[str, _Role], max_rounds: int, start: _Equilibrium | None = None
) -> _Equilibrium:
    """Marketing and sales best-respond to each other until their weekly averages settle."""
    mkt_role, sales_role = roles["marketing"], roles["sales"]
    mkt = start.mkt if start else co.fixed_marketing()
    sales = start.sales if start else co.fixed_sales(mkt)
    mkt_sol = start.mkt_sol if start else None
    sales_sols = start.sales_sols if start else None
    change = 0.0
    rounds = 0
    # Plain best responses while the changes shrink geometrically (logit responses are smooth);
    # fictitious play (the running average of best responses, weight 1/k) once they stall or
    # cycle, such as marketing switching to volume and sales answering by ignoring its appointments.
    averaging_from = None
    previous = math.inf
    for rounds in range(1, max_rounds + 1):
        weight = 1.0 if averaging_from is None else 1.0 / (rounds - averaging_from + 1)
        old = (mkt.effort.copy(), mkt.quality.copy(), sales.effort.copy(), sales.follow.copy())
        if mkt_role.paid:
            guess = mkt_sol.guess if mkt_sol is not None else None
            mkt_sol = _solve_marketing(
                sc, co, mkt_role, kappa["marketing"], kappa.get("marketing_quality", 0.0),
                kappa.get("implicit_marketing", 0.0), sales, guess,
            )  # fmt: skip
            mkt = _damp(mkt, _marketing_field(co, mkt_sol), weight)
        if sales_role.paid:
            guesses = {key: s.guess for key, s in (sales_sols or {}).items()}
            sales_sols = _solve_sales(
                sc, co, sales_role, kappa["sales"], kappa.get("implicit_sales", 0.0), mkt, sales, guesses
            )
            sales = _damp(sales, _sales_field(co, sales_role, sales_sols, mkt), weight)
        else:
            sales = co.fixed_sales(mkt)
        new = (mkt.effort, mkt.quality, sales.effort, sales.follow)
        change = float(max(np.max(np.abs(a - b)) for a, b in zip(old, new, strict=True)))
        if _DEBUG:
            print("round", rounds, "change", change, "weight", weight)
        if rounds > 1 and change < TOL:
            break
        if not mkt_role.paid and not sales_role.paid:
            break
        if averaging_from is None and rounds >= 3 and change > 0.6 * previous:
            averaging_from = rounds + 1
        previous = change
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
        annual_t = float(np.mean(pc.annual_target))
        slope = pc.multiple(1.5) - pc.multiple(0.5)
        per_unit = float(np.mean(pc.annual_money)) * slope / annual_t
        if pc.measure in ("own_wins", "team_wins"):
            per_unit /= v
        elif pc.measure == "appointments":
            per_unit /= per_appt
        total += per_unit
    return total


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


def calibrate(sc: Scenario) -> dict[str, float]:
    """Effort- and quality-cost scales per role (currency per year), and implicit incentives.

    Values given in ``[behaviour]`` are used as they are; ``"calibrate"`` ones are chosen by
    revealed preference: in the equilibrium of the baseline scheme, reps' expected output equals
    the funnel as entered, marketing's average effort is 1 and its focus is today's. Cached on
    disk by scenario hash and solver source.
    """
    b = sc.behaviour
    base_name = b.baseline_scheme or next(iter(sc.schemes))
    sim = sc.simulation
    code = _solver_source_hash()
    key = (sc.hash, base_name, sim.burn_in_years, sim.horizon_years, code)
    if key in _CALIBRATION_CACHE:
        return dict(_CALIBRATION_CACHE[key])
    from .._cache import load_json, save_json

    cache_name = f"calibration-{sc.hash}-{_safe(base_name)}-{sim.burn_in_years}-{sim.horizon_years}-{code}.json"
    stored = load_json(cache_name)
    if _valid_calibration(stored):
        _CALIBRATION_CACHE[key] = stored
        return dict(stored)
    out = _calibrate(sc, base_name)
    _CALIBRATION_CACHE[key] = dict(out)
    save_json(cache_name, out)
    return out


def _valid_calibration(d) -> bool:
    keys = ("sales", "marketing", "marketing_quality", "implicit_sales", "implicit_marketing")
    if not isinstance(d, dict) or any(k not in d for k in keys):
        return False
    try:
        return all(math.isfinite(float(d[k])) and float(d[k]) >= 0 for k in keys)
    except (TypeError, ValueError):
        return False


def _calibrate(sc: Scenario, base_name: str) -> dict[str, float]:
    b = sc.behaviour
    base = sc.schemes[base_name]
    sc = sc.for_scheme(base)  # calibrate under the baseline scheme's hand-off levers
    co = Company(sc)
    roles = {"marketing": _role(sc, base, "marketing"), "sales": _role(sc, base, "sales")}
    mkt = co.fixed_marketing()
    sales = co.fixed_sales(mkt)
    entered_output = float(sales.own_wins.sum())
    share = b.implicit_incentive
    psi_s = share / (1.0 - share) * marginal_bonus_value(sc, base, "sales")
    psi_m = share / (1.0 - share) * marginal_bonus_value(sc, base, "marketing")
    sales_paid = roles["sales"].paid
    mkt_paid = roles["marketing"].paid
    k_s = b.effort_cost_sales if b.effort_cost_sales is not None else max(sc.sales.bonus_at_target, 1.0)
    bonus_m = base.marketing.bonus_at_target if mkt_paid else sc.marketing.bonus_at_target
    k_e = b.effort_cost_marketing if b.effort_cost_marketing is not None else max(bonus_m, 1.0)
    k_q = b.quality_cost_marketing if b.quality_cost_marketing is not None else 0.0
    q0 = sc.marketing.quality.baseline
    guesses: dict = {}
    mguess: list = [None]

    def sales_ratio(k: float) -> float:
        sols = _solve_sales(sc, co, roles["sales"], k, psi_s, mkt, sales, guesses)
        for key, s in sols.items():
            guesses[key] = s.guess
        out = sum(
            roles["sales"].group_share[g] * co.weights[kk] * s.mean[:, S_OWN].sum() for (g, kk), s in sols.items()
        )
        return float(out / max(entered_output, 1e-12))

    def mkt_means(ke: float, kq: float) -> tuple[float, float]:
        sol = _solve_marketing(sc, co, roles["marketing"], ke, kq, psi_m, sales, mguess[0])
        mguess[0] = sol.guess
        return float(sol.mean[:, M_EFFORT].mean()), float(sol.mean[:, M_QUALITY].mean())

    # Calibrate each role against the other's current behaviour, move both to the baseline
    # equilibrium under the new scales, and repeat until the equilibrium reproduces the funnel.
    for _ in range(4):
        if mkt_paid:
            for _ in range(2):
                if b.effort_cost_marketing is None:
                    k_e = _root_log(lambda k, kq=k_q: mkt_means(k, kq)[0], 1.0, k_e)
                if b.quality_cost_marketing is None:
                    if mkt_means(k_e, 0.0)[1] >= q0 - 0.005:
                        k_q = 0.0  # today's scheme gives today's focus without a penalty
                    else:
                        k_q = _root_log(lambda k, ke=k_e: mkt_means(ke, k)[1], q0, max(k_q, bonus_m), increasing=True)
        if sales_paid and b.effort_cost_sales is None:
            k_s = _root_log(sales_ratio, 1.0, k_s)
        kappa = {
            "sales": k_s,
            "marketing": k_e,
            "marketing_quality": k_q,
            "implicit_sales": psi_s,
            "implicit_marketing": psi_m,
        }
        eq = _equilibrium(sc, co, base, kappa, roles, max_rounds=b.max_rounds)
        mkt, sales = eq.mkt, eq.sales
        out_ratio = float(sales.own_wins.sum()) / max(entered_output, 1e-12)
        ok_sales = not sales_paid or b.effort_cost_sales is not None or abs(out_ratio - 1.0) < 0.01
        ok_mkt = not mkt_paid or (
            (b.effort_cost_marketing is not None or abs(float(mkt.effort.mean()) - 1.0) < 0.01)
            and (b.quality_cost_marketing is not None or float(mkt.quality.mean()) >= q0 - 0.01)
        )
        if ok_sales and ok_mkt:
            break
    return {
        "baseline_scheme": base_name,
        "sales": float(k_s),
        "marketing": float(k_e),
        "marketing_quality": float(k_q),
        "implicit_sales": float(psi_s),
        "implicit_marketing": float(psi_m),
    }


# -- the policy of a scheme -----------------------------------------------------------------------


def _solver_source_hash() -> str:
    from .._cache import source_hash

    return source_hash(
        "model/policy.py", "model/agent.py", "model/state.py", "model/lags.py", "model/company.py", "funnel.py",
        "pay.py", "kernels/dp.py", "kernels/pay.py", "compile.py",
    )  # fmt: skip


def solve_policy(sc: Scenario, scheme: Scheme | str, kappa: dict[str, float] | None = None) -> SolvedPolicy:
    """Solve the marketing-sales equilibrium of a scheme and compile it for the simulation.

    Parameters
    ----------
    sc : Scenario
    scheme : Scheme or str
        The scheme (or its name).
    kappa : dict, optional
        Effort-cost scales ``{"sales": ..., "marketing": ...}`` (and ``marketing_quality``,
        ``implicit_sales``, ``implicit_marketing``); default: :func:`calibrate`.

    Returns
    -------
    SolvedPolicy
    """
    if isinstance(scheme, str):
        scheme = sc.scheme(scheme)
    from .._cache import load_arrays, save_arrays

    cache_name = None
    if kappa is None:
        sim = sc.simulation  # the feedback lever depends on the burn-in and horizon
        cache_name = (
            f"policy-{sc.hash}-{_safe(scheme.name)}-{sim.burn_in_years}-{sim.horizon_years}-{_solver_source_hash()}.npz"
        )
        stored = load_arrays(cache_name)
        if stored is not None:
            solved = _from_arrays(stored, sc)
            if solved is not None:
                return solved
    t0 = time.perf_counter()
    kappa = kappa or calibrate(sc)
    sc_s = sc.for_scheme(scheme)  # the scheme's own hand-off levers, if any
    co = Company(sc_s)
    roles = {"marketing": _role(sc_s, scheme, "marketing"), "sales": _role(sc_s, scheme, "sales")}
    eq = _equilibrium(sc_s, co, scheme, kappa, roles, sc.behaviour.max_rounds)
    policy = _compile(sc_s, scheme, co, roles, eq)
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
        "converged": bool(eq.change < TOL) or not (roles["sales"].paid or roles["marketing"].paid),
        "effort_cost_sales": kappa["sales"],
        "effort_cost_marketing": kappa["marketing"],
        "quality_cost_marketing": kappa.get("marketing_quality", 0.0),
        "calibrated_on": kappa.get("baseline_scheme"),
        "mean_sales_effort": float(eq.sales.effort.mean()),
        "mean_follow_share": float(eq.sales.follow.mean()),
        "mean_marketing_effort": float(eq.mkt.effort.mean()),
        "mean_marketing_quality": float(eq.mkt.quality.mean()),
        "expected_wins_per_rep": float(eq.sales.own_wins.sum()),
        "solve_seconds": round(time.perf_counter() - t0, 3),
        "state": {name: _describe(role) for name, role in roles.items()},
    }
    solved = SolvedPolicy(
        policy,
        info,
        sales_effort_week=effort_week,
        follow_week=np.asarray(eq.sales.follow, dtype=float),
        marketing_effort_week=np.asarray(eq.mkt.effort, dtype=float),
        marketing_quality_week=np.asarray(eq.mkt.quality, dtype=float),
        sales_output_week=output_week,
    )
    if cache_name is not None:
        save_arrays(cache_name, _to_arrays(solved))
    return solved


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
    sc, scheme, co: Company, role: _Role, sols: dict[tuple[int, int], Solution], n_comp: int
) -> AgentPolicy:
    """Stack the solutions of a role's agents into the kernel's arrays."""
    NG = len(role.persons)
    K = len(co.levels) if role.name == "sales" else 1
    any_sol = next(iter(sols.values()))
    G0, G1, L = any_sol.problem.G
    choice = np.zeros((NG, K, WEEKS_PER_YEAR, G0, G1, L, 2))
    timing = np.zeros((NG, K, WEEKS_PER_YEAR, G0, G1, L), dtype=np.int8)
    grid_max = np.ones((NG, K, 2))
    paid_money = np.ones((NG, K))
    for (g, k), sol in sols.items():
        choice[g, k] = sol.choice
        timing[g, k] = sol.timing
        grid_max[g, k] = np.where(sol.problem.grid_max > 0, sol.problem.grid_max, 1.0)
        paid_money[g, k] = sol.problem.paid_money
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
        paid_money=paid_money,
    )  # fmt: skip


def _compile(sc, scheme, co: Company, roles: dict[str, _Role], eq: _Equilibrium) -> CompiledPolicy:
    n_comp = sum(len(r.comps) for r in roles.values()) if roles["marketing"].paid else len(roles["sales"].comps)
    n_comp = (len(scheme.marketing.components) if scheme.marketing else 0) + (
        len(scheme.sales.components) if scheme.sales else 0
    )
    K = len(co.levels)
    if eq.sales_sols is not None:
        sales = _agent_policy(sc, scheme, co, roles["sales"], eq.sales_sols, n_comp)
    else:
        sales = constant_policy(sc.sales.reps, K, 1.0, 1.0, n_comp)
    if eq.mkt_sol is not None:
        mkt = _agent_policy(sc, scheme, co, roles["marketing"], {(0, 0): eq.mkt_sol}, n_comp)
    else:
        mkt = constant_policy(1, 1, 1.0, co.q0, n_comp)
    return CompiledPolicy(sales=sales, marketing=mkt, any_timing=bool(np.any(sales.timing != 0)))


# -- the disk cache ---------------------------------------------------------------------------------


def _safe(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()[:10]


_PROFILES = ("sales_effort_week", "follow_week", "marketing_effort_week", "marketing_quality_week", "sales_output_week")
_CACHE_FORMAT = 2


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
            roles[role] = pol
        K = len(sc.sales.ability.levels)
        if roles["sales"].choice.shape[1] != K or roles["sales"].group.shape[0] != max(sc.sales.reps, 1):
            return None
        profiles = {name: np.asarray(d[name], dtype=float) for name in _PROFILES}
        if any(not np.all(np.isfinite(v)) for v in profiles.values()):
            return None
        policy = CompiledPolicy(sales=roles["sales"], marketing=roles["marketing"], any_timing=bool(d["any_timing"]))
        return SolvedPolicy(policy, json.loads(str(d["info"])), **profiles)
    except (KeyError, TypeError, ValueError):
        return None
