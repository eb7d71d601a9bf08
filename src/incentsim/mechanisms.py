"""What each team-work mechanism adds to a scheme (help, events, passing, mutual monitoring).

A mechanism's contribution is a counterfactual: the same scenario with that one mechanism switched
off (its ``[behaviour]`` parameter at 0), the people's effort costs held at the scenario's
calibration (the same people in a world where, say, nobody can help), the scheme's equilibrium
solved again, and both worlds simulated on the same random numbers. The difference in revenue and
in profit after bonuses is what the mechanism adds under that scheme; it includes the behaviour it
changes (a rep who can help prospects less, a rep who is watched works more).

A mechanism adds nothing, by construction, under a scheme where it cannot act: help, events and
monitoring act only when part of sales' pay is on a team measure, passing only when passing a
prospect to the strongest colleague pays some rep (``pay.pass_threshold``); those are not solved
or simulated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .i18n import N_
from .scenario.schema import Scenario
from .stats import PairedDifference, paired_difference

#: The mechanisms, by name, with what the reports call them and the ``[behaviour]`` keys that
#: switch them off at 0 (help is one choice of a rep's time: colleagues' quotes and marketing's events).
MECHANISMS: dict[str, str] = {
    "help": N_("help (colleagues' quotes, marketing's events)"),
    "passing": N_("passing prospects"),
    "monitoring": N_("mutual monitoring"),
}
KEYS: dict[str, tuple[str, ...]] = {
    "help": ("help_gain", "event_gain"),
    "passing": ("passing",),
    "monitoring": ("monitoring",),
}

#: Replications of each counterfactual (paired with the scheme's own on the same draws): enough for
#: an interval of a few percent of revenue on the bundled company.
DEFAULT_REPLICATIONS = 1000

#: What a contribution is measured on (the last: revenue with the mechanism switched off but the
#: people doing what they did with it, the mechanism's direct part).
MEASURES = ("revenue", "profit_after_bonus", "revenue_same_behaviour")


@dataclass(frozen=True)
class MechanismEffect:
    """What one mechanism adds to one scheme.

    Attributes
    ----------
    scheme : str
    key : str
        The mechanism: ``help``, ``passing`` or ``monitoring`` (:data:`MECHANISMS`).
    revenue, profit_after_bonus : PairedDifference
        Scheme with the mechanism minus without it, per year (currency units), on common random
        numbers.
    revenue_same_behaviour : PairedDifference
        The direct part of ``revenue``: the mechanism switched off while people keep the choices
        they make with it (zero for monitoring, which acts only through choices); the rest,
        ``revenue - revenue_same_behaviour``, comes from what people choose differently.
    """

    scheme: str
    key: str
    revenue: PairedDifference
    profit_after_bonus: PairedDifference
    revenue_same_behaviour: PairedDifference

    @property
    def label(self) -> str:
        """What the reports call the mechanism."""
        return MECHANISMS[self.key]


def acting(scenario: Scenario, scheme_name: str) -> list[str]:
    """The mechanisms switched on in ``scenario`` that can act under scheme ``scheme_name`` (keys of
    :data:`MECHANISMS`, in its order)."""
    import math

    from .model.policy import _role

    sc = scenario.for_scheme(scenario.scheme(scheme_name))
    b = sc.behaviour
    if sc.sales.reps < 2:
        return []
    role = _role(sc, sc.scheme(scheme_name), "sales")
    on = []
    if (b.help_gain > 0 or b.event_gain > 0) and role.team_work:
        on.append("help")
    if b.passing > 0 and math.isfinite(role.pass_threshold):
        from .model.company import Company

        co = Company(sc)
        if any(co.passes(k, role.pass_threshold) for k in range(len(co.levels))):
            on.append("passing")
    if b.monitoring > 0 and role.team_share > 0:
        on.append("monitoring")
    return on


def without(scenario: Scenario, key: str) -> Scenario:
    """``scenario`` with mechanism ``key`` switched off (its ``[behaviour]`` values at 0)."""
    if key not in MECHANISMS:
        raise KeyError(f"mechanism: {key!r} is not one of {', '.join(MECHANISMS)}")
    off = dict.fromkeys(KEYS[key], 0.0)
    return dataclasses.replace(scenario, behaviour=dataclasses.replace(scenario.behaviour, **off))


def mechanism_effects(
    scenario: Scenario,
    schemes: Sequence[str] | None = None,
    *,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
    status: Callable[[str], None] | None = None,
    simulated: dict[str, dict[str, np.ndarray]] | None = None,
) -> dict[str, list[MechanismEffect]]:
    """What each team-work mechanism adds to each scheme (see the module's docstring).

    Parameters
    ----------
    scenario : Scenario
        With optimising behaviour (under fixed behaviour nobody responds to the scheme).
    schemes : sequence of str, optional
        Scheme names (default: all).
    replications : int
        Replications of each world, with and without the mechanism, on the same draws.
    seed : int, optional
        Root seed (default: the scenario's).
    status : callable, optional
        Hears ``"what team work adds under NAME"`` before each scheme's counterfactuals.
    simulated : dict, optional
        Per scheme, the :data:`MEASURES` ``"revenue"`` and ``"profit_after_bonus"`` of its first
        ``replications`` replications with ``seed`` and its own solved policy, as
        ``simulate(scenario, name, replications=..., seed=seed)`` gives them
        (``(replications, horizon_years)`` each): a comparison has just simulated them, and they
        are not simulated again. A scheme missing, or with other shapes, is simulated.

    Returns
    -------
    dict of str to list of MechanismEffect
        Per scheme, one entry per mechanism that can act under it (an empty list when none can).
        Results are cached on disk by scenario, scheme, seed, replications and the package's code.
    """
    if replications < 2:
        raise ValueError("replications must be at least 2 (a difference needs an interval)")
    seed = scenario.simulation.seed if seed is None else int(seed)
    out: dict[str, list[MechanismEffect]] = {}
    for name in schemes or list(scenario.schemes):
        keys = acting(scenario, name)
        if not keys:
            out[name] = []
            continue
        cached = _load(scenario, name, keys, seed, replications)
        if cached is not None:
            out[name] = cached
            continue
        if status is not None:
            status(f"what team work adds under {name}")
        out[name] = _measure(scenario, name, keys, seed, replications, (simulated or {}).get(name))
        _save(scenario, name, seed, replications, out[name])
    return out


def solve_ahead(
    scenario: Scenario,
    schemes: Sequence[str],
    *,
    seed: int | None = None,
    status: Callable[[str], None] | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Solve the counterfactual policies :func:`mechanism_effects` will need (into the policy
    cache), scheme by scheme while ``keep_going()``: a first run does this while the simulation
    kernel compiles, so that afterwards only the simulations remain. Schemes whose effects are
    already cached (at :data:`DEFAULT_REPLICATIONS`) are skipped. ``status`` hears ``"solving what
    team work adds under NAME"``."""
    from .model.policy import solve_policy

    seed = scenario.simulation.seed if seed is None else int(seed)
    for name in schemes:
        keys = acting(scenario, name)
        if not keys or not keep_going() or _load(scenario, name, keys, seed, DEFAULT_REPLICATIONS) is not None:
            continue
        if status is not None:
            status(f"solving what team work adds under {name}")
        full = solve_policy(scenario, name)
        for key in keys:
            _solve_without(scenario, name, key, full)


def _solve_without(scenario: Scenario, name: str, key: str, full=None):
    """Scheme ``name``'s equilibrium in the world without mechanism ``key``: the same people (effort
    costs held at the scenario's calibration, cached), solved again (the policy cache keeps it).

    The solve starts from where everyone settled with the mechanism (``full``, the scheme's own
    solve, read from the policy cache when not given): the world has lost one mechanism, the people
    move from there. On the bundled scenario that is 2-3 rounds instead of 3-5, 3.1 instead of 4.7
    CPU-seconds for its five counterfactuals; the same start gives the same answer (the start's
    content is part of the cache key)."""
    from .model.policy import calibrate, solve_policy

    if full is None:
        full = solve_policy(scenario, name)
    return solve_policy(without(scenario, key), name, kappa=calibrate(scenario), start=full)


def _measure(
    scenario: Scenario, name: str, keys: list[str], seed: int, n: int, simulated: dict[str, np.ndarray] | None = None
) -> list[MechanismEffect]:
    from .model.policy import solve_policy
    from .simulation import simulate

    full = solve_policy(scenario, name)
    shape = (n, scenario.simulation.horizon_years)
    if simulated is not None and all(np.shape(simulated.get(m)) == shape for m in MEASURES[:2]):
        with_all = {m: simulated[m] for m in MEASURES[:2]}
    else:
        res = simulate(scenario, name, replications=n, seed=seed, policy=full.policy, solver_info=full.info)
        with_all = {m: res.metrics[m] for m in MEASURES[:2]}
    effects = []
    for key in keys:
        off = without(scenario, key)
        solved = _solve_without(scenario, name, key, full)
        res = simulate(off, name, replications=n, seed=seed, policy=solved.policy, behaviour="optimising")
        diffs = {m: paired_difference(with_all[m], res.metrics[m]) for m in MEASURES[:2]}
        if key == "monitoring":  # a cost in people's choices only: nothing in the funnel changes
            direct = paired_difference(with_all["revenue"], with_all["revenue"])
        else:
            same = simulate(off, name, replications=n, seed=seed, policy=full.policy, behaviour="optimising")
            direct = paired_difference(with_all["revenue"], same.metrics["revenue"])
        effects.append(MechanismEffect(name, key, diffs["revenue"], diffs["profit_after_bonus"], direct))
    return effects


# -- the cache: contributions are slow to measure (one solve and simulation per mechanism) ----------

_FIELDS = ("mean", "lo", "hi", "p_a_beats_b", "n")


def _cache_name(scenario: Scenario, name: str, seed: int, n: int) -> str:
    from ._cache import code_hash
    from .model.policy import _safe

    # (the scheme's own hash too: a scheme's name alone does not identify its content, Scheme.hash)
    return f"mechanisms-{scenario.hash}-{_safe(name)}-{scenario.scheme(name).hash}-{seed}-{n}-{code_hash()}.npz"


def _save(scenario: Scenario, name: str, seed: int, n: int, effects: list[MechanismEffect]) -> None:
    from ._cache import save_arrays

    values = np.array(
        [[_row(getattr(e, m)) for m in MEASURES] for e in effects], dtype=np.float64
    )  # (mechanisms, measures, fields)
    save_arrays(_cache_name(scenario, name, seed, n), {"keys": np.array([e.key for e in effects]), "values": values})


def _row(d: PairedDifference) -> list[float]:
    return [d.mean, d.ci95[0], d.ci95[1], d.p_a_beats_b, float(d.n)]


def _load(scenario: Scenario, name: str, keys: list[str], seed: int, n: int) -> list[MechanismEffect] | None:
    from ._cache import load_arrays, require

    def fits(d: dict) -> bool:
        v = d.get("values")
        return (
            list(d.get("keys", [])) == keys
            and v is not None
            and v.shape == (len(keys), len(MEASURES), len(_FIELDS))
            and bool(np.all(v[..., 1] <= v[..., 0]) and np.all(v[..., 0] <= v[..., 2]))
            and bool(np.all((v[..., 3] >= 0) & (v[..., 3] <= 1)))
            and bool(np.all(v[..., 4] == n))
        )

    stored = load_arrays(_cache_name(scenario, name, seed, n), validate=require(fits, "does not fit the scenario"))
    if stored is None:
        return None
    effects = []
    for key, rows in zip(keys, stored["values"], strict=True):
        diffs = [PairedDifference(r[0], (r[1], r[2]), r[3], None, float("nan"), int(r[4])) for r in rows]
        effects.append(MechanismEffect(name, key, *diffs))
    return effects
