"""``incentsim design``: search a plan family for the best targets and payout curves under limits."""

from __future__ import annotations

import time

import click

from .options import CellProgress, behaviour_option, replications_option, seed_option


@click.command("design")
@click.argument("design_file", metavar="DESIGN.toml")
@click.option("--out", "out", metavar="DIR", required=True, help="Folder for the results (created if missing).")
@click.option(
    "--workers", type=click.IntRange(0, None), default=None,
    help="Processes of the embedded Dask cluster (default: the CPU cores); 0 runs here without Dask.",
)  # fmt: skip
@click.option("--scheduler", metavar="ADDRESS", help="Use an existing Dask cluster, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Finish an interrupted design in DIR, reusing its finished candidates.")
@click.option("--trials", type=click.IntRange(2, 100_000), default=None, help="Candidate plans; default: the file's.")
@replications_option
@seed_option
@behaviour_option
@click.option("--json", "json_path", metavar="PATH|-", help="Also write the summary as JSON (- for stdout).")
def design_cmd(design_file, out, workers, scheduler, resume, trials, replications, seed, behaviour, json_path):
    """Search the plan family of DESIGN.toml for the plan that makes the most profit within its limits.

    The design file names its base scenario, the plan to start from, the parameters that may move
    (with bounds), the objective and the constraints (bonus budget at P90, probability of exceeding
    a budget, share with no bonus, pay at target, cost of sales, Gini). Optuna's TPE sampler asks
    for candidate plans in rounds; each is solved (people respond) and simulated on the same years
    (common random numbers) on Dask workers; the best few are re-evaluated on fresh years. Prints
    the best plan with its verdict against the baseline, the optimism removed, how it changes
    behaviour, the trade-off frontiers and the scheme block to paste into the scenario file.

    \b
    DIR gets trials/ and finals/ (one file per candidate, written as it finishes), results.parquet
    (one row per trial), finals.parquet, summary.json, best-scheme.toml, frontier.csv and
    frontier.png. After an interruption, run the same command with --resume.
    """
    import json

    from ..batch.runner import Runtime
    from ..optimise import load_design
    from ..optimise.search import run_design
    from ..report.design_view import design_text
    from .options import check_outputs, write_output, writing

    Runtime(workers, scheduler).check()
    check_outputs((json_path, "--json"))  # before the search, not after it
    d = load_design(design_file, trials=trials, replications=replications, seed=seed, behaviour=behaviour)
    where = f"the Dask cluster at {scheduler}" if scheduler else (
        "this process" if workers == 0 else f"an embedded Dask cluster ({workers or 'one process per core'})"
    )  # fmt: skip
    click.echo(
        f"design {d.name}: {d.trials} candidate plans ({d.sampler.upper()}, rounds of {d.batch}) of {d.family_name} "
        f"over {', '.join(p.describe() for p in d.parameters)}; objective {d.objective}; {d.replications:,} "
        f"replications each, behaviour {d.behaviour}; {d.finalists} finalists on {d.final_replications:,} fresh "
        f"replications; on {where}",
        err=True,
    )
    start = time.perf_counter()
    progress = CellProgress("plans")
    try:
        result = run_design(d, out, workers=workers, scheduler=scheduler, resume=resume, progress=progress)
    except KeyboardInterrupt:
        progress.close()
        click.echo(
            f"{progress.done} candidate evaluations are saved in {out}; run again with --resume to finish", err=True
        )
        raise
    progress.close()
    click.echo(f"done in {time.perf_counter() - start:.1f} s -> {out}/summary.json, {out}/best-scheme.toml", err=True)
    click.echo(design_text(result.summary))
    if json_path:
        with writing():
            write_output(json_path, json.dumps(result.summary, indent=2, default=str))
