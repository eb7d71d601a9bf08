"""Tier: the benchmarks' draw counter (benchmarks/draw_counts.py), which the random-number bound
of ``python -m benchmarks.report`` replays: it must see every draw the kernel makes.

The counter runs the real kernel in Python (``NUMBA_DISABLE_JIT=1``, a subprocess) and counts
each step of the generator (``rng._step``) and each sampler call by kernel line. Until 2026-11-29
it counted only ``rng._next_u64`` and missed the draws stepped in registers (the funnel stages'
``_leave_advance``, follow-up, hand-off): about 10,900 of the 13,000 uniforms a replication draws,
so the bound was about a third of its real cost. Bundled scenario, scheme ``shared``, fixed
behaviour, 2 replications, seed 1 (deterministic).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def counts() -> dict:
    from benchmarks.draw_counts import count_in_subprocess

    return count_in_subprocess(str(SCENARIOS / "separate-vs-shared.toml"), "shared", replications=2, seed=1)


def test_every_generator_step_is_attributed_to_a_kernel_line(counts):
    # A draw through a sampler the counter does not wrap would step the generator (counted in the
    # total) at no site.
    attributed = sum(s["uniforms_per_replication"] for s in counts["sites"])
    assert attributed == pytest.approx(counts["uniforms_per_replication"], abs=1e-9)
    assert counts["uniforms_per_replication"] > 10_000  # the in-register draws are in (2,150 without)


def test_the_stages_and_the_kernels_own_steps_are_counted(counts):
    kinds = {(s["section"], s["kind"]) for s in counts["sites"] if s["drawing_calls"] > 0}
    assert ("_sales_stages", "leave_advance") in kinds
    assert ("_marketing_stages", "leave_advance") in kinds
    assert ("_follow_up", "follow_items") in kinds  # (the follow-up's per-appointment sort)
    assert ("_hand_off", "uniform") in kinds


def test_the_follow_ups_sort_is_one_draw_per_call_replayed_with_its_parameters(counts):
    # The follow-up's sort of n waiting appointments into five outcomes is a sampler, as a stage's
    # week is: one variate per call with (n, h, work, decay, recycle), its uniforms attributed to
    # it; the bound replays the sort (until 2026-11-30 its steps were plain uniforms: the bound's
    # follow-up 6 us a replication against the kernel's 31).
    site = next(s for s in counts["sites"] if s["kind"] == "follow_items" and s["drawing_calls"] > 0)
    assert site["section"] == "_follow_up"
    assert not any(s["section"] == "_follow_items" for s in counts["sites"])  # no step counted twice
    n, h, work, decay, recycle = site["param_sample"][-1]
    assert 1 <= n <= 16 and 0.0 < h <= 1.0 and 0.0 < work <= 1.0 and 0.0 <= decay < 1.0 and 0.0 <= recycle <= 1.0
    assert site["uniforms_per_replication"] > 2 * site["per_replication"]  # several appointments a call


def test_the_bound_replays_as_many_uniforms_as_the_kernel_draws(counts):
    # The bound draws each site's count with parameters sampled from those the kernel used: the
    # same work within a few per cent (1 % in the run this was written on).
    assert counts["bound_uniforms_per_replication"] == pytest.approx(counts["uniforms_per_replication"], rel=0.05)


def test_self_prospecting_is_replayed_as_the_kernel_draws_it(counts):
    # The kernel reads exp(-lam) from its action tables; the bound replays the draw with it given
    # (a Poisson draw computing the exponential each time: the bound's self-prospecting 27.4 us a
    # replication, 22.0 us as the kernel draws it, python -m benchmarks.report).
    site = next(s for s in counts["sites"] if s["section"] == "_self_prospect" and s["drawing_calls"] > 0)
    assert site["kind"] == "poisson_exp"
    lam, exp_neg_lam = site["param_sample"][-1][:2]
    assert exp_neg_lam == pytest.approx(__import__("math").exp(-lam), rel=1e-15)
