"""How often the plan search finds a known optimum, TPE against random sampling (no simulation).

The pay-floor problem of tests/test_design.py with fixed behaviour is exactly linear on common
random numbers: profit = a - b x rate, feasible when rate >= r*. This script runs Optuna's
samplers on that shape (objective -rate, constraint r* - rate <= 0) with the settings
``incentsim design`` uses (rounds of 4, the start trial enqueued, rates to 4 significant digits)
over 20 seeds and prints how often the best feasible rate is within 2 % of r*.

Run: python -m benchmarks.design_sampler [TRIALS]
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

R_STAR = 0.12146  # the test's hand-computed rate (10,000 EUR / expected bookings per rep)


def best_rate(sampler, trials: int, batch: int = 4) -> float:
    import optuna

    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial({"rate": 0.1})
    dist = {"rate": optuna.distributions.FloatDistribution(0.01, 0.3)}
    best = np.inf
    for first in range(0, trials, batch):
        asked = [study.ask(dist) for _ in range(min(batch, trials - first))]
        for t in asked:
            rate = float(f"{t.params['rate']:.4g}")
            t.set_constraint("floor", R_STAR - rate)
            study.tell(t, -rate)
            if rate >= R_STAR:
                best = min(best, rate)
    return best


def main(trials: int = 48) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    batch = 4
    startup = min(10, max(batch, trials // 5))  # as incentsim.optimise.search._study
    makers = {
        "tpe": lambda s: optuna.samplers.TPESampler(
            seed=s, n_startup_trials=startup, multivariate=True, constant_liar=True
        ),
        "random": lambda s: optuna.samplers.RandomSampler(seed=s),
    }
    for name, make in makers.items():
        rel = np.array([best_rate(make(seed), trials, batch) / R_STAR - 1 for seed in range(20)])
        print(
            f"{name:7s} {trials} trials: within 2% of the optimum in {int((rel < 0.02).sum())} of 20 seeds; "
            f"median {np.median(rel):.1%}, P90 {np.percentile(rel, 90):.1%} above it"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 48)
