"""The ``[uncertainty]`` table: which inputs nobody knows exactly, and how uncertain they are.

A scenario states one value per input; ``[uncertainty]`` says which of them are assumptions and
gives each a distribution of plausible values, keyed by the same dotted key paths as sweeps::

    [uncertainty]
    worlds = 64                                   # plausible worlds (outer design), default 64
    behaviour.implicit_incentive = { dist = "triangular", low = 0.5, mode = 0.7, high = 0.85 }
    behaviour.effort_cost_exponent = { dist = "uniform", low = 2.5, high = 4.0 }
    deals.value_mean = [10000, 14000]             # shorthand for a uniform distribution

Distributions (:data:`DISTRIBUTIONS`) are those of :mod:`scipy.stats`: ``uniform``, ``triangular``,
``normal``, ``lognormal`` and ``beta``. ``low`` and ``high`` always bound the values drawn: they
are the support of ``uniform``, ``triangular`` and ``beta`` (default 0 to 1), and cut the tails
of ``normal`` and ``lognormal`` (a truncated distribution). ``from_calibration = true`` asks
``incentsim calibrate`` to write each estimate's 95 % interval here, as a distribution, in the
scenario it creates from this one.

The loader (:func:`read_uncertainty`) validates every entry like any other key: the
distribution and its parameters, and the scenario itself at both ends of the values the
distribution can produce (so a world can never be an invalid scenario). Errors are one line
naming the file and ``uncertainty.<key path>``. The two-level simulation that uses the table
is :mod:`incentsim.worlds`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from .errors import ScenarioError
from .keypaths import describe, get_path, is_number, scenario_value, set_path, split_path
from .reader import MISSING, Table, did_you_mean
from .schema import Scenario

#: Distribution name -> (required parameters, optional parameters, what it means).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "uniform": (("low", "high"), (), "every value from low to high equally plausible"),
    "triangular": (("low", "mode", "high"), (), "most plausible at mode, falling to nothing at low and high"),
    "normal": (("mean", "sd"), ("low", "high"), "bell curve of mean and standard deviation sd; low/high cut its tails"),
    "lognormal": (
        ("median", "sigma"),
        ("low", "high"),
        "skewed and positive: median, and sigma the standard deviation of its logarithm; low/high cut its tails",
    ),
    "beta": (
        ("a", "b"),
        ("low", "high"),
        "on low..high (default 0..1) with shape a, b (mean low + (high - low) a / (a + b)); for shares",
    ),
}
_PARAMETERS = {p for req, opt, _ in DISTRIBUTIONS.values() for p in (*req, *opt)}
#: Settings of the ``[uncertainty]`` table (everything else is a key path).
SETTINGS = ("worlds", "replications", "design", "from_calibration")
#: Outer designs (``scipy.stats.qmc``).
DESIGNS = ("sobol", "lhs")
#: Default number of plausible worlds.
DEFAULT_WORLDS = 64
#: Default inner replications per world and scheme (fewer when the scenario asks for fewer).
DEFAULT_REPLICATIONS = 2000
#: Unbounded tails are drawn (and checked against the loader) only up to these quantiles.
TAIL = 1e-6


@dataclass(frozen=True)
class Distribution:
    """A distribution of plausible values of one input (``scipy.stats``).

    Attributes
    ----------
    kind : str
        One of :data:`DISTRIBUTIONS`.
    params : tuple of (str, float)
        Its parameters in the order of :data:`DISTRIBUTIONS` (``low``/``high`` excluded).
    low, high : float or None
        Bounds of the values drawn (support of uniform, triangular and beta; truncation of
        normal and lognormal); ``None``: unbounded (or beta's default 0 and 1).
    """

    kind: str
    params: tuple[tuple[str, float], ...]
    low: float | None = None
    high: float | None = None

    def param(self, name: str) -> float:
        """One parameter by name."""
        return dict(self.params)[name]

    def scipy(self) -> Any:
        """The untruncated ``scipy.stats`` frozen distribution."""
        from scipy import stats

        p = dict(self.params)
        if self.kind == "uniform":
            return stats.uniform(loc=self.low, scale=self.high - self.low)
        if self.kind == "triangular":
            width = self.high - self.low
            return stats.triang(c=(p["mode"] - self.low) / width, loc=self.low, scale=width)
        if self.kind == "normal":
            return stats.norm(loc=p["mean"], scale=p["sd"])
        if self.kind == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=p["median"])
        lo = 0.0 if self.low is None else self.low
        hi = 1.0 if self.high is None else self.high
        return stats.beta(p["a"], p["b"], loc=lo, scale=hi - lo)

    def _probability_range(self) -> tuple[float, float]:
        """CDF values at the bounds (the probability interval values are drawn from)."""
        if self.kind in ("uniform", "triangular", "beta"):
            return 0.0, 1.0
        f_lo = float(self._cdf(self.low)) if self.low is not None else 0.0
        f_hi = float(self._cdf(self.high)) if self.high is not None else 1.0
        return f_lo, f_hi

    def _cdf(self, x: float) -> float:
        """The untruncated CDF at ``x``, for normal and lognormal (what their truncation needs)."""
        import numpy as np
        from scipy.special import ndtr

        p = dict(self.params)
        if self.kind == "normal":
            return float(ndtr((x - p["mean"]) / p["sd"]))
        z = x / p["median"]
        return float(ndtr(np.log(z) / p["sigma"])) if z > 0 else 0.0

    def _untruncated_ppf(self, q: Any) -> Any:
        """The untruncated quantile function at ``q`` (in (0, 1)), as :meth:`scipy` computes it.

        Closed forms for uniform, triangular, normal and lognormal, term for term those of
        ``scipy.stats`` (``loc + scale * standard ppf``), so values are bit-identical to it
        without importing ``scipy.stats`` (about 1.5 s, a large part of loading a scenario);
        beta asks ``scipy.stats``.
        """
        import numpy as np

        p = dict(self.params)
        if self.kind == "uniform":
            return q * (self.high - self.low) + self.low
        if self.kind == "triangular":
            width = self.high - self.low
            c = (p["mode"] - self.low) / width
            return np.where(q < c, np.sqrt(c * q), 1 - np.sqrt((1 - c) * (1 - q))) * width + self.low
        if self.kind in ("normal", "lognormal"):
            from scipy.special import ndtri

            if self.kind == "normal":
                return ndtri(q) * p["sd"] + p["mean"]
            return np.exp(p["sigma"] * ndtri(q)) * p["median"] + 0.0
        return self.scipy().ppf(q)

    def ppf(self, u: Any) -> Any:
        """Values at probabilities ``u`` in [0, 1] (the quantile function, truncated to the bounds).

        ``u`` is first kept within [:data:`TAIL`, 1 - :data:`TAIL`] of the (truncated) distribution,
        so unbounded tails reach at most their one-in-a-million quantiles: the values the loader
        checked.

        Parameters
        ----------
        u : float or ndarray
            Probabilities, e.g. a column of a quasi-Monte Carlo design.

        Returns
        -------
        ndarray(float)
            Same shape as ``u``.
        """
        import numpy as np

        f_lo, f_hi = self._probability_range()
        q = np.clip(np.asarray(u, dtype=float), TAIL, 1.0 - TAIL)
        x = np.asarray(self._untruncated_ppf(f_lo + q * (f_hi - f_lo)), dtype=float)
        lo, hi = self.support()
        return np.clip(x, lo, hi)

    def support(self) -> tuple[float, float]:
        """The stated bounds of the values (infinite where unbounded)."""
        if self.kind == "beta":
            return (0.0 if self.low is None else self.low), (1.0 if self.high is None else self.high)
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if self.kind == "lognormal":
            lo = max(lo, 0.0)
        return lo, hi

    def extremes(self) -> tuple[float, float]:
        """The smallest and largest value a world can have (what the loader checks)."""
        lo, hi = self.ppf([0.0, 1.0])
        return float(lo), float(hi)

    def mean(self) -> float:
        """Mean of the values drawn (numerically, for truncated distributions)."""
        import numpy as np

        u = (np.arange(4096) + 0.5) / 4096
        return float(np.mean(self.ppf(u)))

    def text(self) -> str:
        """Short description: ``triangular(low 0.5, mode 0.7, high 0.85)``."""
        parts = [f"{k} {v:.4g}" for k, v in self.params]
        if self.kind in ("uniform", "triangular"):
            parts = [f"low {self.low:.4g}"] + [f"{k} {v:.4g}" for k, v in self.params] + [f"high {self.high:.4g}"]
        else:
            if self.low is not None:
                parts.append(f"low {self.low:.4g}")
            if self.high is not None:
                parts.append(f"high {self.high:.4g}")
        return f"{self.kind}({', '.join(parts)})"

    def toml(self) -> str:
        """The distribution as an inline TOML table (what :func:`read_uncertainty` reads back)."""

        def num(v: float) -> str:  # six significant digits, always a TOML float
            text = f"{float(v):.6g}"
            return text if ("e" in text or "." in text or "inf" in text) else text + ".0"

        items = [f'dist = "{self.kind}"']
        if self.kind in ("uniform", "triangular"):
            items.append(f"low = {num(self.low)}")
            items += [f"{k} = {num(v)}" for k, v in self.params]
            items.append(f"high = {num(self.high)}")
        else:
            items += [f"{k} = {num(v)}" for k, v in self.params]
            if self.low is not None:
                items.append(f"low = {num(self.low)}")
            if self.high is not None:
                items.append(f"high = {num(self.high)}")
        return "{ " + ", ".join(items) + " }"


@dataclass(frozen=True)
class UncertainInput:
    """One uncertain input of a scenario.

    Attributes
    ----------
    path : str
        Key path in the scenario file, e.g. ``"behaviour.implicit_incentive"``.
    distribution : Distribution
        Its plausible values.
    base : float or None
        The scenario's own value (``None`` when the scenario has no number there, e.g. an
        automatic target).
    integer : bool
        Values are whole numbers (a count such as ``sales.reps``): draws are rounded.
    """

    path: str
    distribution: Distribution
    base: float | None
    integer: bool = False

    def values(self, u: Any) -> Any:
        """Values at probabilities ``u`` (rounded for whole-number keys)."""
        import numpy as np

        x = self.distribution.ppf(u)
        return np.round(x) if self.integer else x

    def value(self, u: float) -> float | int:
        """One value at probability ``u``, as the scenario file would hold it."""
        x = float(self.values([u])[0])
        return int(x) if self.integer else x


@dataclass(frozen=True)
class Uncertainty:
    """Uncertain inputs of a scenario and how its plausible worlds are drawn.

    Attributes
    ----------
    inputs : tuple of UncertainInput
        The uncertain inputs, in file order: key path = a distribution table
        ``{ dist = "NAME", ... }`` (see the distributions) or ``[low, high]`` (uniform).
    worlds : int
        Plausible worlds of the outer design (a power of 2 for a Sobol design).
    replications : int or None
        Inner replications per world and scheme (none: 2,000, or the scenario's replications
        when fewer).
    design : str
        Outer design: ``sobol`` (scrambled Sobol points) or ``lhs`` (Latin hypercube), from
        ``scipy.stats.qmc``, seeded from the scenario's seed.
    from_calibration : bool
        In a template of ``incentsim calibrate``: write each estimate's 95 % interval as a
        distribution into this table of the scenario it creates (keeping the entries here).
    """

    inputs: tuple[UncertainInput, ...] = ()
    worlds: int = DEFAULT_WORLDS
    replications: int | None = None
    design: str = "sobol"
    from_calibration: bool = False

    @property
    def paths(self) -> tuple[str, ...]:
        """Key paths of the uncertain inputs."""
        return tuple(i.path for i in self.inputs)

    def input(self, path: str) -> UncertainInput:
        """The input at a key path (``KeyError`` otherwise)."""
        for i in self.inputs:
            if i.path == path:
                return i
        raise KeyError(path)


# -- reading the table -------------------------------------------------------------------------


def read_uncertainty(t: Table, data: dict, scenario: Scenario) -> Uncertainty | None:
    """Validate the ``[uncertainty]`` table of a scenario; ``None`` when the file has none.

    Parameters
    ----------
    t : Table
        The ``uncertainty`` table (empty when the file has none).
    data : dict
        The whole scenario as parsed (the probes override it).
    scenario : Scenario
        The scenario built from ``data`` (values at defaults).

    Returns
    -------
    Uncertainty or None

    Raises
    ------
    ScenarioError
        One line naming the file and ``uncertainty.<key>``.
    """
    if not t.data:
        return None
    design = t.string("design", "sobol", choices=DESIGNS)
    worlds = t.integer("worlds", DEFAULT_WORLDS, lo=2, hi=1 << 20)
    if design == "sobol" and worlds & (worlds - 1):
        lo = 1 << (worlds.bit_length() - 1)
        raise t.error(
            "worlds", f"a Sobol design needs a power of 2 worlds for its balance; got {worlds}, use {lo} or {lo * 2}"
        )
    replications = t.raw("replications", None)
    if replications is not None:
        replications = t.integer("replications", lo=1, hi=2**31 - 1)
    from_calibration = t.boolean("from_calibration", False)
    base = {k: v for k, v in data.items() if k != "uncertainty"}
    inputs: list[UncertainInput] = []
    for path, where, spec in _entries(t):
        if path in {i.path for i in inputs}:
            raise ScenarioError(t.source, where, "is given twice")
        dist = _distribution(t.source, where, spec)
        inputs.append(_input(t.source, where, path, dist, base, scenario))
    if not inputs and not from_calibration:
        raise t.error(
            None,
            'names no uncertain input: give key path = { dist = "...", ... } (or from_calibration = true in a '
            "template of incentsim calibrate)",
        )
    t.finish(allowed_extra=[k for k in t.keys() if k not in SETTINGS])
    return Uncertainty(tuple(inputs), worlds, replications, design, from_calibration)


def _entries(t: Table) -> list[tuple[str, str, Any]]:
    """(key path, key in the file, spec) of every uncertain input, in file order."""
    out: list[tuple[str, str, Any]] = []

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if not prefix and key in SETTINGS:
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            where = t.key(path)
            if isinstance(value, dict) and value and "dist" not in value and not set(value) <= _PARAMETERS:
                walk(value, path)  # a table on the way to the key
            elif isinstance(value, dict) and not value:
                raise ScenarioError(t.source, where, 'is empty: give { dist = "...", ... } or [low, high]')
            elif isinstance(value, (dict, list)):
                out.append((path, where, value))
            elif not prefix and did_you_mean(str(key), SETTINGS):
                raise ScenarioError(t.source, where, f"unknown key{did_you_mean(str(key), SETTINGS)}")
            else:
                raise ScenarioError(
                    t.source,
                    where,
                    f'must be a distribution {{ dist = "...", ... }} or [low, high], got {describe(value)}',
                )

    walk(t.data, "")
    return out


def _number(source: str, where: str, value: Any) -> float:
    if not is_number(value) or not math.isfinite(float(value)):
        raise ScenarioError(source, where, f"must be a finite number, got {describe(value)}")
    return float(value)


def _distribution(source: str, where: str, spec: Any) -> Distribution:
    """Validate one entry's distribution (not yet against the scenario)."""
    if isinstance(spec, list):
        if len(spec) != 2:
            raise ScenarioError(source, where, f"a range must be [low, high], got {describe(spec)}")
        lo, hi = (_number(source, f"{where}[{i}]", v) for i, v in enumerate(spec))
        if not lo < hi:
            raise ScenarioError(source, where, f"low must be below high, got [{lo:g}, {hi:g}]")
        return Distribution("uniform", (), lo, hi)
    if "dist" not in spec:
        names = ", ".join(DISTRIBUTIONS)
        raise ScenarioError(source, f"{where}.dist", f"is required: the distribution, one of {names}")
    kind = spec.get("dist")
    if not isinstance(kind, str) or kind not in DISTRIBUTIONS:
        hint = did_you_mean(str(kind), DISTRIBUTIONS) if isinstance(kind, str) else ""
        raise ScenarioError(
            source, f"{where}.dist", f"must be one of {', '.join(DISTRIBUTIONS)}; got {describe(kind)}{hint}"
        )
    required, optional, _ = DISTRIBUTIONS[kind]
    if kind in ("uniform", "triangular"):
        required = ("low", *[r for r in required if r not in ("low", "high")], "high")
    allowed = set(required) | set(optional) | {"dist"}
    for key in spec:
        if key not in allowed:
            hint = did_you_mean(key, sorted(allowed - {"dist"}))
            raise ScenarioError(
                source, f"{where}.{key}", f"unknown parameter of a {kind} distribution{hint} (it takes "
                f"{', '.join(required + optional)})"
            )  # fmt: skip
    values: dict[str, float] = {}
    for key in required:
        if key not in spec:
            raise ScenarioError(source, f"{where}.{key}", f"is required for a {kind} distribution")
        values[key] = _number(source, f"{where}.{key}", spec[key])
    for key in optional:
        if key in spec:
            values[key] = _number(source, f"{where}.{key}", spec[key])
    low, high = values.pop("low", None), values.pop("high", None)
    if low is not None and high is not None and not low < high:
        raise ScenarioError(source, f"{where}.high", f"must be above low ({low:g}), got {high:g}")
    positive = {"normal": ("sd",), "lognormal": ("median", "sigma"), "beta": ("a", "b")}.get(kind, ())
    for key in positive:
        if values[key] <= 0:
            raise ScenarioError(source, f"{where}.{key}", f"must be positive, got {values[key]:g}")
    if kind == "triangular" and not low <= values["mode"] <= high:
        raise ScenarioError(source, f"{where}.mode", f"must lie between low ({low:g}) and high ({high:g})")
    if kind == "lognormal" and high is not None and high <= 0:
        raise ScenarioError(source, f"{where}.high", f"a lognormal is positive: high must be above 0, got {high:g}")
    order = [k for k in DISTRIBUTIONS[kind][0] if k not in ("low", "high")]
    dist = Distribution(kind, tuple((k, values[k]) for k in order), low, high)
    f_lo, f_hi = dist._probability_range()
    if f_hi - f_lo < 1e-9:
        raise ScenarioError(
            source, where, f"low and high ({low:g} to {high:g}) leave almost none of the {kind} distribution"
        )
    return dist


def _input(source: str, where: str, path: str, dist: Distribution, data: dict, sc: Scenario) -> UncertainInput:
    """Check a key path against the scenario at both extremes of its distribution."""
    try:
        parts = split_path(path)
    except ValueError as exc:
        raise ScenarioError(source, where, str(exc)) from None
    if parts[0] in ("simulation", "scenario", "uncertainty"):
        raise ScenarioError(source, where, f"[{parts[0]}] holds run settings, not assumptions: it cannot be uncertain")
    base = scenario_value(sc, path)  # as validated: ints only where the key is a whole number
    if not is_number(base):
        base = get_path(data, path)
    number = is_number(base)
    integer = number and isinstance(base, int) and not isinstance(scenario_value(sc, path), float)
    lo, hi = dist.extremes()
    if integer:
        lo, hi = float(round(lo)), float(round(hi))
    for end, value in (("lowest", lo), ("highest", hi)):
        _probe(source, where, path, int(value) if integer else value, data, end)
    if not number and base is not MISSING and not isinstance(base, str):
        raise ScenarioError(source, where, f"names no number in the scenario ({describe(base)}), so it cannot vary")
    return UncertainInput(path, dist, float(base) if number else None, bool(integer))


def _probe(source: str, where: str, path: str, value: float | int, data: dict, end: str) -> None:
    """Load the scenario with ``path`` at ``value``; an error names the [uncertainty] entry."""
    from .load import scenario_from_dict

    probe = copy.deepcopy(data)
    set_path(probe, path, value, source, where, changer="[uncertainty]")
    try:
        scenario_from_dict(probe, source=source)
    except ScenarioError as exc:
        at = f"at {value:g}, the {end} value of its distribution"
        if exc.key == path or path.startswith(exc.key + ".") or exc.key.startswith(path + "."):
            reason = exc.reason if exc.reason.startswith("unknown key") else f"{exc.reason} ({at})"
            raise ScenarioError(source, where, reason) from None
        raise ScenarioError(source, where, f"{at} the scenario is invalid: {exc.key}: {exc.reason}") from None
