"""What cheaper draws would buy: the kernel's commonest draws, timed against alternatives.

``python -m benchmarks.samplers_lab`` times, on one thread, per call (ns), with the parameters the
kernel really sees (small counts: a sales stage holds about 2-3 deals per rep, the follow-up queue
about 2 appointments; from :mod:`benchmarks.draw_counts`):

* ``binomial``: our ``rng._binomial`` as it is now, plain inversion (``rng._binomial_inversion``:
  a log, an exp and a sqrt per call), inversion with ``log(1 - p)`` precomputed per call site
  and no sqrt guard, and summing ``n`` Bernoulli uniforms;
* a **stage step** (``leave ~ Bin(n, h)``, then ``adv ~ Bin(leave, p)``: two binomials, as the
  kernel does per stage, source and rep each week), against one uniform per item sorted into
  stay / advance / lost (the same joint distribution: a multinomial with probabilities
  ``1 - h``, ``h p``, ``h (1 - p)``);
* the **follow-up step** of one queue kind (follow ``Bin(n, f)``, cold ``Bin(rest, d)``, worked
  ``Bin(followed, w)``, recycled ``Bin(ignored, r)``: four binomials) against one uniform per item;
* ``poisson``: our inversion against inversion with ``exp(-lam)`` given (tabulated);
* ``lognormal`` (Box-Muller: log, sqrt, cos, exp), for reference.

The alternatives draw *different* streams (per-item uniforms instead of one inversion), so
adopting them changes every result for a given seed (not the distributions): a new stream
version, a decision for the kernel's owner. Nothing here is used by incentsim.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

import incentsim  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)
from incentsim.kernels.rng import (
    _binomial,
    _binomial_inversion,
    _lognormal,
    _poisson,
    _seed_stream,
    _uniform,
    key_words,
    root_words,
)


def _states():
    st = np.empty((1, 4), dtype=np.uint64)
    _seed_stream(root_words(7), key_words(()), 0, 0, 0, st, 0)
    return st


@njit(cache=True)
def _binom_current(st, ns, p):
    acc = 0
    for n in ns:
        acc += _binomial(st, 0, n, p)
    return acc


@njit(cache=True, inline="always")
def _binom_cached(st, n, p, logq):
    """Inversion with log(1 - p) precomputed (p <= 0.5, n p small); the search stops at n."""
    if n <= 0:
        return 0
    q = 1.0 - p
    px = math.exp(n * logq)
    u = _uniform(st, 0)
    x = 0
    r = p / q
    while u > px and x < n:
        u -= px
        x += 1
        px *= (n - x + 1) * r / x
    return x


@njit(cache=True)
def _binom_cached_loop(st, ns, p):
    logq = math.log(1.0 - p)
    acc = 0
    for n in ns:
        acc += _binom_cached(st, n, p, logq)
    return acc


@njit(cache=True)
def _binom_inversion_only(st, ns, p):
    acc = 0
    for n in ns:
        if n > 0:
            acc += _binomial_inversion(st, 0, n, p)
    return acc


@njit(cache=True)
def _binom_bernoulli(st, ns, p):
    acc = 0
    for n in ns:
        for _ in range(n):
            if _uniform(st, 0) < p:
                acc += 1
    return acc


@njit(cache=True)
def _stage_current(st, ns, h, p):
    acc = 0
    for n in ns:
        if n == 0:
            continue
        leave = _binomial(st, 0, n, h)
        adv = _binomial(st, 0, leave, p)
        acc += leave + 7 * adv
    return acc


@njit(cache=True)
def _stage_per_item(st, ns, h, p):
    hp = h * p
    acc = 0
    for n in ns:
        leave = 0
        adv = 0
        for _ in range(n):
            u = _uniform(st, 0)
            if u < h:
                leave += 1
                if u < hp:
                    adv += 1
        acc += leave + 7 * adv
    return acc


@njit(cache=True)
def _follow_current(st, ns, f, d, w, r):
    acc = 0
    for n in ns:
        fol = _binomial(st, 0, n, f)
        rest = n - fol
        cold = _binomial(st, 0, rest, d)
        wk = _binomial(st, 0, fol, w)
        rec = _binomial(st, 0, fol - wk, r)
        acc += fol + 3 * cold + 5 * wk + 11 * rec
    return acc


@njit(cache=True)
def _follow_per_item(st, ns, f, d, w, r):
    # One uniform per item: [0, f w) worked, [f w, f (w + (1-w) r)) ignored and recycled,
    # [.., f) ignored, [f, f + (1-f) d) cold, else waits.
    c_w = f * w
    c_r = c_w + f * (1.0 - w) * r
    c_cold = f + (1.0 - f) * d
    acc = 0
    for n in ns:
        fol = cold = wk = rec = 0
        for _ in range(n):
            u = _uniform(st, 0)
            if u < f:
                fol += 1
                if u < c_w:
                    wk += 1
                elif u < c_r:
                    rec += 1
            elif u < c_cold:
                cold += 1
        acc += fol + 3 * cold + 5 * wk + 11 * rec
    return acc


@njit(cache=True)
def _poisson_loop(st, lams):
    acc = 0
    for lam in lams:
        acc += _poisson(st, 0, lam)
    return acc


@njit(cache=True)
def _poisson_cached(st, lams, emls):
    """Inversion with exp(-lam) given (the kernel could tabulate it by ability, action and the
    number of ignored appointments) and the pmf updated by multiplication only."""
    acc = 0
    for i in range(lams.shape[0]):
        lam = lams[i]
        u = _uniform(st, 0)
        k = 0
        p = emls[i]
        c = p
        while u > c and k < 60:
            k += 1
            p *= lam / k
            c += p
        acc += k
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
    queue_n = g.poisson(2.1, calls).astype(np.int64)  # follow-up queue per rep and kind (mean 2.1)
    lams = g.uniform(1.5, 2.5, calls)  # self-prospecting rate per rep-week (mean 2.0)
    before = get_num_threads()
    set_num_threads(1)
    try:
        out = {
            "binomial n~Poisson(2.7), p=0.25": {
                "current (rng._binomial)": _best(_binom_current, stage_n, 0.25, repeat=repeat),
                "inversion only (rng._binomial_inversion)": _best(_binom_inversion_only, stage_n, 0.25, repeat=repeat),
                "inversion, log(1-p) cached": _best(_binom_cached_loop, stage_n, 0.25, repeat=repeat),
                "sum of n Bernoulli uniforms": _best(_binom_bernoulli, stage_n, 0.25, repeat=repeat),
            },
            "stage step (leave, advance) n~Poisson(2.7), h=0.25, p=0.5": {
                "current (2 binomials)": _best(_stage_current, stage_n, 0.25, 0.5, repeat=repeat),
                "one uniform per item": _best(_stage_per_item, stage_n, 0.25, 0.5, repeat=repeat),
            },
            "follow-up step (4 binomials) n~Poisson(2.1)": {
                "current (4 binomials)": _best(_follow_current, queue_n, 0.5, 0.05, 0.95, 0.5, repeat=repeat),
                "one uniform per item": _best(_follow_per_item, queue_n, 0.5, 0.05, 0.95, 0.5, repeat=repeat),
            },
            "poisson lam~U(1.5, 2.5)": {
                "current (rng._poisson)": _best(_poisson_loop, lams, repeat=repeat),
                "inversion, exp(-lam) given": _best(_poisson_cached, lams, np.exp(-lams), repeat=repeat),
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
            print(f"  {name:40s} {ns:7.1f} ns/call  ({base / ns:4.1f}x)")


if __name__ == "__main__":
    main()
