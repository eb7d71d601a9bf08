"""Random streams: bit-exact SeedSequence port, xoshiro reference vector, samplers vs scipy.

Tier: exact checks (seeding, generator) and statistical checks of each sampler (chi-square or
KS against scipy; seed, N and significance level stated per test).
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from incentsim.kernels import rng


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 7, 2**70 + 3])
@pytest.mark.parametrize("prefix", [(), (3,), (2**33, 1)])
def test_stream_state_equals_numpy_seedsequence(seed, prefix):
    out = np.zeros((1, 4), np.uint64)
    for rep, purpose, agent in [(0, 0, 0), (1, 2, 3), (99999, 5, 8), (2**31, 1, 0)]:
        rng._stream_states(rng.root_words(seed), rng.key_words(prefix), rep, purpose, agent, out)
        ref = np.random.SeedSequence(seed, spawn_key=prefix + (rep, purpose, agent)).generate_state(4, np.uint64)
        assert (out[0] == ref).all()


@njit
def _xoshiro(states, n, out):
    for i in range(n):
        out[i] = rng._next_u64(states, 0)


def test_xoshiro256starstar_reference_vector():
    # Reference outputs of xoshiro256** from state {1, 2, 3, 4} (Blackman & Vigna's C code).
    states = np.array([[1, 2, 3, 4]], np.uint64)
    out = np.zeros(4, np.uint64)
    _xoshiro(states, 4, out)
    assert out.tolist() == [11520, 0, 1509978240, 1215971899390074240]


def _draw(kind, n, p1=0.0, p2=0.0, rep=0):
    out = np.zeros(n)
    rng._sample_array(kind, rng.root_words(2024), rng.key_words(()), rep, p1, p2, out)
    return out


def _chi2_pvalue(sample, pmf, support):
    counts = np.array([(sample == k).sum() for k in support], dtype=float)
    expected = pmf(support) * sample.size
    # Merge cells with small expectation into their neighbours (tail cells last).
    keep = expected >= 5
    obs = np.append(counts[keep], sample.size - counts[keep].sum())
    exp = np.append(expected[keep], sample.size - expected[keep].sum())
    if exp[-1] < 5:
        obs[-2] += obs[-1]
        exp[-2] += exp[-1]
        obs, exp = obs[:-1], exp[:-1]
    return stats.chisquare(obs, exp).pvalue


# N = 200,000 draws each; a correct sampler fails one of these at alpha = 1e-4 with tiny chance.
@pytest.mark.parametrize("n,p", [(1, 0.3), (7, 0.1), (20, 0.5), (50, 0.9), (200, 0.3), (1000, 0.05), (5000, 0.5)])
def test_binomial_matches_scipy(n, p):
    x = _draw(3, 200_000, n, p)
    support = np.arange(0, n + 1)
    assert _chi2_pvalue(x, lambda k: stats.binom.pmf(k, n, p), support) > 1e-4
    assert abs(x.mean() - n * p) < 5 * np.sqrt(n * p * (1 - p) / x.size)


@pytest.mark.parametrize("lam", [0.05, 0.8, 3.0, 9.9, 10.0, 25.0, 300.0])
def test_poisson_matches_scipy(lam):
    x = _draw(2, 200_000, lam)
    support = np.arange(0, int(lam + 12 * np.sqrt(lam) + 12))
    assert _chi2_pvalue(x, lambda k: stats.poisson.pmf(k, lam), support) > 1e-4


def test_normal_and_lognormal():
    z = _draw(1, 200_000)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    mu, sigma = 8.0, 0.6
    v = _draw(4, 200_000, mu, sigma)
    assert stats.kstest(np.log(v), "norm", args=(mu, sigma)).pvalue > 1e-4


def test_uniform_and_independent_streams():
    u = _draw(0, 200_000)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert u.min() >= 0 and u.max() < 1
    # First draws of adjacent replications' streams: no correlation (|r| < 5 / sqrt(N)).
    first = np.array([_draw(0, 2, rep=r) for r in range(20_000)])
    r = np.corrcoef(first[:-1, 0], first[1:, 0])[0, 1]
    assert abs(r) < 5 / np.sqrt(20_000)


def test_degenerate_parameters_draw_nothing():
    assert _draw(3, 10, 0, 0.5).sum() == 0
    assert _draw(3, 10, 10, 0.0).sum() == 0
    assert (_draw(3, 10, 10, 1.0) == 10).all()
    assert _draw(2, 10, 0.0).sum() == 0


@njit
def _decisions(xs, ps, by_float, by_bits):
    for i in range(xs.shape[0]):
        for j in range(ps.shape[0]):
            by_float[i, j] = rng._unit(xs[i]) < ps[j]
            by_bits[i, j] = rng._top53(xs[i]) < rng._below(ps[j])


def test_the_integer_threshold_decides_as_the_uniform_does():
    """``u < p`` (``u = _unit(x)``) and ``_top53(x) < _below(p)`` agree for every output ``x`` and
    every ``p`` (in [0, 1], and beyond it: negative, above 1, infinite, NaN): checked on the outputs right at, just below and just above each ``p``'s
    boundary (``m = ceil(p 2**53)`` and its neighbours), on ends and tiny probabilities, and on
    random outputs (seed 3, 2,000 of them against 400 random ``p``). Fails with the threshold
    ``floor`` instead of ``ceil``, or with ``round``."""
    gen = np.random.default_rng(3)
    ps = np.concatenate([
        [0.0, 1.0, 0.5, 0.25, 2.0**-53, 2.0**-60, 5e-324, 1e-300, 1.0 - 2.0**-53, np.nextafter(1.0, 0.0), 0.1, 1 / 3],
        [-0.5, -1e300, np.nextafter(1.0, 2.0), 3.0, 1e300, np.inf, -np.inf, np.nan],  # (outside [0, 1])
        gen.random(400),
    ])  # fmt: skip
    scale = 2.0**53
    ms = []
    for p in ps[np.isfinite(ps) & (ps >= 0) & (ps <= 1)]:
        c = int(np.ceil(p * scale))
        ms += [c - 2, c - 1, c, c + 1, int(np.floor(p * scale))]
    ms = np.clip(np.array(ms + [0, 2**53 - 1], dtype=np.int64), 0, 2**53 - 1).astype(np.uint64)
    low = gen.integers(0, 2**11, size=ms.shape[0], dtype=np.uint64)  # the bits _unit drops
    xs = np.concatenate([(ms << np.uint64(11)) | low, gen.integers(0, 2**63, size=2000, dtype=np.uint64) * np.uint64(2)])
    by_float = np.zeros((xs.shape[0], ps.shape[0]), np.bool_)
    by_bits = np.zeros_like(by_float)
    _decisions(xs, ps, by_float, by_bits)
    assert (by_float == by_bits).all()
    assert by_float.any() and not by_float.all()  # (both outcomes occur)
