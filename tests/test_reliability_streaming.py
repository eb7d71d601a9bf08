"""Tier: reliability, long runs. Beyond one block of replications a comparison keeps only mergeable
summaries (incentsim.accumulate): memory stays flat in N; means, standard deviations, paired
differences and their intervals, shares of years better and the HR figures equal the exact ones
(to rounding); percentiles are within the sketch's stated 0.1 %; and nothing depends on how the
run was batched.

Blocks are made small here (256 replications) so that a few thousand replications span many
blocks. Seeds and N are stated per test; tolerances are the stated accuracies.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from conftest import small

from incentsim import accumulate, scenario_from_dict
from incentsim.comparison import compare, hr_view
from incentsim.report.text import comparison_text
from incentsim.results import HIGHER_IS_BETTER
from incentsim.stats import Moments, PairStats, QuantileSketch, ks_distance, paired_difference, sketch_ks

ALPHA = QuantileSketch.RELATIVE_ACCURACY


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(accumulate, "BLOCK_MAX", 256)
    monkeypatch.setattr(accumulate, "BLOCK_MIN", 64)


def _scenario(**edits):
    d = small(**edits)
    d["simulation"] = {"replications": 1000, "seed": 5, "behaviour": "fixed"}
    d["schemes"]["capped"] = {"preset": "capped"}
    return scenario_from_dict(d)


def _within_sketch(approx: float, sample: np.ndarray, q: float) -> bool:
    """Whether ``approx`` is within the stated accuracy of numpy's percentile of ``sample``."""
    v = np.sort(sample[np.isfinite(sample)])
    h = q * (v.size - 1)
    lo, hi = v[math.floor(h)], v[math.ceil(h)]
    a, b = min(lo, hi), max(lo, hi)
    return a - ALPHA * abs(a) - 1e-9 <= approx <= b + ALPHA * abs(b) + 1e-9


def test_streamed_figures_equal_the_exact_ones(small_blocks):
    """Seed 5, N = 3000 over 12 blocks, 3 schemes: exact figures to 1e-9, percentiles to 0.1 %."""
    sc = _scenario()
    streamed = compare(sc, replications=3000, keep=True)
    assert not streamed.exact and streamed.block == 256 and streamed.kept
    for name, res in streamed.results.items():
        for metric, s in streamed.summaries[name].items():
            x = res.metrics[metric].reshape(-1)
            x = x[np.isfinite(x)]
            assert s.n == x.size, (name, metric)
            if not x.size:
                continue
            assert s.mean == pytest.approx(x.mean(), rel=1e-9, abs=1e-9), (name, metric)
            assert s.std == pytest.approx(x.std(ddof=1), rel=1e-7, abs=1e-9), (name, metric)
            for q, got in ((0.05, s.p5), (0.5, s.p50), (0.95, s.p95)):
                assert _within_sketch(got, x, q), (name, metric, q, got)
    base = streamed.baseline
    for d in streamed.differences:
        a, b = streamed.results[d.a].metrics[d.metric], streamed.results[base].metrics[d.metric]
        exact = paired_difference(a, b, d.metric in HIGHER_IS_BETTER)
        got = d.stats
        assert got.n == exact.n
        if exact.n == 0:
            continue
        assert got.mean == pytest.approx(exact.mean, rel=1e-9, abs=1e-6)
        assert got.ci95 == pytest.approx(exact.ci95, rel=1e-7, abs=1e-6)
        assert got.p_a_beats_b == exact.p_a_beats_b  # counts: exact
        if exact.variance_reduction is not None:
            assert got.variance_reduction == pytest.approx(exact.variance_reduction, rel=1e-6)
        assert got.ks <= exact.ks + 1e-12  # a lower bound ...
        sa = QuantileSketch.of(a[np.isfinite(a).all(axis=1)])
        sb = QuantileSketch.of(b[np.isfinite(a).all(axis=1)])
        assert exact.ks <= got.ks + sketch_ks(sa, sb)[1] + 1e-12  # ... off by at most its bound
    for name, h in streamed.hr.items():
        res = streamed.results[name]
        e = hr_view(res, None)
        assert h.zero_bonus_share == e.zero_bonus_share and h.capped_share == e.capped_share
        assert h.payout_gini == pytest.approx(e.payout_gini, rel=1e-9, nan_ok=True)
        assert h.luck_share_of_payout_variance == pytest.approx(e.luck_share_of_payout_variance, rel=1e-7, nan_ok=True)
        assert h.rep_payout.mean == pytest.approx(e.rep_payout.mean, rel=1e-9, nan_ok=True)
        for key in ("p50", "p90", "p95"):
            bonus = res.metrics["bonus_cost"].reshape(-1)
            assert _within_sketch(h.bonus_budget[key], bonus, int(key[1:]) / 100)
        for got, want in zip(h.by_ability, e.by_ability, strict=True):
            assert got == pytest.approx(want, rel=1e-9)


def test_one_block_is_summarised_exactly_as_before(small_blocks):
    """Seed 5, N = 200 (< one block): the arrays are kept and every figure is the exact one."""
    sc = _scenario()
    cmp = compare(sc, replications=200)
    assert cmp.exact and cmp.kept
    x = cmp.results["shared"].metrics["profit_after_bonus"]
    assert cmp.summaries["shared"]["profit_after_bonus"].p50 == float(np.percentile(x, 50))
    assert cmp.to_json()["summaries"] == {"exact": True, "block_replications": 256, "quantile_relative_accuracy": 0.0}


def test_a_run_in_batches_equals_one_run(small_blocks):
    """Seed 5: a run to a precision in batches of 500 + 1000 (not aligned with the blocks of 256)
    gives the same figures, bit for bit, as one run of 1500."""
    sc = _scenario()
    batched = compare(sc, replications=500, precision=1e-12, max_replications=1500, keep=False).to_json()
    single = compare(sc, replications=1500, keep=False).to_json()
    assert batched["replications"] == single["replications"] == 1500
    batched.pop("precision")
    single.pop("precision")
    assert batched == single


def test_without_keep_only_summaries_are_kept(small_blocks):
    sc = _scenario()
    cmp = compare(sc, replications=1000, keep=False)
    assert not cmp.kept and cmp.to_json()["summaries"]["quantile_relative_accuracy"] == ALPHA
    with pytest.raises(ValueError, match="keep=True"):
        cmp.to_frame()
    assert "percentiles within 0.1%" in comparison_text(cmp)
    from incentsim.report.markdown import comparison_markdown

    assert "## The answer" in comparison_markdown(cmp)  # the Markdown report needs only summaries
    assert len(compare(sc, replications=1000, keep=True).to_frame()) == 3 * 1000


@pytest.mark.slow
def test_memory_stays_flat_in_the_replications(small_blocks):
    """Seed 5: the peak of Python-tracked memory for 16x the replications stays within 2x (what
    grows is the sketches' occupied buckets, bounded by the range of the values: measured 2.8 MB
    at 1,024, 4.2 MB at 16,384 and 4.8 MB at 65,536), while keeping every replication grows with
    N (the contrast shows the measure works)."""
    sc = _scenario()
    compare(sc, replications=64)  # imports and kernels first

    def peak(n: int, keep: bool) -> int:
        tracemalloc.start()
        compare(sc, replications=n, keep=keep)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small_run, large_run = peak(512, False), peak(8192, False)
    assert large_run < 2 * small_run, (small_run, large_run)
    assert peak(8192, True) > 3 * large_run


# -- the sketch itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample",
    [
        lambda r: r.lognormal(12, 0.8, 20_000),
        lambda r: np.concatenate([-r.lognormal(9, 1.5, 5000), np.zeros(300), r.lognormal(11, 0.3, 15_000)]),
        lambda r: r.integers(0, 5, 10_000).astype(float),  # point masses (counts)
        lambda r: r.normal(0.0, 1e-6, 10_000),  # near zero
        lambda r: np.full(1000, 12345.678),
    ],
    ids=["lognormal", "mixed-signs", "counts", "tiny", "constant"],
)
def test_sketch_quantiles_are_within_the_stated_accuracy(sample):
    """Seed 11: every percentile 0..100 within RELATIVE_ACCURACY of its neighbouring order statistics."""
    x = sample(np.random.default_rng(11))
    s = QuantileSketch.of(x)
    qs = np.linspace(0, 1, 101)
    got = s.quantiles(qs)
    for q, g in zip(qs, got, strict=True):
        assert _within_sketch(g, x, q), (q, g)
    assert s.quantile(0) == x.min() and s.quantile(1) == x.max()


def test_sketch_merges_do_not_depend_on_order_or_split():
    """Seed 13: the same values split and merged any way give the identical sketch."""
    x = np.random.default_rng(13).lognormal(10, 1, 9000) - 20_000
    one = QuantileSketch.of(x)
    parts = [QuantileSketch.of(p) for p in np.array_split(x, 7)]
    a = parts[0]
    for p in parts[1:]:
        a = a.merge(p)
    b = parts[-1]
    for p in reversed(parts[:-1]):
        b = p.merge(b)
    for s in (a, b):
        assert np.array_equal(s.pos_keys, one.pos_keys) and np.array_equal(s.pos_counts, one.pos_counts)
        assert np.array_equal(s.neg_keys, one.neg_keys) and np.array_equal(s.neg_counts, one.neg_counts)
        assert (s.zero, s.n, s.min, s.max) == (one.zero, one.n, one.min, one.max)
        assert np.array_equal(s.quantiles([0.05, 0.5, 0.95]), one.quantiles([0.05, 0.5, 0.95]))


def test_moments_and_pairs_merge_to_the_whole():
    """Seed 17: merged moments and paired statistics equal those of the whole sample."""
    r = np.random.default_rng(17)
    a = r.normal(1e6, 2e5, (3000, 2))
    b = a + r.normal(5e3, 1e4, (3000, 2))
    b[5, 1] = np.nan  # a row left out of the pairing
    m = Moments()
    p = None
    for lo in range(0, 3000, 700):
        m = m.merge(Moments.of(a[lo : lo + 700]))
        blk = PairStats.of(b[lo : lo + 700], a[lo : lo + 700])
        p = blk if p is None else p.merge(blk)
    assert m.n == a.size and m.mean == pytest.approx(a.mean(), rel=1e-12)
    assert math.sqrt(m.var()) == pytest.approx(a.reshape(-1).std(ddof=1), rel=1e-10)
    exact = paired_difference(b, a)
    got = p.difference(True)
    assert got.n == exact.n == 2999 and got.p_a_beats_b == exact.p_a_beats_b
    assert got.mean == pytest.approx(exact.mean, rel=1e-10) and got.ci95 == pytest.approx(exact.ci95, rel=1e-9)
    rev = p.difference(True, reverse=True)
    assert rev.mean == -got.mean and rev.p_a_beats_b == pytest.approx(1 - got.p_a_beats_b)
    assert abs(got.ks - ks_distance(b[np.isfinite(b).all(1)].ravel(), a[np.isfinite(b).all(1)].ravel())) < 0.01


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from conftest import small
from incentsim import accumulate, scenario_from_dict
from incentsim.comparison import compare
accumulate.BLOCK_MAX = 256
d = small()
d["simulation"] = {"replications": 1000, "seed": 5, "behaviour": "fixed"}
out = compare(scenario_from_dict(d), replications=1200, keep=False).to_json()
print(json.dumps(out, sort_keys=True))
"""


@pytest.mark.slow
def test_streamed_figures_do_not_depend_on_the_thread_count():
    """Seed 5, N = 1200 over 5 blocks: one and two numba threads give the same JSON, bit for bit."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        r = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(__file__).parent)],
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    assert '"exact": false' in outs[0]
