"""Scenario files: TOML -> defaults -> validation -> frozen :class:`Scenario`.

Every value is checked where it is read, and every table rejects keys it does not know, so
bad input stops with one line naming the file, the key path and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

from .errors import ScenarioError
from .limits import MAX_WINS_PER_YEAR
from .presets import PRESETS, merge, preset_description, preset_table
from .reader import Table, did_you_mean
from .schema import (
    BEHAVIOURS,
    MEASURES,
    PERIODS,
    TARGET_BY,
    Ability,
    BehaviourParams,
    Component,
    Curve,
    Deals,
    Funnel,
    Handoff,
    Marketing,
    Quality,
    RolePlan,
    Sales,
    Scenario,
    Scheme,
    Simulation,
    Stage,
)

_TOP_KEYS = (
    "scenario", "simulation", "funnel", "marketing", "sales", "handoff", "deals", "behaviour", "schemes", "uncertainty",
)  # fmt: skip
_PAYOUTS = ("linear", "step", "commission", "curve")
#: Key-pattern prefix of a role's plan in :data:`incentsim.scenario.limits.LIMITS`.
_ROLE = "schemes.<scheme>.<role>"


def read_toml(path: str | Path) -> dict:
    """Read a TOML file into a dict, turning every failure into a one-line ScenarioError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(str(path), "", "is a directory, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is not part of the TOML
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "is not a text (UTF-8) file, so not TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"is not valid TOML: {exc}") from None


def load_scenario(path: str | Path, **simulation_overrides: Any) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` scenario file.
    **simulation_overrides
        Replace ``[simulation]`` settings (``replications``, ``seed``, ``behaviour`` ...).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        With the file, the key path and the reason.
    """
    data = read_toml(path)
    scenario = scenario_from_dict(data, source=str(path))
    if simulation_overrides:
        scenario = scenario.with_simulation(**simulation_overrides)
    return scenario


def scenario_from_dict(data: dict, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as a nested dict (the parsed TOML) and build it."""
    top = Table(data, "", source)
    meta = top.table("scenario")
    name = meta.string("name", Path(source).stem if source != "<dict>" else "scenario")
    description = meta.string("description", "")
    currency = meta.string("currency", "EUR")
    meta.finish()

    simulation = _simulation(top.table("simulation"))
    funnel = _funnel(top.table("funnel", required=True))
    marketing = _marketing(top.table("marketing"), funnel)
    sales = _sales(top.table("sales"), funnel)
    handoff = _handoff(top.table("handoff"))
    deals = _deals(top.table("deals"))
    schemes_table = top.table("schemes", required=True)
    schemes = _schemes(schemes_table, marketing, sales, handoff)
    behaviour = _behaviour(top.table("behaviour"), schemes)
    _check_flows(top, funnel, marketing, sales)
    uncertainty_table = top.table("uncertainty")
    top.finish()
    return _with_uncertainty(Scenario(
        name=name,
        description=description,
        currency=currency,
        source=source,
        funnel=funnel,
        marketing=marketing,
        sales=sales,
        handoff=handoff,
        deals=deals,
        behaviour=behaviour,
        simulation=simulation,
        schemes=schemes,
    ), uncertainty_table, data)  # fmt: skip


def _with_uncertainty(scenario: Scenario, t: Table, data: dict) -> Scenario:
    """The scenario with its ``[uncertainty]`` table, validated against the scenario itself."""
    if not t.data:
        return scenario  # (no table: read_uncertainty's answer, without importing it)
    from .uncertainty import read_uncertainty

    spec = read_uncertainty(t, data, scenario)
    return scenario if spec is None else dataclasses.replace(scenario, uncertainty=spec)


# -- sections ---------------------------------------------------------------------------------


def _simulation(t: Table) -> Simulation:
    d = Simulation()
    raw = t.raw("replications", "auto")
    auto = raw == "auto"
    if isinstance(raw, str) and not auto:
        raise t.error("replications", f'must be a whole number or "auto", got "{raw}"')
    out = Simulation(
        replications=d.replications if auto else t.integer("replications", limit="simulation.replications"),
        horizon_years=t.integer("horizon_years", d.horizon_years, limit="simulation.horizon_years"),
        burn_in_years=t.integer("burn_in_years", d.burn_in_years, limit="simulation.burn_in_years"),
        seed=t.integer("seed", d.seed, limit="simulation.seed"),
        behaviour=t.string("behaviour", d.behaviour, choices=BEHAVIOURS),
        precision=t.number("precision", d.precision, limit="simulation.precision"),
        max_replications=t.integer("max_replications", d.max_replications, limit="simulation.max_replications"),
        auto=auto,
    )
    t.finish()
    return out


def _funnel(t: Table) -> Funnel:
    stage_names = [k for k in t.keys() if k != "handoff"]
    if not stage_names:
        raise t.error(None, "the funnel has no stages; give at least [funnel.lead] and [funnel.appointment]")
    if not t.has("handoff") and "appointment" not in stage_names:
        raise t.error("handoff", "name the first sales stage (there is no stage called appointment)")
    handoff = t.string("handoff", "appointment")
    if "won" in stage_names:
        raise t.error("won", "is the end of the funnel, not a stage: the last stage's conversion leads to won")
    if handoff not in stage_names:
        raise t.error("handoff", f"names no stage of the funnel{did_you_mean(handoff, stage_names)}")
    k = stage_names.index(handoff)
    if k == 0:
        raise t.error("handoff", "needs at least one marketing stage (leads) before it")
    stages = []
    for i, name in enumerate(stage_names):
        s = t.table(name)
        dwell = s.number("dwell_weeks", limit="funnel.<stage>.dwell_weeks")
        conversion = s.probability("conversion", limit="funnel.<stage>.conversion")
        s.finish()
        stages.append(Stage(name, "marketing" if i < k else "sales", dwell, conversion))
    t.finish()
    return Funnel(tuple(stages))


def _quality(t: Table) -> Quality:
    d = Quality()
    q = Quality(
        baseline=t.number("baseline", d.baseline, limit="marketing.quality.baseline"),
        volume_at_zero=t.number("volume_at_zero", d.volume_at_zero, limit="marketing.quality.volume_at_zero"),
        volume_at_one=t.number("volume_at_one", d.volume_at_one, limit="marketing.quality.volume_at_one"),
        conversion_at_zero=t.number(
            "conversion_at_zero", d.conversion_at_zero, limit="marketing.quality.conversion_at_zero"
        ),
        conversion_at_one=t.number(
            "conversion_at_one", d.conversion_at_one, limit="marketing.quality.conversion_at_one"
        ),
    )
    t.finish()
    return q


def _marketing(t: Table, funnel: Funnel) -> Marketing:
    headcount = t.integer("headcount", 0, limit="marketing.headcount")
    leads = t.number("leads_per_week", 0.0, limit="marketing.leads_per_week")
    season = t.numbers("seasonality", (1.0,) * 12, length=12, limit="marketing.seasonality[i]")
    if sum(season) <= 0:
        raise t.error("seasonality", "must have at least one positive month")
    # Normalise so the weekly lead rate averages leads_per_week over the 52 weeks (months have
    # 4 or 5 weeks, so this is a week-weighted mean).
    from ..calendar import WEEK_MONTH

    mean = sum(season[m] for m in WEEK_MONTH) / len(WEEK_MONTH)
    season = tuple(v / mean for v in season)
    m = Marketing(
        headcount=headcount,
        leads_per_week=leads,
        seasonality=season,
        bonus_at_target=t.number("bonus_at_target", 0.0, limit="marketing.bonus_at_target"),
        base_salary=t.number("base_salary", 0.0, limit="marketing.base_salary"),
        quality=_quality(t.table("quality")),
    )
    last = funnel.marketing_stages[-1]
    top_volume = max(m.quality.volume_at_zero, m.quality.volume_at_one, 1.0)
    if last.conversion * top_volume > 1.0 + 1e-12:
        raise t.error(
            "quality.volume_at_zero",
            f"times funnel.{last.name}.conversion ({last.conversion:g}) exceeds 1: "
            f"at most {1.0 / last.conversion:.3g} with this funnel",
        )
    first = funnel.sales_stages[0]
    top_conv = max(m.quality.conversion_at_zero, m.quality.conversion_at_one, 1.0)
    if first.conversion * top_conv > 1.0 + 1e-12:
        raise t.error(
            "quality.conversion_at_one",
            f"times funnel.{first.name}.conversion ({first.conversion:g}) exceeds 1: "
            f"at most {1.0 / first.conversion:.3g} with this funnel",
        )
    t.finish()
    return m


def _ability(t: Table) -> Ability:
    if t.has("levels"):
        levels = t.numbers("levels", min_length=1, limit="sales.ability.levels[i]")
        weights = t.numbers("weights", (1.0,) * len(levels), length=len(levels), limit="sales.ability.weights[i]")
        if sum(weights) <= 0:
            raise t.error("weights", "must not all be zero")
        if t.has("cv") or t.has("types"):
            raise t.error("cv", "give either levels (and weights) or cv and types, not both")
        total = sum(weights)
        t.finish()
        return Ability(tuple(levels), tuple(w / total for w in weights))
    cv = t.number("cv", 0.0, limit="sales.ability.cv")
    types = t.integer("types", 3 if cv > 0 else 1, limit="sales.ability.types")
    t.finish()
    return ability_levels(cv, types)


def ability_levels(cv: float, types: int) -> Ability:
    """Discretise a mean-1 lognormal ability spread into ``types`` equally likely levels.

    The levels are the conditional means of the equal-probability slices (so their mean is
    exactly 1 and their spread approaches ``cv`` as ``types`` grows).
    """
    if cv == 0 or types == 1:
        return Ability((1.0,), (1.0,))
    # The standard library's normal distribution (its inverse is Wichura's AS241, accurate to about
    # 1e-16), not scipy.special: importing scipy took 0.35 s of every command that loads a
    # scenario. The levels agree with scipy's ndtri/ndtr to within 1e-15 (tests/test_scenario_load).
    from statistics import NormalDist

    normal = NormalDist()
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = -0.5 * sigma * sigma
    edges = [-math.inf] + [normal.inv_cdf(i / types) for i in range(1, types)] + [math.inf]
    levels = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        # E[X | slice] for lognormal X = exp(mu + sigma Z): exp(mu+s^2/2)(Phi(b-s)-Phi(a-s))/(1/types)
        mass = normal.cdf(b - sigma) - normal.cdf(a - sigma)
        levels.append(math.exp(mu + 0.5 * sigma * sigma) * mass * types)
    return Ability(tuple(levels), tuple(1.0 / types for _ in range(types)))


def _sales(t: Table, funnel: Funnel) -> Sales:
    s = Sales(
        reps=t.integer("reps", 1, limit="sales.reps"),
        calls_per_week=t.number("calls_per_week", 0.0, limit="sales.calls_per_week"),
        call_to_appointment=t.probability("call_to_appointment", 0.25, limit="sales.call_to_appointment"),
        calls_per_followup=t.number("calls_per_followup", 3.0, limit="sales.calls_per_followup"),
        ability=_ability(t.table("ability")),
        bonus_at_target=t.number("bonus_at_target", 0.0, limit="sales.bonus_at_target"),
        base_salary=t.number("base_salary", 0.0, limit="sales.base_salary"),
    )
    t.finish()
    return s


def _handoff(t: Table, base: Handoff | None = None) -> Handoff:
    """Read hand-off levers; ``base`` gives the defaults (the scenario's, for a scheme's table).

    A ``relationship`` key applies a relationship-type preset first; other keys override it.
    """
    from .relationships import RELATIONSHIPS

    d = base or Handoff()
    relationship = d.relationship
    if t.has("relationship"):
        relationship = t.string("relationship", choices=list(RELATIONSHIPS))
        preset = RELATIONSHIPS[relationship][1]
        d = Handoff(response_decay_per_week=d.response_decay_per_week, relationship=relationship, **preset)
    sla = t.raw("sla_weeks", d.sla_weeks)
    if isinstance(sla, str) and sla == "none":
        sla = None
    h = Handoff(
        delay_weeks=t.number("delay_weeks", d.delay_weeks, limit="handoff.delay_weeks"),
        response_decay_per_week=t.probability(
            "response_decay_per_week", d.response_decay_per_week, limit="handoff.response_decay_per_week"
        ),
        ignored_share=t.probability("ignored_share", d.ignored_share, limit="handoff.ignored_share"),
        recycle_share=t.probability("recycle_share", d.recycle_share, limit="handoff.recycle_share"),
        sla_weeks=None
        if sla is None
        else t.integer("sla_weeks", limit="handoff.sla_weeks")
        if t.has("sla_weeks")
        else sla,
        duplicated_share=t.number("duplicated_share", d.duplicated_share, limit="handoff.duplicated_share"),
        feedback_gain=t.number("feedback_gain", d.feedback_gain, limit="handoff.feedback_gain"),
        relationship=relationship,
    )
    t.finish()
    return h


def _deals(t: Table) -> Deals:
    d = Deals(
        value_mean=t.number("value_mean", 5000.0, limit="deals.value_mean"),
        value_cv=t.number("value_cv", 0.0, limit="deals.value_cv"),
    )
    t.finish()
    return d


def _behaviour(t: Table, schemes: dict[str, Scheme]) -> BehaviourParams:
    d = BehaviourParams()
    efforts = t.numbers("effort_levels", d.effort_levels, min_length=1, limit="behaviour.effort_levels[i]")
    if list(efforts) != sorted(set(efforts)):
        raise t.error("effort_levels", "must be strictly increasing")
    if not any(abs(e - 1.0) < 1e-9 for e in efforts):
        raise t.error("effort_levels", "must include 1.0 (today's normal effort)")
    qualities = t.numbers("quality_levels", d.quality_levels, min_length=1, limit="behaviour.quality_levels[i]")
    if list(qualities) != sorted(set(qualities)):
        raise t.error("quality_levels", "must be strictly increasing")

    def cost(name: str) -> float | None:
        value = t.raw(name, "calibrate")
        if value == "calibrate":
            return None
        return t.number(name, limit=f"behaviour.{name}")

    baseline = t.raw("baseline_scheme", None)
    if baseline is not None:
        baseline = t.string("baseline_scheme", choices=list(schemes))
    b = BehaviourParams(
        effort_levels=tuple(efforts),
        conversion_elasticity=t.number(
            "conversion_elasticity", d.conversion_elasticity, limit="behaviour.conversion_elasticity"
        ),
        quality_levels=tuple(qualities),
        effort_cost_sales=cost("effort_cost_sales"),
        effort_cost_marketing=cost("effort_cost_marketing"),
        effort_cost_exponent=t.number(
            "effort_cost_exponent", d.effort_cost_exponent, limit="behaviour.effort_cost_exponent"
        ),
        quality_cost_marketing=cost("quality_cost_marketing"),
        implicit_incentive=t.number("implicit_incentive", d.implicit_incentive, limit="behaviour.implicit_incentive"),
        baseline_scheme=baseline,
        annual_discount=t.number("annual_discount", d.annual_discount, limit="behaviour.annual_discount"),
        pull_in_discount=t.probability("pull_in_discount", d.pull_in_discount, limit="behaviour.pull_in_discount"),
        pull_in_weeks=t.integer("pull_in_weeks", d.pull_in_weeks, limit="behaviour.pull_in_weeks"),
        hold_back_loss=t.probability("hold_back_loss", d.hold_back_loss, limit="behaviour.hold_back_loss"),
        choice_noise=t.number("choice_noise", d.choice_noise, limit="behaviour.choice_noise"),
        grid_points=t.integer("grid_points", d.grid_points, limit="behaviour.grid_points"),
        grid_points_2d=t.integer("grid_points_2d", d.grid_points_2d, limit="behaviour.grid_points_2d"),
        max_rounds=t.integer("max_rounds", d.max_rounds, limit="behaviour.max_rounds"),
        help_gain=t.probability("help_gain", d.help_gain, limit="behaviour.help_gain"),
        event_gain=t.number("event_gain", d.event_gain, limit="behaviour.event_gain"),
        team_time=t.number("team_time", d.team_time, limit="behaviour.team_time"),
        event_share=t.probability("event_share", d.event_share, limit="behaviour.event_share"),
        monitoring=t.number("monitoring", d.monitoring, limit="behaviour.monitoring"),
        passing=t.probability("passing", d.passing, limit="behaviour.passing"),
    )
    t.finish()
    return b


def _check_flows(top: Table, funnel: Funnel, marketing: Marketing, sales: Sales) -> None:
    if marketing.leads_per_week == 0 and sales.calls_per_week == 0:
        raise ScenarioError(
            top.source,
            "marketing.leads_per_week",
            "nothing enters the funnel: set marketing.leads_per_week or sales.calls_per_week above 0",
        )
    # The simulation draws every won deal's value: a funnel winning millions of deals a year is
    # a typo that would run for hours. Expected wins at normal effort and average ability:
    sales_through = math.prod(st.conversion for st in funnel.sales_stages)
    marketing_through = math.prod(st.conversion for st in funnel.marketing_stages)
    from_leads = 52 * marketing.leads_per_week * marketing_through * sales_through
    from_calls = 52 * sales.reps * sales.calls_per_week * sales.call_to_appointment * sales_through
    if from_leads + from_calls > MAX_WINS_PER_YEAR:
        key = "marketing.leads_per_week" if from_leads >= from_calls else "sales.calls_per_week"
        raise ScenarioError(
            top.source,
            key,
            f"the funnel would win about {from_leads + from_calls:,.0f} deals a year; at most {MAX_WINS_PER_YEAR:,.0f} "
            "are plausible (check marketing.leads_per_week, sales.calls_per_week, sales.reps and the conversions)",
        )


# -- schemes ----------------------------------------------------------------------------------


def _schemes(t: Table, marketing: Marketing, sales: Sales, handoff: Handoff) -> dict[str, Scheme]:
    names = t.keys()
    if not names:
        raise t.error(None, "no schemes: add at least one [schemes.NAME] table")
    out = {}
    for name in names:
        _check_scheme_name(t, name)
        raw = t.raw(name)
        if not isinstance(raw, dict):
            raise t.error(name, "must be a table [schemes.NAME]")
        out[name] = _scheme(Table(raw, t.key(name), t.source), name, marketing, sales, handoff)
    t.finish()
    return out


def _check_scheme_name(t: Table, name: str) -> None:
    """A scheme name must be selectable with ``--schemes A,B`` and printable in one line."""
    if not name.strip():
        raise ScenarioError(t.source, f"{t.path}.{name!r}", "a scheme needs a name that is not empty")
    problem = None
    if "," in name:
        problem = "contains a comma (--schemes A,B could not select it)"
    elif name != name.strip():
        problem = "starts or ends with a space"
    elif "#" in name:
        problem = "contains # (kept for a scheme compared with itself: NAME#2)"
    elif not name.isprintable():
        problem = "contains a control character"
    if problem:
        raise t.error(name, f"scheme name {name!r} {problem}")


def _scheme(t: Table, name: str, marketing: Marketing, sales: Sales, handoff: Handoff) -> Scheme:
    preset = None
    data = t.data
    if "preset" in data:
        preset = t.string("preset", choices=list(PRESETS))
        data = merge(preset_table(preset), {k: v for k, v in data.items() if k != "preset"})
        t = Table(data, t.path, t.source)
        t.raw("preset", None)
    description = t.string("description", preset_description(preset) if preset else "")
    scheme_handoff = None
    if t.has("relationship") or t.has("handoff"):
        # A relationship type (or hand-off levers) that comes with this scheme.
        levers = dict(t.raw("handoff", {}))
        if not isinstance(levers, dict):
            raise t.error("handoff", "must be a table of hand-off levers")
        if t.has("relationship"):
            if "relationship" in levers:
                raise t.error("relationship", "give the relationship once, here or in the handoff table")
            from .relationships import RELATIONSHIPS

            levers["relationship"] = t.string("relationship", choices=list(RELATIONSHIPS))
        ht = Table(levers, t.key("handoff"), t.source)
        scheme_handoff = _handoff(ht, handoff)
    plans = {}
    for role, defaults in (("marketing", marketing), ("sales", sales)):
        if t.has(role):
            plans[role] = _role_plan(t.table(role), role, defaults, sales.reps, marketing.seasonality)
        else:
            plans[role] = None
    if plans["marketing"] is None and plans["sales"] is None:
        raise t.error(None, "pays nobody: give a [marketing] or [sales] table, or a preset")
    t.finish()
    return Scheme(name, description, plans["marketing"], plans["sales"], preset, scheme_handoff)


_COMPONENT_KEYS = (
    "measure", "period", "weight", "target", "target_level", "phasing", "targets", "payout",
    "points", "extrapolate", "steps", "threshold", "cap", "accelerator", "rate", "rate_tiers",
    "true_up", "ratchet", "target_by",
)  # fmt: skip


def _role_plan(t: Table, role: str, defaults: Marketing | Sales, reps: int, season: tuple[float, ...]) -> RolePlan:
    bonus = t.number("bonus_at_target", defaults.bonus_at_target, limit=f"{_ROLE}.bonus_at_target")
    base = t.number("base_salary", defaults.base_salary, limit=f"{_ROLE}.base_salary")
    if t.has("components"):
        if any(t.has(k) for k in _COMPONENT_KEYS):
            first = next(k for k in _COMPONENT_KEYS if t.has(k))
            raise t.error(first, "give either a components list or one component's keys, not both")
        raw = t.raw("components")
        if not isinstance(raw, list) or not raw:
            raise t.error("components", "must be a non-empty list of tables")
        comps = []
        for i, item in enumerate(raw):
            ct = Table(item, t.key(f"components[{i}]"), t.source)
            comps.append(_component(ct, role, reps, season))
            ct.finish()
    else:
        comps = [_component(t, role, reps, season)]
    weighted = [c for c in comps if c.commission_rate is None]
    if len(comps) > 1 and weighted:
        total = sum(c.weight for c in weighted)
        if abs(total - 1.0) > 1e-6:
            key = "components" if t.has("components") else "weight"
            raise t.error(key, f"weights of the (non-commission) components must sum to 1, got {total:g}")
    t.finish()
    return RolePlan(bonus, base, tuple(comps))


def _component(t: Table, role: str, reps: int, season: tuple[float, ...]) -> Component:
    measure = t.string("measure", choices=list(MEASURES))
    if role not in MEASURES[measure]:
        allowed = [m for m, roles in MEASURES.items() if role in roles]
        raise t.error("measure", f"{measure!r} is not a {role} measure; use one of {', '.join(allowed)}")
    period = t.string("period", "year", choices=list(PERIODS))
    n = PERIODS[period]
    weight = t.number("weight", 1.0, limit=f"{_ROLE}.weight")
    target = _target(t, role, reps)
    target_level = t.number("target_level", 1.0, limit=f"{_ROLE}.target_level")
    phasing, target = _phasing(t, n, target, reps, role, season)
    kind = t.string("payout", "linear", choices=_PAYOUTS)
    curve, rate = _payout(t, kind)
    true_up = t.boolean("true_up", False)
    if true_up and n == 1:
        raise t.error("true_up", "needs a period shorter than a year (month, quarter or half)")
    up = down = 0.0
    if t.has("ratchet"):
        r = t.table("ratchet")
        up = r.number("up", 0.0, limit=f"{_ROLE}.ratchet.up")
        down = r.number("down", 0.0, limit=f"{_ROLE}.ratchet.down")
        r.finish()
    target_by = t.string("target_by", "scheme", choices=list(TARGET_BY))
    if target_by == "ability" and not measure.startswith("own_"):
        raise t.error(
            "target_by",
            f'"ability" sets each rep\'s target from its own expected results: it needs one of the sales measures '
            f"own_bookings, own_margin or own_wins, not {measure!r}",
        )
    return Component(
        measure=measure,
        period=period,
        weight=weight,
        target=target,
        target_level=target_level,
        phasing=phasing,
        curve=curve,
        payout=kind,
        commission_rate=rate,
        true_up=true_up,
        ratchet_up=up,
        ratchet_down=down,
        target_by=target_by,
    )


def _target(t: Table, role: str, reps: int) -> tuple[float, ...] | None:
    value = t.raw("target", "auto")
    if value == "auto":
        return None
    if isinstance(value, list):
        if role == "marketing":
            raise t.error("target", "marketing has one team target: give a number")
        return t.numbers("target", length=reps, limit=f"{_ROLE}.target[i]")
    v = t.number("target", limit=f"{_ROLE}.target")
    return (v,) * (reps if role == "sales" else 1)


def _phasing(
    t: Table, n: int, target: tuple[float, ...] | None, reps: int, role: str, season: tuple[float, ...]
) -> tuple[tuple[float, ...], tuple[float, ...] | None]:
    if t.has("targets"):
        if t.has("phasing"):
            raise t.error("phasing", "give either targets per period or phasing, not both")
        if t.has("target"):
            raise t.error("target", "give either an annual target or targets per period, not both")
        vals = t.numbers("targets", length=n, limit=f"{_ROLE}.targets[i]")
        total = sum(vals)
        if total <= 0:
            raise t.error("targets", "must not all be zero")
        annual = (total,) * (reps if role == "sales" else 1)
        return tuple(v / total for v in vals), annual
    raw = t.raw("phasing", "even")
    if raw == "even":
        return tuple(1.0 / n for _ in range(n)), target
    if raw == "season":
        shares = season_phasing(season, n)
        if min(shares) <= 0.0:
            empty = shares.index(min(shares)) + 1
            raise t.error(
                "phasing",
                f'"season" gives period {empty} of {n} no part of the target (marketing.seasonality is 0 in all its '
                "months), and attainment is measured against it: give the shares as a list",
            )
        return shares, target
    if isinstance(raw, str):
        raise t.error("phasing", f'must be "even", "season" or a list of {n} shares; got {raw!r}')
    vals = t.numbers("phasing", limit=f"{_ROLE}.phasing[i]")
    if len(vals) != n:
        raise t.error("phasing", f"a {t.data.get('period', 'year')} period needs {n} shares, got {len(vals)}")
    if abs(sum(vals) - 1.0) > 1e-6:
        raise t.error("phasing", f"shares must sum to 1 so the periods tile the year, got {sum(vals):g}")
    return vals, target


def season_phasing(season: tuple[float, ...], n_periods: int) -> tuple[float, ...]:
    """Share of the year in each period, weighting each week by its month's season multiplier."""
    from ..calendar import WEEK_MONTH

    per = 12 // n_periods
    weights = [0.0] * n_periods
    for month in WEEK_MONTH:
        weights[month // per] += season[month]
    total = sum(weights)
    return tuple(w / total for w in weights)


def _payout(t: Table, kind: str) -> tuple[Curve, float | None]:
    gate = t.number("threshold", 0.0, limit=f"{_ROLE}.threshold")
    cap = t.raw("cap", None)
    if cap is not None:
        cap = t.number("cap", limit=f"{_ROLE}.cap")
    rate = None
    if kind == "linear":
        acc = t.number("accelerator", 1.0, limit=f"{_ROLE}.accelerator")
        points = ((0.0, 0.0), (1.0, 1.0), (2.0, 1.0 + acc))
        curve = Curve(points, extrapolate=True, gate=gate, cap=cap)
    elif kind == "step":
        steps = t.pairs("steps", ((1.0, 1.0),), limits=(f"{_ROLE}.steps[i][0]", f"{_ROLE}.steps[i][1]"))
        _check_sorted(t, "steps", steps)
        points: list[tuple[float, float]] = [(0.0, 0.0)]
        for x, y in steps:
            points.append((x, points[-1][1]))
            points.append((x, y))
        curve = Curve(tuple(points), extrapolate=False, gate=gate, cap=cap)
    elif kind == "commission":
        raw = t.raw("rate", "auto")
        if raw != "auto":
            rate = t.number("rate", limit=f"{_ROLE}.rate")
        tiers = t.pairs("rate_tiers", (), limits=(f"{_ROLE}.rate_tiers[i][0]", f"{_ROLE}.rate_tiers[i][1]"))
        _check_sorted(t, "rate_tiers", tiers)
        if tiers and rate is None:
            raise t.error("rate_tiers", 'need an explicit rate (not "auto") to scale the tiers')
        # In units of rate x target: slope 1 up to the first tier, then (tier rate / rate).
        points = [(0.0, 0.0)]
        slope = 1.0
        for i, (x, r) in enumerate(tiers):
            if x <= points[-1][0]:
                raise t.error(f"rate_tiers[{i}]", "attainment levels must be positive and increasing")
            if r < 0:
                raise t.error(f"rate_tiers[{i}]", f"rates must not be negative, got {r:g}")
            points.append((x, points[-1][1] + slope * (x - points[-1][0])))
            slope = r / rate
        points.append((points[-1][0] + 1.0, points[-1][1] + slope))
        curve = Curve(tuple(points), extrapolate=True, gate=gate, cap=cap)
    else:
        pts = t.pairs("points", limits=(f"{_ROLE}.points[i][0]", f"{_ROLE}.points[i][1]"))
        _check_sorted(t, "points", pts)
        curve = Curve(tuple(pts), extrapolate=t.boolean("extrapolate", False), gate=gate, cap=cap)
    for i, (_, y) in enumerate(curve.points):
        if y < 0:
            key = "points" if kind == "curve" else "steps"
            raise t.error(f"{key}[{i}]", f"payouts must not be negative, got {y:g}")
    return curve, rate


def _check_sorted(t: Table, name: str, pts: tuple[tuple[float, float], ...]) -> None:
    for i in range(1, len(pts)):
        if pts[i][0] < pts[i - 1][0]:
            raise t.error(
                f"{name}[{i}]",
                f"attainment levels must be sorted: {pts[i][0]:g} comes after {pts[i - 1][0]:g}",
            )
    for i, (x, _) in enumerate(pts):
        if x < 0:
            raise t.error(f"{name}[{i}]", f"attainment must not be negative, got {x:g}")
    if name == "steps":
        for i in range(1, len(pts)):
            if pts[i][0] == pts[i - 1][0]:
                raise t.error(f"{name}[{i}]", "two steps at the same attainment")
