"""Peak memory of long comparisons: summaries stream, so memory stays flat in the replications.

``python -m benchmarks.streaming_memory [--replications 10000,100000,1000000] [--schemes separate,shared]``
(or ``make bench-memory``) runs ``compare`` on the bundled 8-rep company with fixed behaviour in a
fresh process per size and prints the peak resident memory (``ru_maxrss``) and the time of each,
then one run of the smallest size above one block with every replication kept (``keep=True``),
for contrast. Each process imports incentsim first and reports its resident memory before the
run, so the table separates the libraries' footprint from what the run adds.

Figures depend on the machine and on what else runs; the peak does not depend on the run's
length once it exceeds one block (``incentsim.accumulate.block_replications``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "separate-vs-shared.toml"

_CHILD = r"""
import json, resource, sys, time
from incentsim import load_scenario
from incentsim.comparison import compare
n, schemes, keep = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3] == "keep"
sc = load_scenario(sys.argv[4], behaviour="fixed")
compare(sc, schemes, replications=64, seed=1)  # compile / load the kernels first
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t = time.perf_counter()
cmp = compare(sc, schemes, replications=n, seed=1, keep=keep)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"replications": n, "keep": keep, "before_bytes": before, "peak_bytes": peak,
                  "seconds": seconds, "block": cmp.block, "exact": cmp.exact,
                  "profit_mean": cmp.summaries[schemes[0]]["profit_after_bonus"].mean}))
"""


def measure(n: int, schemes: str, keep: bool) -> dict:
    """Run one comparison in a fresh process and return its figures."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n), schemes, "keep" if keep else "stream", str(SCENARIO)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write JSON with ``--out``)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", default="10000,100000,1000000")
    ap.add_argument("--schemes", default="separate,shared")
    ap.add_argument("--keep-replications", type=int, default=100_000, help="size of the keep=True contrast (0: none)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    rows = []
    sizes = [int(x) for x in args.replications.split(",") if x]
    runs = [(n, False) for n in sizes] + ([(args.keep_replications, True)] if args.keep_replications else [])
    for n, keep in runs:
        print(f"[{time.strftime('%H:%M:%S')}] {n:,} replications, keep={keep} ...", file=sys.stderr, flush=True)
        rows.append(measure(n, args.schemes, keep))
    print(f"compare {SCENARIO.name}, schemes {args.schemes}, fixed behaviour (peak resident memory, fresh process)")
    print(f"{'replications':>13} {'kept':>5} {'before run':>11} {'peak':>9} {'added':>9} {'seconds':>8}  summaries")
    for r in rows:
        mb = 2**20
        added = r["peak_bytes"] - r["before_bytes"]
        how = "exact" if r["exact"] else f"streamed (blocks of {r['block']:,})"
        print(
            f"{r['replications']:>13,} {'yes' if r['keep'] else 'no':>5} {r['before_bytes'] / mb:>8,.0f} MB "
            f"{r['peak_bytes'] / mb:>6,.0f} MB {added / mb:>6,.0f} MB {r['seconds']:>8.1f}  {how}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
