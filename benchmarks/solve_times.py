"""Calibration and policy-solve times of a bundled scenario, one line each.

Run: python -m benchmarks.solve_times [--scenario separate-vs-shared] [--scheme NAME ...]
(uses a fresh temporary policy cache, so nothing is read from earlier runs; the solver's numba
kernels come from numba's own cache when compiled before). ``--scenario hr-bonus-structures
--scheme quarterly-step`` times the slowest solve of the bundled files (two measure axes and the
paid axis of a true-up).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="separate-vs-shared", help="a bundled scenario's name")
    parser.add_argument("--scheme", action="append", help="solve only this scheme (repeatable; default: all)")
    args = parser.parse_args(argv)
    os.environ["INCENTSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="incentsim-solve-times-")
    from incentsim import load_scenario
    from incentsim.model.policy import calibrate, solve_policy

    sc = load_scenario(SCENARIOS / f"{args.scenario}.toml")
    t = time.perf_counter()
    kappa = calibrate(sc)
    print(f"calibration: {time.perf_counter() - t:.1f} s", flush=True)
    for name in args.scheme or list(sc.schemes):
        t = time.perf_counter()
        solved = solve_policy(sc, sc.scheme(name), kappa=kappa)
        axes = len(solved.info.get("state", {}).get("sales", {}).get("axes", []))
        print(f"{name}: {time.perf_counter() - t:.1f} s, {solved.info.get('rounds')} rounds, {axes} state axes", flush=True)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
