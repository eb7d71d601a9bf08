"""``incentsim forecast``: rolling forecasts, their errors, and the pipeline coverage needed."""

from __future__ import annotations

import click

from .options import (
    Progress,
    behaviour_option,
    check_outputs,
    load,
    replications_option,
    scenario_argument,
    scheme_name,
    seed_option,
    writing,
)


@click.command("forecast")
@scenario_argument
@click.option("--scheme", "scheme_text", metavar="NAME", help="Scheme to simulate (default: the first).")
@replications_option
@seed_option
@behaviour_option
@click.option("--png", "png_path", type=click.Path(dir_okay=False), help="Also write the fan chart as a PNG.")
def forecast_cmd(scenario, scheme_text, replications, seed, behaviour, png_path):
    """Forecast the year's bookings from each month end's pipeline, and check the forecasts.

    Compares the usual weighted-pipeline forecast with a timing-aware one against the simulated
    actual, month by month, and gives the pipeline coverage needed at each quarter start to hit
    the target with 80% and 90% probability. With behaviour on, also shows how much deal timing
    (holding back, pulling in) degrades forecast accuracy against fixed behaviour.
    """
    from ..model.forecast import forecasts
    from ..report.forecast_view import forecast_figure, forecast_text
    from ..simulation import simulate

    check_outputs((png_path, "--png", (".png",)))
    sc = load(scenario, replications=replications, seed=seed, behaviour=behaviour)
    name = scheme_name(sc, scheme_text)
    scheme = sc.scheme(name)
    runs = 2 if sc.simulation.behaviour == "optimising" else 1
    with Progress(sc.simulation.replications * runs) as progress:
        res = simulate(sc, scheme, record_pipeline=True, progress=progress)
        fixed = None
        if runs == 2:
            fixed = simulate(sc, scheme, record_pipeline=True, behaviour="fixed", progress=progress)
    ft = forecasts(sc, scheme, res)
    ft_fixed = forecasts(sc, scheme, fixed) if fixed is not None else None
    click.echo(forecast_text(sc.name, name, sc.currency, ft, ft_fixed))
    if png_path:
        with writing():
            forecast_figure(sc.name, name, sc.currency, ft, png_path)
        click.echo(f"wrote {png_path}")
