"""Numba kernels of the policy solver (DESIGN §2.2.1): increments, Bellman, timing, forward.

The agent's state is its progress x in the open target period, on a grid of G points from 0 to
``grid_max`` times the period target (index i <-> x = i * dx). Each week it picks an action a;
its measure grows by an increment with pmf ``P[t, a, j]`` over grid steps j >= 0 (the last grid
point absorbs everything above it). At the end of a period the period's payout is earned and x
restarts at 0. All money is in currency per week / per period; values are expected totals.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _panjer(lam, jump, out):
    """Compound Poisson pmf on the grid by Panjer's recursion.

    Parameters
    ----------
    lam : float
        Poisson rate of jumps.
    jump : ndarray(float64, (S,))
        pmf of one jump in grid steps (``jump[0]`` may be positive).
    out : ndarray(float64, (L,))
        Filled with P(total = n steps), n < L; the mass at L - 1 or above is put at L - 1.
    """
    L = out.shape[0]
    S = jump.shape[0]
    out[:] = 0.0
    if lam <= 0.0:
        out[0] = 1.0
        return
    out[0] = math.exp(lam * (jump[0] - 1.0))
    total = out[0]
    for n in range(1, L - 1):
        s = 0.0
        top = min(n, S - 1)
        for j in range(1, top + 1):
            s += j * jump[j] * out[n - j]
        out[n] = lam / n * s
        total += out[n]
        if total > 1.0 - 1e-15:
            break  # the rest of the mass is below rounding: stop early (it is lumped at the top)
    out[L - 1] += max(0.0, 1.0 - total)


@njit(cache=True)
def _increments_all(lam, jumps, week_k, P):
    """Fill ``P[t, a]`` with the compound-Poisson pmf of rate ``lam[t, a]`` and the jump pmf of
    week t's period (``jumps[week_k[t]]``)."""
    T, A = lam.shape
    for t in range(T):
        jump = jumps[week_k[t]]
        for a in range(A):
            _panjer(lam[t, a], jump, P[t, a])


@njit(cache=True)
def _convolve(a, b, out):
    """pmf of the sum of two independent grid increments (tail lumped at the last cell)."""
    L = out.shape[0]
    out[:] = 0.0
    for i in range(a.shape[0]):
        if a[i] == 0.0:
            continue
        for j in range(b.shape[0]):
            k = i + j
            if k >= L:
                k = L - 1
            out[k] += a[i] * b[j]


@njit(cache=True)
def _expect_next(Pt, support, V, i, G):
    """sum_j P[j] V[min(i + j, G - 1)] over the support of P."""
    s = 0.0
    for j in range(support):
        p = Pt[j]
        if p != 0.0:
            k = i + j
            if k > G - 1:
                k = G - 1
            s += p * V[k]
    return s


@njit(cache=True)
def _bellman(P, support, cost, tie, week_end, week_period, payout, final_adj, cont0, disc, V, policy):
    """Backward induction over the 52 weeks of a year.

    Effort costs are paid in the week; everything that follows (next week's value, a payout at
    the end of this week's period) is discounted by ``disc`` per week, so a bonus paid in
    December is worth less to January's effort than to December's.

    Parameters
    ----------
    P : ndarray(float64, (52, A, S))
        Increment pmf per week and action, in grid steps.
    support : ndarray(int64, (52, A))
        Number of leading entries of ``P[t, a]`` that can be non-zero.
    cost : ndarray(float64, (52, A))
        Effort cost per week of each action (currency), net of any linear value of secondary
        pay components.
    tie : ndarray(float64, (A,))
        Tiny tie-breaking penalties (prefer normal behaviour when indifferent).
    week_end : ndarray(int64, (52,))
        1 in the last week of a period.
    week_period : ndarray(int64, (52,))
        Period index of each week.
    payout : ndarray(float64, (n_periods, G))
        Period payout (currency) at each grid point of the period's attainment.
    final_adj : ndarray(float64, (G,))
        Value added at the year end as a function of the final state (ratchet), else zeros.
    cont0 : float
        Value of starting next year (a constant: it cannot depend on this year's actions
        except through ``final_adj``).
    disc : float
        Weekly discount factor (1: patient).
    V : ndarray(float64, (53, G))
        Filled: value at the start of each week (row 52 = the year end continuation).
    policy : ndarray(int64, (52, G))
        Filled: the optimal action.
    """
    G = V.shape[1]
    A = P.shape[1]
    for i in range(G):
        V[52, i] = cont0
    for t in range(51, -1, -1):
        end = week_end[t] == 1
        k = week_period[t]
        for i in range(G):
            best = -1e300
            best_a = 0
            for a in range(A):
                Pt = P[t, a]
                if end:
                    s = 0.0
                    for j in range(support[t, a]):
                        p = Pt[j]
                        if p != 0.0:
                            m = i + j
                            if m > G - 1:
                                m = G - 1
                            extra = final_adj[m] if t == 51 else 0.0
                            s += p * (payout[k, m] + extra)
                    s += V[t + 1, 0]
                else:
                    s = _expect_next(Pt, support[t, a], V[t + 1], i, G)
                q = disc * s - cost[t, a] - tie[a]
                if q > best:
                    best = q
                    best_a = a
            V[t, i] = best + tie[best_a]
            policy[t, i] = best_a


@njit(cache=True)
def _interp(V, y):
    """V at fractional grid index y (linear; clamped)."""
    G = V.shape[0]
    if y <= 0.0:
        return V[0]
    if y >= G - 1:
        return V[G - 1]
    i = int(y)
    f = y - i
    return V[i] * (1.0 - f) + V[i + 1] * f


@njit(cache=True)
def _expected_end(Pt, support, payout_k, final_adj, year_end, i):
    """Expected period payout (plus the year-end adjustment) after an increment from state i."""
    G = payout_k.shape[0]
    s = 0.0
    for j in range(support):
        p = Pt[j]
        if p != 0.0:
            m = min(i + j, G - 1)
            s += p * (payout_k[m] + (final_adj[m] if year_end else 0.0))
    return s


@njit(cache=True)
def _timing(
    P, support, Ppull, pull_support, Pz, z_support, week_end, week_period, payout, final_adj, V, cont,
    next_ratio, policy, hold_loss, timing,
):  # fmt: skip
    """Deal timing at the last week of each period: none (0), hold (1) or pull (2).

    Hold: this week's deals count in the next period instead (each lost with ``hold_loss``).
    Pull: deals expected in the next weeks close now at a discount (``Ppull[t, a]``: this week's
    increment plus the discounted pulled deals); the next period loses them (``Pz[t, a]``: the
    pulled deals at full value, in this period's grid steps).

    Parameters
    ----------
    Ppull : ndarray(float64, (52, A, S2))
        pmf of this week's increment plus discounted pulled deals.
    Pz : ndarray(float64, (52, A, S3))
        pmf of the pulled deals' full value.
    cont : ndarray(float64, (G,))
        Value of starting next year at each January state (for holding past the year end).
    next_ratio : ndarray(float64, (52,))
        Grid steps of the next period per grid step of this period (target ratio).
    timing : ndarray(int64, (52, G))
        Filled (0 outside period-end weeks).
    """
    G = V.shape[1]
    timing[:, :] = 0
    for t in range(52):
        if week_end[t] != 1:
            continue
        k = week_period[t]
        nxt = V[t + 1] if t < 51 else cont
        ratio = next_ratio[t]
        top = 0.0
        for i in range(G):
            if payout[k, i] > top:
                top = payout[k, i]
        for i in range(G - 1):  # the last grid cell lumps everything above it: no timing there
            a = policy[t, i]
            Pt = P[t, a]
            q_none = _expected_end(Pt, support[t, a], payout[k], final_adj, t == 51, i) + nxt[0]
            q_hold_next = 0.0
            for j in range(support[t, a]):
                p = Pt[j]
                if p != 0.0:
                    q_hold_next += p * _interp(nxt, (1.0 - hold_loss) * j * ratio)
            # The pulled deals would have counted in the next period: it starts without them.
            q_lost_next = 0.0
            Pzt = Pz[t, a]
            for z in range(z_support[t, a]):
                p = Pzt[z]
                if p != 0.0:
                    q_lost_next += p * (_interp(nxt, z * ratio) - nxt[0])
            q_hold = payout[k, i] + (final_adj[i] if t == 51 else 0.0) + q_hold_next
            q_pull = _expected_end(Ppull[t, a], pull_support[t, a], payout[k], final_adj, t == 51, i)
            q_pull += nxt[0] - q_lost_next
            # Move deals only for a clear gain (0.1 % of the period's top payout), not on ties.
            eps = 1e-3 * top + 1e-9 * abs(q_none)
            best = 0
            if q_hold > q_none + eps and q_hold >= q_pull:
                best = 1
            elif q_pull > q_none + eps and q_pull > q_hold:
                best = 2
            timing[t, i] = best


@njit(cache=True)
def _forward(P, support, policy, week_end, qty, mean_out, final_out):
    """Propagate the distribution of the state through the year under a policy.

    Parameters
    ----------
    qty : ndarray(float64, (52, A, Q))
        Quantities per week and action to average (effort, rates ...).
    mean_out : ndarray(float64, (52, Q))
        Filled: expected quantity per week.
    final_out : ndarray(float64, (52, G))
        Filled: at period-end weeks, the distribution of the period's final state.
    """
    G = policy.shape[1]
    dist = np.zeros(G)
    new = np.zeros(G)
    dist[0] = 1.0
    Q = qty.shape[2]
    final_out[:, :] = 0.0
    for t in range(52):
        for q in range(Q):
            mean_out[t, q] = 0.0
        new[:] = 0.0
        for i in range(G):
            d = dist[i]
            if d == 0.0:
                continue
            a = policy[t, i]
            for q in range(Q):
                mean_out[t, q] += d * qty[t, a, q]
            Pt = P[t, a]
            for j in range(support[t, a]):
                p = Pt[j]
                if p != 0.0:
                    m = i + j
                    if m > G - 1:
                        m = G - 1
                    new[m] += d * p
        if week_end[t] == 1:
            for i in range(G):
                final_out[t, i] = new[i]
            dist[:] = 0.0
            dist[0] = 1.0
        else:
            for i in range(G):
                dist[i] = new[i]


@njit(cache=True)
def _support(P, tol, support):
    """Number of leading entries of each ``P[t, a]`` to keep (trailing mass below tol dropped)."""
    T, A, S = P.shape
    for t in range(T):
        for a in range(A):
            n = S
            acc = 0.0
            while n > 1:
                acc += P[t, a, n - 1]
                if acc > tol:
                    break
                n -= 1
            support[t, a] = n
