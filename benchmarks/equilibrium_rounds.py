"""How many rounds calibration and equilibria take in plausible worlds of the bundled company.

Each world is ``scenarios/separate-vs-shared.toml`` with four behavioural inputs drawn at random
(seeded): ``implicit_incentive`` U(0.5, 0.9), ``effort_cost_exponent`` U(2.5, 5),
``conversion_elasticity`` U(0.1, 0.35), ``annual_discount`` U(0.5, 0.95). Each is calibrated and
every scheme solved (a fresh temporary policy cache); one line per world (calibration rounds and
whether it settled, each scheme's equilibrium rounds, mean rep effort), then the totals.

Run: ``python -m benchmarks.equilibrium_rounds [--worlds 12] [--seed 7] [--max-rounds 50]`` (about
two minutes for 12 worlds on 2 cores). ``docs/model/equilibrium.md`` quotes it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "separate-vs-shared.toml"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-rounds", type=int, default=50, help="behaviour.max_rounds of every world")
    args = parser.parse_args(argv)
    os.environ["INCENTSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="incentsim-equilibrium-rounds-")
    from incentsim.model.policy import calibrate, solve_policy
    from incentsim.scenario.load import read_toml, scenario_from_dict

    rng = np.random.default_rng(args.seed)
    cal_rounds = cal_unsettled = eq_rounds = eq_unsettled = 0
    slowest = 0
    start = time.perf_counter()
    for i in range(args.worlds):
        d = read_toml(SCENARIO)
        b = d["behaviour"]
        b["max_rounds"] = args.max_rounds
        b["implicit_incentive"] = float(rng.uniform(0.5, 0.9))
        b["effort_cost_exponent"] = float(rng.uniform(2.5, 5.0))
        b["conversion_elasticity"] = float(rng.uniform(0.1, 0.35))
        b["annual_discount"] = float(rng.uniform(0.5, 0.95))
        sc = scenario_from_dict(d)
        kappa = calibrate(sc)
        cal_rounds += kappa["rounds"]
        cal_unsettled += not kappa["settled"]
        rounds, effort = [], []
        for name in sc.schemes:
            solved = solve_policy(sc, sc.scheme(name), kappa=kappa)
            rounds.append(solved.info["rounds"])
            eq_unsettled += not solved.info["converged"]
            effort.append(round(float(np.mean(solved.sales_effort_week)), 3))
        eq_rounds += sum(rounds)
        slowest = max(slowest, *rounds)
        settled = "settled" if kappa["settled"] else "NOT settled"
        print(f"world {i:2d}: calibration {kappa['rounds']:3d} rounds ({settled}); equilibria {rounds}; effort {effort}",
              flush=True)  # fmt: skip
    print(
        f"calibration rounds {cal_rounds} (unsettled {cal_unsettled}); equilibrium rounds {eq_rounds} "
        f"(slowest {slowest}, unsettled {eq_unsettled}); {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
