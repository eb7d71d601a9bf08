"""Tier: how the kernels are compiled. The hot-loop helpers are compiled without reference
counting (``kernels.jit.helper``: numba's ``_nrt=False``; 70 % of the simulation's time went to
counting references before), and a simulation compiles its replication function once (a second
integer type for the replication index compiled it twice and doubled a first run's compile)."""

from __future__ import annotations

import numba.core.cpu
import pytest

from incentsim.kernels import dp, funnel, jit, pay, rng


def test_numba_still_has_the_option_the_helpers_rely_on():
    assert hasattr(numba.core.cpu.CPUTargetOptions, "_nrt")
    assert callable(jit.helper)


@pytest.mark.parametrize(
    "fn",
    [funnel._choose_all, funnel._followup, rng._binomial, rng._leave_advance, rng._poisson, funnel._forecast, funnel._forecast_axis, funnel._sales_pipeline,
     funnel._measure, rng._binomial_inversion, rng._binomial_btpe, rng._poisson_ptrs, rng._lognormal,
     pay._curve_at],
    ids=lambda f: f.py_func.__name__,
)  # fmt: skip
def test_hot_loop_helpers_count_no_references(fn):
    assert fn.targetoptions.get("_nrt") is False
    assert type(fn._cache).__name__ != "NullCache"  # compiled once per machine, like every kernel


def test_kernels_that_allocate_keep_reference_counting():
    # They create arrays; without NRT they would leak or crash.
    for fn in (funnel._replication, funnel._simulate, dp._bellman):
        assert fn.targetoptions.get("_nrt", True) is not False
