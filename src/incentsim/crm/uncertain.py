"""Estimates as uncertain inputs: each 95 % interval of a calibration as a distribution.

When the template scenario of ``incentsim calibrate`` asks for it (``[uncertainty]
from_calibration = true``), the scenario it writes gets an ``[uncertainty]`` table in which every
estimate the scenario uses is a distribution whose 2.5th and 97.5th percentiles are the ends of
the estimate's 95 % confidence interval, so ``compare --uncertainty`` carries the sampling
uncertainty of the CRM data into the verdict:

- shares (conversions, the hand-off shares): a **beta** distribution fitted to the two
  percentiles (the natural distribution of a proportion; close to the Jeffreys posterior whose
  interval the Wilson interval approximates, Brown, Cai & DasGupta 2001, *Statistical Science*
  16(2));
- positive numbers (dwell times, rates, deal value and its cv, the ability spread): a
  **lognormal** with median ``sqrt(lo * hi)`` and sigma ``ln(hi / lo) / (2 * 1.96)``, exact for
  both percentiles; intervals that reach zero get a normal cut at zero;
- bounds of the model (a dwell of at least one week, a hand-off delay of at most 52 weeks) cut
  the distribution (``low`` / ``high``), as they cut the point estimate.

The template's own entries for inputs the export does not estimate (behaviour, marketing's
quality trade-off, pay) are kept as they are. An entry whose extremes would make the scenario
invalid together with the rest (a conversion near 1 times a quality multiplier) is left out with
a note, so the written file always loads.
"""

from __future__ import annotations

import math
import re
import tomllib

from ..scenario.errors import ScenarioError
from ..scenario.schema import Scenario
from ..scenario.uncertainty import Distribution
from .estimate import Estimate

Z975 = 1.959963984540054
#: Key endings whose values are shares in [0, 1].
_SHARES = ("conversion", "_share", "response_decay_per_week")
#: Model bounds that cut a distribution: key ending -> (low, high).
_BOUNDS = {"dwell_weeks": (1.0, None), "delay_weeks": (None, 52.0), "value_cv": (None, 10.0), "cv": (None, 3.0)}


def interval_distribution(key: str, value: float, lo: float, hi: float) -> Distribution | None:
    """A distribution whose 2.5th and 97.5th percentiles are ``lo`` and ``hi`` (None if not possible).

    Parameters
    ----------
    key : str
        The scenario key path the estimate sets (decides share or positive number, and bounds).
    value, lo, hi : float
        Point estimate and 95 % interval.
    """
    if not all(math.isfinite(v) for v in (value, lo, hi)) or not lo < hi:
        return None
    bound_lo, bound_hi = next((b for end, b in _BOUNDS.items() if key.endswith(end)), (None, None))
    if key.endswith(_SHARES):
        return _beta(lo, hi, value)
    if lo > 0:
        dist = Distribution(
            "lognormal", (("median", math.sqrt(lo * hi)), ("sigma", math.log(hi / lo) / (2 * Z975))), bound_lo, bound_hi
        )
    else:
        sd = (hi - lo) / (2 * Z975)
        dist = Distribution("normal", (("mean", value), ("sd", sd)), max(0.0, bound_lo or 0.0), bound_hi)
    f_lo, f_hi = dist._probability_range()
    return dist if f_hi - f_lo > 1e-3 else None


def _beta(lo: float, hi: float, value: float) -> Distribution | None:
    """A beta distribution with 2.5th and 97.5th percentiles at ``lo`` and ``hi``."""
    import numpy as np
    from scipy import stats
    from scipy.optimize import least_squares

    lo, hi = max(lo, 0.0), min(hi, 1.0)
    if lo <= 0.0 or hi >= 1.0:  # a beta cannot put 2.5 % below 0 or above 1: uniform over the interval
        return Distribution("uniform", (), lo, hi)
    m = min(max(value, lo), hi)
    var = ((hi - lo) / (2 * Z975)) ** 2
    total = max(m * (1 - m) / var - 1.0, 0.5)  # method of moments as the start

    def gap(log_ab):
        a, b = np.exp(log_ab)
        return stats.beta.ppf([0.025, 0.975], a, b) - np.array([lo, hi])

    fit = least_squares(gap, np.log([m * total, (1 - m) * total]), xtol=1e-12, ftol=1e-12)
    a, b = (float(v) for v in np.exp(fit.x))
    if not fit.success or np.max(np.abs(gap(fit.x))) > 1e-3 * (hi - lo) + 1e-6:
        return Distribution("uniform", (), lo, hi)
    return Distribution("beta", (("a", a), ("b", b)))


def toml_key(path: str) -> str:
    """A key path as a TOML dotted key (segments that are not bare keys are quoted)."""
    return ".".join(s if re.fullmatch(r"[A-Za-z0-9_-]+", s) else '"' + s.replace('"', '\\"') + '"' for s in
                    path.split("."))  # fmt: skip


def uncertainty_lines(
    text: str, template: Scenario, intervals: dict[str, tuple[Estimate, float, float, float]], tpl_name: str
) -> tuple[list[str], list[str]]:
    """The ``[uncertainty]`` table of a calibrated scenario, checked against the rest of it.

    Parameters
    ----------
    text : str
        The calibrated scenario without the table (TOML).
    template : Scenario
        The template: its ``[uncertainty]`` settings and entries for what the export cannot show.
    intervals : dict
        Key path -> (the estimate, the value written, interval low, interval high) for every
        estimated number of the scenario (derived numbers with their interval mapped).
    tpl_name : str
        The template's file name, for comments.

    Returns
    -------
    (list of str, list of str)
        Lines of the table (empty when the template does not ask for it) and notes.
    """
    spec = template.uncertainty
    if spec is None or not spec.from_calibration:
        return [], []
    from ..scenario.load import scenario_from_dict

    notes: list[str] = []
    entries: dict[str, tuple[Distribution, str]] = {}
    for path, (est, value, lo, hi) in intervals.items():
        dist = interval_distribution(path, value, lo, hi)
        if dist is None:
            notes.append(f"{path}: its interval cannot be a distribution ({lo:.4g} to {hi:.4g}); left fixed")
            continue
        entries[path] = (dist, f"95% CI {lo:.4g} to {hi:.4g} ({est.n:,} {est.records})")
    for inp in spec.inputs:
        if inp.path not in entries and inp.path not in intervals:
            entries[inp.path] = (inp.distribution, f"assumed ({tpl_name})")

    def render(keep: dict[str, tuple[Distribution, str]]) -> list[str]:
        lines = [
            "",
            "# --- How sure, really: the uncertain inputs (incentsim compare THIS_FILE --uncertainty) ---",
            "# Estimated numbers: their 95% interval as a distribution whose 2.5th and 97.5th percentiles are the",
            "# interval's ends (beta for shares, lognormal for positive numbers). Assumed numbers: the template's.",
            "[uncertainty]",
            "from_calibration = true",
            f"worlds = {spec.worlds}",
            f'design = "{spec.design}"',
        ]
        if spec.replications is not None:
            lines.append(f"replications = {spec.replications}")
        lines += [f"{toml_key(p)} = {d.toml()}  # {c}" for p, (d, c) in keep.items()]
        return lines

    while True:
        lines = render(entries)
        try:
            scenario_from_dict(tomllib.loads(text + "\n".join(lines) + "\n"), source="<calibrated scenario>")
            return lines, notes
        except ScenarioError as exc:
            bad = exc.key.removeprefix("uncertainty.")
            if not exc.key.startswith("uncertainty.") or bad not in entries:
                raise
            notes.append(f"{bad}: not uncertain in the written scenario ({exc.reason})")
            del entries[bad]
