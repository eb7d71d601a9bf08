"""The result of an uncertainty analysis: tables, the two-line verdict and the JSON contract."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scenario.uncertainty import UncertainInput
from .analysis import InputEffect, SchemeSummary

METRIC = "profit_after_bonus"


@dataclass
class UncertaintyResult:
    """Schemes compared across plausible worlds (the two-level simulation).

    Attributes
    ----------
    scenario : str
        Scenario name.
    source : str
        Scenario file.
    currency : str
    schemes : list of str
        Baseline first.
    behaviour : str
    worlds : int
        Plausible worlds (outer design).
    replications : int
        Inner replications per world and scheme (common random numbers within a world).
    seed : int
        Root seed: the design and every world's inner streams (spawn key ``(world, ...)``).
    design : str
        ``sobol`` or ``lhs``.
    inputs : list of UncertainInput
        The uncertain inputs and their distributions.
    table : pandas.DataFrame
        One row per world and scheme: ``world``, each input's value, ``scheme`` and the summary
        columns of every metric (see :func:`incentsim.batch.evaluate.summary_rows`).
    summaries : list of SchemeSummary
        Per scheme: P(best), expected profit, difference against the baseline across worlds,
        expected regret.
    effects : list of InputEffect
        Per input, in the table's order: variance share, break-even, EVPPI, fitted curves.
    best, runner_up : str
        The schemes with the highest and second-highest expected profit over the worlds.
    verdict_difference : dict
        ``mean``, ``p5``, ``p50``, ``p95`` across worlds of ``best - runner_up`` (currency a year).
    evpi : float
        Expected value of perfect information about all inputs together (the best scheme's
        expected regret; slightly overstated by simulation noise).
    noise_half_width : float
        Median over worlds of the 95 % confidence half-width of a scheme's difference from the
        baseline (how precisely the inner replications pin a world's difference).
    noise_share : float
        Share of the across-world variance of ``best - runner_up`` that is simulation noise
        (NaN when not available).
    chain_length : int
        Worlds per chain (one task of the run).
    """

    scenario: str
    source: str
    currency: str
    schemes: list[str]
    behaviour: str
    worlds: int
    replications: int
    seed: int
    design: str
    inputs: list[UncertainInput]
    table: Any
    summaries: list[SchemeSummary]
    effects: list[InputEffect]
    best: str
    runner_up: str
    verdict_difference: dict[str, float]
    evpi: float
    noise_half_width: float
    noise_share: float
    chain_length: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> str:
        """The first scheme: differences are measured against it."""
        return self.schemes[0]

    def summary(self, scheme: str) -> SchemeSummary:
        """One scheme's summary across worlds."""
        for s in self.summaries:
            if s.scheme == scheme:
                return s
        raise KeyError(f"no scheme {scheme!r}; the analysis has {', '.join(self.schemes)}")

    def effect(self, path: str) -> InputEffect:
        """One input's effect on the verdict."""
        for e in self.effects:
            if e.path == path:
                return e
        raise KeyError(f"no uncertain input {path!r}; the analysis has {', '.join(e.path for e in self.effects)}")

    @property
    def ranked(self) -> list[InputEffect]:
        """Inputs by the value of information about them (then by variance share), highest first."""
        return sorted(self.effects, key=lambda e: (-e.evppi, -e.variance_share))

    @property
    def hinge(self) -> InputEffect | None:
        """The input the verdict hinges on: the most valuable to measure of those with a break-even."""
        flips = [e for e in self.ranked if e.break_even is not None]
        return flips[0] if flips else None

    @property
    def verdict(self) -> str:
        """Both kinds of sureness in two sentences: across plausible worlds, and what it hinges on."""
        from ..report.format import money, plain, share

        cur = self.currency
        best = self.summary(self.best)
        d = self.verdict_difference
        head = (
            f"{self.best} is best in {share(best.p_best)} of {self.worlds} plausible worlds: profit after bonuses "
            f"{money(d['p50'], cur, signed=True)} a year against {self.runner_up} in the median world "
            f"(P5 {money(d['p5'], cur, signed=True)}, P95 {money(d['p95'], cur, signed=True)}); within a world "
            f"the simulation pins a difference to +-{money(self.noise_half_width, cur)} (95% CI, "
            f"{self.replications:,} replications)."
        )
        h = self.hinge
        if h is not None:
            where = _where(h, plain)
            tail = (
                f" It loses when {h.path} is {where}{_to(h)}; measuring that is worth up to "
                f"{money(h.evppi, cur)} a year (perfect information on every assumption: {money(self.evpi, cur)})."
            )
        elif self.effects and all(e.variance_share == 0.0 and e.evppi == 0.0 for e in self.effects):
            # Every input's fit is flat: none stands out from the noise (the simulation's and the other
            # inputs'), which is not evidence that none matters.
            if self.evpi == 0.0:  # best in every world: nothing to hinge on, only the lead's size is unexplained
                tail = (
                    f" It is best in every world; with {self.worlds} worlds no assumption's effect on its lead stands "
                    "out from the noise (more worlds would tell)."
                )
            else:
                tail = (
                    f" With {self.worlds} worlds no assumption's effect stands out from the noise, so what the "
                    f"verdict hinges on cannot be said (more worlds would tell; perfect information on every "
                    f"assumption: {money(self.evpi, cur)} a year)."
                )
        elif self.effects:
            top = self.ranked[0]
            tail = (
                f" No single assumption flips it within its range; the most valuable to measure is {top.path} "
                f"(up to {money(top.evppi, cur)} a year; every assumption: {money(self.evpi, cur)})."
            )
        else:  # pragma: no cover - an analysis always has inputs
            tail = ""
        return head + tail

    def schemes_frame(self) -> Any:
        """Per scheme: P(best), expected profit, difference against the baseline (P5/P50/P95), regret."""
        import pandas as pd

        return pd.DataFrame([s.__dict__ for s in self.summaries])

    def inputs_frame(self) -> Any:
        """Per input: distribution, variance share, break-even, where it loses, EVPPI (ranked by EVPPI)."""
        import pandas as pd

        dist = {i.path: i.distribution.text() for i in self.inputs}
        rows = []
        for e in self.ranked:
            rows.append(
                {
                    "input": e.path, "distribution": dist.get(e.path, ""), "low": e.low, "high": e.high,
                    "variance_share": e.variance_share,
                    "break_even": math.nan if e.break_even is None else e.break_even,
                    "loses_when": e.loses_when or "", "winner_beyond": e.winner_beyond or "", "evppi": e.evppi,
                }
            )  # fmt: skip
        return pd.DataFrame(rows)

    def to_frame(self) -> Any:
        """One row per world and scheme (the per-world table, as written to Parquet)."""
        return self.table.copy()

    def to_json(self) -> dict:
        """A JSON-ready dict: settings, per scheme, per input (with the fitted curves), the verdict."""
        dist = {i.path: i for i in self.inputs}
        return {
            "scenario": self.scenario,
            "metric": METRIC,
            "currency": self.currency,
            "baseline": self.baseline,
            "schemes": list(self.schemes),
            "behaviour": self.behaviour,
            "worlds": self.worlds,
            "replications": self.replications,
            "seed": self.seed,
            "design": self.design,
            "best": self.best,
            "runner_up": self.runner_up,
            "verdict_difference": {k: _num(v) for k, v in self.verdict_difference.items()},
            "evpi": _num(self.evpi),
            "noise_half_width": _num(self.noise_half_width),
            "noise_share": _num(self.noise_share),
            "per_scheme": [{k: _num(v) for k, v in s.__dict__.items()} for s in self.summaries],
            "per_input": [
                {
                    "input": e.path,
                    "distribution": dist[e.path].distribution.text() if e.path in dist else None,
                    "variance_share": _num(e.variance_share),
                    "break_even": _num(e.break_even),
                    "crossings": [_num(c) for c in e.crossings],
                    "loses_when": e.loses_when,
                    "winner_beyond": e.winner_beyond,
                    "evppi": _num(e.evppi),
                    "range": [_num(e.low), _num(e.high)],
                    "curve": {
                        "x": [_num(v) for v in e.curve_x],
                        "difference_vs_baseline": {k: [_num(v) for v in c] for k, c in e.curves.items()},
                    },
                }
                for e in self.ranked
            ],
            "verdict": self.verdict,
            "notes": list(self.notes),
        }

    def text(self) -> str:
        """The analysis for a terminal: verdict, per scheme, per input."""
        from ..report.uncertainty_view import uncertainty_text

        return uncertainty_text(self)

    def plot(self, path: str | Path) -> None:
        """Write the across-world distribution and the break-even chart as one figure (.png, .svg or .pdf).

        Written atomically; a ``ValueError`` names an unknown suffix.
        """
        from ..report.plots import save_figure
        from ..report.uncertainty_view import uncertainty_figure

        save_figure(uncertainty_figure(self), path)


def _where(e: InputEffect, fmt) -> str:
    if e.loses_when in ("above", "below"):
        return f"{e.loses_when} {fmt(e.break_even)}"
    if e.loses_when == "between" and len(e.crossings) >= 2:
        return f"between {fmt(e.crossings[0])} and {fmt(e.crossings[1])}"
    if e.loses_when == "outside" and len(e.crossings) >= 2:
        return f"below {fmt(e.crossings[0])} or above {fmt(e.crossings[-1])}"
    return f"near {fmt(e.break_even)}"


def _to(e: InputEffect) -> str:
    return f" (to {e.winner_beyond})" if e.winner_beyond else ""


def _num(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
