"""The policy solver: choices that come from the scheme (DESIGN §2.2, §2.2.1).

Each agent maximises expected pay minus a convex effort cost by backward induction over
(week of the year, progress in the open target period of its main pay component, ability level):

* **sales reps** choose effort (scales prospecting volume and conversion), how much of the
  marketing appointments handed to them they work (ignored ones free time for cold calls), and
  at period ends whether to hold this week's deals into the next period or pull next week's in
  at a discount;
* **marketing** chooses effort (lead volume) and quality focus (more appointments, or better
  ones).

The weekly increment of an agent's measure is compound Poisson on the attainment grid (Panjer's
recursion), with rates from the funnel's steady state at the chosen action: a lag-free reduced
form (effort today mostly closes deals later, which the simulation itself keeps). Team measures
add the others' output under their current policies (mean field), so one rep's effort moves the
team figure by only about 1/R. Marketing and sales best-respond to each other's policies until
the weekly averages stop changing. The effort-cost scale is calibrated per role so that under
the baseline scheme average effort is 1 (the entered funnel rates are what today's scheme
produces). Secondary pay components enter at their average marginal value (linear).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..compile import CompiledPolicy, resolved_targets
from ..kernels import dp
from ..scenario.schema import WEEKS_PER_YEAR, Component, RolePlan, Scenario, Scheme, curve_value
from ..schemes.calendar import WEEK_MONTH, period_end_weeks, week_period
from .funnel import conversion_max, followup_survival, mean_genuine_multiplier, sales_conversion

GRID_MAX = 3.0  # the grid spans at least 0 .. 3 x the period target (more for high output)
FOLLOW_LEVELS = (0.0, 0.5, 1.0)
TOL = 5e-3  # equilibrium: stop when weekly mean effort, quality and follow-up move less
_CALIBRATION_CACHE: dict[tuple, dict[str, float]] = {}


@dataclass
class SolvedPolicy:
    """A compiled policy, the solver's diagnostics, and the equilibrium's expected profiles.

    Attributes
    ----------
    policy : CompiledPolicy
        What the kernel looks up each week.
    info : dict
        Rounds, last change, convergence, cost scales, equilibrium means (JSON-ready).
    sales_effort_week : ndarray(float, (K, 52))
        Expected effort of a rep of each ability level by week (from the forward pass).
    follow_week : ndarray(float, (52,))
        Expected share of handed-over appointments sales works, by week.
    marketing_effort_week, marketing_quality_week : ndarray(float, (52,))
        Marketing's expected effort and quality focus by week.
    """

    policy: CompiledPolicy
    info: dict = field(default_factory=dict)
    sales_effort_week: np.ndarray | None = None
    follow_week: np.ndarray | None = None
    marketing_effort_week: np.ndarray | None = None
    marketing_quality_week: np.ndarray | None = None


# -- the company's weekly rates -----------------------------------------------------------------


class _Company:
    """Scheme-independent rates of the funnel, per week and per action."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        b, m, s, h = sc.behaviour, sc.marketing, sc.sales, sc.handoff
        self.R = s.reps
        self.levels = np.asarray(s.ability.levels)
        self.weights = np.asarray(s.ability.weights)
        self.efforts = np.asarray(b.effort_levels)
        self.qualities = np.asarray(b.quality_levels)
        self.q0 = m.quality.baseline
        self.lead_week = np.array([m.leads_per_week * m.seasonality[WEEK_MONTH[w]] for w in range(WEEKS_PER_YEAR)])
        through = []
        for q in list(self.qualities) + [self.q0]:
            t = 1.0
            stages = sc.funnel.marketing_stages
            for i, st in enumerate(stages):
                t *= min(1.0, st.conversion * (m.quality.volume(q) if i == len(stages) - 1 else 1.0))
            through.append(t)
        self.through = np.asarray(through)  # last entry: baseline quality
        cmax = conversion_max(sc)
        gm = mean_genuine_multiplier(sc)  # duplication and feedback levers
        self.genuine = np.asarray(
            [min(1.0, m.quality.conversion(q) / cmax * gm) for q in list(self.qualities) + [self.q0]]
        )
        self.survive = followup_survival(h.delay_weeks, h.response_decay_per_week, h.sla_weeks)
        self.work_base = 1.0 - h.ignored_share
        self.call_rate = s.calls_per_week * s.call_to_appointment
        self.extra_per_ignored = s.calls_per_followup * s.call_to_appointment
        self.value_mean = sc.deals.value_mean
        sigma2 = math.log1p(sc.deals.value_cv**2)
        self.value_mu = math.log(sc.deals.value_mean) - 0.5 * sigma2
        self.value_sigma = math.sqrt(sigma2)
        self.annual_discount = b.annual_discount
        self.weekly_discount = b.annual_discount ** (1.0 / WEEKS_PER_YEAR)
        self.pull_discount = b.pull_in_discount
        # Pulled deals: the last stage's wins of the next pull_in_weeks weeks, as a multiple of one
        # week's wins (sum of the geometric closing chances).
        h_last = 1.0 / sc.funnel.sales_stages[-1].dwell_weeks
        self.pull_weeks_equivalent = (1.0 - (1.0 - h_last) ** b.pull_in_weeks) / h_last
        self.hold_loss = b.hold_back_loss
        # Marketing actions (effort, quality index) and sales actions (effort, follow share).
        self.mkt_actions = [(e, qi) for e in self.efforts for qi in range(len(self.qualities))]
        self.sales_actions = [(e, f) for e in self.efforts for f in FOLLOW_LEVELS]

    def conversions(self, productivity: float) -> tuple[float, float]:
        """(worked marketing appointment, self-prospected appointment) -> win probabilities."""
        return sales_conversion(self.sc, productivity)

    def sales_week(self, level: float, effort: float, follow: float, appts_per_rep: float, genuine: float):
        """Per-rep weekly rates for one action: own wins, sourced wins, self wins, worked, p_mkt.

        ``appts_per_rep``: appointments handed to the rep per week; ``genuine``: their genuine share.
        """
        prod = level * effort
        p_mkt, p_self = self.conversions(prod)
        arriving = appts_per_rep * self.survive
        worked = arriving * self.work_base * follow
        ignored = arriving - worked
        self_appts = self.call_rate * prod + ignored * self.extra_per_ignored * level
        sourced = worked * genuine * p_mkt
        self_wins = self_appts * p_self
        return sourced + self_wins, sourced, self_wins, worked, p_mkt


@dataclass
class _MktField:
    """Marketing as seen by sales, per week: appointments handed over and their genuine share."""

    appts: np.ndarray  # (52,)
    genuine: np.ndarray  # (52,)
    effort: np.ndarray  # (52,)
    quality: np.ndarray  # (52,)


@dataclass
class _SalesField:
    """Sales as seen by marketing and by each rep, per week (per rep averages over levels)."""

    follow: np.ndarray  # (52,) share of genuine appointments worked (relative to work_base)
    p_mkt: np.ndarray  # (52,) conversion of a worked appointment
    self_wins: np.ndarray  # (52,) per rep
    own_wins: np.ndarray  # (52,) per rep
    effort: np.ndarray  # (52,)


def _fixed_mkt(co: _Company) -> _MktField:
    appts = co.lead_week * co.through[-1]
    return _MktField(appts, np.full(52, co.genuine[-1]), np.ones(52), np.full(52, co.q0))


def _fixed_sales(co: _Company, mkt: _MktField) -> _SalesField:
    own = np.zeros(52)
    selfw = np.zeros(52)
    pm = 0.0
    for lv, w in zip(co.levels, co.weights, strict=True):
        for t in range(52):
            o, _, sw, _, p = co.sales_week(lv, 1.0, 1.0, mkt.appts[t] / co.R, mkt.genuine[t])
            own[t] += w * o
            selfw[t] += w * sw
        pm += w * co.conversions(lv)[0]
    return _SalesField(np.ones(52), np.full(52, pm), selfw, own, np.ones(52))


# -- increments on the grid -----------------------------------------------------------------------


def _jump_pmf(co: _Company, steps_per_unit: float, counts: bool, length: int, discount: float = 0.0) -> np.ndarray:
    """pmf of one jump (a deal's value, or one count) in grid steps, split linearly between
    neighbouring grid points so the mean is exact."""
    pmf = np.zeros(length)
    if counts:
        sizes = np.array([steps_per_unit])
    else:
        n = 256
        if co.value_sigma == 0:
            sizes = np.array([math.exp(co.value_mu)])
        else:
            from scipy.special import ndtri

            z = ndtri((np.arange(n) + 0.5) / n)
            sizes = np.exp(co.value_mu + co.value_sigma * z)
        sizes = sizes * (1.0 - discount) * steps_per_unit
    w = 1.0 / len(sizes)
    lo = np.floor(sizes).astype(np.int64)
    frac = sizes - lo
    for k, f in zip(lo, frac, strict=True):
        if k >= length - 1:
            pmf[length - 1] += w
        else:
            pmf[k] += w * (1.0 - f)
            pmf[k + 1] += w * f
    return pmf


def _increments(lam: np.ndarray, jumps: list[np.ndarray], week_k: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray]:
    """Compound-Poisson increment pmfs ``P[t, a]`` for rates ``lam[t, a]`` and per-period jumps."""
    T, A = lam.shape
    P = np.zeros((T, A, G))
    dp._increments_all(np.ascontiguousarray(lam, dtype=np.float64), np.stack(jumps), np.asarray(week_k), P)
    support = np.zeros((T, A), dtype=np.int64)
    dp._support(P, 1e-13, support)
    return P, support


# -- one role's problem -------------------------------------------------------------------------


@dataclass
class _RoleProblem:
    """Everything the Bellman kernel needs for one agent type."""

    comp: Component
    week_end: np.ndarray
    week_k: np.ndarray
    payout: np.ndarray  # (n_periods, G)
    targets: np.ndarray  # (n_periods,) mean period target
    counts: bool  # measure counts deals/appointments (jump of 1) rather than money
    grid_max: float  # the grid spans 0 .. grid_max x the period target


def _role_problem(
    sc: Scenario, scheme: Scheme, role: str, G: int, grid_max: float = GRID_MAX
) -> tuple[_RoleProblem, list[tuple[Component, float]]]:
    """The main component's grid problem, and the secondary components' linear values.

    Returns
    -------
    (problem, secondary)
        ``secondary``: (component, currency per unit of its measure at the margin).
    """
    plan: RolePlan = scheme.plan(role)
    targets = resolved_targets(sc, scheme)
    weight = [1.0 if c.commission_rate is not None else c.weight for c in plan.components]
    main = int(np.argmax(weight))
    dx = grid_max / (G - 1)
    xs = np.arange(G) * dx
    secondary = []
    problem = None
    for i, c in enumerate(plan.components):
        annual_t = float(np.mean(targets[(role, i)]))
        money = c.commission_rate * annual_t if c.commission_rate is not None else plan.bonus_at_target * c.weight
        if i == main:
            n = c.n_periods
            pay = np.zeros((n, G))
            tk = np.zeros(n)
            for k in range(n):
                tk[k] = annual_t * c.phasing[k]
                pay[k] = money * c.phasing[k] * np.array([curve_value(c.curve, x) for x in xs])
            problem = _RoleProblem(
                comp=c,
                week_end=period_end_weeks(c.period).astype(np.int64),
                week_k=week_period(c.period),
                payout=pay,
                targets=tk,
                counts=c.measure in ("appointments", "own_wins", "team_wins"),
                grid_max=grid_max,
            )
        else:
            slope = curve_value(c.curve, 1.5) - curve_value(c.curve, 0.5)
            secondary.append((c, money * slope / annual_t))
    return problem, secondary


def _week_grid_scale(problem: _RoleProblem, G: int) -> list[float]:
    """Grid steps per unit of measure, per period."""
    dx = problem.grid_max / (G - 1)
    return [1.0 / (t * dx) for t in problem.targets]


def _grid_max_for(problem: _RoleProblem, weekly_rate: np.ndarray, co: _Company) -> float:
    """A grid top that the agent's period measure rarely reaches even at its highest output.

    ``weekly_rate``: (52,) expected weekly number of jumps (deals or appointments) at the most
    productive action. The top is at least :data:`GRID_MAX` and the period total's mean plus
    four standard deviations (compound Poisson) plus the deals a pull-in could add, in
    attainment units, so a head start or a pulled deal is never valued at a clamped edge.
    """
    if problem.counts:
        m1, m2 = 1.0, 1.0
    else:
        m1 = co.value_mean
        m2 = co.value_mean**2 * math.exp(co.value_sigma**2)
    top = 0.0
    for k, target in enumerate(problem.targets):
        n = float(weekly_rate[problem.week_k == k].sum())
        week_n = float(weekly_rate[problem.week_k == k].max()) if n > 0 else 0.0
        total = n * m1 + 4.0 * math.sqrt(n * m2) + co.pull_weeks_equivalent * week_n * m1
        top = max(top, total / target)
    return float(max(GRID_MAX, top))


def _effort_cost(kappa: float, effort: float, exponent: float) -> float:
    """Money-equivalent cost per week: kappa (e^n - 1) / (2^n - 1) per year (kappa: e=2 vs e=1)."""
    return kappa * (effort**exponent - 1.0) / (2.0**exponent - 1.0) / WEEKS_PER_YEAR


@dataclass
class _Solution:
    grid_max: float
    policy: np.ndarray  # (52, G)
    timing: np.ndarray  # (52, G)
    mean: np.ndarray  # (52, Q) forward means
    final: np.ndarray  # (52, G)


def _solve_sales_level(
    co, sc, scheme, problem, secondary, kappa, level, mkt, others, G, timing_on, final_dist, psi=0.0
) -> _Solution:
    """Best response of a rep of one ability level."""
    acts = co.sales_actions
    A = len(acts)
    rates = np.zeros((52, A, 6))  # own, sourced, self, worked, p_mkt, effort
    for a, (e, f) in enumerate(acts):
        for t in range(52):
            own, src, sw, wk, pm = co.sales_week(level, e, f, mkt.appts[t] / co.R, mkt.genuine[t])
            rates[t, a] = (own, src, sw, wk, pm, e)
    measure = problem.comp.measure
    lam = rates[:, :, 0].copy()
    if measure.startswith("team_"):
        lam += (co.R - 1) * others.own_wins[:, None]
    gmax = _grid_max_for(problem, lam.max(axis=1), co)
    if gmax != problem.grid_max:
        problem, secondary = _role_problem(sc, scheme, "sales", G, gmax)
    scale = _week_grid_scale(problem, G)
    jumps = [_jump_pmf(co, s, problem.counts, G) for s in scale]
    P, support = _increments(lam, jumps, problem.week_k, G)
    cost = np.zeros((52, A))
    for a, (e, _f) in enumerate(acts):
        cost[:, a] = _effort_cost(kappa, e, sc.behaviour.effort_cost_exponent)
    for comp, per_unit in secondary:
        per_week = _secondary_rate(comp.measure, rates, others, co)
        cost -= per_unit * per_week
    cost -= psi * rates[:, :, 0] * co.value_mean  # implicit value of own bookings
    tie = np.array([1e-9 * (abs(e - 1.0) + abs(f - 1.0)) for e, f in acts])
    final_adj = _ratchet_adjustment(problem, final_dist, G, co.annual_discount)
    V, pol = _backward(problem, P, support, cost, tie, final_adj, co, G)
    tim = np.zeros((52, G), dtype=np.int64)
    if timing_on:
        pull_jumps = [_jump_pmf(co, s, problem.counts, G, discount=co.pull_discount) for s in scale]
        Ppull = np.zeros_like(P)
        Pz = np.zeros_like(P)
        tmp = np.zeros(G)
        for t in np.nonzero(problem.week_end)[0]:
            for a in range(A):
                lam_pull = float(rates[t, a, 0] * co.pull_weeks_equivalent)
                dp._panjer(lam_pull, pull_jumps[problem.week_k[t]], tmp)
                dp._convolve(P[t, a, : support[t, a]], tmp, Ppull[t, a])
                dp._panjer(lam_pull, jumps[problem.week_k[t]], Pz[t, a])
        pull_support = np.zeros((52, A), dtype=np.int64)
        dp._support(Ppull, 1e-13, pull_support)
        z_support = np.zeros((52, A), dtype=np.int64)
        dp._support(Pz, 1e-13, z_support)
        nk = len(problem.targets)
        ratio = np.ones(52)
        for t in np.nonzero(problem.week_end)[0]:
            k = problem.week_k[t]
            ratio[t] = problem.targets[k] / problem.targets[(k + 1) % nk]
        cont = V[0]  # next year's value at each January state (already discounted week by week)
        dp._timing(
            P, support, Ppull, pull_support, Pz, z_support, problem.week_end, problem.week_k, problem.payout,
            final_adj, V, cont, ratio, pol, co.hold_loss, tim,
        )  # fmt: skip
    mean = np.zeros((52, rates.shape[2]))
    final = np.zeros((52, G))
    dp._forward(P, support, pol, problem.week_end, rates, mean, final)
    return _Solution(problem.grid_max, pol, tim, mean, final)


def _backward(problem, P, support, cost, tie, final_adj, co, G):
    """Backward induction for one agent: values ``(53, G)`` and the policy ``(52, G)``."""
    V = np.zeros((53, G))
    pol = np.zeros((52, G), dtype=np.int64)
    dp._bellman(
        P, support, cost, tie, problem.week_end, problem.week_k, problem.payout, final_adj, 0.0, co.weekly_discount,
        V, pol,
    )  # fmt: skip
    return V, pol


def _secondary_rate(measure: str, rates: np.ndarray, others: _SalesField, co: _Company) -> np.ndarray:
    """Expected weekly amount of a secondary sales measure per action, (52, A)."""
    own, src = rates[:, :, 0], rates[:, :, 1]
    team = own + (co.R - 1) * others.own_wins[:, None]
    v = co.value_mean
    return {
        "own_bookings": own * v,
        "own_margin": own * v,
        "own_wins": own,
        "team_bookings": team * v,
        "team_margin": team * v,
        "team_wins": team,
        "sourced_bookings": src * v,
    }[measure]


def _ratchet_adjustment(problem: _RoleProblem, final_dist: np.ndarray | None, G: int, discount: float) -> np.ndarray:
    """Year-end value of the final attainment when an annual ratchet moves next year's target.

    v(s) = expected annual payout if the target is scaled by s, from the distribution of the final
    attainment under the current policy; the adjustment is discount * (v(s'(x)) - v(1)).
    """
    c = problem.comp
    adj = np.zeros(G)
    if c.period != "year" or (c.ratchet_up == 0 and c.ratchet_down == 0) or final_dist is None:
        return adj
    dx = problem.grid_max / (G - 1)
    xs = np.arange(G) * dx
    dist = final_dist / max(final_dist.sum(), 1e-300)
    pay = problem.payout[0]

    def v(scale: float) -> float:
        return float(np.dot(dist, np.interp(xs / scale, xs, pay)))

    base = v(1.0)
    for i, x in enumerate(xs):
        s = 1.0 + c.ratchet_up * (x - 1.0) if x >= 1.0 else 1.0 - c.ratchet_down * (1.0 - x)
        adj[i] = discount * (v(max(s, 0.05)) - base)
    return adj


def _solve_sales(co, sc, scheme, kappa, mkt, others, G, prev_final, psi=0.0):
    problem, secondary = _role_problem(sc, scheme, "sales", G)
    timing_on = problem.comp.measure.startswith("own_")
    sols = []
    for k, level in enumerate(co.levels):
        fd = None if prev_final is None else prev_final[k]
        sols.append(
            _solve_sales_level(co, sc, scheme, problem, secondary, kappa, level, mkt, others, G, timing_on, fd, psi)
        )
    return problem, sols


def _solve_marketing(co, sc, scheme, kappa, sales, G, prev_final, kappa_q=0.0, psi=0.0):
    problem, secondary = _role_problem(sc, scheme, "marketing", G)
    acts = co.mkt_actions
    A = len(acts)
    rates = np.zeros((52, A, 5))  # appts, genuine appts, sourced wins, effort, quality
    for a, (e, qi) in enumerate(acts):
        appts = co.lead_week * e * co.through[qi]
        genuine = appts * co.genuine[qi]
        worked = genuine * co.survive * co.work_base * sales.follow
        rates[:, a, 0] = appts
        rates[:, a, 1] = genuine
        rates[:, a, 2] = worked * sales.p_mkt
        rates[:, a, 3] = e
        rates[:, a, 4] = co.qualities[qi]
    measure = problem.comp.measure
    if measure == "appointments":
        lam = rates[:, :, 0]
    elif measure == "sourced_bookings":
        lam = rates[:, :, 2]
    else:  # team measures: marketing's sourced wins plus the reps' self-sourced wins
        lam = rates[:, :, 2] + co.R * sales.self_wins[:, None]
    gmax = _grid_max_for(problem, lam.max(axis=1), co)
    if gmax != problem.grid_max:
        problem, secondary = _role_problem(sc, scheme, "marketing", G, gmax)
    scale = _week_grid_scale(problem, G)
    jumps = [_jump_pmf(co, s, problem.counts, G) for s in scale]
    P, support = _increments(np.ascontiguousarray(lam), jumps, problem.week_k, G)
    cost = np.zeros((52, A))
    for a, (e, qi) in enumerate(acts):
        # Effort cost, plus the cost of a low-quality focus (complaints from sales, management
        # pressure): kappa_q (1 - q)^2 per year, calibrated so the baseline keeps today's focus.
        cost[:, a] = (
            _effort_cost(kappa, e, sc.behaviour.effort_cost_exponent)
            + kappa_q * (1.0 - co.qualities[qi]) ** 2 / WEEKS_PER_YEAR
        )
    v = co.value_mean
    for comp, per_unit in secondary:
        team = rates[:, :, 2] + co.R * sales.self_wins[:, None]
        amount = {
            "appointments": rates[:, :, 0],
            "sourced_bookings": rates[:, :, 2] * v,
            "team_bookings": team * v,
            "team_margin": team * v,
            "team_wins": team,
        }[comp.measure]
        cost -= per_unit * amount
    cost -= psi * rates[:, :, 2] * v  # implicit value of the bookings marketing's appointments bring
    tie = np.array([1e-9 * (abs(e - 1.0) + abs(co.qualities[qi] - co.q0)) for e, qi in acts])
    final_adj = _ratchet_adjustment(problem, prev_final, G, co.annual_discount)
    _, pol = _backward(problem, P, support, cost, tie, final_adj, co, G)
    mean = np.zeros((52, 5))
    final = np.zeros((52, G))
    dp._forward(P, support, pol, problem.week_end, rates, mean, final)
    return problem, _Solution(problem.grid_max, pol, np.zeros((52, G), np.int64), mean, final)


def _mkt_field(co: _Company, sol: _Solution) -> _MktField:
    m = sol.mean
    appts = m[:, 0]
    genuine = np.divide(m[:, 1], appts, out=np.full(52, co.genuine[-1]), where=appts > 0)
    return _MktField(appts=appts, genuine=genuine, effort=m[:, 3], quality=m[:, 4])


def _final_year_dist(problem: _RoleProblem, sol: _Solution) -> np.ndarray | None:
    if problem.comp.period != "year":
        return None
    return sol.final[51]


# -- calibration and equilibrium ---------------------------------------------------------------


def marginal_bonus_value(sc: Scenario, scheme: Scheme, role: str) -> float:
    """Bonus earned at the margin per unit of the role's own results (currency per currency).

    Own results: a rep's bookings; for marketing, the bookings its appointments bring. Each pay
    component contributes its average slope (between 50 % and 150 % attainment) per unit of its
    measure, converted to own results; team measures count one's own results one for one.
    """
    from .funnel import steady_state

    plan = scheme.plan(role)
    if plan is None:
        return 0.0
    targets = resolved_targets(sc, scheme)
    ss = steady_state(sc)
    v = sc.deals.value_mean
    per_appt = v * ss.marketing_wins / ss.appointments if ss.appointments > 0 else v
    total = 0.0
    for i, c in enumerate(plan.components):
        annual_t = float(np.mean(targets[(role, i)]))
        money = c.commission_rate * annual_t if c.commission_rate is not None else plan.bonus_at_target * c.weight
        slope = curve_value(c.curve, 1.5) - curve_value(c.curve, 0.5)
        per_unit = money * slope / annual_t
        if c.measure in ("own_wins", "team_wins"):
            per_unit /= v
        elif c.measure == "appointments":
            per_unit /= per_appt
        total += per_unit
    return total


def _calibrate_one(fn, scale: float, target: float = 1.0, band: float = 0.01, decreasing: bool = True) -> float:
    """A cost scale at the middle (log scale) of the band where ``fn(scale)`` is about ``target``.

    ``fn`` is monotone in the scale (decreasing for effort, increasing for quality). Choices are
    discrete, so the mean is a step function: the band of scales that give the target is found
    by bisection on each edge and its geometric middle returned. At the ends of the search range
    (1e-3 to 1e3 times ``scale``) the nearer end is returned (no calibration possible).
    """
    lo_k, hi_k = max(scale, 1.0) * 1e-3, max(scale, 1.0) * 1e3
    sign = 1.0 if decreasing else -1.0

    def g(k: float) -> float:  # decreasing in k, target 0
        return sign * (fn(k) - target)

    if g(hi_k) > band:
        return hi_k
    if g(lo_k) < -band:
        return lo_k

    def crossing(upper: bool) -> float:
        a, b = math.log(lo_k), math.log(hi_k)
        for _ in range(10):
            mid = 0.5 * (a + b)
            v = g(math.exp(mid))
            if (v > band) if upper else (v >= -band):
                a = mid
            else:
                b = mid
        return 0.5 * (a + b)

    return math.exp(0.5 * (crossing(True) + crossing(False)))


def calibrate(sc: Scenario, G: int | None = None) -> dict[str, float]:
    """Effort- and quality-cost scales per role (currency per year), and implicit incentives.

    Values given in ``[behaviour]`` are used as they are; ``"calibrate"`` ones are chosen by
    revealed preference: in the equilibrium of the baseline scheme, reps' expected output equals
    the funnel as entered, marketing's average effort is 1 and its focus is today's. Calibration
    runs on a grid of at most 81 points and is cached on disk by scenario hash.
    """
    b = sc.behaviour
    G = min(G or b.grid_points, 81)
    base_name = b.baseline_scheme or next(iter(sc.schemes))
    key = (sc.hash, base_name, G, sc.simulation.burn_in_years, sc.simulation.horizon_years)
    if key in _CALIBRATION_CACHE:
        return dict(_CALIBRATION_CACHE[key])
    from .._cache import load_json, save_json
    from .policy_cache import check_calibration

    sim = sc.simulation
    cache_name = f"calibration-{sc.hash}-{_safe(base_name)}-{G}-{sim.burn_in_years}-{sim.horizon_years}.json"
    stored = load_json(cache_name, validate=check_calibration)
    if stored is not None:
        _CALIBRATION_CACHE[key] = stored
        return dict(stored)
    base = sc.schemes[base_name]
    sc = sc.for_scheme(base)  # calibrate under the baseline scheme's hand-off levers
    co = _Company(sc)
    mkt = _fixed_mkt(co)
    sales = _fixed_sales(co, mkt)
    entered_output = float(sales.own_wins.sum())
    share = b.implicit_incentive
    psi_s = share / (1.0 - share) * marginal_bonus_value(sc, base, "sales")
    psi_m = share / (1.0 - share) * marginal_bonus_value(sc, base, "marketing")
    sales_paid = base.sales is not None
    mkt_paid = base.marketing is not None and sc.marketing.headcount > 0
    k_s = b.effort_cost_sales if b.effort_cost_sales is not None else max(sc.sales.bonus_at_target, 1.0)
    bonus_m = base.marketing.bonus_at_target if mkt_paid else sc.marketing.bonus_at_target
    k_e = b.effort_cost_marketing if b.effort_cost_marketing is not None else max(bonus_m, 1.0)
    k_q = b.quality_cost_marketing if b.quality_cost_marketing is not None else 0.0
    q0 = sc.marketing.quality.baseline

    def sales_ratio(k: float) -> float:
        _, sols = _solve_sales(co, sc, base, k, mkt, sales, G, None, psi_s)
        out = sum(w * s.mean[:, 0].sum() for w, s in zip(co.weights, sols, strict=True))
        return float(out / max(entered_output, 1e-12))

    def mkt_means(ke: float, kq: float) -> tuple[float, float]:
        _, sol = _solve_marketing(co, sc, base, ke, sales, G, None, kq, psi_m)
        return float(sol.mean[:, 3].mean()), float(sol.mean[:, 4].mean())

    # Two passes: calibrate each role against the other's current behaviour, then move both to
    # the baseline equilibrium under the new scales, and calibrate again there.
    for _ in range(2):
        if sales_paid and b.effort_cost_sales is None:
            k_s = _calibrate_one(sales_ratio, base.sales.bonus_at_target)
        if mkt_paid:
            for _ in range(2):
                if b.effort_cost_marketing is None:
                    k_e = _calibrate_one(lambda k, kq=k_q: mkt_means(k, kq)[0], bonus_m)
                if b.quality_cost_marketing is None:
                    if mkt_means(k_e, 0.0)[1] >= q0 - 0.01:
                        k_q = 0.0  # today's scheme gives today's focus without a penalty
                    else:
                        k_q = _calibrate_one(
                            lambda k, ke=k_e: mkt_means(ke, k)[1], bonus_m, target=q0, band=0.02, decreasing=False
                        )
            _, msol = _solve_marketing(co, sc, base, k_e, sales, G, None, k_q, psi_m)
            mkt = _mkt_field(co, msol)
        if sales_paid:
            _, ssols = _solve_sales(co, sc, base, k_s, mkt, sales, G, None, psi_s)
            sales = _sales_field_from(co, ssols, mkt)
    out = {
        "baseline_scheme": base_name,
        "sales": float(k_s),
        "marketing": float(k_e),
        "marketing_quality": float(k_q),
        "implicit_sales": float(psi_s),
        "implicit_marketing": float(psi_m),
    }
    _CALIBRATION_CACHE[key] = dict(out)
    save_json(cache_name, out)
    return out


def solve_policy(sc: Scenario, scheme: Scheme, kappa: dict[str, float] | None = None) -> SolvedPolicy:
    """Solve the marketing-sales equilibrium of a scheme and compile it for the kernel.

    Parameters
    ----------
    sc : Scenario
    scheme : Scheme
    kappa : dict, optional
        Effort-cost scales ``{"sales": ..., "marketing": ...}``; default: :func:`calibrate`.

    Returns
    -------
    SolvedPolicy
        ``info`` holds the rounds, the last change, the cost scales, and the equilibrium's mean
        effort, quality and follow-up share.
    """
    G = sc.behaviour.grid_points
    from .._cache import load_arrays, save_arrays, source_hash
    from .policy_cache import check_policy_arrays

    cache_name = None
    if kappa is None:
        code = source_hash("model/policy.py", "model/funnel.py", "kernels/dp.py", "compile.py")
        sim = sc.simulation  # the feedback lever depends on the burn-in and horizon
        cache_name = f"policy-{sc.hash}-{_safe(scheme.name)}-{sim.burn_in_years}-{sim.horizon_years}-{code}.npz"
        stored = load_arrays(cache_name, validate=lambda d: check_policy_arrays(d, sc))
        if stored is not None:
            return _from_arrays(stored)
    kappa = kappa or calibrate(sc)
    sc = sc.for_scheme(scheme)  # the scheme's own hand-off levers, if any
    co = _Company(sc)
    mkt_paid = scheme.marketing is not None and sc.marketing.headcount > 0
    sales_paid = scheme.sales is not None
    mkt = _fixed_mkt(co)
    sales = _fixed_sales(co, mkt)
    mkt_sol = sales_sols = None
    mkt_final = None
    sales_final = None
    rounds = 0
    change = 0.0
    for rounds in range(1, sc.behaviour.max_rounds + 1):
        old = (mkt.effort.copy(), mkt.quality.copy(), sales.effort.copy(), sales.follow.copy())
        if mkt_paid:
            mproblem, mkt_sol = _solve_marketing(
                co, sc, scheme, kappa["marketing"], sales, G, mkt_final, kappa.get("marketing_quality", 0.0),
                kappa.get("implicit_marketing", 0.0),
            )  # fmt: skip
            new_mkt = _mkt_field(co, mkt_sol)
            mkt_final = _final_year_dist(mproblem, mkt_sol)
            mkt = _damp(mkt, new_mkt, rounds)
        if sales_paid:
            sproblem, sales_sols = _solve_sales(
                co, sc, scheme, kappa["sales"], mkt, sales, G, sales_final, kappa.get("implicit_sales", 0.0)
            )
            new_sales = _sales_field_from(co, sales_sols, mkt)
            sales_final = [_final_year_dist(sproblem, s) for s in sales_sols]
            if all(f is None for f in sales_final):
                sales_final = None
            sales = _damp(sales, new_sales, rounds)
        else:
            sales = _fixed_sales(co, mkt)
        new = (mkt.effort, mkt.quality, sales.effort, sales.follow)
        change = float(max(np.max(np.abs(a - b)) for a, b in zip(old, new, strict=True)))
        if rounds > 1 and change < TOL:
            break
    policy = _compile(co, sc, mkt_sol, sales_sols, G)
    info = {
        "rounds": rounds,
        "last_change": change,
        "converged": bool(change < TOL),
        "effort_cost_sales": kappa["sales"],
        "effort_cost_marketing": kappa["marketing"],
        "quality_cost_marketing": kappa.get("marketing_quality", 0.0),
        "calibrated_on": kappa.get("baseline_scheme"),
        "mean_sales_effort": float(sales.effort.mean()),
        "mean_follow_share": float(sales.follow.mean()),
        "mean_marketing_effort": float(mkt.effort.mean()),
        "mean_marketing_quality": float(mkt.quality.mean()),
    }
    if sales_sols is not None:
        effort_week = np.stack([sol.mean[:, 5] for sol in sales_sols])
    else:
        effort_week = np.ones((len(co.levels), 52))
    solved = SolvedPolicy(
        policy,
        info,
        sales_effort_week=effort_week,
        follow_week=np.asarray(sales.follow, dtype=float),
        marketing_effort_week=np.asarray(mkt.effort, dtype=float),
        marketing_quality_week=np.asarray(mkt.quality, dtype=float),
    )
    if cache_name is not None:
        save_arrays(cache_name, _to_arrays(solved))
    return solved


def _safe(name: str) -> str:
    import hashlib

    return hashlib.sha256(name.encode()).hexdigest()[:10]


def _to_arrays(solved: SolvedPolicy) -> dict:
    import json

    out = {f"policy_{k}": np.asarray(v) for k, v in solved.policy._asdict().items()}
    out["info"] = np.array(json.dumps(solved.info))
    out["sales_effort_week"] = solved.sales_effort_week
    out["follow_week"] = solved.follow_week
    out["marketing_effort_week"] = solved.marketing_effort_week
    out["marketing_quality_week"] = solved.marketing_quality_week
    return out


def _from_arrays(d: dict) -> SolvedPolicy:
    import json

    fields = {}
    for k in CompiledPolicy._fields:
        v = d[f"policy_{k}"]
        fields[k] = v.item() if v.ndim == 0 else np.ascontiguousarray(v)
    fields["grid_n"] = int(fields["grid_n"])
    fields["mkt_grid_max"] = float(fields["mkt_grid_max"])
    return SolvedPolicy(
        CompiledPolicy(**fields),
        json.loads(str(d["info"])),
        sales_effort_week=d["sales_effort_week"],
        follow_week=d["follow_week"],
        marketing_effort_week=d["marketing_effort_week"],
        marketing_quality_week=d["marketing_quality_week"],
    )


def _sales_field_from(co: _Company, sols: list[_Solution], mkt: _MktField) -> _SalesField:
    m = sum(w * s.mean for w, s in zip(co.weights, sols, strict=True))
    arriving = mkt.appts / co.R * co.survive * co.work_base
    follow = np.divide(m[:, 3], arriving, out=np.ones(52), where=arriving > 0)
    return _SalesField(follow=np.clip(follow, 0, 1), p_mkt=m[:, 4], self_wins=m[:, 2], own_wins=m[:, 0], effort=m[:, 5])


def _damp(old, new, rounds: int):
    """Fictitious play from the third round on: the field each side responds to is the running
    average of the other's best responses (weight 1/k on the newest), which settles cycles such
    as marketing switching to volume and sales answering by ignoring its appointments."""
    if rounds < 3:
        return new
    w = 1.0 / (rounds - 1)
    cls = type(new)
    return cls(**{k: (1.0 - w) * getattr(old, k) + w * getattr(new, k) for k in new.__dataclass_fields__})


def _compile(co: _Company, sc: Scenario, mkt_sol, sales_sols, G: int) -> CompiledPolicy:
    K = len(co.levels)
    if sales_sols is None:
        s_eff, s_fol = np.array([1.0]), np.array([1.0])
        s_act = np.zeros((K, 52, G), np.int64)
        s_tim = np.zeros((K, 52, G), np.int64)
        s_gmax = np.full(K, GRID_MAX)
    else:
        s_eff = np.array([e for e, _ in co.sales_actions])
        s_fol = np.array([f for _, f in co.sales_actions])
        s_act = np.stack([s.policy for s in sales_sols])
        s_tim = np.stack([s.timing for s in sales_sols])
        s_gmax = np.array([s.grid_max for s in sales_sols])
    if mkt_sol is None:
        m_eff = np.array([1.0])
        m_q = np.array([len(co.qualities)], np.int64)  # the appended baseline level
        m_act = np.zeros((52, G), np.int64)
        m_gmax = GRID_MAX
    else:
        m_eff = np.array([e for e, _ in co.mkt_actions])
        m_q = np.array([qi for _, qi in co.mkt_actions], np.int64)
        m_act = mkt_sol.policy.copy()
        m_gmax = mkt_sol.grid_max
    return CompiledPolicy(
        sales_effort=s_eff,
        sales_follow=s_fol,
        sales_action=np.ascontiguousarray(s_act),
        sales_timing=np.ascontiguousarray(s_tim),
        mkt_effort=m_eff,
        mkt_quality=m_q,
        mkt_action=np.ascontiguousarray(m_act),
        sales_grid_max=s_gmax,
        mkt_grid_max=float(m_gmax),
        grid_n=G,
    )
