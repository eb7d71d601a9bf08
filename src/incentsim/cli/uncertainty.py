"""``--uncertainty`` of ``incentsim compare`` and ``incentsim report``: the verdict across plausible worlds.

The options are shared by both commands (:func:`uncertainty_options`); the analysis itself is
:func:`incentsim.worlds.uncertainty`.
"""

from __future__ import annotations

import time

import click

from ..scenario.errors import ArgumentError
from .options import CellProgress, write_output, writing


def uncertainty_options(out_flag: str = "--out"):
    """Decorator adding ``--uncertainty`` and its options to a command.

    Parameters
    ----------
    out_flag : str
        The option naming the folder of per-world results (``--out`` for ``compare``; ``report``
        uses ``--out`` for its HTML file, so it passes ``--worlds-dir``).
    """

    def decorate(func):
        decorators = [
            click.option(
                "--uncertainty", is_flag=True,
                help="Compare across plausible worlds drawn from the scenario's [uncertainty] table: the probability "
                "that each scheme is best, what the verdict hinges on, and the value of information.",
            ),  # fmt: skip
            click.option(
                "--worlds", type=click.IntRange(2, 1 << 20), default=None,
                help="With --uncertainty: plausible worlds (default: the table's, 64; a power of 2 for Sobol).",
            ),  # fmt: skip
            click.option(
                "--sampling", type=click.Choice(["sobol", "lhs"]), default=None,
                help="With --uncertainty: how the worlds are drawn, the outer design (default: the table's, sobol).",
            ),  # fmt: skip
            click.option(
                out_flag, "worlds_out", metavar="DIR", default=None,
                help="With --uncertainty: folder for the per-world results (Parquet), so a run can be resumed.",
            ),  # fmt: skip
            click.option("--resume", is_flag=True, help="With --uncertainty: finish an interrupted run in its folder."),
            click.option(
                "--workers", type=click.IntRange(0, None), default=None,
                help="With --uncertainty: processes of the embedded Dask cluster (default: the CPU cores); 0 runs "
                "here without Dask.",
            ),  # fmt: skip
            click.option(
                "--scheduler", metavar="ADDRESS",
                help="With --uncertainty: use an existing Dask cluster, e.g. tcp://10.0.0.5:8786.",
            ),  # fmt: skip
        ]
        for dec in reversed(decorators):
            func = dec(func)
        return func

    return decorate


def check_options(opts: dict, out_flag: str, refused: dict[str, object]) -> None:
    """Refuse options that need --uncertainty, or that --uncertainty cannot use (a usage error, exit 2)."""
    flags = {
        "worlds": "--worlds", "sampling": "--sampling", "worlds_out": out_flag, "resume": "--resume",
        "workers": "--workers", "scheduler": "--scheduler",
    }  # fmt: skip
    if not opts.get("uncertainty"):
        given = [flag for key, flag in flags.items() if opts.get(key) not in (None, False)]
        if given:
            raise click.UsageError(f"{', '.join(given)} only apply with --uncertainty")
        return
    bad = [flag for flag, value in refused.items() if value not in (None, False)]
    if bad:
        raise click.UsageError(f"{', '.join(bad)} cannot be used with --uncertainty")
    if opts.get("resume") and not opts.get("worlds_out"):
        raise click.UsageError(f"--resume needs {out_flag} DIR (the folder of the interrupted run)")


def run(scenario: str, schemes_text: str | None, replications, seed, behaviour, opts: dict):
    """Run the analysis with a progress bar on stderr; the :class:`~incentsim.worlds.UncertaintyResult`."""
    from ..batch.runner import Runtime
    from ..worlds import prepare, uncertainty

    Runtime(opts.get("workers"), opts.get("scheduler")).check()
    schemes = [s.strip() for s in schemes_text.split(",") if s.strip()] if schemes_text else None
    settings = dict(worlds=opts.get("worlds"), replications=replications, seed=seed, behaviour=behaviour,
                    design=opts.get("sampling"))  # fmt: skip
    try:
        study = prepare(scenario, schemes, **settings)  # every error before anything runs
    except ArgumentError as exc:
        exc.options = {"design": "--sampling"}  # (the library's design= is this command's --sampling)
        raise
    workers, scheduler = opts.get("workers"), opts.get("scheduler")
    where = f"on the Dask cluster at {scheduler}" if scheduler else (
        "in this process" if workers == 0 else f"on an embedded Dask cluster ({workers or 'one process per core'})"
    )  # fmt: skip
    click.echo(
        f"uncertainty: {len(study.worlds)} plausible worlds x {len(study.schemes)} schemes "
        f"({', '.join(study.schemes)}), {study.replications:,} replications each, behaviour {study.behaviour}, "
        f"{where}",
        err=True,
    )
    out = opts.get("worlds_out")
    progress = CellProgress(label="worlds")
    start = time.perf_counter()
    try:
        res = uncertainty(
            scenario, schemes, **settings, out=out, resume=bool(opts.get("resume")), workers=workers,
            scheduler=scheduler, progress=progress,
        )  # fmt: skip
    except KeyboardInterrupt:
        progress.close()
        if out:
            done = f"{progress.done} of {len(study.worlds)} worlds"
            click.echo(f"{done} are saved in {out}; run again with --resume to finish", err=True)
        raise
    except Exception as exc:
        progress.close()
        if type(exc).__name__ == "KilledWorker":
            saved = f"finished worlds are saved in {out}; rerun with --resume" if out else "nothing was saved"
            raise click.ClickException(f"a world kept killing its workers (out of memory?): {exc}. {saved}") from None
        raise
    finally:
        progress.close()
    saved = f" -> {out}/results.parquet" if out else ""
    click.echo(f"{len(study.worlds)} worlds in {time.perf_counter() - start:.1f} s{saved}", err=True)
    return res


def show(res, json_path: str | None, plot_path: str | None, brief: bool) -> None:
    """Write ``--json`` and ``--plot`` outputs and print the analysis (or only its verdict)."""
    import json

    with writing():  # (both outputs or neither)
        if json_path:
            write_output(json_path, json.dumps(res.to_json(), indent=2))
        if plot_path:
            res.plot(plot_path)
    if json_path != "-":
        click.echo(f"Verdict: {res.verdict}" if brief else res.text())
