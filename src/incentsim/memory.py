"""How much memory a run needs, and whether the machine has it (the bound on replications).

A run that keeps per-replication results (``run``, ``report``, ``compare --plot``, the Python API
with ``keep=True``) needs memory in proportion to its replications; a run that keeps only
summaries (``compare`` otherwise, sweeps) needs a fixed amount. Before allocating, the first is
checked against the memory available, so a run too large for the machine stops at once with one
line instead of swapping for minutes or being killed.
"""

from __future__ import annotations

import os

from .kernels import layout as L

#: Share of the available memory a run may plan to use.
USABLE_SHARE = 0.8


def available_bytes() -> int | None:
    """Memory available to a new allocation (``MemAvailable`` on Linux), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def bytes_per_replication(horizon_years: int, reps: int, pipeline_fields: int = 0) -> int:
    """Bytes of per-replication results one scheme keeps for one replication (kernel outputs)."""
    per_year = 8 * (L.N_Y + (reps + 1) * L.N_P + 12 + 13 * pipeline_fields)
    return horizon_years * per_year + 4 * L.WEEKS + reps


def gigabytes(n: float) -> str:
    """A byte count in GB for messages."""
    return f"{n / 1e9:,.1f} GB"


def check_kept(
    replications: int, per_replication: int, copies: int, source: str, key: str = "simulation.replications"
) -> None:
    """Refuse a run whose per-replication results would not fit in memory.

    Parameters
    ----------
    replications : int
    per_replication : int
        Bytes per replication and copy (:func:`bytes_per_replication`).
    copies : int
        How many such result sets the run holds (one per scheme).
    source, key : str
        For the error message: the scenario file and the key (or argument) that set the count.

    Raises
    ------
    ScenarioError
        When the results would need more than :data:`USABLE_SHARE` of the available memory.
    """
    available = available_bytes()
    if available is None:
        return
    need = replications * per_replication * copies
    budget = USABLE_SHARE * available
    if need > budget:
        from .scenario.errors import ScenarioError

        most = int(budget // max(per_replication * copies, 1))
        raise ScenarioError(
            source,
            key,
            f"{replications:,} replications would keep {gigabytes(need)} of per-replication results, more than "
            f"the {gigabytes(budget)} this machine can spare; use at most {most:,}, or keep only summaries",
        )
