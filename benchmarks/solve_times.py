"""Calibration and policy-solve times of the bundled company, one line each.

Run: python -m benchmarks.solve_times   (uses a fresh temporary policy cache, so nothing is read
from earlier runs; the solver's numba kernels come from numba's own cache when compiled before)
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "separate-vs-shared.toml"


def main() -> None:
    os.environ["INCENTSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="incentsim-solve-times-")
    from incentsim import load_scenario
    from incentsim.model.policy import calibrate, solve_policy

    sc = load_scenario(SCENARIO)
    t = time.perf_counter()
    kappa = calibrate(sc)
    print(f"calibration: {time.perf_counter() - t:.1f} s", flush=True)
    for name in sc.schemes:
        t = time.perf_counter()
        solved = solve_policy(sc, sc.scheme(name), kappa=kappa)
        axes = len(solved.info.get("state", {}).get("sales", {}).get("axes", []))
        print(f"{name}: {time.perf_counter() - t:.1f} s, {solved.info.get('rounds')} rounds, {axes} state axes", flush=True)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
