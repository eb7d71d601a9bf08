"""Do the simulated people act as the policy solver foresaw? Mean rep effort by quarter, both ways.

The solver's forward pass says what effort its reps expect to make each week (the equilibrium's
``sales_effort_week``, averaged over the reps); the simulation, reading the same policy at each
person's simulated state, says what they did (``person_frame``'s ``effort_q1`` .. ``effort_q4``).
Where the solver's picture of the state (its grids, lags, head starts) is the simulation's, the two
agree up to sampling noise. One line per scheme: the four quarters' gaps (simulated minus foreseen)
and their mean. Bundled scenarios' schemes (``hr-bonus-structures``' ``quarterly-step`` has two
state axes, the quarter and the year of its true-up; ``separate-vs-shared``'s ``hybrid`` one's
own and the team's year), and two purpose-built plans on ``new-business-plan``'s company with
``own_bookings`` linear commission as the baseline: a step at 100 % of yearly own margin, and a
quarterly step on own bookings.

Run: ``python -m benchmarks.foresight [--replications 400] [--seed 1] [--only NAME ...]`` (a fresh
temporary policy cache; a few minutes). Gaps of a few thousandths are noise and the solver's
tolerance; the README and ``docs/model/solver.md`` quote this script's output.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import tomllib
from pathlib import Path

import numpy as np

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

BUNDLED = {
    "separate-vs-shared": ["separate", "shared", "hybrid"],
    "hr-bonus-structures": ["linear-commission", "quarterly-step", "annual-capped", "ratchet", "quota-accelerator"],
    "new-business-plan": ["step-at-10", "per-client"],
}

#: Purpose-built plans (scheme tables as a scenario file writes them) on new-business-plan's company.
BUILT = {
    "margin-year-step": {"sales": {"measure": "own_margin", "payout": "step"}},
    "bookings-quarter-step": {"sales": {"measure": "own_bookings", "payout": "step", "period": "quarter"}},
}


def _built_scenario():
    from incentsim import scenario_from_dict

    with open(SCENARIOS / "new-business-plan.toml", "rb") as fh:
        d = tomllib.load(fh)
    d["schemes"] = {"linear": {"sales": {"measure": "own_bookings", "payout": "linear"}}, **BUILT}
    d.setdefault("behaviour", {})["baseline_scheme"] = "linear"
    return scenario_from_dict(d)


def gaps(sc, scheme: str, replications: int, seed: int) -> np.ndarray:
    """Simulated minus foreseen mean rep effort in each quarter, ``(4,)``."""
    from incentsim.model.policy import solve_policy
    from incentsim.simulation import simulate

    solved = solve_policy(sc, scheme)
    res = simulate(sc, scheme, replications=replications, seed=seed, policy=solved.policy, solver_info=solved.info)
    people = res.person_frame()
    sales = people[people["role"] == "sales"]
    foreseen = solved.sales_effort_week.mean(axis=0)
    return np.array(
        [float(sales[f"effort_q{q + 1}"].mean()) - float(foreseen[13 * q : 13 * q + 13].mean()) for q in range(4)]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", help="only this scheme (repeatable)")
    args = parser.parse_args(argv)
    os.environ["INCENTSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="incentsim-foresight-")
    from incentsim import load_scenario

    cases = [(name, scheme, lambda name=name: load_scenario(SCENARIOS / f"{name}.toml"))
             for name, schemes in BUNDLED.items() for scheme in schemes]  # fmt: skip
    cases += [("purpose-built", scheme, _built_scenario) for scheme in BUILT]
    print(f"simulated minus foreseen mean rep effort, by quarter ({args.replications} replications, seed {args.seed})")
    loaded = {}
    for name, scheme, load in cases:
        if args.only and scheme not in args.only:
            continue
        sc = loaded.setdefault(name, load())
        g = gaps(sc, scheme, args.replications, args.seed)
        quarters = " ".join(f"{x:+.4f}" for x in g)
        print(f"{name:22s} {scheme:22s} {quarters}   mean {g.mean():+.4f}", flush=True)


if __name__ == "__main__":
    main()
