"""``incentsim payout``: a scheme's payout curves as tables, so HR can check the plan they wrote."""

from __future__ import annotations

import click

from .options import check_outputs, load, scenario_argument, scheme_list, writing


@click.command("payout")
@scenario_argument
@click.option("--scheme", "scheme_text", metavar="NAME[,NAME]", help="Scheme(s) to show (default: all).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write the tables as CSV.")
def payout_cmd(scenario, scheme_text, csv_path):
    """Show each role's payout by attainment (0% to 200%) for the schemes of SCENARIO."""
    import pandas as pd

    from ..io import with_atomic_file
    from ..report.payout_table import payout_tables, tables_frame, tables_text

    check_outputs((csv_path, "--csv"))
    sc = load(scenario)
    frames = []
    for i, name in enumerate(scheme_list(sc, scheme_text)):
        scheme = sc.scheme(name)
        tables = payout_tables(sc, scheme)
        if i:
            click.echo("")
        click.echo(tables_text(sc, scheme, tables))
        frames.append(tables_frame(scheme, tables))
    if csv_path:
        df = pd.concat(frames, ignore_index=True)
        with writing():
            with_atomic_file(csv_path, lambda tmp: df.to_csv(tmp, index=False))
        click.echo(f"wrote {csv_path}")
