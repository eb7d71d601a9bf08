"""The random-number bound: draw what the kernel draws, and nothing else.

A numba function that, per replication, seeds the same number of xoshiro256** streams as the
kernel (``rng._seed_stream``, keyed by numpy ``SeedSequence`` children) and draws, call site by
call site, the same number of uniform / Poisson / binomial / lognormal variates with the same
parameters (a stratified sample of the parameters the kernel really used), spread evenly over the
weeks (each draw's parameters picked at random from that sample), with our own samplers
(``incentsim.kernels.rng``) and no bookkeeping: no pipeline state,
no policy look-ups, no pay. Its time is the floor for this workload with these samplers; the
kernel's time over it is what bookkeeping costs.

The counts and parameters come from :mod:`benchmarks.draw_counts` (the real kernel run in Python
with counting samplers).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

import incentsim  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)
from incentsim.kernels import rng as _rng
from incentsim.kernels.funnel import _follow_items
from incentsim.kernels.rng import (
    N_PURPOSES,
    _binomial,
    _keep,
    _leave_advance,
    _lognormal,
    _normal,
    _poisson,
    _poisson_small_exp,
    _seed_stream,
    _uniform,
    _words,
    key_words,
    root_words,
)

if hasattr(_rng, "_seed_stream_into"):
    _seed_stream_into = _rng._seed_stream_into

    @njit(cache=True, inline="always")
    def _seed(root, prefix, rep, purpose, agent, states, row, ent, pool):
        _seed_stream_into(root, prefix, rep, purpose, agent, states, row, ent, pool)

else:

    @njit(cache=True, inline="always")
    def _seed(root, prefix, rep, purpose, agent, states, row, ent, pool):
        _seed_stream(root, prefix, rep, purpose, agent, states, row)


KIND_UNIFORM = 0
KIND_POISSON = 1
KIND_BINOMIAL = 2
KIND_LOGNORMAL = 3
KIND_LEAVE_ADVANCE = 5
KIND_POISSON_EXP = 6  # Poisson with exp(-lam) given, as the kernel's self-prospecting draws it
KIND_FOLLOW_ITEMS = 7  # the follow-up's sort of n waiting appointments into five outcomes
#: Parameters per draw (the follow-up's sort has five; the other kinds pad with zeros).
N_PARAMS = 5
_KINDS = {
    "follow_items": KIND_FOLLOW_ITEMS,
    "poisson_exp": KIND_POISSON_EXP,
    "uniform": KIND_UNIFORM,
    "poisson": KIND_POISSON,
    "binomial": KIND_BINOMIAL,
    "lognormal": KIND_LOGNORMAL,
    "leave_advance": KIND_LEAVE_ADVANCE,
}


class DrawPlan(NamedTuple):
    """Per call site of the kernel: what to draw per replication (arrays of length S)."""

    kind: np.ndarray  # (S,) int64, KIND_*
    stream: np.ndarray  # (S,) int64 row of the stream the kernel draws from
    count: np.ndarray  # (S,) float64 drawing calls per replication (mean)
    weekly: np.ndarray  # (S,) int64 1: spread over the weeks; 0: once at the start of a replication
    # (S, Q, N_PARAMS) float64 parameters, zero-padded: (n, p), (lam), (lam, exp(-lam)), (mu, sigma),
    # (n, h, p) or (n, h, work, decay, recycle)
    params: np.ndarray
    n_params: np.ndarray  # (S,) int64 valid rows of params
    section: tuple  # (S,) kernel section of each site (labels, not passed to numba)
    seed_rows: np.ndarray  # (T,) int64 stream rows the kernel seeds per replication
    n_streams: int  # rows of the state array (max row + 1)
    n_weeks: int


def plan_from_counts(counts: dict) -> DrawPlan:
    """Build a :class:`DrawPlan` from a :func:`benchmarks.draw_counts.count` summary."""
    sites = [s for s in counts["sites"] if s["kind"] != "seed" and s["drawing_calls"] > 0]
    seed_rows = counts.get("seed_rows") or list(range(int(round(counts["streams_per_replication"]))))
    plan_stream_max = max(s["stream"] for s in sites)
    q = max(len(s["param_sample"]) for s in sites)
    params = np.zeros((len(sites), q, N_PARAMS))
    n_params = np.zeros(len(sites), np.int64)
    for i, s in enumerate(sites):
        p = np.asarray(s["param_sample"], dtype=float)
        params[i, : len(p), : p.shape[1]] = p
        n_params[i] = len(p)
    return DrawPlan(
        kind=np.array([_KINDS[s["kind"]] for s in sites], np.int64),
        stream=np.array([s["stream"] for s in sites], np.int64),
        count=np.array([s["per_replication"] for s in sites], np.float64),
        weekly=np.array([0 if s["section"].startswith("start") else 1 for s in sites], np.int64),
        params=params,
        n_params=n_params,
        section=tuple(s["section"] for s in sites),
        seed_rows=np.asarray(seed_rows, np.int64),
        n_streams=int(max(max(seed_rows) + 1, int(plan_stream_max) + 1)),
        n_weeks=int(counts["weeks"]),
    )


@njit(cache=True, inline="always")
def _draw(states, s, kind, a, b, c, d, e):
    if kind == 5:  # a stage's week: (leave, advance) of n items with hazard b, advance chance c
        leave, adv = _leave_advance(states, s, int(a), b, c)
        return float(leave + adv)
    if kind == 7:  # the follow-up's sort: n items, hazard b, work share c, decay d, recycling e
        s0, s1, s2, s3 = _words(states, s)
        wk, _, ig, rc, done, _, s0, s1, s2, s3 = _follow_items(s0, s1, s2, s3, int(a), int(a), b, d, c, e)
        _keep(states, s, s0, s1, s2, s3)
        return float(wk + ig + rc + done)
    if kind == 0:
        return _uniform(states, s)
    if kind == 6:
        return float(_poisson_small_exp(states, s, a, b))
    if kind == 1:
        return float(_poisson(states, s, a))
    if kind == 2:
        return float(_binomial(states, s, int(a), b))
    if kind == 3:
        return _lognormal(states, s, a, b)
    return _normal(states, s)


@njit(cache=True, parallel=True)
def _draws_only(
    root,
    prefix,
    first_rep,
    kind,
    stream,
    count,
    weekly,
    params,
    n_params,
    active,
    seed_rows,
    n_streams,
    n_weeks,
    out,
):
    """Seed ``n_streams`` streams per replication and draw each active site's variates; ``out[i]``
    gets the sum of replication ``i``'s draws (so nothing is optimised away).

    Each draw takes one of its site's parameter sets at random (a cheap LCG, not the streams, and a
    multiply-shift into the sample rather than a division: the whole bound 2-4 % faster), so the
    samplers' data-dependent branches are as unpredictable as in the kernel, where the parameters
    (stage stocks) change at random from call to call.
    """
    n = out.shape[0]
    S = kind.shape[0]
    for i in prange(n):
        pick = np.uint64(first_rep + i) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
        states = np.zeros((n_streams, 4), dtype=np.uint64)
        ent = np.empty(root.shape[0] + prefix.shape[0] + 3, dtype=np.uint64)
        pool = np.empty(4, dtype=np.uint64)
        for row in seed_rows:
            _seed(root, prefix, first_rep + i, row % N_PURPOSES, row // N_PURPOSES, states, row, ent, pool)
        acc = 0.0
        for k in range(S):
            if active[k] == 1 and weekly[k] == 0:
                for _ in range(int(count[k])):
                    pick = pick * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
                    q = int(((pick >> np.uint64(33)) * np.uint64(n_params[k])) >> np.uint64(31))
                    p = params[k, q]
                    acc += _draw(states, stream[k], kind[k], p[0], p[1], p[2], p[3], p[4])
        for w in range(n_weeks):
            for k in range(S):
                if active[k] == 0 or weekly[k] == 0:
                    continue
                lo = int(count[k] * w / n_weeks)
                hi = int(count[k] * (w + 1) / n_weeks)
                for _ in range(lo, hi):
                    pick = pick * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
                    q = int(((pick >> np.uint64(33)) * np.uint64(n_params[k])) >> np.uint64(31))
                    p = params[k, q]
                    acc += _draw(states, stream[k], kind[k], p[0], p[1], p[2], p[3], p[4])
        out[i] = acc


def run_bound(plan: DrawPlan, replications: int, seed: int = 1, active: np.ndarray | None = None) -> np.ndarray:
    """Run the draws-only function once over ``replications`` replications.

    Parameters
    ----------
    plan : DrawPlan
    replications : int
    seed : int
        Root seed of the streams.
    active : ndarray(int64, (S,)), optional
        1 for the sites to draw (default: all); all zeros times the stream seeding alone.

    Returns
    -------
    ndarray(float64, (replications,))
        Sum of each replication's draws.
    """
    if active is None:
        active = np.ones(plan.kind.shape[0], np.int64)
    out = np.zeros(int(replications))
    _draws_only(
        root_words(seed),
        key_words(()),
        0,
        plan.kind,
        plan.stream,
        plan.count,
        plan.weekly,
        plan.params,
        plan.n_params,
        np.asarray(active, np.int64),
        plan.seed_rows,
        plan.n_streams,
        plan.n_weeks,
        out,
    )
    return out


def time_bound(
    plan: DrawPlan,
    replications: int,
    repeat: int = 3,
    threads: int | None = None,
    active: np.ndarray | None = None,
):
    """Best-of-``repeat`` time of :func:`run_bound` after a warm-up call (that compiles or loads it).

    Returns
    -------
    benchmarks.harness.Timing
    """
    from .harness import threads as n_threads
    from .harness import timed

    with n_threads(threads):
        run_bound(plan, 8, active=active)
        timing, _ = timed(lambda: run_bound(plan, replications, active=active), repeat=repeat, warmup=False)
    return timing
