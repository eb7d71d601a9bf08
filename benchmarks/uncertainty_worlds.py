"""How long an uncertainty analysis takes (prints one table and one JSON line).

``python -m benchmarks.uncertainty_worlds [--worlds 64] [--replications 2000] [--workers 2]
[--profile 4]`` runs ``incentsim compare separate-vs-shared --uncertainty`` through the same
function (:func:`incentsim.uncertainty`): the bundled scenario's ``[uncertainty]`` table (nine
behavioural assumptions), three schemes, optimising behaviour, on the embedded Dask cluster.

1. ``run``: the whole analysis from cold caches (calibrations and policies are solved anew in
   every world; numba's kernel cache is left where it is, so kernels load rather than compile
   once they have been compiled on this machine). Wall time, CPU seconds of this process and
   of the workers (children, counted when the cluster stops), the cores that gives, and the
   load average before and after: on a shared machine the figure to quote is the one with a
   low load.
2. ``profile``: the first ``--profile`` worlds of the design again, one after the other in this
   process with one numba thread, with CPU seconds per step (calibration, each scheme's policy,
   the inner simulation), and what that predicts for all worlds on ``--workers`` cores.

Every world is calibrated and solved cold (:mod:`incentsim.worlds.evaluate`; until 2026-11-30 from
the nearest world solved before it in its chain).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> dict:
    """Measure and print the figures (seconds); return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=64)
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", type=int, default=4, help="worlds to profile step by step (0: none)")
    parser.add_argument("--scenario", default="separate-vs-shared")
    args = parser.parse_args(argv)
    os.environ.setdefault("INCENTSIM_CACHE_DIR", tempfile.mkdtemp(prefix="incentsim-bench-worlds-"))

    import incentsim
    from incentsim.model import policy
    from incentsim.worlds import prepare
    from incentsim.worlds.evaluate import WorldSolution, world_rows

    load_before = os.getloadavg()[0]
    cpu0, wall0 = _cpu(), time.perf_counter()
    res = incentsim.uncertainty(args.scenario, worlds=args.worlds, replications=args.replications, workers=args.workers)
    wall = time.perf_counter() - wall0
    cpu = _cpu() - cpu0
    load_after = os.getloadavg()[0]
    out = {
        "scenario": args.scenario, "worlds": args.worlds, "replications": args.replications,
        "schemes": len(res.schemes), "behaviour": res.behaviour, "workers": args.workers,
        "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "cores_used": round(cpu / wall, 2),
        "load_before": round(load_before, 2), "load_after": round(load_after, 2),
        "target_seconds": 180, "verdict": res.verdict,
    }  # fmt: skip

    if args.profile:
        from incentsim.batch.runner import one_kernel_thread
        from incentsim.model.policy import calibrate, solve_policy

        one_kernel_thread()
        os.environ["INCENTSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="incentsim-bench-worlds-profile-")
        policy._CALIBRATION_CACHE.clear()
        study = prepare(args.scenario, worlds=args.worlds, replications=args.replications)
        steps: dict[str, list[float]] = {"calibrate": [], "policies": [], "simulate": []}
        for w in [w for group in study.groups for w in group]:  # (the loop stops at --profile worlds)
            it = study.items[w]
            t = time.process_time()
            kappa = calibrate(it.scenario)
            steps["calibrate"].append(time.process_time() - t)
            t = time.process_time()
            policies = {name: solve_policy(it.scenario, name, kappa=kappa) for name in it.schemes}
            steps["policies"].append(time.process_time() - t)
            t = time.process_time()
            world_rows(it, WorldSolution(kappa, policies))
            steps["simulate"].append(time.process_time() - t)
            if len(steps["calibrate"]) >= args.profile:
                break
        per_world = {k: round(sum(v) / len(v), 2) for k, v in steps.items()}
        total = sum(per_world.values())
        out["profile_cpu_per_world"] = per_world
        out["profile_worlds"] = len(steps["calibrate"])
        out["predicted_seconds"] = round(total * args.worlds / max(args.workers, 1), 1)

    print(f"Uncertainty analysis: {args.scenario}, {args.worlds} worlds x {out['schemes']} schemes x "
          f"{args.replications:,} replications, behaviour {out['behaviour']}, {args.workers} workers")  # fmt: skip
    print(f"  run: {out['wall_seconds']} s wall (target < 180 s), {out['cpu_seconds']} s CPU, "
          f"{out['cores_used']} cores used; load average {out['load_before']} before, {out['load_after']} after")  # fmt: skip
    if "profile_cpu_per_world" in out:
        p = out["profile_cpu_per_world"]
        print(f"  per world (CPU s, {out['profile_worlds']} worlds, one thread): calibrate {p['calibrate']}, "
              f"3 policies {p['policies']}, simulate {p['simulate']}; predicts {out['predicted_seconds']} s "
              f"on {args.workers} cores")  # fmt: skip
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
