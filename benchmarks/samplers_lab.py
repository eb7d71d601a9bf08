"""What cheaper draws would buy: the kernel's commonest draws, timed against alternatives.

``python -m benchmarks.samplers_lab`` times, on one thread, per call (ns), with the parameters the
kernel really sees (from :mod:`benchmarks.draw_counts`), the kernel's own sampler first ("current")
and then alternatives:

* a **stage step** (``leave ~ Bin(n, h)``, then ``adv ~ Bin(leave, p)``; a sales stage holds about
  2-3 deals per rep): the kernel's ``rng._leave_advance`` (one 53-bit uniform per item, sorted into
  stay / lost / advance without branches), against two 32-bit decisions per generator step (half the
  steps; each probability then resolved to 2^-32 instead of 2^-53) and the two binomials the kernel
  drew until 2026-11-29;
* the **follow-up sort** of ``n`` waiting appointments into five outcomes (both kinds in one call:
  about 3 per rep and week, ``benchmarks.draw_counts``): the kernel's ``funnel._follow_items`` against two 32-bit decisions per step and the four
  binomials of before;
* **marketing's stage**, its second binomial ``Bin(n, 0.2)`` with ``n`` about 60 (``n p`` about 12:
  ``rng._binomial`` inverts; the first, ``Bin(~180, 1/3)``, already draws by BTPE) against BTPE (``rng._binomial_btpe``, which ``_binomial`` uses from ``n p > 30``);
* **self-prospecting's Poisson** (``lam`` about 2): the kernel's inversion with ``exp(-lam)`` read
  from its action tables (``rng._poisson_small_exp``) against ``rng._poisson``, which computes it;
* ``lognormal`` deal values (Box-Muller: log, sqrt, cos, exp), for reference.

The alternatives but the old ones draw *different* streams, so adopting one changes every result
for a given seed (not the distributions, up to the 32-bit resolution where stated): a new stream
version, a decision for the kernel's owner. Nothing here is used by incentsim. (Until 2026-11-30 the
lab's "current" stage and follow-up steps were the binomials the kernel no longer draws, and it
offered one uniform per item, which the kernel had adopted, as the alternative.)
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

import incentsim  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)
from incentsim.kernels.funnel import _follow_items
from incentsim.kernels.rng import (
    _binomial,
    _binomial_btpe,
    _keep,
    _leave_advance,
    _lognormal,
    _poisson,
    _poisson_small_exp,
    _seed_stream,
    _step,
    _words,
    key_words,
    root_words,
)

_TWO32 = 4294967296.0
_LOW32 = np.uint64(0xFFFFFFFF)


def _states():
    st = np.empty((1, 4), dtype=np.uint64)
    _seed_stream(root_words(7), key_words(()), 0, 0, 0, st, 0)
    return st


@njit(cache=True, inline="always")
def _below32(p):
    """``u < p`` for a 32-bit uniform ``u = m / 2^32`` as ``m < ceil(p 2^32)`` (0 < p < 1)."""
    return np.uint64(math.ceil(p * _TWO32))


@njit(cache=True)
def _stage_kernel(st, ns, h, p):
    acc = 0
    for n in ns:
        if n == 0:
            continue
        leave, adv = _leave_advance(st, 0, n, h, p)
        acc += leave + 7 * adv
    return acc


@njit(cache=True)
def _stage_two_per_step(st, ns, h, p):
    """Two items per generator step, a 32-bit half each (an odd stock's last half unused)."""
    below_h = _below32(h)
    below_hp = _below32(h * p)
    acc = 0
    for n in ns:
        if n == 0:
            continue
        leave = 0
        adv = 0
        s0, s1, s2, s3 = _words(st, 0)
        for i in range((n + 1) // 2):
            x, s0, s1, s2, s3 = _step(s0, s1, s2, s3)
            hi = x >> np.uint64(32)
            lo = x & _LOW32
            second = 2 * i + 1 < n
            leave += hi < below_h
            adv += hi < below_hp
            leave += second & (lo < below_h)
            adv += second & (lo < below_hp)
        _keep(st, 0, s0, s1, s2, s3)
        acc += leave + 7 * adv
    return acc


@njit(cache=True)
def _stage_two_binomials(st, ns, h, p):
    acc = 0
    for n in ns:
        if n == 0:
            continue
        leave = _binomial(st, 0, n, h)
        adv = _binomial(st, 0, leave, p)
        acc += leave + 7 * adv
    return acc


@njit(cache=True)
def _follow_kernel(st, ns, f, d, w, r):
    acc = 0
    for n in ns:
        if n == 0:
            continue
        s0, s1, s2, s3 = _words(st, 0)
        wk, _, ig, rc, done, _, s0, s1, s2, s3 = _follow_items(s0, s1, s2, s3, n, n, f, d, w, r)
        _keep(st, 0, s0, s1, s2, s3)
        acc += wk + 3 * ig + 5 * rc + 11 * done
    return acc


@njit(cache=True)
def _follow_two_per_step(st, ns, f, d, w, r):
    """The follow-up sort with a 32-bit half per appointment, two per generator step."""
    p_work = f * w
    b_work = _below32(p_work)
    b_fol = _below32(f)
    b_cold = _below32(f + (1.0 - f) * d)
    span = (f - p_work) * r
    acc = 0
    for n in ns:
        if n == 0:
            continue
        wk = ig = rc = done = 0
        s0, s1, s2, s3 = _words(st, 0)
        for i in range((n + 1) // 2):
            x, s0, s1, s2, s3 = _step(s0, s1, s2, s3)
            for half in range(2):
                m = x >> np.uint64(32) if half == 0 else x & _LOW32
                real = 2 * i + half < n
                worked = real & (m < b_work)
                ignored = real & (m < b_fol) & (not (m < b_work))
                wk += worked
                ig += ignored
                rc += ignored & (float(m) / _TWO32 - p_work < span)
                done += real & (m < b_cold)
        _keep(st, 0, s0, s1, s2, s3)
        acc += wk + 3 * ig + 5 * rc + 11 * done
    return acc


@njit(cache=True)
def _follow_four_binomials(st, ns, f, d, w, r):
    acc = 0
    for n in ns:
        if n == 0:
            continue
        fol = _binomial(st, 0, n, f)
        rest = n - fol
        cold = _binomial(st, 0, rest, d)
        wk = _binomial(st, 0, fol, w)
        ig = fol - wk
        rec = _binomial(st, 0, ig, r)
        acc += wk + 3 * ig + 5 * rec + 11 * (fol + cold)
    return acc


@njit(cache=True)
def _binomial_loop(st, ns, p):
    acc = 0
    for n in ns:
        acc += _binomial(st, 0, n, p)
    return acc


@njit(cache=True)
def _btpe_loop(st, ns, p):
    acc = 0
    for n in ns:
        acc += _binomial_btpe(st, 0, n, p)
    return acc


@njit(cache=True)
def _poisson_exp_loop(st, lams, emls):
    acc = 0
    for i in range(lams.shape[0]):
        acc += _poisson_small_exp(st, 0, lams[i], emls[i])
    return acc


@njit(cache=True)
def _poisson_loop(st, lams):
    acc = 0
    for lam in lams:
        acc += _poisson(st, 0, lam)
    return acc


@njit(cache=True)
def _lognormal_loop(st, k, mu, sigma):
    acc = 0.0
    for _ in range(k):
        acc += _lognormal(st, 0, mu, sigma)
    return acc


def _best(fn, *args, repeat: int = 5) -> float:
    fn(_states(), *args)  # compile / load
    best = float("inf")
    for _ in range(repeat):
        st = _states()
        t = time.perf_counter()
        fn(st, *args)
        best = min(best, time.perf_counter() - t)
    return best


def run(calls: int = 1_000_000, repeat: int = 5) -> dict[str, dict[str, float]]:
    """Time each draw and its alternatives; ns per call, best of ``repeat``, one thread.

    Returns
    -------
    dict
        ``{case: {variant: ns_per_call, ...}, ...}``.
    """
    from numba import get_num_threads, set_num_threads

    g = np.random.default_rng(0)
    stage_n = g.poisson(2.7, calls).astype(np.int64)  # sales-stage stock per rep (kernel mean 2.7)
    queue_n = g.poisson(2.9, calls).astype(np.int64)  # follow-up queue per rep, both kinds (mean 2.9)
    mkt_n = g.poisson(60.0, calls).astype(np.int64)  # marketing's last stage leaving in a week
    lams = g.uniform(1.5, 2.5, calls)  # self-prospecting rate per rep-week (mean 2.0)
    emls = np.array([math.exp(-v) for v in lams])
    follow = (0.5, 0.05, 0.95, 0.5)  # hazard, decay, work share, recycling (the bundled scenario's)
    before = get_num_threads()
    set_num_threads(1)
    try:
        out = {
            "stage step (leave, advance) n~Poisson(2.7), h=0.25, p=0.5": {
                "current (rng._leave_advance)": _best(_stage_kernel, stage_n, 0.25, 0.5, repeat=repeat),
                "two 32-bit decisions per step": _best(_stage_two_per_step, stage_n, 0.25, 0.5, repeat=repeat),
                "two binomials (until 2026-11-29)": _best(_stage_two_binomials, stage_n, 0.25, 0.5, repeat=repeat),
            },
            "follow-up sort n~Poisson(2.9)": {
                "current (funnel._follow_items)": _best(_follow_kernel, queue_n, *follow, repeat=repeat),
                "two 32-bit decisions per step": _best(_follow_two_per_step, queue_n, *follow, repeat=repeat),
                "four binomials (until 2026-11-29)": _best(_follow_four_binomials, queue_n, *follow, repeat=repeat),
            },
            "marketing's stage, second binomial Bin(n~Poisson(60), 0.2)": {
                "current (rng._binomial: inversion)": _best(_binomial_loop, mkt_n, 0.2, repeat=repeat),
                "BTPE (rng._binomial_btpe)": _best(_btpe_loop, mkt_n, 0.2, repeat=repeat),
            },
            "poisson lam~U(1.5, 2.5)": {
                "current (rng._poisson_small_exp)": _best(_poisson_exp_loop, lams, emls, repeat=repeat),
                "rng._poisson (exp(-lam) computed)": _best(_poisson_loop, lams, repeat=repeat),
            },
            "lognormal": {
                "current (Box-Muller, no pair cache)": _best(_lognormal_loop, calls, 9.2, 0.7, repeat=repeat)
            },
        }
    finally:
        set_num_threads(before)
    return {case: {k: v / calls * 1e9 for k, v in d.items()} for case, d in out.items()}


def main() -> None:
    """Print the table."""
    res = run()
    for case, variants in res.items():
        print(case)
        base = next(iter(variants.values()))
        for name, ns in variants.items():
            print(f"  {name:42s} {ns:7.1f} ns/call  ({base / ns:4.1f}x)")


if __name__ == "__main__":
    main()
