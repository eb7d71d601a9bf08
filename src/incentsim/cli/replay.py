"""``incentsim replay``: last year's actual deals under each scheme, next to the simulation."""

from __future__ import annotations

import click

from .calibrate import export_options


@click.command("replay")
@click.argument("export", metavar="EXPORT")
@click.option("-s", "--scenario", "scenario", required=True, metavar="SCENARIO", help="Scenario with the schemes.")
@export_options
@click.option("--year", type=click.IntRange(1900, 2999), default=None, help="Year to replay (default: last complete).")
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(0, 100_000_000),
    default=2000,
    show_default=True,
    help="Simulated company-years per scheme for the comparison (0: none).",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Root seed; default: the scenario's.")
def replay_cmd(export, scenario, columns, dayfirst, stages_text, handoff, as_of, year, replications, seed):
    """Apply each scheme of SCENARIO to the actual deals of the last complete year in EXPORT.

    Prints each scheme's payouts per role and person and the total bonus cost, computed with the
    scheme's own rules (periods, targets, curves, caps, true-up), next to the distribution the
    scenario simulates (fixed behaviour, common random numbers), with the percentile of last
    year's revenue and bonus cost in it.
    """
    from ..crm.replay import replay
    from .calibrate import read
    from .options import Progress, load

    ex = read(export, columns, dayfirst, stages_text, handoff, as_of)
    sc = load(scenario)
    rp = replay(ex, sc, year=year)
    if replications:
        with Progress(replications * len(sc.schemes)) as progress:
            rp.simulate(replications, seed=seed, progress=progress)
    click.echo(rp.report())
