"""``incentsim report``: a comparison as one self-contained HTML file for the board."""

from __future__ import annotations

import click

from .options import (
    FiniteFloat,
    Progress,
    behaviour_option,
    check_outputs,
    load,
    mechanisms_option,
    replications_option,
    scenario_argument,
    scheme_list,
    seed_option,
    write_output,
    writing,
)
from .uncertainty import check_options, uncertainty_options


@click.command("report")
@scenario_argument
@click.option("--schemes", "schemes_text", metavar="A,B", help="Schemes to compare, baseline first (default: all).")
@replications_option
@seed_option
@behaviour_option
@click.option(
    "--budget",
    type=FiniteFloat(0, None),
    default=None,
    help="Bonus budget per year, drawn on the bonus chart.",
)
@click.option("--out", "out_path", required=True, metavar="PATH.html", help="Where to write the HTML report.")
@click.option(
    "--design", "design_dir", metavar="DIR",
    help="Add a plan-design section: the folder of a finished `incentsim design` run on this scenario.",
)  # fmt: skip
@mechanisms_option
@uncertainty_options("--worlds-dir")
def report_cmd(
    scenario,
    schemes_text,
    replications,
    seed,
    behaviour,
    budget,
    out_path,
    design_dir,
    mechanisms,
    **uncertainty_opts,
):
    """Write a self-contained HTML report comparing the schemes of SCENARIO.

    The report opens offline (figures embedded, nothing fetched) and starts with the answer:
    which scheme makes the most profit after bonuses, by how much, how sure, and at what bonus
    cost. Then figures of profit, revenue, target attainment, bonus cost with P50/P90 budget
    lines, revenue by month and effort by week, marketing's appointments, the payout curves,
    every input used and the seed, scenario hash and version that reproduce it. With --design
    DIR, a section on the plan design run in DIR: the best plan, its verdict, the frontier, how
    it changes behaviour and its scheme block.

    With --uncertainty the report adds a section on how sure the verdict is across plausible
    worlds drawn from the scenario's [uncertainty] table (-n sets the replications of the
    comparison and of each world; without it each world has the table's, 2,000 by default).
    """
    from ..comparison import compare
    from ..report.html import comparison_html

    check_options(uncertainty_opts, "--worlds-dir", {})
    check_outputs((out_path, "--out"))
    sc = load(scenario, replications=replications, seed=seed, behaviour=behaviour)
    names = scheme_list(sc, schemes_text)
    extra = []
    if design_dir is not None:
        from ..report.design_view import design_section

        extra.append(design_section(design_dir, sc))  # checked before anything long runs
    across = None
    if uncertainty_opts["uncertainty"]:  # a bad [uncertainty] table stops before the comparison
        from . import uncertainty as cli_uncertainty

        across = cli_uncertainty.run(scenario, schemes_text, replications, seed, behaviour, uncertainty_opts)
    with Progress(0) as progress:  # replications "auto" (the default) runs to the scenario's precision
        cmp = compare(
            sc, names, budget=budget, progress=progress, keep=True, status=progress.status, mechanisms=mechanisms
        )  # every year
    html = comparison_html(cmp, uncertainty=across, extra=extra)
    with writing():
        write_output(out_path, html)
    if out_path != "-":
        click.echo(f"wrote {out_path} ({len(html.encode()) / 1024:,.0f} KB); open it in any browser, no network needed")
        click.echo(f"Verdict: {cmp.verdict}")
        if across is not None:
            click.echo(f"Across plausible worlds: {across.verdict}")
