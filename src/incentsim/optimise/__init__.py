"""Plan design: search a plan family for the targets and payout curves that make the most profit
within a bonus budget and the limits HR sets (``incentsim design FILE``; ``incentsim.design(...)``).

One module per concept:

- :mod:`~incentsim.optimise.designfile`: the design file (base scenario, plan family, free
  parameters with bounds, objective, constraints), validated before anything runs;
- :mod:`~incentsim.optimise.evaluate`: one candidate plan solved, simulated and summarised (the
  function the batch runtime runs on workers);
- :mod:`~incentsim.optimise.search`: the batch-synchronous ask/tell loop with Optuna, the finalists
  on fresh years, resume;
- :mod:`~incentsim.optimise.result`: the best plan, its verdict, the optimism removed, the frontier
  and behaviour in words.

The package is called ``optimise`` so that the function ``incentsim.design`` is never shadowed
by a submodule of that name.
"""

from __future__ import annotations

from pathlib import Path

from .designfile import Design, load_design


def design(
    spec: str | Path | dict | Design,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    trials: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    behaviour: str | None = None,
    progress=None,
):
    """Search a design file's plan family; return the frontier and the best plan.

    Parameters
    ----------
    spec : str, Path, dict or Design
        A design TOML file (path or bundled name), its parsed dict, or a loaded :class:`Design`.
    out : str or Path, optional
        Folder for the results (``trials/``, ``finals/``, ``results.parquet``, ``summary.json``,
        ``best-scheme.toml``, ``frontier.csv``, ``frontier.png``); needed to resume.
    workers : int, optional
        Processes of the embedded Dask cluster (default: the cores available); 0 runs here.
    scheduler : str, optional
        Address of an existing Dask scheduler.
    client : distributed.Client, optional
        An existing client; left open.
    resume : bool
        Continue an interrupted design in ``out``.
    trials, replications, seed, behaviour : optional
        Override the design file's settings (ignored for a loaded :class:`Design`).
    progress : callable, optional
        ``progress(done, total)`` in candidate evaluations.

    Returns
    -------
    DesignResult
        ``.frontier`` (pandas DataFrame: the non-dominated plans of profit against the bonus
        budget at P90 and against the share of reps with no bonus), ``.best`` (a
        :class:`~incentsim.scenario.schema.Scheme`: ``compare(scenario, [baseline, result.best])``),
        ``.scheme_block()`` (TOML for the scenario file), ``.verdict``, ``.trials``, ``.summary``.

    Examples
    --------
    >>> import incentsim
    >>> result = incentsim.design("scenarios/design-example.toml", "design-out")  # doctest: +SKIP
    >>> result.frontier  # doctest: +SKIP
    >>> cmp = incentsim.compare(result.design.scenario, ["separate", result.best])  # doctest: +SKIP
    """
    from .search import run_design

    if not isinstance(spec, Design):
        spec = load_design(spec, trials=trials, replications=replications, seed=seed, behaviour=behaviour)
    return run_design(spec, out, workers=workers, scheduler=scheduler, client=client, resume=resume, progress=progress)


__all__ = ["Design", "design", "load_design"]
