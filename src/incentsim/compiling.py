"""The simulation kernel compiled ahead, in a background process, while the policy solver works.

On a first run (numba's disk cache empty) the simulation kernel takes tens of seconds to compile,
and calibrating the effort costs and solving each scheme's policy take about as long again. On a
machine with two cores they can run side by side: :func:`start` launches ``python -m
incentsim.compiling``, which compiles the kernel into numba's disk cache by simulating one
replication of the scenario with fixed behaviour (the kernel takes the same argument types for
every scenario, scheme and behaviour, so that is the one specialisation every run uses:
``tests/test_compiling.py``), and the comparison calls :meth:`Ahead.wait` before it simulates,
then loads the kernel from the cache. When the kernel is cached already (or the scenario cannot
be sent), nothing starts and the kernel loads, or compiles, in this process as before.

Nothing here changes a result: the background process only fills the cache; if it fails, the
kernel compiles in this process when first called.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass

from .scenario.schema import Scenario


def kernel_cached() -> bool:
    """Whether the simulation kernel is compiled in this process or in numba's disk cache (an
    unknown answer counts as cached: nothing is announced or started then)."""
    from ._numba_env import cached_specialisations
    from .simulation import _kernel

    n = cached_specialisations(_kernel())
    return n is None or n > 0


@dataclass
class Ahead:
    """A background compile of the simulation kernel (see the module docstring).

    Attributes
    ----------
    process : subprocess.Popen
        The ``python -m incentsim.compiling`` process.
    started : float
        ``time.perf_counter()`` at its start.
    """

    process: subprocess.Popen
    started: float

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the compile to end; whether it succeeded (the kernel is then in the cache)."""
        try:
            return self.process.wait(timeout) == 0
        except subprocess.TimeoutExpired:
            return False

    def stop(self) -> None:
        """End the background compile (an interrupted command leaves no process behind)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start(scenario: Scenario, scheme: str) -> Ahead | None:
    """Compile the simulation kernel for ``scenario`` in a background process, unless it is cached.

    Returns
    -------
    Ahead or None
        The running compile, or ``None`` when the kernel is cached already, the machine has one
        core (nothing would run side by side), or the process cannot start.
    """
    if kernel_cached() or (os.cpu_count() or 1) < 2:
        return None
    try:
        payload = pickle.dumps((scenario, scheme))
    except Exception:  # a scenario that cannot be pickled: compile in this process when needed
        return None
    # Compiling is one thread: keep the other core free (numba's workers, and OpenBLAS's, which
    # numpy's import starts and which spins for a while: see incentsim.cli).
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "incentsim.compiling"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:
        return None
    return Ahead(proc, time.perf_counter())


def _compile_from_stdin() -> int:
    """The background process: one replication of the scenario read from stdin, fixed behaviour."""
    scenario, scheme = pickle.loads(sys.stdin.buffer.read())
    from .simulation import simulate

    simulate(scenario, scheme, replications=1, behaviour="fixed")
    return 0


if __name__ == "__main__":
    import incentsim  # noqa: F401  (the same numba cache folder as the parent: NUMBA_CACHE_DIR is inherited)

    code = _compile_from_stdin()
    # The kernel is in numba's cache now (numba writes it as the compile ends). The first run waits
    # for this process to end, and the interpreter's usual exit, freeing everything the compile
    # built, took about a second more; there is nothing else to clean up.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
