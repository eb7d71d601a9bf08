"""What the worlds say: how sure the verdict is, and which assumption it hinges on.

Input: the net benefit ``NB[w, s]`` of each scheme ``s`` in each world ``w`` (mean profit after
bonuses per year over the world's inner replications) and the worlds' values of each uncertain
input. Equal weights per world (the design is space-filling, not importance-weighted).

Across worlds (the outer, epistemic uncertainty):

- **P(best)**: the share of worlds in which a scheme has the highest net benefit;
- the distribution of its **difference against the baseline** (P5, P50, P95 across worlds);
- its **expected regret**, ``E_w[max_s NB[w, s] - NB[w, s]]``: what choosing it costs on average
  compared with knowing the world; the smallest expected regret is the expected value of
  perfect information (EVPI) about all the inputs together.

Per uncertain input ``x`` (one-dimensional conditional expectations, the others averaged out):

- a smoother ``g_s(x) ≈ E[NB_s - NB_baseline | x]`` per scheme: a cubic smoothing spline with
  its penalty chosen by generalised cross-validation (:func:`scipy.interpolate.make_smoothing_spline`;
  Wahba 1990, *Spline Models for Observational Data*, SIAM), the non-parametric regression of
  Strong, Oakley & Brennan (2014);
- its **share of the across-world variance** of the verdict's difference ``D`` (the best scheme
  minus the runner-up): the first-order Sobol index ``Var(E[D | x]) / Var(D)`` (Saltelli et al.
  2008, *Global Sensitivity Analysis: The Primer*, Wiley, ch. 1), estimated as the variance of
  the smoother's fitted values over the variance of ``D`` (the regression estimator of Ratto,
  Pagano & Young 2007, "State dependent parameter metamodelling and sensitivity analysis",
  *Computer Physics Communications* 177(11));
- its **break-even value**: where ``argmax_s g_s(x)`` changes from the scheme that is best on
  average to another one, inside the range the worlds cover (root of the smoothers' difference);
- its **EVPPI**, the expected value of perfect information about ``x`` alone, by the
  regression estimator of Strong, Oakley & Brennan (2014), "Estimating multiparameter partial
  expected value of perfect information from a probabilistic sensitivity analysis sample: a
  nonparametric regression approach", *Medical Decision Making* 34(3): 311-326:
  ``EVPPI = mean_w max_s g_s(x_w) - max_s mean_w g_s(x_w)``. Fitting the differences against
  the baseline (incremental net benefit) leaves the estimator unchanged and its noise smaller.

Simulation noise (the inner replications) adds variance to ``D`` that no input explains; its
share is reported beside the inputs' (mean squared standard error over the variance of ``D``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Points of the break-even curves kept for the chart and the JSON.
CURVE_POINTS = 101


@dataclass
class InputEffect:
    """What one uncertain input does to the verdict.

    Attributes
    ----------
    path : str
        Key path.
    variance_share : float
        First-order share of the across-world variance of the verdict's difference (0 to 1).
    break_even : float or None
        Value where the verdict (the scheme best on average) changes, inside the range the worlds
        cover; ``None`` when the best scheme stays best over the whole range.
    loses_when : str or None
        ``"above"`` or ``"below"`` the break-even the best scheme loses.
    winner_beyond : str or None
        The scheme that is best on the other side.
    crossings : list of float
        Every value where the best scheme changes (usually one).
    evppi : float
        Expected value of perfect information about this input (currency per year).
    low, high : float
        Range of the input's values across the worlds.
    curve_x : ndarray(float, (CURVE_POINTS,))
        Input values of the fitted curves.
    curves : dict of str to ndarray
        Per scheme, the fitted mean difference against the baseline at ``curve_x`` (the
        baseline's is zero).
    """

    path: str
    variance_share: float
    break_even: float | None
    loses_when: str | None
    winner_beyond: str | None
    crossings: list[float]
    evppi: float
    low: float
    high: float
    curve_x: Any = field(repr=False)
    curves: dict[str, Any] = field(repr=False)


@dataclass
class SchemeSummary:
    """One scheme across the plausible worlds.

    Attributes
    ----------
    scheme : str
    p_best : float
        Share of worlds in which it has the highest profit after bonuses.
    expected_profit : float
        Mean over worlds of its mean profit after bonuses (currency per year).
    diff_mean, diff_p5, diff_p50, diff_p95 : float
        Its difference against the baseline across worlds (NaN for the baseline).
    expected_regret : float
        Mean over worlds of the best scheme's profit minus its own.
    """

    scheme: str
    p_best: float
    expected_profit: float
    diff_mean: float
    diff_p5: float
    diff_p50: float
    diff_p95: float
    expected_regret: float


def scheme_summaries(nb: Any, schemes: list[str]) -> list[SchemeSummary]:
    """P(best), the difference against the baseline across worlds, and expected regret per scheme.

    Parameters
    ----------
    nb : ndarray(float, (W, S))
        Net benefit of each scheme in each world; column 0 is the baseline.
    schemes : list of str
        Names of the columns.

    Returns
    -------
    list of SchemeSummary
        In column order. Ties for the best in a world are shared equally.
    """
    nb = np.asarray(nb, dtype=float)
    top = nb.max(axis=1, keepdims=True)
    is_best = np.isclose(nb, top, rtol=0.0, atol=1e-9 * max(1.0, float(np.abs(nb).max())))
    p_best = (is_best / is_best.sum(axis=1, keepdims=True)).mean(axis=0)
    regret = (top - nb).mean(axis=0)
    out = []
    for j, name in enumerate(schemes):
        d = nb[:, j] - nb[:, 0]
        if j == 0:
            stats = (math.nan,) * 4
        else:
            p5, p50, p95 = np.percentile(d, [5, 50, 95])
            stats = (float(d.mean()), float(p5), float(p50), float(p95))
        out.append(SchemeSummary(name, float(p_best[j]), float(nb[:, j].mean()), *stats, float(regret[j])))
    return out


#: Smoothing penalties tried (on the input scaled to [0, 1]): from nearly interpolating to nearly a line.
LAMBDAS = np.logspace(-8.0, 1.0, 28)


def _aicc(rss: float, n: int, df: float) -> float:
    """Corrected AIC of a linear smoother (Hurvich, Simonoff & Tsai 1998, JRSS B 60(2), eq. 3)."""
    if n - df - 2.0 <= 0:
        return math.inf
    return math.log(max(rss, 1e-300) / n) + 1.0 + 2.0 * (df + 1.0) / (n - df - 2.0)


#: Level of the test that keeps an input's fitted effect (:func:`smoother`), for all the fits of an
#: analysis together: each fit is tested at this level divided by their number (Bonferroni).
EFFECT_LEVEL = 0.05


def smoother(x: Any, y: Any, level: float | None = None):
    """A smooth regression of ``y`` on ``x``, ``g(x) ≈ E[y | x]``: a callable ``g(x_new)``.

    Candidates: a constant, a straight line, and cubic smoothing splines
    (:func:`scipy.interpolate.make_smoothing_spline`) over a range of penalties; the one with the
    smallest corrected Akaike criterion (AICc; Hurvich, Simonoff & Tsai 1998, "Smoothing parameter
    selection in nonparametric regression using an improved Akaike information criterion", JRSS B
    60(2)) is kept. AICc, unlike generalised cross-validation, does not undersmooth with few
    points, so an input that does not matter gets a flat curve rather than one through the noise.
    Repeated values of ``x`` (whole-number inputs) are averaged, weighted by their count. Outside
    the data's range the curve is held at its end values (no extrapolation).

    With ``level``, a curve is kept only when it explains significantly more than the constant: an
    F test of the fit against the mean, with the fit's effective degrees of freedom (the trace of
    its hat matrix; Hastie & Tibshirani 1990, *Generalized Additive Models*, §3.9), at ``level``.
    AICc alone, applied to a dozen inputs on a few worlds, keeps a line through the noise for one
    of them often enough (8 worlds of a scenario whose fixed behaviour two inputs cannot change
    gave both a "break-even"); the test, at a level shared by all the analysis's fits, does not.

    Parameters
    ----------
    x, y : ndarray(float, (W,))
        The input's value and the output in each world.
    level : float, optional
        Significance level of the test against the constant (``None``: no test).

    Returns
    -------
    callable
        ``g(values) -> ndarray`` of the same shape.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(y)
    ux, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    uy = np.bincount(inverse, weights=y) / counts
    lo, hi = float(ux[0]), float(ux[-1])
    mean = float(y.mean())
    rss0 = float(((y - mean) ** 2).sum())
    constant = lambda v: np.full(np.shape(v), mean, dtype=float)  # noqa: E731
    best = (_aicc(rss0, n, 1.0), constant, rss0, 1.0)
    if len(ux) >= 3:
        slope, intercept = np.polyfit(ux, uy, 1, w=np.sqrt(counts))
        line = intercept + slope * ux
        rss = float(((y - line[inverse]) ** 2).sum())
        score = _aicc(rss, n, 2.0)
        if score < best[0]:
            best = (score, lambda v: intercept + slope * np.clip(np.asarray(v, dtype=float), lo, hi), rss, 2.0)
    if len(ux) >= 5:
        from scipy.interpolate import make_smoothing_spline

        xs = (ux - lo) / (hi - lo)
        eye = np.eye(len(ux))
        w = counts.astype(float)
        for lam in LAMBDAS:
            hat = make_smoothing_spline(xs, eye, w=w, lam=lam)(xs)  # the spline is linear in y
            fit = hat @ uy
            rss = float(((y - fit[inverse]) ** 2).sum())
            df = float(np.trace(hat))
            score = _aicc(rss, n, df)
            if score < best[0]:
                spline = make_smoothing_spline(xs, uy, w=w, lam=lam)
                best = (score, lambda v, s=spline: s((np.clip(np.asarray(v, dtype=float), lo, hi) - lo) / (hi - lo)),
                        rss, df)  # fmt: skip
    _, fit, rss, df = best
    if level is not None and fit is not constant and _p_value_against_constant(rss0, rss, n, df) > level:
        return constant
    return fit


def _p_value_against_constant(rss0: float, rss: float, n: int, df: float) -> float:
    """P-value of the F test of a linear smoother with ``df`` effective degrees of freedom (residual
    sum of squares ``rss``) against the mean (``rss0``), on ``n`` points."""
    from scipy.special import fdtrc

    d1, d2 = df - 1.0, n - df
    if d1 <= 0.0 or d2 <= 0.0:
        return 1.0
    if rss <= 0.0:
        return 0.0 if rss0 > 0.0 else 1.0
    f = ((rss0 - rss) / d1) / (rss / d2)
    return float(fdtrc(d1, d2, max(f, 0.0)))


def input_effect(
    x: Any, nb: Any, schemes: list[str], best: int, runner_up: int, path: str, level: float | None = None
) -> InputEffect:
    """Variance share, break-even and EVPPI of one input (see the module's docstring).

    Parameters
    ----------
    x : ndarray(float, (W,))
        The input's value in each world.
    nb : ndarray(float, (W, S))
        Net benefit per world and scheme; column 0 is the baseline.
    schemes : list of str
    best, runner_up : int
        Columns of the scheme best on average and of the second best (the verdict's difference
        is ``best - runner_up``).
    path : str
        The input's key path.
    level : float, optional
        Significance level of each scheme's fit (:func:`smoother`; the analysis passes
        :data:`EFFECT_LEVEL` over the number of fits): an effect that cannot be told from the
        noise is flat, with no break-even, no share of the variance and no value of information.

    Returns
    -------
    InputEffect
    """
    x = np.asarray(x, dtype=float)
    nb = np.asarray(nb, dtype=float)
    inb = nb - nb[:, :1]
    fits = [None] + [smoother(x, inb[:, j], level) for j in range(1, nb.shape[1])]

    def fitted(j: int, v: Any) -> Any:
        return np.zeros(np.shape(v)) if fits[j] is None else fits[j](v)

    at_worlds = np.column_stack([fitted(j, x) for j in range(nb.shape[1])])
    evppi = float(at_worlds.max(axis=1).mean() - at_worlds.mean(axis=0).max())
    d = nb[:, best] - nb[:, runner_up]
    var_d = float(d.var())
    g_d = at_worlds[:, best] - at_worlds[:, runner_up]
    share = float(np.clip(g_d.var() / var_d, 0.0, 1.0)) if var_d > 0 else 0.0
    lo, hi = float(x.min()), float(x.max())
    grid = np.linspace(lo, hi, CURVE_POINTS)
    curves = {name: fitted(j, grid) for j, name in enumerate(schemes)}
    crossings, loses_when, winner = _break_even(fits, lo, hi, best, schemes)
    return InputEffect(
        path=path, variance_share=share, break_even=crossings[0] if crossings else None, loses_when=loses_when,
        winner_beyond=winner, crossings=crossings, evppi=max(evppi, 0.0), low=lo, high=hi, curve_x=grid,
        curves=curves,
    )  # fmt: skip


def _break_even(fits: list, lo: float, hi: float, best: int, schemes: list[str]):
    """Values in [lo, hi] where the best scheme stops (or starts) being the argmax of the smoothers.

    Returns
    -------
    crossings : list of float
        Sorted.
    loses_when : str or None
        ``"above"`` / ``"below"`` the first crossing the best scheme loses; ``"between"`` when it
        loses only between two crossings.
    winner_beyond : str or None
        The scheme that is best where the best scheme loses (at the margin of the first crossing).
    """
    from scipy.optimize import brentq

    if hi <= lo:
        return [], None, None

    def fitted(j: int, v: Any) -> Any:
        return np.zeros(np.shape(v)) if fits[j] is None else fits[j](v)

    def margin(v: Any) -> Any:
        """Best scheme's fitted value minus the best other one's (> 0: it stays best)."""
        others = [fitted(j, v) for j in range(len(fits)) if j != best]
        return fitted(best, v) - np.max(np.stack(others), axis=0)

    grid = np.linspace(lo, hi, 801)
    m = margin(grid)
    crossings = []
    for i in range(len(grid) - 1):
        a, b = m[i], m[i + 1]
        if a == 0.0 and i > 0:
            continue
        if a * b < 0:
            crossings.append(float(brentq(lambda v: float(margin(np.array([v]))[0]), grid[i], grid[i + 1], xtol=1e-12)))
        elif b == 0.0 and 0 < i + 1 < len(grid) - 1 and m[i + 2] * a < 0:
            crossings.append(float(grid[i + 1]))
    if not crossings:
        return [], None, None
    first = crossings[0]
    if m[-1] < 0 and m[0] > 0:
        side = "above"
    elif m[0] < 0 and m[-1] > 0:
        side = "below"
    elif m[0] < 0 and m[-1] < 0:
        side = "outside"
    else:
        side = "between"
    probe = np.array([first + 1e-6 * (hi - lo) if side in ("above", "between") else first - 1e-6 * (hi - lo)])
    values = [float(fitted(j, probe)[0]) if j != best else -math.inf for j in range(len(fits))]
    return crossings, side, schemes[int(np.argmax(values))]


def noise_share(d: Any, half_widths: Any) -> float:
    """Share of the across-world variance of a difference that is simulation noise.

    Parameters
    ----------
    d : ndarray(float, (W,))
        The difference in each world.
    half_widths : ndarray(float, (W,))
        Its 95 % confidence half-width in each world (from the inner replications).
    """
    d = np.asarray(d, dtype=float)
    se2 = (np.asarray(half_widths, dtype=float) / 1.959963984540054) ** 2
    var = float(d.var())
    if var <= 0 or not np.isfinite(se2).all():
        return math.nan
    return float(np.clip(se2.mean() / var, 0.0, 1.0))
