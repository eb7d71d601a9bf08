"""Options and helpers shared by the subcommands (lazy: nothing heavy is imported here)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click

from ..scenario.errors import ScenarioError
from ..scenario.reader import did_you_mean

scenario_argument = click.argument("scenario", metavar="SCENARIO")


class FiniteFloat(click.FloatRange):
    """A float option in a range that also refuses ``nan`` and ``inf`` (click's FloatRange lets NaN
    through, since every comparison with it is false)."""

    name = "finite number"

    def convert(self, value, param, ctx):
        """Parse and check the value."""
        import math

        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


def replications_range() -> click.IntRange:
    """The accepted ``--replications``: the plausible range of ``simulation.replications``."""
    from ..scenario.limits import LIMITS

    row = LIMITS["simulation.replications"]
    return click.IntRange(int(row.lo), int(row.plausible_hi))


replications_option = click.option(
    "-n", "--replications", type=replications_range(), default=None,
    help="Replications (simulated company histories); default: the scenario's.",
)  # fmt: skip
seed_option = click.option(
    "--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Root seed; default: the scenario's."
)
behaviour_option = click.option(
    "--behaviour", type=click.Choice(["optimising", "fixed"]), default=None,
    help="optimising: people respond to the scheme; fixed: everyone at normal effort (the mechanical "
    "baseline). Default: the scenario's.",
)  # fmt: skip
mechanisms_option = click.option(
    "--mechanisms/--no-mechanisms", default=True, show_default=True,
    help="When the scenario switches team work on (help, passing, monitoring), also measure what each "
    "mechanism adds under each scheme (one more solve and simulation each, then cached).",
)  # fmt: skip


def scenario_path(scenario_arg: str, *, sweeps: bool = False):
    """The file a SCENARIO argument names (one-line error when there is none).

    A path is a path: an argument with a folder separator or a ``.toml`` suffix is never
    replaced by a bundled scenario; a bundled one is used only for its exact name, and then
    stderr says which file that is.
    """
    from ..scenario.bundled import is_bundled, missing_reason, resolve

    path = resolve(scenario_arg, sweeps=sweeps)
    if not path.exists():
        raise ScenarioError(scenario_arg, "", missing_reason(scenario_arg, sweeps=sweeps))
    if is_bundled(path) and str(path) != scenario_arg:
        note(f"used the bundled {'sweep' if sweeps else 'scenario'} {scenario_arg}: {path}")
    return path


def note(text: str) -> None:
    """A line for stderr once the command has succeeded (an error stays one line on its own)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        click.echo(text, err=True)
    else:
        notes = ctx.meta.setdefault("incentsim.notes", [])
        if text not in notes:
            notes.append(text)


def load(scenario_arg: str, **overrides):
    """Load a scenario by path or bundled name, applying CLI overrides that are not None."""
    from ..scenario import load_scenario

    path = scenario_path(scenario_arg)
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
    """What a long command is doing, on stderr, only when stderr is a terminal: the slow phases
    before the simulation (``compiling the simulation kernels``, ``calibrating effort costs``,
    ``solving scheme X``: one line each, shown once a phase has lasted a moment and counting its
    seconds), then a progress bar of the replications that appears once the simulation has taken
    about a second.

    Use as a context manager; call it with the number of replications just finished. Pass
    :meth:`status` as a comparison's ``status`` callback; :meth:`plan` (called by ``compare``
    before each batch) sets the replications planned so far when a run grows in batches.
    """

    #: Seconds a phase lasts before its line appears (quicker ones, e.g. cache hits, stay silent).
    MOMENT = 0.5

    def __init__(self, total: int, label: str = "simulating", delay: float = 1.0):
        self.total = total
        self.label = label
        self.delay = delay
        self.done = 0
        self.start = time.perf_counter()
        self.bar = None
        self.tty = sys.stderr.isatty()
        self._phase: str | None = None
        self._since = 0.0
        self._shown = False
        self._wake = threading.Condition()
        self._ticker: threading.Thread | None = None

    # -- phases before the simulation ---------------------------------------------------------
    def status(self, text: str) -> None:
        """A slow phase starts (``"simulating"`` ends the phases and starts the bar's clock)."""
        if not self.tty:
            if text == "simulating":
                self.start = time.perf_counter()
            return
        with self._wake:
            self._end_phase()
            if text == "simulating":
                self.start = time.perf_counter()
                return
            self._phase, self._since, self._shown = text, time.perf_counter(), False
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="incentsim-progress", daemon=True)
                self._ticker.start()
            self._wake.notify()

    def _end_phase(self) -> None:
        """Finish the shown phase's line with its time (call with the lock held)."""
        if self._phase is not None and self._shown:
            sys.stderr.write(f"\r{self._phase} ... {time.perf_counter() - self._since:.0f} s\n")
            sys.stderr.flush()
        self._phase = None

    def _tick(self) -> None:
        """Show the current phase after :attr:`MOMENT`, then rewrite its seconds every second."""
        with self._wake:
            while True:
                if self._phase is None:
                    self._wake.wait()
                    continue
                waited = time.perf_counter() - self._since
                if waited < self.MOMENT:
                    self._wake.wait(self.MOMENT - waited)
                    continue
                sys.stderr.write(f"\r{self._phase} ... {waited:.0f} s")
                sys.stderr.flush()
                self._shown = True
                self._wake.wait(1.0)

    # -- the simulation ---------------------------------------------------------------------
    def plan(self, total: int) -> None:
        """The replications planned so far (summed over schemes) grew to ``total``."""
        self.total = max(self.total, total)
        if self.bar is not None:
            self.bar.length = self.total
            # click marks a bar finished once it reaches its length, and shows 100 % from then on:
            # without this, a run to a precision sat at 100 % through every batch after the first.
            self.bar.finished = self.bar.pos >= self.total

    def __call__(self, n: int) -> None:
        """Record ``n`` more finished replications."""
        self.done += n
        if self._phase is not None:
            self.status("simulating")
        if self.bar is None and self.tty and time.perf_counter() - self.start > self.delay and self.done < self.total:
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
        if self.tty:
            with self._wake:
                self._end_phase()
        if self.bar is not None:
            self.bar.__exit__(*exc)


def check_outputs(*outputs: tuple[str | None, str] | tuple[str | None, str, tuple[str, ...]]) -> None:
    """Check every output file of a command before any work (one-line error otherwise).

    Each item is ``(path, option)`` or ``(path, option, suffixes)``; ``None`` and ``-`` (stdout)
    are skipped.
    """
    from ..io import check_output_path

    seen: dict[str, str] = {}
    _OUTPUT_OPTIONS.clear()
    for item in outputs:
        path, option = item[0], item[1]
        suffixes = item[2] if len(item) > 2 else None
        if path is None or path == "-":
            continue
        check_output_path(path, option, suffixes)
        key = str(Path(path).resolve())
        if key in seen:
            raise ScenarioError(path, option, f"is also the file of {seen[key]}: give each output its own file")
        seen[key] = option
        _OUTPUT_OPTIONS[key] = option


#: The option that named each output file of the running command (resolved path -> option), from
#: :func:`check_outputs`: an output that cannot be written later is reported under its option.
_OUTPUT_OPTIONS: dict[str, str] = {}


def _option_of(path: str) -> str:
    try:
        return _OUTPUT_OPTIONS.get(str(Path(path).resolve()), "")
    except (OSError, RuntimeError, ValueError):
        return ""


@contextlib.contextmanager
def writing():
    """A command's outputs, renamed into place together when the block ends (see
    :func:`incentsim.io.output_set`); a file that cannot be written is a one-line error and
    leaves every old output as it was."""
    from ..io import output_set

    try:
        with output_set():
            yield
    except OSError as exc:
        where = str(exc.filename or "output")
        raise ScenarioError(where, _option_of(where), f"cannot be written ({exc.strerror or exc})") from None


def write_output(path: str, text: str, echo: Callable[[str], None] = click.echo) -> None:
    """Write text to a file atomically, or to stdout for ``-``."""
    if path == "-":
        echo(text)
        return
    from ..io import write_atomic

    try:
        write_atomic(path, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise ScenarioError(path, _option_of(path), f"cannot be written ({exc.strerror or exc})") from None


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
