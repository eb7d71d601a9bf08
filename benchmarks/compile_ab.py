"""A first run's compile at this checkout against another commit, measured in turns.

Run: python -m benchmarks.compile_ab [--before REF] [--rounds 3]

Checks out ``--before`` (default ``HEAD``: the last commit, so uncommitted changes are compared
with it) into a temporary git worktree and, taking turns (before, after, before, after, ...) so
that the drift of a shared machine falls on both alike, runs in a fresh process of each checkout
with empty numba and incentsim caches (new temporary folders):

- ``kernel``: one ``simulate`` of the bundled scenario's ``shared`` scheme with fixed behaviour
  (16 replications): the simulation kernel's compile, as a first run's background process does it;
- ``solver``: ``calibrate`` and ``solve_policy`` of ``separate``: the solver's compile, the
  calibration and one solve, as a first run's main process starts.

The two run one after the other, not at once (a first run overlaps them on two cores). The report
gives each checkout's seconds per turn, the median and the change of the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "separate-vs-shared.toml"

#: One turn, run in a child process whose ``incentsim`` is the checkout's (``sys.argv[2]``: what).
_TURN = """
import sys, time
from incentsim import load_scenario
sc = load_scenario(sys.argv[1])
t = time.perf_counter()
if sys.argv[2] == "kernel":
    from incentsim.simulation import simulate
    simulate(sc, "shared", replications=16, behaviour="fixed")
else:
    from incentsim.model.policy import calibrate, solve_policy
    calibrate(sc)
    solve_policy(sc, "separate")
print(time.perf_counter() - t)
"""

WHAT = ("kernel", "solver")


def _turn(src: Path, what: str) -> float:
    with tempfile.TemporaryDirectory(prefix="incentsim-compile-") as tmp:
        env = dict(
            os.environ,
            PYTHONPATH=str(src),
            NUMBA_CACHE_DIR=str(Path(tmp) / "numba"),
            INCENTSIM_CACHE_DIR=str(Path(tmp) / "incentsim"),
        )
        done = subprocess.run(
            [sys.executable, "-c", _TURN, str(SCENARIO), what], env=env, check=True, capture_output=True, text=True
        )
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="git commit to compare with (default: HEAD)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="incentsim-ab-") as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(before), args.before],
                       check=True)  # fmt: skip
        try:
            commit = subprocess.run(["git", "-C", str(before), "rev-parse", "--short", "HEAD"], check=True,
                                    capture_output=True, text=True).stdout.strip()  # fmt: skip
            times: dict[str, dict[str, list[float]]] = {w: {"before": [], "after": []} for w in WHAT}
            for k in range(args.rounds):
                for what in WHAT:
                    for label, src in (("before", before / "src"), ("after", ROOT / "src")):
                        times[what][label].append(_turn(src, what))
                        print(f"round {k + 1} {what} {label}: {times[what][label][-1]:.1f} s", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    print(f"\nseconds from empty caches, {args.rounds} turns each; before = {commit}, after = this checkout")
    for what in WHAT:
        b, a = times[what]["before"], times[what]["after"]
        change = (statistics.median(a) / statistics.median(b) - 1.0) * 100.0
        print(f"{what:<7} before {' '.join(f'{x:.1f}' for x in b)} (median {statistics.median(b):.1f}); "
              f"after {' '.join(f'{x:.1f}' for x in a)} (median {statistics.median(a):.1f}); {change:+.1f}%")  # fmt: skip
    print(json.dumps({"before": commit, "times": times}))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
