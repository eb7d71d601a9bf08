"""Numba kernels of the policy solver (model page, "Behaviour: the policy solver").

An agent's state is a point on a grid of up to three axes:

* axis 0 (``G0`` points): the progress of one measure in its open target period;
* axis 1 (``G1`` points, 1 when unused): a second measure or period (the year-to-date beside a
  quarter-to-date, the team's bookings beside one's own, ...);
* axis 2 (``L`` points, 1 when unused): the money already paid this year by components with a
  year-end true-up.

Each week the agent picks an action ``a``; axis 0 grows by ``y0 ~ P[t, a]`` grid steps and axis 1
by ``alpha[t] * y0 + y1`` with ``y1 ~ Q[t, a]`` (the part of the second measure that does not move
with the first, e.g. the colleagues' deals). Choices are logit (extreme-value taste shocks of scale
``sigma``): the value is the smoothed maximum ``sigma log sum_a exp(q_a / sigma)`` and action ``a``
is chosen with probability ``exp((q_a - V) / sigma)``; ``sigma = 0`` is the plain maximum. At the
end of an axis' period the period's payout is earned and the axis restarts at its head start, a
pmf on the grid (the output already on its way into the new period, whose amount is uncertain;
a joint pmf where both axes restart together). All money is in currency; values are expected
discounted totals.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .jit import inlined, inner

# The solver's kernels are serial and release the GIL (``nogil``): the independent problems of an
# equilibrium round (the reps' best responses by ability level) run side by side in threads
# (``model.policy._in_threads``), and batch runs and plausible worlds run one item per core. They
# were ``parallel=True`` (threads over actions and over states within a week): that gained
# 1.0-1.3x on one solve of the bundled company's one-axis schemes and 1.6x on its two-axis scheme
# (2 cores, ``python -m benchmarks.solve_times``), and doubled the solver's compile on a first run
# (the two parallel kernels took 18-20 s each to compile, 6-7 s each serial).
#
# Whole-array copies, fills and sums are loops in small functions (``_fill3``, ``_copy3``,
# ``_add3``) rather than array expressions, which compile to more code.


@inner
def _fill3(a, value):
    """Set every element of 3-D ``a`` to ``value``."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                a[i, j, k] = value


@inner
def _copy3(src, dst):
    """``dst[...] = src`` for 3-D arrays of one shape."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            for k in range(src.shape[2]):
                dst[i, j, k] = src[i, j, k]


@inner
def _add3(dst, src):
    """``dst += src`` for 3-D arrays of one shape."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            for k in range(src.shape[2]):
                dst[i, j, k] += src[i, j, k]


class Moves(NamedTuple):
    """How the state moves in a week, per week ``t`` and action ``a`` (grid steps)."""

    P: np.ndarray  # (52, A, S0) float64 axis-0 increment pmf; s0[t, a] leading entries used
    s0: np.ndarray  # (52, A) int64
    Q: np.ndarray  # (52, A, S1) float64 independent axis-1 increment pmf (Q[t, a, 0] = 1 when unused)
    s1: np.ndarray  # (52, A) int64
    q_shared: np.ndarray  # (52,) int64 1 when Q[t, a] is the same for every action
    alpha: np.ndarray  # (52,) float64 axis-1 grid steps per axis-0 grid step (0: independent axes)


class Periods(NamedTuple):
    """The state axes' pay periods on the grids: when they end, what they pay, where they restart."""

    end0: np.ndarray  # (52,) int64 1 when an axis-0 period ends in week t
    end1: np.ndarray  # (52,) int64 the same for axis 1
    k0: np.ndarray  # (52,) int64 axis-0 period index of week t
    k1: np.ndarray  # (52,) int64
    pay0: np.ndarray  # (n0, G0) float64 payout at the end of each axis-0 period by axis-0 state
    pay1: np.ndarray  # (n1, G1) float64 the same for axis 1
    year_end: np.ndarray  # (G0, G1, L) float64 value added at the year end by the final state (true-up, ratchet)
    reset0: np.ndarray  # (n0, G0) float64 pmf of where axis 0 restarts after each of its periods (the head start)
    reset1: np.ndarray  # (n1, G1) float64 the same for axis 1
    reset01: np.ndarray  # (n0, G0, G1) float64 joint pmf of both where both axes' periods end together
    paid_step: np.ndarray  # (n0, G0) float64 true-up components' money paid at axis-0 period ends, axis-2 steps


class HoldPull(NamedTuple):
    """What deal timing can move at an axis-0 period end, per week and action (grid steps of axis 0)."""

    C: np.ndarray  # (52, A, SC) float64 pmf of the deals closing in the week (those that can be held)
    sc: np.ndarray  # (52, A) int64 entries of C used
    Pz: np.ndarray  # (52, A, SZ) float64 pmf of the full value of the deals that can be pulled in
    sz: np.ndarray  # (52, A) int64
    Ppull: np.ndarray  # (52, A, SP) float64 this week's increment plus the discounted pulled deals
    spull: np.ndarray  # (52, A) int64


# The kernels allocate nothing: their working arrays come from here (Python). Allocating inside
# them made numba compile numpy's allocation routines (``np.empty``, ``np.zeros`` and the array
# runtime) on every first run: about 1.3 s of the solver's compile.


class BellmanWork(NamedTuple):
    """Working arrays of :func:`_bellman` (:func:`bellman_work`)."""

    W: np.ndarray  # (G0, G1, L) value after the week's increment
    U: np.ndarray  # (A, G0, G1, L) the same spread along axis 1
    q: np.ndarray  # (A, G0, G1, L) action values
    q_flat: np.ndarray  # (A, G0 G1 L) the same array, states flattened
    best_value: np.ndarray  # (G0 G1 L,)
    best_action: np.ndarray  # (G0 G1 L,) int64
    total: np.ndarray  # (G0 G1 L,)
    off: np.ndarray  # (S0,) int64 whole axis-1 steps per axis-0 step
    frac: np.ndarray  # (S0,) fractional ones
    same: np.ndarray  # (A,) int64 the earlier action whose values an action shares this week, or -1
    R: np.ndarray  # (G0, G1, L) next week's value over the head starts of the axes that restart


def bellman_work(A: int, G0: int, G1: int, L: int, S0: int) -> BellmanWork:
    """Working arrays for :func:`_bellman` with ``A`` actions on a ``(G0, G1, L)`` grid and axis-0
    increments of up to ``S0`` steps."""
    S = G0 * G1 * L
    q = np.empty((A, G0, G1, L))
    return BellmanWork(
        np.empty((G0, G1, L)), np.empty((A, G0, G1, L)), q, q.reshape(A, S), np.empty(S), np.empty(S, np.int64),
        np.empty(S), np.empty(max(S0, 1), np.int64), np.empty(max(S0, 1)), np.empty(A, np.int64),
        np.empty((G0, G1, L)),
    )  # fmt: skip


class ForwardWork(NamedTuple):
    """Working arrays of :func:`_forward` (:func:`forward_work`)."""

    dist: np.ndarray  # (G0, G1, L) the distribution at the week's start
    new: np.ndarray  # (G0, G1, L) at its end
    D: np.ndarray  # (A, G0, G1, L) each action's share of it
    tmp: np.ndarray  # (A, G0, G1, L)
    moved: np.ndarray  # (A, G0, G1, L)
    total: np.ndarray  # (A,)
    off: np.ndarray  # (S0,) int64
    frac: np.ndarray  # (S0,)
    C: np.ndarray  # (G0, G1, L) the mass at a reset, the restarting axes collapsed to index 0


def forward_work(A: int, G0: int, G1: int, L: int, S0: int) -> ForwardWork:
    """Working arrays for :func:`_forward` (as :func:`bellman_work`)."""
    return ForwardWork(
        np.empty((G0, G1, L)), np.empty((G0, G1, L)), np.empty((A, G0, G1, L)), np.empty((A, G0, G1, L)),
        np.empty((A, G0, G1, L)), np.empty(A), np.empty(max(S0, 1), np.int64), np.empty(max(S0, 1)),
        np.empty((G0, G1, L)),
    )  # fmt: skip


class HoldPullWork(NamedTuple):
    """Working arrays of :func:`_hold_pull_pmfs` (:func:`hold_pull_work`)."""

    pull: np.ndarray  # (SP,) pmf of the discounted pulled deals
    steps: np.ndarray  # (G0,) int64 a deal's possible sizes in grid steps
    pull_steps: np.ndarray  # (G0,) int64 the same, discounted


def hold_pull_work(SP: int, G0: int) -> HoldPullWork:
    """Working arrays for :func:`_hold_pull_pmfs` (pulled pmfs of ``SP`` points, jumps of ``G0``)."""
    return HoldPullWork(np.empty(SP), np.empty(G0, np.int64), np.empty(G0, np.int64))


@njit(cache=True, nogil=True, _nrt=False)
def _panjer(lam, jump, steps, out):
    """Compound Poisson pmf on the grid by Panjer's recursion.

    Parameters
    ----------
    lam : float
        Poisson rate of jumps.
    jump : ndarray(float64, (S,))
        pmf of one jump in grid steps (``jump[0]`` may be positive).
    steps : ndarray(int64, (S,))
        Working space.
    out : ndarray(float64, (L,))
        Filled with P(total = n steps), n < L; the mass at L - 1 or above is put at L - 1.
    """
    _panjer_on(lam, jump, steps, _jump_steps(jump, steps), out)


@inner
def _jump_steps(jump, steps):
    """Put the jump sizes of positive probability (``j >= 1`` with ``jump[j] > 0``), ascending, at
    the start of ``steps`` (int64, at least ``jump``'s length); return how many there are."""
    n = 0
    for j in range(1, jump.shape[0]):
        if jump[j] != 0.0:
            steps[n] = j
            n += 1
    return n


@inner
def _panjer_on(lam, jump, steps, n_steps, out):
    """:func:`_panjer` with the jump's positive sizes given (the first ``n_steps`` of ``steps``, from
    :func:`_jump_steps`): the recursion's sums skip the sizes a jump cannot take (a deal's value
    spans a few dozen grid steps of a grid of hundreds, a count one or two), whose terms are zero."""
    L = out.shape[0]
    for n in range(L):
        out[n] = 0.0
    if lam <= 0.0:
        out[0] = 1.0
        return
    out[0] = math.exp(lam * (jump[0] - 1.0))
    total = out[0]
    for n in range(1, L - 1):
        s = 0.0
        for m in range(n_steps):
            j = steps[m]
            if j > n:
                break
            s += j * jump[j] * out[n - j]
        out[n] = lam / n * s
        total += out[n]
        if total > 1.0 - 1e-15:
            break  # the rest of the mass is below rounding: stop early (it is lumped at the top)
    out[L - 1] += max(0.0, 1.0 - total)


@njit(cache=True, nogil=True, _nrt=False)
def _increments_all(lam, jumps, week_k, P, steps):
    """Fill ``P[t, a]`` with the compound-Poisson pmf of rate ``lam[t, a]`` and the jump pmf of
    week t's period (``jumps[week_k[t]]``); ``steps`` (int64, ``jumps.shape[1]``) is working space."""
    T, A = lam.shape
    for k in range(jumps.shape[0]):
        n_steps = _jump_steps(jumps[k], steps)
        for t in range(T):
            if week_k[t] != k:
                continue
            for a in range(A):
                _panjer_on(lam[t, a], jumps[k], steps, n_steps, P[t, a])


@njit(cache=True, nogil=True, _nrt=False)
def _hold_pull_pmfs(own, pull_weeks, jumps, pull_jumps, week_k, ends, P, s0, tol, hp, work):
    """What deal timing can move at each axis-0 period end, per action (the pmfs of
    :class:`HoldPull`): the deals closing in the week, which can be held back (``C``); the
    pipeline's deals of the next weeks, which can be pulled in (``Pz`` at full value, ``Ppull`` at
    the pull-in discount plus the week's own increment).

    Parameters
    ----------
    own : ndarray(float64, (52, A))
        Expected own wins per week by action (deals).
    pull_weeks : float
        Weeks of wins the pipeline can pull in.
    jumps, pull_jumps : ndarray(float64, (n0, G0))
        One deal's value in grid steps by axis-0 period, at full value and discounted.
    week_k : ndarray(int64, (52,))
        Axis-0 period of each week.
    ends : ndarray(int64, (E,))
        Weeks in which an axis-0 period ends.
    P, s0 : the week's axis-0 increment pmfs and their supports (:class:`Moves`).
    tol : float
        Trailing mass dropped from the supports (as :func:`_support`).
    hp : HoldPull
        Filled at the weeks ``ends`` (the pmfs zero and the supports 1 in other weeks, which
        :func:`_timing` does not read).
    work : HoldPullWork
        Working space (:func:`hold_pull_work`).
    """
    C, sc, Pz, sz, Ppull, spull = hp
    A = own.shape[1]
    for t in range(C.shape[0]):
        for a in range(A):
            for i in range(C.shape[2]):
                C[t, a, i] = 0.0
                Pz[t, a, i] = 0.0
                Ppull[t, a, i] = 0.0
            sc[t, a] = 1
            sz[t, a] = 1
            spull[t, a] = 1
    tmp, steps, pull_steps = work
    for e in range(ends.shape[0]):
        t = ends[e]
        k = week_k[t]
        n_steps = _jump_steps(jumps[k], steps)
        n_pull = _jump_steps(pull_jumps[k], pull_steps)
        for a in range(A):
            _panjer_on(own[t, a], jumps[k], steps, n_steps, C[t, a])
            lam_pull = own[t, a] * pull_weeks
            _panjer_on(lam_pull, pull_jumps[k], pull_steps, n_pull, tmp)
            _convolve(P[t, a, : s0[t, a]], tmp, Ppull[t, a])
            _panjer_on(lam_pull, jumps[k], steps, n_steps, Pz[t, a])
            sc[t, a] = _support_of(C[t, a], tol)
            sz[t, a] = _support_of(Pz[t, a], tol)
            spull[t, a] = _support_of(Ppull[t, a], tol)


@njit(cache=True, nogil=True, _nrt=False)
def _support(P, tol, support):
    """Number of leading entries of each ``P[t, a]`` to keep (trailing mass below tol dropped)."""
    T, A, S = P.shape
    for t in range(T):
        for a in range(A):
            support[t, a] = _support_of(P[t, a], tol)


@inner
def _support_of(pmf, tol):
    """Number of leading entries of ``pmf`` to keep (trailing mass below tol dropped)."""
    n = pmf.shape[0]
    acc = 0.0
    while n > 1:
        acc += pmf[n - 1]
        if acc > tol:
            break
        n -= 1
    return n


@inner
def _convolve(a, b, out):
    """pmf of the sum of two independent grid increments (tail lumped at the last cell)."""
    L = out.shape[0]
    for k in range(L):
        out[k] = 0.0
    for i in range(a.shape[0]):
        if a[i] == 0.0:
            continue
        for j in range(b.shape[0]):
            k = i + j
            if k >= L:
                k = L - 1
            out[k] += a[i] * b[j]


@inlined
def _lerp3(V, x, j, pl):
    """``V[x, j, pl]`` at a fractional first index ``x`` (linear; clamped at the top, extrapolated
    linearly below 0 with the first segment's slope)."""
    G = V.shape[0]
    if G == 1:
        return V[0, j, pl]
    if x >= G - 1:
        return V[G - 1, j, pl]
    i = int(math.floor(x))
    if i < 0:
        i = 0
    f = x - i
    return V[i, j, pl] * (1.0 - f) + V[i + 1, j, pl] * f


@inner
def _lerp3_over(V, pmf, shift, j, pl):
    """The expected :func:`_lerp3` of ``V`` at ``x + shift`` over the grid position ``x ~ pmf``."""
    s = 0.0
    for x in range(pmf.shape[0]):
        w = pmf[x]
        if w != 0.0:
            s += w * _lerp3(V, x + shift, j, pl)
    return s


@inlined
def _lerp_index(x, G):
    """(lower index, weight of the upper one) of a fractional grid position clamped to [0, G-1]."""
    if x <= 0.0 or G == 1:
        return 0, 0.0
    if x >= G - 1:
        return G - 1, 0.0
    i = int(x)
    return i, x - i


@inlined
def _restart(a, b, r0, r1, r01, e0, e1):
    """Where the axes whose period ends (``e0``, ``e1``) restart: the chance that grid point
    ``(a, b)`` is the restart point, and the point ``(c0, c1)`` of the grid with each restarting
    axis collapsed to its index 0 (what follows a restart does not depend on where the axis was)
    that it belongs to. Axis 0's head start has pmf ``r0``, axis 1's ``r1``, both together
    ``r01``. The one home of the restart for the Bellman pass (:func:`_over_head_starts`) and its
    adjoint, the forward pass (:func:`_spread_head_starts`)."""
    if e0 and e1:
        return r01[a, b], 0, 0
    if e0:
        return r0[a], 0, b
    return r1[b], a, 0


@inner
def _over_head_starts(Vn, r0, r1, r01, e0, e1, R):
    """``R`` (the grid with the restarting axes collapsed to index 0, :func:`_restart`) = ``Vn``
    averaged over the head starts: ``R[0, j, pl] = sum_x r0[x] Vn[x, j, pl]`` (axis 0), the same
    along axis 1, or ``R[0, 0, pl] = sum_{x, y} r01[x, y] Vn[x, y, pl]`` (both). Points of zero
    probability are skipped."""
    G0, G1, L = Vn.shape
    for a in range(1 if e0 else G0):
        for b in range(1 if e1 else G1):
            for pl in range(L):
                R[a, b, pl] = 0.0
    for a in range(G0):
        for b in range(G1):
            w, c0, c1 = _restart(a, b, r0, r1, r01, e0, e1)
            if w != 0.0:
                for pl in range(L):
                    R[c0, c1, pl] += w * Vn[a, b, pl]


@inner
def _spread_head_starts(C, r0, r1, r01, e0, e1, dist):
    """Add to ``dist`` the mass ``C`` (the restarting axes collapsed to index 0) spread over the
    head starts: the adjoint of :func:`_over_head_starts`."""
    G0, G1, L = dist.shape
    for a in range(G0):
        for b in range(G1):
            w, c0, c1 = _restart(a, b, r0, r1, r01, e0, e1)
            if w != 0.0:
                for pl in range(L):
                    dist[a, b, pl] += w * C[c0, c1, pl]


@inner
def _after_week(Vn, t, per, W, R):
    """Value after week t's increment, as a function of the post-increment state ``(i, j, pl)``:
    the payouts of the periods that end this week plus the next week's value at the state the
    resets lead to (the year-end value ``year_end`` in the last week). An axis whose period ends
    restarts at its head start, a pmf (``per.reset0``, ``per.reset1``): the value is the expected
    one over it; the paid-money axis moves by the money paid (interpolated).

    Parameters
    ----------
    Vn : ndarray(float64, (G0, G1, L))
        Value at the start of week t + 1.
    per : Periods
        The axes' periods: ends, payouts, year-end value, restarts.
    W : ndarray(float64, (G0, G1, L))
        Filled.
    R : ndarray(float64, (G0, G1, L))
        Working space (``Vn`` over the head starts, :func:`_over_head_starts`).
    """
    end0, end1, k0, k1, pay0, pay1, year_end, reset0, reset1, reset01, paid_step = per
    G0, G1, L = W.shape
    e0 = end0[t] == 1
    e1 = end1[t] == 1
    last = t == end0.shape[0] - 1
    kk0 = k0[t]
    kk1 = k1[t]
    if not (e0 or e1):
        _copy3(Vn, W)  # nothing ends: the state carries on as it is
        return
    _over_head_starts(Vn, reset0[kk0], reset1[kk1], reset01[kk0], e0, e1, R)
    for i in range(G0):
        p0 = pay0[kk0, i] if e0 else 0.0
        a0 = 0 if e0 else i
        for j in range(G1):
            p1 = pay1[kk1, j] if e1 else 0.0
            a1 = 0 if e1 else j
            for pl in range(L):
                v = p0 + p1
                if last:
                    v += year_end[i, j, pl]
                xl = 0.0 if last else (pl + paid_step[kk0, i] if e0 else float(pl))
                a2, f2 = _lerp_index(xl, L)
                s = (1.0 - f2) * R[a0, a1, a2]
                if f2 != 0.0:
                    s += f2 * R[a0, a1, a2 + 1]
                W[i, j, pl] = v + s


@inner
def _spread_axis1(W, Qt, s1, U):
    """``U[i, j, pl] = sum_y1 Q(y1) W[i, j + y1, pl]`` (clamped at the top): the independent axis-1
    increment.

    Step by step over whole rows, as :func:`_expect_axis0`: a row's ``(G1, L)`` block is contiguous,
    so step ``y`` reads the row ``y L`` further on, and every state gets its terms in the same order
    of ``y`` as a sum per state (bit-identical). A sum per state, with its clamp and test in the
    innermost loop, did not vectorise."""
    G0, G1, L = W.shape
    n = G1 * L
    top = (G1 - 1) * L
    W2 = W.reshape(G0, n)
    U2 = U.reshape(G0, n)
    for i in range(G0):
        u = U2[i]
        w = W2[i]
        for k in range(n):
            u[k] = 0.0
        for y in range(s1):
            q = Qt[y]
            if q == 0.0:
                continue
            inside = max(G1 - y, 0) * L  # states whose step stays at or below the top
            ws = w[y * L : y * L + inside]
            for k in range(inside):
                u[k] += q * ws[k]
            for k in range(inside, n):
                u[k] += q * w[top + k % L]


@inner
def _expect_axis0(U, Pt, s0, alpha, E, off, frac):
    """``E[i, j, pl] = sum_y0 P(y0) U[i + y0, j + alpha y0, pl]`` (clamped at the top; ``alpha y0``
    fractional, interpolated): axis 0, dragging axis 1 along by alpha per step. ``off`` and
    ``frac`` (int64 and float64, at least ``s0`` long) are working space."""
    G0, G1, L = U.shape
    drag = not (alpha == 0.0 or G1 == 1)
    n = G1 * L
    if not drag:
        # Step by step: every state's sum gets step y's term in the same order of y as a sum per
        # state, but the states are one contiguous run (state i reads the state y rows up, U's
        # flat index + y n), which the compiler vectorises. A sum per state in a register is a
        # chain of dependent additions: 5-8x slower on the bundled company's one-axis problems.
        U1 = U.reshape(G0 * n)
        E1 = E.reshape(G0 * n)
        for k in range(G0 * n):
            E1[k] = 0.0
        top = (G0 - 1) * n
        for y in range(s0):
            p = Pt[y]
            if p == 0.0:
                continue
            inside = max(G0 - y, 0) * n  # states whose step stays below the top
            # Views, so that the loop has no index arithmetic (the compiler then vectorises it).
            e = E1[:inside]
            u = U1[y * n : y * n + inside]
            for k in range(inside):
                e[k] += p * u[k]
            # The states whose step would pass the top stop there: the top row's values.
            if n == 1:
                c = p * U1[top]
                et = E1[inside:]
                for r in range(et.shape[0]):
                    et[r] += c
            else:
                for r in range(inside, G0 * n, n):
                    for k in range(n):
                        E1[r + k] += p * U1[top + k]
        return
    # Rows of U and E are contiguous (G1 x L) blocks: accumulate whole rows per step y (in the same
    # order of y as a per-state sum) and let the compiler vectorise; the whole and fractional
    # axis-1 steps of alpha * y are the same from every j.
    U2 = U.reshape(G0, n)
    E2 = E.reshape(G0, n)
    _drag_steps(alpha, s0, off, frac)
    for i in range(G0):
        for k in range(n):
            E2[i, k] = 0.0
        for y in range(s0):
            p = Pt[y]
            if p == 0.0:
                continue
            ii = i + y
            if ii > G0 - 1:
                ii = G0 - 1
            o = off[y]
            f = frac[y]
            inside = max(G1 - 1 - o, 0) * L  # states whose dragged position is below the top
            lo = o * L
            er = E2[i]
            u0 = U2[ii, lo : lo + inside]
            if f == 0.0:
                for k in range(inside):
                    er[k] += p * u0[k]
            else:
                u1 = U2[ii, lo + L : lo + L + inside]
                w0 = p * (1.0 - f)
                w1 = p * f
                for k in range(inside):
                    er[k] += w0 * u0[k] + w1 * u1[k]
            top = (G1 - 1) * L
            for k in range(inside, n):
                er[k] += p * U2[ii, top + k % L]


@inner
def _drag_steps(alpha, s, off, frac):
    """Fill ``off[:s]`` and ``frac[:s]`` with the whole and fractional axis-1 grid steps ``alpha * y``
    for axis-0 steps ``y < s`` (``alpha >= 0``)."""
    for y in range(s):
        x = alpha * y
        off[y] = int(x)
        frac[y] = x - off[y]


@inner
def _same_moves(mv, t, a, b, shared):
    """Whether actions ``a`` and ``b`` move the state alike in week ``t``: the same axis-0
    increments, and the same axis-1 ones unless ``shared`` (exact equality)."""
    P, s0, Q, s1, _, _ = mv
    n0 = s0[t, a]
    if s0[t, b] != n0:
        return False
    for y in range(n0):
        if P[t, b, y] != P[t, a, y]:
            return False
    if shared:
        return True
    if s1[t, b] != s1[t, a]:
        return False
    for y in range(s1[t, a]):
        if Q[t, b, y] != Q[t, a, y]:
            return False
    return True


@njit(cache=True, nogil=True, _nrt=False)
def _bellman(mv, per, cost, sigma, disc, attr, V, prob, mean_attr, work):
    """Backward induction over the 52 weeks of a year with logit choices.

    Parameters
    ----------
    mv : Moves
        How the state moves per week and action (the increments' pmfs).
    per : Periods
        The axes' periods (see :func:`_after_week`).
    cost : ndarray(float64, (52, A))
        Cost of each action in week t (effort cost net of rewards valued linearly), currency.
    sigma : float
        Scale of the taste shocks (currency per week); 0 for the deterministic maximum.
    disc : float
        Weekly discount factor: what follows this week is worth ``disc`` of its face value.
    attr : ndarray(float64, (A, M))
        Attributes of each action (effort, follow-up share or quality ...), averaged into
        ``mean_attr``.
    V : ndarray(float64, (53, G0, G1, L))
        ``V[52]`` is set by the caller (the value of next year's start by final state); filled.
    prob : ndarray(float64, (52, A, G0, G1, L))
        Filled: choice probabilities.
    mean_attr : ndarray(float64, (52, G0, G1, L, M))
        Filled: expected action attributes by state.
    work : BellmanWork
        Working space (:func:`bellman_work`).
    """
    P, s0, Q, s1, q_shared, alpha = mv
    T, A = cost.shape
    G0, G1, L = V.shape[1], V.shape[2], V.shape[3]
    M = attr.shape[1]
    W, U, qbuf, q2, bv, ba, tot, off, frac, same, R = work
    S = G0 * G1 * L
    for t in range(T - 1, -1, -1):
        _after_week(V[t + 1], t, per, W, R)
        shared = q_shared[t] == 1 or G1 == 1
        if shared:
            if G1 == 1 or s1[t, 0] == 1:
                # (A loop: ``U[0] = W * q`` would allocate a temporary array every week.)
                q = Q[t, 0, 0] if G1 > 1 else 1.0
                for i in range(G0):
                    for j in range(G1):
                        for pl in range(L):
                            U[0, i, j, pl] = W[i, j, pl] * q if G1 > 1 else W[i, j, pl]
            else:
                _spread_axis1(W, Q[t, 0], s1[t, 0], U[0])
        for a in range(A):
            # An action that moves the state as an earlier one does, at the same cost (the
            # follow-up share where nobody hands over appointments: hr-bonus-structures' 36
            # actions are 18 pairs), has its values: copied, not computed again.
            same[a] = -1
            for b in range(a):  # (a loop index, not a counter from 0: numba would compile the
                # callee once more for the literal 0)
                if cost[t, b] == cost[t, a] and _same_moves(mv, t, a, b, shared):
                    same[a] = b
                    break
            if same[a] >= 0:
                qa = q2[a]
                qb = q2[same[a]]
                for s in range(S):
                    qa[s] = qb[s]
                continue
            if shared:
                _expect_axis0(U[0], P[t, a], s0[t, a], alpha[t], qbuf[a], off, frac)
            else:
                _spread_axis1(W, Q[t, a], s1[t, a], U[a])
                _expect_axis0(U[a], P[t, a], s0[t, a], alpha[t], qbuf[a], off, frac)
            c = cost[t, a]
            for i in range(G0):
                for j in range(G1):
                    for pl in range(L):
                        qbuf[a, i, j, pl] = disc * qbuf[a, i, j, pl] - c
        # Choice probabilities: action by action over every state at once (states flattened: each
        # pass reads and writes contiguous runs, which the compiler vectorises). Every state gets
        # the same operations in the same order of a as a state-by-state loop.
        Vt = V[t].reshape(S)
        pt = prob[t].reshape(A, S)
        mt = mean_attr[t].reshape(S, M)
        for s in range(S):
            bv[s] = -1e300
            ba[s] = 0
            for m in range(M):
                mt[s, m] = 0.0
        for a in range(A):
            qa = q2[a]
            for s in range(S):
                if qa[s] > bv[s]:
                    bv[s] = qa[s]
                    ba[s] = a
        if sigma <= 0.0:
            for a in range(A):
                for s in range(S):
                    pt[a, s] = 0.0
            for s in range(S):
                b = ba[s]
                pt[b, s] = 1.0
                Vt[s] = bv[s]
                for m in range(M):
                    mt[s, m] = attr[b, m]
            continue
        # One exponential per action: weights relative to the best, which cannot overflow.
        for s in range(S):
            tot[s] = 0.0
        for a in range(A):
            qa = q2[a]
            if same[a] >= 0:  # its values are an earlier action's: so are their exponentials
                qb = q2[same[a]]
                for s in range(S):
                    qa[s] = qb[s]
                    tot[s] += qa[s]
                continue
            for s in range(S):
                z = (qa[s] - bv[s]) / sigma
                e = math.exp(z) if z > -60.0 else 0.0
                qa[s] = e
                tot[s] += e
        for s in range(S):
            Vt[s] = bv[s] + sigma * math.log(tot[s])
        for a in range(A):
            qa = q2[a]
            pa = pt[a]
            for s in range(S):
                p = qa[s] / tot[s]
                pa[s] = p
                for m in range(M):
                    mt[s, m] += p * attr[a, m]


@inner
def _push_axis0(D, Pt, s0, alpha, out, off, frac):
    """Add to ``out`` the distribution ``D`` moved by the axis-0 increment (axis 1 dragged along by
    alpha per step): the adjoint of :func:`_expect_axis0` (``off``, ``frac``: working space)."""
    G0, G1, L = D.shape
    drag = not (alpha == 0.0 or G1 == 1)
    if G1 * L == 1:
        # One axis: a state's mass goes to a contiguous run of states, one step y after another
        # (vectorised); every state receives its terms in the same order as a state-by-state loop.
        D1 = D.reshape(G0)
        out1 = out.reshape(G0)
        for i in range(G0):
            d = D1[i]
            if d == 0.0:
                continue
            inside = min(s0, G0 - 1 - i)  # steps that stay below the top
            o = out1[i : i + inside]
            for y in range(inside):
                o[y] += d * Pt[y]
            for y in range(inside, s0):
                out1[G0 - 1] += d * Pt[y]
        return
    # Whole rows per step y (vectorisable), as in :func:`_expect_axis0`.
    D2 = D.reshape(G0, G1 * L)
    out2 = out.reshape(G0, G1 * L)
    _drag_steps(alpha if drag else 0.0, s0, off, frac)
    n = G1 * L
    top = (G1 - 1) * L
    for i in range(G0):
        empty = True
        for k in range(n):
            if D2[i, k] != 0.0:
                empty = False
                break
        if empty:
            continue
        for y in range(s0):
            p = Pt[y]
            if p == 0.0:
                continue
            ii = i + y
            if ii > G0 - 1:
                ii = G0 - 1
            if not drag:
                dr = D2[i]
                v = out2[ii]
                for k in range(n):
                    v[k] += dr[k] * p
                continue
            o = off[y]
            f = frac[y]
            inside = max(G1 - 1 - o, 0) * L
            lo = o * L
            dr = D2[i]
            # Row views (no index arithmetic in the loops, so the compiler vectorises them).
            v0 = out2[ii, lo : lo + inside]
            if f == 0.0:
                for k in range(inside):
                    v0[k] += dr[k] * p
            else:
                w0 = p * (1.0 - f)
                w1 = p * f
                for k in range(inside):
                    v0[k] += dr[k] * w0
                v1 = out2[ii, lo + L : lo + L + inside]
                for k in range(inside):
                    v1[k] += dr[k] * w1
            for k in range(inside, n):
                out2[ii, top + k % L] += dr[k] * p


@inner
def _push_axis1(D, Qt, s1, out):
    """Add to ``out`` the distribution ``D`` moved by the independent axis-1 increment (the adjoint
    of :func:`_spread_axis1`).

    Whole rows per step (vectorised, as :func:`_spread_axis1`), each state receiving its terms in
    the order of a state-by-state loop (from the lowest source state up, so by falling step; the
    top state, where several steps of one source land, from each source in turn): bit-identical."""
    G0, G1, L = D.shape
    n = G1 * L
    D2 = D.reshape(G0, n)
    out2 = out.reshape(G0, n)
    if G1 == 1 or s1 == 1:
        for i in range(G0):
            d = D2[i]
            o = out2[i]
            for k in range(n):
                o[k] += d[k]
        return
    top = (G1 - 1) * L
    for i in range(G0):
        d = D2[i]
        o = out2[i]
        empty = True
        for k in range(n):
            if d[k] != 0.0:
                empty = False
                break
        if empty:
            continue
        # Below the top: the state j + y < G1 - 1 gets one term per step, from source j.
        for y in range(s1 - 1, -1, -1):
            q = Qt[y]
            if q == 0.0:
                continue
            m = max(G1 - 1 - y, 0) * L
            dst = o[y * L : y * L + m]
            for k in range(m):
                dst[k] += d[k] * q
        # The top: from each source j in turn, its steps that reach the top in order.
        for j in range(G1):
            y0 = G1 - 1 - j
            for y in range(y0 if y0 > 0 else 0, s1):
                q = Qt[y]
                if q == 0.0:
                    continue
                for pl in range(L):
                    o[top + pl] += d[j * L + pl] * q


@inner
def _same_prob(prob, t, a, b):
    """Whether actions ``a`` and ``b`` are chosen with exactly the same probability in every state
    in week ``t``."""
    pa = prob[t, a]
    pb = prob[t, b]
    for i in range(pa.shape[0]):
        for j in range(pa.shape[1]):
            for pl in range(pa.shape[2]):
                if pa[i, j, pl] != pb[i, j, pl]:
                    return False
    return True


@njit(cache=True, nogil=True, _nrt=False)
def _forward(mv, per, prob, start, qty, dist_out, mean_out, end_dist0, end_dist1, work):
    """Propagate the distribution of the state through the year under the choice probabilities.

    Parameters
    ----------
    mv : Moves
        How the state moves per week and action.
    per : Periods
        The axes' periods (ends and restarts are read here).
    prob : ndarray(float64, (52, A, G0, G1, L))
        Choice probabilities (from :func:`_bellman`).
    start : ndarray(float64, (G0, G1, L))
        Distribution at the start of the year.
    qty : ndarray(float64, (52, A, Q))
        Quantities per week and action to average (effort, output rates ...).
    dist_out : ndarray(float64, (53, G0, G1, L))
        Filled: the distribution at the start of each week (row 52: after the last week, before
        the year-end resets).
    mean_out : ndarray(float64, (52, Q))
        Filled: expected quantity per week.
    end_dist0 : ndarray(float64, (52, G0))
        Filled at axis-0 period ends: the distribution of axis 0 before the reset (else 0).
    end_dist1 : ndarray(float64, (52, G1))
        The same for axis 1.
    work : ForwardWork
        Working space (:func:`forward_work`).
    """
    P, s0, Q, s1, q_shared, alpha = mv
    end0, end1, k0, k1, _, _, _, reset0, reset1, reset01, paid_step = per
    T, A = prob.shape[0], prob.shape[1]
    G0, G1, L = start.shape
    NQ = qty.shape[2]
    dist, new, D, tmp, moved, tot, off, frac, C = work
    _copy3(start, dist)
    for t in range(end_dist0.shape[0]):
        for i in range(end_dist0.shape[1]):
            end_dist0[t, i] = 0.0
    for t in range(end_dist1.shape[0]):
        for j in range(end_dist1.shape[1]):
            end_dist1[t, j] = 0.0
    for t in range(T):
        _copy3(dist, dist_out[t])
        for q in range(NQ):
            mean_out[t, q] = 0.0
        _fill3(new, 0.0)
        # Each action moves its share of the mass along axis 0 in its own buffer; the buffers are
        # added in action order, and the axis-1 increment is applied once when it is the same for
        # every action.
        shared = q_shared[t] == 1 or G1 == 1
        for a in range(A):
            # An action that moves the state as an earlier one does and is chosen with the same
            # probabilities everywhere (one of the same cost: see :func:`_bellman`) moves the same
            # mass: copied, not pushed again.
            twin = -1
            for b in range(a):
                if _same_moves(mv, t, a, b, shared) and _same_prob(prob, t, a, b):
                    twin = b
                    break
            if twin >= 0:
                tot[a] = tot[twin]
                _copy3(moved[twin], moved[a])
                continue
            s = 0.0
            for i in range(G0):
                for j in range(G1):
                    for pl in range(L):
                        v = dist[i, j, pl] * prob[t, a, i, j, pl]
                        if v < 1e-15 * dist[i, j, pl]:
                            v = 0.0  # a negligible share of this state's mass (logit tails)
                        D[a, i, j, pl] = v
                        s += v
            tot[a] = s
            _fill3(moved[a], 0.0)
            if s > 0.0:
                if shared:
                    _push_axis0(D[a], P[t, a], s0[t, a], alpha[t], moved[a], off, frac)
                else:
                    _fill3(tmp[a], 0.0)
                    _push_axis0(D[a], P[t, a], s0[t, a], alpha[t], tmp[a], off, frac)
                    _push_axis1(tmp[a], Q[t, a], s1[t, a], moved[a])
        for a in range(A):
            if tot[a] <= 0.0:
                continue
            for q in range(NQ):
                mean_out[t, q] += tot[a] * qty[t, a, q]
            _add3(new, moved[a])
        if shared and G1 > 1:
            _copy3(new, tmp[0])
            _fill3(new, 0.0)
            _push_axis1(tmp[0], Q[t, 0], s1[t, 0], new)
        if t == T - 1:
            _copy3(new, dist_out[T])
        e0 = end0[t] == 1
        e1 = end1[t] == 1
        if e0:
            for i in range(G0):
                s = 0.0
                for j in range(G1):
                    for pl in range(L):
                        s += new[i, j, pl]
                end_dist0[t, i] = s
        if e1:
            for j in range(G1):
                s = 0.0
                for i in range(G0):
                    for pl in range(L):
                        s += new[i, j, pl]
                end_dist1[t, j] = s
        if t == T - 1:
            _fill3(dist, 0.0)  # the year is over; the caller restarts from ``start``
            continue
        if not (e0 or e1):
            _copy3(new, dist)
            continue
        # Resets: axes whose period ended restart at their head start (a pmf); paid money
        # accumulates. The mass is first gathered with the restarting axes collapsed to index 0
        # (where it was on them no longer matters), then spread over their head starts.
        kk0 = k0[t]
        kk1 = k1[t]
        _fill3(C, 0.0)
        for i in range(G0):
            a0 = 0 if e0 else i
            for j in range(G1):
                a1 = 0 if e1 else j
                for pl in range(L):
                    m = new[i, j, pl]
                    if m == 0.0:
                        continue
                    xl = pl + paid_step[kk0, i] if e0 else float(pl)
                    a2, f2 = _lerp_index(xl, L)
                    C[a0, a1, a2] += m * (1.0 - f2)
                    if f2 != 0.0:
                        C[a0, a1, a2 + 1] += m * f2
        _fill3(dist, 0.0)
        _spread_head_starts(C, reset0[kk0], reset1[kk1], reset01[kk0], e0, e1, dist)


@njit(cache=True, nogil=True, _nrt=False)
def _timing(mv, hp, best, per, Vnext, hold_loss, ratio, timing, flat, pay, hold_v, pull_v):
    """Deal timing in the last week of each axis-0 period: none (0), hold all (1), pull (2) or hold
    the excess (3).

    Compared on the state at the week's start (which includes the deals expected to close this
    week), for the most likely action:

    * hold all: the deals closing this week (``C``) count in the next period instead (each lost
      with ``hold_loss``): this period pays without them, the next one starts further on;
    * hold the excess: only the deals that would no longer raise this period's pay are held (the
      part of the state above the start of the flat stretch of the payout it is on: a cap, a
      plateau between steps);
    * pull: deals that would close in the next weeks close now at a discount (``Ppull``: this
      week's increment plus the discounted pulled deals); the next period starts without them
      (``Pz``: their full value), valued linearly below its head start.

    The next period's value is the expected one over its head start (a pmf, ``per.reset0``), moved
    by what is held or pulled. Axis 1 and axis 2 are carried as they are (deals held or pulled move
    within their periods).

    Parameters
    ----------
    mv : Moves
        How the state moves per week and action (``P``, ``s0`` are read).
    hp : HoldPull
        What can be held or pulled in at the period's end.
    best : ndarray(int64, (52, G0, G1, L))
        The most likely action by state (read at axis-0 period ends).
    per : Periods
        The axes' periods (axis 0's ends, payouts and restarts; the year-end value, counted in the
        last week).
    hold_loss : float
        Chance a held deal is lost.
    Vnext : ndarray(float64, (52, G0, G1, L))
        Value at the start of the next week, ``Vnext[t] = V[t + 1]``.
    ratio : ndarray(float64, (52,))
        Grid steps of the next axis-0 period per grid step of this one.
    timing : ndarray(int8, (52, G0, G1, L))
        Filled (0 outside axis-0 period ends).
    flat, pay : ndarray(int64, (G0,)), ndarray(float64, (G0,))
        Working space.
    hold_v, pull_v : ndarray(float64, (SC,)), ndarray(float64, (SZ,))
        Working space: the next period's value with ``c`` deals held, ``z`` pulled.
    """
    P, s0 = mv.P, mv.s0
    C, sc, Pz, sz, Ppull, spull = hp
    end0, k0, pay0, year_end, reset0 = per.end0, per.k0, per.pay0, per.year_end, per.reset0
    T = P.shape[0]
    G0, G1, L = timing.shape[1], timing.shape[2], timing.shape[3]
    for t in range(T):
        timing[t] = 0
        if end0[t] != 1:
            continue
        kk = k0[t]
        top = 0.0
        for i in range(G0):
            if pay0[kk, i] > top:
                top = pay0[kk, i]
        r0 = reset0[kk]
        Vn = Vnext[t]
        n_hold = 0
        n_pull = 0
        for a in range(sc.shape[1]):
            n_hold = max(n_hold, sc[t, a])
            n_pull = max(n_pull, sz[t, a])
        # Start of the flat stretch of the payout each grid point is on.
        flat[0] = 0
        for i in range(1, G0):
            flat[i] = flat[i - 1] if abs(pay0[kk, i] - pay0[kk, i - 1]) <= 1e-9 * (1.0 + top) else i
        last = t == T - 1
        for j in range(G1):
            for pl in range(L):
                # The next period's value over its head start, with c deals held (each kept with
                # 1 - hold_loss) or z pulled in: the same for every axis-0 state of this (j, pl).
                for c in range(n_hold):
                    hold_v[c] = _lerp3_over(Vn, r0, (1.0 - hold_loss) * c * ratio[t], j, pl)
                for z in range(n_pull):
                    pull_v[z] = _lerp3_over(Vn, r0, -z * ratio[t], j, pl)
                v_none = hold_v[0] if n_hold > 0 else _lerp3_over(Vn, r0, 0.0, j, pl)
                # What the period's end pays by axis-0 state (the year-end terms in the last week).
                for m in range(G0):
                    pay[m] = pay0[kk, m] + (year_end[m, j, pl] if last else 0.0)
                for i in range(G0 - 1):  # the last cell lumps everything above it: no timing there
                    a = best[t, i, j, pl]
                    q_none = 0.0
                    q_hold = 0.0
                    for y in range(s0[t, a]):
                        p = P[t, a, y]
                        if p == 0.0:
                            continue
                        m = min(i + y, G0 - 1)
                        q_none += p * pay[m]
                        for c in range(sc[t, a]):
                            pc = C[t, a, c]
                            if pc != 0.0:
                                q_hold += p * pc * pay[max(m - c, 0)]
                    for c in range(sc[t, a]):
                        pc = C[t, a, c]
                        if pc != 0.0:
                            q_hold += pc * hold_v[c]
                    q_none += v_none
                    q_excess = q_none
                    room = i - flat[i]
                    if room > 0:
                        q_excess = q_none - v_none
                        for c in range(sc[t, a]):
                            pc = C[t, a, c]
                            if pc != 0.0:
                                h = c if c < room else room
                                q_excess += pc * hold_v[h]
                    q_pull = 0.0
                    for y in range(spull[t, a]):
                        p = Ppull[t, a, y]
                        if p != 0.0:
                            q_pull += p * pay[min(i + y, G0 - 1)]
                    for z in range(sz[t, a]):
                        p = Pz[t, a, z]
                        if p != 0.0:
                            q_pull += p * pull_v[z]
                    # Move deals only for a clear gain (0.1 % of the period's top payout).
                    eps = 1e-3 * top + 1e-9 * abs(q_none)
                    choice = 0
                    best_q = q_none + eps
                    if q_excess > best_q:
                        choice = 3
                        best_q = q_excess
                    if q_hold > best_q:
                        choice = 1
                        best_q = q_hold
                    if q_pull > best_q:
                        choice = 2
                    timing[t, i, j, pl] = choice
