"""Time and peak memory of ``simulate`` at one size, in a fresh process (prints one JSON line).

``python -m benchmarks.scaling_probe N [--repeat K] [--behaviour fixed|optimising]``: loads the
bundled scenario, warms the kernel up, times ``simulate`` on N replications K times (best kept),
then runs it once more for memory: the peak of ``tracemalloc``-traced allocations (numpy's
arrays; the kernel's scratch arrays are freed per replication), and the resident set before that
run and after it, with its results still alive.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc


def _maxrss() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def _rss_now() -> int:
    """Resident set size now, bytes (Linux ``/proc``; the peak so far elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return _maxrss()


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("replications", type=int)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--behaviour", default="fixed")
    a = ap.parse_args(argv)

    t_start = time.perf_counter()
    from benchmarks.harness import run_kernel, scenario, solved
    from incentsim import simulation  # noqa: F401

    sc = scenario()
    t_imported = time.perf_counter()
    if a.behaviour != "fixed":
        solved()
    t_first = time.perf_counter()
    run_kernel(sc, 64, a.behaviour)  # load the compiled kernel from numba's cache
    first_call = time.perf_counter() - t_first
    # Time first, without tracemalloc: it also traces the kernel's own scratch allocations
    # (numba's runtime allocates through Python's raw allocator), which slows the threads down.
    times, cpus = [], []
    for _ in range(a.repeat):
        c0, t0 = os.times(), time.perf_counter()
        res = run_kernel(sc, a.replications, a.behaviour)
        t1, c1 = time.perf_counter(), os.times()
        times.append(t1 - t0)
        cpus.append(c1.user + c1.system - c0.user - c0.system)
        del res
    rss_before = _rss_now()
    tracemalloc.start()
    res = run_kernel(sc, a.replications, a.behaviour)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_after = _rss_now()  # the results are still alive
    del res
    out = {
        "replications": a.replications,
        "horizon_years": sc.simulation.horizon_years,
        "best": min(times),
        "times": times,
        "cpu_best": cpus[times.index(min(times))],
        "import_seconds": t_imported - t_start,
        "first_call_seconds": first_call,
        "traced_peak": traced_peak,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "rss_peak": _maxrss(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
