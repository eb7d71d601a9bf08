"""Running an uncertainty analysis: the worlds on the batch runtime, then the summaries.

Steps (:func:`uncertainty` runs them in order):

1. :func:`prepare` reads the scenario and its ``[uncertainty]`` table, draws the worlds
   (:mod:`~incentsim.worlds.design`) and validates every world's scenario: every error is raised
   here, before anything is simulated;
2. the chains of worlds run on :func:`incentsim.batch.runner.run_items` (embedded Dask cluster by
   default, ``scheduler=`` to scale out), each world's rows stored as its own Parquet part in
   ``out/worlds/`` as soon as its chain finishes, so an interrupted run resumes (``resume=True``)
   to the same table;
3. :func:`analyse` turns the table into :class:`~incentsim.worlds.result.UncertaintyResult`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..batch.keypaths import set_path, validate_overrides
from ..batch.runner import Progress, Runtime, run_items
from ..batch.store import ResultStore
from ..scenario.errors import ArgumentError, ScenarioError
from ..scenario.schema import BEHAVIOURS, Scenario
from ..scenario.uncertainty import DEFAULT_REPLICATIONS, DESIGNS, Uncertainty
from .design import CHAIN_LENGTH, World, chains, draw_worlds
from .evaluate import WorldItem, evaluate_chain, warm_up
from .result import METRIC, UncertaintyResult


@dataclass
class Study:
    """A validated uncertainty analysis, ready to run (step 1).

    Attributes
    ----------
    scenario : Scenario
        The scenario as written (its own values of the uncertain inputs).
    spec : Uncertainty
        Its ``[uncertainty]`` table.
    schemes : tuple of str
        Baseline first.
    worlds : list of World
    items : list of WorldItem
        One per world, in world order.
    groups : list of list of int
        The warm-start chains (world indices in solving order).
    replications, seed : int
    behaviour, design : str
    chain_length : int
    """

    scenario: Scenario
    spec: Uncertainty
    schemes: tuple[str, ...]
    worlds: list[World]
    items: list[WorldItem]
    groups: list[list[int]]
    replications: int
    seed: int
    behaviour: str
    design: str
    chain_length: int

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that determines the results (a folder of another study is refused)."""
        from .. import __version__

        worlds = [[it.index, it.values, it.scenario.hash] for it in self.items]
        text = json.dumps(
            {
                "version": __version__, "what": "uncertainty", "schemes": self.schemes,
                "replications": self.replications, "seed": self.seed, "behaviour": self.behaviour,
                "design": self.design, "worlds": worlds, "chains": self.groups,
            },
            sort_keys=True, default=str,
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def manifest(self) -> dict:
        """What ``out/uncertainty.json`` records."""
        from .. import __version__

        return {
            "scenario": self.scenario.name,
            "source": self.scenario.source,
            "schemes": list(self.schemes),
            "worlds": len(self.worlds),
            "replications": self.replications,
            "seed": self.seed,
            "behaviour": self.behaviour,
            "design": self.design,
            "chain_length": self.chain_length,
            "inputs": {i.path: i.distribution.text() for i in self.spec.inputs},
            "version": __version__,
        }


def _read(scenario: str | Path | dict | Scenario, source: str | None) -> tuple[dict, str]:
    from ..scenario.load import read_toml

    if isinstance(scenario, dict):
        return copy.deepcopy(scenario), source or "<dict>"
    if isinstance(scenario, Scenario):
        path = Path(scenario.source)
        if not path.is_file():
            raise ArgumentError(
                "scenario", "needs the scenario's file or its dict (a Scenario built in Python has no file to vary)"
            )
        return read_toml(path), str(path)
    from ..scenario.bundled import resolve

    path = resolve(str(scenario))
    return read_toml(path), str(path)


def prepare(
    scenario: str | Path | dict | Scenario,
    schemes: list[str] | tuple[str, ...] | None = None,
    *,
    worlds: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
    design: str | None = None,
    chain_length: int = CHAIN_LENGTH,
    source: str | None = None,
) -> Study:
    """Step 1: the scenario, its ``[uncertainty]`` table, the worlds and their scenarios, all validated.

    Parameters are those of :func:`uncertainty`.

    Raises
    ------
    ScenarioError
        For a bad scenario, table, world or argument (one line naming the file and key, or the
        argument).
    """
    from ..scenario.load import scenario_from_dict
    from ..scenario.reader import did_you_mean

    data, src = _read(scenario, source)
    sc = scenario_from_dict(copy.deepcopy(data), source=src)
    if isinstance(scenario, Scenario):  # run settings of the object the caller holds
        seed = scenario.simulation.seed if seed is None else seed
        behaviour = behaviour or scenario.simulation.behaviour
    spec = sc.uncertainty
    if spec is None or not spec.inputs:
        raise ScenarioError(
            src, "uncertainty", 'names no uncertain input: add an [uncertainty] table with key path = { dist = "...", '
            "... } (see the README, How sure, really)"
        )  # fmt: skip
    names = list(schemes) if schemes else list(sc.schemes)
    for n in names:
        if n not in sc.schemes:
            raise ArgumentError(
                "schemes", f"no scheme {n!r}{did_you_mean(n, sc.schemes)}; the scenario has {', '.join(sc.schemes)}"
            )
    if len(names) < 2 or len(set(names)) != len(names):
        raise ArgumentError("schemes", f"the analysis compares two or more different schemes; got {', '.join(names)}")
    if behaviour is not None and behaviour not in BEHAVIOURS:
        raise ArgumentError("behaviour", f"must be one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
    if design is not None and design not in DESIGNS:
        raise ArgumentError("design", f"must be one of {', '.join(DESIGNS)}, got {design!r}")
    method = design or spec.design
    n = spec.worlds if worlds is None else int(worlds)
    if n < 2:
        raise ArgumentError("worlds", f"must be at least 2, got {n}")
    if method == "sobol" and n & (n - 1):
        lo = 1 << (n.bit_length() - 1)
        raise ArgumentError(
            "worlds", f"a Sobol design needs a power of 2 worlds for its balance; got {n}, use {lo} or {lo * 2} "
            "(or the lhs design, {{design}})"
        )  # fmt: skip
    reps = replications or spec.replications or min(DEFAULT_REPLICATIONS, sc.simulation.replications)
    if reps < 2:
        # (one replication gives a world no interval, and its noise no measure)
        raise ArgumentError("replications", f"must be at least 2 (one gives no interval), got {reps}")
    root = sc.simulation.seed if seed is None else int(seed)
    beh = behaviour or sc.simulation.behaviour
    drawn = draw_worlds(spec, root, n, method)
    base = {k: v for k, v in data.items() if k != "uncertainty"}
    where = {i.path: f"uncertainty.{i.path}" for i in spec.inputs}
    items = []
    for w in drawn:
        d = copy.deepcopy(base)
        for path, value in w.values.items():
            set_path(d, path, value, src, where[path], changer="[uncertainty]")
        world_sc = validate_overrides(d, w.values, where, src, f"world {w.index}")
        world_sc = world_sc.with_simulation(replications=reps, seed=root, behaviour=beh)
        items.append(WorldItem(w.index, w.u, dict(w.values), world_sc, tuple(names)))
    groups = chains(drawn, chain_length)
    return Study(sc, spec, tuple(names), drawn, items, groups, reps, root, beh, method, chain_length)


def uncertainty(
    scenario: str | Path | dict | Scenario,
    schemes: list[str] | tuple[str, ...] | None = None,
    *,
    worlds: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
    design: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: Progress | None = None,
    chain_length: int = CHAIN_LENGTH,
    source: str | None = None,
) -> UncertaintyResult:
    """How sure the verdict is when the assumptions themselves are uncertain: the two-level simulation.

    An outer design of plausible worlds is drawn from the scenario's ``[uncertainty]`` table;
    in each world effort costs are calibrated anew, every scheme's policy is solved, and the
    schemes are compared on common random numbers (inner replications). The result says in how
    many worlds each scheme is best, how its profit difference against the baseline is spread
    across worlds, the expected regret of choosing it, and per uncertain input its share of the
    across-world variance, the break-even value where the verdict flips and the expected value of
    perfect information about it.

    Parameters
    ----------
    scenario : str, Path, dict or Scenario
        A scenario file (or bundled name), its parsed dict, or a :class:`Scenario` loaded from a
        file; it must have an ``[uncertainty]`` table.
    schemes : list of str, optional
        Schemes to compare, baseline first (default: all).
    worlds : int, optional
        Plausible worlds (default: the table's ``worlds``, 64).
    replications : int, optional
        Inner replications per world and scheme (default: the table's, else 2,000 or the
        scenario's when fewer).
    seed : int, optional
        Root seed (default: the scenario's): the design and the inner streams.
    behaviour : str, optional
        ``optimising`` or ``fixed`` (default: the scenario's).
    design : str, optional
        ``sobol`` or ``lhs`` (default: the table's).
    out : str or Path, optional
        Folder for the per-world results (``worlds/world-NNNNNN.parquet``, ``uncertainty.json``,
        ``results.parquet``); needed to resume.
    resume : bool
        Skip the worlds already finished in ``out``.
    workers, scheduler, client
        Where worlds run: see :class:`~incentsim.batch.runner.Runtime` (``workers=0`` runs here).
        Results are identical for any number of workers.
    progress : callable, optional
        ``progress(done, total)`` in worlds.
    chain_length : int
        Worlds per warm-start chain (solved in order in one process; part of the fingerprint).
    source : str, optional
        Name for errors when ``scenario`` is a dict.

    Returns
    -------
    UncertaintyResult

    Examples
    --------
    >>> import incentsim
    >>> res = incentsim.uncertainty("separate-vs-shared", worlds=16, workers=0)  # doctest: +SKIP
    >>> print(res.verdict)  # doctest: +SKIP
    """
    runtime = Runtime(workers, scheduler, client)
    runtime.check()
    study = prepare(
        scenario, schemes, worlds=worlds, replications=replications, seed=seed, behaviour=behaviour, design=design,
        chain_length=chain_length, source=source,
    )  # fmt: skip
    store = None
    if out is not None:
        store = ResultStore(
            Path(out), study.fingerprint, study.manifest(), what="uncertainty analysis", part="world",
            manifest_name="uncertainty.json",
        )  # fmt: skip
    table = run_items(
        study.items, evaluate_chain, store=store, resume=resume, runtime=runtime, progress=progress,
        warm_up=warm_up, groups=study.groups, warm_up_here=True,
    )  # fmt: skip
    return analyse(study, table)


def analyse(study: Study, table: Any) -> UncertaintyResult:
    """Step 3: the summaries of a finished table (one row per world and scheme)."""
    import numpy as np

    from .analysis import EFFECT_LEVEL, input_effect, noise_share, scheme_summaries

    names = list(study.schemes)
    t = table.sort_values(["world"], kind="stable")
    # Worlds whose baseline cannot reproduce today's funnel contradict what is observed: left out,
    # and said so (the calibration's reason).
    excluded: dict[int, str] = {}
    if "excluded" in t.columns:
        reasons = t["excluded"].fillna("").astype(str)
        excluded = {int(w): r for w, r in zip(t["world"], reasons, strict=True) if r}
        t = t[reasons == ""]
    kept = [w for w in study.worlds if w.index not in excluded]
    if len(kept) < 2:
        from ..scenario.errors import ScenarioError

        first = next(iter(excluded.values()), "")
        raise ScenarioError(
            study.scenario.source or "<dict>", "behaviour.baseline_scheme",
            f"only {len(kept)} of {len(study.worlds)} plausible worlds reproduce today's funnel under today's scheme; "
            f"narrow the [uncertainty] ranges ({first})",
        )  # fmt: skip
    n = len(kept)
    row_of = {w.index: k for k, w in enumerate(kept)}
    nb = np.full((n, len(names)), np.nan)
    half = np.full((n, len(names)), np.nan)
    col = {s: j for j, s in enumerate(names)}
    for w, s, m, lo, hi in zip(
        t["world"], t["scheme"], t[f"{METRIC}_mean"], t[f"{METRIC}_diff_ci95_lo"], t[f"{METRIC}_diff_ci95_hi"],
        strict=True,
    ):  # fmt: skip
        nb[row_of[int(w)], col[s]] = float(m)
        half[row_of[int(w)], col[s]] = (float(hi) - float(lo)) / 2.0
    if not np.isfinite(nb).all():  # pragma: no cover - a store always holds every world
        raise RuntimeError("the per-world table is incomplete")
    summaries = scheme_summaries(nb, names)
    order = np.argsort(-nb.mean(axis=0), kind="stable")
    best, runner = int(order[0]), int(order[1])
    d = nb[:, best] - nb[:, runner]
    p5, p50, p95 = np.percentile(d, [5, 50, 95])
    x = {i.path: np.array([w.values[i.path] for w in kept], dtype=float) for i in study.spec.inputs}
    # Every fit tested against "no effect" at one shared level (Bonferroni over inputs and schemes).
    level = EFFECT_LEVEL / max(1, len(study.spec.inputs) * (len(names) - 1))
    effects = [input_effect(x[i.path], nb, names, best, runner, i.path, level) for i in study.spec.inputs]
    noise = half[:, 1:]
    pair_half = half[:, runner] if best == 0 else half[:, best] if runner == 0 else None
    notes = []
    if excluded:
        bad = sorted(excluded)
        notes.append(
            f"{len(bad)} of {len(study.worlds)} world(s) left out, {bad[:10]}: under their assumptions today's scheme "
            f"cannot reproduce today's funnel, so they contradict what is observed ({excluded[bad[0]]})"
        )  # fmt: skip
    if "converged" in t.columns and not t["converged"].astype(bool).all():
        bad = sorted({int(w) for w, c in zip(t["world"], t["converged"], strict=True) if not c})
        notes.append(f"the behaviour equilibrium did not fully converge in {len(bad)} world(s): {bad[:10]}")
    from ..report.text import burn_in_note

    burn_in = burn_in_note(study.scenario, study.behaviour)
    if burn_in is not None:
        notes.append(burn_in)
    return UncertaintyResult(
        scenario=study.scenario.name, source=study.scenario.source, currency=study.scenario.currency,
        schemes=names, behaviour=study.behaviour, worlds=n, replications=study.replications, seed=study.seed,
        design=study.design, inputs=list(study.spec.inputs), table=table, summaries=summaries, effects=effects,
        best=names[best], runner_up=names[runner],
        verdict_difference={"mean": float(d.mean()), "p5": float(p5), "p50": float(p50), "p95": float(p95)},
        evpi=float(summaries[best].expected_regret), noise_half_width=float(np.nanmedian(noise)),
        noise_share=noise_share(d, pair_half) if pair_half is not None else float("nan"),
        chain_length=study.chain_length, notes=notes,
    )  # fmt: skip
