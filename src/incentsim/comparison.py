"""Compare schemes on common random numbers (the model: docs/model/metrics.md).

Every scheme is simulated from the same root seed, so replication i of each scheme shares its
abilities, arrivals, conversions and deal values (streams by purpose keep them aligned when a
scheme changes how many draws a week needs). Differences are paired by replication.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .kernels import layout as L
from .results import METRICS, Results, higher_counts
from .scenario.schema import Scenario, Scheme
from .simulation import ProgressFn, simulate
from .stats import (
    PairedDifference,
    QuantileSketch,
    Summary,
    budget_quantiles,
    gini,
    paired_difference,
    sketch_summary,
    summarize,
)

if TYPE_CHECKING:
    from .accumulate import Accumulator, BlockStats, HRStats

#: Called with a short text when a slow phase of a comparison starts.
StatusFn = Callable[[str], None]


@dataclass
class HRView:
    """What HR needs of one scheme's pay (issue: scheme language and the HR view).

    Attributes
    ----------
    rep_payout, marketing_payout : Summary
        Distribution of one person's annual bonus (over person-years).
    zero_bonus_share : float
        Share of person-years with no bonus at all (reps, and marketing by headcount).
    capped_share : float
        Share of person-years with at least one period paid at the curve's maximum.
    payout_gini : float
        Mean Gini of bonus across reps within a year.
    bonus_budget : dict
        Total bonus cost at ``p50``, ``p90``, ``p95``.
    p_over_budget : float or None
        Probability that the year's bonus cost exceeds the stated budget.
    luck_share_of_payout_variance : float
        Share of the variance of rep bonuses not explained by ability level.
    by_ability : list of dict
        Mean rep bonus, attainment and bookings per ability level.
    """

    rep_payout: Summary
    marketing_payout: Summary
    zero_bonus_share: float
    capped_share: float
    payout_gini: float
    bonus_budget: dict[str, float]
    p_over_budget: float | None
    luck_share_of_payout_variance: float
    by_ability: list[dict] = field(default_factory=list)


def hr_view(res: Results, budget: float | None = None) -> HRView:
    """Pay distribution figures of one scheme's results."""
    p = res.person
    reps = res.reps
    rep_pay = p[:, :, :reps, L.P_PAY]
    mkt_pay = p[:, :, reps, L.P_PAY]
    m = max(res.marketing_headcount, 0) if res.marketing_paid else 0
    zero_reps = (rep_pay <= 0).sum()
    zero_mkt = (mkt_pay <= 0).sum() * m
    people = rep_pay.size + mkt_pay.size * m
    capped_reps = (p[:, :, :reps, L.P_CAPPED] > 0).sum()
    capped_mkt = (p[:, :, reps, L.P_CAPPED] > 0).sum() * m
    bonus = res.metrics["bonus_cost"]
    # Luck versus ability: between-level variance of the rep bonus over its total variance.
    ability = np.repeat(res.ability[:, None, :], res.horizon_years, axis=1).reshape(-1)
    flat = rep_pay.reshape(-1)
    total_var = flat.var()
    between = 0.0
    rows = []
    for k, level in enumerate(res.ability_levels):
        sel = ability == k
        if not sel.any():
            continue
        mean_k = flat[sel].mean()
        between += sel.mean() * (mean_k - flat.mean()) ** 2
        rows.append(
            {
                "ability": float(level),
                "share_of_reps": float(sel.mean()),
                "mean_bonus": float(mean_k),
                "mean_attainment": float(p[:, :, :reps, L.P_ATTAIN].reshape(-1)[sel].mean()),
                "mean_bookings": float(p[:, :, :reps, L.P_BOOKINGS].reshape(-1)[sel].mean()),
            }
        )
    luck = float(1.0 - between / total_var) if total_var > 0 else float("nan")
    g = gini(rep_pay, axis=2) if reps > 1 else np.full(rep_pay.shape[:2], np.nan)
    return HRView(
        rep_payout=summarize(rep_pay) if res.sales_paid else summarize(np.array([])),
        marketing_payout=summarize(mkt_pay) if res.marketing_paid else summarize(np.array([])),
        zero_bonus_share=float((zero_reps + zero_mkt) / people) if people else float("nan"),
        capped_share=float((capped_reps + capped_mkt) / people) if people else float("nan"),
        payout_gini=float(np.nanmean(g)) if np.isfinite(g).any() else float("nan"),
        bonus_budget=budget_quantiles(bonus),
        p_over_budget=None if budget is None else float((bonus.reshape(-1) > budget).mean()),
        luck_share_of_payout_variance=luck,
        by_ability=rows,
    )


@dataclass(frozen=True)
class RoleAttainment:
    """How one role did against its primary annual target under one scheme.

    Attributes
    ----------
    on_target_share : float
        Share of person-years at or above 100 % of the target.
    attainment : Summary
        Annual attainment per person-year (1.0 = on target).
    """

    on_target_share: float
    attainment: Summary


@dataclass(frozen=True)
class SchemeProfile:
    """What the figures and the HTML report draw of one scheme, summarised once from its arrays.

    Attributes
    ----------
    attainment : dict
        ``"sales"`` and ``"marketing"`` -> :class:`RoleAttainment`, or ``None`` when the scheme
        pays the role no bonus.
    bookings_by_month : ndarray(float64, (12,))
        Mean bookings in each month of the year, currency per month.
    effort_by_week : ndarray(float64, (52,)) or None
        Mean rep effort in each week of the year (1 = today's normal effort); ``None`` with
        fixed behaviour or no data. NaN in a week no replication recorded.
    """

    attainment: dict[str, RoleAttainment | None]
    bookings_by_month: np.ndarray
    effort_by_week: np.ndarray | None


def scheme_profile(res: Results) -> SchemeProfile:
    """Summaries of one scheme's per-person, per-month and per-week arrays (see :class:`SchemeProfile`)."""
    p = res.person
    roles: dict[str, RoleAttainment | None] = {}
    for role, paid, att in (
        ("sales", res.sales_paid, p[:, :, : res.reps, L.P_ATTAIN]),
        ("marketing", res.marketing_paid, p[:, :, res.reps, L.P_ATTAIN]),
    ):
        if not paid:
            roles[role] = None
            continue
        v = np.asarray(att, dtype=np.float64).reshape(-1)
        v = v[np.isfinite(v)]
        share = float((v >= 1.0 - 1e-9).mean()) if v.size else float("nan")
        roles[role] = RoleAttainment(share, summarize(v))
    month = res.month.reshape(-1, 12)
    monthly = np.nan_to_num(month.mean(axis=0)) if month.shape[0] else np.zeros(12)
    effort = None
    ew = res.effort_week
    if res.behaviour == "optimising" and ew.size:
        effort = np.full(ew.shape[1], np.nan)
        seen = np.isfinite(ew).any(axis=0)
        with np.errstate(invalid="ignore"):
            effort[seen] = np.nanmean(ew[:, seen], axis=0)
    return SchemeProfile(roles, monthly, effort)


@dataclass
class Difference:
    """One metric's paired difference ``a - b`` (``b`` is the baseline scheme)."""

    a: str
    b: str
    metric: str
    stats: PairedDifference


@dataclass
class Comparison:
    """Schemes compared on common random numbers.

    Attributes
    ----------
    scenario : Scenario
    results : dict of str to Results
        In the order given; the first is the baseline.
    summaries : dict
        ``{scheme: {metric: Summary}}``.
    differences : list of Difference
        Each scheme against the baseline, every metric.
    hr : dict of str to HRView
    budget : float or None
        The stated bonus budget, if any.
    precision : dict or None
        When run to a precision: the target, the relative half-width achieved, whether it was
        reached, and the replications it took.
    stats : BlockStats or None
        The merged block statistics the figures come from when the run spans more than one
        block of replications (see ``incentsim.accumulate``); ``None`` when every figure was
        computed exactly from the arrays.
    block : int
        Replications per block.
    mechanisms : dict or None
        What each team-work mechanism adds under each scheme (``{scheme: [MechanismEffect]}``,
        see ``incentsim.mechanisms``), when asked for (``compare(..., mechanisms=True)``).
    """

    scenario: Scenario
    results: dict[str, Results]
    summaries: dict[str, dict[str, Summary]]
    differences: list[Difference]
    hr: dict[str, HRView]
    budget: float | None = None
    precision: dict | None = None
    stats: BlockStats | None = None
    block: int = 0
    mechanisms: dict | None = None

    @property
    def exact(self) -> bool:
        """Whether percentiles and KS distances are exact (else sketched: see ``accumulate``)."""
        return self.stats is None

    @property
    def kept(self) -> bool:
        """Whether every replication's results are available (``to_frame``, figures)."""
        return all(r.year is not None for r in self.results.values())

    @property
    def schemes(self) -> list[str]:
        """Scheme names, baseline first."""
        return list(self.results)

    @property
    def baseline(self) -> str:
        """The first scheme: differences are measured against it."""
        return self.schemes[0]

    @property
    def replications(self) -> int:
        """Replications per scheme."""
        return next(iter(self.results.values())).replications

    def verdict_pair(self) -> tuple[str, str]:
        """The two schemes the verdict compares: the one with the highest mean profit after bonuses,
        and the baseline (or, when the best is the baseline, the runner-up). Needs two schemes."""
        ranked = sorted(self.schemes, key=lambda s: -self.summaries[s]["profit_after_bonus"].mean)
        best = ranked[0]
        return best, (self.baseline if best != self.baseline else ranked[1])

    def difference(self, a: str, metric: str, b: str | None = None) -> PairedDifference:
        """The paired difference of ``metric`` between scheme ``a`` and ``b`` (default baseline)."""
        b = b or self.baseline
        for d in self.differences:
            if d.a == a and d.b == b and d.metric == metric:
                return d.stats
        if self.stats is not None:
            if (b, a) in self.stats.pairs:
                return self.stats.pairs[(b, a)][metric].difference(higher_counts(metric))
            return self.stats.pairs[(a, b)][metric].difference(higher_counts(metric), reverse=True)
        ra, rb = self.results[a], self.results[b]
        return paired_difference(ra.metrics[metric], rb.metrics[metric], higher_counts(metric))

    @property
    def verdict(self) -> str:
        """One or two lines on profit after bonuses, with its interval and its main drivers."""
        return verdict(self)

    @property
    def unsettled(self) -> list[tuple[str, int, float, float]]:
        """Schemes whose equilibrium did not settle within ``behaviour.max_rounds``, as
        ``(scheme, rounds, last change, tolerance)``: the largest move of people's weekly mean
        effort, quality focus or follow-up share in the last round, and the move below which the
        solver stops. Their figures carry that uncertainty on top of the intervals."""
        out = []
        for name, res in self.results.items():
            info = res.solver or {}
            if info.get("converged") is False:
                nan = float("nan")
                out.append((name, int(info.get("rounds", 0)), float(info.get("last_change", nan)),
                            float(info.get("tolerance", nan))))  # fmt: skip
        return out

    @property
    def calibration_unsettled(self) -> tuple[str, int, float, float] | None:
        """The calibration of the effort costs, when it did not settle: ``(baseline scheme, rounds,
        last change, tolerance)``. Its rounds ran out with the baseline's equilibrium still moving
        (people's weekly mean effort, quality focus or follow-up share), so every scheme's
        behaviour rests on costs fitted to a moving target. ``None`` when it settled (or nothing
        was calibrated: fixed behaviour)."""
        for res in self.results.values():
            info = res.solver or {}
            if info.get("calibration_settled") is False:
                nan = float("nan")
                return (str(info.get("calibrated_on")), int(info.get("calibration_rounds", 0)),
                        float(info.get("calibration_last_change", nan)), float(info.get("tolerance", nan)))  # fmt: skip
        return None

    @cached_property
    def profiles(self) -> dict[str, SchemeProfile]:
        """Per scheme, the attainment, month and week summaries the figures draw."""
        return {name: scheme_profile(res) for name, res in self.results.items()}

    def to_frame(self):
        """All schemes' replication-years in one tidy pandas DataFrame.

        Raises
        ------
        ValueError
            When the per-replication results were not kept (``compare(..., keep=False)``, or a
            run longer than one block without ``keep=True``).
        """
        import pandas as pd

        if not self.kept:
            raise ValueError(
                f"the per-replication results of these {self.replications:,} replications were not kept, only "
                "their summaries: call compare(..., keep=True) for a table of every replication-year"
            )

        return pd.concat([r.to_frame() for r in self.results.values()], ignore_index=True)

    def to_json(self) -> dict:
        """The JSON contract of ``compare --json`` (see README)."""
        from .report.json import comparison_json

        return comparison_json(self)


#: First batch of a run with ``replications = "auto"`` (replications per scheme).
AUTO_FIRST_BATCH = 1000


def run_length(
    scenario: Scenario,
    replications: int | str | None = None,
    precision: float | None = None,
    max_replications: int | None = None,
) -> tuple[int, float | None, int]:
    """How many replications a comparison runs: ``(first batch, precision or None, maximum)``.

    A number of ``replications`` alone is a fixed run; with ``precision`` it is the first batch
    of a run to that precision. Without either, the scenario decides: its fixed number, or with
    ``replications = "auto"`` its precision and maximum, starting from :data:`AUTO_FIRST_BATCH`.
    ``max_replications`` overrides the scenario's maximum.
    """
    sim = scenario.simulation
    auto = replications == "auto" or (replications is None and sim.auto)
    if auto:
        precision = sim.precision if precision is None else precision
    limit = int(max_replications) if max_replications is not None else (sim.max_replications if auto else 1_000_000)
    if precision is None:
        return (sim.replications if replications is None else int(replications)), None, limit
    if replications is None or replications == "auto":
        first = min(AUTO_FIRST_BATCH, limit) if auto else sim.replications
    else:
        first = int(replications)
    return min(first, limit), float(precision), limit


def compare(
    scenario: Scenario,
    schemes: Sequence[str] | None = None,
    *,
    replications: int | str | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
    budget: float | None = None,
    progress: ProgressFn | None = None,
    key: tuple[int, ...] = (),
    solved: dict | None = None,
    precision: float | None = None,
    max_replications: int | None = None,
    keep: bool | None = None,
    status: StatusFn | None = None,
    mechanisms: bool = False,
) -> Comparison:
    """Simulate schemes on common random numbers and compare them.

    Parameters
    ----------
    scenario : Scenario
    schemes : sequence of str or Scheme, optional
        Scheme names, baseline first (default: all, in file order); a :class:`Scheme` object
        (for example the best plan of ``incentsim.design``) is compared under its own name.
    replications : int or "auto", optional
        Replications per scheme (default: the scenario's ``[simulation] replications``). With
        ``"auto"`` (the scenario's default), run to the scenario's ``precision`` in batches,
        at most ``max_replications``; with ``precision`` given, the first batch.
    seed : int, optional
        Override the scenario's seed.
    behaviour : str, optional
        ``"fixed"`` or ``"optimising"`` (default: the scenario's).
    budget : float, optional
        Bonus budget per year, for the probability of exceeding it.
    progress : callable, optional
        Called with replications finished (summed over schemes). When it has a ``plan``
        method, that is called with the replications planned so far (summed over schemes)
        before each batch.
    key : tuple of int
        Spawn-key prefix (sweeps pass the cell).
    solved : dict of str to SolvedPolicy, optional
        Already solved policies by scheme name (with optimising behaviour), e.g. a plausible
        world's own solves in an uncertainty analysis; schemes not in it are solved here.
    precision : float, optional
        Run in growing batches until the 95 % interval of the profit difference between the best
        scheme and the baseline (or the runner-up) is narrower than this share of the difference
        (half-width / |difference|), or ``max_replications`` is reached. The first batch is
        ``replications``; later batches continue the same sequence of replications, so the
        result equals one run of the final length, bit for bit.
    max_replications : int, optional
        Cap for a run to a precision (default: the scenario's ``max_replications`` with
        ``"auto"``, else 1,000,000).
    keep : bool, optional
        Keep every replication's results (``Comparison.to_frame``, figures). Without them the
        summaries stream block by block in memory that does not grow with the replications
        (see ``incentsim.accumulate`` for what is exact and what is sketched). Default: keep
        them when the run fits in one block (``accumulate.block_replications``).
    status : callable, optional
        Called with a short text when a slow phase starts: ``"calibrating effort costs"``,
        ``"solving scheme NAME"``, ``"simulating"``.
    mechanisms : bool
        Also measure what each team-work mechanism (help, passing, mutual monitoring) adds under
        each scheme where it can act: one more solve and simulation per mechanism and scheme, at
        most ``mechanisms.DEFAULT_REPLICATIONS`` replications, cached (``Comparison.mechanisms``;
        optimising behaviour only).

    Returns
    -------
    Comparison

    Raises
    ------
    ScenarioError
        When the per-replication results to keep would not fit in memory.
    """
    given = list(schemes) if schemes else list(scenario.schemes)
    # A Scheme object (a designed plan, incentsim.design(...).best) joins the scenario's own schemes;
    # the scenario's hash then covers it, so cached policies can never belong to another plan.
    objects = {s.name: s for s in given if isinstance(s, Scheme)}
    for name, obj in objects.items():
        if name in scenario.schemes and scenario.schemes[name] != obj:
            raise ValueError(f"schemes: the scenario already has a different scheme called {name!r}")
    if objects:
        import dataclasses

        scenario = dataclasses.replace(scenario, schemes={**scenario.schemes, **objects})
    names = [s.name if isinstance(s, Scheme) else s for s in given]
    for name in names:
        scenario.scheme(name)  # KeyError naming the known schemes
    labels = []  # comparing a scheme with itself is allowed (a check of common random numbers)
    for name in names:
        label = name
        i = 2
        while label in labels:
            label = f"{name}#{i}"
            i += 1
        labels.append(label)
    behaviour = behaviour or scenario.simulation.behaviour
    n, precision, max_replications = run_length(scenario, replications, precision, max_replications)
    policies = _policies_and_kernel(scenario, names, behaviour, status, solved, mechanisms=mechanisms, seed=seed)
    from .accumulate import Accumulator, block_replications
    from .memory import bytes_per_replication, check_kept

    block = block_replications(scenario.simulation.horizon_years, scenario.sales.reps)
    if keep is None:
        keep = (n if precision is None else max(n, max_replications)) <= block
    per_replication = bytes_per_replication(scenario.simulation.horizon_years, scenario.sales.reps)
    acc = Accumulator(labels, block, budget, keep)
    plan = getattr(progress, "plan", None)
    # What team work adds is measured against each scheme's own first replications: the same
    # draws (no key), seed and policy as here (not a warm-started one), so they are kept, not
    # simulated again (``mechanisms.mechanism_effects(simulated=...)``).
    from .mechanisms import DEFAULT_REPLICATIONS, MEASURES

    reuse = mechanisms and behaviour == "optimising" and not key
    first_reps: dict[str, dict[str, list]] = {
        name: {m: [] for m in MEASURES[:2]} for name in names if reuse and name not in (solved or {})
    }

    def run(first: int, count: int) -> None:
        if keep:
            check_kept(first + count, per_replication, len(labels), scenario.source)
        if plan is not None:
            plan((first + count) * len(labels))
        stop = first + count
        while first < stop:  # segments never cross a block boundary
            end = min(stop, (first // block + 1) * block)
            segment = {}
            for label, name in zip(labels, names, strict=True):
                policy, info = policies.get(name, (None, None))
                segment[label] = simulate(
                    scenario, name, replications=end - first, seed=seed, behaviour=behaviour, progress=progress,
                    key=key, first_replication=first, policy=policy, solver_info=info,
                )  # fmt: skip
                if label == name and name in first_reps and first < DEFAULT_REPLICATIONS:
                    metrics = segment[label].metrics
                    for m, parts in first_reps[name].items():
                        parts.append(metrics[m][: DEFAULT_REPLICATIONS - first])
            acc.add(first, segment)
            first = end

    run(0, n)
    cmp = _from_accumulator(scenario, acc, budget)
    if precision is not None:
        cmp = _to_precision(cmp, run, acc, scenario, budget, precision, max_replications)
    if mechanisms and behaviour == "optimising":
        from .mechanisms import mechanism_effects

        n_mech = max(2, min(DEFAULT_REPLICATIONS, cmp.replications))
        simulated = {
            name: {m: np.concatenate(parts)[:n_mech] for m, parts in kept.items()}
            for name, kept in first_reps.items()
            if all(parts for parts in kept.values())
        }
        cmp.mechanisms = mechanism_effects(
            scenario, list(dict.fromkeys(names)), replications=n_mech, seed=seed, status=status, simulated=simulated
        )  # fmt: skip
    return cmp


#: A run to a precision aims this much beyond the replications estimated to reach it, so that one
#: more batch usually suffices (the estimate itself is uncertain by a few per cent).
AUTO_MARGIN = 1.1
#: ... and adds at least this share of the replications so far (a run that just misses its
#: precision does not creep towards it in tiny batches).
AUTO_MIN_GROWTH = 0.25


def next_batch(done: int, achieved: float | None, precision: float, max_replications: int) -> int:
    """Replications to add to a run to a precision (see the model page "Metrics", Precision).

    The 95 % half-width shrinks as :math:`1/\\sqrt{N}`, so ``done * (achieved / precision) ** 2``
    replications are expected to reach ``precision``; the batch aims :data:`AUTO_MARGIN` beyond,
    adds at least :data:`AUTO_MIN_GROWTH` of ``done`` and never passes ``max_replications``. With no
    estimate (``achieved`` None: a zero or undefined difference) the run doubles.

    Parameters
    ----------
    done : int
        Replications so far (>= 1).
    achieved : float or None
        Half-width over the absolute difference so far.
    precision : float
        The target for ``achieved``.
    max_replications : int
        Cap on the run's total.

    Returns
    -------
    int
        Replications to add (0 when ``done`` already reached the cap).
    """
    if achieved is None:
        more = done
    else:
        needed = done * (achieved / precision) ** 2
        more = max(math.ceil(needed * AUTO_MARGIN) - done, math.ceil(done * AUTO_MIN_GROWTH))
    return max(0, min(more, max_replications - done))


def _to_precision(cmp, run, acc, scenario, budget, precision, max_replications) -> Comparison:
    """Add batches until the verdict's profit difference is known to ``precision`` (or the maximum)."""
    while True:
        achieved, diff = _relative_half_width(cmp)
        reached = achieved is not None and achieved <= precision
        done = cmp.replications
        if reached or done >= max_replications:
            cmp.precision = {
                "target": precision, "achieved": achieved, "reached": bool(reached),
                "replications": done, "max_replications": max_replications,
                "half_width": diff.half_width if diff is not None else None,
            }  # fmt: skip
            return cmp
        run(done, next_batch(done, achieved, precision, max_replications))
        cmp = _from_accumulator(scenario, acc, budget)


def _policies_and_kernel(
    scenario: Scenario,
    names: Sequence[str],
    behaviour: str,
    status: StatusFn | None,
    solved: dict | None = None,
    *,
    mechanisms: bool = False,
    seed: int | None = None,
) -> dict[str, tuple]:
    """The solved policies (optimising behaviour), with the simulation kernel ready to load.

    On a first run the kernel compiles in a background process while the policies are solved
    (``incentsim.compiling``), and, with ``mechanisms``, while it still compiles, the policies of
    what team work adds (``mechanisms.solve_ahead``: afterwards only their simulations remain);
    ``status`` hears of each phase, ending with ``"simulating"`` once the kernel is ready, or
    ``"compiling the simulation kernels (first run only)"`` when it will compile at its first
    call (the first replications finished end that phase).
    """
    from . import compiling

    say = status or (lambda text: None)
    compiled = compiling.kernel_cached()
    if behaviour != "optimising":
        say("simulating" if compiled else COMPILING)
        return {}
    ahead = None if compiled else compiling.start(scenario, names[0])
    try:

        def phase(text: str) -> None:
            running = ahead is not None and ahead.process.poll() is None
            say(f"{text} while the simulation kernels compile (first run only)" if running else text)

        policies = solve_policies(scenario, names, phase, solved)
        ready = compiled
        if ahead is not None and mechanisms:
            from .mechanisms import solve_ahead

            compiling_still = lambda: ahead.process.poll() is None  # noqa: E731
            solve_ahead(scenario, list(dict.fromkeys(names)), seed=seed, status=phase, keep_going=compiling_still)
        if ahead is not None:
            if ahead.process.poll() is None:
                say(COMPILING)
            ready = ahead.wait()  # on failure the kernel compiles here at its first call
        say("simulating" if ready else COMPILING)
        return policies
    finally:
        if ahead is not None:
            ahead.stop()


#: The phase of a first run while the simulation kernel compiles.
COMPILING = "compiling the simulation kernels (first run only)"


def solve_policies(
    scenario: Scenario, names: Sequence[str], status: StatusFn | None = None, solved: dict | None = None
) -> dict[str, tuple]:
    """Each scheme's solved policy and solver info (``{name: (CompiledPolicy, info)}``).

    The effort costs are calibrated first (once per scenario: ``model.policy.calibrate``, cached
    in memory and on disk), then each scheme is solved (or read from the policy cache), unless
    ``solved`` (``{name: SolvedPolicy}``, e.g. a plausible world's solves)
    already has it; ``status`` hears of each phase.
    """
    from .model.policy import calibrate, solve_policy

    given = solved or {}
    if any(name not in given for name in names):
        if status is not None:
            status("calibrating effort costs")
        calibrate(scenario)  # what solve_policy would calibrate first; later calls hit its cache
    policies: dict[str, tuple] = {}
    for name in dict.fromkeys(names):
        solution = given.get(name)
        if solution is None:
            if status is not None:
                status(f"solving scheme {name}")
            solution = solve_policy(scenario, scenario.scheme(name))
        policies[name] = (solution.policy, solution.info)
    return policies


def _from_accumulator(scenario: Scenario, acc: Accumulator, budget: float | None) -> Comparison:
    """The comparison of everything accumulated so far: exact from the arrays within one block,
    from the merged block statistics beyond."""
    results = acc.results()
    stats = acc.stats()
    if stats is None:
        cmp = _exact_comparison(scenario, results, budget)
    else:
        cmp = comparison_from_stats(scenario, results, stats, budget)
    cmp.block = acc.block
    return cmp


def _relative_half_width(cmp: Comparison):
    """(half-width / |difference|, the difference) of the profit comparison behind the verdict."""
    if len(cmp.schemes) == 1:
        s = cmp.summaries[cmp.baseline]["profit_after_bonus"]
        if cmp.stats is not None:
            from .stats import PairStats

            m = cmp.stats.schemes[cmp.baseline].profit_per_replication
            zero = type(m)()
            d = PairStats(m, m, zero, 0, 0, 0, QuantileSketch(), QuantileSketch()).difference()
        else:
            x = cmp.results[cmp.baseline].metrics["profit_after_bonus"]
            d = paired_difference(x, np.zeros_like(x))
        return (d.half_width / abs(s.mean) if s.mean else None), d
    best, other = cmp.verdict_pair()
    d = cmp.difference(best, "profit_after_bonus", other)
    if not np.isfinite(d.mean) or d.mean == 0:
        return None, d
    return d.half_width / abs(d.mean), d


def build_comparison(scenario: Scenario, results: dict[str, Results], budget: float | None = None) -> Comparison:
    """Summaries, paired differences and HR figures from already simulated results.

    Summarised exactly as :func:`compare` summarises the same replications: in one piece within
    a block, block by block beyond (see ``incentsim.accumulate``).
    """
    from .accumulate import Accumulator, block_replications, slice_results

    block = block_replications(scenario.simulation.horizon_years, scenario.sales.reps)
    n = next(iter(results.values())).replications
    if n <= block:
        cmp = _exact_comparison(scenario, results, budget)
        cmp.block = block
        return cmp
    acc = Accumulator(list(results), block, budget, keep=False)
    for first in range(0, n, block):
        stop = min(n, first + block)
        acc.add(first, {k: slice_results(r, first, stop) for k, r in results.items()})
    cmp = comparison_from_stats(scenario, results, acc.stats(), budget)
    cmp.block = block
    return cmp


def comparison_from_stats(
    scenario: Scenario, results: dict[str, Results], stats: BlockStats, budget: float | None = None
) -> Comparison:
    """A comparison from merged block statistics (``results`` give the provenance)."""
    summaries = {
        label: {metric: sketch_summary(m, sk) for metric, (m, sk) in st.metrics.items()}
        for label, st in stats.schemes.items()
    }
    names = list(results)
    base = names[0]
    diffs = []
    for name in names[1:]:
        pair = stats.pairs[(base, name)]
        for metric in METRICS:
            diffs.append(Difference(name, base, metric, pair[metric].difference(higher_counts(metric))))
    hr = {label: hr_from_stats(results[label], st, budget) for label, st in stats.schemes.items()}
    return Comparison(scenario, results, summaries, diffs, hr, budget, stats=stats)


def hr_from_stats(res: Results, st, budget: float | None) -> HRView:
    """The HR view from merged block statistics (the same figures as :func:`hr_view`)."""
    h: HRStats = st.hr
    m = max(res.marketing_headcount, 0) if res.marketing_paid else 0
    people = h.rep_values + h.mkt_rows * m
    bonus_m, bonus_sketch = st.metrics["bonus_cost"]
    if bonus_m.n:
        q = bonus_sketch.quantiles([0.5, 0.9, 0.95])
        bonus_budget = {"p50": float(q[0]), "p90": float(q[1]), "p95": float(q[2])}
    else:
        bonus_budget = {f"p{q}": float("nan") for q in (50, 90, 95)}
    total = h.pay_all
    total_var = total.m2 / total.n if total.n else 0.0
    between = 0.0
    rows = []
    for level, ls in zip(res.ability_levels, h.levels, strict=True):
        if ls.pay.n == 0:
            continue
        share = ls.pay.n / total.n
        between += share * (ls.pay.mean - total.mean) ** 2
        rows.append(
            {
                "ability": float(level),
                "share_of_reps": float(share),
                "mean_bonus": float(ls.pay.mean),
                "mean_attainment": float(ls.attainment.mean),
                "mean_bookings": float(ls.bookings.mean),
            }
        )
    nan = float("nan")
    return HRView(
        rep_payout=sketch_summary(h.rep_pay, h.rep_pay_sketch) if res.sales_paid else summarize(np.array([])),
        marketing_payout=sketch_summary(h.mkt_pay, h.mkt_pay_sketch) if res.marketing_paid else summarize(np.array([])),
        zero_bonus_share=float((h.zero_reps + h.zero_mkt_rows * m) / people) if people else nan,
        capped_share=float((h.capped_reps + h.capped_mkt_rows * m) / people) if people else nan,
        payout_gini=float(h.gini_sum / h.gini_n) if h.gini_n else nan,
        bonus_budget=bonus_budget,
        p_over_budget=None if budget is None else float(h.over_budget / h.bonus_years),
        luck_share_of_payout_variance=float(1.0 - between / total_var) if total_var > 0 else nan,
        by_ability=rows,
    )


def _exact_comparison(scenario: Scenario, results: dict[str, Results], budget: float | None = None) -> Comparison:
    """Every figure computed exactly from the arrays."""
    summaries = {
        name: {metric: summarize(values) for metric, values in res.metrics.items()} for name, res in results.items()
    }
    names = list(results)
    base = names[0]
    diffs = []
    for name in names[1:]:
        for metric in METRICS:
            diffs.append(
                Difference(
                    name,
                    base,
                    metric,
                    paired_difference(
                        results[name].metrics[metric], results[base].metrics[metric], higher_counts(metric)
                    ),
                )
            )
    hr = {name: hr_view(res, budget) for name, res in results.items()}
    return Comparison(scenario, results, summaries, diffs, hr, budget)


def verdict(cmp: Comparison) -> str:
    """Plain-language verdict on profit after bonuses (and why) for the director."""
    from .report.format import ci95, money, share

    cur = cmp.scenario.currency
    n = cmp.replications
    if len(cmp.schemes) == 1:
        s = cmp.summaries[cmp.baseline]["profit_after_bonus"]
        return (
            f"{cmp.baseline}: profit after bonuses {money(s.mean, cur)} a year on average "
            f"(P5 {money(s.p5, cur)}, P95 {money(s.p95, cur)}; {n:,} replications)."
        )
    best, other = cmp.verdict_pair()
    d = cmp.difference(best, "profit_after_bonus", other)
    lo, hi = d.ci95
    if n < 2:
        # (and no "why": its parts have no interval either, so none is "the same" or "clear")
        return (
            f"No verdict on profit after bonuses from one replication: {best} vs {other} differs by "
            f"{money(d.mean, cur)} in it, and one replication gives no interval; run more (or \"auto\")."
        )
    if not d.significant:
        head = (
            f"No clear winner on profit after bonuses: {best} vs {other} differs by "
            f"{money(d.mean, cur)} a year ({ci95(lo, hi, lambda v: money(v, cur))}), "
            f"within simulation noise at {n:,} replications."
        )
    else:
        head = (
            f"{best} beats {other} on profit after bonuses by {money(d.mean, cur)} a year "
            f"({ci95(lo, hi, lambda v: money(v, cur))}); better in {share(d.p_a_beats_b)} of years."
        )
    return head + " " + _why(cmp, best, other)


def _team_work_why(cmp: Comparison, schemes: tuple[str, ...]) -> list[str]:
    """The team-work mechanisms that add (or cost) a clear amount of profit under the schemes of a
    verdict, largest first: ``"under shared mutual monitoring +32,115 EUR, ..."``."""
    from .report.format import money

    out = []
    for name in dict.fromkeys(schemes):
        effects = [e for e in (cmp.mechanisms or {}).get(name, []) if e.profit_after_bonus.significant]
        effects.sort(key=lambda e: -abs(e.profit_after_bonus.mean))
        if effects:
            what = ", ".join(
                f"{e.label} {money(e.profit_after_bonus.mean, cmp.scenario.currency, signed=True)}" for e in effects
            )
            out.append(f"under {name} {what}")
    return out


def _why(cmp: Comparison, a: str, b: str) -> str:
    from .report.format import money

    cur = cmp.scenario.currency
    parts = []
    rev = cmp.difference(a, "margin_in_year", b)
    bon = cmp.difference(a, "bonus_cost", b)
    if rev.significant:
        parts.append(f"margin {money(rev.mean, cur, signed=True)}")
    else:
        parts.append("same margin")
    if bon.significant:
        parts.append(f"bonus cost {money(bon.mean, cur, signed=True)}")
    else:
        parts.append("same bonus cost")
    extra = []
    q = cmp.difference(a, "marketing_quality", b)
    if q.significant and abs(q.mean) > 0.02:
        extra.append(f"marketing quality focus {q.mean:+.2f}")
    e = cmp.difference(a, "mean_effort", b)
    if e.significant and abs(e.mean) > 0.01:
        extra.append(f"rep effort {e.mean:+.2f}")
    wr = cmp.difference(a, "appointment_win_rate", b)
    if wr.significant and abs(wr.mean) > 0.001:
        extra.append(f"appointment win rate {wr.mean * 100:+.1f} pts")
    # Team work: time spent helping colleagues and at marketing's events, prospects passed.
    hh = cmp.difference(a, "help_hours_per_rep", b)
    if hh.significant and abs(hh.mean) >= 1.0:
        extra.append(f"help {hh.mean:+,.0f} hours a rep")
    pp = cmp.difference(a, "prospects_passed", b)
    if pp.significant and abs(pp.mean) >= 1.0:
        extra.append(f"prospects passed {pp.mean:+,.0f}")
    team = _team_work_why(cmp, (a, b))
    text = "Why: " + ", ".join(parts)
    if extra:
        text += "; behaviour: " + ", ".join(extra)
    elif cmp.results[a].behaviour == "fixed":
        text += " (behaviour fixed: schemes only move money)"
    if team:
        text += "; what team work adds to profit: " + "; ".join(team)
    return text + "."
