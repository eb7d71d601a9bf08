"""The policy solver: ``solve_policy`` per scheme with the calibration cached (and the on-disk
policy cache bypassed), and ``calibrate`` cold (``INCENTSIM_NO_CACHE=1``, in-memory cache
cleared; DP kernels already loaded)."""

from __future__ import annotations

import os

import pytest

from . import harness as H


@pytest.mark.parametrize("scheme", list(H.scenario().schemes))
def test_solve_policy(benchmark, sc, scheme):
    from incentsim.model.policy import solve_policy

    solve_policy(sc, sc.scheme(scheme))  # warm-up: DP kernels and the calibration (in memory)
    benchmark.group = "solver"
    with H.no_disk_cache():  # solve, do not read the solved policy back from disk
        sol = benchmark.pedantic(solve_policy, args=(sc, sc.scheme(scheme)), rounds=3, iterations=1)
    benchmark.extra_info["rounds"] = sol.info.get("rounds")
    benchmark.extra_info["converged"] = sol.info.get("converged")


def test_calibrate_cold(benchmark, sc, monkeypatch):
    from incentsim.model import policy as P

    P.solve_policy(sc, sc.scheme(next(iter(sc.schemes))))  # load the DP kernels
    monkeypatch.setenv("INCENTSIM_NO_CACHE", "1")

    def cold():
        P._CALIBRATION_CACHE.clear()
        return P.calibrate(sc)

    benchmark.group = "solver"
    benchmark.pedantic(cold, rounds=1, iterations=1)
    P._CALIBRATION_CACHE.clear()
    assert os.environ["INCENTSIM_NO_CACHE"] == "1"
