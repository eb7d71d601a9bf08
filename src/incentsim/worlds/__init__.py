"""How sure, really: the verdict when the assumptions themselves are uncertain.

A two-level ("two-dimensional") Monte Carlo simulation, as decision-analysis tools separate
uncertainty from variability (Crystal Ball's two-dimensional simulation; Frey & Rhodes 1996,
"Characterizing, simulating, and analyzing variability and uncertainty", *Human and Ecological
Risk Assessment* 2(4)): the **outer** loop draws plausible worlds from the scenario's
``[uncertainty]`` table (what nobody knows exactly: how much of today's drive comes from outside
the bonus, how steep effort costs are, the funnel rates a CRM export estimates with intervals);
the **inner** loop simulates each world's company-years under every scheme on common random
numbers (the year-to-year luck). The simulation noise of ``compare`` is only the inner part.

Modules, one per step:

- :mod:`~incentsim.worlds.design`: the outer design (Sobol or Latin hypercube) and the
  chains of nearby worlds (the run's tasks);
- :mod:`~incentsim.worlds.evaluate`: one world (calibration, policies, schemes on common random
  numbers) and a chain of worlds;
- :mod:`~incentsim.worlds.analysis`: P(best), the across-world distribution, expected regret;
  per input its variance share, break-even value and EVPPI;
- :mod:`~incentsim.worlds.result`: :class:`UncertaintyResult` (``.verdict``, ``.to_frame()``,
  ``.to_json()``);
- :mod:`~incentsim.worlds.run`: :func:`uncertainty`, which runs the steps on the batch runtime
  (:mod:`incentsim.batch`).

From Python: ``incentsim.uncertainty(...)`` (the same function as :func:`uncertainty`). The
scenario's table is read and validated by :mod:`incentsim.scenario.uncertainty`.
"""

from .design import CHAIN_LENGTH, World, chains, draw_worlds
from .result import UncertaintyResult
from .run import Study, analyse, prepare, uncertainty

__all__ = [
    "CHAIN_LENGTH", "Study", "UncertaintyResult", "World", "analyse", "chains", "draw_worlds", "prepare",
    "uncertainty",
]  # fmt: skip
