"""Tier: the policy solver's numba kernels against brute force and closed forms.

* Bellman backward induction equals exhaustive enumeration of the decision tree (every action
  at every reachable state) on a tiny problem: 3 weeks, 3 actions, random increments.
* Panjer's compound-Poisson recursion equals direct summation over the number of jumps.
* The forward pass equals the distribution obtained by enumerating all paths.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from incentsim.kernels import dp

G = 8  # grid points


def _tiny_problem(seed: int):
    """3 weeks (padded to 52 with zero-cost 'nothing happens' weeks), 3 actions, a period end at
    week 2 and at week 51, a random convex-ish payout."""
    rng = np.random.default_rng(seed)
    A, S = 3, 4
    P = np.zeros((52, A, G))
    P[:, :, 0] = 1.0  # weeks 3..51: no increment
    for t in range(3):
        for a in range(A):
            p = rng.dirichlet(np.ones(S) * (a + 1))
            P[t, a, :] = 0.0
            P[t, a, :S] = p
    support = np.zeros((52, A), dtype=np.int64)
    dp._support(P, 0.0, support)
    cost = np.zeros((52, A))
    cost[:3] = rng.uniform(0, 1.0, size=(3, A))
    week_end = np.zeros(52, dtype=np.int64)
    week_end[2] = 1
    week_end[51] = 1
    week_period = np.zeros(52, dtype=np.int64)
    week_period[3:] = 1
    payout = np.zeros((2, G))
    payout[0] = np.sort(rng.uniform(0, 5, size=G))  # period 0 (weeks 0-2) pays on the grid
    tie = np.zeros(A)
    return P, support, cost, tie, week_end, week_period, payout


def _brute_force(P, cost, payout, t, x):
    """Value of the best adaptive strategy from (week t, state x) by enumerating the tree."""
    if t == 3:
        return 0.0  # the remaining weeks pay nothing (period 1 pays zeros)
    best = -math.inf
    for a in range(P.shape[1]):
        v = -cost[t, a]
        for j in range(P.shape[2]):
            p = P[t, a, j]
            if p == 0:
                continue
            nx = min(x + j, G - 1)
            if t == 2:  # period end: paid, then restart at 0
                v += p * (payout[0, nx] + _brute_force(P, cost, payout, t + 1, 0))
            else:
                v += p * _brute_force(P, cost, payout, t + 1, nx)
        best = max(best, v)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bellman_equals_brute_force(seed):
    P, support, cost, tie, week_end, week_period, payout = _tiny_problem(seed)
    V = np.zeros((53, G))
    pol = np.zeros((52, G), dtype=np.int64)
    dp._bellman(P, support, cost, tie, week_end, week_period, payout, np.zeros(G), 0.0, 1.0, V, pol)
    for x in range(G):
        assert V[0, x] == pytest.approx(_brute_force(P, cost, payout, 0, x), abs=1e-12)
    # The chosen action attains the brute-force value at every state of weeks 0-2.
    for t in range(3):
        for x in range(G):
            a = pol[t, x]
            v = -cost[t, a]
            for j in range(G):
                nx = min(x + j, G - 1)
                v += P[t, a, j] * (payout[0, nx] + V[t + 1, 0] if t == 2 else V[t + 1, nx])
            assert v == pytest.approx(V[t, x], abs=1e-12)


def test_bellman_beats_every_open_loop_plan():
    P, support, cost, tie, week_end, week_period, payout = _tiny_problem(7)
    V = np.zeros((53, G))
    pol = np.zeros((52, G), dtype=np.int64)
    dp._bellman(P, support, cost, tie, week_end, week_period, payout, np.zeros(G), 0.0, 1.0, V, pol)
    best_open = -math.inf
    for plan in itertools.product(range(3), repeat=3):
        dist = np.zeros(G)
        dist[0] = 1.0
        value = 0.0
        for t, a in enumerate(plan):
            value -= cost[t, a]
            new = np.zeros(G)
            for x in range(G):
                for j in range(G):
                    new[min(x + j, G - 1)] += dist[x] * P[t, a, j]
            dist = new
        value += float(dist @ payout[0])
        best_open = max(best_open, value)
    assert V[0, 0] >= best_open - 1e-12


@pytest.mark.parametrize("lam", [0.0, 0.3, 2.5, 12.0])
def test_panjer_equals_direct_compound_poisson(lam):
    rng = np.random.default_rng(5)
    jump = rng.dirichlet(np.ones(5))
    jump[0] = 0.2
    jump /= jump.sum()
    L = 60
    out = np.zeros(L)
    dp._panjer(lam, jump, out)
    direct = np.zeros(L)
    conv = np.zeros(L)
    conv[0] = 1.0
    for n in range(0, 200):
        w = stats.poisson.pmf(n, lam)
        direct[: L - 1] += w * conv[: L - 1]
        direct[L - 1] += w * conv[L - 1 :].sum()
        nxt = np.convolve(conv, jump)
        conv = np.concatenate([nxt[: L - 1], [nxt[L - 1 :].sum()]])
    np.testing.assert_allclose(out, direct, atol=1e-12)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)


def test_forward_matches_path_enumeration():
    P, support, cost, tie, week_end, week_period, payout = _tiny_problem(3)
    V = np.zeros((53, G))
    pol = np.zeros((52, G), dtype=np.int64)
    dp._bellman(P, support, cost, tie, week_end, week_period, payout, np.zeros(G), 0.0, 1.0, V, pol)
    qty = np.zeros((52, 3, 1))
    qty[:, :, 0] = np.arange(3)  # the action index itself
    mean = np.zeros((52, 1))
    final = np.zeros((52, G))
    dp._forward(P, support, pol, week_end, qty, mean, final)
    # Enumerate paths of the first three weeks.
    dist = {0: 1.0}
    for t in range(3):
        exp_a = sum(p * pol[t, x] for x, p in dist.items())
        assert mean[t, 0] == pytest.approx(exp_a, abs=1e-12)
        new = {}
        for x, p in dist.items():
            a = pol[t, x]
            for j in range(G):
                if P[t, a, j] > 0:
                    nx = min(x + j, G - 1)
                    new[nx] = new.get(nx, 0.0) + p * P[t, a, j]
        dist = new
    for x, p in dist.items():
        assert final[2, x] == pytest.approx(p, abs=1e-12)
    # The policy's expected payout minus its expected costs is the value V[0, 0].
    qty_cost = np.zeros((52, 3, 1))
    qty_cost[:, :, 0] = cost
    dp._forward(P, support, pol, week_end, qty_cost, mean, final)
    assert float(final[2] @ payout[0]) - mean[:3, 0].sum() == pytest.approx(V[0, 0], abs=1e-12)
