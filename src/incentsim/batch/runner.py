"""Running many independent evaluations on Dask: the batch runtime every study shares.

A caller gives a list of work items and a function; :func:`run_items` calls the function on
every item (on Dask workers, or here), streams each item's rows to a :class:`ResultStore` as
soon as it finishes, skips the items a previous run finished when resuming, and returns all
rows as one table in item order. :func:`map_items` is the same without a store, handing each
result to a callback.

Where items run (:class:`Runtime`):

- by default on an embedded ``LocalCluster`` started and stopped here: one process per core,
  one thread and ``NUMBA_NUM_THREADS=1`` each (parallelism comes from items, not threads);
  the first item runs in this process first, so numba compiles (or loads its cache) once
  before workers start;
- on an existing cluster (``scheduler="tcp://host:8786"``, or a ``client``), whose workers run
  a warm-up item first, one per host;
- here, one item after the other (``workers=0``), for debugging and small runs.

Identical results for any number of workers: the runner never passes anything about the worker
to the function; the function must draw its randomness from the item alone (for example a
spawn key made from the item's index), and results are ordered by item, not by completion.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from ..scenario.errors import ArgumentError
from .store import ResultStore

log = logging.getLogger(__name__)

Item = TypeVar("Item")
#: One item's result: table rows (dicts of column -> value).
Rows = list[dict[str, Any]]
#: ``progress(done, total)``: called once before work starts (``done`` = items already finished,
#: when resuming) and after every finished item.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Runtime:
    """Where a batch runs.

    Attributes
    ----------
    workers : int, optional
        Processes of the embedded Dask cluster (default: the cores available, at most one per
        item); ``0`` runs every item in this process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    client : distributed.Client, optional
        An existing client (for example in a notebook); left open.
    """

    workers: int | None = None
    scheduler: str | None = None
    client: Any = None

    def check(self) -> None:
        """Refuse contradictory settings (one-line :class:`ArgumentError`)."""
        if self.workers is not None and self.workers < 0:
            raise ArgumentError("workers", f"must be 0 or more, got {self.workers}")
        if self.workers is not None and (self.scheduler or self.client is not None):
            raise ArgumentError(
                "workers", "give either {{workers}} (embedded cluster) or {{scheduler}} (an existing one), not both"
            )

    @property
    def in_process(self) -> bool:
        """Whether items run here, without Dask."""
        return self.workers == 0 and self.scheduler is None and self.client is None


def run_items(
    items: Sequence[Item],
    fn: Callable[[Item], Rows],
    *,
    store: ResultStore | None = None,
    resume: bool = False,
    runtime: Runtime | None = None,
    progress: Progress | None = None,
    warm_up: Callable[[Item], Any] | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    warm_up_here: bool = False,
) -> Any:
    """Evaluate ``fn`` on every item, streaming each item's rows to ``store``; the table in item order.

    Parameters
    ----------
    items : sequence
        Picklable work items; item ``i`` is identified by its position (its part file is
        ``i``), so a resumed run must pass the same items in the same order (the store's
        fingerprint guards that).
    fn : callable
        ``fn(item) -> rows``, a module-level (picklable) function. Its result must depend on the
        item only.
    store : ResultStore, optional
        Where finished items are written as they arrive; without it results stay in memory.
    resume : bool
        Skip the items ``store`` already holds (damaged parts are rerun, with a warning).
    runtime : Runtime, optional
        Where items run (default: embedded cluster, one process per core).
    progress : callable, optional
        ``progress(done, total)`` in items.
    warm_up : callable, optional
        ``warm_up(item)`` run on one worker per host of an existing cluster before the items
        (compiles kernels once per machine); the embedded cluster runs the first item here
        instead.
    groups : sequence of sequences of int, optional
        Run the items in groups, each group by one call in one process, its items in the order
        given: ``fn(list_of_items) -> list of rows per item`` (and ``warm_up(list_of_items)``).
        Items of a group can then pass work to each other deterministically (a warm start from
        the previous item), whatever the number of workers. Each item is still stored as its own
        part, when its group finishes; a group with any unfinished item runs whole (its finished
        items are not written again). The groups must partition ``range(len(items))``.
    warm_up_here : bool
        On the embedded cluster, run ``warm_up`` on the first item here before the workers start,
        instead of running the first item here (useful when an item, or a group, is long: all
        of them then run in parallel).

    Returns
    -------
    pandas.DataFrame
        Every item's rows, items in order (read back from the store when there is one).
    """
    import pandas as pd

    runtime = runtime or Runtime()
    runtime.check()
    total = len(items)
    done = store.open(resume, total) if store is not None else set()
    kept: dict[int, Rows] = {}
    count = len(done)
    if progress:
        progress(count, total)

    def keep(index: int, rows: Rows) -> None:
        nonlocal count
        if store is not None:
            store.write(index, rows)
        else:
            kept[index] = rows
        count += 1
        if progress:
            progress(count, total)

    if groups is None:
        todo = [i for i in range(total) if i not in done]
        map_items([(i, items[i]) for i in todo], fn, keep, runtime=runtime, warm_up=warm_up, warm_up_here=warm_up_here)
    else:
        groups = [list(g) for g in groups]
        if sorted(i for g in groups for i in g) != list(range(total)):
            raise ValueError("groups must partition the item indices 0 .. len(items) - 1")

        def keep_group(j: int, rows_per_item: list[Rows]) -> None:
            if len(rows_per_item) != len(groups[j]):
                raise ValueError(f"group {j}: {len(rows_per_item)} results for {len(groups[j])} items")
            for i, rows in zip(groups[j], rows_per_item, strict=True):
                if i not in done:
                    keep(i, rows)

        open_groups = [(j, [items[i] for i in g]) for j, g in enumerate(groups) if any(i not in done for i in g)]
        map_items(open_groups, fn, keep_group, runtime=runtime, warm_up=warm_up, warm_up_here=warm_up_here)
    if store is not None:
        return store.combine(range(total))
    return pd.DataFrame([r for i in range(total) for r in kept[i]])


def map_items(
    indexed: Sequence[tuple[int, Item]],
    fn: Callable[[Item], Rows],
    on_result: Callable[[int, Rows], None],
    *,
    runtime: Runtime | None = None,
    warm_up: Callable[[Item], Any] | None = None,
    warm_up_here: bool = False,
) -> None:
    """Run ``fn`` on each ``(index, item)`` and call ``on_result(index, rows)`` here, as results arrive.

    Parameters
    ----------
    indexed : sequence of (int, item)
        The items to run with their indices (labels of the results).
    fn : callable
        ``fn(item) -> rows`` (module-level, picklable).
    on_result : callable
        Called in this process in completion order.
    runtime : Runtime, optional
        Where items run; see :class:`Runtime`.
    warm_up : callable, optional
        See :func:`run_items`.
    warm_up_here : bool
        See :func:`run_items`.

    Notes
    -----
    The numba cache is warmed in one process before the workers start (concurrent first
    compiles into one cache folder can race). A worker that dies (killed, out of memory) has its
    items rescheduled by Dask; nothing about the worker enters a result.
    """
    runtime = runtime or Runtime()
    if not indexed:
        return
    if runtime.in_process:
        for index, item in indexed:
            on_result(index, fn(item))
        return
    from distributed import as_completed

    local = runtime.scheduler is None and runtime.client is None
    workers = runtime.workers
    if local and warm_up_here and warm_up is not None:
        warm_up(indexed[0][1])  # here, before any worker exists: kernels compile (or load) once
        workers = min(workers or default_workers(), len(indexed))
    elif local:
        # The first item doubles as the warm-up: run here, before any worker exists, it compiles
        # (or loads) every kernel once and its result is kept.
        index, item = indexed[0]
        on_result(index, fn(item))
        indexed = indexed[1:]
        if not indexed:
            return
        workers = min(workers or default_workers(), len(indexed))
    with dask_client(workers, runtime.scheduler, runtime.client) as c:
        if not local and warm_up is not None:
            _warm_remote(c, warm_up, indexed[0][1])
        token = uuid.uuid4().hex[:8]
        name = getattr(fn, "__name__", "item")
        keys = [f"incentsim-{name}-{i}-{token}" for i, _ in indexed]
        futures = c.map(_on_worker, [fn] * len(indexed), [item for _, item in indexed], key=keys, pure=False)
        index_of = {f.key: i for f, (i, _) in zip(futures, indexed, strict=True)}
        try:
            for fut in as_completed(futures):
                on_result(index_of[fut.key], fut.result())
                fut.release()
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()


def _on_worker(fn: Callable[[Item], Rows], item: Item) -> Rows:
    """Run one item on a Dask worker, on one thread (parallelism comes from items)."""
    one_kernel_thread()
    return fn(item)


def one_kernel_thread() -> None:
    """Run the kernels called from the calling thread on one thread (the count never changes a
    result; :mod:`incentsim.threads`). The count is per thread, so it is set in the thread that
    runs the item."""
    from ..threads import set_thread_count

    set_thread_count(1)


def default_workers() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, client=None) -> Iterator[Any]:
    """A ``dask.distributed`` client: the one given, one for ``scheduler``, or an embedded cluster.

    The embedded ``LocalCluster`` has ``workers`` processes with one thread each and
    ``NUMBA_NUM_THREADS=1`` in their environment; it is started here and always stopped on exit
    (also on Ctrl-C). A client or scheduler given from outside is left running.
    """
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            c = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ArgumentError("scheduler", f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        try:
            yield c
        finally:
            c.close()
        return
    threads = {
        "NUMBA_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    with _quiet_dask(), _spawnable_main():
        cluster = LocalCluster(
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never collides with another cluster's 8787
            env=threads,
            silence_logs=logging.ERROR,
            preload=[__name__],  # runs dask_setup below in each worker
        )
        try:
            log.info("Dask dashboard (if bokeh is installed): %s", cluster.dashboard_link)
            c = Client(cluster)
            try:
                yield c
            finally:
                c.close()
        finally:
            cluster.close()


def dask_setup(worker) -> None:
    """Dask preload hook of the embedded cluster's workers: leave Ctrl-C to the client.

    A terminal sends Ctrl-C to every process of the foreground group, workers included; the
    client then saves what is finished and stops the cluster, so workers ignore it rather than
    die with a traceback each.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _spawnable_main() -> Iterator[None]:
    """Let worker processes start when ``__main__`` is not a file (``python - < script``).

    multiprocessing's spawn re-runs the parent's main file in each worker; for a script read
    from stdin that "file" is ``<stdin>`` and every worker fails to start. Without ``__file__``
    spawn treats the parent as interactive (like a notebook), so it is hidden meanwhile.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hide = isinstance(path, str) and not os.path.exists(path)
    if hide:
        del main.__file__
    try:
        yield
    finally:
        if hide:
            main.__file__ = path


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Keep the embedded cluster's start/stop chatter (INFO) off stderr unless logging asks for it."""
    dlog = logging.getLogger("distributed")
    old = dlog.level
    if not logging.getLogger().isEnabledFor(logging.INFO):
        dlog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        dlog.setLevel(old)


def _warm_remote(client, warm_up: Callable[[Item], Any], item: Item) -> None:
    """Warm one worker per host first, so workers sharing a disk cache do not compile at once."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    first_per_host: dict[str, str] = {}
    for address, w in info.get("workers", {}).items():
        first_per_host.setdefault(w.get("host", address), address)
    if first_per_host:
        client.run(warm_up, item, workers=list(first_per_host.values()))


def _takes_n_workers(client) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False
