"""``incentsim calibrate``: estimate the funnel from a CRM export and write a scenario file.

The export options defined here (``--column``, ``--dayfirst``, ``--stages``, ``--handoff``,
``--as-of``) are shared with ``incentsim replay``.
"""

from __future__ import annotations

import click

from .options import write_output


def export_options(func):
    """Options describing a CRM export's columns, dates and funnel (see ``incentsim.crm.format``)."""
    decorators = [
        click.option(
            "--column",
            "columns",
            multiple=True,
            metavar="NAME=HEADER",
            help="Read format column NAME from the file's HEADER, e.g. --column created=CreatedDate "
            "(repeatable; NAME may drop _date).",
        ),
        click.option("--dayfirst", is_flag=True, help="Read non-ISO dates day-first (05/03/2024 = 5 March)."),
        click.option(
            "--stages",
            "stages_text",
            metavar="A,B,C",
            help="Funnel stages in order (default lead,appointment,quote); each after the first has a "
            "<stage>_date column.",
        ),
        click.option("--handoff", default=None, help="First sales stage (default appointment)."),
        click.option("--as-of", "as_of", metavar="DATE", help="The export's date (default: its latest date)."),
    ]
    for dec in reversed(decorators):
        func = dec(func)
    return func


def read(export: str, columns, dayfirst, stages_text, handoff, as_of):
    """Read an export with the CLI's options (one-line ScenarioError on any problem)."""
    from ..crm.format import read_export
    from ..scenario.errors import ScenarioError

    mapping = {}
    for item in columns:
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise ScenarioError(export, "--column", f"expects NAME=HEADER, got {item!r}")
        mapping[key.strip()] = header.strip()
    stages = tuple(s for s in stages_text.split(",")) if stages_text else None
    return read_export(export, columns=mapping, stages=stages, handoff=handoff, dayfirst=dayfirst, as_of=as_of)


@click.command("calibrate")
@click.argument("export", metavar="EXPORT")
@click.option(
    "-o",
    "--out",
    "out_path",
    required=True,
    metavar="SCENARIO.toml",
    help="Scenario file to write (- for stdout).",
)
@export_options
@click.option(
    "--template",
    default="separate-vs-shared",
    show_default=True,
    metavar="SCENARIO",
    help="Scenario supplying what an export cannot show: pay, marketing headcount, behaviour.",
)
@click.option("--name", default=None, help="Scenario name (default: the output file's stem).")
def calibrate_cmd(export, out_path, columns, dayfirst, stages_text, handoff, as_of, template, name):
    """Estimate the funnel from EXPORT (a CRM export, .csv or .xlsx) and write a scenario.

    Estimates weekly lead inflow and its monthly seasonality, each stage's conversion and dwell
    time (open items as censored), the hand-off (follow-up delay, prospects going cold, ignored
    and recycled appointments), self-sourcing per rep, the spread of rep ability and the deal-value
    distribution; prints each with its 95% confidence interval and the records it rests on, and
    writes a commented scenario with the schemes separate, shared and hybrid. See README,
    "Calibrating from CRM data", for the export format.
    """
    from pathlib import Path

    from ..crm.estimate import calibrate
    from ..crm.writer import scenario_text
    from .options import check_outputs, load, writing

    check_outputs((out_path, "--out"))
    ex = read(export, columns, dayfirst, stages_text, handoff, as_of)
    tpl = load(template)
    cal = calibrate(ex, elasticity=tpl.behaviour.conversion_elasticity)
    stem = name or (Path(out_path).stem if out_path != "-" else Path(export).stem + "-calibrated")
    text, notes = scenario_text(cal, tpl, stem)
    with writing():
        write_output(out_path, text)
    echo = (lambda s: click.echo(s, err=True)) if out_path == "-" else click.echo
    echo(cal.report())
    for note in notes:
        echo(f"note: {note}")
    if out_path != "-":
        click.echo(f"wrote {out_path}; check it with: incentsim validate {out_path}")
