"""``incentsim sweep``: batch scenarios and parameter sweeps on Dask, streamed to Parquet."""

from __future__ import annotations

import time

import click

from .options import CellProgress, behaviour_option, replications_option


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.toml")
@click.option("--out", "out", metavar="DIR", required=True, help="Folder for the results (created if missing).")
@click.option(
    "--workers", type=click.IntRange(0, None), default=None,
    help="Processes of the embedded Dask cluster (default: the CPU cores); 0 runs here without Dask.",
)  # fmt: skip
@click.option("--scheduler", metavar="ADDRESS", help="Use an existing Dask cluster, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Finish an interrupted sweep in DIR, skipping its finished cells.")
@replications_option
@behaviour_option
@click.option("--show", type=click.IntRange(0, None), default=20, help="Cells to print at the end (0: none).")
def sweep_cmd(sweep_file, out, workers, scheduler, resume, replications, behaviour, show):
    """Run the sweep in SWEEP.toml: every cell under every scheme, on common random numbers.

    Each cell (a scenario variant) is simulated from the sweep's root seed and the cell's
    index, so results do not depend on the number of workers. Each finished cell is written at
    once to DIR/cells/; at the end DIR/results.parquet holds one row per cell and scheme with
    the cell's parameters, mean/std/P5/P50/P95 of every metric and the paired difference against
    the baseline (first) scheme. After an interruption, run the same command with --resume.

    \b
    By default the cells run on an embedded Dask cluster on this machine (one process per
    core). To scale out, start a scheduler and workers (see the README) and pass --scheduler.
    """
    from ..batch import load_sweep, run_sweep
    from ..batch.runner import Runtime
    from ..report.sweep_view import sweep_summary_text

    Runtime(workers, scheduler).check()
    from .options import scenario_path

    sw = load_sweep(str(scenario_path(sweep_file, sweeps=True)), replications=replications, behaviour=behaviour)
    n = len(sw.cells)
    where = f"the Dask cluster at {scheduler}" if scheduler else (
        "this process" if workers == 0 else f"an embedded Dask cluster ({workers or 'one process per core'})"
    )  # fmt: skip
    click.echo(
        f"sweep {sw.name}: {n} cells x {len(sw.schemes)} schemes ({', '.join(sw.schemes)}), "
        f"{sw.replications:,} replications each, behaviour {sw.behaviour}, on {where}",
        err=True,
    )
    start = time.perf_counter()
    progress = CellProgress()
    try:
        table = run_sweep(sw, out, workers=workers, scheduler=scheduler, resume=resume, progress=progress)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"{progress.done} of {n} cells are saved in {out}; run again with --resume to finish", err=True)
        raise
    except Exception as exc:
        progress.close()
        if type(exc).__name__ == "KilledWorker":
            raise click.ClickException(
                f"a cell kept killing its workers (out of memory?): {exc}. "
                f"Finished cells are saved in {out}; "
                "rerun with --resume"
            ) from None
        raise
    progress.close()
    seconds = time.perf_counter() - start
    click.echo(f"{n} cells ({len(table)} rows) in {seconds:.1f} s -> {out}/results.parquet", err=True)
    if show:
        click.echo(sweep_summary_text(table, sw, show))
