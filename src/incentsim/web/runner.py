"""Comparisons for the page: one background job per run, with progress and cancellation.

A :class:`Job` runs :func:`incentsim.compare` in a worker thread (the page's event loop stays
free to draw progress). Jobs of all sessions share one lock: the kernels already use both cores,
so two runs at once would only slow each other; a second session waits its turn and says so.
Cancelling takes effect at the next chunk of replications (about 0.2 s), or as soon as a
session's turn comes, or after the policy solve of the scheme in hand (it is not interruptible).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..comparison import Comparison
    from ..scenario import Scenario

#: One run at a time across sessions (see the module docstring).
_RUN_LOCK = threading.Lock()


class Cancelled(Exception):
    """The user cancelled the run."""


@dataclass
class Job:
    """One comparison: what it does, how far it is, and a way to stop it.

    Attributes
    ----------
    total : int
        Replications to simulate, summed over schemes.
    done : int
        Replications finished.
    phase : str
        ``waiting`` (another session's run), ``solving`` (people's responses to each scheme),
        ``simulating``, ``finished``, ``cancelled`` or ``failed``.
    started, finished : float
        ``time.perf_counter()`` at the start and end (``finished`` is 0 while running).
    """

    total: int
    done: int = 0
    phase: str = "waiting"
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Ask the run to stop at its next check."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether a cancel was asked for."""
        return self._cancel.is_set()

    @property
    def fraction(self) -> float:
        """Share of replications simulated, 0 to 1."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (to its end, once finished)."""
        return (self.finished or time.perf_counter()) - self.started

    def progress(self, n: int) -> None:
        """The progress callback given to :func:`incentsim.compare`: count, then honour a cancel."""
        self.phase = "simulating"
        self.done += n
        if self._cancel.is_set():
            raise Cancelled


def run_comparison(job: Job, scenario: Scenario, schemes: list[str] | None = None) -> Comparison:
    """Compare the scenario's schemes (seed, replications and behaviour from its ``[simulation]``).

    Blocking: call it in a worker thread. Raises :class:`Cancelled` when the job is cancelled.
    """
    from ..comparison import compare

    try:
        with _RUN_LOCK:
            if job.cancelled:
                raise Cancelled
            job.phase = "solving" if scenario.simulation.behaviour == "optimising" else "simulating"
            cmp = compare(scenario, schemes, progress=job.progress, keep=True)  # the figures need every year
        job.phase = "finished"
        return cmp
    except Cancelled:
        job.phase = "cancelled"
        raise
    except BaseException:
        job.phase = "failed"
        raise
    finally:
        job.finished = time.perf_counter()
