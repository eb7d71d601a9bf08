"""Running a sweep: every cell under every scheme on the batch runtime, streamed to its folder.

Cell *i* is ``compare(scenario_i, schemes, replications, seed, key=(i,))``: its random streams
come from the sweep's root seed and the cell index, never from the worker, so one worker and
twenty give bit-identical tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .evaluate import CompareItem, compare_rows, warm_up
from .runner import Progress, Runtime, run_items
from .store import ResultStore
from .sweepfile import Sweep, load_sweep, with_settings


def sweep_store(sw: Sweep, out: str | Path) -> ResultStore:
    """The output folder of a sweep: ``cells/cell-NNNNNN.parquet``, ``sweep.json``, ``results.parquet``."""
    return ResultStore(Path(out), sw.fingerprint, sw.manifest(), what="sweep", part="cell", manifest_name="sweep.json")


def sweep_items(sw: Sweep) -> list[CompareItem]:
    """The work items of a sweep, one per cell, in cell order."""
    return [CompareItem(c.index, c.params, c.scenario, sw.schemes, c.key) for c in sw.cells]


def run_sweep(
    sw: Sweep,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    progress: Progress | None = None,
) -> Any:
    """Run a validated sweep; return its table (one row per cell and scheme).

    Parameters
    ----------
    sw : Sweep
        A sweep from :func:`~incentsim.batch.sweepfile.load_sweep`.
    out : str or Path, optional
        Output folder: part files per cell, ``sweep.json`` and ``results.parquet``. Without it the
        table is only returned (nothing to resume).
    workers, scheduler, client
        Where cells run; see :class:`~incentsim.batch.runner.Runtime`.
    resume : bool
        Skip the cells already finished in ``out`` (the folder must hold this same sweep); a cell
        whose file cannot be read back is run again, with a warning.
    progress : callable, optional
        ``progress(done, total)`` in cells.

    Returns
    -------
    pandas.DataFrame
    """
    store = sweep_store(sw, out) if out is not None else None
    return run_items(
        sweep_items(sw),
        compare_rows,
        store=store,
        resume=resume,
        runtime=Runtime(workers, scheduler, client),
        progress=progress,
        warm_up=warm_up,
    )


def sweep(
    spec: str | Path | dict | Sweep,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
    progress: Progress | None = None,
) -> Any:
    """Run a sweep file on Dask and return its results as a pandas DataFrame.

    Parameters
    ----------
    spec : str, Path, dict or Sweep
        A sweep TOML file (path or bundled name), its parsed dict, or a loaded :class:`Sweep`.
    out : str or Path, optional
        Folder for the results (``cells/`` part files, ``sweep.json``, ``results.parquet``).
    workers : int, optional
        Processes of the embedded Dask cluster (default: the cores available); 0 runs in this
        process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    client : distributed.Client, optional
        An existing client (for example in a notebook); left open.
    resume : bool
        Continue an interrupted sweep in ``out``, skipping its finished cells.
    replications, seed, behaviour : optional
        Override the sweep file's settings.
    progress : callable, optional
        ``progress(done, total)`` in cells.

    Returns
    -------
    pandas.DataFrame
        One row per cell and scheme: ``cell``, the swept key paths, ``scheme``, ``baseline``,
        ``replications``, ``seed``, ``behaviour``, ``scenario_hash``, ``M_mean/std/p5/p50/p95``
        for every metric M, and ``M_diff_mean``, ``M_diff_ci95_lo``, ``M_diff_ci95_hi``,
        ``M_p_beats_baseline`` against the baseline scheme (NaN in the baseline's rows).

    Examples
    --------
    >>> import incentsim
    >>> df = incentsim.sweep("scenarios/sweep-example.toml", "out/example")  # doctest: +SKIP
    >>> df.pivot_table("profit_after_bonus_diff_mean", "cell", "scheme")  # doctest: +SKIP
    """
    if isinstance(spec, Sweep):
        if replications is not None or seed is not None or behaviour is not None:
            spec = with_settings(spec, replications, seed, behaviour)
        sw = spec
    else:
        sw = load_sweep(spec, replications=replications, seed=seed, behaviour=behaviour)
    return run_sweep(sw, out, workers=workers, scheduler=scheduler, client=client, resume=resume, progress=progress)
