"""``incentsim scenarios``: the bundled example scenarios, one line each."""

from __future__ import annotations

import click


@click.command("scenarios")
@click.option("--paths", is_flag=True, help="Show the full path of each file.")
def scenarios_cmd(paths):
    """List the bundled example scenarios (use a name wherever a SCENARIO file is expected)."""
    from ..scenario.bundled import bundled, bundled_sweeps, first_comment

    found = bundled()
    sweeps = bundled_sweeps()
    if not found:
        click.echo("no bundled scenarios found", err=True)
        raise SystemExit(1)
    width = max(len(n) for n in list(found) + list(sweeps))
    for name, path in found.items():
        click.echo(f"{name:<{width}}  {first_comment(path)}" + (f"\n{'':<{width}}  {path}" if paths else ""))
    if sweeps:
        click.echo("\nSweep files (incentsim sweep NAME --out DIR):")
        for name, path in sweeps.items():
            click.echo(f"{name:<{width}}  {first_comment(path)}" + (f"\n{'':<{width}}  {path}" if paths else ""))
