"""Statistics of simulated distributions: summaries, paired differences, tests (docs/model/metrics.md).

Units of independence: replications. With several recorded years per replication the years of
one replication are correlated, so confidence intervals use per-replication means, while
quantiles and "probability that A beats B in a year" use replication-years.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass

import numpy as np

#: Degrees of freedom from which :func:`t_975` uses its series instead of scipy.
_T_SERIES_DF = 300


@functools.lru_cache(maxsize=64)
def t_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (two-sided 95 % intervals).

    From ``df`` = 300 on, the Cornish-Fisher series of Abramowitz & Stegun 26.7.5 (five terms,
    relative error below 2e-13 there, 1e-15 from 1,000 on) around the normal quantile, so a comparison of hundreds
    of replications or more never imports scipy (about 0.3 s, a large part of a warm
    ``compare``); below, scipy's ``stdtrit``.
    """
    if df < _T_SERIES_DF:
        from scipy import special

        return float(special.stdtrit(df, 0.975))
    x = _Z_975
    x2 = x * x
    g1 = (x2 + 1.0) * x / 4.0
    g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0
    g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0
    g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0
    v = float(df)
    return x + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


#: The 97.5 % quantile of the standard normal distribution.
_Z_975 = statistics.NormalDist().inv_cdf(0.975)

@dataclass(frozen=True)
class Summary:
    """Mean, standard deviation and the 5th, 50th and 95th percentiles (NaNs ignored)."""

    mean: float
    std: float
    p5: float
    p50: float
    p95: float
    n: int

    def as_dict(self) -> dict[str, float | None]:
        """JSON-ready dict (NaN becomes ``None``)."""
        return {k: _json_float(getattr(self, k)) for k in ("mean", "std", "p5", "p50", "p95")}


def summarize(x: np.ndarray) -> Summary:
    """Summarise a sample.

    Parameters
    ----------
    x : ndarray(float)
        Any shape; flattened, NaNs dropped.

    Returns
    -------
    Summary
        All NaN when no finite value remains.
    """
    v = np.asarray(x, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = float("nan")
        return Summary(nan, nan, nan, nan, nan, 0)
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return Summary(float(v.mean()), std, float(p5), float(p50), float(p95), int(v.size))


@dataclass(frozen=True)
class PairedDifference:
    """Difference a - b of one metric between two schemes on common random numbers.

    Attributes
    ----------
    mean : float
        Mean difference per replication-year.
    ci95 : (float, float)
        95 % confidence interval of the mean (t interval over per-replication means); NaN with
        one replication.
    p_a_beats_b : float
        Share of replication-years in which a is better than b (ties count half), where
        "better" is higher, or lower for costs (``results.LOWER_IS_BETTER``); for a metric that
        only describes behaviour (effort, focus, timing), the share in which a is higher.
    variance_reduction : float or None
        Var(a) + Var(b) over Var(a - b): how much common random numbers shrink the variance
        of the difference compared with independent runs; ``None`` when the paired difference
        has no variance at all (identical outcomes).
    ks : float
        Kolmogorov-Smirnov distance between the two distributions.
    n : int
        Replications used.
    yearly_p10_p90 : (float, float)
        P10 and P90 of the single-year differences ``a - b``: how much one year varies, as
        opposed to ``ci95``, how sure the mean is.
    """

    mean: float
    ci95: tuple[float, float]
    p_a_beats_b: float
    variance_reduction: float | None
    ks: float
    n: int
    yearly_p10_p90: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def half_width(self) -> float:
        """Half the width of the 95 % interval."""
        return 0.5 * (self.ci95[1] - self.ci95[0])

    @property
    def significant(self) -> bool:
        """Whether the 95 % interval excludes zero."""
        return self.ci95[0] > 0 or self.ci95[1] < 0


def paired_difference(a: np.ndarray, b: np.ndarray, higher_is_better: bool = True) -> PairedDifference:
    """Paired comparison of two schemes simulated on the same replications.

    Parameters
    ----------
    a, b : ndarray(float, (replications, years))
        The metric under each scheme, row i of both from replication i.
    higher_is_better : bool
        Direction used by ``p_a_beats_b``.

    Returns
    -------
    PairedDifference
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
        b = b[:, None]
    ok = np.isfinite(a) & np.isfinite(b)
    rows = ok.all(axis=1)
    a, b = a[rows], b[rows]
    n = a.shape[0]
    if n == 0:
        nan = float("nan")
        return PairedDifference(nan, (nan, nan), nan, None, nan, 0)
    d_rep = (a - b).mean(axis=1)
    mean = float(d_rep.mean())
    if n > 1:
        se = float(d_rep.std(ddof=1)) / np.sqrt(n)
        t = t_975(n - 1)
        ci = (mean - t * se, mean + t * se)
    else:
        # One replication says nothing about how sure its difference is: no interval (and so no
        # clear winner), not a zero-width one.
        ci = (float("nan"), float("nan"))
    d = (a - b).reshape(-1)
    p10, p90 = (float(q) for q in np.percentile(d, [10, 90]))
    if not higher_is_better:
        d = -d
    p_beats = float((d > 0).mean() + 0.5 * (d == 0).mean())
    va = a.mean(axis=1).var(ddof=1) if n > 1 else 0.0
    vb = b.mean(axis=1).var(ddof=1) if n > 1 else 0.0
    vd = d_rep.var(ddof=1) if n > 1 else 0.0
    if vd > 0:
        vr: float | None = float((va + vb) / vd)
    else:
        vr = None
    ks = ks_distance(a.reshape(-1), b.reshape(-1)) if n > 1 else 0.0
    return PairedDifference(mean, (float(ci[0]), float(ci[1])), p_beats, vr, ks, n, (p10, p90))


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs.

    (The statistic of ``scipy.stats.ks_2samp``; computed here with numpy so that a comparison does
    not pay the half-second import of ``scipy.stats``.)
    """
    a = np.sort(a)
    b = np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def budget_quantiles(x: np.ndarray, levels=(50, 90, 95)) -> dict[str, float]:
    """Quantiles of a cost distribution, keyed ``p50``, ``p90``, ``p95``."""
    v = np.asarray(x, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {f"p{q}": float("nan") for q in levels}
    return {f"p{q}": float(np.percentile(v, q)) for q in levels}


def gini(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gini coefficient along an axis (0: equal; 1: one person gets everything).

    Parameters
    ----------
    x : ndarray(float)
        Non-negative amounts.
    axis : int
        Axis over people.

    Returns
    -------
    ndarray(float)
        NaN where everyone has zero.
    """
    v = np.sort(np.asarray(x, dtype=np.float64), axis=axis)
    v = np.moveaxis(v, axis, -1)
    n = v.shape[-1]
    total = v.sum(axis=-1)
    idx = np.arange(1, n + 1)
    num = ((2 * idx - n - 1) * v).sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(num, n * total, out=out, where=total > 0)
    return out


def _json_float(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


# -- mergeable (streaming) statistics ----------------------------------------------------------
#
# A long run is summarised block by block (blocks of replications at fixed global indices), and
# the blocks' statistics are merged in block order. Means, variances, counts and shares are
# exact (Chan et al.'s pairwise update); quantiles come from QuantileSketch, whose accuracy is
# stated. Every merge is deterministic, so results do not depend on threads or chunk sizes.


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations of a sample; mergeable (Chan et al. 1979).

    Attributes
    ----------
    n : int
    mean : float
    m2 : float
        Sum of squared deviations from the mean (``var = m2 / (n - ddof)``).
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, x: np.ndarray, finite_only: bool = True) -> Moments:
        """Moments of the values of ``x`` (any shape; non-finite values dropped unless told)."""
        v = np.asarray(x, dtype=np.float64).reshape(-1)
        if finite_only:
            v = v[np.isfinite(v)]
        if v.size == 0:
            return cls()
        mean = v.mean()
        d = v - mean
        return cls(int(v.size), float(mean), float((d * d).sum()))

    def merge(self, other: Moments) -> Moments:
        """The moments of both samples together."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + delta * delta * (self.n * other.n / n)
        return Moments(n, mean, m2)

    def var(self, ddof: int = 1) -> float:
        """Variance (NaN without enough values)."""
        return self.m2 / (self.n - ddof) if self.n > ddof else float("nan")


class QuantileSketch:
    """A mergeable, deterministic quantile sketch with a relative accuracy of 0.1 %.

    Values are counted in logarithmically spaced buckets, as in DDSketch (Masson, Rim and Lee,
    "DDSketch: a fast and fully-mergeable quantile sketch with relative-error guarantees", VLDB
    2019), with the bucket of a value computed exactly from its binary exponent and mantissa
    (``numpy.frexp``): 500 buckets per power of two, each of relative half-width at most
    :attr:`RELATIVE_ACCURACY`. A merge adds bucket counts, so the result depends only on the
    values, never on their order or on how they were split; the memory grows with the log of
    the values' range (a few thousand buckets), never with their number. Values with
    ``|x| < 1e-9`` count as zero.

    Guarantee: a quantile is the numpy ``linear`` interpolation between the estimates of the
    two neighbouring order statistics, each within ``RELATIVE_ACCURACY x |value|`` of the exact
    one (and within the exact minimum and maximum, which are kept).
    """

    RELATIVE_ACCURACY = 1e-3
    _PER_BINADE = 500  # buckets per power of two: mantissa width 0.5 / 500 = 0.001 (half-width <= 0.1 %)
    _MIN_ABS = 1e-9

    def __init__(self) -> None:
        self.pos_keys = np.empty(0, np.int64)
        self.pos_counts = np.empty(0, np.int64)
        self.neg_keys = np.empty(0, np.int64)
        self.neg_counts = np.empty(0, np.int64)
        self.zero = 0
        self.n = 0
        self.min = float("inf")
        self.max = float("-inf")

    @classmethod
    def of(cls, x: np.ndarray) -> QuantileSketch:
        """A sketch of the finite values of ``x``."""
        s = cls()
        s.add(x)
        return s

    @classmethod
    def _keys(cls, a: np.ndarray) -> np.ndarray:
        m, e = np.frexp(a)  # a = m 2^e, m in [0.5, 1): exact
        j = np.floor((m - 0.5) * (2 * cls._PER_BINADE)).astype(np.int64)
        np.minimum(j, cls._PER_BINADE - 1, out=j)
        return e.astype(np.int64) * cls._PER_BINADE + j

    @classmethod
    def _value(cls, keys: np.ndarray) -> np.ndarray:
        e, j = np.divmod(keys, cls._PER_BINADE)
        return np.ldexp(0.5 + (j + 0.5) / (2 * cls._PER_BINADE), e.astype(np.int32))

    def add(self, x: np.ndarray) -> None:
        """Count the finite values of ``x``."""
        v = np.asarray(x, dtype=np.float64).reshape(-1)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return
        self.n += int(v.size)
        self.min = min(self.min, float(v.min()))
        self.max = max(self.max, float(v.max()))
        pos = v[v >= self._MIN_ABS]
        neg = -v[v <= -self._MIN_ABS]
        self.zero += int(v.size - pos.size - neg.size)
        if pos.size:
            k, c = np.unique(self._keys(pos), return_counts=True)
            self.pos_keys, self.pos_counts = _merge_counts(self.pos_keys, self.pos_counts, k, c)
        if neg.size:
            k, c = np.unique(self._keys(neg), return_counts=True)
            self.neg_keys, self.neg_counts = _merge_counts(self.neg_keys, self.neg_counts, k, c)

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """A new sketch of both samples."""
        out = QuantileSketch()
        out.pos_keys, out.pos_counts = _merge_counts(self.pos_keys, self.pos_counts, other.pos_keys, other.pos_counts)
        out.neg_keys, out.neg_counts = _merge_counts(self.neg_keys, self.neg_counts, other.neg_keys, other.neg_counts)
        out.zero = self.zero + other.zero
        out.n = self.n + other.n
        out.min = min(self.min, other.min)
        out.max = max(self.max, other.max)
        return out

    def _ordered(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket values and counts in increasing order of value."""
        values = np.concatenate([-self._value(self.neg_keys[::-1]), [0.0], self._value(self.pos_keys)])
        counts = np.concatenate([self.neg_counts[::-1], [self.zero], self.pos_counts])
        return values, counts

    def quantiles(self, q: np.ndarray | list[float]) -> np.ndarray:
        """Quantiles at probabilities ``q`` in [0, 1] (numpy's ``linear`` method on the estimates)."""
        q = np.asarray(q, dtype=np.float64)
        if self.n == 0:
            return np.full(q.shape, np.nan)
        values, counts = self._ordered()
        cum = np.cumsum(counts)  # cum[i] = order statistics in buckets 0..i

        def at(rank: np.ndarray) -> np.ndarray:  # value of the order statistic of 0-based rank
            idx = np.searchsorted(cum, rank, side="right")
            out = np.clip(values[idx], self.min, self.max)
            out[rank <= 0] = self.min  # the extremes are kept exactly
            out[rank >= self.n - 1] = self.max
            return out

        h = q * (self.n - 1)
        lo = np.floor(h)
        hi = np.ceil(h)
        a, b = at(lo), at(hi)
        return a + (h - lo) * (b - a)

    def quantile(self, q: float) -> float:
        """One quantile, ``q`` in [0, 1]."""
        return float(self.quantiles([q])[0])

    def cdf_at_edges(self, keys_pos: np.ndarray, keys_neg: np.ndarray) -> np.ndarray:
        """Share of values at or below the upper edge of each bucket of a common bucket list
        (negative buckets from most negative, zero, then positive), for :func:`sketch_ks`."""
        neg = np.zeros(keys_neg.size)
        if self.neg_keys.size:
            neg[np.searchsorted(keys_neg, self.neg_keys)] = self.neg_counts
        pos = np.zeros(keys_pos.size)
        if self.pos_keys.size:
            pos[np.searchsorted(keys_pos, self.pos_keys)] = self.pos_counts
        counts = np.concatenate([neg[::-1], [self.zero], pos])
        return np.cumsum(counts) / max(self.n, 1)


def _merge_counts(k1: np.ndarray, c1: np.ndarray, k2: np.ndarray, c2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add two sorted (key, count) lists."""
    if k1.size == 0:
        return k2.copy(), c2.copy()
    if k2.size == 0:
        return k1, c1
    keys, inverse = np.unique(np.concatenate([k1, k2]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([c1, c2]), minlength=keys.size).astype(np.int64)
    return keys, counts


def sketch_summary(m: Moments, sketch: QuantileSketch) -> Summary:
    """A :class:`Summary` from exact moments and sketched quantiles."""
    if m.n == 0:
        nan = float("nan")
        return Summary(nan, nan, nan, nan, nan, 0)
    p5, p50, p95 = sketch.quantiles([0.05, 0.50, 0.95])
    std = float(np.sqrt(m.var(1))) if m.n > 1 else 0.0
    return Summary(float(m.mean), std, float(p5), float(p50), float(p95), int(m.n))


def sketch_ks(a: QuantileSketch, b: QuantileSketch) -> tuple[float, float]:
    """Kolmogorov-Smirnov distance of two sketched samples, and the most it can be off by.

    The empirical CDFs are exact at every bucket edge; between edges the exact distance can
    exceed the largest gap at the edges by at most the largest share of either sample in one
    bucket. Returns ``(distance at the edges, that bound)``; the exact distance lies in
    ``[distance, distance + bound]``.
    """
    if a.n == 0 or b.n == 0:
        return float("nan"), float("nan")
    kp = np.union1d(a.pos_keys, b.pos_keys)
    kn = np.union1d(a.neg_keys, b.neg_keys)
    fa = a.cdf_at_edges(kp, kn)
    fb = b.cdf_at_edges(kp, kn)
    mass = np.maximum(np.diff(fa, prepend=0.0), np.diff(fb, prepend=0.0))
    return float(np.max(np.abs(fa - fb))), float(mass.max())


@dataclass(frozen=True)
class PairStats:
    """Mergeable paired comparison of one metric between schemes a and b on common random numbers.

    Built from blocks of replications with :meth:`of` and combined with :meth:`merge`; rows
    (replications) where either scheme has a non-finite year are left out, as in
    :func:`paired_difference`.

    Attributes
    ----------
    d, a, b : Moments
        Of the per-replication means of ``a - b``, of ``a`` and of ``b``.
    greater, equal, years : int
        Replication-years where a > b, a == b, and all of them.
    sketch_a, sketch_b : QuantileSketch
        The values of a and b (for the Kolmogorov-Smirnov distance).
    """

    d: Moments
    a: Moments
    b: Moments
    greater: int
    equal: int
    years: int
    sketch_a: QuantileSketch
    sketch_b: QuantileSketch

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray) -> PairStats:
        """From ``(replications, years)`` arrays of the metric under each scheme."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.ndim == 1:
            a, b = a[:, None], b[:, None]
        rows = (np.isfinite(a) & np.isfinite(b)).all(axis=1)
        a, b = a[rows], b[rows]
        diff = a - b
        return cls(
            Moments.of(diff.mean(axis=1), finite_only=False),
            Moments.of(a.mean(axis=1), finite_only=False),
            Moments.of(b.mean(axis=1), finite_only=False),
            int((diff > 0).sum()),
            int((diff == 0).sum()),
            int(diff.size),
            QuantileSketch.of(a),
            QuantileSketch.of(b),
        )

    def merge(self, other: PairStats) -> PairStats:
        """Both blocks together."""
        return PairStats(
            self.d.merge(other.d),
            self.a.merge(other.a),
            self.b.merge(other.b),
            self.greater + other.greater,
            self.equal + other.equal,
            self.years + other.years,
            self.sketch_a.merge(other.sketch_a),
            self.sketch_b.merge(other.sketch_b),
        )

    def difference(self, higher_is_better: bool = True, reverse: bool = False) -> PairedDifference:
        """The :class:`PairedDifference` of ``a - b`` (``reverse``: of ``b - a``).

        Mean, interval, share of years better and variance reduction are exact; the KS
        distance is read off the sketches (see :func:`sketch_ks` for its accuracy).
        """
        n = self.d.n
        if n == 0:
            nan = float("nan")
            return PairedDifference(nan, (nan, nan), nan, None, nan, 0)
        sign = -1.0 if reverse else 1.0
        mean = sign * self.d.mean
        if n > 1:
            se = float(np.sqrt(self.d.var(1))) / np.sqrt(n)
            t = t_975(n - 1)
            ci = (mean - t * se, mean + t * se)
        else:
            ci = (float("nan"), float("nan"))  # (one replication: no interval, as paired_difference)
        less = self.years - self.greater - self.equal
        better = self.greater if (higher_is_better != reverse) else less
        p_beats = better / self.years + 0.5 * (self.equal / self.years)
        vd = self.d.var(1) if n > 1 else 0.0
        vr = float((self.a.var(1) + self.b.var(1)) / vd) if n > 1 and vd > 0 else None
        ks = sketch_ks(self.sketch_a, self.sketch_b)[0] if n > 1 else 0.0
        return PairedDifference(mean, (float(ci[0]), float(ci[1])), float(p_beats), vr, ks, n)
