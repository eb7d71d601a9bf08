"""A plain-Python reference implementation of the simulation, for equivalence tests.

It follows the model of ``incentsim.funnel`` step by step with Python lists and dicts, in
the same order of random draws as the kernel (same streams, same samplers), but with its own
bookkeeping: per-deal margin schedules instead of a rolling sum, payouts computed from stored
weekly measures with ``schema.curve_value``, attainment from totals. On a tiny scenario the
kernel must give identical results.
"""

from __future__ import annotations

import numpy as np

from incentsim.calendar import WEEK_MONTH
from incentsim.compile import compile_model, fixed_policy
from incentsim.kernels import rng
from incentsim.kernels.rng import (
    N_PURPOSES,
    PURPOSE_ABILITY,
    PURPOSE_ALLOCATION,
    PURPOSE_ARRIVALS,
    PURPOSE_CONVERSIONS,
    PURPOSE_TIMING,
    PURPOSE_VALUES,
)
from incentsim.pay import resolved_targets
from incentsim.scenario.schema import PERIODS, Curve, Scenario

W = 52


def _curve_ref(curve, x):
    return curve_value(curve, x)


def reference_run(scenario: Scenario, scheme_name: str, replications: int, seed: int) -> list[dict]:
    """Simulate with fixed behaviour; one dict per replication-year of the main figures.

    The follow-up queue is one pool (no service level: waiting is memoryless).
    """
    model = compile_model(scenario)
    pol = fixed_policy(scenario)
    scheme = scenario.schemes[scheme_name]
    targets = resolved_targets(scenario, scheme)
    R = scenario.sales.reps
    mstages = scenario.funnel.marketing_stages
    sstages = scenario.funnel.sales_stages
    root = rng.root_words(seed)
    prefix = rng.key_words(())
    del pol  # the fixed policy: normal effort, full follow-up, today's quality focus
    q = scenario.marketing.quality
    vol_q = q.volume(q.baseline)
    gen_q = q.conversion(q.baseline) / model.conv_max
    comps = []
    for role in ("marketing", "sales"):
        plan = scheme.plan(role)
        if plan is None:
            continue
        for i, c in enumerate(plan.components):
            comps.append((role, i, plan, c))
    rows = []
    for rep in range(replications):
        st = np.empty(((R + 1) * N_PURPOSES, 4), np.uint64)
        for agent in range(R + 1):
            for purpose in range(N_PURPOSES):
                rng._stream_states(
                    root,
                    prefix,
                    rep,
                    purpose,
                    agent,
                    st[agent * N_PURPOSES + purpose : agent * N_PURPOSES + purpose + 1],
                )

        def S(agent, purpose):
            return agent * N_PURPOSES + purpose

        def binom(s, n, p):
            return int(rng._draw_one(3, st, s, float(n), float(p)))

        def pois(s, lam):
            return int(rng._draw_one(2, st, s, float(lam), 0.0))

        def unif(s):
            return float(rng._uniform(st, s))

        def leave_advance(s, n, h, p):
            """A stage's week, drawn exactly as the kernel does (one uniform per item when few)."""
            if n <= 8 and 0.0 < h < 1.0 and 0.0 < p < 1.0:
                leave = adv = 0
                for _ in range(n):
                    u = unif(s)
                    if u < h * p:
                        adv += 1
                        leave += 1
                    elif u < h:
                        leave += 1
                return leave, adv
            leave = binom(s, n, h)
            return leave, binom(s, leave, p)

        def value(s):
            return rng._draw_one(4, st, s, float(model.value_mu), float(model.value_sigma))

        ability = []
        for _ in range(R):
            u = unif(S(0, PURPOSE_ABILITY))
            k = 0
            while k < len(model.ability_cum) - 1 and u >= model.ability_cum[k]:
                k += 1
            ability.append(k)
        leads_stock = [pois(S(0, PURPOSE_ARRIVALS), m) for m in model.init_mkt]
        queue, pipe = [], []
        for r in range(R):
            queue.append([sum(pois(S(r + 1, PURPOSE_ARRIVALS), m) for m in model.init_queue[kind]) for kind in (0, 1)])
            pipe.append(
                [
                    [
                        pois(S(r + 1, PURPOSE_ARRIVALS), model.init_sales[ability[r], src, j])
                        for j in range(len(sstages))
                    ]
                    for src in range(2)
                ]
            )
        recycled = 0
        # Each deal: (rep, week booked, value, source) -> margin over weeks booked+1 .. booked+52.
        deals = []
        weekly = []  # per week: dict of measures
        n_weeks = (scenario.simulation.burn_in_years + scenario.simulation.horizon_years) * W
        for t in range(n_weeks):
            w = t % W
            lead_new = pois(S(0, PURPOSE_ARRIVALS), model.lead_rate_week[w] * 1.0)
            appts = 0
            for k in reversed(range(len(mstages))):
                n = leads_stock[k]
                if n == 0:
                    continue
                p = mstages[k].conversion * (vol_q if k == len(mstages) - 1 else 1.0)
                leave, adv = leave_advance(S(0, PURPOSE_CONVERSIONS), n, 1.0 / mstages[k].dwell_weeks, min(1.0, p))
                leads_stock[k] -= leave
                if k == len(mstages) - 1:
                    appts = adv
                else:
                    leads_stock[k + 1] += adv
            leads_stock[0] += lead_new + recycled
            recycled = 0
            p_gen = min(1.0, gen_q * model.genuine_mult[t])
            for _ in range(appts):
                # rep = floor(u R); genuine when the fractional part of u R is below the share
                ur = unif(S(0, PURPOSE_ALLOCATION)) * R
                r = min(int(ur), R - 1)
                queue[r][0 if ur - r < p_gen else 1] += 1
            booked = [0.0] * R
            nbooked = [0] * R
            sourced = 0.0
            for r in range(R):
                mult = model.ability_levels[ability[r]] ** model.conv_elasticity
                ignored = 0
                worked = 0
                for kind in (0, 1):
                    n = queue[r][kind]
                    queue[r][kind] = 0
                    if n == 0:
                        continue
                    h, d, w, rs = model.follow_hazard, model.decay, 1.0 - model.ignored_share, model.recycle_share
                    if n <= 8:  # one uniform per appointment: worked / ignored (recycled?) / cold / waits
                        wk = ig = wait = 0
                        for _ in range(n):
                            u = unif(S(r + 1, PURPOSE_CONVERSIONS))
                            if u < h * w:
                                wk += 1
                            elif u < h:
                                ig += 1
                                recycled += int((u - h * w) < (h - h * w) * rs)
                            elif u >= h + (1 - h) * d:
                                wait += 1
                    else:
                        fol = binom(S(r + 1, PURPOSE_CONVERSIONS), n, h)
                        cold = binom(S(r + 1, PURPOSE_CONVERSIONS), n - fol, d)
                        wk = binom(S(r + 1, PURPOSE_CONVERSIONS), fol, w)
                        ig = fol - wk
                        recycled += binom(S(r + 1, PURPOSE_CONVERSIONS), ig, rs)
                        wait = n - fol - cold
                    queue[r][kind] = wait
                    ignored += ig
                    if kind == 0:
                        worked = wk  # only genuine appointments enter the pipeline
                a_r = model.ability_levels[ability[r]]
                lam = (
                    model.self_appt_rate * a_r
                    + ignored * scenario.sales.calls_per_followup * scenario.sales.call_to_appointment * a_r
                )
                selfa = pois(S(r + 1, PURPOSE_ARRIVALS), lam)
                wins = [0, 0]
                for src in range(2):
                    for j in reversed(range(len(sstages))):
                        n = pipe[r][src][j]
                        if n == 0:
                            continue
                        p = sstages[j].conversion * mult * (model.conv_max if src == 0 and j == 0 else 1.0)
                        leave, adv = leave_advance(
                            S(r + 1, PURPOSE_CONVERSIONS), n, 1.0 / sstages[j].dwell_weeks, min(1.0, p)
                        )
                        pipe[r][src][j] -= leave
                        if j == len(sstages) - 1:
                            wins[src] += adv
                        else:
                            pipe[r][src][j + 1] += adv
                pipe[r][0][0] += worked
                pipe[r][1][0] += selfa
                for src in range(2):
                    for _ in range(wins[src]):
                        v = value(S(r + 1, PURPOSE_VALUES))
                        deals.append((r, t, v, src))
                        booked[r] += v
                        if src == 0:
                            sourced += v
                nbooked[r] = wins[0] + wins[1]
            weekly.append({"appts": appts, "booked": booked, "nbooked": nbooked, "sourced": sourced, "leads": lead_new})
        _ = PURPOSE_TIMING  # no deal timing under the fixed policy

        # Margin recognised per rep per week: each deal's value / 52 in the 52 weeks after booking.
        margin = np.zeros((n_weeks, R))
        for r, t0, v, _src in deals:
            for t in range(t0 + 1, min(n_weeks, t0 + 53)):
                margin[t, r] += v / W

        def measure(name, t, p):
            wk = weekly[t]
            if name == "appointments":
                return float(wk["appts"])
            if name == "sourced_bookings":
                return wk["sourced"]
            if name == "own_bookings":
                return wk["booked"][p]
            if name == "team_bookings":
                return sum(wk["booked"])
            if name == "own_margin":
                return margin[t, p]
            if name == "team_margin":
                return float(margin[t].sum())
            if name == "own_wins":
                return float(wk["nbooked"][p])
            return float(sum(wk["nbooked"]))

        burn = scenario.simulation.burn_in_years
        for y in range(burn, burn + scenario.simulation.horizon_years):
            weeks = range(y * W, (y + 1) * W)
            pay_rep = [0.0] * R
            pay_mkt = 0.0
            for role, i, plan, c in comps:
                n_p = PERIODS[c.period]
                months_per = 12 // n_p
                persons = R if role == "sales" else 1
                for p in range(persons):
                    annual_t = targets[(role, i)][p] * _ability_factor(scenario, c, ability[p] if role == "sales" else 0)
                    money = (
                        (c.commission_rate * annual_t)
                        if c.commission_rate is not None
                        else plan.bonus_at_target * c.weight
                    )
                    paid = 0.0
                    for k in range(n_p):
                        in_period = [t for t in weeks if WEEK_MONTH[t % W] // months_per == k]
                        total = sum(measure(c.measure, t, p) for t in in_period)
                        att = total / (annual_t * c.phasing[k])
                        paid += money * c.phasing[k] * _curve_ref(c.curve, att)
                    if c.true_up:
                        year_total = sum(measure(c.measure, t, p) for t in weeks)
                        extra = money * _curve_ref(c.curve, year_total / annual_t) - paid
                        paid += max(0.0, extra)
                    if role == "sales":
                        pay_rep[p] += paid
                    else:
                        pay_mkt += paid
            wins = sum(sum(weekly[t]["nbooked"]) for t in weeks)
            rows.append(
                {
                    "revenue": sum(sum(weekly[t]["booked"]) for t in weeks),
                    "margin_in_year": float(margin[y * W : (y + 1) * W].sum()),
                    "wins": float(wins),
                    "appointments": float(sum(weekly[t]["appts"] for t in weeks)),
                    "leads": float(sum(weekly[t]["leads"] for t in weeks)),
                    "bonus_sales": sum(pay_rep),
                    "bonus_marketing": pay_mkt * scenario.marketing.headcount,
                    "pay_rep": pay_rep,
                }
            )
    return rows


def _ability_factor(scenario: Scenario, c, level: int) -> float:
    """Quotas by ability: the rep's level's expected wins over the average rep's (1 otherwise)."""
    if c.target_by != "ability":
        return 1.0
    from incentsim.funnel import steady_state

    ss = steady_state(scenario)
    return ss.wins_per_rep_by_level[level] / ss.wins_per_rep


# -- the payout curve, written out independently of incentsim.pay (the oracle of the kernel tests) --


def curve_value(curve: Curve, x: float) -> float:
    """Plain-Python evaluation of a payout curve (the oracle the njit rule of incentsim.pay is tested against)."""
    y = max(0.0, _curve_raw(curve, x))  # a falling extrapolated segment never pays negative
    return y if curve.cap is None else min(y, curve.cap)


def _curve_raw(curve: Curve, x: float) -> float:
    if x < curve.gate:
        return 0.0
    pts = curve.points
    if x < pts[0][0]:
        return 0.0
    # Last index whose x <= attainment (right-continuous steps).
    i = 0
    for j in range(len(pts)):
        if pts[j][0] <= x:
            i = j
    if i == len(pts) - 1:
        if curve.extrapolate and len(pts) >= 2 and pts[-1][0] > pts[-2][0]:
            slope = (pts[-1][1] - pts[-2][1]) / (pts[-1][0] - pts[-2][0])
            return pts[-1][1] + slope * (x - pts[-1][0])
        return pts[-1][1]
    x0, y0 = pts[i]
    x1, y1 = pts[i + 1]
    if x1 == x0:
        return y1
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
