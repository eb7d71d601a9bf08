"""How many threads incentsim's compiled kernels run in: one setting per calling thread.

The simulation (:func:`incentsim.simulation.simulate`) and the policy solver
(:func:`incentsim.model.policy.solve_policy`) run their kernels in Python threads, which the
kernels release the GIL for; numba's own thread pool (``prange``) is never used. The count is
``NUMBA_NUM_THREADS`` (numba's setting; by default the cores this process may run on), or what
:func:`set_thread_count` set in the calling thread: a batch item or a plausible world runs on one
thread, and its neighbours keep their own count. The count never changes a result (every
replication and every solve is seeded and computed as alone).

Reading numba's count (``numba.get_num_threads``) started numba's thread pool on first use: an
OpenMP or TBB library loaded and a thread per core started, 30 ms of every command, to read a
number nothing else used.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_local = threading.local()


def default_thread_count() -> int:
    """``NUMBA_NUM_THREADS`` (numba's configured thread count; default: the usable cores)."""
    from numba.core import config

    return max(1, int(config.NUMBA_NUM_THREADS))


def thread_count() -> int:
    """Threads the kernels called from this thread run in (at least 1)."""
    n = getattr(_local, "count", None)
    return default_thread_count() if n is None else n


def set_thread_count(n: int | None) -> None:
    """Run the kernels called from this thread in ``n`` threads (``None``: the default again).

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.
    """
    if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
        raise ValueError(f"thread count: {n!r} is not a positive integer")
    _local.count = None if n is None else int(n)


@contextlib.contextmanager
def thread_count_set(n: int | None) -> Iterator[None]:
    """Run the block with :func:`set_thread_count` ``(n)`` in this thread (``None``: leave it),
    restoring the count before it afterwards."""
    before = getattr(_local, "count", None)
    if n is not None:
        set_thread_count(n)
    try:
        yield
    finally:
        _local.count = before
