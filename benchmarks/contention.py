"""Solver time alone and with a second process solving at the same time.

``python -m benchmarks.contention [--scheme hybrid]``

Solves the bundled ``separate-vs-shared`` scheme once alone, then twice at the same time in two
processes (as on a first run, with the simulation kernel compiling in the background, or two
commands, or the web page's requests), and prints the wall times with the machine's cores and
load. Each process has an empty policy cache of its own (a solve would otherwise be read from
the cache) and calibrates before the timed solve.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

SOLVE = """
import time
from incentsim.scenario.bundled import resolve
from incentsim.scenario.load import load_scenario
from incentsim.model.policy import calibrate, solve_policy
sc = load_scenario(resolve("separate-vs-shared"))
kappa = calibrate(sc)
t = time.perf_counter()
solve_policy(sc, {scheme!r}, kappa=kappa)
print(round(time.perf_counter() - t, 2))
"""


def _start(scheme: str) -> subprocess.Popen:
    env = dict(os.environ, INCENTSIM_CACHE_DIR=tempfile.mkdtemp(prefix="incentsim-contention-"))
    code = SOLVE.format(scheme=scheme)
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", default="hybrid")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    _start(args.scheme).communicate()  # the kernels compiled (numba's cache) before timing
    alone = _start(args.scheme).communicate()[0].strip()
    pair = [_start(args.scheme) for _ in range(2)]
    both = [p.communicate()[0].strip() for p in pair]
    print(f"{args.scheme} solve alone {alone} s; two at once {both[0]} s and {both[1]} s")


if __name__ == "__main__":
    main()
