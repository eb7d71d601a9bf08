"""Batch studies on Dask: sweeps today, and the machinery later studies reuse.

The package has one module per concept:

- :mod:`~incentsim.batch.keypaths`: the scenario file's dotted key paths (read, set, validate
  an overridden scenario so errors point at the override);
- :mod:`~incentsim.batch.sweepfile`: the sweep file (``[grid]``, ``[[variants]]``, ``[design]``)
  validated into cells;
- :mod:`~incentsim.batch.runner`: running work items on Dask (:func:`run_items`,
  :class:`Runtime`);
- :mod:`~incentsim.batch.store`: the output folder (:class:`ResultStore`: one Parquet part per
  finished item, resume, the combined table);
- :mod:`~incentsim.batch.evaluate`: the evaluation sweeps and sensitivity share (a scenario
  compared under its schemes, as summary rows);
- :mod:`~incentsim.batch.run`: :func:`sweep` and :func:`run_sweep`.

The sweep from Python is ``incentsim.sweep(...)`` (the same function as :func:`sweep`).

Reusing the runtime
-------------------
Any study that evaluates many independent items (scenario variants, plausible "worlds" of an
uncertainty analysis, candidate plans of a plan-design search) runs on the same machinery::

    from incentsim.batch import ResultStore, Runtime, run_items

    def evaluate(item) -> list[dict]:          # module level, so Dask can pickle it
        ...                                    # randomness from the item only (e.g. key=(item.index,))
        return [{"item": item.index, "profit": ...}]

    store = ResultStore(out, fingerprint, {"what": "my study"}, what="study", part="world")
    table = run_items(items, evaluate, store=store, resume=True,
                      runtime=Runtime(workers=None, scheduler=None), progress=progress)

What the caller gets:

- **Where it runs**: an embedded ``LocalCluster`` by default (one process per core, one numba
  thread each; the first item runs here first so kernels compile once); an existing cluster
  with ``Runtime(scheduler="tcp://host:8786")`` or ``Runtime(client=client)`` (a ``warm_up``
  callable runs first on one worker per host); this process with ``Runtime(workers=0)``.
- **Results per item, written atomically**: each item's rows go to
  ``out/<part>s/<part>-NNNNNN.parquet`` (temporary file and rename, page checksums) as soon as
  it finishes, in whatever order items finish; ``out/results.parquet`` holds every row in item
  order at the end. An interruption (Ctrl-C, a killed worker or machine) loses no finished item.
- **Resume**: ``resume=True`` skips the items with a readable part; a damaged part (truncated,
  emptied, corrupted) is reported with one warning, deleted and its item run again. The
  ``fingerprint`` (a hash of everything that determines the results) guards against mixing two
  different studies in one folder.
- **Identical results for any number of workers**: nothing about the worker reaches the
  function, and results are ordered by item, so one worker, twenty or a cluster give
  bit-identical tables, provided the function draws its randomness from the item alone.
"""

from .evaluate import DIFF_STATS, STATS, CompareItem, compare_rows
from .run import run_sweep, sweep
from .runner import Runtime, map_items, run_items
from .store import ResultStore
from .sweepfile import Cell, Sweep, load_sweep, resolve_sweep

__all__ = [
    "DIFF_STATS", "STATS", "Cell", "CompareItem", "ResultStore", "Runtime", "Sweep", "compare_rows",
    "load_sweep", "map_items", "resolve_sweep", "run_items", "run_sweep", "sweep",
]  # fmt: skip
