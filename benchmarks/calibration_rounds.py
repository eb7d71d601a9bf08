"""How the calibration fares in the plausible worlds of a scenario's ``[uncertainty]`` table.

``python -m benchmarks.calibration_rounds [scenario] [--worlds 64] [--workers 2] [--chains]``
draws the worlds exactly as ``incentsim compare SCENARIO --uncertainty`` does
(:func:`incentsim.worlds.run.prepare`: the table's design and seed) and calibrates each one's
baseline cold (``model.policy._calibrate``, no cache): one line per world (rounds, seconds, the
cost scales, or the reason it was refused), then the totals. Rounds are deterministic (no draws),
seconds are not. With ``--chains`` each world is also calibrated from the nearest world already
solved in its chain (its solved baseline), as the analysis did until 2026-11-30, and the worlds
refused from there but not cold are counted (the analysis left them out: nine of the bundled 64).

Default scenario: the bundled ``separate-vs-shared.toml`` (64 worlds; about 1.5 minutes cold on 2
cores, 5 with ``--chains``).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "separate-vs-shared.toml"


def _cold(path: str, worlds: int, index: int) -> tuple[int, object, float, tuple[float, float, float]]:
    """World ``index``'s cold calibration: (index, rounds or the refusal, seconds, scales)."""
    os.environ["INCENTSIM_NO_CACHE"] = "1"
    from incentsim.model import policy as P
    from incentsim.scenario.errors import ScenarioError
    from incentsim.worlds.run import prepare

    sc = prepare(path, worlds=worlds).items[index].scenario
    start = time.perf_counter()
    try:
        k = P._calibrate(sc, sc.baseline_name)
    except ScenarioError as exc:
        return index, f"refused ({exc.reason[:60]}...)", time.perf_counter() - start, (0.0, 0.0, 0.0)
    scales = (k["sales"], k["marketing"], k["marketing_quality"])
    return index, int(k["rounds"]), time.perf_counter() - start, scales


def _chain(path: str, worlds: int, chain: list[int]) -> list[tuple[int, object]]:
    """Each world of a chain calibrated from the nearest solved one (as the analysis did until
    2026-11-30, without the cold retry it has since): (index, rounds or "refused")."""
    os.environ["INCENTSIM_NO_CACHE"] = "1"
    from incentsim.model import policy as P
    from incentsim.scenario.errors import ScenarioError
    from incentsim.worlds.evaluate import WorldSolution, _calibration_start
    from incentsim.worlds.run import prepare

    study = prepare(path, worlds=worlds)
    solved: list = []
    out = []
    for i in chain:
        item = study.items[i]
        sc = item.scenario
        near = min(solved, key=lambda pair: sum((a - b) ** 2 for a, b in zip(item.u, pair[0], strict=True)),
                   default=(None, None))[1]  # fmt: skip
        first = _calibration_start(sc, near)
        try:
            k = P._calibrate(sc, sc.baseline_name, first)
        except ScenarioError:
            out.append((i, "refused"))
            continue
        out.append((i, int(k["rounds"])))
        base = P.solve_policy(sc, sc.baseline_name, kappa=k)
        solved.append((item.u, WorldSolution(k, {sc.baseline_name: base})))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(SCENARIO))
    parser.add_argument("--worlds", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chains", action="store_true", help="also from each chain's nearest solved world")
    args = parser.parse_args(argv)
    from incentsim.worlds.run import prepare

    study = prepare(args.scenario, worlds=args.worlds)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        cold = sorted(pool.map(_cold, [args.scenario] * args.worlds, [args.worlds] * args.worlds, range(args.worlds)))
        chains = list(pool.map(_chain, [args.scenario] * len(study.groups), [args.worlds] * len(study.groups),
                               study.groups)) if args.chains else []  # fmt: skip
    wall = time.perf_counter() - start
    for index, rounds, seconds, (ks, ke, kq) in cold:
        print(f"world {index:3d}: {rounds!s:>4} rounds {seconds:5.2f} s  sales {ks:10,.0f}  marketing {ke:9,.0f}  "
              f"focus {kq:7,.0f}")  # fmt: skip
    done = [r for _, r, _, _ in cold if isinstance(r, int)]
    print(f"cold: {len(done)} of {len(cold)} worlds calibrated, {sum(done):,} rounds (mean {sum(done) / max(len(done), 1):.1f}, "
          f"most {max(done, default=0)}), {sum(s for _, _, s, _ in cold):.1f} CPU-seconds, {wall:.1f} s on "
          f"{args.workers} worker(s)")  # fmt: skip
    if chains:
        from_start = dict(pair for chain in chains for pair in chain)
        refused = sorted(i for i, r in from_start.items() if r == "refused")
        only_there = [i for i in refused if isinstance(cold[i][1], int)]
        rounds = [r for r in from_start.values() if isinstance(r, int)]
        print(f"from each chain's nearest solved world: {len(refused)} refused ({len(only_there)} of them calibrate "
              f"cold: {only_there}), {sum(rounds):,} rounds in the rest")  # fmt: skip


if __name__ == "__main__":
    main()
