"""Simulation-kernel time of the bundled company as ``compare`` runs it (optimising behaviour, team
work on), per scheme.

Run: python -m benchmarks.simulate_times [--replications 2000]   (policies from the policy cache or
solved first; each scheme simulated once to load the kernel, then timed)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "separate-vs-shared.toml"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    args = parser.parse_args(argv)
    from incentsim import load_scenario
    from incentsim.model.policy import solve_policy
    from incentsim.simulation import simulate

    sc = load_scenario(SCENARIO)
    years = sc.simulation.horizon_years
    for name in sc.schemes:
        solved = solve_policy(sc, name)
        simulate(sc, name, replications=20, policy=solved.policy)
        t = time.perf_counter()
        simulate(sc, name, replications=args.replications, policy=solved.policy)
        s = time.perf_counter() - t
        print(f"{name}: {args.replications:,} replications in {s:.2f} s = "
              f"{args.replications * years / s:,.0f} recorded company-years/s", flush=True)  # fmt: skip
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
