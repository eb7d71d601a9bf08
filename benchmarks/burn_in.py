"""Does a scenario need its burn-in years? The recorded years' means with and without them.

``python -m benchmarks.burn_in [scenario] [--replications 4000] [--seed 11]`` simulates every
scheme of the scenario (default: the bundled ``separate-vs-shared.toml``) as written and with
``burn_in_years = 0`` (policies solved for each, optimising behaviour unless the scenario says
otherwise), on the same seed, and prints each scheme's mean revenue, wins and sales bonus of the
first recorded year, the change without the burn-in and its z score, computed as for
independent samples (the two runs' replications share their seeds, so their results are positively
correlated and this z is conservative).

Replications start from the pipeline's stationary stocks at normal effort
(:class:`incentsim.funnel.PipelineStock`); the burn-in lets the stocks settle where the scheme's
behaviour takes them. A bias with |z| well above 3 means the burn-in is needed.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("revenue", "wins", "bonus_sales")


def compare_burn_in(path: Path, replications: int, seed: int) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per scheme and metric: (mean with the scenario's burn-in, mean without, z of the difference)."""
    from incentsim import scenario_from_dict
    from incentsim.simulation import simulate

    raw = tomllib.loads(path.read_text())
    runs: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    burn = int(raw.get("simulation", {}).get("burn_in_years", 1))
    for years in (burn, 0):
        raw.setdefault("simulation", {})["burn_in_years"] = years
        sc = scenario_from_dict(raw)
        runs[years] = {}
        for scheme in sc.schemes:
            m = simulate(sc, scheme, replications=replications, seed=seed).metrics
            runs[years][scheme] = {k: np.asarray(m[k][:, 0], dtype=float) for k in METRICS}
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for scheme, with_burn in runs[burn].items():
        out[scheme] = {}
        for k in METRICS:
            a, b = with_burn[k], runs[0][scheme][k]
            se = float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))
            out[scheme][k] = (float(a.mean()), float(b.mean()), (b.mean() - a.mean()) / se if se > 0 else 0.0)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "separate-vs-shared.toml"))
    ap.add_argument("--replications", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    res = compare_burn_in(Path(a.scenario), a.replications, a.seed)
    print(f"{a.scenario}: first recorded year, {a.replications:,} replications, seed {a.seed}")
    print(f"{'scheme':<12} {'metric':<12} {'with burn-in':>14} {'without':>14} {'change':>8} {'z':>6}")
    for scheme, rows in res.items():
        for k, (with_b, without, z) in rows.items():
            change = (without / with_b - 1.0) * 100.0 if with_b else 0.0
            print(f"{scheme:<12} {k:<12} {with_b:>14,.1f} {without:>14,.1f} {change:>+7.2f}% {z:>+6.1f}")


if __name__ == "__main__":
    main()
