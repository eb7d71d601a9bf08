"""simulate(): one scheme of a scenario -> Results (seeding, chunking, allocation; docs/model/index.md#randomness).

The kernel runs in chunks of replications so a caller can show progress; every replication is
seeded from its global index, so chunk size and thread count never change a result.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import __version__
from .compile import CompiledPolicy, action_tables, compile_model, compile_scheme, fixed_policy
from .kernels import layout as L
from .pay import headline_component
from .results import Results
from .scenario.schema import PERIODS, Scenario, Scheme

ProgressFn = Callable[[int], None]


def _kernel():
    # Imported lazily: importing numba and loading the cache costs ~0.5 s.
    from .kernels.funnel import _simulate

    return _simulate


def _threads() -> int:
    """Threads the simulation runs in (:func:`incentsim.threads.thread_count`)."""
    from .threads import thread_count

    return thread_count()


#: A kernel call (a unit of work) aims at this many seconds: short enough that threads share the
#: work evenly when one of them is slowed (a shared machine), long enough that a call's overhead
#: (typing its arguments, allocating its working arrays: about 0.1 ms) stays below 1 %.
UNIT_SECONDS = 0.03


def _run_units(kernel, inputs: list[tuple], first: int, outs: tuple, record_pipeline: bool, pool, unit, progress):
    """Run ``kernel`` on replications ``first .. first + n - 1`` (``n = len(outs[0])``) in units of
    ``unit(done)`` replications, which the ``len(inputs)`` threads take in turn as each finishes
    its last, each thread with its own copy of the inputs (``inputs[j]``: no two threads touch the
    same array's reference count). Results do not depend on the units or the threads: every
    replication is seeded from its global index.

    Taking units in turn (rather than splitting the run in equal halves) keeps both cores busy to
    the end when one is slowed by other work on the machine; ``progress(count)`` is called from the
    calling thread as units finish.
    """
    import queue
    import threading

    n = outs[0].shape[0]
    lock = threading.Lock()
    finished: queue.SimpleQueue = queue.SimpleQueue()
    state = {"next": 0, "stop": False}

    def take() -> tuple[int, int] | None:
        with lock:
            a = state["next"]
            if state["stop"] or a >= n:
                return None
            b = min(n, a + max(1, int(unit(a))))
            state["next"] = b
            return a, b

    def run(j: int, a: int, b: int) -> tuple[int, float]:
        started = time.perf_counter()
        pipe = outs[5][a:b] if record_pipeline else outs[5]
        rows = [o[a:b] for o in outs[:5]]
        kernel(*inputs[j], first + a, *rows, pipe)
        return b - a, time.perf_counter() - started

    def finish(count: int, seconds: float) -> None:
        unit.measured(count, seconds)
        if progress is not None:
            progress(count)

    if pool is None:  # one thread: this one, reporting after every unit
        while (span := take()) is not None:
            finish(*run(0, *span))
        return

    def worker(j: int) -> None:
        try:
            while (span := take()) is not None:
                finished.put(run(j, *span))
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            with lock:
                state["stop"] = True  # the other threads start no new unit
            finished.put(exc)

    threads = [pool.submit(worker, j) for j in range(len(inputs))]
    done = 0
    try:
        while done < n:
            try:
                item = finished.get(timeout=0.5)  # (a timeout: Ctrl-C is seen at once)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            finish(*item)
            done += item[0]
    finally:
        with lock:
            state["stop"] = True  # on an error or Ctrl-C: no new units; running ones finish
        for t in threads:
            t.exception()  # wait (an exception was already raised above)


class _UnitSize:
    """Replications per kernel call: ``fixed`` when given, else sized from the time per replication
    measured so far for :data:`UNIT_SECONDS` a call (the first calls: 8 replications, to measure)."""

    def __init__(self, fixed: int | None):
        self.fixed = fixed
        self.per_rep = 0.0

    def measured(self, count: int, seconds: float) -> None:
        # The latest call only: the first call in a process also loads (or compiles) the kernel.
        self.per_rep = seconds / count

    def __call__(self, done: int) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.per_rep <= 0.0:
            return 8
        return int(min(max(8, UNIT_SECONDS / self.per_rep), 1 << 16))


def last_month_mask(scheme: Scheme) -> np.ndarray:
    """Months that close a period of the component carrying most of sales' pay (all Decembers at
    least)."""
    mask = np.zeros(12, dtype=bool)
    period = "year"
    if scheme.sales is not None:
        period = scheme.sales.components[headline_component(scheme.sales)].period
    per = 12 // PERIODS[period]
    mask[per - 1 :: per] = True
    return mask


def simulate(
    scenario: Scenario,
    scheme: str | Scheme,
    *,
    replications: int | None = None,
    seed: int | None = None,
    key: tuple[int, ...] = (),
    first_replication: int = 0,
    policy: CompiledPolicy | None = None,
    behaviour: str | None = None,
    progress: ProgressFn | None = None,
    chunk: int | None = None,
    solver_info: dict | None = None,
    record_pipeline: bool = False,
) -> Results:
    """Simulate one scheme of a scenario.

    Parameters
    ----------
    scenario : Scenario
    scheme : str or Scheme
        The scheme (by name, or an object).
    replications, seed : int, optional
        Override the scenario's ``[simulation]`` settings.
    key : tuple of int
        Spawn-key prefix for all streams (a sweep passes ``(cell,)``).
    first_replication : int
        Global index of the first replication (for batched runs: replications
        ``first .. first + n - 1`` equal the same rows of one long run).
    policy : CompiledPolicy, optional
        What agents do; default: solved from the scheme when behaviour is optimising, the
        fixed policy otherwise.
    behaviour : str, optional
        ``"fixed"`` or ``"optimising"`` (default: the scenario's).
    progress : callable, optional
        Called (from the calling thread) with the number of replications finished after each
        kernel call.
    chunk : int, optional
        Replications per kernel call (default: sized for about :data:`UNIT_SECONDS` per call); the
        threads take calls in turn.
    solver_info : dict, optional
        Diagnostics of the policy solver to store in the results.
    record_pipeline : bool
        Also record the open pipeline and revenue so far at each month end (for forecasts).

    Returns
    -------
    Results

    Raises
    ------
    ScenarioError
        When the per-replication results would not fit in memory (``simulation.replications``).
    """
    sim = scenario.simulation
    n = sim.replications if replications is None else int(replications)
    seed = sim.seed if seed is None else int(seed)
    behaviour = behaviour or sim.behaviour
    if n < 1:
        raise ValueError("replications must be at least 1")
    if isinstance(scheme, str):
        scheme = scenario.scheme(scheme)
    base_scenario = scenario
    scenario = scenario.for_scheme(scheme)  # the scheme's own hand-off levers, if any
    if policy is None:
        if behaviour == "fixed":
            policy = fixed_policy(scenario)
        else:
            from .model.policy import solve_policy

            solved = solve_policy(base_scenario, scheme)
            policy = solved.policy
            solver_info = solved.info
    model = compile_model(scenario)
    if behaviour == "fixed":
        model = model._replace(passing=0.0)  # passing prospects is a response to the scheme
    sch = compile_scheme(scenario, scheme)
    tab = action_tables(scenario)
    from .kernels.rng import key_words, root_words

    root = root_words(seed)
    prefix = key_words(key)
    h = sim.horizon_years
    r = scenario.sales.reps
    fields = L.pipeline_fields(
        [st.name for st in scenario.funnel.marketing_stages], [st.name for st in scenario.funnel.sales_stages]
    )
    from .memory import bytes_per_replication, check_kept

    check_kept(n, bytes_per_replication(h, r, len(fields) if record_pipeline else 0), 1, base_scenario.source)
    out_year = np.zeros((n, h, L.N_Y))
    out_person = np.zeros((n, h, r + 1, L.N_P))
    out_month = np.zeros((n, h, 12))
    # Summaries only (memory grows with replications, never with weeks); effort by week and the
    # ability level need no more than float32 and int8.
    out_effort = np.zeros((n, L.WEEKS), dtype=np.float32)
    out_ability = np.zeros((n, r), dtype=np.int8)
    out_pipe = np.zeros((n, h, 13, len(fields)) if record_pipeline else (0, 0, 0, 0))
    kernel = _kernel()
    from .kernels.funnel import work_arrays

    args = (model, sch, policy.sales, policy.marketing, bool(policy.any_timing), tab, root, prefix)
    n_threads = min(_threads(), n)
    inputs = [args] + [copy.deepcopy(args) for _ in range(n_threads - 1)]
    # Each thread's working arrays, allocated once and started afresh by every replication.
    inputs = [(*a, work_arrays(model, sch, root, prefix, L.N_Y, L.N_P)) for a in inputs]
    pool = ThreadPoolExecutor(n_threads, thread_name_prefix="incentsim-sim") if n_threads > 1 else None

    try:
        outs = (out_year, out_person, out_month, out_effort, out_ability, out_pipe)
        _run_units(kernel, inputs, first_replication, outs, record_pipeline, pool, _UnitSize(chunk), progress)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)

    base = r * sch.base_sales + scenario.marketing.headcount * sch.base_mkt
    return Results(
        scenario_name=base_scenario.name,
        scenario_hash=base_scenario.hash,
        scheme=scheme.name,
        seed=seed,
        key=tuple(key),
        replications=n,
        horizon_years=h,
        reps=r,
        marketing_headcount=scenario.marketing.headcount,
        behaviour=behaviour,
        version=__version__,
        year=out_year,
        person=out_person,
        month=out_month,
        effort_week=out_effort,
        ability=out_ability,
        ability_levels=np.asarray(scenario.sales.ability.levels),
        base_cost=float(base),
        last_month_mask=last_month_mask(scheme),
        marketing_paid=scheme.marketing is not None and scenario.marketing.headcount > 0,
        sales_paid=scheme.sales is not None,
        currency=scenario.currency,
        event_share=scenario.behaviour.event_share,
        solver=solver_info or {},
        pipeline=out_pipe if record_pipeline else None,
        pipeline_fields=fields if record_pipeline else [],
    )
