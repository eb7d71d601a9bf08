"""Where a warm ``incentsim compare`` spends its time (prints one JSON line).

``python -m benchmarks.cli_profile ARGS...`` runs the ``incentsim`` command line in this process
under ``cProfile`` and sums the cumulative time of a few functions: imports before the command
starts, the simulation kernel (its worker threads' wall time), the policy solver (``solve_policy``), building
the comparison (summaries, paired differences), and writing the text report. Run it with the
same cache folders as a warm run.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time

#: Bucket -> (file suffix, function name) whose cumulative time is reported.
BUCKETS = {
    "imports": ("<frozen importlib._bootstrap>", "_find_and_load"),
    # The kernel runs in worker threads, which cProfile does not see: the main thread's wait for
    # them (``_run_units``) is the kernel's wall time.
    "kernel": ("incentsim/simulation.py", "_run_units"),
    "solve_policy": ("model/policy.py", "solve_policy"),
    "simulate (all)": ("incentsim/simulation.py", "simulate"),
    # ``compare`` builds its comparison from running sums (``_from_accumulator``); a kept run
    # from the results (``build_comparison``): both are counted.
    "build_comparison": ("incentsim/comparison.py", ("build_comparison", "_from_accumulator")),
    "text report": ("report/text.py", "comparison_text"),
}


def main(argv: list[str] | None = None) -> None:
    """Profile ``incentsim ARGS`` and print the buckets (seconds) as JSON."""
    started = time.perf_counter()
    from incentsim.cli.main import cli

    imported = time.perf_counter() - started
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    try:
        cli(
            args=list(argv if argv is not None else sys.argv[1:]),
            prog_name="incentsim",
            standalone_mode=False,
        )
    finally:
        prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof).stats
    out = {"import_cli": imported, "command": total}
    for name, (suffix, func) in BUCKETS.items():
        funcs = (func,) if isinstance(func, str) else func
        out[name] = sum(
            v[3] for (file, _line, fn), v in stats.items() if fn in funcs and file.replace("\\", "/").endswith(suffix)
        )
    print(json.dumps(out), file=sys.__stdout__)


if __name__ == "__main__":
    main()
