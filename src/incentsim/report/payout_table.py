"""Payout tables: what each component of a scheme pays from 0 % to 200 % attainment.

HR writes a plan; this shows it back as numbers so they can check it against their intent
(the way QuotaPath exports an earnings-versus-attainment table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.schema import Scenario, Scheme

ATTAINMENTS = tuple(round(0.1 * i, 2) for i in range(21))  # 0 % .. 200 %


@dataclass(frozen=True)
class ComponentTable:
    """One component's payout by attainment.

    Attributes
    ----------
    role, measure, period, payout : str
    index : int
        Component index within the role's plan.
    weight : float
    annual_target : float
        Mean annual target per person (currency or count).
    bonus_at_target : float
        Money per person per year at 100 % (rate x target for explicit commission).
    attainment : ndarray(float, (21,))
    multiple : ndarray(float, (21,))
        Payout as a multiple of the bonus at target.
    per_period, per_year : ndarray(float, (21,))
        Money per person for the average period (with uneven phasing a period pays its share of the
        year: the notes say which) and for a year at that attainment.
    notes : str
        Threshold, cap, true-up, ratchet, targets by ability, uneven phasing.
    """

    role: str
    index: int
    measure: str
    period: str
    payout: str
    weight: float
    annual_target: float
    bonus_at_target: float
    attainment: np.ndarray
    multiple: np.ndarray
    per_period: np.ndarray
    per_year: np.ndarray
    notes: str


def payout_tables(scenario: Scenario, scheme: Scheme, attainments=ATTAINMENTS) -> list[ComponentTable]:
    """Payout tables of every component of a scheme (marketing first, then sales)."""
    from ..pay import scheme_components

    out = []
    x = np.asarray(attainments, dtype=float)
    for pc in scheme_components(scenario, scheme):
        c = pc.component
        annual = float(np.mean(pc.annual_target))
        money = float(np.mean(pc.annual_money))
        mult = np.asarray(pc.multiple(x), dtype=float)
        notes = []
        if c.curve.gate > 0:
            notes.append(f"nothing below {c.curve.gate:.0%}")
        top = c.curve.max_payout
        notes.append("uncapped" if top is None else f"capped at {top:.0%} of bonus at target")
        if c.commission_rate is not None:
            notes.append(f"commission rate {c.commission_rate:g} per unit")
        if c.true_up:
            notes.append("year-end true-up")
        if pc.has_ratchet:
            notes.append(f"ratchet: target moves {c.ratchet_up:.0%} toward a beat, {c.ratchet_down:.0%} toward a miss")
        if pc.by_ability:
            levels = ", ".join(f"{f:.2f}" for f in pc.ability_scale)
            notes.append(f"targets by ability: the average rep's target shown; each level's is it x {levels}")
        shares = np.asarray(pc.component.phasing, dtype=float)
        if len(shares) > 1 and not np.allclose(shares, shares[0]):
            # (a period pays its share of the year: the per-period column is the average period's)
            split = "/".join(f"{x:.0%}" for x in shares)
            notes.append(f"periods pay {split} of the year (per period: the average)")
        out.append(
            ComponentTable(
                role=pc.role, index=pc.index, measure=c.measure, period=c.period, payout=c.payout, weight=c.weight,
                annual_target=annual, bonus_at_target=money, attainment=x, multiple=mult,
                per_period=money * mult / pc.n_periods, per_year=money * mult, notes="; ".join(notes),
            )
        )  # fmt: skip
    return out


def tables_text(scenario: Scenario, scheme: Scheme, tables: list[ComponentTable]) -> str:
    """The tables side by side, one column per component."""
    cur = scenario.currency
    lines = [f"Payout of scheme {scheme.name!r}: {scheme.description}".rstrip(": ")]
    for t in tables:
        plan = scheme.plan(t.role)
        lines.append(
            f"  {t.role} component {t.index + 1}: {t.weight:.0%} on {t.measure} per {t.period}, {t.payout}; "
            f"annual target {t.annual_target:,.0f} per person; bonus at target {t.bonus_at_target:,.0f} {cur} a year"
            f" (base salary {plan.base_salary:,.0f}); {t.notes}"
        )
    labels = [f"{t.role} {t.index + 1}: % / {cur} a year" for t in tables]
    # Each component's column is as wide as its label (at least 24), with a space before it.
    widths = [max(24, len(label) + 2) for label in labels]
    head = f"{'attainment':>10}" + "".join(f"{label:>{w}}" for label, w in zip(labels, widths, strict=True))
    lines += ["", head]
    for j, a in enumerate(tables[0].attainment if tables else []):
        row = f"{a * 100:9.0f}%"
        for t, w in zip(tables, widths, strict=True):
            row += f"{t.multiple[j] * 100:>{w - 13}.0f}% {t.per_year[j]:>11,.0f}"
        lines.append(row)
    lines.append("")
    lines.append("Money per year assumes the same attainment in every period of the year.")
    return "\n".join(lines)


def tables_frame(scheme: Scheme, tables: list[ComponentTable]):
    """Tidy pandas table: one row per component and attainment level."""
    import pandas as pd

    rows = []
    for t in tables:
        for j, a in enumerate(t.attainment):
            rows.append(
                {
                    "scheme": scheme.name, "role": t.role, "component": t.index + 1, "measure": t.measure,
                    "period": t.period, "payout": t.payout, "attainment": a, "payout_multiple": t.multiple[j],
                    "payout_per_period": t.per_period[j], "payout_per_year": t.per_year[j],
                    "annual_target": t.annual_target, "bonus_at_target": t.bonus_at_target,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)
