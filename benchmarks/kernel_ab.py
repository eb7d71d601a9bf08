"""The simulation kernel's speed at this checkout against another commit, measured in turns.

Run: python -m benchmarks.kernel_ab [--before REF] [--rounds 5] [--replications 2000] [--threads 1]
[--behaviour optimising|fixed]

Checks out ``--before`` (default ``HEAD``: the last commit, so uncommitted kernel changes are
compared with it) into a temporary git worktree and times the kernel of both checkouts in
separate processes, taking turns (before, after, before, after, ...), so that the drift of a
shared machine falls on both alike. Each turn simulates every scheme of the bundled scenario
under the same optimising policies (solved once here, handed to both as a pickle; with
``--behaviour fixed``, the fixed policy), 3 times, and keeps the fastest. The report gives, per
scheme, the fastest and the median turn of each checkout in microseconds per replication, and the
change of the fastest. Each checkout compiles its kernel on its first turn (its own numba cache
folder: the folders are keyed by the sources).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "separate-vs-shared.toml"

#: One turn, run in a child process whose ``incentsim`` is the checkout's.
_TURN = """
import json, pickle, sys, time
from pathlib import Path
from incentsim import load_scenario
from incentsim.simulation import simulate
from incentsim.compile import AgentPolicy, CompiledPolicy
scenario, stored, n = Path(sys.argv[1]), pickle.load(open(sys.argv[2], "rb")), int(sys.argv[3])
sc = load_scenario(scenario)
# (as plain fields: a checkout reads the ones its AgentPolicy has, so the policy format may differ)
def agent(d):
    return AgentPolicy(**{k: d[k] for k in AgentPolicy._fields})
policies = {name: CompiledPolicy(agent(s), agent(m), t) for name, (s, m, t) in stored.items()}
out = {}
for name, pol in policies.items():
    simulate(sc, name, replications=16, policy=pol)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        simulate(sc, name, replications=n, policy=pol)
        best = min(best, time.perf_counter() - t)
    out[name] = best / n * 1e6
print(json.dumps(out))
"""


def _turn(src: Path, policies: Path, replications: int, threads: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src), NUMBA_NUM_THREADS=str(threads))
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", _TURN, str(SCENARIO), str(policies), str(replications)],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="git commit to compare with (default: HEAD)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--behaviour", choices=("optimising", "fixed"), default="optimising")
    args = parser.parse_args(argv)
    from incentsim import load_scenario
    from incentsim.compile import fixed_policy
    from incentsim.model.policy import solve_policy

    sc = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory(prefix="incentsim-ab-") as tmp:
        tmp_path = Path(tmp)
        policies = tmp_path / "policies.pkl"
        with open(policies, "wb") as f:
            if args.behaviour == "fixed":
                solved = {name: fixed_policy(sc) for name in sc.schemes}
            else:
                solved = {name: solve_policy(sc, name).policy for name in sc.schemes}
            pickle.dump({n: (p.sales._asdict(), p.marketing._asdict(), p.any_timing) for n, p in solved.items()}, f)
        before = tmp_path / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(before), args.before],
                       check=True)  # fmt: skip
        try:
            commit = subprocess.run(["git", "-C", str(before), "rev-parse", "--short", "HEAD"], check=True,
                                    capture_output=True, text=True).stdout.strip()  # fmt: skip
            times: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for k in range(args.rounds):
                for label, src in (("before", before / "src"), ("after", ROOT / "src")):
                    times[label].append(_turn(src, policies, args.replications, args.threads))
                    print(f"round {k + 1} {label}: "
                          + ", ".join(f"{s} {v:.0f}" for s, v in times[label][-1].items()), flush=True)  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    print(f"\nus per replication, {args.behaviour} behaviour, {args.threads} thread(s), {args.replications:,} replications x 3 per turn, "
          f"{args.rounds} turns each; before = {commit}, after = this checkout")  # fmt: skip
    print(f"{'scheme':<10} {'before min':>10} {'after min':>10} {'change':>8} {'before med':>11} {'after med':>10}")
    for name in sc.schemes:
        b = [r[name] for r in times["before"]]
        a = [r[name] for r in times["after"]]
        change = (min(a) / min(b) - 1.0) * 100.0
        print(f"{name:<10} {min(b):>10.0f} {min(a):>10.0f} {change:>+7.1f}% "
              f"{statistics.median(b):>11.0f} {statistics.median(a):>10.0f}")  # fmt: skip
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
