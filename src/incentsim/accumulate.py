"""Streaming summaries of a comparison: block by block, in memory that does not grow with N.

Replications are grouped in blocks at fixed global indices (``0 .. B-1``, ``B .. 2B-1``, ...;
:func:`block_replications` chooses B from the size of one replication's results, about 16 MB of
them per scheme). A block's per-replication results are reduced to mergeable statistics
(``stats.Moments``, ``stats.QuantileSketch``, ``stats.PairStats`` and the counts of the HR view)
as soon as it is complete, then dropped; the blocks' statistics are merged in block order. So a
long run keeps one open block per scheme, whatever its length, and its figures do not depend on
how the replications were chunked or batched, or on the thread count.

What is exact and what is not: means, standard deviations, paired differences with their
confidence intervals, shares of years better, variance reductions, shares and probabilities of
the HR view are exact (up to floating-point rounding). Percentiles (P5/P50/P95, budget
quantiles) are within 0.1 % of the exact value (``QuantileSketch.RELATIVE_ACCURACY``), and the KS
distance is a lower bound off by at most the largest share of a bucket (``stats.sketch_ks``).
A run of a single block (the default 10,000 replications of the bundled scenarios) is
summarised exactly from its arrays, as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .kernels import layout as L
from .memory import bytes_per_replication
from .results import METRICS, Results, concat_results
from .stats import Moments, PairStats, QuantileSketch, gini

#: Bytes of per-replication results buffered per scheme for the open block.
BLOCK_BYTES = 16 * 2**20
#: Block sizes are powers of two within these bounds (replications).
BLOCK_MIN, BLOCK_MAX = 64, 1 << 16


def block_replications(horizon_years: int, reps: int) -> int:
    """Replications per block: the largest power of two whose results fit in :data:`BLOCK_BYTES`.

    A function of the scenario's shape only (never of the machine), so the same scenario is
    always blocked, and summarised, the same way.
    """
    per = bytes_per_replication(horizon_years, reps)
    b = BLOCK_MIN
    while b * 2 <= BLOCK_MAX and b * 2 * per <= BLOCK_BYTES:
        b *= 2
    return b


@dataclass(frozen=True)
class LevelStats:
    """Rep bonus, attainment and bookings of the reps at one ability level."""

    pay: Moments
    attainment: Moments
    bookings: Moments

    def merge(self, other: LevelStats) -> LevelStats:
        """Both blocks together."""
        return LevelStats(
            self.pay.merge(other.pay), self.attainment.merge(other.attainment), self.bookings.merge(other.bookings)
        )


@dataclass(frozen=True)
class HRStats:
    """Mergeable figures of the HR view of one scheme (see ``comparison.hr_view``)."""

    rep_pay: Moments
    rep_pay_sketch: QuantileSketch
    mkt_pay: Moments
    mkt_pay_sketch: QuantileSketch
    rep_values: int
    mkt_rows: int
    zero_reps: int
    zero_mkt_rows: int
    capped_reps: int
    capped_mkt_rows: int
    gini_sum: float
    gini_n: int
    over_budget: int
    bonus_years: int
    pay_all: Moments
    levels: tuple[LevelStats, ...]

    @classmethod
    def of(cls, res: Results, budget: float | None) -> HRStats:
        """From one block's results."""
        p = res.person
        reps = res.reps
        rep_pay = p[:, :, :reps, L.P_PAY]
        mkt_pay = p[:, :, reps, L.P_PAY]
        bonus = res.metrics["bonus_cost"].reshape(-1)
        g = gini(rep_pay, axis=2) if reps > 1 else np.full(rep_pay.shape[:2], np.nan)
        g = g[np.isfinite(g)]
        ability = np.repeat(res.ability[:, None, :], res.horizon_years, axis=1).reshape(-1)
        flat = rep_pay.reshape(-1)
        attain = p[:, :, :reps, L.P_ATTAIN].reshape(-1)
        bookings = p[:, :, :reps, L.P_BOOKINGS].reshape(-1)
        levels = []
        for k in range(len(res.ability_levels)):
            sel = ability == k
            levels.append(
                LevelStats(
                    Moments.of(flat[sel], finite_only=False),
                    Moments.of(attain[sel], finite_only=False),
                    Moments.of(bookings[sel], finite_only=False),
                )
            )
        return cls(
            rep_pay=Moments.of(rep_pay),
            rep_pay_sketch=QuantileSketch.of(rep_pay),
            mkt_pay=Moments.of(mkt_pay),
            mkt_pay_sketch=QuantileSketch.of(mkt_pay),
            rep_values=int(rep_pay.size),
            mkt_rows=int(mkt_pay.size),
            zero_reps=int((rep_pay <= 0).sum()),
            zero_mkt_rows=int((mkt_pay <= 0).sum()),
            capped_reps=int((p[:, :, :reps, L.P_CAPPED] > 0).sum()),
            capped_mkt_rows=int((p[:, :, reps, L.P_CAPPED] > 0).sum()),
            gini_sum=float(g.sum()),
            gini_n=int(g.size),
            over_budget=0 if budget is None else int((bonus > budget).sum()),
            bonus_years=int(bonus.size),
            pay_all=Moments.of(flat, finite_only=False),
            levels=tuple(levels),
        )

    def merge(self, o: HRStats) -> HRStats:
        """Both blocks together."""
        return HRStats(
            rep_pay=self.rep_pay.merge(o.rep_pay),
            rep_pay_sketch=self.rep_pay_sketch.merge(o.rep_pay_sketch),
            mkt_pay=self.mkt_pay.merge(o.mkt_pay),
            mkt_pay_sketch=self.mkt_pay_sketch.merge(o.mkt_pay_sketch),
            rep_values=self.rep_values + o.rep_values,
            mkt_rows=self.mkt_rows + o.mkt_rows,
            zero_reps=self.zero_reps + o.zero_reps,
            zero_mkt_rows=self.zero_mkt_rows + o.zero_mkt_rows,
            capped_reps=self.capped_reps + o.capped_reps,
            capped_mkt_rows=self.capped_mkt_rows + o.capped_mkt_rows,
            gini_sum=self.gini_sum + o.gini_sum,
            gini_n=self.gini_n + o.gini_n,
            over_budget=self.over_budget + o.over_budget,
            bonus_years=self.bonus_years + o.bonus_years,
            pay_all=self.pay_all.merge(o.pay_all),
            levels=tuple(a.merge(b) for a, b in zip(self.levels, o.levels, strict=True)),
        )


@dataclass(frozen=True)
class SchemeStats:
    """Mergeable summaries of one scheme: every metric, profit per replication, the HR view."""

    metrics: dict[str, tuple[Moments, QuantileSketch]]
    profit_per_replication: Moments
    hr: HRStats

    @classmethod
    def of(cls, res: Results, budget: float | None) -> SchemeStats:
        """From one block's results."""
        metrics = {name: (Moments.of(v), QuantileSketch.of(v)) for name, v in res.metrics.items()}
        profit = res.metrics["profit_after_bonus"]
        rows = np.isfinite(profit).all(axis=1)
        return cls(metrics, Moments.of(profit[rows].mean(axis=1), finite_only=False), HRStats.of(res, budget))

    def merge(self, o: SchemeStats) -> SchemeStats:
        """Both blocks together."""
        metrics = {k: (m.merge(o.metrics[k][0]), s.merge(o.metrics[k][1])) for k, (m, s) in self.metrics.items()}
        return SchemeStats(metrics, self.profit_per_replication.merge(o.profit_per_replication), self.hr.merge(o.hr))


@dataclass(frozen=True)
class BlockStats:
    """The mergeable statistics of a comparison over some blocks of replications.

    Attributes
    ----------
    replications : int
    schemes : dict of str to SchemeStats
        By scheme label, baseline first.
    pairs : dict of (str, str) to dict of str to PairStats
        For every two labels ``(x, y)`` with x before y: the paired statistics of ``y - x``
        per metric.
    """

    replications: int
    schemes: dict[str, SchemeStats]
    pairs: dict[tuple[str, str], dict[str, PairStats]]

    @classmethod
    def of(cls, results: dict[str, Results], budget: float | None) -> BlockStats:
        """From one block's results of every scheme (same replications)."""
        labels = list(results)
        schemes = {label: SchemeStats.of(res, budget) for label, res in results.items()}
        pairs = {}
        for i, x in enumerate(labels):
            for y in labels[i + 1 :]:
                pairs[(x, y)] = {m: PairStats.of(results[y].metrics[m], results[x].metrics[m]) for m in METRICS}
        return cls(next(iter(results.values())).replications, schemes, pairs)

    def merge(self, o: BlockStats) -> BlockStats:
        """Both together (``self`` first)."""
        return BlockStats(
            self.replications + o.replications,
            {k: s.merge(o.schemes[k]) for k, s in self.schemes.items()},
            {k: {m: p.merge(o.pairs[k][m]) for m, p in ps.items()} for k, ps in self.pairs.items()},
        )


def slice_results(res: Results, start: int, stop: int) -> Results:
    """Replications ``start .. stop - 1`` of a run (views, no copy)."""

    def cut(a):
        return None if a is None else a[start:stop]

    return dataclasses.replace(
        res,
        replications=stop - start,
        year=cut(res.year),
        person=cut(res.person),
        month=cut(res.month),
        effort_week=cut(res.effort_week),
        ability=cut(res.ability),
        pipeline=cut(res.pipeline),
    )


def summary_only(res: Results, replications: int) -> Results:
    """The provenance of a run without its per-replication arrays."""
    return dataclasses.replace(
        res, replications=replications, year=None, person=None, month=None, effort_week=None, ability=None,
        pipeline=None,
    )  # fmt: skip


@dataclass
class Accumulator:
    """Collects the results of a comparison segment by segment and keeps them as block statistics.

    Parameters
    ----------
    labels : list of str
        Scheme labels, baseline first.
    block : int
        Replications per block (:func:`block_replications`).
    budget : float or None
        Bonus budget, for the probability of exceeding it.
    keep : bool
        Also keep every replication's results (for tables and figures).
    """

    labels: list[str]
    block: int
    budget: float | None = None
    keep: bool = False
    replications: int = 0
    folded: BlockStats | None = None
    open: list[dict[str, Results]] = field(default_factory=list)
    kept: list[dict[str, Results]] = field(default_factory=list)
    last: dict[str, Results] | None = None

    def add(self, first: int, segment: dict[str, Results]) -> None:
        """Add the results of replications ``first ..`` (the next ones; within one block)."""
        count = next(iter(segment.values())).replications
        if first != self.replications:
            raise ValueError(f"segment starts at replication {first}, expected {self.replications}")
        if first // self.block != (first + count - 1) // self.block:
            raise ValueError("a segment must not cross a block boundary")
        self.open.append(segment)
        self.last = segment
        if self.keep:
            self.kept.append(segment)
        self.replications += count
        if self.replications % self.block == 0:
            stats = BlockStats.of(self._join(self.open), self.budget)
            self.folded = stats if self.folded is None else self.folded.merge(stats)
            self.open = []

    def _join(self, segments: list[dict[str, Results]]) -> dict[str, Results]:
        out = dict(segments[0])
        for seg in segments[1:]:
            out = {k: concat_results(out[k], seg[k]) for k in out}
        return out

    @property
    def exact(self) -> bool:
        """Whether the run fits in one block, so every figure is computed exactly from its arrays."""
        return self.folded is None

    def results(self) -> dict[str, Results]:
        """Per scheme: every replication's results when kept (or when the run fits in one block),
        else the provenance only (arrays ``None``)."""
        if self.folded is None and self.open:
            return self._join(self.open)
        if self.keep and self.kept:
            return self._join(self.kept)
        if self.last is None:
            raise ValueError("no replications yet")
        return {k: summary_only(r, self.replications) for k, r in self.last.items()}

    def stats(self) -> BlockStats | None:
        """Statistics of every replication so far (``None`` while the run fits in one block)."""
        if self.folded is None:
            return None
        if not self.open:
            return self.folded
        return self.folded.merge(BlockStats.of(self._join(self.open), self.budget))
