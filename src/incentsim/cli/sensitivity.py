"""``incentsim sensitivity``: which inputs move the verdict between two schemes, and which flip it."""

from __future__ import annotations

import time

import click

from .options import (
    behaviour_option,
    check_outputs,
    replications_range,
    scenario_argument,
    scenario_path,
    seed_option,
    write_output,
    writing,
)


@click.command("sensitivity")
@scenario_argument
@click.option(
    "--schemes",
    "schemes_text",
    metavar="A,B",
    help="The two schemes, baseline first (default: the first two).",
)
@click.option(
    "--ranges",
    "ranges_path",
    metavar="FILE.toml",
    help="Ranges of the inputs to vary (default: +-20% of the usual ones).",
)
@click.option(
    "-n", "--replications", type=replications_range(), default=1000, show_default=True,
    help="Replications per evaluation and scheme.",
)  # fmt: skip
@seed_option
@behaviour_option
@click.option(
    "--method", type=click.Choice(["morris", "sobol", "none"]), default="morris", show_default=True,
    help="Global sensitivity indices (SALib) besides the one-at-a-time tornado.",
)  # fmt: skip
@click.option("--trajectories", type=click.IntRange(2, 1000), default=2, show_default=True, help="Morris trajectories.")
@click.option(
    "--samples",
    type=click.IntRange(2, 2**20),
    default=16,
    show_default=True,
    help="Sobol base samples (power of 2).",
)
@click.option("--png", "png_path", metavar="PATH", help="Write the tornado chart as a PNG.")
@click.option("--json", "json_path", metavar="PATH|-", help="Write the results as JSON (- for stdout).")
@click.option(
    "--workers", type=click.IntRange(0, None), default=None,
    help="Processes of the embedded Dask cluster (default: the CPU cores); 0 runs here without Dask.",
)  # fmt: skip
@click.option("--scheduler", metavar="ADDRESS", help="Use an existing Dask cluster, e.g. tcp://10.0.0.5:8786.")
def sensitivity_cmd(
    scenario, schemes_text, ranges_path, replications, seed, behaviour, method, trajectories, samples,
    png_path, json_path, workers, scheduler,
):  # fmt: skip
    """Which inputs of SCENARIO move the difference in profit after bonuses between two schemes.

    One at a time, each input goes to the low and the high end of its range (default: +-20 %
    of the scenario's value for stage conversions and dwell times, lead rate, calls, deal value
    mean and CV, behaviour parameters and target levels); inputs are ranked by how far that
    swings the difference (a tornado), and those whose range can flip the verdict are flagged.
    Global Morris (default) or Sobol indices from SALib show the same with all inputs varying
    together. Every evaluation uses the same random numbers, so differences between
    evaluations come from the inputs, not from luck.

    \b
    Ranges file (--ranges):
      defaults = true                        # also vary the default inputs
      [ranges]
      funnel.quote.conversion = [0.4, 0.6]   # low and high
      deals.value_mean = "30%"               # +-30 % of the scenario's value
      deals.value_cv = "off"                 # leave a default input out
    """
    import json

    from ..sensitivity import sensitivity
    from .options import CellProgress

    check_outputs((png_path, "--png", (".png",)), (json_path, "--json"))
    scenario = str(scenario_path(scenario))
    schemes = None
    if schemes_text is not None:
        schemes = [s.strip() for s in schemes_text.split(",") if s.strip()]
    progress = CellProgress(label="evaluations")
    start = time.perf_counter()
    try:
        res = sensitivity(
            scenario,
            schemes,
            ranges=ranges_path,
            replications=replications,
            seed=seed,
            behaviour=behaviour,
            method=method,
            trajectories=trajectories,
            samples=samples,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    finally:
        progress.close()
    click.echo(f"{res.evaluations} evaluations in {time.perf_counter() - start:.1f} s", err=True)
    with writing():
        if png_path:
            res.plot(png_path)
        if json_path:
            write_output(json_path, json.dumps(res.to_json(), indent=2))
    if json_path != "-":
        click.echo(res.text())
