"""Random streams for the kernels: SeedSequence keys, xoshiro256** and samplers.

Randomness enters incentsim at one edge (docs/model/index.md, "Randomness"). A run has one root seed. Each random
*stream* is the numpy ``SeedSequence`` child with ``entropy=root`` and
``spawn_key=(*prefix, replication, purpose, agent)``; its state is computed inside the kernel
by a bit-exact port of ``SeedSequence.generate_state`` (tested against numpy), and drives a
xoshiro256** generator. So a stream depends only on its key, never on the thread, the chunk
or the worker that draws it: results are bit-identical whatever the thread count, and the
first N replications of a longer run equal a run of N.

The samplers (Poisson by inversion / PTRS, binomial by inversion / BTPE, normal by
Box-Muller) are our own so the streams stay fixed across numpy and numba upgrades; each has a
chi-square or KS test against scipy in ``tests/test_rng.py``.

All functions take ``(states, s)``: ``states`` is a ``(n_streams, 4)`` uint64 array and ``s``
the stream's row, advanced in place.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .jit import helper, inlined

# ---------------------------------------------------------------------------------------------
# SeedSequence (numpy.random.bit_generator) constants, 32-bit arithmetic done in uint64 + mask.
_M32 = np.uint64(0xFFFFFFFF)
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_MULT_L = np.uint64(0xCA01F9DD)
_MIX_MULT_R = np.uint64(0x4973F715)
_XSHIFT = np.uint64(16)
_POOL = 4

# Stream purposes: separate streams keep common random numbers aligned when a scheme changes
# how many draws of one kind a week needs (docs/model/index.md, "Randomness").
PURPOSE_ABILITY = 0
PURPOSE_ARRIVALS = 1
PURPOSE_CONVERSIONS = 2
PURPOSE_VALUES = 3
PURPOSE_TIMING = 4
PURPOSE_ALLOCATION = 5
N_PURPOSES = 6
_SMALL_N = 8  # binomials with at most this many trials are drawn as Bernoulli trials


def int_to_words(n: int) -> list[int]:
    """Split a non-negative integer into little-endian uint32 words, as numpy does.

    Parameters
    ----------
    n : int
        Non-negative integer (a seed or one element of a spawn key).

    Returns
    -------
    list of int
        ``[0]`` for zero, otherwise the 32-bit words, least significant first.
    """
    if n < 0:
        raise ValueError("seeds and keys must be non-negative")
    if n == 0:
        return [0]
    words = []
    while n > 0:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


def root_words(seed: int) -> np.ndarray:
    """Entropy words of a root seed, padded to the pool size as numpy pads before a spawn key.

    Parameters
    ----------
    seed : int
        Root seed (non-negative).

    Returns
    -------
    ndarray(uint64, ndim=1)
        At least 4 words, each < 2**32.
    """
    words = int_to_words(int(seed))
    words += [0] * max(0, _POOL - len(words))
    return np.asarray(words, dtype=np.uint64)


def key_words(key: tuple[int, ...]) -> np.ndarray:
    """Entropy words of a spawn-key prefix (for example ``(cell,)`` in a sweep).

    Parameters
    ----------
    key : tuple of int
        Spawn-key elements, each non-negative.

    Returns
    -------
    ndarray(uint64, ndim=1)
    """
    words: list[int] = []
    for k in key:
        words += int_to_words(int(k))
    return np.asarray(words, dtype=np.uint64)


@inlined
def _hashmix(value, hash_const):
    value = (value ^ hash_const) & _M32
    hash_const = (hash_const * _MULT_A) & _M32
    value = (value * hash_const) & _M32
    value ^= value >> _XSHIFT
    return value, hash_const


@inlined
def _mix(x, y):
    result = ((_MIX_MULT_L * x) - (_MIX_MULT_R * y)) & _M32
    result ^= result >> _XSHIFT
    return result


@njit(cache=True)
def _seed_stream(root, prefix, replication, purpose, agent, states, s):
    """Allocating convenience wrapper of :func:`_seed_stream_into` (see there)."""
    ent = np.empty(root.shape[0] + prefix.shape[0] + 3, dtype=np.uint64)
    pool = np.empty(_POOL, dtype=np.uint64)
    _seed_stream_into(root, prefix, replication, purpose, agent, states, s, ent, pool)


@helper
def _seed_stream_into(root, prefix, replication, purpose, agent, states, s, ent, pool):
    """Write the state of stream ``(root, *prefix, replication, purpose, agent)`` into row ``s``.

    Bit-exact with ``SeedSequence(root, spawn_key=(*prefix, replication, purpose, agent))
    .generate_state(4, np.uint64)`` for key elements below 2**32.

    Parameters
    ----------
    root : ndarray(uint64, ndim=1)
        Root entropy words from :func:`root_words`.
    prefix : ndarray(uint64, ndim=1)
        Spawn-key prefix words from :func:`key_words` (may be empty).
    replication, purpose, agent : int
        Remaining spawn-key elements, each in ``[0, 2**32)``.
    states : ndarray(uint64, ndim=2)
        ``(n_streams, 4)`` generator states; row ``s`` is overwritten.
    s : int
        Row to write.
    ent, pool : ndarray(uint64, ndim=1)
        Scratch of lengths ``len(root) + len(prefix) + 3`` and 4 (so seeding allocates nothing).
    """
    n_root = root.shape[0]
    n_prefix = prefix.shape[0]
    n_ent = n_root + n_prefix + 3
    for i in range(n_root):
        ent[i] = root[i]
    for i in range(n_prefix):
        ent[n_root + i] = prefix[i]
    ent[n_root + n_prefix] = np.uint64(replication)
    ent[n_root + n_prefix + 1] = np.uint64(purpose)
    ent[n_root + n_prefix + 2] = np.uint64(agent)

    hc = _INIT_A
    for i in range(_POOL):
        v = ent[i] if i < n_ent else np.uint64(0)
        pool[i], hc = _hashmix(v, hc)
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                h, hc = _hashmix(pool[i_src], hc)
                pool[i_dst] = _mix(pool[i_dst], h)
    for i_src in range(_POOL, n_ent):
        for i_dst in range(_POOL):
            h, hc = _hashmix(ent[i_src], hc)
            pool[i_dst] = _mix(pool[i_dst], h)

    # generate_state(4, uint64): 8 uint32 words, paired little-endian.
    hb = _INIT_B
    for j in range(4):
        lo = np.uint64(0)
        hi = np.uint64(0)
        for half in range(2):
            d = pool[(2 * j + half) % _POOL]
            d = (d ^ hb) & _M32
            hb = (hb * _MULT_B) & _M32
            d = (d * hb) & _M32
            d ^= d >> _XSHIFT
            if half == 0:
                lo = d
            else:
                hi = d
        states[s, j] = lo | (hi << np.uint64(32))


# ---------------------------------------------------------------------------------------------
# xoshiro256** (Blackman & Vigna); uniforms from the top 53 bits.


@inlined
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@inlined
def _step(s0, s1, s2, s3):
    """One step of xoshiro256** (Blackman & Vigna) on the state words: ``(output, s0, s1, s2, s3)``.

    The generator, written once: :func:`_next_u64` steps a stream held in the ``states`` array; a
    sampler that draws several uniforms from one stream in a loop loads its words once
    (:func:`_words`), steps them in registers and stores them back (:func:`_keep`): the same
    numbers, without a load and a store of four words per draw (a stage's step of a few items:
    25-35 % faster, ``benchmarks.samplers_lab``).
    """
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@inlined
def _words(states, s):
    """Stream ``s``'s four state words (to step in registers with :func:`_step`)."""
    return states[s, 0], states[s, 1], states[s, 2], states[s, 3]


@inlined
def _keep(states, s, s0, s1, s2, s3):
    """Store stream ``s``'s state words back after stepping them with :func:`_step`."""
    states[s, 0] = s0
    states[s, 1] = s1
    states[s, 2] = s2
    states[s, 3] = s3


@inlined
def _next_u64(states, s):
    result, s0, s1, s2, s3 = _step(states[s, 0], states[s, 1], states[s, 2], states[s, 3])
    _keep(states, s, s0, s1, s2, s3)
    return result


#: 2**53: a uniform is the top 53 bits of a generator output over this.
_TWO53 = 9007199254740992


@inlined
def _top53(x):
    """The top 53 bits of a 64-bit output, of which :func:`_unit` makes its uniform (and which
    :func:`_below` compares as an integer)."""
    return x >> np.uint64(11)


@inlined
def _unit(x):
    """Uniform on [0, 1) from the top 53 bits of a 64-bit output."""
    return float(_top53(x)) * (1.0 / _TWO53)


@inlined
def _below(p):
    """The integer comparison of :func:`_unit`'s 53 bits that decides ``u < p``: with
    ``m = _top53(x)`` (so ``u = m / 2**53``), ``u < p`` exactly when ``m < _below(p)``, as ``m`` is
    an integer and ``p * 2**53`` is exact (a power-of-two scaling), and ``m < y`` for real ``y`` is
    ``m < ceil(y)``; below 0 and for NaN never, from 1 on always, as the float comparison decides
    (a float beyond the integer's range would convert to nothing defined). A per-item comparison
    then waits for neither the conversion of ``m`` to a float nor the scaling (the stage's and
    follow-up's steps: one uniform per item, ``python -m benchmarks.kernel_ab``); the decisions,
    and so the draws, are the same."""
    if not p > 0.0:
        return np.uint64(0)
    if p >= 1.0:
        return np.uint64(_TWO53)
    return np.uint64(math.ceil(p * float(_TWO53)))


@inlined
def _uniform(states, s):
    """Uniform on [0, 1) with 53 random bits."""
    return _unit(_next_u64(states, s))


@helper
def _normal(states, s):
    """Standard normal by Box-Muller (one variate per two uniforms; no cached pair, so the
    number of uniforms consumed per call is fixed)."""
    u1 = 1.0 - _uniform(states, s)  # (0, 1]
    u2 = _uniform(states, s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@helper
def _lognormal(states, s, mu, sigma):
    """Lognormal with log-mean ``mu`` and log-sd ``sigma``."""
    if sigma == 0.0:
        return math.exp(mu)
    return math.exp(mu + sigma * _normal(states, s))


@helper
def _loggam(x):
    """log Gamma(x) for x > 0 (Stirling series with upward shift, as numpy's random_loggam)."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = 0
    if x < 7.0:
        n = int(7 - x)
    x0 = x + n
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = -1.39243221690590e00
    gl0 = gl0 * x2 + 1.796443723688307e-01
    gl0 = gl0 * x2 - 2.955065359477124e-02
    gl0 = gl0 * x2 + 6.410256410256410e-03
    gl0 = gl0 * x2 - 1.917526917526918e-03
    gl0 = gl0 * x2 + 8.417508417508418e-04
    gl0 = gl0 * x2 - 5.952380952380952e-04
    gl0 = gl0 * x2 + 7.936507936507937e-04
    gl0 = gl0 * x2 - 2.777777777777778e-03
    gl0 = gl0 * x2 + 8.333333333333333e-02
    gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * math.log(x0) - x0
    if x < 7.0:
        for _ in range(n):
            x0 -= 1.0
            gl -= math.log(x0)
    return gl


@helper
def _poisson(states, s, lam):
    """Poisson(lam): sequential inversion below 10, PTRS (Hörmann 1993) above.

    Returns 0 without drawing when ``lam <= 0``.
    """
    if lam <= 0.0:
        return 0
    if lam >= 10.0:
        return _poisson_ptrs(states, s, lam)
    return _poisson_small(states, s, lam)


@helper
def _poisson_small(states, s, lam):
    """Poisson by sequential inversion (one uniform), for 0 < lam < 10."""
    return _poisson_small_exp(states, s, lam, math.exp(-lam))


@helper
def _poisson_small_exp(states, s, lam, exp_neg_lam):
    """Poisson by sequential inversion with ``exp(-lam)`` given (from a table), 0 < lam < 10."""
    if lam <= 0.0:
        return 0
    u = _uniform(states, s)
    k = 0
    p = exp_neg_lam
    c = p
    while u > c:
        k += 1
        p *= lam / k
        c += p
        if p < 1e-300 and k > lam:
            break
    return k


@helper
def _poisson_ptrs(states, s, lam):
    """Poisson by PTRS (Hörmann 1993), for lam >= 10."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = _uniform(states, s) - 0.5
        v = _uniform(states, s)
        us = 0.5 - abs(u)
        k = int(math.floor((2.0 * a / us + b) * u + lam + 0.43))
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (-lam + k * loglam - _loggam(k + 1.0)):
            return k


@helper
def _binomial_inversion(states, s, n, p):
    """Binomial(n, p) by inversion (BINV), for n*p small; p <= 0.5."""
    q = 1.0 - p
    qn = math.exp(n * math.log(q))
    np_ = n * p
    bound = min(float(n), np_ + 10.0 * math.sqrt(np_ * q + 1.0))
    x = 0
    px = qn
    u = _uniform(states, s)
    while u > px:
        x += 1
        if x > bound:
            x = 0
            px = qn
            u = _uniform(states, s)
        else:
            u -= px
            px = ((n - x + 1) * p * px) / (x * q)
    return x


@helper
def _binomial_btpe(states, s, n, r):
    """Binomial(n, r) by BTPE (Kachitvichyanukul & Schmeiser 1988); r <= 0.5, n*r > 30."""
    q = 1.0 - r
    fm = n * r + r
    m = int(math.floor(fm))
    p1 = math.floor(2.195 * math.sqrt(n * r * q) - 4.6 * q) + 0.5
    xm = m + 0.5
    xl = xm - p1
    xr = xm + p1
    c = 0.134 + 20.5 / (15.3 + m)
    a = (fm - xl) / (fm - xl * r)
    laml = a * (1.0 + a / 2.0)
    a = (xr - fm) / (xr * q)
    lamr = a * (1.0 + a / 2.0)
    p2 = p1 * (1.0 + 2.0 * c)
    p3 = p2 + c / laml
    p4 = p3 + c / lamr
    nrq = n * r * q
    while True:
        u = _uniform(states, s) * p4
        v = _uniform(states, s)
        if u <= p1:
            # Triangular region: accept at once.
            return int(math.floor(xm - p1 * v + u))
        if u <= p2:
            x = xl + (u - p1) / c
            v = v * c + 1.0 - abs(m - x + 0.5) / p1
            if v > 1.0:
                continue
            y = int(math.floor(x))
        elif u <= p3:
            y = int(math.floor(xl + math.log(v) / laml))
            if y < 0 or v == 0.0:
                continue
            v = v * (u - p2) * laml
        else:
            y = int(math.floor(xr - math.log(v) / lamr))
            if y > n or v == 0.0:
                continue
            v = v * (u - p3) * lamr
        k = abs(y - m)
        if k <= 20 or k >= nrq / 2.0 - 1.0:
            # Explicit evaluation of f(y)/f(m) by recursion.
            ss = r / q
            aa = ss * (n + 1)
            f = 1.0
            if m < y:
                for i in range(m + 1, y + 1):
                    f *= aa / i - ss
            elif m > y:
                for i in range(y + 1, m + 1):
                    f /= aa / i - ss
            if v <= f:
                return y
            continue
        # Squeeze on log f using the normal approximation, then Stirling's formula.
        rho = (k / nrq) * ((k * (k / 3.0 + 0.625) + 0.16666666666666666) / nrq + 0.5)
        t = -k * k / (2.0 * nrq)
        alog = math.log(v)
        if alog < t - rho:
            return y
        if alog > t + rho:
            continue
        x1 = y + 1.0
        f1 = m + 1.0
        z = n + 1.0 - m
        w = n - y + 1.0
        x2 = x1 * x1
        f2 = f1 * f1
        z2 = z * z
        w2 = w * w
        bound = (
            xm * math.log(f1 / x1)
            + (n - m + 0.5) * math.log(z / w)
            + (y - m) * math.log(w * r / (x1 * q))
            + (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / f2) / f2) / f2) / f2) / f1 / 166320.0
            + (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / z2) / z2) / z2) / z2) / z / 166320.0
            - (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / x2) / x2) / x2) / x2) / x1 / 166320.0
            - (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / w2) / w2) / w2) / w2) / w / 166320.0
        )
        if alog <= bound:
            return y


@helper
def _binomial(states, s, n, p):
    """Binomial(n, p) for integer n >= 0 and p in [0, 1].

    Draws nothing when ``n == 0`` or ``p`` is 0 or 1 (so an empty stage costs no variates).
    Counts Bernoulli trials for ``n <= 8``; otherwise uses the symmetry ``min(p, 1 - p)``, with
    inversion when ``n * min(p, 1-p) <= 30`` and BTPE above.
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n <= _SMALL_N:
        # Counting Bernoulli successes: a few uniforms are cheaper than inversion's log and exp,
        # and most stage stocks per rep are small.
        k = 0
        below = _below(p)
        s0, s1, s2, s3 = _words(states, s)
        for _ in range(n):
            x, s0, s1, s2, s3 = _step(s0, s1, s2, s3)
            k += _top53(x) < below  # u < p
        _keep(states, s, s0, s1, s2, s3)
        return k
    if p <= 0.5:
        if n * p <= 30.0:
            return _binomial_inversion(states, s, n, p)
        return _binomial_btpe(states, s, n, p)
    q = 1.0 - p
    if n * q <= 30.0:
        return n - _binomial_inversion(states, s, n, q)
    return n - _binomial_btpe(states, s, n, q)


@helper
def _leave_advance(states, s, n, h, p):
    """One week of a funnel stage holding ``n`` items: ``(leave, advance)`` with ``leave ~ Bin(n, h)``
    and ``advance ~ Bin(leave, p)``.

    For a small stock (``n <= 8``, the usual case per rep) one uniform per item sorts it into
    advance (``u < h p``), lost (``u < h``) or stay: the same joint distribution (a multinomial)
    with half the variates of two binomials. Otherwise, or at the boundaries (``h`` or ``p`` 0 or
    1, where a binomial draws nothing), the two binomials.
    """
    if n <= _SMALL_N and 0.0 < h < 1.0 and 0.0 < p < 1.0:
        leave = 0
        adv = 0
        below_hp = _below(h * p)
        below_h = _below(h)
        s0, s1, s2, s3 = _words(states, s)
        for _ in range(n):
            x, s0, s1, s2, s3 = _step(s0, s1, s2, s3)
            m = _top53(x)
            # Counted without branches: which way an item goes is a coin toss, and a mispredicted
            # branch costs more than the comparisons.
            adv += m < below_hp  # u < h p
            leave += m < below_h  # u < h
        _keep(states, s, s0, s1, s2, s3)
        return leave, adv
    leave = _binomial(states, s, n, h)
    return leave, _binomial(states, s, leave, p)


# ---------------------------------------------------------------------------------------------
# Thin array-level drivers, used by tests (and benchmarks) to check samplers against scipy.


@njit(cache=True)
def _draw_one(kind, states, s, a, b):
    """One draw of ``kind`` (as :func:`_sample_array`) from stream ``s`` of ``states``, for Python
    callers (the samplers themselves have no Python entry point, ``kernels.jit``). Counts are
    returned as floats (exact)."""
    if kind == 0:
        return _uniform(states, s)
    if kind == 1:
        return _normal(states, s)
    if kind == 2:
        return float(_poisson(states, s, a))
    if kind == 3:
        return float(_binomial(states, s, int(a), b))
    return _lognormal(states, s, a, b)


@njit(cache=True)
def _sample_array(kind, root, prefix, replication, param1, param2, out):
    """Fill ``out`` with draws of one kind from stream ``(root, *prefix, replication, 0, 0)``.

    ``kind``: 0 uniform, 1 normal, 2 poisson(param1), 3 binomial(int(param1), param2),
    4 lognormal(param1, param2), 5 raw uint64 (as float bits are lost, stored via view by caller).
    """
    states = np.empty((1, 4), dtype=np.uint64)
    _seed_stream(root, prefix, replication, 0, 0, states, 0)
    for i in range(out.shape[0]):
        out[i] = _draw_one(kind, states, 0, param1, param2)


@njit(cache=True)
def _stream_states(root, prefix, replication, purpose, agent, out):
    """Write the 4-word state of one stream into ``out`` (shape (1, 4)); for tests."""
    _seed_stream(root, prefix, replication, purpose, agent, out, 0)


@njit(cache=True)
def _raw_u64(root, prefix, replication, out):
    """Fill uint64 ``out`` with raw xoshiro256** outputs of stream ``(.., replication, 0, 0)``."""
    states = np.empty((1, 4), dtype=np.uint64)
    _seed_stream(root, prefix, replication, 0, 0, states, 0)
    for i in range(out.shape[0]):
        out[i] = _next_u64(states, 0)
