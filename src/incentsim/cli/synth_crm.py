"""``incentsim synth-crm``: a synthetic CRM export from a known scenario (for round trips)."""

from __future__ import annotations

import click

from .options import scenario_argument


@click.command("synth-crm")
@scenario_argument
@click.option("-o", "--out", "out_path", required=True, metavar="EXPORT.csv", help="Export to write (.csv or .xlsx).")
@click.option("--years", type=click.IntRange(1, 50), default=3, show_default=True, help="Calendar years of records.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Seed of the generator.")
@click.option(
    "--end-year", type=click.IntRange(1991, 2100), default=2024, show_default=True,
    help="Last year (calibration reads dates from 1990 to the export date).",
)  # fmt: skip
@click.option("--truth", "truth_path", metavar="PATH.json", help="Also write what calibration should recover.")
def synth_crm_cmd(scenario, out_path, years, seed, end_year, truth_path):
    """Write a realistic CRM export of a company that follows SCENARIO exactly.

    One row per lead or opportunity with its dates (created, hand-off, follow-up, quote, closed),
    owner, source, outcome and amount, generated item by item from the scenario's funnel at
    normal effort: Poisson leads with seasonality, geometric weeks in each stage, conversions,
    follow-up delay and decay, self-prospecting per rep, reps of different ability, lognormal
    deal values. Then `incentsim calibrate EXPORT.csv --out s.toml` should recover the funnel.
    """
    import json

    from ..crm.synth import synthesize, write_export
    from .options import check_outputs, load, write_output, writing

    check_outputs((out_path, "--out", (".csv", ".xlsx", ".xlsm")), (truth_path, "--truth"))
    if out_path == "-":
        raise click.UsageError("--out needs a file (.csv or .xlsx), not stdout")
    sc = load(scenario)
    syn = synthesize(sc, years=years, seed=seed, end_year=end_year)
    with writing():
        write_export(syn.frame, out_path)
        if truth_path:
            write_output(truth_path, json.dumps(syn.expected(), indent=2))
    df = syn.frame
    won = df[df["outcome"] == "won"]
    click.echo(
        f"wrote {out_path}: {len(df):,} leads and opportunities created {df['created_date'].min()} to "
        f"{df['created_date'].max()} ({len(won):,} won, {(df['outcome'] == 'open').sum():,} still open) "
        f"by a company following {sc.name}"
    )
    click.echo(
        f"  {len(syn.rep_names)} reps, ability "
        + ", ".join(f"{n} {a:.2f}" for n, a in zip(syn.rep_names, syn.abilities, strict=True))
    )
    stages = [s.name for s in sc.funnel.stages]
    extra = ""
    if tuple(stages) != ("lead", "appointment", "quote") or sc.funnel.handoff != "appointment":
        extra = f" --stages {','.join(stages)} --handoff {sc.funnel.handoff}"
    click.echo(f"  calibrate it with: incentsim calibrate {out_path} --out calibrated.toml{extra}")
    if truth_path:
        click.echo(f"wrote {truth_path} (what a calibration should recover)")
