"""``incentsim run``: simulate a scenario's schemes and show each distribution (no pairing)."""

from __future__ import annotations

import click

from .options import (
    Progress,
    behaviour_option,
    check_outputs,
    load,
    replications_option,
    scenario_argument,
    scheme_list,
    seed_option,
    writing,
)


@click.command("run")
@scenario_argument
@click.option("--schemes", "schemes_text", metavar="A,B", help="Schemes to simulate (default: all).")
@replications_option
@seed_option
@behaviour_option
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False),
    help="Write one row per replication-year and scheme (.parquet or .csv).",
)  # fmt: skip
@click.option(
    "--people", "people_path", type=click.Path(dir_okay=False),
    help="Write one row per person-year (payout, attainment, ability) (.parquet or .csv).",
)  # fmt: skip
def run_cmd(scenario, schemes_text, replications, seed, behaviour, out_path, people_path):
    """Simulate SCENARIO and print each scheme's distribution of the key figures."""
    from ..comparison import build_comparison
    from ..report.text import comparison_text
    from ..simulation import simulate

    tables = (".parquet", ".csv")
    check_outputs((out_path, "--out", tables), (people_path, "--people", tables))
    sc = load(scenario, replications=replications, seed=seed, behaviour=behaviour)
    names = scheme_list(sc, schemes_text)
    from ..memory import bytes_per_replication, check_kept

    s = sc.simulation
    check_kept(s.replications, bytes_per_replication(s.horizon_years, sc.sales.reps), len(names), sc.source)
    results = {}
    with Progress(sc.simulation.replications * len(names)) as progress:
        for name in names:
            results[name] = simulate(sc, name, progress=progress)
    with writing():
        if out_path:
            _write_table([r.to_frame() for r in results.values()], out_path)
        if people_path:
            _write_table([r.person_frame() for r in results.values()], people_path)
    cmp = build_comparison(sc, results)
    # A plain run shows distributions; pairing is the job of `compare`.
    cmp.differences = []
    text = comparison_text(cmp, hr=True)
    click.echo(text.replace("Verdict:", "Summary:"))
    if out_path:
        click.echo(f"wrote {out_path}")
    if people_path:
        click.echo(f"wrote {people_path}")


def _write_table(frames, path: str) -> None:
    import pandas as pd

    from ..io import with_atomic_file

    df = pd.concat(frames, ignore_index=True)
    if path.lower().endswith(".csv"):
        with_atomic_file(path, lambda tmp: df.to_csv(tmp, index=False))
    else:
        with_atomic_file(path, lambda tmp: df.to_parquet(tmp, index=False))
