"""Tier: the policy solver's numba kernels against plain-Python references and closed forms.

* Backward induction (deterministic and logit choices) equals a plain-Python recursion over the
  decision tree on a tiny two-axis problem: 3 active weeks, 3 actions, an axis-1 increment that
  moves with axis 0 (fractional, interpolated) and an independent one, period ends of either axis
  alone and of both with resets to head starts spread over the grid (pmfs: each axis' own, and a
  joint one where both restart), a paid-money axis.
* The forward pass equals the distribution obtained by enumerating all paths, and the policy's
  expected payout minus its costs equals the value.
* Both with an action that is another's twin (the same increments and cost: the kernels copy its
  values and moved mass instead of computing them again), and with actions they must not copy: one
  that shares only the axis-0 increment and cost, one that moves alike at another cost.
* Panjer's compound-Poisson recursion equals direct summation over the number of jumps.
Tolerance 1e-12 (exact arithmetic up to rounding); no randomness beyond the seeded problem data.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from incentsim.kernels import dp

A = 3
ACTIVE = 3  # weeks 0..2 act; weeks 3..51 nothing happens
#: Grids (G0, G1, L) of the test problems: three axes; and one axis, the bundled company's usual
#: problem, which the kernels run through their own vectorised paths.
SHAPES = [(6, 4, 3), (7, 1, 1)]


def _problem(seed: int, shape: tuple[int, int, int] = SHAPES[0], twin: str = "none"):
    """A seeded test problem; ``twin``: "none", "twin" (action 2 moves and costs as action 1),
    "axis0" (action 2 has action 1's axis-0 increment and cost, its own axis-1 increment),
    "moves" (action 2 moves as action 1 at another cost) or "shared" (every action has action 0's
    axis-1 increment, which the kernels then apply once a week, and action 2 is action 1's twin)."""
    G0, G1, L = shape
    rng = np.random.default_rng(seed)
    S0, S1 = (3, 3) if G1 > 1 else (5, 1)
    P = np.zeros((52, A, S0))
    Q = np.zeros((52, A, S1))
    P[:, :, 0] = 1.0
    Q[:, :, 0] = 1.0
    for t in range(ACTIVE):
        for a in range(A):
            P[t, a] = rng.dirichlet(np.ones(S0) * (a + 1))
            Q[t, a] = rng.dirichlet(np.ones(S1))
    if G1 == 1:
        P[0, 1, 2] = 0.0  # an increment it cannot take (skipped by the kernels)
        P[0, 1] /= P[0, 1].sum()
    s0 = np.full((52, A), S0, dtype=np.int64)
    s1 = np.full((52, A), S1, dtype=np.int64)
    cost = np.zeros((52, A))
    cost[:ACTIVE] = rng.uniform(0, 0.5, size=(ACTIVE, A))
    if twin != "none":
        P[:, 2] = P[:, 1]
        if twin != "moves":
            cost[:, 2] = cost[:, 1]
        if twin != "axis0":
            Q[:, 2] = Q[:, 1]
        if twin == "shared":
            Q[:] = Q[:, :1]
    alpha = np.zeros(52)
    alpha[:ACTIVE] = 0.4  # axis 1 moves 0.4 steps per axis-0 step, plus its own increment
    end0 = np.zeros(52, dtype=np.int64)
    end0[[1, 2, 51]] = 1  # axis 0's periods end after weeks 1 and 2 ...
    end1 = np.zeros(52, dtype=np.int64)
    end1[[0, 2, 51]] = 1  # ... axis 1's after week 0 (alone), week 2 (with axis 0's) and the year
    k0 = np.zeros(52, dtype=np.int64)
    k0[2] = 1
    k0[3:] = 2
    k1 = np.zeros(52, dtype=np.int64)
    k1[1:3] = 1
    k1[3:] = 2
    pay0 = np.zeros((3, G0))
    pay0[0] = np.sort(rng.uniform(0, 3, size=G0))
    pay0[1] = np.sort(rng.uniform(0, 1, size=G0))
    pay1 = np.zeros((3, G1))
    pay1[0] = np.sort(rng.uniform(0, 2, size=G1))
    pay1[1] = np.sort(rng.uniform(0, 1, size=G1))
    year_end = rng.uniform(0, 1, size=(G0, G1, L))
    # Head starts (pmfs on the grid): axis 0's next period starts spread over three points, axis
    # 1's over its whole grid; where both restart together (after week 2, and the year), a joint
    # pmf that is not the product of the two.
    reset0 = np.zeros((3, G0))
    reset0[0, [0, 1, 3]] = [0.2, 0.5, 0.3]
    reset0[1, 1] = 1.0  # (not read: axis 1 restarts with it)
    reset0[2, 0] = 1.0
    reset1 = np.zeros((3, G1))
    reset1[0] = rng.dirichlet(np.ones(G1))
    reset1[1, -1] = 1.0  # (not read: axis 0 restarts with it)
    reset1[2, 0] = 1.0
    reset01 = np.zeros((3, G0, G1))
    reset01[:, 0, 0] = 1.0
    reset01[1] = rng.dirichlet(np.ones(G0 * G1) * 0.5).reshape(G0, G1)
    reset01[2] = rng.dirichlet(np.ones(G0 * G1) * 0.5).reshape(G0, G1)
    paid_step = np.zeros((3, G0))
    paid_step[0] = np.linspace(0, 1.5, G0)  # money paid at axis 0's first end, in paid-axis steps
    paid_step[1] = np.linspace(0, 0.7, G0)
    return P, s0, Q, s1, alpha, cost, end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step


def _interp(V, x0, x1, x2):
    """V at fractional (x0, x1, x2), trilinear, clamped to the grid."""
    total = 0.0
    corners = []
    for x, n in ((x0, V.shape[0]), (x1, V.shape[1]), (x2, V.shape[2])):
        x = min(max(x, 0.0), n - 1)
        lo = int(math.floor(x))
        f = x - lo
        corners.append([(lo, 1.0 - f)] + ([(lo + 1, f)] if f > 0 else []))
    for (a, wa), (b, wb), (c, wc) in itertools.product(*corners):
        total += wa * wb * wc * V[a, b, c]
    return total


def _next_year(shape):
    """A value of next year's start by final state (``V[52]``, set by the caller of the kernel)."""
    return np.random.default_rng(99).uniform(0, 1, size=shape)


def _reference(args, sigma, disc):
    """Plain-Python backward induction with the kernel's semantics."""
    P, s0, Q, s1, alpha, cost, end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step = args
    G0, G1, L = year_end.shape
    V = np.zeros((53, G0, G1, L))
    V[52] = _next_year((G0, G1, L))
    prob = np.zeros((52, A, G0, G1, L))
    for t in range(51, -1, -1):

        def after(i, j, pl, t=t):
            v = (pay0[k0[t], i] if end0[t] else 0.0) + (pay1[k1[t], j] if end1[t] else 0.0)
            if t == 51:
                v += year_end[i, j, pl]
            # An axis whose period ends restarts anywhere its head start's pmf says (both: their
            # joint pmf).
            x2 = 0.0 if t == 51 else (pl + paid_step[k0[t], i] if end0[t] else pl)
            if end0[t] and end1[t]:
                joint = reset01[k0[t]]
                return v + sum(
                    joint[x0, x1] * _interp(V[t + 1], x0, x1, x2) for x0 in range(G0) for x1 in range(G1)
                )
            xs0 = [(x, w) for x, w in enumerate(reset0[k0[t]]) if w > 0] if end0[t] else [(i, 1.0)]
            xs1 = [(x, w) for x, w in enumerate(reset1[k1[t]]) if w > 0] if end1[t] else [(j, 1.0)]
            return v + sum(w0 * w1 * _interp(V[t + 1], x0, x1, x2) for x0, w0 in xs0 for x1, w1 in xs1)

        W = np.array([[[after(i, j, pl) for pl in range(L)] for j in range(G1)] for i in range(G0)])
        for i, j, pl in itertools.product(range(G0), range(G1), range(L)):
            q = np.zeros(A)
            for a in range(A):
                e = 0.0
                for y0 in range(s0[t, a]):
                    for y1 in range(s1[t, a]):
                        w = P[t, a, y0] * Q[t, a, y1]
                        if w == 0:
                            continue
                        ii = min(i + y0, G0 - 1)
                        e += w * _interp(W, ii, min(j + alpha[t] * y0, G1 - 1) + y1, pl)
                q[a] = disc * e - cost[t, a]
            if sigma == 0:
                V[t, i, j, pl] = q.max()
                prob[t, int(np.argmax(q)), i, j, pl] = 1.0
            else:
                m = q.max()
                V[t, i, j, pl] = m + sigma * math.log(np.exp((q - m) / sigma).sum())
                prob[t, :, i, j, pl] = np.exp((q - V[t, i, j, pl]) / sigma)
    return V, prob


def _q_shared(Q, s1):
    """1 in the weeks where every action has the same axis-1 increment (as ``model.agent`` marks
    them: the kernels then apply it once a week)."""
    return np.array([int(np.all(Q[t] == Q[t, :1]) and np.all(s1[t] == s1[t, 0])) for t in range(52)], dtype=np.int64)


def _kernel(args, sigma, disc):
    P, s0, Q, s1, alpha, cost, end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step = args
    G0, G1, L = year_end.shape
    V = np.zeros((53, G0, G1, L))
    V[52] = _next_year((G0, G1, L))
    prob = np.zeros((52, A, G0, G1, L))
    attr = np.stack([np.arange(A, dtype=float), np.zeros(A)], axis=1)
    mean_attr = np.zeros((52, G0, G1, L, 2))
    mv = dp.Moves(P, s0, Q, s1, _q_shared(Q, s1), alpha)
    per = dp.Periods(end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step)
    dp._bellman(mv, per, cost, sigma, disc, attr, V, prob, mean_attr, dp.bellman_work(A, G0, G1, L, P.shape[2]))
    return V, prob, mean_attr


@pytest.mark.parametrize("twin", ["none", "twin", "axis0", "moves", "shared"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("seed,sigma,disc", [(1, 0.0, 1.0), (2, 0.0, 0.99), (3, 0.3, 1.0), (4, 0.05, 0.98)])
def test_bellman_equals_plain_python_recursion(seed, sigma, disc, shape, twin):
    args = _problem(seed, shape, twin)
    V, prob, mean_attr = _kernel(args, sigma, disc)
    if twin in ("twin", "shared") and sigma > 0:  # twins are chosen alike (a plain maximum takes the first)
        assert np.array_equal(prob[:, 2], prob[:, 1])
    if twin == "axis0" and shape[1] > 1:  # not twins: axis 1 moves differently
        assert not np.array_equal(prob[:ACTIVE, 2], prob[:ACTIVE, 1])
    V_ref, prob_ref = _reference(args, sigma, disc)
    np.testing.assert_allclose(V[:ACTIVE + 1], V_ref[:ACTIVE + 1], atol=1e-12)
    if sigma == 0 and twin in ("twin", "axis0", "shared"):
        # Where actions 1 and 2 are worth the same (every state for twins; where axis 1 does not
        # matter otherwise), a plain maximum's pick between them is rounding: compare their sum.
        for p in (prob, prob_ref):
            p[:, 1] += p[:, 2]
            p[:, 2] = 0.0
    np.testing.assert_allclose(prob[:ACTIVE], prob_ref[:ACTIVE], atol=1e-12)
    if sigma == 0 and twin in ("twin", "axis0", "shared"):
        return
    expected_action = np.einsum("tajkl,a->tjkl", prob_ref[:ACTIVE], np.arange(A, dtype=float))
    np.testing.assert_allclose(mean_attr[:ACTIVE, :, :, :, 0], expected_action, atol=1e-9)


def test_deterministic_values_beat_every_open_loop_plan():
    args = _problem(7)
    P, s0, Q, s1, alpha, cost = args[:6]
    V, _, _ = _kernel(args, 0.0, 1.0)
    V_ref, _ = _reference(args, 0.0, 1.0)
    best_open = -math.inf
    for plan in itertools.product(range(A), repeat=ACTIVE):
        # Value of a fixed plan from the start, by the reference recursion with one action allowed.
        restricted = list(args)
        c = np.array(cost)
        for t, a in enumerate(plan):
            c[t] = 1e9
            c[t, a] = cost[t, a]
        restricted[5] = c
        Vp, _ = _reference(tuple(restricted), 0.0, 1.0)
        best_open = max(best_open, Vp[0, 0, 0, 0])
    assert V[0, 0, 0, 0] >= best_open - 1e-12
    assert V[0, 0, 0, 0] == pytest.approx(V_ref[0, 0, 0, 0], abs=1e-12)


@pytest.mark.parametrize("uniform", [False, True], ids=["solved", "uniform"])
@pytest.mark.parametrize("twin", ["none", "twin", "axis0", "moves", "shared"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_matches_path_enumeration(shape, twin, uniform):
    """``uniform``: every action chosen with probability 1/A instead of the solved probabilities, so
    that actions that move alike on axis 0 but not on axis 1 ("axis0") are chosen alike: their
    moved mass must not be copied."""
    args = _problem(3, shape, twin)
    P, s0, Q, s1, alpha, cost, end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step = args
    G0, G1, L = shape
    sigma, disc = 0.2, 1.0
    V, prob, _ = _kernel(args, sigma, disc)
    if uniform:
        prob[:] = 1.0 / A
    start = np.zeros((G0, G1, L))
    start[0, 0, 0] = 1.0
    qty = np.zeros((52, A, 1))
    qty[:, :, 0] = cost  # the expected cost per week
    dist = np.zeros((53, G0, G1, L))
    mean = np.zeros((52, 1))
    e0 = np.zeros((52, G0))
    e1 = np.zeros((52, G1))
    mv = dp.Moves(P, s0, Q, s1, _q_shared(Q, s1), alpha)
    per = dp.Periods(end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step)
    dp._forward(mv, per, prob, start, qty, dist, mean, e0, e1, dp.forward_work(A, G0, G1, L, P.shape[2]))
    # Enumerate every path of the first two weeks with the choice probabilities; fractional
    # positions are split between neighbouring grid points, as the kernel stores distributions.
    def split(x, n):
        x = min(max(x, 0.0), n - 1)
        lo = int(math.floor(x))
        f = x - lo
        return [(lo, 1.0 - f)] + ([(lo + 1, f)] if f > 0 else [])

    paths = {(0, 0, 0): 1.0}
    exp_cost = np.zeros(ACTIVE)
    for t in range(ACTIVE):
        new: dict = {}
        for (i, j, pl), p in paths.items():
            for a in range(A):
                pa = float(prob[t, a, i, j, pl])
                exp_cost[t] += p * pa * cost[t, a]
                for y0 in range(s0[t, a]):
                    for jj, wj in split(j + alpha[t] * y0, G1):
                        for y1 in range(s1[t, a]):
                            w = p * pa * P[t, a, y0] * wj * Q[t, a, y1]
                            if w == 0:
                                continue
                            key = (min(i + y0, G0 - 1), min(jj + y1, G1 - 1), pl)
                            new[key] = new.get(key, 0.0) + w
        if t == 0:  # axis 1's period ends alone: its head start's pmf
            reset = {}
            for (i, _j, pl), p in new.items():
                for jj, wj in enumerate(reset1[0]):
                    if wj > 0:
                        reset[(i, jj, pl)] = reset.get((i, jj, pl), 0.0) + p * wj
            new = reset
            after_first = dict(new)
        if t == 1:  # axis 0's period ends: its head start's pmf, and the money paid accumulates
            before_reset = np.zeros(G0)  # axis 0's distribution at the period's end
            for (i, _, _), p in new.items():
                before_reset[i] += p
            reset: dict = {}
            for (i, j, pl), p in new.items():
                for ii, wi in enumerate(reset0[0]):
                    for ll, wl in split(pl + paid_step[0, i], L):
                        if wi > 0:
                            reset[(ii, j, ll)] = reset.get((ii, j, ll), 0.0) + p * wi * wl
            new = reset
        if t == 2:  # both axes' periods end: their joint pmf, and the money paid accumulates
            reset = {}
            for (i, _j, pl), p in new.items():
                for (ii, jj), w in np.ndenumerate(reset01[1]):
                    for ll, wl in split(pl + paid_step[1, i], L):
                        if w > 0:
                            reset[(ii, jj, ll)] = reset.get((ii, jj, ll), 0.0) + p * w * wl
            new = reset
        paths = new
    np.testing.assert_allclose(mean[:ACTIVE, 0], exp_cost, atol=1e-12)
    first = np.zeros((G0, G1, L))
    for key, p in after_first.items():
        first[key] += p
    np.testing.assert_allclose(dist[1], first, atol=1e-12)
    np.testing.assert_allclose(e0[1], before_reset, atol=1e-12)
    ref = np.zeros((G0, G1, L))
    for key, p in paths.items():
        ref[key] += p
    np.testing.assert_allclose(dist[ACTIVE], ref, atol=1e-12)
    assert dist[ACTIVE].sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("lam", [0.0, 0.3, 2.5, 12.0])
def test_panjer_equals_direct_compound_poisson(lam):
    rng = np.random.default_rng(5)
    jump = rng.dirichlet(np.ones(7))
    jump[0] = 0.2
    jump[[2, 4]] = 0.0  # sizes a jump cannot take (the kernel's sums skip them)
    jump /= jump.sum()
    Lg = 60
    out = np.zeros(Lg)
    dp._panjer(lam, jump, np.empty(jump.shape[0], dtype=np.int64), out)
    direct = np.zeros(Lg)
    conv = np.zeros(Lg)
    conv[0] = 1.0
    for n in range(0, 200):
        w = stats.poisson.pmf(n, lam)
        direct[: Lg - 1] += w * conv[: Lg - 1]
        direct[Lg - 1] += w * conv[Lg - 1 :].sum()
        nxt = np.convolve(conv, jump)
        conv = np.concatenate([nxt[: Lg - 1], [nxt[Lg - 1 :].sum()]])
    np.testing.assert_allclose(out, direct, atol=1e-12)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)


def _lerp_below(V, x, j, pl):
    """V[x, j, pl] at fractional x: linear, clamped at the top, extrapolated below 0 with the first
    segment's slope (how the next period's value is read below its head start)."""
    G = V.shape[0]
    if x >= G - 1:
        return V[G - 1, j, pl]
    i = max(int(math.floor(x)), 0)
    return V[i, j, pl] * (1.0 - (x - i)) + V[i + 1, j, pl] * (x - i)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_deal_timing_equals_plain_python_comparison(seed):
    """Deal timing at an axis-0 period end compares doing nothing, holding all deals of the week,
    holding the excess and pulling in, each at the next period's value expected over its head
    start (a pmf), moved by what is held (kept with 1 - hold_loss) or pulled. Kernel against a
    plain-Python evaluation of the four options for the most likely action at every state; a
    problem with a head start spread over three grid points, random values and pmfs (seeded)."""
    rng = np.random.default_rng(seed)
    G0, G1, L = 8, 2, 2
    SC, SZ, SP = 4, 3, 5
    P = np.zeros((52, A, 3))
    P[:, :, 0] = 1.0
    s0 = np.full((52, A), 3, dtype=np.int64)
    C = np.zeros((52, A, SC))
    Pz = np.zeros((52, A, SZ))
    Pp = np.zeros((52, A, SP))
    for a in range(A):
        P[:, a] = rng.dirichlet(np.ones(3))
        C[:, a] = rng.dirichlet(np.ones(SC))
        Pz[:, a] = rng.dirichlet(np.ones(SZ))
        Pp[:, a] = rng.dirichlet(np.ones(SP))
    sc = np.full((52, A), SC, dtype=np.int64)
    sz = np.full((52, A), SZ, dtype=np.int64)
    spull = np.full((52, A), SP, dtype=np.int64)
    sc[:, 1] = 2  # an action with fewer deals to hold
    hp = dp.HoldPull(C, sc, Pz, sz, Pp, spull)
    end0 = np.zeros(52, dtype=np.int64)
    end0[[12, 51]] = 1
    k0 = np.zeros(52, dtype=np.int64)
    k0[13:] = 1
    pay0 = np.zeros((2, G0))
    pay0[0] = np.minimum(np.arange(G0), 4) * 1.5  # capped: a flat stretch to hold the excess from
    pay0[1] = np.sort(rng.uniform(0, 3, size=G0))
    year_end = rng.uniform(0, 1, size=(G0, G1, L))
    reset0 = np.zeros((2, G0))
    reset0[0, [1, 2, 4]] = [0.3, 0.5, 0.2]
    reset0[1, 0] = 1.0
    reset01 = reset0[:, :, None] * np.ones(G1) / G1
    per = dp.Periods(end0, end0, k0, k0, pay0, np.zeros((2, G1)), year_end, reset0, np.ones((2, G1)) / G1, reset01,
                     np.zeros((2, G0)))  # fmt: skip
    mv = dp.Moves(P, s0, np.ones((52, A, 1)), np.ones((52, A), dtype=np.int64), np.ones(52, dtype=np.int64),
                  np.zeros(52))  # fmt: skip
    best = rng.integers(0, A, size=(52, G0, G1, L))
    Vnext = rng.uniform(0, 4, size=(52, G0, G1, L))
    ratio = np.full(52, 0.8)
    hold_loss = 0.1
    timing = np.zeros((52, G0, G1, L), dtype=np.int8)
    dp._timing(mv, hp, best, per, Vnext, hold_loss, ratio, timing, np.empty(G0, dtype=np.int64), np.empty(G0),
               np.empty(SC), np.empty(SZ))  # fmt: skip
    expected = np.zeros_like(timing)
    for t in (12, 51):
        kk = k0[t]
        top = pay0[kk].max()
        Vn = Vnext[t]

        def nxt(shift, j, pl, kk=kk, Vn=Vn):
            return sum(w * _lerp_below(Vn, x + shift, j, pl) for x, w in enumerate(reset0[kk]) if w > 0)

        for i, j, pl in itertools.product(range(G0 - 1), range(G1), range(L)):
            a = best[t, i, j, pl]
            pay = pay0[kk] + (year_end[:, j, pl] if t == 51 else 0.0)
            flat = max(m for m in range(i + 1) if m == 0 or abs(pay0[kk, m] - pay0[kk, m - 1]) > 1e-9 * (1 + top))
            room = i - flat
            q_none = sum(P[t, a, y] * pay[min(i + y, G0 - 1)] for y in range(3)) + nxt(0.0, j, pl)
            q_hold = sum(
                P[t, a, y] * C[t, a, c] * pay[max(min(i + y, G0 - 1) - c, 0)] for y in range(3) for c in range(sc[t, a])
            ) + sum(C[t, a, c] * nxt((1 - hold_loss) * c * ratio[t], j, pl) for c in range(sc[t, a]))
            q_excess = q_none
            if room > 0:
                q_excess = q_none - nxt(0.0, j, pl) + sum(
                    C[t, a, c] * nxt((1 - hold_loss) * min(c, room) * ratio[t], j, pl) for c in range(sc[t, a])
                )
            q_pull = sum(Pp[t, a, y] * pay[min(i + y, G0 - 1)] for y in range(SP)) + sum(
                Pz[t, a, z] * nxt(-z * ratio[t], j, pl) for z in range(SZ)
            )
            eps = 1e-3 * top + 1e-9 * abs(q_none)
            choice, best_q = 0, q_none + eps
            for option, q in ((3, q_excess), (1, q_hold), (2, q_pull)):
                if q > best_q:
                    choice, best_q = option, q
            expected[t, i, j, pl] = choice
    assert np.array_equal(timing, expected)
    assert len(np.unique(expected[[12, 51]])) >= 3  # the options are really compared
