"""The design file: a base scenario, the plan family to search, its free parameters, the objective
and the constraints, validated before anything runs.

A *design file* (TOML) sits next to its scenario, like a sweep file::

    [design]
    base = "separate-vs-shared.toml"   # the company (relative to this file), or an inline [base] table
    start = "separate"                 # the plan family: a scheme of the base scenario (or a [scheme] table)
    baseline = "separate"              # what the best plan is compared against (default: the calibration's)
    objective = "profit"               # profit (after bonuses), revenue or margin (in-year)
    trials = 48                        # candidate plans evaluated in the search
    batch = 8                          # asked at a time (the parallelism of a round)
    replications = 1000                # per candidate, on common random numbers
    finalists = 4                      # re-evaluated on fresh years ...
    final_replications = 10000         # ... at this many replications

    [parameters]                       # key paths inside the scheme = what may move
    sales.target_level = [0.8, 1.3]    # a range [low, high]
    sales.rate = { low = 0.01, high = 0.2, log = true }
    sales.period = ["month", "quarter", "year"]   # a choice (strings; numbers as { choices = [...] })

    [constraints]
    bonus_budget_p90 = 150000          # at most
    over_budget = { budget = 140000, probability = 0.1 }
    zero_bonus_share = 0.3             # at most
    median_pay_at_target = 70000       # at least
    cost_of_sales = 0.5                # at most
    payout_gini = 0.35                 # at most

Every parameter is checked before the search starts: the scheme with every parameter at its low
end, at its high end and each choice is validated by the scenario loader, so a bad key path or a
value the loader refuses is one :class:`~incentsim.scenario.errors.ScenarioError` naming the design
file and the parameter.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..batch.keypaths import describe, set_path
from ..scenario.errors import ArgumentError, ScenarioError
from ..scenario.load import read_toml, scenario_from_dict
from ..scenario.presets import PRESETS, merge, preset_table
from ..scenario.reader import Table, did_you_mean
from ..scenario.schema import BEHAVIOURS, Scenario, Scheme

#: Objective name -> the metric of :data:`incentsim.results.METRICS` whose mean is maximised.
OBJECTIVES: dict[str, str] = {"profit": "profit_after_bonus", "revenue": "revenue", "margin": "margin_in_year"}
#: Samplers: Optuna's TPE (the search) or uniform random sampling (a yardstick).
SAMPLERS = ("tpe", "random")
#: Name of the designed plan in the scheme block it writes (``[schemes.designed]``) unless ``name_scheme`` says.
DEFAULT_SCHEME_NAME = "designed"
_WEIGHT = re.compile(r"^(marketing|sales)\.components\[(\d+)\]\.weight$")


@dataclass(frozen=True)
class ConstraintKind:
    """One kind of constraint a director or HR sets.

    Attributes
    ----------
    label : str
        What it limits, for reports.
    unit : str
        ``money``, ``share`` or ``index`` (:func:`incentsim.report.format.number`).
    sense : str
        ``max`` (the figure may be at most the limit) or ``min`` (at least).
    column : str
        The figure in a candidate's row (:mod:`incentsim.optimise.evaluate`).
    """

    label: str
    unit: str
    sense: str
    column: str


#: Key in ``[constraints]`` -> what it limits.
CONSTRAINTS: dict[str, ConstraintKind] = {
    "bonus_budget_p90": ConstraintKind("Bonus budget at P90", "money", "max", "bonus_budget_p90"),
    "over_budget": ConstraintKind("Probability the bonus cost exceeds the budget", "share", "max", "p_over_budget"),
    "zero_bonus_share": ConstraintKind("Share of people with no bonus", "share", "max", "zero_bonus_share"),
    "median_pay_at_target": ConstraintKind(
        "Pay of the median rep at target (base + bonus)", "money", "min", "median_pay_at_target"
    ),
    "cost_of_sales": ConstraintKind("Cost of sales (pay / revenue)", "share", "max", "cost_of_sales_mean"),
    "payout_gini": ConstraintKind("Gini of bonuses across reps", "index", "max", "payout_gini"),
}


@dataclass(frozen=True)
class Constraint:
    """A limit on one figure of a candidate plan.

    Attributes
    ----------
    name : str
        Key in ``[constraints]`` (:data:`CONSTRAINTS`).
    limit : float
        The limit (currency, a share or an index).
    budget : float or None
        For ``over_budget``: the budget whose excess is limited in probability.
    """

    name: str
    limit: float
    budget: float | None = None

    @property
    def kind(self) -> ConstraintKind:
        """What the constraint limits."""
        return CONSTRAINTS[self.name]

    def violation(self, value: float) -> float:
        """How far ``value`` is beyond the limit (<= 0: met), relative to the limit for money."""
        if value is None or not math.isfinite(value):
            return 1.0
        gap = value - self.limit if self.kind.sense == "max" else self.limit - value
        return gap / abs(self.limit) if self.kind.unit == "money" and self.limit else gap

    def met(self, value: float) -> bool:
        """Whether ``value`` satisfies the constraint."""
        return self.violation(value) <= 1e-12


@dataclass(frozen=True)
class Parameter:
    """One free parameter of the plan: a key path inside the scheme and where it may go.

    Attributes
    ----------
    path : str
        Key path inside the scheme table, e.g. ``"sales.cap"`` or ``"sales.components[1].weight"``.
    low, high : float or None
        Bounds of a range (``None`` for a choice).
    log : bool
        Sample the range on a log scale (rates spanning decades).
    choices : tuple or None
        The values of a choice (periods, payout types, booleans, numbers).
    """

    path: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None

    @property
    def is_choice(self) -> bool:
        """Whether the parameter is categorical."""
        return self.choices is not None

    def distribution(self) -> Any:
        """The Optuna distribution of the parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution

        if self.is_choice:
            return CategoricalDistribution(list(self.choices))
        return FloatDistribution(self.low, self.high, log=self.log)

    def value(self, raw: Any) -> Any:
        """A sampled value as the plan uses it: numbers to 4 significant digits (the block written
        for the scenario file then reproduces the evaluated plan exactly)."""
        if self.is_choice:
            return raw
        v = float(f"{float(raw):.4g}")
        return min(max(v, self.low), self.high)

    def describe(self) -> str:
        """The parameter's space in words."""
        if self.is_choice:
            return f"{self.path} in {{{', '.join(str(c) for c in self.choices)}}}"
        return f"{self.path} in [{self.low:g}, {self.high:g}]" + (" (log scale)" if self.log else "")


@dataclass(frozen=True)
class Design:
    """A validated plan design: the company, the plan family, what may move, what to maximise, the limits.

    Attributes
    ----------
    name, description, source : str
        The design's name (default: the file's stem), one line, and the file.
    base_source : str
        The base scenario's file.
    scenario : Scenario
        The base scenario with the search's replications, seed and behaviour.
    base_data : dict
        The base scenario as a dict (each candidate is validated as one more scheme in it).
    baseline : str
        Scheme of the base scenario the best plan is compared against.
    family : dict
        The plan family's scheme table (a preset expanded into its keys).
    family_name : str
        Where the family comes from (a scheme's name, or ``"[scheme]"``).
    scheme_name : str
        Name of the designed plan in the block written for the scenario file.
    parameters : tuple of Parameter
    objective : str
        ``profit``, ``revenue`` or ``margin`` (:data:`OBJECTIVES`).
    constraints : tuple of Constraint
    sampler : str
        ``tpe`` or ``random``.
    trials, batch, replications, seed : int
        Candidates evaluated, asked per round, replications per candidate, root seed.
    behaviour : str
        ``optimising`` or ``fixed``.
    finalists, final_replications : int
        Best candidates re-evaluated on fresh years, and at how many replications.
    """

    name: str
    description: str
    source: str
    base_source: str
    scenario: Scenario
    base_data: dict
    baseline: str
    family: dict
    family_name: str
    scheme_name: str
    parameters: tuple[Parameter, ...]
    objective: str
    constraints: tuple[Constraint, ...]
    sampler: str
    trials: int
    batch: int
    replications: int
    seed: int
    behaviour: str
    finalists: int
    final_replications: int

    @property
    def metric(self) -> str:
        """The metric maximised (its mean per simulated year)."""
        return OBJECTIVES[self.objective]

    @property
    def budget(self) -> float | None:
        """The budget of an ``over_budget`` constraint, if any."""
        return next((c.budget for c in self.constraints if c.budget is not None), None)

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that determines the results (a folder of another design is refused)."""
        text = json.dumps(
            {
                "version": __version__,
                "base": self.scenario.hash,
                "baseline": self.baseline,
                "family": self.family,
                "scheme_name": self.scheme_name,
                "parameters": [vars(p) for p in self.parameters],
                "objective": self.objective,
                "constraints": [vars(c) for c in self.constraints],
                "settings": [self.sampler, self.trials, self.batch, self.replications, self.seed, self.behaviour,
                             self.finalists, self.final_replications],
                "simulation": [self.scenario.simulation.burn_in_years, self.scenario.simulation.horizon_years],
            },
            sort_keys=True,
            default=str,
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def manifest(self) -> dict:
        """What ``DIR/design.json`` records."""
        return {
            "name": self.name,
            "source": self.source,
            "base": self.base_source,
            "scenario_hash": self.scenario.hash,
            "baseline": self.baseline,
            "family": self.family_name,
            "parameters": [p.describe() for p in self.parameters],
            "objective": self.objective,
            "constraints": {c.name: c.limit for c in self.constraints},
            "sampler": self.sampler,
            "trials": self.trials,
            "batch": self.batch,
            "replications": self.replications,
            "seed": self.seed,
            "behaviour": self.behaviour,
            "finalists": self.finalists,
            "final_replications": self.final_replications,
            "version": __version__,
        }

    def scheme_table(self, values: dict[str, Any]) -> dict:
        """The plan family's scheme table with the parameters at ``values`` (key path -> value).

        Weights of a role's components stay a split of its bonus: a free weight sets its
        component's share and the role's other (non-commission) components share the rest in
        their written proportions; when every weight is free they are scaled to sum to 1.
        """
        table = copy.deepcopy(self.family)
        for p in self.parameters:
            set_path(table, p.path, copy.deepcopy(values[p.path]), self.source, f"parameters.{p.path}")
        _split_weights(table, {p.path for p in self.parameters})
        described = ", ".join(f"{p.path} = {_show(values[p.path])}" for p in self.parameters)
        table["description"] = f"Designed by incentsim design ({self.name}) from {self.family_name}: {described}"
        return table

    def candidate(self, values: dict[str, Any]) -> Scheme:
        """The validated plan at ``values`` (a :class:`Scheme` named :attr:`scheme_name`)."""
        data = copy.deepcopy(self.base_data)
        data["schemes"] = {**data["schemes"], self.scheme_name: self.scheme_table(values)}
        return scenario_from_dict(data, source=self.source).schemes[self.scheme_name]

    def start_values(self) -> dict[str, Any] | None:
        """The family's own values of the parameters, when all are written and within bounds (the
        search's first trial: it starts from today's plan)."""
        from ..batch.keypaths import get_path
        from ..scenario.reader import MISSING

        out = {}
        for p in self.parameters:
            v = get_path(self.family, p.path)
            if v is MISSING:
                v = _LOADER_DEFAULTS.get(p.path.rsplit(".", 1)[-1], MISSING)
            if v is MISSING:
                return None
            if p.is_choice:
                if v not in p.choices:
                    return None
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or not p.low <= v <= p.high:
                return None
            out[p.path] = v if p.is_choice else float(v)
        return out


#: A component's keys that the loader fills in when a scheme leaves them out (the start trial's values).
_LOADER_DEFAULTS = {"target_level": 1.0, "period": "year", "target_by": "scheme", "threshold": 0.0, "accelerator": 1.0,
                    "weight": 1.0, "true_up": False, "phasing": "even"}  # fmt: skip


def _show(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _split_weights(table: dict, free: set[str]) -> None:
    """Make each role's component weights sum to 1 after some were set (see :meth:`Design.scheme_table`)."""
    for role in ("marketing", "sales"):
        comps = table.get(role, {}).get("components") if isinstance(table.get(role), dict) else None
        if not isinstance(comps, list):
            continue
        weighted = [i for i, c in enumerate(comps) if isinstance(c, dict) and _bonus_weighted(c)]
        chosen = [i for i in weighted if f"{role}.components[{i}].weight" in free]
        if not chosen:
            continue
        rest = [i for i in weighted if i not in chosen]
        taken = sum(float(comps[i].get("weight", 1.0)) for i in chosen)
        if not rest:
            for i in chosen:
                comps[i]["weight"] = float(comps[i].get("weight", 1.0)) / taken if taken > 0 else 1.0 / len(chosen)
            continue
        written = sum(float(comps[i].get("weight", 1.0)) for i in rest)
        left = max(0.0, 1.0 - taken)
        for i in rest:
            w = float(comps[i].get("weight", 1.0))
            comps[i]["weight"] = left * (w / written if written > 0 else 1.0 / len(rest))


def _bonus_weighted(component: dict) -> bool:
    """Whether a component's weight splits the role's bonus (everything but commission at an explicit rate)."""
    return component.get("payout") != "commission" or component.get("rate", "auto") == "auto"


# -- reading the file -------------------------------------------------------------------------------

_TOP = ("design", "base", "scheme", "parameters", "constraints")


def resolve_design(name_or_path: str | Path) -> Path:
    """A design file: the path, or the bundled design of exactly that name (``scenarios/``); a
    path-like argument is never replaced by a bundled file (:func:`incentsim.scenario.bundled.resolve`)."""
    from ..scenario.bundled import resolve

    return resolve(str(name_or_path), designs=True)


def load_design(
    spec: str | Path | dict,
    *,
    source: str | None = None,
    trials: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
) -> Design:
    """Read and validate a design file (or its parsed dict).

    Parameters
    ----------
    spec : str, Path or dict
        A design TOML file (or the name of a bundled one), or the parsed dict (a relative
        ``base`` path is then taken from the current folder).
    source : str, optional
        Name for error messages when ``spec`` is a dict.
    trials, replications, seed, behaviour : optional
        Override the file's settings.

    Returns
    -------
    Design

    Raises
    ------
    ScenarioError
        One line naming the file, the key and the reason; nothing has run yet.
    """
    if isinstance(spec, dict):
        data, src, folder = spec, source or "<dict>", Path.cwd()
    else:
        path = resolve_design(spec)
        data, src, folder = read_toml(path), str(path), path.parent
    top = Table(data, "", src)
    if "sweep" in data:
        raise top.error("sweep", "this is a sweep file: run it with incentsim sweep (a design file has [design])")
    for key in data:
        if key not in _TOP:
            raise top.error(
                key, f"unknown key{did_you_mean(key, _TOP)}; a design file has [design], [base], [scheme], "
                "[parameters] and [constraints]"
            )  # fmt: skip
    meta = top.table("design", required=True)
    base_data, base_source, inline = _base(top, meta, folder)
    try:
        base_sc = scenario_from_dict(copy.deepcopy(base_data), source=base_source)
    except ScenarioError as exc:
        if inline:
            raise ScenarioError(src, f"base.{exc.key}" if exc.key else "base", exc.reason) from None
        raise
    name = meta.string("name", Path(src).stem if src != "<dict>" else "design")
    description = meta.string("description", "")
    default_base = base_sc.baseline_name
    baseline = meta.string("baseline", default_base)
    if baseline not in base_sc.schemes:
        raise meta.error(
            "baseline",
            f"no scheme {baseline!r}{did_you_mean(baseline, base_sc.schemes)}; the base scenario has "
            f"{', '.join(base_sc.schemes)}",
        )
    family, family_name = _family(top, meta, base_data, base_sc)
    scheme_name = meta.string("name_scheme", DEFAULT_SCHEME_NAME)
    if scheme_name in base_sc.schemes:
        raise meta.error("name_scheme", f"the base scenario already has a scheme {scheme_name!r}: choose another name")
    objective = meta.string("objective", "profit", choices=list(OBJECTIVES))
    sampler = meta.string("sampler", "tpe", choices=list(SAMPLERS))
    n_trials = meta.integer("trials", 48, lo=2, hi=100_000)
    batch = meta.integer("batch", 8, lo=1, hi=10_000)
    reps = meta.integer("replications", 1000, lo=2, hi=2**31 - 1)
    root = meta.integer("seed", base_sc.simulation.seed, lo=0)
    beh = meta.string("behaviour", base_sc.simulation.behaviour, choices=BEHAVIOURS)
    finalists = meta.integer("finalists", 4, lo=1, hi=1000)
    final_reps = meta.integer("final_replications", max(10_000, reps), lo=2, hi=2**31 - 1)
    meta.finish(allowed_extra=("base", "start"))
    if finalists > n_trials:
        raise meta.error("finalists", f"must be at most trials ({n_trials}), got {finalists}")
    n_trials = n_trials if trials is None else int(trials)
    reps = reps if replications is None else int(replications)
    if reps < 2:
        # One replication gives no interval, and a share of years from one year (ArgumentError: the
        # override; the file's own value is refused by its range above).
        raise ArgumentError("replications", f"must be at least 2 (one gives no interval), got {reps}", src)
    root = root if seed is None else int(seed)
    beh = beh if behaviour is None else behaviour
    params = _parameters(top.table("parameters", required=True))
    constraints = _constraints(top.table("constraints"))
    top.finish(allowed_extra=("base", "scheme"))
    design = Design(
        name=name, description=description, source=src, base_source=base_source,
        scenario=base_sc.with_simulation(replications=reps, seed=root, behaviour=beh), base_data=base_data,
        baseline=baseline, family=family, family_name=family_name, scheme_name=scheme_name,
        parameters=params, objective=objective, constraints=constraints, sampler=sampler, trials=n_trials,
        batch=min(batch, n_trials), replications=reps, seed=root, behaviour=beh, finalists=min(finalists, n_trials),
        final_replications=final_reps,
    )  # fmt: skip
    _check_corners(design)
    return design


def _base(top: Table, meta: Table, folder: Path) -> tuple[dict, str, bool]:
    in_meta = meta.raw("base", None)
    at_top = top.raw("base", None)
    if in_meta is not None and at_top is not None:
        raise meta.error("base", 'give the base scenario once: [design] base = "file.toml" or a [base] table')
    base = in_meta if in_meta is not None else at_top
    key = "design.base" if in_meta is not None else "base"
    if base is None:
        raise ScenarioError(
            top.source, "design.base", 'is required: the scenario to design for ("file.toml", relative to this file)'
        )
    if isinstance(base, dict):
        return base, top.source, True
    if not isinstance(base, str):
        raise ScenarioError(top.source, key, "must be a scenario file name or a table")
    path = folder / base
    if not path.exists():
        from ..scenario.bundled import resolve

        bundled = resolve(base)
        if not bundled.exists():
            raise ScenarioError(
                top.source, key, f"scenario file {str(path)!r} not found (paths are relative to the design file)"
            )
        path = bundled
    return read_toml(path), str(path), False


def _expand(table: dict, source: str, key: str) -> dict:
    """A scheme table with its preset written out (so every key of the preset can be a parameter)."""
    table = copy.deepcopy(table)
    preset = table.pop("preset", None)
    if preset is None:
        return table
    if preset not in PRESETS:
        raise ScenarioError(
            source,
            f"{key}.preset",
            f"must be one of {', '.join(PRESETS)}; got {preset!r}{did_you_mean(str(preset), PRESETS)}",
        )  # fmt: skip
    return merge(preset_table(preset), table)


def _family(top: Table, meta: Table, base_data: dict, base_sc: Scenario) -> tuple[dict, str]:
    start = meta.raw("start", None)
    written = top.raw("scheme", None)
    if start is not None and written is not None:
        raise meta.error("start", 'give the plan family once: [design] start = "SCHEME" or a [scheme] table')
    if written is not None:
        if not isinstance(written, dict) or not written:
            raise top.error("scheme", "must be a scheme table, as a [schemes.NAME] table of a scenario")
        table = _expand(written, top.source, "scheme")
        data = copy.deepcopy(base_data)
        data["schemes"] = {**data["schemes"], "__family__": table}
        try:
            scenario_from_dict(data, source=top.source)
        except ScenarioError as exc:
            prefix = "schemes.__family__"
            k = exc.key
            k = "scheme" + k[len(prefix) :] if k.startswith(prefix) else k
            raise ScenarioError(top.source, k, exc.reason) from None
        return table, "the written [scheme]"
    name = start if start is not None else base_sc.baseline_name
    if not isinstance(name, str) or name not in base_sc.schemes:
        raise meta.error(
            "start",
            f"no scheme {name!r}{did_you_mean(str(name), base_sc.schemes)}; the base scenario has "
            f"{', '.join(base_sc.schemes)} (or write the plan in a [scheme] table)",
        )
    table = base_data["schemes"][name]
    table = {k: v for k, v in table.items() if k != "description"}
    return _expand(table, top.source, f"schemes.{name}"), f"scheme {name!r}"


_SPEC_KEYS = frozenset({"low", "high", "log", "choices"})


def _leaves(table: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """Key paths of the parameters: nested tables are paths, ``{ low, high, log }`` and ``{ choices }`` specs."""
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value and not set(value) <= _SPEC_KEYS:
            out.extend(_leaves(value, path))
        else:
            out.append((path, value))
    return out


def _parameters(t: Table) -> tuple[Parameter, ...]:
    entries = _leaves(t.data)
    if not entries:
        raise t.error(None, "is empty: give key path = [low, high] or a list of choices")
    out = []
    for path, spec in entries:
        where = t.key(path)
        if path.split(".")[0] not in ("marketing", "sales", "handoff", "relationship"):
            raise ScenarioError(
                t.source, where,
                "a parameter is a key path inside the scheme: sales..., marketing..., handoff... or relationship",
            )  # fmt: skip
        out.append(_parameter(t.source, where, path, spec))
    return tuple(out)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _parameter(source: str, where: str, path: str, spec: Any) -> Parameter:
    def bad(reason: str) -> ScenarioError:
        return ScenarioError(source, where, reason)

    if isinstance(spec, list):
        if len(spec) == 2 and all(_number(v) for v in spec):
            lo, hi = float(spec[0]), float(spec[1])
            if not lo < hi:
                raise bad(f"low must be below high, got [{lo:g}, {hi:g}]")
            return Parameter(path, lo, hi)
        if spec and all(isinstance(v, str) for v in spec):
            if len(set(spec)) != len(spec):
                raise bad("names a choice twice")
            return Parameter(path, choices=tuple(spec))
        raise bad(
            f'must be a range [low, high], a list of strings to choose from, or a table '
            f"{{ low = , high = , log = }} / {{ choices = [...] }}; got {describe(spec)}"
        )  # fmt: skip
    if isinstance(spec, dict):
        pt = Table(spec, where, source)
        if pt.has("choices"):
            choices = pt.raw("choices")
            if not isinstance(choices, list) or len(choices) < 2:
                raise pt.error("choices", "must be a list of at least two values")
            if any(isinstance(c, (dict, list)) for c in choices) or len({repr(c) for c in choices}) != len(choices):
                raise pt.error("choices", "must be distinct plain values (numbers, strings, true/false)")
            pt.finish()
            return Parameter(path, choices=tuple(choices))
        lo = pt.number("low")
        hi = pt.number("high")
        log = pt.boolean("log", False)
        pt.finish()
        if not lo < hi:
            raise bad(f"low must be below high, got low = {lo:g}, high = {hi:g}")
        if log and lo <= 0:
            raise pt.error("low", f"a log-scale range needs a positive low, got {lo:g}")
        return Parameter(path, lo, hi, log)
    raise bad(f"must be a range [low, high] or a list of choices, got {describe(spec)}")


def _constraints(t: Table) -> tuple[Constraint, ...]:
    out = []
    for name in t.keys():
        if name not in CONSTRAINTS:
            raise t.error(name, f"unknown constraint{did_you_mean(name, CONSTRAINTS)}; one of {', '.join(CONSTRAINTS)}")
        kind = CONSTRAINTS[name]
        if name == "over_budget":
            ct = t.table(name, required=True)
            budget = ct.number("budget", lo=0.0, lo_open=True)
            p = ct.probability("probability")
            ct.finish()
            out.append(Constraint(name, p, budget))
        elif kind.unit == "share":
            out.append(Constraint(name, t.probability(name)))
        elif kind.unit == "index":
            out.append(Constraint(name, t.number(name, lo=0.0, hi=1.0)))
        else:
            out.append(Constraint(name, t.number(name, lo=0.0, lo_open=True)))
    t.finish()
    return tuple(out)


def _check_corners(design: Design) -> None:
    """Validate the plan at every parameter's low end, high end and each choice (others at their middle)."""
    params = design.parameters

    def middle(p: Parameter) -> Any:
        if p.is_choice:
            return p.choices[0]
        return p.value(math.sqrt(p.low * p.high) if p.log else (p.low + p.high) / 2)

    corners: list[tuple[dict, Parameter | None, str]] = []
    mid = {p.path: middle(p) for p in params}
    corners.append(
        ({p.path: (p.choices[0] if p.is_choice else p.low) for p in params}, None, "every parameter at its low end")
    )
    highs = {p.path: (p.choices[-1] if p.is_choice else p.high) for p in params}
    corners.append((highs, None, "every parameter at its high end"))
    for p in params:
        for v in p.choices if p.is_choice else (p.low, p.high):
            corners.append(({**mid, p.path: v}, p, f"{p.path} = {_show(v)}"))
    for values, p, label in corners:
        try:
            design.candidate(values)
        except ScenarioError as exc:
            if exc.source != design.source:
                raise
            prefix = f"schemes.{design.scheme_name}."
            key = exc.key[len(prefix) :] if exc.key.startswith(prefix) else exc.key
            culprit = p
            if culprit is None or not _related(culprit.path, key):
                culprit = next((q for q in params if _related(q.path, key)), culprit)
            if culprit is not None:
                raise ScenarioError(design.source, f"parameters.{culprit.path}", f"{exc.reason} (at {label})") from None
            raise ScenarioError(design.source, exc.key, f"{exc.reason} (at {label})") from None
    for role in ("marketing", "sales"):
        free = [p for p in params if _WEIGHT.match(p.path) and p.path.startswith(role)]
        if free and not all(q.is_choice for q in free):
            top = sum(q.high for q in free if not q.is_choice)
            comps = design.family.get(role, {}).get("components", [])
            if len(free) < len(comps) and top > 1.0 + 1e-9:
                raise ScenarioError(
                    design.source,
                    f"parameters.{free[-1].path}",
                    f"the free weights of {role} can sum to more than 1 (their highs sum to {top:g}); lower their "
                    "highs "
                    "or free every component's weight",
                )


def _related(path: str, key: str) -> bool:
    return key == path or key.startswith(path + ".") or key.startswith(path + "[") or path.startswith(key + ".")
