"""Sensitivity of the verdict: which inputs move the difference in profit after bonuses.

The output studied is ``D(x)``: the mean paired difference in profit after bonuses per year
between two schemes (``b - a``, ``a`` the baseline) at inputs ``x``. Two analyses:

- **One at a time (tornado).** Each input alone at the low and the high end of its range, the
  others at the scenario's values: ``2k + 1`` evaluations for ``k`` inputs. Inputs are ranked by
  the swing ``|D(high) - D(low)|``; an input *flips the verdict* when D at either end has the
  other sign than at the scenario's values.
- **Global indices** from SALib (not hand-written estimators): Morris elementary effects
  (``mu*``, ``sigma``; ``r (k + 1)`` evaluations for ``r`` trajectories) or Sobol indices
  (first order and total; Saltelli design of ``N (k + 2)`` evaluations), which also see
  interactions between inputs.

Modules: :mod:`~incentsim.sensitivity.inputs` (the inputs and their ranges),
:mod:`~incentsim.sensitivity.analysis` (the steps; :func:`sensitivity` runs them). The text
and the tornado chart are drawn by :mod:`incentsim.report.sensitivity_view`.

Every evaluation simulates both schemes with the same root seed and the same streams (spawn
key ``()``), on the batch runtime (:mod:`incentsim.batch.runner`; embedded cluster by default).
With optimising behaviour each evaluation recalibrates effort costs to its own inputs
(revealed preference: docs/model/calibration.md), a few seconds each.
"""

from .analysis import (
    METHODS,
    METRIC,
    Sensitivity,
    SensitivityParameters,
    run_sensitivity,
    sensitivity,
)
from .inputs import BOUNDS, DEFAULT_SPREAD, Input, build_inputs, default_paths, read_ranges

__all__ = [
    "BOUNDS", "DEFAULT_SPREAD", "METHODS", "METRIC", "Input", "Sensitivity", "SensitivityParameters",
    "build_inputs", "default_paths", "read_ranges", "run_sensitivity", "sensitivity",
]  # fmt: skip
