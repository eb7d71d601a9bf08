"""Solver time alone and with a second process competing for the cores, by OpenMP spin count.

``python -m benchmarks.contention [--scheme hybrid] [--spincounts 300000,10000]``

Each setting solves the bundled ``separate-vs-shared`` scheme (effort costs from the calibration
cache, no policy cache) once alone, then twice at the same time in two processes, and prints the
wall times with the machine's cores and load. 300,000 is GNU OpenMP's default spin count; 10,000
is what ``incentsim._numba_env`` sets unless the user chose one (see ``GOMP_SPINCOUNT`` there).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

SOLVE = """
import time
from incentsim.scenario.bundled import resolve
from incentsim.scenario.load import load_scenario
from incentsim.model.policy import calibrate, solve_policy
sc = load_scenario(resolve("separate-vs-shared"))
kappa = calibrate(sc)
solve_policy(sc, "separate", kappa=kappa)  # loads the compiled kernels
t = time.perf_counter()
solve_policy(sc, {scheme!r}, kappa=kappa)
print(round(time.perf_counter() - t, 2))
"""


def _start(scheme: str, spincount: str) -> subprocess.Popen:
    env = dict(os.environ, GOMP_SPINCOUNT=spincount)
    code = SOLVE.format(scheme=scheme)
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", default="hybrid")
    parser.add_argument("--spincounts", default="300000,10000")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    _start(args.scheme, "10000").communicate()  # calibration and kernels cached before timing
    for spin in args.spincounts.split(","):
        alone = _start(args.scheme, spin).communicate()[0].strip()
        pair = [_start(args.scheme, spin) for _ in range(2)]
        both = [p.communicate()[0].strip() for p in pair]
        print(f"GOMP_SPINCOUNT={spin}: {args.scheme} solve alone {alone} s; two at once {both[0]} s and {both[1]} s")


if __name__ == "__main__":
    main()
