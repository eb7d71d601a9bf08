"""The scenario and scheme reference, generated from the schema so it cannot drift.

Every table of the reference pages is built here at documentation build time from the code the
loader uses: the frozen dataclasses of :mod:`incentsim.scenario.schema` (field names, types,
defaults, and the descriptions in their NumPy-style ``Attributes`` sections), the measures and
periods, the payout curve types, the component keys the loader accepts, the presets and the
relationship presets. A page asks for a table with a marker line, ``{{ reference: NAME }}``
(see :data:`SECTIONS`); :mod:`docs.hooks.main` replaces the marker.

Columns are a list (:data:`COLUMNS`) of ``(header, function of a Key)``, so a column can be added
in one place. The plausible ranges of numeric keys, when the loader exposes them as a table of
key path -> (low, high) named ``PLAUSIBLE_RANGES`` in :mod:`incentsim.scenario.load`, appear as a
"plausible range" column automatically (:func:`ranges_table`).

A build fails (mkdocs ``--strict`` turns the error into a failed build) when a key the loader
accepts has no description, so a new key cannot ship undocumented.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass

from incentsim.scenario import schema
from incentsim.scenario.uncertainty import DISTRIBUTIONS, Uncertainty

#: TOML table -> the dataclass it fills, in file order.
TABLES: dict[str, type] = {
    "simulation": schema.Simulation,
    "funnel.STAGE": schema.Stage,
    "marketing": schema.Marketing,
    "marketing.quality": schema.Quality,
    "sales": schema.Sales,
    "sales.ability": schema.Ability,
    "handoff": schema.Handoff,
    "deals": schema.Deals,
    "behaviour": schema.BehaviourParams,
    "uncertainty": Uncertainty,
}
#: Dataclass fields that are not keys of their table (set by the loader from elsewhere).
NOT_KEYS = {"Stage": {"name", "owner"}, "Marketing": {"quality"}, "Sales": {"ability"}, "Uncertainty": {"inputs"}}
#: Keys the loader reads that are not dataclass fields (converted on loading).
EXTRA_KEYS: dict[str, dict[str, tuple[str, str]]] = {
    "sales.ability": {
        "cv": ("float", "Instead of levels and weights: the coefficient of variation of a lognormal ability spread."),
        "types": ("int", "With cv: how many ability levels approximate the lognormal spread."),
    },
}

#: Keys of a scheme component (``[schemes.NAME.ROLE]`` or one of its ``components``), as the
#: loader reads them; each needs a description here.
COMPONENT_KEYS: dict[str, str] = {
    "measure": "What the component pays on (see the measures below).",
    "period": "Target period: month, quarter, half or year (default year).",
    "weight": "Share of the bonus at target this component carries (non-commission weights sum to 1).",
    "target": 'Annual target: a number, a list per person, or "auto" (the expected annual measure at today\'s '
    "effort, times target_level; the default).",
    "target_level": "Multiplier of an automatic target (1.0: today's expected measure).",
    "phasing": 'How the annual target splits into periods: "even", "season" (lead seasonality) or a list of shares.',
    "targets": "Explicit targets per period instead of target and phasing.",
    "payout": "Payout curve type: linear, step, commission or curve (see below).",
    "points": "For payout = curve: [[attainment, payout], ...], payout as a multiple of the bonus at target.",
    "extrapolate": "For payout = curve: continue the last segment beyond the last point.",
    "steps": "For payout = step: [[attainment, payout], ...] steps.",
    "threshold": "Gate: nothing is paid below this attainment.",
    "cap": "Largest payout, as a multiple of the bonus at target.",
    "accelerator": "For payout = linear: slope above 100 % attainment.",
    "rate": 'For payout = commission: money per unit of the measure, or "auto" (bonus at target / target).',
    "rate_tiers": "For payout = commission: accelerating rates, [[attainment, rate multiplier], ...].",
    "true_up": "At year end, a missed period is recovered when the year's target is hit.",
    "ratchet": "{ up = 0.5, down = 0.2 }: next year's target moves toward this year's result; { up = 1, down = 1 } "
    "sets it to this year's result (quotas from history).",
    "target_by": '"scheme" (default): targets as written; "ability": each rep\'s target scaled to the expected '
    "measure of its own ability level (rep-specific quotas; sales' own measures only).",
}
#: What each payout curve type pays (payout as a multiple of the bonus at target).
PAYOUTS = {
    "linear": "Proportional to attainment from 0; accelerator above 100 %.",
    "step": "Fixed amounts at attainment steps (steps), nothing below the first; without steps, one step: the full bonus at 100 %.",
    "commission": "A rate per unit of the measure, from the first unit; rate_tiers accelerate it.",
    "curve": "Piecewise linear through points; extrapolate beyond the last.",
}
#: What each measure counts.
MEASURE_TEXT = {
    "appointments": "Appointments marketing hands over to sales (team count).",
    "sourced_bookings": "Bookings of deals that came from marketing's appointments.",
    "own_bookings": "The rep's own bookings (deal value at close).",
    "team_bookings": "Bookings of the whole company.",
    "own_margin": "The rep's in-year recognised margin.",
    "team_margin": "In-year recognised margin of the whole company.",
    "own_wins": "The rep's number of won deals.",
    "team_wins": "Won deals of the whole company.",
}


@dataclass(frozen=True)
class Key:
    """One key of a scenario table: where it is, its type, default and description."""

    table: str
    name: str
    type: str
    default: str
    description: str

    @property
    def path(self) -> str:
        """The dotted key path, as sweeps and sensitivity name it."""
        return f"{self.table}.{self.name}"


def ranges_table() -> dict[str, tuple[float, float]]:
    """The loader's plausible range of each numeric key path, when it has such a table (else empty)."""
    from incentsim.scenario import load

    table = getattr(load, "PLAUSIBLE_RANGES", None)
    return dict(table) if table else {}


def _range_text(key: Key) -> str:
    rng = ranges_table().get(key.path) or ranges_table().get(key.name)
    return "" if rng is None else f"{rng[0]:g} to {rng[1]:g}"


#: Columns of every key table: header -> value. Add a column here to add it everywhere.
COLUMNS: list[tuple[str, Callable[[Key], str]]] = [
    ("key", lambda k: f"`{k.name}`"),
    ("type", lambda k: k.type),
    ("default", lambda k: k.default),
    ("meaning", lambda k: k.description),
]
if ranges_table():  # pragma: no cover - when the loader's table lands
    COLUMNS.insert(3, ("plausible range", _range_text))


def attribute_docs(cls: type) -> dict[str, str]:
    """``{field: description}`` from a class's NumPy-style ``Attributes`` section."""
    doc = typing.cast(str, cls.__doc__ or "")
    m = re.search(r"Attributes\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n|\Z)", doc, re.S)
    out: dict[str, str] = {}
    if not m:
        return out
    names: list[str] = []
    for line in m.group(1).splitlines():
        if not line.strip():
            continue
        if not line.startswith(" " * 8) and ":" in line:
            names = [n.strip() for n in line.split(":", 1)[0].split(",")]
            for n in names:
                out[n] = ""
        elif line.startswith(" " * 8) and names:
            for n in names:
                out[n] = (out[n] + " " + line.strip()).strip()
    return out


def _type_text(tp: str) -> str:
    return tp.replace("tuple[float, ...]", "list of numbers").replace(" | None", " or none")


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        v = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        v = f.default_factory()  # type: ignore[misc]
        if dataclasses.is_dataclass(v):
            return "(table)"
    else:
        return "required"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        if len(set(v)) == 1 and len(v) > 3:
            return f"{len(v)} x {v[0]:g}"
        return "[" + ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) + "]"
    if isinstance(v, str):
        return f'"{v}"'
    return f"{v:g}" if isinstance(v, float) else str(v)


def table_keys(table: str) -> list[Key]:
    """The keys of one scenario table, from its dataclass (plus keys converted on loading)."""
    cls = TABLES[table]
    docs = attribute_docs(cls)
    keys = []
    for f in dataclasses.fields(cls):
        if f.name in NOT_KEYS.get(cls.__name__, ()):
            continue
        text = docs.get(f.name, "")
        if not text:
            raise ValueError(f"[{table}] {f.name}: no description in {cls.__name__}'s Attributes section")
        keys.append(Key(table, f.name, _type_text(str(f.type)), _default_text(f), text))
    for name, (tp, text) in EXTRA_KEYS.get(table, {}).items():
        keys.append(Key(table, name, tp, "none", text))
    return keys


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def scenario_tables() -> str:
    """Every scenario table with its keys."""
    out = []
    for table in TABLES:
        cls = TABLES[table]
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        rows = [[fn(k) for _, fn in COLUMNS] for k in table_keys(table)]
        out += [f"### `[{table}]`", "", summary, "", md_table([h for h, _ in COLUMNS], rows), ""]
    return "\n".join(out)


def component_keys() -> str:
    """The keys of a scheme component, checked against the loader's list."""
    from incentsim.scenario import load

    accepted = getattr(load, "_COMPONENT_KEYS", tuple(COMPONENT_KEYS))
    missing = [k for k in accepted if k not in COMPONENT_KEYS]
    if missing:
        raise ValueError(f"component keys without a description in the reference: {', '.join(missing)}")
    return md_table(["key", "meaning"], [[f"`{k}`", COMPONENT_KEYS[k]] for k in accepted])


def measures() -> str:
    """Measures and the roles that may be paid on each."""
    rows = []
    for m, roles in schema.MEASURES.items():
        if m not in MEASURE_TEXT:
            raise ValueError(f"measure {m!r} has no description in the reference")
        rows.append([f"`{m}`", ", ".join(roles), MEASURE_TEXT[m]])
    return md_table(["measure", "roles", "what it counts"], rows)


def periods() -> str:
    """Target periods and how many fit in a year."""
    return md_table(["period", "per year"], [[f"`{p}`", str(n)] for p, n in schema.PERIODS.items()])


def payouts() -> str:
    """Payout curve types, checked against the loader's list."""
    from incentsim.scenario import load

    accepted = getattr(load, "_PAYOUTS", tuple(PAYOUTS))
    missing = [p for p in accepted if p not in PAYOUTS]
    if missing:
        raise ValueError(f"payout types without a description in the reference: {', '.join(missing)}")
    return md_table(["payout", "what it pays"], [[f"`{p}`", PAYOUTS[p]] for p in accepted])


def _plan_text(plan: dict) -> str:
    if "components" in plan:
        return " + ".join(_plan_text(c) for c in plan["components"])
    parts = [plan.get("measure", "?")]
    if "weight" in plan:
        parts.insert(0, f"{plan['weight']:.0%}")
    for k, v in plan.items():
        if k not in ("measure", "weight"):
            parts.append(f"{k} {v}")
    return ", ".join(str(p) for p in parts)


def presets() -> str:
    """The scheme presets, from the loader's own preset tables."""
    from incentsim.scenario.presets import PRESETS

    rows = []
    for name, (desc, table) in PRESETS.items():
        rows.append(
            [f"`{name}`", desc, _plan_text(table.get("marketing", {})), _plan_text(table.get("sales", {}))]
        )
    return md_table(["preset", "description", "marketing", "sales"], rows)


def relationships() -> str:
    """The relationship presets of the hand-off levers."""
    from incentsim.scenario.relationships import RELATIONSHIPS

    names = sorted({k for _, levers in RELATIONSHIPS.values() for k in levers})
    rows = [
        [f"`{r}`", desc, *("none" if levers.get(k) is None else f"{levers[k]:g}" for k in names)]
        for r, (desc, levers) in RELATIONSHIPS.items()
    ]
    return md_table(["relationship", "description", *(f"`{n}`" for n in names)], rows)


def distributions() -> str:
    """The distributions of ``[uncertainty]`` entries and their parameters, from the loader's table."""
    rows = []
    for name, (required, optional, text) in DISTRIBUTIONS.items():
        rows.append([f"`{name}`", ", ".join(f"`{p}`" for p in required), ", ".join(f"`{p}`" for p in optional), text])
    return md_table(["dist", "parameters", "optional", "meaning"], rows)


#: Marker name -> generator.
SECTIONS: dict[str, Callable[[], str]] = {
    "scenario-tables": scenario_tables,
    "component-keys": component_keys,
    "measures": measures,
    "periods": periods,
    "payouts": payouts,
    "presets": presets,
    "relationships": relationships,
    "distributions": distributions,
}
MARKER = re.compile(r"^\{\{ reference: ([a-z-]+) \}\}$", re.M)


def expand(markdown: str) -> str:
    """Replace every ``{{ reference: NAME }}`` line with its generated table."""

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name not in SECTIONS:
            raise ValueError(f"unknown reference section {name!r}; known: {', '.join(SECTIONS)}")
        return SECTIONS[name]()

    return MARKER.sub(one, markdown)
