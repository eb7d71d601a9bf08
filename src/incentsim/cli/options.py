"""Options and helpers shared by the subcommands (lazy: nothing heavy is imported here)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click

from ..scenario.errors import ScenarioError
from ..scenario.reader import did_you_mean

scenario_argument = click.argument("scenario", metavar="SCENARIO")

replications_option = click.option(
    "-n", "--replications", type=click.IntRange(1, 2**31 - 1), default=None,
    help="Replications (simulated company histories); default: the scenario's.",
)  # fmt: skip
seed_option = click.option(
    "--seed", type=click.IntRange(0, None), default=None, help="Root seed; default: the scenario's."
)
behaviour_option = click.option(
    "--behaviour", type=click.Choice(["optimising", "fixed"]), default=None,
    help="optimising: people respond to the scheme; fixed: everyone at normal effort (the mechanical "
    "baseline). Default: the scenario's.",
)  # fmt: skip


def load(scenario_arg: str, **overrides):
    """Load a scenario by path or bundled name, applying CLI overrides that are not None."""
    from ..scenario import load_scenario
    from ..scenario.bundled import resolve

    path = resolve(scenario_arg)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return load_scenario(path, **changes)


def scheme_list(scenario, text: str | None) -> list[str]:
    """Parse ``--schemes A,B`` against the scenario's schemes (one-line error otherwise)."""
    if not text:
        return list(scenario.schemes)
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise ScenarioError(scenario.source, "schemes", "--schemes names no scheme")
    for name in names:
        if name not in scenario.schemes:
            hint = did_you_mean(name, scenario.schemes)
            raise ScenarioError(
                scenario.source, "schemes", f"no scheme {name!r}{hint}; the scenario has {', '.join(scenario.schemes)}"
            )
    return names


def scheme_name(scenario, name: str | None) -> str:
    """Validate ``--scheme NAME`` (default: the first scheme)."""
    if name is None:
        return next(iter(scenario.schemes))
    return scheme_list(scenario, name)[0]


class Progress:
    """A progress bar on stderr that appears only once a run has taken about a second.

    Use as a context manager; call it with the number of replications just finished.
    """

    def __init__(self, total: int, label: str = "simulating", delay: float = 1.0):
        self.total = total
        self.label = label
        self.delay = delay
        self.done = 0
        self.start = time.perf_counter()
        self.bar = None

    def __call__(self, n: int) -> None:
        """Record ``n`` more finished replications."""
        self.done += n
        if (
            self.bar is None
            and sys.stderr.isatty()
            and time.perf_counter() - self.start > self.delay
            and self.done < self.total
        ):
            self.bar = click.progressbar(
                length=self.total, label=self.label, file=sys.stderr, show_eta=True, show_percent=True
            )
            self.bar.__enter__()
            self.bar.update(self.done)
        elif self.bar is not None:
            self.bar.update(n)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def write_output(path: str, text: str, echo: Callable[[str], None] = click.echo) -> None:
    """Write text to a file atomically, or to stdout for ``-``."""
    if path == "-":
        echo(text)
        return
    from ..io import write_atomic

    try:
        write_atomic(path, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot be written ({exc.strerror or exc})") from None


class CellProgress:
    """Progress on stderr: a bar with cells (or evaluations) done and time left, when stderr is a terminal.

    Call it as ``progress(done, total)``: the first call starts the bar (``done`` > 0 when
    resuming), later calls advance it.
    """

    def __init__(self, label: str = "cells"):
        self.label = label
        self.bar = None
        self.done = 0
        self.total = 0
        self.before = 0

    def __call__(self, done: int, total: int) -> None:
        """Start the bar (first call) or move it to ``done`` of ``total``."""
        if self.bar is None:
            self.before, self.total = done, total
            if done:
                click.echo(f"resuming: {done} of {total} {self.label} already done, {total - done} to go", err=True)
            self.bar = click.progressbar(
                length=max(total - done, 1), label=self.label, file=sys.stderr, show_pos=True, show_eta=True
            )
            self.bar.__enter__()
        else:
            self.bar.update(done - self.done)
        self.done = done

    def close(self, *exc) -> None:
        """End the bar (safe to call twice)."""
        if self.bar is not None:
            self.bar.__exit__(*(exc or (None, None, None)))
            self.bar = None
