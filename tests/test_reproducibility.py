"""Tier: exact seeded regression and reproducibility (seeds, chunks, prefixes, common numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small

from incentsim import scenario_from_dict
from incentsim.comparison import compare
from incentsim.simulation import simulate


@pytest.fixture(scope="module")
def sc():
    return scenario_from_dict(small())


def _same(a, b):
    for name in ("year", "person", "month", "effort_week", "ability"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_same_seed_same_result(sc):
    _same(simulate(sc, "separate", replications=64), simulate(sc, "separate", replications=64))


def test_different_seed_differs(sc):
    a = simulate(sc, "separate", replications=64, seed=1)
    b = simulate(sc, "separate", replications=64, seed=2)
    assert not np.array_equal(a.year, b.year)


def test_chunking_does_not_change_results(sc):
    _same(simulate(sc, "separate", replications=50, chunk=7), simulate(sc, "separate", replications=50))


def test_prefix_stable(sc):
    short = simulate(sc, "separate", replications=40)
    long = simulate(sc, "separate", replications=100)
    np.testing.assert_array_equal(short.year, long.year[:40])
    later = simulate(sc, "separate", replications=60, first_replication=40)
    np.testing.assert_array_equal(later.year, long.year[40:])


def test_sweep_key_gives_other_streams(sc):
    a = simulate(sc, "separate", replications=20, key=(0,))
    b = simulate(sc, "separate", replications=20, key=(1,))
    c = simulate(sc, "separate", replications=20)
    assert not np.array_equal(a.year, b.year) and not np.array_equal(a.year, c.year)


def test_scheme_against_itself_is_exactly_zero(sc):
    cmp = compare(sc, ["separate", "separate"], replications=100)
    for d in cmp.differences:
        if d.stats.n:
            assert d.stats.mean == 0 and d.stats.ci95 == (0.0, 0.0), d.metric
            assert d.stats.variance_reduction is None


def test_common_random_numbers_reduce_variance(sc):
    # Behaviour fixed: revenue is identical under both schemes, bonus differs but is paired.
    cmp = compare(sc, ["separate", "shared"], replications=400)
    assert cmp.difference("shared", "revenue").mean == 0
    vr = cmp.difference("shared", "bonus_cost").variance_reduction
    assert vr is not None and vr > 1.5
    # Independent runs (different seeds) give a far wider difference.
    a = simulate(sc, "separate", replications=400, seed=1).metric("bonus_cost")
    b = simulate(sc, "shared", replications=400, seed=2).metric("bonus_cost")
    paired = cmp.results["shared"].metric("bonus_cost") - cmp.results["separate"].metric("bonus_cost")
    assert np.var(a - b) > 1.5 * np.var(paired)


# Exact regression. Seed 42 was chosen before looking at the output; the values were recorded
# from this version (last re-recorded when a funnel stage's week came to draw one uniform per item:
# same distribution, other draws). Our own samplers (kernels/rng.py) keep them fixed across
# numpy/numba releases: a change here means the model or the draw order changed, on purpose or not.
REGRESSION = {
    "wins": [39.0, 49.0, 41.0],
    "appointments": [263.0, 263.0, 262.0],
    "revenue": [164668.81, 229947.08, 198532.04],
}


def test_exact_seeded_regression(sc):
    res = simulate(sc, "separate", replications=3, seed=42)
    for key, values in REGRESSION.items():
        np.testing.assert_allclose(res.metric(key), values, rtol=0, atol=0.006, err_msg=key)


def test_ks_distance_equals_scipy():
    from scipy import stats

    from incentsim.stats import ks_distance

    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.normal(size=rng.integers(5, 500)).round(rng.integers(0, 3))  # with ties
        b = rng.normal(0.2, 1.3, size=rng.integers(5, 500)).round(rng.integers(0, 3))
        assert ks_distance(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
