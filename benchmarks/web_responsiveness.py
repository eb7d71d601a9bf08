"""How quickly the web page answers after a change (prints one table and one JSON line).

``python -m benchmarks.web_responsiveness [--replications 2000] [--repeats 3]`` does what
``incentsim serve`` does on a click of *Run comparison*, in this process and through the same
functions (:class:`incentsim.web.draft.Draft`, :func:`incentsim.web.runner.run_comparison`, the
report's answer and tables): on the bundled ``separate-vs-shared`` (three schemes, behaviour
``optimising``, the seed of the file) at 2,000 replications,

1. ``first run``: everything from cold in this process (kernels load from numba's disk cache,
   or compile if it is empty; calibration and policies are solved and cached on disk);
2. ``change + run``: the quote conversion changes to a value not seen before (so the effort
   costs are recalibrated and every scheme's policy solved anew: the worst case of an edit),
   then the comparison runs and the answer is formatted; best of ``--repeats`` distinct values;
3. ``same inputs again``: a rerun without a change (policies come from the disk cache);
4. ``figures``: drawing the page's figures after the answer is on screen (the page shows
   them as they come, so they do not delay the answer).

The figure to quote is ``change + run``. Caches go to a fresh temporary folder unless
``INCENTSIM_CACHE_DIR`` is set (numba's kernel cache is left where it is, so "first run" is
warm once the kernels have been compiled on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main(argv: list[str] | None = None) -> dict:
    """Measure and print the figures (seconds); return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("INCENTSIM_CACHE_DIR", tempfile.mkdtemp(prefix="incentsim-bench-web-"))

    t0 = time.perf_counter()
    from incentsim.i18n import language
    from incentsim.scenario.bundled import bundled
    from incentsim.web.draft import Draft
    from incentsim.web.runner import Job, run_comparison
    from incentsim.web.views import answer, figure_keys, figure_png, tables

    imported = time.perf_counter() - t0

    cpu: list[float] = []
    cpu_seconds: list[float] = []

    def click(draft: Draft) -> tuple[float, object]:
        started = time.perf_counter()
        cpu0 = time.process_time()
        sc = draft.check().scenario
        job = Job(total=sc.simulation.replications * len(sc.schemes))
        cmp = run_comparison(job, sc)
        with language("en"):
            answer(cmp)
            tables(cmp)
        wall = time.perf_counter() - started
        cpu_seconds.append(time.process_time() - cpu0)
        cpu.append(cpu_seconds[-1] / wall)
        return wall, cmp

    draft = Draft.from_path(bundled()["separate-vs-shared"], page_replications=None)
    draft.set("simulation.replications", args.replications)
    first, cmp = click(draft)
    changes = []
    for i in range(args.repeats):
        draft.set("funnel.quote.conversion", round(0.47 + 0.011 * (i + 1), 4))
        changes.append(click(draft)[0])
    again, cmp = click(draft)
    started = time.perf_counter()
    keys = figure_keys(cmp)
    for key in keys:
        figure_png(cmp, key)
    figures = time.perf_counter() - started

    out = {
        "scenario": "separate-vs-shared",
        "schemes": len(cmp.schemes),
        "replications": args.replications,
        "behaviour": "optimising",
        "import_s": round(imported, 3),
        "first_run_s": round(first, 3),
        "change_and_run_best_s": round(min(changes), 3),
        "change_and_run_all_s": [round(c, 3) for c in changes],
        "same_inputs_again_s": round(again, 3),
        "figures_s": round(figures, 3),
        "figures": len(keys),
        "cpu_count": os.cpu_count(),
        # CPU seconds per wall second of each click: about 2 on a quiet 2-core machine; less means
        # other jobs took the cores and the wall times above are inflated by that much.
        "cores_used": [round(c, 2) for c in cpu],
        "cpu_s": [round(c, 2) for c in cpu_seconds],
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    rows = [
        ("first run in a new process", out["first_run_s"]),
        ("change (quote conversion) + run, best", out["change_and_run_best_s"]),
        ("same inputs again (policies cached)", out["same_inputs_again_s"]),
        (f"all {len(keys)} figures after the answer", out["figures_s"]),
    ]
    print(f"Web page responsiveness: separate-vs-shared, {len(cmp.schemes)} schemes x {args.replications:,} "
          "replications, behaviour optimising")  # fmt: skip
    for label, secs in rows:
        print(f"  {label:<44} {secs:7.2f} s")
    print(f"  cores used per click: {', '.join(f'{c:.2f}' for c in cpu)} (2.0 = the machine to itself); "
          f"load average {out['load_average_1min']}")
    print(f"  CPU seconds per click: {', '.join(f'{c:.1f}' for c in cpu_seconds)} (first, changes..., again)")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
