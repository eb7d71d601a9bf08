"""The plan search: Optuna asks for candidate plans in rounds, the batch runtime evaluates them, the
finalists are re-evaluated on fresh years.

Steps of :func:`run_design`:

1. calibrate the effort costs once on the base scenario's baseline (the company does not change
   between candidates; every candidate's policy is solved with these ``kappa``);
2. rounds of ``batch`` trials: Optuna's sampler asks for the parameters of each trial of the round,
   the candidates run as items on the batch runtime (on common random numbers: the same root seed
   and spawn key :data:`SEARCH_KEY` for all), and the results are told back in trial order, so the
   sampler's next round, and so the whole search, is the same for any number of workers;
3. the ``finalists`` best trials (feasible first) and the baseline are evaluated again on fresh
   years (spawn key :data:`FRESH_KEY`, ``final_replications``): the winner is the best of them
   there, its verdict against the baseline is paired on those years, and the gap between the
   search's estimate and the fresh one is the optimism removed (the winner's curse of picking the
   luckiest of many noisy candidates).

Results stream to the output folder as each candidate finishes (``trials/``, ``finals/``); a
resumed run asks the sampler again (it is seeded, so it asks for the same trials in the same order)
and reads the finished candidates back instead of evaluating them.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..batch.runner import Progress, Runtime, dask_client, default_workers, map_items
from ..batch.store import ResultStore, read_part
from .designfile import Design
from .evaluate import CandidateItem, evaluate_candidate, warm_up

log = logging.getLogger(__name__)

#: Spawn key of every search candidate's streams (common random numbers).
SEARCH_KEY = (0,)
#: Spawn key of the finalists' and the baseline's re-evaluation: years the search never saw.
FRESH_KEY = (1,)


def design_stores(design: Design, out: str | Path) -> tuple[ResultStore, ResultStore]:
    """The output folder's two stores: ``trials/trial-NNNNNN.parquet`` and ``finals/final-NNNNNN.parquet``."""
    args = dict(what="design", manifest_name="design.json")
    return (
        ResultStore(Path(out), design.fingerprint, design.manifest(), part="trial", **args),
        ResultStore(Path(out), design.fingerprint, design.manifest(), part="final", **args),
    )


@contextmanager
def _session(runtime: Runtime, design: Design, warm_item: CandidateItem) -> Iterator[tuple[Runtime, Any]]:
    """One Dask client for the whole search (rounds reuse it); kernels compiled once first."""
    if runtime.in_process:
        yield runtime, None
        return
    if runtime.scheduler is None and runtime.client is None:
        warm_up(warm_item)  # here, before any worker process exists
        with dask_client(min(runtime.workers or default_workers(), design.batch)) as client:
            yield Runtime(client=client), None
        return
    with dask_client(None, runtime.scheduler, runtime.client) as client:
        yield Runtime(client=client), warm_up


def _study(design: Design):
    """A seeded Optuna study maximising the objective, with the constraints read from each trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if design.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=design.seed)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=design.seed,
                n_startup_trials=min(10, max(design.batch, design.trials // 5)),
                multivariate=True,
                constant_liar=True,  # trials of a round not yet told count as bad: the round spreads out
            )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    start = design.start_values()
    if start is not None:
        study.enqueue_trial(start)
    return study


def _same(stored: dict, params: dict) -> bool:
    for k, v in params.items():
        s = stored.get(k)
        if isinstance(v, float):
            if s is None or not math.isclose(float(s), v, rel_tol=1e-12, abs_tol=1e-15):
                return False
        elif s != v and not (isinstance(s, float) and not isinstance(v, str) and s == v):
            return False
    return True


def _read_row(store: ResultStore, index: int) -> dict:
    return read_part(store.part_path(index)).to_dict("records")[0]


def run_design(
    design: Design,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    progress: Progress | None = None,
):
    """Search the plan family of a validated design; return a :class:`~incentsim.optimise.result.DesignResult`.

    Parameters
    ----------
    design : Design
        From :func:`~incentsim.optimise.designfile.load_design`.
    out : str or Path, optional
        Output folder (``trials/``, ``finals/``, ``design.json``, ``results.parquet`` with one row
        per trial, ``finals.parquet``, and what :meth:`DesignResult.save` writes). Without it
        nothing is written and nothing can be resumed.
    workers, scheduler, client
        Where candidates run: see :class:`~incentsim.batch.runner.Runtime`.
    resume : bool
        Continue an interrupted design in ``out``: finished candidates are read back.
    progress : callable, optional
        ``progress(done, total)`` in candidate evaluations (trials, then finals).

    Returns
    -------
    DesignResult
    """
    import pandas as pd

    from .result import build_result

    runtime = Runtime(workers, scheduler, client)
    runtime.check()
    kappa = None
    if design.behaviour == "optimising":
        from ..model.policy import calibrate

        kappa = calibrate(design.scenario)  # once: the company is the same for every candidate
    stores = design_stores(design, out) if out is not None else None
    done = stores[0].open(resume, design.trials) if stores else set()
    finals_done = stores[1].open(resume, design.finalists + 2) if stores else set()
    total = design.trials + design.finalists + 2
    rows: dict[int, dict] = {}
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if progress:
            progress(count, total)

    def item_of(number: int, values: dict) -> CandidateItem:
        return CandidateItem(
            number, "trial", f"trial {number}", values, design.scenario, design.candidate(values), kappa, SEARCH_KEY,
            design.budget,
        )  # fmt: skip

    base_scheme = design.scenario.scheme(design.baseline)
    warm = CandidateItem(-1, "warm-up", "warm-up", {}, design.scenario, base_scheme, kappa, SEARCH_KEY, design.budget)
    if progress:
        progress(0, total)
    study = _study(design)
    distributions = {p.path: p.distribution() for p in design.parameters}
    with _session(runtime, design, warm) as (rt, remote_warm_up):
        for first in range(0, design.trials, design.batch):
            asked = [study.ask(distributions) for _ in range(min(design.batch, design.trials - first))]
            items = [item_of(t.number, {p.path: p.value(t.params[p.path]) for p in design.parameters}) for t in asked]
            todo = []
            for it in items:
                if it.index in done:
                    stored = _read_row(stores[0], it.index)
                    if _same(stored, it.params):
                        rows[it.index] = stored
                        tick()
                        continue
                    log.warning("%s: trial %d holds other parameters; it is evaluated again", out, it.index)
                todo.append((it.index, it))

            def keep(index: int, result: list[dict]) -> None:
                if stores:
                    stores[0].write(index, result)
                rows[index] = result[0]
                tick()

            map_items(todo, evaluate_candidate, keep, runtime=rt, warm_up=remote_warm_up)
            remote_warm_up = None
            for t, it in zip(asked, items, strict=True):
                row = rows[it.index]
                for c in design.constraints:  # Optuna: <= 0 where met; the sampler prefers feasible trials
                    t.set_constraint(c.name, c.violation(_figure(row, c.kind.column)))
                study.tell(t, float(row[f"{design.metric}_mean"]))

        trials = (
            stores[0].combine(range(design.trials)) if stores else pd.DataFrame([rows[i] for i in range(design.trials)])
        )
        finalists = pick_finalists(trials, design)
        final_items = [
            CandidateItem(0, "final", "baseline (search years)", {}, design.scenario, base_scheme, kappa, SEARCH_KEY,
                          design.budget),
            CandidateItem(1, "final", "baseline", {}, _fresh(design), base_scheme, kappa, FRESH_KEY, design.budget,
                          keep_values=True),
        ]  # fmt: skip
        for slot, trial in enumerate(finalists):
            values = {p.path: _plain(trials.loc[trial, p.path]) for p in design.parameters}
            final_items.append(
                CandidateItem(
                    slot + 2, "final", f"trial {trial}", values, _fresh(design), design.candidate(values), kappa,
                    FRESH_KEY, design.budget, keep_values=True,
                )
            )  # fmt: skip
        final_rows: dict[int, dict] = {}
        todo = []
        for it in final_items:
            if it.index in finals_done:
                stored = _read_row(stores[1], it.index)
                if stored.get("label") == it.label and _same(stored, it.params):
                    final_rows[it.index] = stored
                    tick()
                    continue
            todo.append((it.index, it))

        def keep_final(index: int, result: list[dict]) -> None:
            if stores:
                stores[1].write(index, result)
            final_rows[index] = result[0]
            tick()

        map_items(todo, evaluate_candidate, keep_final, runtime=rt, warm_up=remote_warm_up)
    finals = pd.DataFrame([final_rows[i] for i in range(len(final_items))])
    if stores:
        from ..io import with_atomic_file

        with_atomic_file(Path(out) / "finals.parquet", lambda tmp: finals.to_parquet(tmp, index=False))
    result = build_result(design, trials, finals, kappa)
    if out is not None:
        result.save(out)
    return result


def _figure(row: dict, column: str) -> float:
    v = row.get(column)
    return float("nan") if v is None else float(v)


def _plain(v: Any) -> Any:
    """A pandas/numpy scalar as a plain Python value (TOML and the loader want those)."""
    if hasattr(v, "item"):
        v = v.item()
    return v


def _fresh(design: Design):
    return design.scenario.with_simulation(replications=design.final_replications)


def feasibility(trials, design: Design, skip: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """Per trial: whether every constraint (but ``skip``) is met, and the summed violation of the unmet ones."""
    import numpy as np

    n = len(trials)
    ok = np.ones(n, dtype=bool)
    gap = np.zeros(n)
    for c in design.constraints:
        if c.name in skip:
            continue
        v = np.array([c.violation(float(x)) for x in trials[c.kind.column]])
        ok &= v <= 1e-12
        gap += np.maximum(v, 0.0)
    return ok, gap


def pick_finalists(trials, design: Design) -> list[int]:
    """The ``finalists`` best trials (row labels): feasible ones by objective, then the least infeasible;
    each set of parameters once."""
    ok, gap = feasibility(trials, design)
    objective = trials[f"{design.metric}_mean"].to_numpy(dtype=float)
    order = sorted(range(len(trials)), key=lambda i: (not ok[i], gap[i] if not ok[i] else -objective[i], i))
    seen, out = set(), []
    for i in order:
        key = tuple(repr(_plain(trials.iloc[i][p.path])) for p in design.parameters)
        if key in seen:
            continue
        seen.add(key)
        out.append(int(trials.index[i]))
        if len(out) == design.finalists:
            break
    return out
