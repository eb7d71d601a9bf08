"""``incentsim sweep``: batch scenarios and parameter sweeps on Dask, streamed to Parquet."""

from __future__ import annotations

import sys
import time

import click

from .options import replications_option


class CellProgress:
    """Progress on stderr: a bar with cells (or evaluations) done and time left, when stderr is a terminal.

    Call it as ``progress(done, total)``: the first call starts the bar (``done`` > 0 when
    resuming), later calls advance it.
    """

    def __init__(self, label: str = "cells"):
        self.label = label
        self.bar = None
        self.done = 0
        self.total = 0
        self.before = 0

    def __call__(self, done: int, total: int) -> None:
        """Start the bar (first call) or move it to ``done`` of ``total``."""
        if self.bar is None:
            self.before, self.total = done, total
            if done:
                click.echo(f"resuming: {done} of {total} {self.label} already done, {total - done} to go", err=True)
            self.bar = click.progressbar(
                length=max(total - done, 1), label=self.label, file=sys.stderr, show_pos=True, show_eta=True
            )
            self.bar.__enter__()
        else:
            self.bar.update(done - self.done)
        self.done = done

    def close(self, *exc) -> None:
        """End the bar (safe to call twice)."""
        if self.bar is not None:
            self.bar.__exit__(*(exc or (None, None, None)))
            self.bar = None


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
@click.option("--show", type=click.IntRange(0, None), default=20, help="Cells to print at the end (0: none).")
def sweep_cmd(sweep_file, out, workers, scheduler, resume, replications, show):
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
    from ..scenario.errors import ScenarioError
    from ..sweep import load_sweep, run_sweep

    if workers is not None and scheduler:
        raise ScenarioError("--workers", "", "give either --workers (embedded cluster) or --scheduler, not both")
    from .options import scenario_path

    sw = load_sweep(str(scenario_path(sweep_file, sweeps=True)), replications=replications)
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
        click.echo(summary_text(table, sw, show))


def summary_text(table, sw, limit: int) -> str:
    """The profit-after-bonuses difference against the baseline, one line per cell."""
    import pandas as pd

    base = sw.schemes[0]
    others = [s for s in sw.schemes if s != base]
    if not others:
        cols = ["cell", *sw.parameters, "profit_after_bonus_mean"]
        view = table[cols]
    else:
        pieces = [table.loc[table.scheme == base, ["cell", *sw.parameters]].set_index("cell")]
        for s in others:
            rows = table.loc[table.scheme == s].set_index("cell")
            d = rows["profit_after_bonus_diff_mean"].round(0)
            lo = rows["profit_after_bonus_diff_ci95_lo"].round(0)
            hi = rows["profit_after_bonus_diff_ci95_hi"].round(0)
            pieces.append(
                pd.DataFrame(
                    {
                        f"{s} - {base}": d,
                        "95% CI": "[" + lo.map("{:,.0f}".format) + ", " + hi.map("{:,.0f}".format) + "]",
                        "P(better)": rows["profit_after_bonus_p_beats_baseline"].map("{:.0%}".format),
                    }
                )
            )
        view = pd.concat(pieces, axis=1).reset_index()
    reps = f"{sw.replications:,}"
    head = f"Profit after bonuses per year, each scheme minus {base} (mean over {reps} replications):"
    text = view.head(limit).to_string(index=False, float_format=lambda x: f"{x:,.6g}")
    more = f"\n... {len(view) - limit} more cells in results.parquet" if len(view) > limit else ""
    return f"{head}\n{text}{more}"
