"""Statistics of simulated distributions: summaries, paired differences, tests (docs/model/metrics.md).

Units of independence: replications. With several recorded years per replication the years of
one replication are correlated, so confidence intervals use per-replication means, while
quantiles and "probability that A beats B in a year" use replication-years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special


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
        95 % confidence interval of the mean (t interval over per-replication means).
    p_a_beats_b : float
        Share of replication-years in which a is better than b (ties count half), where
        "better" is higher, or lower for costs.
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
        t = float(special.stdtrit(n - 1, 0.975))
        ci = (mean - t * se, mean + t * se)
    else:
        ci = (mean, mean)
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
