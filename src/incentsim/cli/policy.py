"""``incentsim policy``: what people choose under a scheme, and why it pays off or backfires."""

from __future__ import annotations

import click

from .options import check_outputs, load, scenario_argument, scheme_name, writing


@click.command("policy")
@scenario_argument
@click.option("--scheme", "scheme_text", metavar="NAME", help="Scheme to solve (default: the first).")
@click.option("--png", "png_path", type=click.Path(dir_okay=False), help="Also write the heatmaps as a PNG.")
@click.option("--ability", type=int, default=None, help="Show one ability level (0 = weakest) instead of all.")
def policy_cmd(scenario, scheme_text, png_path, ability):
    """Solve SCENARIO's scheme and show the chosen effort by week and attainment.

    Prints, for each ability level of rep, a heatmap of effort by week (columns) and attainment
    of the period target so far (rows), with the deal-timing choices at period ends (hold back,
    pull in), and marketing's chosen quality focus; optionally the same as a PNG.
    """
    from ..model.policy import solve_policy
    from ..report.policy_view import policy_figure, policy_text
    from ..scenario.errors import ScenarioError

    check_outputs((png_path, "--png", (".png",)))
    sc = load(scenario)
    name = scheme_name(sc, scheme_text)
    scheme = sc.scheme(name)
    levels = None
    if ability is not None:
        if not 0 <= ability < len(sc.sales.ability.levels):
            raise ScenarioError(sc.source, "sales.ability", f"--ability must be 0..{len(sc.sales.ability.levels) - 1}")
        levels = [ability]
    solved = solve_policy(sc, scheme)
    click.echo(policy_text(sc, scheme, solved, levels))
    if png_path:
        with writing():
            policy_figure(sc, scheme, solved, png_path)
        click.echo(f"wrote {png_path}")
