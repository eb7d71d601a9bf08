"""``incentsim compare``: schemes side by side on common random numbers."""

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


@click.command("compare")
@scenario_argument
@click.option("--schemes", "schemes_text", metavar="A,B", help="Schemes to compare, baseline first (default: all).")
@replications_option
@seed_option
@behaviour_option
@click.option("--budget", type=FiniteFloat(0, None), default=None, help="Bonus budget per year, for P(over budget).")
@click.option("--json", "json_path", metavar="PATH|-", help="Write the comparison as JSON (- for stdout).")
@click.option("--all-metrics", is_flag=True, help="Show every metric, not only the key ones.")
@click.option("--brief", is_flag=True, help="Show only the key figures and the verdict.")
@click.option("--plot", "plot_path", metavar="PATH.png", help="Write one summary figure (.png, .svg or .pdf).")
@click.option("--markdown", "markdown_path", metavar="PATH|-", help="Write the comparison as Markdown (- for stdout).")
@click.option(
    "--precision", type=FiniteFloat(0, 1, min_open=True), default=None,
    help="Add replications in batches until the 95% CI of the profit difference behind the verdict is "
    "narrower than this share of the difference (e.g. 0.02), or --max-replications is reached. "
    "Default: the scenario's precision when its replications are \"auto\" (the default).",
)  # fmt: skip
@click.option("--max-replications", type=click.IntRange(1, None), default=None,
              help="Cap for a run to a precision; default: the scenario's max_replications with \"auto\", "
              "else 1,000,000.")  # fmt: skip
@mechanisms_option
@uncertainty_options()
def compare_cmd(
    scenario, schemes_text, replications, seed, behaviour, budget, json_path, all_metrics, brief, plot_path,
    markdown_path, precision, max_replications, mechanisms, **uncertainty_opts,
):  # fmt: skip
    """Compare the schemes of SCENARIO (a file, or a bundled name such as separate-vs-shared).

    Prints, per metric, the mean and P5/P50/P95 of each scheme, the paired difference against
    the first (baseline) scheme with its 95% confidence interval and the probability that the
    scheme beats the baseline in a year; then the HR view of pay and a verdict on profit after
    bonuses. With replications "auto" (the default; -n N runs exactly N), replications are
    added in batches until the verdict's profit difference is known to the scenario's precision.
    When the scenario switches team work on ([behaviour] help_gain, event_gain, passing,
    monitoring), it also shows what each mechanism adds under each scheme.

    With --uncertainty: the same comparison in each of many plausible worlds drawn from the
    scenario's [uncertainty] table (see the README, "How sure, really").
    """
    check_options(
        uncertainty_opts, "--out", {"--budget": budget, "--markdown": markdown_path, "--precision": precision,
                                    "--all-metrics": all_metrics},
    )  # fmt: skip
    if uncertainty_opts["uncertainty"]:
        return _across_worlds(scenario, schemes_text, replications, seed, behaviour, uncertainty_opts, json_path,
                              plot_path, brief)  # fmt: skip
    import json

    from ..scenario.errors import ScenarioError

    if json_path == "-" and markdown_path == "-":
        raise click.UsageError("--json - and --markdown - cannot both write to stdout")
    if plot_path:
        from ..report.plots import plot_format

        try:
            plot_format(plot_path)
        except ValueError as exc:
            raise ScenarioError(plot_path, "--plot", str(exc)) from None
    check_outputs((json_path, "--json"), (plot_path, "--plot"), (markdown_path, "--markdown"))
    sc = load(scenario, replications=replications, seed=seed, behaviour=behaviour)
    names = scheme_list(sc, schemes_text)
    first = None
    if precision is not None and replications is None and not sc.simulation.auto:
        first = min(sc.simulation.replications, 1000)  # a first batch
    # Per-replication arrays are kept only for the figure; otherwise summaries stream (flat memory).
    with Progress(0) as progress:
        from ..comparison import compare

        cmp = compare(
            sc, names, replications=first, budget=budget, progress=progress, precision=precision,
            max_replications=max_replications, keep=bool(plot_path), status=progress.status, mechanisms=mechanisms,
        )  # fmt: skip
    from ..report.text import comparison_text
    from ..results import METRICS

    with writing():
        if json_path:
            write_output(json_path, json.dumps(cmp.to_json(), indent=2))
        if plot_path:
            from ..report.plots import save_figure, summary_figure

            save_figure(summary_figure(cmp), plot_path)
        if markdown_path:
            from ..report.markdown import comparison_markdown

            write_output(markdown_path, comparison_markdown(cmp, image=plot_path or None, path=markdown_path))
    if "-" not in (json_path, markdown_path):
        click.echo(comparison_text(cmp, metrics=tuple(METRICS) if all_metrics else None, brief=brief))


def _across_worlds(scenario, schemes_text, replications, seed, behaviour, opts, json_path, plot_path, brief) -> None:
    """``compare --uncertainty``: the two-level simulation and its outputs."""
    from . import uncertainty as cli_uncertainty

    if plot_path:
        from ..report.plots import plot_format
        from ..scenario.errors import ScenarioError

        try:
            plot_format(plot_path)
        except ValueError as exc:
            raise ScenarioError(plot_path, "--plot", str(exc)) from None
    # Before the worlds run (minutes), not after: an output that cannot be written is refused now.
    check_outputs((json_path, "--json"), (plot_path, "--plot"))
    res = cli_uncertainty.run(scenario, schemes_text, replications, seed, behaviour, opts)
    cli_uncertainty.show(res, json_path, plot_path, brief)
