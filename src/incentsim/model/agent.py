"""One agent's dynamic programme: build it from the pay rules and the company's rates, solve it,
and read what it implies (model page, "Behaviour: the policy solver").

An agent (marketing, or a rep of one ability level and one set of targets) maximises expected
discounted pay minus a convex effort cost, week by week over a year, on the state of
:mod:`incentsim.model.state`. Each week's action produces output at the company's rates; the output
lands in target periods with the lags of :mod:`incentsim.model.lags`: the share landing in the
open period moves the state (compound Poisson on the grid, Panjer's recursion), the rest is
valued at the marginal value of the periods it lands in (from the previous solve: the solver
iterates to a fixed point), and the next period starts with the output already on its way (its
head start). Choices are logit with a small stated noise, so responses move smoothly with every
input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..calendar import WEEKS_PER_YEAR, period_end_weeks, week_period
from ..kernels import dp
from ..pay import true_up
from .company import M_APPTS, M_SOURCED, S_OWN, Company
from .lags import landing_shares, margin_lag, marketing_effort_lag, sales_effort_lag, sourced_lag
from .state import AxisSpec, Guess, StateDesign

MIN_GRID_MAX = 2.0  # the grid spans at least 0 .. 2 x the period target
PAID_LEVELS = 9  # points of the paid-money axis (true-up)
PMF_TOL = 1e-12  # increment pmf tails below this are dropped


@dataclass
class Rates:
    """What an agent's actions produce, per week: action-driven rates by source and the others'
    action-independent contribution to team measures (items per week)."""

    action: dict[str, np.ndarray]  # source -> (52, A)
    others: dict[str, np.ndarray]  # source -> (52,)
    qty: np.ndarray  # (52, A, Q): every quantity the forward pass averages
    own_value: np.ndarray  # (52, A): currency per week of one's own results (implicit incentive)
    extra_cost: np.ndarray | None = None  # (52, A): other costs of an action (mutual monitoring)


@dataclass
class Problem:
    """Everything the kernels take for one agent, plus the grids to read the answer."""

    role: str
    design: StateDesign
    person: int
    G: tuple[int, int, int]
    grid_max: np.ndarray  # (2,) attainment of the top grid point, per axis
    step: list[np.ndarray]  # per axis: measure units per grid step, by period
    wp: np.ndarray  # (2, 52) period index per week, per axis
    we: np.ndarray  # (2, 52) period end per week, per axis
    shares: list[np.ndarray]  # per axis: (52, M) landing shares
    P: np.ndarray
    s0: np.ndarray
    Q: np.ndarray
    s1: np.ndarray
    q_shared: np.ndarray  # (52,) 1 when the axis-1 increment does not depend on the action
    alpha: np.ndarray
    pay0: np.ndarray
    pay1: np.ndarray
    year_end: np.ndarray
    reset0: np.ndarray  # (n0, G0) pmf of axis 0's head start after each of its periods
    reset1: np.ndarray  # (n1, G1)
    reset01: np.ndarray  # (n0, G0, G1) both, where axis 1's period ends with axis 0's
    paid_step: np.ndarray
    paid_money: float  # currency per paid-axis step
    cost: np.ndarray  # (52, A)
    sigma: float
    disc: float
    jumps0: list[np.ndarray]
    units: list[float]  # value of one item on each axis' measure (deal value or 1)
    act_rate: list[np.ndarray]  # per axis: (52, A) action-driven items per week
    oth_rate: list[np.ndarray]  # per axis: (52,)


@dataclass
class Solution:
    """A solved agent: values, choices by state and week, and the forward pass."""

    problem: Problem
    V: np.ndarray  # (53, G0, G1, L)
    choice: np.ndarray  # (52, G0, G1, L, 2) expected effort and follow-up share / quality
    timing: np.ndarray  # (52, G0, G1, L) int8
    mean: np.ndarray  # (52, Q) expected quantities per week
    dist: np.ndarray  # (53, G0, G1, L)
    guess: Guess  # head starts, marginal values and period-end distributions implied by this solve


# -- grids and increments -------------------------------------------------------------------------


def _jump_pmf(co: Company, steps_per_unit: float, counts: bool, length: int, discount: float = 0.0) -> np.ndarray:
    """pmf of one jump (a deal's value, or one item) in grid steps, split linearly between the
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
    # Each size's two shares, interleaved in the order of the sizes (``np.add.at`` adds in order:
    # the same sums as a loop over the sizes); sizes past the grid put all their weight on its top.
    top = lo >= length - 1
    idx = np.stack([np.where(top, length - 1, lo), np.where(top, length - 1, lo + 1)], axis=1).ravel()
    val = np.stack([np.where(top, w, w * (1.0 - frac)), np.where(top, 0.0, w * frac)], axis=1).ravel()
    np.add.at(pmf, idx, val)
    return pmf


def _compound(lam: np.ndarray, jumps: list[np.ndarray], week_k: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray]:
    """Compound-Poisson pmfs ``P[t, a]`` (G points, tail lumped) for rates ``lam[t, a]`` and
    per-period jumps; and their supports."""
    T, A = lam.shape
    P = np.zeros((T, A, G))
    jumps = np.stack(jumps)
    steps = np.empty(jumps.shape[1], dtype=np.int64)
    dp._increments_all(np.ascontiguousarray(lam, dtype=np.float64), jumps, np.asarray(week_k), P, steps)
    support = np.zeros((T, A), dtype=np.int64)
    dp._support(P, PMF_TOL, support)
    return P, support


#: Above this many jumps (in expectation) a head start's count of jumps is taken as normal (a
#: Poisson of that rate is one to within its discretisation).
_HEAD_NORMAL_RATE = 1e4


def _head_pmfs(ax: AxisSpec, guess: Guess | None, i: int, step: np.ndarray, G: int) -> list[np.ndarray]:
    """pmf of each period's head start on axis ``i``'s grid (``(G,)`` per period, grid steps of
    that period): what is already on its way into the period when it starts, from the previous
    solve's mean and variance of it (``guess.head``, ``guess.head_var``, measure units:
    :func:`_implied_guess`; :func:`_head_pmf`). Before any solve, a point at 0."""
    out = []
    for k in range(ax.n_periods):
        mean = float(guess.head[i][k]) if guess is not None and i < len(guess.head) else 0.0
        var = float(guess.head_var[i][k]) if guess is not None and i < len(guess.head_var) else 0.0
        out.append(_head_pmf(mean, var, float(step[k]), G))
    return out


def _head_pmf(mean: float, var: float, step: float, G: int) -> np.ndarray:
    """pmf on a grid of ``G`` points, ``step`` measure units apart, of a head start of this mean and
    variance (measure units): a compound Poisson of the same two moments, ``N ~ Poisson(mean / c)``
    jumps of ``c = var / mean`` units (a normal ``N`` above :data:`_HEAD_NORMAL_RATE`), each total
    ``N c`` put on the grid split linearly between its two neighbouring points. The mean is exact
    (up to what lies beyond the grid's top, lumped there); the split adds at most a quarter of a
    grid step squared to the variance, whatever the jump's size. (Splitting each jump instead, as
    the weekly increments split a deal, made a jump of a tenth of a step one of 0 or 1 steps: ten
    times the variance.) With no spread, a point split between its two neighbouring points."""
    from scipy.special import gammaln, ndtri, xlogy

    point = mean <= 0.0 or var <= 0.0
    c = var / mean if not point else 0.0  # the jump (measure units): E = rate c, Var = rate c^2
    rate = mean / c if not point else 0.0
    if point:
        weights = np.ones(1)
        x = np.array([max(mean, 0.0) / step])
    elif rate <= _HEAD_NORMAL_RATE:
        n = np.arange(int(rate + 12.0 * math.sqrt(rate) + 20.0))
        # The Poisson pmf as scipy.stats computes it (bit for bit), without the half-second import.
        weights = np.exp(xlogy(n, rate) - gammaln(n + 1) - rate)
        x = n * (c / step)
    else:
        z = ndtri((np.arange(512) + 0.5) / 512)
        z /= math.sqrt(float(np.mean(z * z)))  # (the quantiles' own variance, 0.997, made 1)
        weights = np.full(512, 1.0 / 512)
        x = np.maximum(mean + math.sqrt(var) * z, 0.0) / step
    pmf = np.zeros(G)
    lo = np.minimum(np.floor(x).astype(np.int64), G - 1)
    frac = np.where(lo < G - 1, x - lo, 0.0)
    np.add.at(pmf, lo, weights * (1.0 - frac))
    np.add.at(pmf, np.minimum(lo + 1, G - 1), weights * frac)
    return pmf if point else pmf / pmf.sum()


def _joint_head_starts(axes: list[AxisSpec], guess: Guess | None, steps, G, wp, we, resets) -> np.ndarray:
    """Joint pmf ``(n0, G0, G1)`` of both axes' head starts after each axis-0 period, used where
    axis 1's period ends in the same week.

    Where axis 1 counts everything axis 0 counts (the year beside its quarter, the team beside
    one's own: :meth:`AxisSpec.contains`), its head start is axis 0's plus the rest, independent
    (mean and variance the differences): the two move together, as in the simulation. Otherwise
    (other measures, or one axis) the two are independent."""
    n0 = resets[0].shape[0]
    out = np.zeros((n0, G[0], G[1]))
    ends = _period_ends(wp[0]) if axes else np.array([WEEKS_PER_YEAR - 1])
    for k in range(n0):
        t = int(ends[k])
        k1 = int(wp[1][t]) if len(axes) == 2 else 0
        if len(axes) < 2 or we[1][t] != 1 or not axes[1].contains(axes[0]) or guess is None:
            out[k] = np.outer(resets[0][k], resets[1][k1])
            continue
        n1 = axes[1].n_periods
        h0, h1 = (k + 1) % n0, (k1 + 1) % n1
        rest = _head_pmf(
            max(float(guess.head[1][h1] - guess.head[0][h0]), 0.0),
            max(float(guess.head_var[1][h1] - guess.head_var[0][h0]), 0.0), float(steps[1][h1]), G[1],
        )  # fmt: skip
        ratio = float(steps[0][h0] / steps[1][h1])  # axis-1 steps per axis-0 step
        for i in np.flatnonzero(resets[0][k]):
            y = i * ratio
            a = int(y)
            f = y - a
            for shift, w in ((a, 1.0 - f), (a + 1, f)):
                if w == 0.0:
                    continue
                if shift >= G[1] - 1:
                    out[k, i, G[1] - 1] += resets[0][k][i] * w
                    continue
                out[k, i, shift:] += resets[0][k][i] * w * rest[: G[1] - shift]
                out[k, i, G[1] - 1] += resets[0][k][i] * w * rest[G[1] - shift :].sum()
    return out


def axis_lag(sc, co: Company, ax: AxisSpec, role: str, level: float) -> np.ndarray:
    """Lag pmf of the output an agent's action adds to an axis' measure."""
    if role == "sales":
        lag = sales_effort_lag(sc, level)
    elif ax.source == "appointments":
        lag = marketing_effort_lag(sc)
    else:
        lag = sourced_lag(sc)
    return margin_lag(lag) if ax.margin else lag


def _rates_for(ax: AxisSpec, rates: Rates) -> tuple[np.ndarray, np.ndarray]:
    """(action-driven, others') items per week of an axis' source."""
    src = ax.source
    if src == "team":
        key = "own" if "own" in rates.action else "sourced"
        act = rates.action[key]
        if "team_extra" in rates.action:
            act = act + rates.action["team_extra"]  # colleagues' deals won thanks to one's team time
        return act, rates.others.get("team", np.zeros(WEEKS_PER_YEAR))
    return rates.action[src], np.zeros(WEEKS_PER_YEAR)


def _unit(co: Company, counts: bool) -> float:
    return 1.0 if counts else co.value_mean


def _period_starts(wp: np.ndarray) -> np.ndarray:
    """First week of each period, ``(n_periods,)``."""
    n = int(wp.max()) + 1
    return np.array([int(np.flatnonzero(wp == k)[0]) for k in range(n)])


def _period_ends(wp: np.ndarray) -> np.ndarray:
    """Last week of each period, ``(n_periods,)``."""
    n = int(wp.max()) + 1
    return np.array([int(np.flatnonzero(wp == k)[-1]) for k in range(n)])


def _discounted_landing(shares: np.ndarray, wp: np.ndarray, values: np.ndarray, at: str, disc: float) -> np.ndarray:
    """Value per unit of output generated in each week, landing in later periods (m >= 1) worth
    ``values[k]`` per unit at the start (``at="start"``) or end (``"end"``) of period k, discounted
    weekly to the week of output. ``shares``: (52, M); ``values``: (n_periods,). Returns (52,)."""
    n = int(wp.max()) + 1
    marks = _period_starts(wp) if at == "start" else _period_ends(wp)
    out = np.zeros(WEEKS_PER_YEAR)
    for t in range(WEEKS_PER_YEAR):
        p = wp[t]
        for m in range(1 if at == "start" else 0, shares.shape[1]):
            s = shares[t, m]
            if s < 1e-12:
                continue
            k = (p + m) % n
            years = (p + m) // n
            week = marks[k] + years * WEEKS_PER_YEAR
            out[t] += s * values[k] * disc ** max(week - t, 0)
    return out


def _expected_slope(pc, person: int, mean_att: float, cv: float) -> np.ndarray:
    """Expected marginal pay per unit of measure in each period (currency per unit) when the
    period's attainment is normal with mean ``mean_att`` and coefficient of variation ``cv``.
    Central differences of the expected payout over 64 quantiles."""
    from scipy.special import ndtri

    z = ndtri((np.arange(64) + 0.5) / 64)
    att = np.maximum(mean_att * (1.0 + cv * z), 0.0)
    out = np.zeros(pc.n_periods)
    for k in range(pc.n_periods):
        target = pc.targets[person, k]
        h = 0.02
        up = pc.period_pay((att + h) * target, person, k).mean()
        down = pc.period_pay(np.maximum(att - h, 0.0) * target, person, k).mean()
        out[k] = (up - down) / (2 * h * target)
    return out


# -- building a problem ---------------------------------------------------------------------------


def build_problem(
    sc, co: Company, role: str, design: StateDesign, person: int, level: float, rates: Rates, actions: np.ndarray,
    kappa: float, kappa_q: float, psi: float, guess: Guess | None, timing_on: bool,
) -> Problem:  # fmt: skip
    """Assemble one agent's programme.

    Parameters
    ----------
    role : str
        ``"sales"`` or ``"marketing"``.
    design : StateDesign
        The state (:func:`incentsim.model.state.design_state`).
    person : int
        Whose targets (rep index; 0 for marketing).
    level : float
        Ability (sales; 1 for marketing), for the lag of its output.
    rates : Rates
        Output by action and week.
    actions : ndarray(float, (A, 2))
        (effort, follow-up share) or (effort, quality focus) of each action.
    kappa, kappa_q : float
        Cost per year of effort 2 versus 1, and of a pure-volume focus (marketing); currency.
    psi : float
        Implicit value of one currency of one's own results.
    guess : Guess or None
        The previous solve's head starts, marginal values and period-end distributions.
    timing_on : bool
        Whether deal timing (hold back, pull in) is considered.
    """
    b = sc.behaviour
    axes = design.axes
    n_ax = len(axes)
    A = actions.shape[0]
    disc = co.weekly_discount
    if n_ax == 0:
        G = (1, 1, 1)
    elif n_ax == 1:
        G = (b.grid_points, 1, PAID_LEVELS if design.paid_axis else 1)
    else:
        G = (b.grid_points_2d, b.grid_points_2d, PAID_LEVELS if design.paid_axis else 1)
    if guess is not None and not _guess_fits(guess, axes, G):
        guess = None  # from a solve of another structure (a warm start that does not apply)
    wp = np.zeros((2, WEEKS_PER_YEAR), dtype=np.int64)
    we = np.zeros((2, WEEKS_PER_YEAR), dtype=np.int64)
    we[:, -1] = 1
    shares, steps, jumps, units, act_rates, oth_rates, F = [], [], [], [], [], [], []
    grid_max = np.zeros(2)
    for i, ax in enumerate(axes):
        wp[i] = week_period(ax.period)
        we[i] = period_end_weeks(ax.period).astype(np.int64)
        lag = axis_lag(sc, co, ax, role, level)
        sh = landing_shares(lag, wp[i])
        shares.append(sh)
        F.append(sh[:, 0])
        act, oth = _rates_for(ax, rates)
        act_rates.append(act)
        oth_rates.append(oth)
        u = _unit(co, ax.counts)
        units.append(u)
        targets = ax.ref_targets(person)
        head = guess.head[i] if guess is not None and i < len(guess.head) else np.zeros(ax.n_periods)
        # Grid top: the period total at half as much again as today's output, plus four standard
        # deviations, the head start and what a pull-in could add, in attainment units. Above it
        # the last cell lumps everything: payouts there are flat (caps) or valued at the edge. (Not
        # the head start's spread: the grid then moved with it from round to round, and an
        # equilibrium of relationship-types that settles in 4 rounds wandered for 47.)
        top = MIN_GRID_MAX
        normal = np.abs(actions[:, 0] - 1.0).argmin() if role == "sales" else None
        base_rate = act[:, normal] if normal is not None else act.mean(axis=1)
        peak = 1.5 * base_rate + oth
        m2 = 1.0 if ax.counts else co.value_m2 / co.value_mean**2
        for k in range(ax.n_periods):
            wk = wp[i] == k
            n_items = float((peak[wk] * F[i][wk]).sum())
            total = u * (n_items + 4.0 * math.sqrt(n_items * m2) + co.pull_weeks_equivalent * float(peak[wk].max()))
            top = max(top, (total + head[k]) / targets[k])
        grid_max[i] = top
        step = top * targets / (G[i] - 1)
        steps.append(step)
        jumps.append([_jump_pmf(co, 1.0 / s, ax.counts, G[i]) for s in step])
    # -- increments ------------------------------------------------------------------------------
    if n_ax == 0:
        P = np.ones((WEEKS_PER_YEAR, A, 1))
        s0 = np.ones((WEEKS_PER_YEAR, A), dtype=np.int64)
    else:
        lam0 = (act_rates[0] + oth_rates[0][:, None]) * F[0][:, None]
        P, s0 = _compound(lam0, jumps[0], wp[0], G[0])
    alpha = np.zeros(WEEKS_PER_YEAR)
    if n_ax == 2:
        k0, k1 = wp[0], wp[1]
        ratio = steps[0][k0] / steps[1][k1]
        if axes[1].contains(axes[0]):
            inside = np.minimum(F[0], F[1])
            alpha = ratio * np.where(F[0] > 0, inside / np.maximum(F[0], 1e-300), 0.0)
            lam1 = act_rates[0] * (F[1] - inside)[:, None] + (oth_rates[1] * F[1] - oth_rates[0] * inside)[:, None]
            lam1 = np.maximum(lam1, 0.0)
        else:
            lam1 = (act_rates[1] + oth_rates[1][:, None]) * F[1][:, None]
        # Where the second axis moves the same way whatever the action (e.g. only the colleagues'
        # deals), its increment is computed once a week instead of once per action.
        q_shared = np.all(np.abs(lam1 - lam1[:, :1]) <= 1e-12 * np.maximum(np.abs(lam1[:, :1]), 1.0), axis=1)
        if np.all(q_shared):
            Q1, s1_1 = _compound(lam1[:, :1], jumps[1], wp[1], G[1])
            Q = np.repeat(Q1, A, axis=1)
            s1 = np.repeat(s1_1, A, axis=1)
        else:
            Q, s1 = _compound(lam1, jumps[1], wp[1], G[1])
        q_shared = q_shared.astype(np.int64)
    else:
        Q = np.ones((WEEKS_PER_YEAR, A, 1))
        s1 = np.ones((WEEKS_PER_YEAR, A), dtype=np.int64)
        q_shared = np.ones(WEEKS_PER_YEAR, dtype=np.int64)
    # -- payouts, resets, true-up and ratchets ---------------------------------------------------
    pays = []
    resets = []
    for i in range(2):
        if i < n_ax:
            ax = axes[i]
            xs = np.arange(G[i])
            pay = np.zeros((ax.n_periods, G[i]))
            for pc in ax.comps:
                for k in range(ax.n_periods):
                    pay[k] += pc.period_pay(xs * steps[i][k], person, k)
            n = ax.n_periods
            heads = _head_pmfs(ax, guess, i, steps[i], G[i])
            reset = np.stack([heads[(k + 1) % n] for k in range(n)])
        else:
            pay = np.zeros((1, G[i]))
            reset = np.ones((1, 1))
        pays.append(pay)
        resets.append(reset)
    reset01 = _joint_head_starts(axes, guess, steps, G, wp, we, resets)
    year_end = np.zeros(G)
    paid_step = np.zeros((pays[0].shape[0], G[0]))
    paid_money = 1.0
    if design.paid_axis:
        xs0 = np.arange(G[0])
        top_paid = 0.0
        per_period = []
        for pc in design.true_up:
            pp = np.array([pc.period_pay(xs0 * steps[0][k], person, k) for k in range(pc.n_periods)])
            per_period.append(pp)
            top_paid += float(pp.max(axis=1).sum())
        paid_money = max(top_paid, 1e-9) / (G[2] - 1)
        paid_step = sum(per_period) / paid_money
        last = pays[0].shape[0] - 1
        xs1 = np.arange(G[1]) * steps[1][-1]
        paid = np.arange(G[2]) * paid_money
        for pc, pp in zip(design.true_up, per_period, strict=True):
            # By (axis 0: the last period's pay, axis 1: the year's measure, paid axis: earlier pay).
            multiple = pc.multiple(xs1 / pc.annual_target[person])[None, :, None]
            owed = paid[None, None, :] + pp[last][:, None, None]
            year_end += true_up(pc.annual_money[person], multiple, owed)
    for pc, ax_i in design.ratchets:
        year_end += _ratchet_value(sc, co, pc, design, ax_i, steps, G, person, guess)
    # -- costs ----------------------------------------------------------------------------------
    e = actions[:, 0]
    expo = b.effort_cost_exponent
    cost = np.zeros((WEEKS_PER_YEAR, A))
    cost[:] = (kappa * (e**expo - 1.0) / (2.0**expo - 1.0) / WEEKS_PER_YEAR)[None, :]
    if role == "marketing":
        cost += (kappa_q * (1.0 - actions[:, 1]) ** 2 / WEEKS_PER_YEAR)[None, :]
    cost -= psi * rates.own_value
    if rates.extra_cost is not None:
        cost += rates.extra_cost
    # Components valued per unit of output: straight commission exactly, the approximated ones at
    # their expected marginal pay; each unit is paid at the end of the period it lands in.
    for pc in design.linear + design.approximated:
        pseudo = AxisSpec(pc.source, pc.counts, pc.margin, pc.period, [pc], pc)
        act, _ = _rates_for(pseudo, rates)
        wpc = week_period(pc.period)
        sh = landing_shares(axis_lag(sc, co, pseudo, role, level), wpc)
        if pc in design.linear:
            per_unit = np.full(pc.n_periods, float(pc.annual_money[person] / pc.annual_target[person]))
        else:
            per_unit = _expected_slope(pc, person, 1.0, 0.25)
        value = _discounted_landing(sh, wpc, per_unit, "end", disc) * _unit(co, pc.counts)
        cost -= value[:, None] * act
    # Output landing in a later period of an axis is worth that period's marginal value.
    for i, ax in enumerate(axes):
        if guess is not None and i < len(guess.mu):
            mu = guess.mu[i]
        else:
            mu = _initial_mu(ax, person, disc, wp[i])
        carry = _discounted_landing(shares[i], wp[i], mu, "start", disc) * units[i]
        cost -= carry[:, None] * act_rates[i]
    # -- choice noise ---------------------------------------------------------------------------
    money = sum(float(np.mean(pc.annual_money)) for pc in design_components(design))
    sigma = b.choice_noise * (money if money > 0 else kappa) / WEEKS_PER_YEAR
    return Problem(
        role=role, design=design, person=person, G=G, grid_max=grid_max, step=steps + [np.ones(1)] * (2 - n_ax),
        wp=wp, we=we,
        shares=shares, P=P, s0=s0, Q=Q, s1=s1, q_shared=q_shared, alpha=alpha, pay0=pays[0], pay1=pays[1],
        year_end=year_end,
        reset0=resets[0], reset1=resets[1], reset01=reset01, paid_step=paid_step, paid_money=paid_money, cost=cost,
        sigma=sigma,
        disc=disc, jumps0=jumps[0] if jumps else [np.ones(1)], units=units, act_rate=act_rates, oth_rate=oth_rates,
    )  # fmt: skip


def _guess_fits(guess: Guess, axes: list[AxisSpec], G: tuple[int, int, int]) -> bool:
    """Whether a previous solve's guess has this state's axes, periods and grid."""
    if any(len(part) != len(axes) for part in (guess.head, guess.head_var, guess.mu, guess.end_dist)):
        return False
    for i, ax in enumerate(axes):
        if any(len(part[i]) != ax.n_periods for part in (guess.head, guess.head_var, guess.mu)):
            return False
        if guess.end_dist[i].shape != (ax.n_periods, G[i]):
            return False
    return True


def design_components(design: StateDesign) -> list:
    """Every component of a design (on axes, linear or approximated), once each."""
    seen = []
    for ax in design.axes:
        seen += [pc for pc in ax.comps if pc not in seen]
    seen += [pc for pc in design.linear + design.approximated if pc not in seen]
    return seen


def _initial_mu(ax: AxisSpec, person: int, disc: float, wp: np.ndarray) -> np.ndarray:
    """First guess of the marginal value of an axis' measure at each period start: the expected
    marginal pay at target (spread 25 %), discounted over the period."""
    total = np.zeros(ax.n_periods)
    for pc in ax.comps:
        total += _expected_slope(pc, person, 1.0, 0.25)
    lengths = np.array([(wp == k).sum() for k in range(ax.n_periods)])
    return total * disc**lengths


def _ratchet_value(sc, co, pc, design, ax_i, steps, G, person, guess) -> np.ndarray:
    """Year-end value of the final year measure when a ratchet moves the component's target.

    Next year's expected pay under a target scaled by s is ``v(s) = sum_k E[pay_k(X_k / s)]``, with
    the period measures X_k distributed as this year's (from the forward pass; at target before
    the first solve); a move of the target persists, fading as later misses move it back by
    ``ratchet_down`` a year: the value of ending at year measure x is
    ``(v(s'(x)) - v(1)) * d / (1 - d (1 - down))`` with d the annual discount.
    """
    c = pc.component
    # Where the component's own period measure lives: the axis holding the component.
    own_axis = next((i for i, ax in enumerate(design.axes) if pc in ax.comps), None)
    xs_period = []
    weights = []
    for k in range(pc.n_periods):
        if guess is not None and own_axis is not None and own_axis < len(guess.end_dist):
            dist = guess.end_dist[own_axis][k]
            xs_period.append(np.arange(len(dist)) * steps[own_axis][k])
            weights.append(dist / max(dist.sum(), 1e-300))
        else:
            xs_period.append(np.array([pc.targets[person, k]]))
            weights.append(np.array([1.0]))

    def v(scale: float) -> float:
        return float(
            sum(
                np.dot(w, pc.period_pay(x, person, k, scale))
                for k, (x, w) in enumerate(zip(xs_period, weights, strict=True))
            )
        )

    d = co.annual_discount
    persist = d / (1.0 - d * (1.0 - c.ratchet_down))
    base = v(1.0)
    n_year = G[ax_i]
    x_year = np.arange(n_year) * steps[ax_i][-1]
    att = x_year / pc.annual_target[person]
    scales = pc.next_scale(att, 1.0)
    vals = np.array([v(float(s)) - base for s in np.atleast_1d(scales)]) * persist  # (floored: pay.ratchet_scale)
    shape = [1, 1, 1]
    shape[ax_i] = n_year
    return vals.reshape(shape) * np.ones(G)


# -- solving --------------------------------------------------------------------------------------


def _moves(pb: Problem) -> dp.Moves:
    """The problem's weekly increments as the solver kernels take them."""
    return dp.Moves(pb.P, pb.s0, pb.Q, pb.s1, pb.q_shared, pb.alpha)


def _periods(pb: Problem) -> dp.Periods:
    """The problem's pay periods on the grids as the solver kernels take them."""
    return dp.Periods(
        pb.we[0], pb.we[1], pb.wp[0], pb.wp[1], pb.pay0, pb.pay1, pb.year_end, pb.reset0, pb.reset1, pb.reset01,
        pb.paid_step,
    )  # fmt: skip


def solve(
    pb: Problem, co: Company, actions: np.ndarray, qty: np.ndarray, guess: Guess | None, timing_on: bool
) -> Solution:
    """Backward induction with logit choices, deal timing, and the forward pass.

    Parameters
    ----------
    actions : ndarray(float, (A, 2))
        Attributes averaged into the expected choice by state.
    qty : ndarray(float, (52, A, Q))
        Quantities the forward pass averages by week.
    """
    G0, G1, L = pb.G
    A = actions.shape[0]
    # The kernels write every entry of their outputs: no zeroing pass (``prob`` alone is megabytes).
    V = np.empty((WEEKS_PER_YEAR + 1, G0, G1, L))
    V[WEEKS_PER_YEAR] = _continuation(pb, guess)
    prob = np.empty((WEEKS_PER_YEAR, A, G0, G1, L))
    mean_attr = np.empty((WEEKS_PER_YEAR, G0, G1, L, actions.shape[1]))
    mv, per = _moves(pb), _periods(pb)
    S0 = mv.P.shape[2]
    dp._bellman(
        mv, per, pb.cost, pb.sigma, pb.disc, np.ascontiguousarray(actions), V, prob, mean_attr,
        dp.bellman_work(A, G0, G1, L, S0),
    )  # fmt: skip
    timing = np.zeros((WEEKS_PER_YEAR, G0, G1, L), dtype=np.int8)
    if timing_on and len(pb.design.axes) > 0:
        _deal_timing(pb, co, V, prob, qty, timing)
    # Forward pass from the January head starts.
    start = np.zeros((G0, G1, L))
    start[:, :, 0] = pb.reset01[-1]  # (the year's last week ends every axis' period)
    dist = np.empty((WEEKS_PER_YEAR + 1, G0, G1, L))
    mean = np.empty((WEEKS_PER_YEAR, qty.shape[2]))
    end0 = np.empty((WEEKS_PER_YEAR, G0))
    end1 = np.empty((WEEKS_PER_YEAR, G1))
    work = dp.forward_work(A, G0, G1, L, S0)
    dp._forward(mv, per, prob, start, np.ascontiguousarray(qty), dist, mean, end0, end1, work)
    new_guess = _implied_guess(pb, V, dist, mean, end0, end1)
    return Solution(pb, V, mean_attr, timing, mean, dist, new_guess)


def _continuation(pb: Problem, guess: Guess | None) -> np.ndarray:
    """Value of next year's start by the final state: linear in the measure carried past the
    January head start, at January's marginal value (what holding deals past the year end is
    worth)."""
    G0, G1, L = pb.G
    out = np.zeros((G0, G1, L))
    for i in range(len(pb.design.axes)):
        mu = guess.mu[i][0] if guess is not None and i < len(guess.mu) else 0.0
        head = pb.reset01[-1].sum(axis=1 - i)  # the January head start's pmf on axis i
        reset = float(np.dot(np.arange(pb.G[i]), head))  # its mean, grid steps
        xs = (np.arange(pb.G[i]) - reset) * pb.step[i][0] * mu
        shape = [1, 1, 1]
        shape[i] = pb.G[i]
        out += xs.reshape(shape)
    return out


def _implied_guess(pb: Problem, V, dist, mean, end0, end1) -> Guess:
    """Head starts, marginal values at period starts and period-end distributions from a solve."""
    g = Guess()
    for i, ax in enumerate(pb.design.axes):
        wp = pb.wp[i]
        n = ax.n_periods
        starts = _period_starts(wp)
        ends = _period_ends(wp)
        mu = np.zeros(n)
        for k in range(n):
            s = starts[k]
            Vs = V[s]
            d = dist[s]
            dV = np.diff(Vs, axis=i)
            # Forward differences, the last row repeated (backward at the top).
            pad = [(0, 0)] * 3
            pad[i] = (0, 1)
            dV = np.pad(dV, pad, mode="edge")
            mu[k] = float((d * dV).sum() / max(d.sum(), 1e-300)) / pb.step[i][k]
        g.mu.append(mu)
        # Output generated by week (action part from the forward pass, others as given).
        items = np.zeros(WEEKS_PER_YEAR)
        col = _axis_mean_column(pb, i)
        items += mean[:, col] if col is not None else 0.0
        items += pb.oth_rate[i]
        gen = items * pb.units[i]
        # The head start's spread as a person sees it when the period starts (the simulation's
        # state, ``kernels.funnel._forecast_axis``: what is booked and what the pipeline is expected
        # to land, each deal at the mean value): the items generated in week t are Poisson, each
        # worth its expected share sh[t, m] of one unit in the period, so each adds sh^2 units^2.
        # What the pipeline then lands or loses, and at what value, is not in it: a person learns
        # it as the period goes on. (Counting each booked deal at its own value, the solver's reps
        # of a yearly margin step foresaw 0.010 less effort than the simulated ones; at the mean
        # value, 0.006 less; with a point, 0.019 more: tests/test_forecast_and_levers.py.)
        m2 = pb.units[i] ** 2
        head = np.zeros(n)
        head_var = np.zeros(n)
        sh = pb.shares[i]
        for t in range(WEEKS_PER_YEAR):
            p = wp[t]
            for m in range(1, sh.shape[1]):
                if sh[t, m] > 1e-12:
                    k = (p + m) % n
                    head[k] += gen[t] * sh[t, m]
                    head_var[k] += items[t] * sh[t, m] ** 2 * m2
        g.head.append(head)
        g.head_var.append(head_var)
        e = end0 if i == 0 else end1
        g.end_dist.append(np.array([e[ends[k]] for k in range(n)]))
    return g


#: Column of the forward means holding the action-driven items of an axis, by source.
_MEAN_COLUMN = {"own": S_OWN, "team": None, "appointments": M_APPTS, "sourced": M_SOURCED}


def _axis_mean_column(pb: Problem, i: int) -> int | None:
    ax = pb.design.axes[i]
    if ax.source == "team":
        # Sales: own wins; marketing: sourced wins (its part of the team's deals).
        return S_OWN if pb.role == "sales" else M_SOURCED
    return _MEAN_COLUMN[ax.source]


def _deal_timing(pb: Problem, co: Company, V, prob, qty, timing) -> None:
    """Deal timing at axis-0 period ends for the most likely action at each state."""
    G0 = pb.G[0]
    A = pb.P.shape[1]
    ends = np.flatnonzero(pb.we[0])
    own = qty[:, :, S_OWN]
    pull_jumps = [_jump_pmf(co, 1.0 / s, pb.design.axes[0].counts, G0, discount=co.pull_discount) for s in pb.step[0]]
    pmf, support = (WEEKS_PER_YEAR, A, G0), (WEEKS_PER_YEAR, A)
    hp = dp.HoldPull(*(np.empty(pmf) if i % 2 == 0 else np.empty(support, np.int64) for i in range(6)))
    jumps0, pull_jumps = np.stack(pb.jumps0), np.stack(pull_jumps)
    dp._hold_pull_pmfs(
        np.ascontiguousarray(own), float(co.pull_weeks_equivalent), jumps0, pull_jumps,
        np.asarray(pb.wp[0], dtype=np.int64), ends.astype(np.int64), pb.P, pb.s0, PMF_TOL, hp,
        dp.hold_pull_work(G0, max(jumps0.shape[1], pull_jumps.shape[1])),
    )  # fmt: skip
    n = len(pb.step[0])
    ratio = np.ones(WEEKS_PER_YEAR)
    for t in ends:
        k = pb.wp[0][t]
        ratio[t] = pb.step[0][k] / pb.step[0][(k + 1) % n]
    # The most likely action, needed at period ends only (the timing kernel reads no other week).
    best = np.zeros((WEEKS_PER_YEAR, *prob.shape[2:]), dtype=np.int64)
    best[ends] = np.argmax(prob[ends], axis=1)
    dp._timing(
        _moves(pb), hp, best, _periods(pb), np.ascontiguousarray(V[1:]),
        co.hold_loss, ratio, timing, np.empty(G0, dtype=np.int64), np.empty(G0), np.empty(hp.C.shape[2]),
        np.empty(hp.Pz.shape[2]),
    )  # fmt: skip
