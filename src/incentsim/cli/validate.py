"""``incentsim validate``: check a scenario file and show what it implies."""

from __future__ import annotations

import click

from .options import load, scenario_argument


@click.command("validate")
@scenario_argument
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when the file is valid.")
def validate_cmd(scenario, quiet):
    """Check SCENARIO; print its funnel, expected flows and each scheme's targets.

    Exit status 0 when valid, 2 with a one-line error (file, key, reason) when not.
    """
    from ..funnel import steady_state
    from ..pay import resolved_targets

    sc = load(scenario)
    if quiet:
        return
    ss = steady_state(sc)
    cur = sc.currency
    stages = " -> ".join(s.name for s in sc.funnel.stages) + " -> won"
    click.echo(f"ok: {sc.source}")
    click.echo(f"  scenario: {sc.name}" + (f" - {sc.description}" if sc.description else ""))
    click.echo(f"  funnel: {stages} (hand-off at {sc.funnel.handoff})")
    click.echo(
        f"  company: {sc.sales.reps} rep(s), marketing headcount {sc.marketing.headcount}; "
        f"ability levels {', '.join(f'{a:.2f}' for a in sc.sales.ability.levels)}"
    )
    click.echo(
        f"  expected per year at normal effort: {ss.leads:,.0f} leads, {ss.appointments:,.0f} appointments "
        f"handed over, {ss.self_appointments:,.0f} self-prospected, {ss.wins:,.1f} wins "
        f"({ss.wins_per_rep:,.1f} per rep), bookings {ss.bookings:,.0f} {cur}"
    )
    s = sc.simulation
    click.echo(
        f"  simulation: {s.replications_text} replications x {s.horizon_years} year(s) after {s.burn_in_years} "
        f"burn-in year(s), seed {s.seed}, behaviour {s.behaviour}"
    )
    from ..report.text import burn_in_note

    note = burn_in_note(sc, s.behaviour)
    if note is not None:
        click.echo(f"  Note: {note}")
    for name, scheme in sc.schemes.items():
        targets = resolved_targets(sc, scheme)
        parts = []
        for role in ("marketing", "sales"):
            plan = scheme.plan(role)
            if plan is None:
                continue
            comps = []
            for i, c in enumerate(plan.components):
                t = targets[(role, i)]
                tgt = f"{t[0]:,.0f}" if len(set(t.round(6))) == 1 else f"{t.min():,.0f}-{t.max():,.0f}"
                if c.target_by == "ability":
                    from ..funnel import ability_target_scale

                    by = ", ".join(f"{t.mean() * f:,.0f}" for f in ability_target_scale(sc, c.measure))
                    tgt += f" for the average rep; by ability level {by}"
                comps.append(f"{c.weight:.0%} {c.measure} per {c.period}, {c.payout}, annual target {tgt}")
            parts.append(f"{role}: " + " + ".join(comps))
        click.echo(f"  scheme {name}: " + "; ".join(parts))
    if sc.uncertainty is not None:
        u = sc.uncertainty
        click.echo(
            f"  uncertain: {len(u.inputs)} input(s) over {u.worlds} plausible worlds ({u.design}); "
            "run compare --uncertainty" + ("; calibrate writes its estimates here" if u.from_calibration else "")
        )
        for inp in u.inputs:
            click.echo(f"    {inp.path}: {inp.distribution.text()}")
