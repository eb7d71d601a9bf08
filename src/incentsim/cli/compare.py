"""``incentsim compare``: schemes side by side on common random numbers."""

from __future__ import annotations

import click

from .options import (
    Progress,
    behaviour_option,
    load,
    replications_option,
    scenario_argument,
    scheme_list,
    seed_option,
    write_output,
)


@click.command("compare")
@scenario_argument
@click.option("--schemes", "schemes_text", metavar="A,B", help="Schemes to compare, baseline first (default: all).")
@replications_option
@seed_option
@behaviour_option
@click.option("--budget", type=click.FloatRange(0, None), default=None, help="Bonus budget per year, for P(over budget).")
@click.option("--json", "json_path", metavar="PATH|-", help="Write the comparison as JSON (- for stdout).")
@click.option("--all-metrics", is_flag=True, help="Show every metric, not only the key ones.")
def compare_cmd(scenario, schemes_text, replications, seed, behaviour, budget, json_path, all_metrics):
    """Compare the schemes of SCENARIO (a file, or a bundled name such as separate-vs-shared).

    Prints, per metric, the mean and P5/P50/P95 of each scheme, the paired difference against
    the first (baseline) scheme with its 95% confidence interval and the probability that the
    scheme beats the baseline in a year; then the HR view of pay and a verdict on profit after
    bonuses.
    """
    import json

    from ..comparison import compare
    from ..report.text import comparison_text
    from ..results import METRICS

    sc = load(scenario, replications=replications, seed=seed, behaviour=behaviour)
    names = scheme_list(sc, schemes_text)
    total = sc.simulation.replications * len(names)
    with Progress(total) as progress:
        cmp = compare(sc, names, budget=budget, progress=progress)
    if json_path:
        write_output(json_path, json.dumps(cmp.to_json(), indent=2))
    if json_path != "-":
        click.echo(comparison_text(cmp, metrics=tuple(METRICS) if all_metrics else None))
