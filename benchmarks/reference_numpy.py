"""A vectorised-numpy reference implementation of the funnel model, fixed behaviour.

The same model as :mod:`incentsim.funnel` and the numba kernel, written the way a careful
numpy user would: arrays over (replications x reps), a Python loop over weeks, numpy's
``Generator`` for the draws. It is what the kernel is compared with ("is numba worth it?") and, by
a distribution test, a second implementation of the model: the same stages and hazards,
conversions, the hand-off queue (genuine and non-genuine appointments, follow-up hazard, decay,
service-level age buckets, ignored share, recycling to leads), self-prospecting with the time
freed by ignored appointments, lognormal deal values, margin spread over 52 weeks, and pay
(components, periods, curves, true-up, ratchet) by year.

Fixed behaviour only (everyone at the fixed policy's effort, follow-up and quality, no deal
timing). Randomness: one ``numpy.random.Generator(PCG64)`` for the whole batch, so results are
the same *in distribution* as the kernel's, not draw for draw.

It reads the compiled arrays (:func:`incentsim.compile.compile_model` / ``compile_scheme`` /
``fixed_policy``), so it follows the scenario exactly as the kernel sees it.
"""

from __future__ import annotations

import numpy as np

from incentsim.compile import compile_model, compile_scheme, fixed_policy
from incentsim.scenario.schema import Scenario, Scheme

WEEKS = 52

#: Company metrics per replication-year returned by :func:`simulate_numpy` (kernel metric names).
FIELDS = (
    "revenue",
    "margin_in_year",
    "wins",
    "leads",
    "appointments",
    "genuine",
    "worked",
    "ignored",
    "cold",
    "self_appointments",
    "marketing_wins",
    "self_wins",
    "sourced",
    "bonus_sales",
    "bonus_marketing",
)


def _curve(sch, c: int, x: np.ndarray) -> np.ndarray:
    """Payout multiple of component ``c`` at attainments ``x`` (vectorised ``kernels.funnel._curve``)."""
    n = int(sch.curve_n[c])
    cx = sch.curve_x[c, :n]
    cy = sch.curve_y[c, :n]
    i = np.searchsorted(cx, x, side="right") - 1  # last point with cx <= x (-1: before the first)
    ic = np.clip(i, 0, n - 1)
    inext = np.minimum(ic + 1, n - 1)
    x0, x1 = cx[ic], cx[inext]
    y0, y1 = cy[ic], cy[inext]
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.where(x1 == x0, y1, y0 + (y1 - y0) * (x - x0) / np.where(x1 == x0, 1.0, x1 - x0))
    if sch.curve_extrapolate[c] == 1 and n >= 2 and cx[n - 1] > cx[n - 2]:
        slope = (cy[n - 1] - cy[n - 2]) / (cx[n - 1] - cx[n - 2])
        last = cy[n - 1] + slope * (x - cx[n - 1])
    else:
        last = np.full_like(x, cy[n - 1])
    y = np.where(i == n - 1, last, inner)
    y = np.where((x < sch.gate[c]) | (i < 0), 0.0, y)
    y = np.maximum(y, 0.0)
    return np.minimum(y, sch.cap[c])


def simulate_numpy(
    scenario: Scenario,
    scheme: str | Scheme,
    replications: int,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Simulate one scheme with fixed behaviour, vectorised over replications and reps.

    Parameters
    ----------
    scenario : Scenario
    scheme : str or Scheme
        The scheme (by name, or an object); its own hand-off levers apply, as in ``simulate``.
    replications : int
        Number of replications N.
    seed : int
        Seed of the ``numpy.random.Generator`` (PCG64) used for every draw.

    Returns
    -------
    dict of str to ndarray
        One ``(N, horizon_years)`` float array per name in :data:`FIELDS`.
    """
    if isinstance(scheme, str):
        scheme = scenario.scheme(scheme)
    if hasattr(scenario, "for_scheme"):
        scenario = scenario.for_scheme(scheme)
    model = compile_model(scenario)
    sch = compile_scheme(scenario, scheme)
    pol = fixed_policy(scenario)
    if pol.sales.choice.shape[3:6] != (1, 1, 1) or pol.any_timing:
        raise ValueError("the numpy reference implements the fixed policy only")
    gen = np.random.Generator(np.random.PCG64(seed))
    binom = gen.binomial
    poisson = gen.poisson

    N = int(replications)
    R = int(model.n_reps)
    Km = model.mkt_hazard.shape[0]
    Ks = model.sales_hazard.shape[0]
    C = int(sch.n_comp)
    NP = max(R, 1)
    burn = int(model.burn_in_years)
    H = int(model.horizon_years)
    init_queue = np.asarray(model.init_queue, dtype=np.float64)
    if init_queue.ndim == 1:  # before service-level age buckets: one bucket per kind
        init_queue = init_queue[:, None]
    A = init_queue.shape[1]
    sla = int(getattr(model, "sla", -1))
    genuine_mult = getattr(model, "genuine_mult", None)

    # Fixed policy: one action for everyone, every week.
    e_m = float(pol.marketing.choice[0, 0, 0, 0, 0, 0, 0])
    quality = scenario.marketing.quality
    vol_q = quality.volume(quality.baseline)
    gen_q = quality.conversion(quality.baseline) / model.conv_max
    effort = float(pol.sales.choice[0, 0, 0, 0, 0, 0, 0])
    work_p = (1.0 - model.ignored_share) * float(pol.sales.choice[0, 0, 0, 0, 0, 0, 1])
    p_mkt_last = min(1.0, model.mkt_conv[Km - 1] * vol_q)

    # Abilities, and the pipeline at its stationary distribution (as the kernel starts).
    u = gen.random((N, R))
    atype = np.searchsorted(model.ability_cum[:-1], u, side="right")
    ability = model.ability_levels[atype]  # (N, R)
    prod = ability * effort
    mult = prod**model.conv_elasticity
    p_sales = np.minimum(1.0, model.sales_conv[None, None, :] * mult[:, :, None])  # (N, R, Ks)
    p_first_mkt = np.minimum(1.0, model.sales_conv[0] * mult * model.conv_max)
    lam_self_base = model.self_appt_rate * prod
    lam_per_ignored = model.extra_appt_per_ignored * ability

    mstage = poisson(model.init_mkt, size=(N, Km))
    queue = poisson(init_queue, size=(N, R, 2, A))
    stage = poisson(model.init_sales[atype])  # (N, R, 2, Ks)
    ring = np.zeros((N, R, WEEKS))
    roll = np.zeros((N, R))
    recycled = np.zeros(N, dtype=np.int64)
    alloc_p = np.full(R, 1.0 / R)

    period_acc = np.zeros((C, N, NP))
    year_acc = np.zeros((C, N, NP))
    year_paid = np.zeros((C, N, NP))
    tscale = np.ones((C, N, NP))
    pay = np.zeros((N, NP + 1))  # reps, then one marketing person

    out = {f: np.zeros((N, H)) for f in FIELDS}
    ym = {f: np.zeros(N) for f in FIELDS}

    for t in range((burn + H) * WEEKS):
        y, w = divmod(t, WEEKS)
        rec = y >= burn
        if w == 0 and y == burn:
            tscale[:] = 1.0

        # Marketing: new leads, then its stages, last first.
        new_leads = poisson(model.lead_rate_week[w] * e_m, size=N)
        appts = np.zeros(N, dtype=np.int64)
        for k in range(Km - 1, -1, -1):
            leave = binom(mstage[:, k], model.mkt_hazard[k])
            p = p_mkt_last if k == Km - 1 else min(1.0, model.mkt_conv[k])
            adv = binom(leave, p)
            mstage[:, k] -= leave
            if k == Km - 1:
                appts = adv
            else:
                mstage[:, k + 1] += adv
        mstage[:, 0] += new_leads + recycled
        recycled = np.zeros(N, dtype=np.int64)

        # Hand-off: appointments split evenly among reps, genuine by quality (and levers).
        a_r = gen.multinomial(appts, alloc_p) if R > 1 else appts[:, None]
        pg = gen_q * (genuine_mult[t] if genuine_mult is not None else 1.0)
        g = binom(a_r, min(1.0, pg))
        queue[:, :, 0, 0] += g
        queue[:, :, 1, 0] += a_r - g

        # Follow-up queue by kind and age bucket.
        ign = np.zeros((N, R), dtype=np.int64)
        worked = None
        worked_total = np.zeros(N)
        cold_total = np.zeros(N)
        for kind in range(2):
            fol = np.zeros((N, R), dtype=np.int64)
            for age in range(A - 1, -1, -1):
                n = queue[:, :, kind, age].copy()
                queue[:, :, kind, age] = 0
                if sla >= 0 and age == A - 1:
                    fol += n  # the service level: everything still waiting is followed up now
                    continue
                f = binom(n, model.follow_hazard)
                n -= f
                fol += f
                cold = binom(n, model.decay)
                cold_total += cold.sum(axis=1)
                if A == 1:
                    queue[:, :, kind, 0] = n - cold
                else:
                    queue[:, :, kind, age + 1] += n - cold
            wk = binom(fol, work_p)
            ig = fol - wk
            recycled = recycled + binom(ig, model.recycle_share).sum(axis=1)
            if kind == 0:
                worked = wk
            worked_total += wk.sum(axis=1)
            ign += ig

        # Self-prospecting, with the time freed by ignored appointments.
        selfa = poisson(lam_self_base + ign * lam_per_ignored)

        # Sales stages, last first, per source (0 marketing, 1 self-prospected).
        won = [None, None]
        for src in range(2):
            for j in range(Ks - 1, -1, -1):
                leave = binom(stage[:, :, src, j], model.sales_hazard[j])
                p = p_first_mkt if (src == 0 and j == 0) else p_sales[:, :, j]
                adv = binom(leave, p)
                stage[:, :, src, j] -= leave
                if j == Ks - 1:
                    won[src] = adv
                else:
                    stage[:, :, src, j + 1] += adv
        stage[:, :, 0, 0] += worked
        stage[:, :, 1, 0] += selfa
        w0, w1 = won

        # Deal values: lognormal, summed per (replication, rep).
        def values(counts: np.ndarray) -> np.ndarray:
            flat = counts.ravel()
            total = int(flat.sum())
            v = gen.lognormal(model.value_mu, model.value_sigma, size=total)
            cell = np.repeat(np.arange(flat.size), flat)
            return np.bincount(cell, weights=v, minlength=flat.size).reshape(counts.shape)

        v0 = values(w0)
        v_rep = v0 + values(w1)
        sourced = v0.sum(axis=1)
        slot = t % WEEKS
        mg = roll / WEEKS
        roll += v_rep - ring[:, :, slot]
        ring[:, :, slot] = v_rep
        bk = v_rep
        wn = w0 + w1
        team_bk = v_rep.sum(axis=1)
        team_mg = mg.sum(axis=1)
        team_wn = wn.sum(axis=1)

        if rec:
            ym["revenue"] += team_bk
            ym["margin_in_year"] += team_mg
            ym["wins"] += team_wn
            ym["leads"] += new_leads
            ym["appointments"] += appts
            ym["genuine"] += g.sum(axis=1)
            ym["worked"] += worked_total
            ym["ignored"] += ign.sum(axis=1)
            ym["cold"] += cold_total
            ym["self_appointments"] += selfa.sum(axis=1)
            ym["marketing_wins"] += w0.sum(axis=1)
            ym["self_wins"] += w1.sum(axis=1)
            ym["sourced"] += sourced

        # Pay: accumulate measures, pay at period ends, true-up and ratchet at year end.
        for c in range(C):
            sales_role = sch.role[c] == 1
            n_pers = R if sales_role else 1
            code = int(sch.measure[c])
            v = (
                appts[:, None].astype(float),
                sourced[:, None],
                bk,
                team_bk[:, None],
                mg,
                team_mg[:, None],
                wn.astype(float),
                team_wn[:, None].astype(float),
            )[code]
            v = np.broadcast_to(v[:, :n_pers] if v.shape[1] > 1 else v, (N, n_pers))
            period_acc[c, :, :n_pers] += v
            year_acc[c, :, :n_pers] += v
            cols = slice(0, n_pers) if sales_role else slice(NP, NP + 1)
            if sch.week_end[c, w] == 1:
                k = sch.week_period[c, w]
                scale = tscale[c, :, :n_pers]
                att = period_acc[c, :, :n_pers] / (sch.target[c, :n_pers, k] * scale)
                money = sch.bonus[c, :n_pers, k] * (scale if sch.bonus_scales_with_target[c] == 1 else 1.0)
                paid = money * _curve(sch, c, att)
                year_paid[c, :, :n_pers] += paid
                period_acc[c, :, :n_pers] = 0.0
                if rec:
                    pay[:, cols] += paid
            if w == WEEKS - 1:
                scale = tscale[c, :, :n_pers]
                att = year_acc[c, :, :n_pers] / (sch.annual_target[c, :n_pers] * scale)
                if sch.true_up[c] == 1 and rec:
                    money = sch.annual_bonus[c, :n_pers] * (scale if sch.bonus_scales_with_target[c] == 1 else 1.0)
                    extra = money * _curve(sch, c, att) - year_paid[c, :, :n_pers]
                    pay[:, cols] += np.maximum(extra, 0.0)
                if rec and (sch.ratchet_up[c] > 0.0 or sch.ratchet_down[c] > 0.0):
                    up = scale * (1.0 + sch.ratchet_up[c] * (att - 1.0))
                    down = scale * (1.0 - sch.ratchet_down[c] * (1.0 - att))
                    tscale[c, :, :n_pers] = np.where(att >= 1.0, up, down)
                year_acc[c, :, :n_pers] = 0.0
                year_paid[c, :, :n_pers] = 0.0

        if w == WEEKS - 1:
            if rec:
                yi = y - burn
                ym["bonus_sales"] = pay[:, :R].sum(axis=1)
                ym["bonus_marketing"] = pay[:, NP] * model.mkt_headcount
                for f in FIELDS:
                    out[f][:, yi] = ym[f]
            for f in FIELDS:
                ym[f] = np.zeros(N)
            pay[:] = 0.0
    return out


def kernel_fields(results) -> dict[str, np.ndarray]:
    """The same figures from a kernel run (``incentsim.results.Results``), as ``(N, horizon)`` arrays."""
    from incentsim.kernels import layout as L

    yr = results.year
    return {
        "revenue": yr[:, :, L.Y_REVENUE],
        "margin_in_year": yr[:, :, L.Y_MARGIN],
        "wins": yr[:, :, L.Y_WINS],
        "leads": yr[:, :, L.Y_LEADS],
        "appointments": yr[:, :, L.Y_APPOINTMENTS],
        "genuine": yr[:, :, L.Y_GENUINE],
        "worked": yr[:, :, L.Y_WORKED],
        "ignored": yr[:, :, L.Y_IGNORED],
        "cold": yr[:, :, L.Y_COLD],
        "self_appointments": yr[:, :, L.Y_SELF_APPTS],
        "marketing_wins": yr[:, :, L.Y_MKT_WINS],
        "self_wins": yr[:, :, L.Y_SELF_WINS],
        "sourced": yr[:, :, L.Y_SOURCED],
        "bonus_sales": yr[:, :, L.Y_BONUS_SALES],
        "bonus_marketing": yr[:, :, L.Y_BONUS_MKT],
    }


def compare_distributions(
    kernel: dict[str, np.ndarray], reference: dict[str, np.ndarray], fields=FIELDS, var_tol: float = 0.15
) -> dict[str, dict[str, float]]:
    """Means and variances of each figure: kernel vs reference, on independent samples.

    Parameters
    ----------
    kernel, reference : dict of str to ndarray
        Per-replication-year figures (any shape; flattened).
    fields : sequence of str
        Figures to compare.
    var_tol : float
        Allowed relative difference of the variances (``|var_k / var_r - 1| <= var_tol``).

    Returns
    -------
    dict
        Per figure: ``mean_kernel``, ``mean_reference``, ``z`` (difference of means in standard
        errors of the difference), ``var_ratio`` and ``ok`` (``|z| < 4`` and the variance ratio
        within ``var_tol``; a figure constant in both is ok when the constants agree).
    """
    rows = {}
    for f in fields:
        a = np.asarray(kernel[f], dtype=float).ravel()
        b = np.asarray(reference[f], dtype=float).ravel()
        va, vb = a.var(ddof=1), b.var(ddof=1)
        se = np.sqrt(va / a.size + vb / b.size)
        diff = a.mean() - b.mean()
        if se == 0.0:
            z = 0.0 if diff == 0.0 else np.inf
            ratio = 1.0
        else:
            z = diff / se
            ratio = va / vb if vb > 0 else np.inf
        rows[f] = {
            "mean_kernel": float(a.mean()),
            "mean_reference": float(b.mean()),
            "z": float(z),
            "var_ratio": float(ratio),
            "ok": bool(abs(z) < 4.0 and abs(ratio - 1.0) <= var_tol),
        }
    return rows
