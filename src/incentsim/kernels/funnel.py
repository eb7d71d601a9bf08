"""The simulation kernel: weekly funnel flow, choices, deal timing and pay
(docs/model/funnel.md, "The week in the kernel"; docs/model/index.md, "Randomness").

Private, ``@njit(cache=True)``; arrays and scalars in, preallocated output arrays out. One call
simulates replications ``first_rep .. first_rep + n - 1`` (global indices: the seed of a
replication depends only on its index, so chunking and thread count never change results).
The caller runs slices of replications in threads; every replication writes only its own rows, and
nothing is summed across replications here (sums across threads are not bit-stable; the caller
reduces).

Layout: the caller allocates a thread's working arrays once (:func:`work_arrays`, in numpy: the
:class:`Funnel`, :class:`Week`, :class:`Pay`, :class:`Choice` and :class:`Year` tuples), and
:func:`_simulate` runs the replications one after another: each starts the arrays afresh
(:func:`_reset`), seeds its streams, draws its reps' abilities and starting pipeline, and runs
its weeks, each as the funnel's stages in order (``_choices``, ``_team_lift``,
``_marketing_stages``, ``_hand_off``, ``_follow_up``, ``_self_prospect``, ``_pass_prospects``,
``_sales_stages``, ``_deals``, ``_record_week``, ``_pay_week``, ``_write_year``; the model page's
"The week in the kernel"). The stages are inlined (``kernels.jit.stage``) into :func:`_simulate`,
which allocates nothing and keeps no reference counts (``_nrt=False``, as ``kernels.jit.helper``):
named stages cost nothing against one long loop body (``python -m benchmarks.kernel_ab``). The
replication loop is written in :func:`_simulate` itself: as a function of its own, the replication
was optimised by LLVM twice, in its own module and again inside ``_simulate``'s (about 9 s of a
first run's compile).

See :mod:`incentsim.funnel` for the model the kernel implements, step by step, and its
closed-form steady state.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .jit import helper, inlined, stage
from .layout import (
    EFFORT_STEP,
    N_EFFORT,
    N_Y,
    P_ATTAIN,
    P_BOOKINGS,
    P_CAPPED,
    P_EFFORT,
    P_EFFORT_Q1,
    P_HELP_LIFT,
    P_PAY,
    P_TEAM_TIME,
    P_WINS,
    P_ZERO,
    TIMING_HOLD,
    TIMING_HOLD_EXCESS,
    TIMING_NONE,
    TIMING_PULL,
    WEEKS,
    Y_APPOINTMENTS,
    Y_BONUS_MKT,
    Y_BONUS_SALES,
    Y_COLD,
    Y_DISCOUNT,
    Y_GENUINE,
    Y_HELD,
    Y_HELD_LOST,
    Y_HELPED,
    Y_HELPED_WON,
    Y_IGNORED,
    Y_LEADS,
    Y_MARGIN,
    Y_MKT_EFFORT,
    Y_MKT_WINS,
    Y_PASSED,
    Y_PULLED,
    Y_QUALITY,
    Y_REVENUE,
    Y_SALES_EFFORT,
    Y_SELF_APPTS,
    Y_SELF_WINS,
    Y_SOURCED,
    Y_TEAM_TIME,
    Y_WINS,
    Y_WORKED,
)
from .pay import _curve_at, _ratchet_scale, _true_up_extra
from .rng import (
    N_PURPOSES,
    PURPOSE_ABILITY,
    PURPOSE_ALLOCATION,
    PURPOSE_ARRIVALS,
    PURPOSE_CONVERSIONS,
    PURPOSE_TIMING,
    PURPOSE_VALUES,
    _below,
    _binomial,
    _keep,
    _leave_advance,
    _lognormal,
    _poisson,
    _poisson_small_exp,
    _seed_stream_into,
    _step,
    _top53,
    _uniform,
    _unit,
    _words,
)

#: A quote counts as helped when colleagues' help removes at least this share of its miss chance.
HELPED = 0.01


@inlined
def _curve(sch, c, x):
    """Payout multiple of component ``c`` at attainment ``x`` (the rule: :mod:`incentsim.pay`)."""
    return _curve_at(
        x, sch.curve_x[c], sch.curve_y[c], sch.curve_n[c], sch.curve_extrapolate[c], sch.gate[c], sch.cap[c]
    )


@inlined
def _period_money(sch, c, p, k, scale):
    """Money component ``c`` pays person ``p`` at 100 % in period ``k`` under target scale ``scale``
    (an explicit commission's money moves with its target; the rule: :mod:`incentsim.pay`)."""
    money = sch.bonus[c, p, k]
    if sch.bonus_scales_with_target[c] == 1:
        money *= scale
    return money


@inlined
def _through(q, q0, at_zero, at_one):
    """Piecewise-linear multiplier through (0, at_zero), (q0, 1), (1, at_one) (``schema.Quality``)."""
    if q <= q0:
        return at_zero + (1.0 - at_zero) * (q / q0) if q0 > 0 else 1.0
    return 1.0 + (at_one - 1.0) * (q - q0) / (1.0 - q0) if q0 < 1 else 1.0


@inlined
def _sales_pipeline(land_sales, hold_loss, stage, held, k, r, steps, source):
    """Deals rep ``r`` (ability level ``k``) expects to close within ``steps`` weekly steps from
    its open pipeline at normal effort (source 0: marketing's appointments, 1: self-prospected,
    2: both; held deals close in the next period's first week). ``land_sales``: ``model.land_sales``."""
    top = land_sales.shape[3] - 1
    if steps > top:
        steps = top
    tot = 0.0
    for src in range(2):
        if source != 2 and src != source:
            continue
        for j in range(stage.shape[2]):
            n = stage[r, src, j]
            if n > 0:
                tot += n * land_sales[k, src, j, steps]
        tot += held[r, src] * (1.0 - hold_loss)
    return tot


@inlined
def _own_pipelines(land_sales, hold_loss, stage, held, atype, steps, own, own_steps):
    """Each rep's expected deals from its whole pipeline within ``steps`` weekly steps into
    ``own`` (:func:`_sales_pipeline`, both sources), unless ``own`` already holds them for
    ``steps`` (``own_steps[0]``): persons' own measures and team measures over the same horizon
    read the same figures, computed once a week."""
    if own_steps[0] != steps:
        for r in range(stage.shape[0]):
            own[r] = _sales_pipeline(land_sales, hold_loss, stage, held, atype[r], r, steps, 2)
        own_steps[0] = steps


@helper
def _margin_ahead(ring, land_sales, stage, k, r, w, left, unit):
    """Margin rep ``r`` (ability level ``k``) expects the period to recognise in its remaining
    ``left + 1`` weeks: from bookings already made (each recognised 1/52 a week in the 52 weeks
    after it: one booked ``age`` weeks ago has ``53 - age`` to go; ``ring`` holds them by week) and
    from its pipeline's deals booked before the period ends (each recognised from the week after its
    booking, ``unit`` each: with ``L(s)`` the chance to be won within ``s`` weekly steps, the period
    gets ``sum_{s=1..left} L(s) / 52`` of it). The solver's state for a margin measure is the same:
    past output recognised in the period (``model.lags.margin_lag``)."""
    steps = left + 1
    booked = 0.0
    for age in range(1, WEEKS + 1):
        v = ring[r, (w - age) % WEEKS]
        if v != 0.0:
            rest = WEEKS + 1 - age
            booked += v * (rest if rest < steps else steps)
    top = land_sales.shape[3] - 1
    pipe = 0.0
    for src in range(2):
        for j in range(stage.shape[2]):
            n = stage[r, src, j]
            if n > 0:
                acc = 0.0
                for s in range(1, left + 1):
                    acc += land_sales[k, src, j, s if s < top else top]
                pipe += n * acc
    return (booked + pipe * unit) / WEEKS


@helper
def _sourced_ahead(land_sales, hold_loss, land_queue, land_lead, stage, held, atype, queue, mstage, follow, work_base,
                   steps):  # fmt: skip
    """Deals marketing's appointments are expected to bring within ``steps`` weekly steps: those in
    reps' sales stages (and held back), the genuine ones waiting for follow-up, and those the leads in
    marketing's stages will become (handed over to each rep in turn), each worked by its rep's
    follow-up share of last week (``follow``) times ``work_base``. What the solver counts as
    marketing's sourced output (``model.lags.sourced_lag``: the marketing stages, the follow-up
    wait, the sales stages); the kernel counted only the deals already in the sales stages, and
    read a quarter's head start as 0.45 of target where the solver's was 0.70."""
    R = stage.shape[0]
    top = land_queue.shape[1] - 1
    s = steps if steps < top else top
    deals = 0.0
    lead = 0.0
    for r in range(R):
        k = atype[r]
        deals += _sales_pipeline(land_sales, hold_loss, stage, held, k, r, steps, 0)
        work = work_base * follow[r]
        waiting = 0.0
        for age in range(queue.shape[2]):
            waiting += queue[r, 0, age]
        deals += work * waiting * land_queue[k, s]
        for j in range(mstage.shape[0]):
            if mstage[j] > 0:
                lead += work * mstage[j] * land_lead[k, j, s]
    return deals + lead / R


@inlined
def _forecast_axis(
    ap, a, n_persons, w, land_sales, hold_loss, land_mkt, land_queue, land_lead, weeks_left, stage, held, atype,
    mstage, queue, follow, work_base, ring, ahead, own, own_steps,
):  # fmt: skip
    """What each person's measure on state axis ``a`` is expected to gain before its period (or
    year) ends: ``ahead[a, p]`` for persons ``0 .. n_persons - 1``, from the pipeline at the week's
    start. Persons see their own pipeline; team measures see everyone's (computed once a week, as
    every choice of the week is made from the same state; each rep's pipeline once per horizon in
    ``own``, see :func:`_own_pipelines`)."""
    c = ap.axis_comp[a]
    if ap.axis_year[a] == 1:
        left = WEEKS - 1 - w
    else:
        left = weeks_left[c, w]
    src = ap.axis_source[a]
    R = stage.shape[0]
    if ap.axis_margin[a] == 1:
        # (It was the run rate of the last 52 weeks, roll x (left + 1) / 52: every booking as if it
        # had the whole period to go, and the pipeline's none; for a yearly margin step, 100 % of
        # target at the year's start where the solver's state said 58 %.)
        unit = ap.axis_unit[a]
        if src == 0:
            for p in range(n_persons):
                ahead[a, p] = _margin_ahead(ring, land_sales, stage, atype[p], p, w, left, unit)
        else:
            tot = 0.0
            for r in range(R):
                tot += _margin_ahead(ring, land_sales, stage, atype[r], r, w, left, unit)
            for p in range(n_persons):
                ahead[a, p] = tot
        return
    if src == 0:
        _own_pipelines(land_sales, hold_loss, stage, held, atype, left + 1, own, own_steps)
        for p in range(n_persons):
            ahead[a, p] = own[p] * ap.axis_unit[a]
        return
    deals = 0.0
    if src == 1:
        _own_pipelines(land_sales, hold_loss, stage, held, atype, left + 1, own, own_steps)
        for r in range(R):
            deals += own[r]
    elif src == 3:
        deals = _sourced_ahead(
            land_sales, hold_loss, land_queue, land_lead, stage, held, atype, queue, mstage, follow, work_base, left + 1
        )
    else:
        top = land_mkt.shape[1] - 1
        steps = left + 1 if left + 1 < top else top
        for j in range(mstage.shape[0]):
            deals += mstage[j] * land_mkt[j, steps]
    for p in range(n_persons):
        ahead[a, p] = deals * ap.axis_unit[a]


@inlined
def _axis_attainment(ap, a, p, w, annual_target, target_of, week_period, period_acc, year_acc, tscale, ahead):
    """Attainment of state axis ``a`` of person ``p``: the component's measure so far in its period
    (or year) plus what the pipeline is expected to add before the period ends (``ahead``, from
    :func:`_forecast_axis`), over the (ratcheted) target."""
    c = ap.axis_comp[a]
    if ap.axis_year[a] == 1:
        acc = year_acc[c, p]
        target = annual_target[c, p]
    else:
        acc = period_acc[c, p]
        target = target_of[c, p, week_period[c, w]]
    return (acc + ahead[a, p]) / (target * tscale[c, p])


@inlined
def _grid_coordinates(ap, g, k, w, p, annual_target, target, week_period, period_acc, year_acc, tscale, ahead):
    """Where person ``p``'s state lies on its policy's measure axes: each axis' attainment
    (:func:`_axis_attainment`) in grid steps (0 .. G - 1 over ``0 .. grid_max``), written over the
    person's forecasts in ``ahead[:, p]`` (read once, by the attainment). Axes the policy does not
    use are left alone."""
    for a in range(2):
        G = ap.choice.shape[3 + a]
        if G > 1:
            x = _axis_attainment(ap, a, p, w, annual_target, target, week_period, period_acc, year_acc, tscale, ahead)
            ahead[a, p] = x / ap.grid_max[g, k, a] * (G - 1)


@inlined
def _scale_bracket(scales, r):
    """The two solved target scales around ``r`` (``scales``, ascending, at least two): the lower
    one's index and the weight of the upper one, linear in log scale; beyond the ends, the end
    policy."""
    n = scales.shape[0]
    if r <= scales[0]:
        return 0, 0.0
    if r >= scales[n - 1]:
        return n - 2, 1.0
    j = 0
    while scales[j + 1] <= r:
        j += 1
    return j, np.log(r / scales[j]) / np.log(scales[j + 1] / scales[j])


@inlined
def _choose(ap, g, k, w, p, year_paid, coords):
    """A person's expected choice at the week's start from its grid coordinates (``coords[:, p]``,
    :func:`_grid_coordinates`): (first, second, third, timing): effort; the follow-up share (sales)
    or quality focus (marketing); the share of the week spent on the team (sales). Linear between
    the grid points of the measure axes, nearest on the paid axis."""
    G0 = ap.choice.shape[3]
    G1 = ap.choice.shape[4]
    L = ap.choice.shape[5]
    i0 = 0
    f0 = 0.0
    i1 = 0
    f1 = 0.0
    if G0 > 1:
        y = coords[0, p]
        if y >= G0 - 1:
            i0 = G0 - 1
        elif y > 0.0:
            i0 = int(y)
            f0 = y - i0
    if G1 > 1:
        y = coords[1, p]
        if y >= G1 - 1:
            i1 = G1 - 1
        elif y > 0.0:
            i1 = int(y)
            f1 = y - i1
    li = 0
    if L > 1:
        paid = 0.0
        for c in range(ap.paid_comp.shape[0]):
            if ap.paid_comp[c] == 1:
                paid += year_paid[c, p]
        li = int(paid / ap.paid_money[g, k] + 0.5)
        if li > L - 1:
            li = L - 1
    first = 0.0
    second = 0.0
    third = 0.0
    cw = ap.choice[g, k, w]  # this person's week: (G0, G1, L, 3)
    for d0 in range(2):
        w0 = f0 if d0 == 1 else 1.0 - f0
        if w0 == 0.0:
            continue
        for d1 in range(2):
            w1 = f1 if d1 == 1 else 1.0 - f1
            if w1 == 0.0:
                continue
            first += w0 * w1 * cw[i0 + d0, i1 + d1, li, 0]
            second += w0 * w1 * cw[i0 + d0, i1 + d1, li, 1]
            third += w0 * w1 * cw[i0 + d0, i1 + d1, li, 2]
    t0 = i0 + 1 if f0 >= 0.5 else i0
    t1 = i1 + 1 if f1 >= 0.5 else i1
    return first, second, third, ap.timing[g, k, w, t0, t1, li]


@helper
def _raises_pay(sch, ct, p, w, period_acc, tscale, booked_value, booked_count, v):
    """Whether one more deal of value ``v`` this week raises person ``p``'s pay of the period, given
    what the person has already booked this week: the rule a rep holding back the deals above a
    cap or a plateau follows.

    The pay is that of every component on the state axis of component ``ct`` (the components of
    ``sch.axis_group[ct]``: one measure and period), summed: the payout whose flat stretches the
    policy solver's hold-the-excess timing is chosen on (:func:`incentsim.kernels.dp._timing`).
    One component's curve alone held back deals that still raised another's (a step above a cap).
    """
    g = sch.axis_group[ct]
    gain = 0.0
    money_at_target = 0.0
    for c in range(sch.n_comp):
        if c != ct and (g < 0 or sch.axis_group[c] != g):
            continue
        counts = sch.counts[c] == 1
        base = booked_count if counts else booked_value
        inc = 1.0 if counts else v
        k = sch.week_period[c, w]
        scale = tscale[c, p]
        target = sch.target[c, p, k] * scale
        money = _period_money(sch, c, p, k, scale)
        before = _curve(sch, c, (period_acc[c, p] + base) / target)
        after = _curve(sch, c, (period_acc[c, p] + base + inc) / target)
        gain += money * (after - before)
        money_at_target += money
    return gain > 1e-12 * money_at_target


@helper
def _start_scales(sch, atype, tscale):
    """Each person's target scale at the start: 1, or a rep's ability level's (targets by ability)."""
    for c in range(tscale.shape[0]):
        for p in range(tscale.shape[1]):
            tscale[c, p] = sch.target_scale[c, atype[p]] if sch.role[c] == 1 and p < atype.shape[0] else 1.0


@helper
def _measure(code, p, appts, sourced, bk, mg, wn, team_bk, team_mg, team_wn):
    """This week's value of measure ``code`` for person ``p`` (codes follow MEASURES order)."""
    if code == 0:
        return float(appts)
    if code == 1:
        return sourced
    if code == 2:
        return bk[p]
    if code == 3:
        return team_bk
    if code == 4:
        return mg[p]
    if code == 5:
        return team_mg
    if code == 6:
        return float(wn[p])
    return float(team_wn)


@inlined
def _follow_items(s0, s1, s2, s3, n, n_first, h, decay, work, recycle):
    """One uniform per waiting appointment (``n`` of them, the first ``n_first`` of the first kind)
    sorts it into the five outcomes of :func:`_followup` (the position of ``u`` inside an outcome's
    interval is itself uniform, so it also decides recycling), stepping the stream's words
    ``s0 .. s3`` in registers.

    Returns
    -------
    (worked, worked_first, ignored, recycled, done, done_first, s0, s1, s2, s3)
        ``done``: worked, ignored or gone cold (what no longer waits); ``*_first``: of the first
        ``n_first``.
    """
    p_work = h * work
    p_fol = h
    p_cold = h + (1.0 - h) * decay
    below_work = _below(p_work)
    below_fol = _below(p_fol)
    below_cold = _below(p_cold)
    recycle_span = (p_fol - p_work) * recycle
    wk = wk_first = ig = rc = done = done_first = 0
    for i in range(n):
        x, s0, s1, s2, s3 = _step(s0, s1, s2, s3)
        m = _top53(x)
        # Counted without branches (as in rng._leave_advance; ``&``, not ``and``, which would
        # branch on each item's coin toss): p_work <= p_fol <= p_cold.
        first = i < n_first
        worked = m < below_work  # u < p_work
        followed = m < below_fol
        gone = m < below_cold
        ignored = followed & (not worked)
        wk += worked
        wk_first += worked & first
        ig += ignored
        rc += ignored & ((_unit(x) - p_work) < recycle_span)
        done += gone
        done_first += gone & first
    return wk, wk_first, ig, rc, done, done_first, s0, s1, s2, s3


@inlined
def _follow_hazard(model, age, A):
    """The chance that an appointment waiting in age bucket ``age`` (of ``A``) is followed up this
    week: under a service level, certain in the oldest bucket."""
    return 1.0 if model.sla >= 0 and age == A - 1 else model.follow_hazard


@helper
def _followup(states, s, n, h, decay, work, recycle):
    """One week for ``n`` waiting appointments: followed up (hazard ``h``) and worked (``work``)
    or ignored (and then recycled to marketing with ``recycle``), else gone cold (``decay``),
    else still waiting. Up to 8 appointments, one uniform each (:func:`_follow_items`), else
    four binomials.

    Returns
    -------
    (worked, ignored, recycled, cold, waiting) : tuple of int
    """
    if n <= 8:
        s0, s1, s2, s3 = _words(states, s)
        wk, _, ig, rc, done, _, s0, s1, s2, s3 = _follow_items(s0, s1, s2, s3, n, n, h, decay, work, recycle)
        _keep(states, s, s0, s1, s2, s3)
        return wk, ig, rc, done - wk - ig, n - done
    fol = _binomial(states, s, n, h)
    rest = n - fol
    cold = _binomial(states, s, rest, decay)
    wk = _binomial(states, s, fol, work)
    ig = fol - wk
    rc = _binomial(states, s, ig, recycle)
    return wk, ig, rc, cold, rest - cold


@helper
def _snapshot(out_pipe, i, yi, slot, booked, mstage, queue, stage, held):
    """Write one pipeline snapshot (``layout.pipeline_fields``) into ``out_pipe[i, yi, slot]``."""
    R = queue.shape[0]
    A = queue.shape[2]
    f = 0
    out_pipe[i, yi, slot, f] = booked
    f += 1
    for kk in range(mstage.shape[0]):
        out_pipe[i, yi, slot, f] = mstage[kk]
        f += 1
    for kind in range(2):
        tot = 0
        for r in range(R):
            for age in range(A):
                tot += queue[r, kind, age]
        out_pipe[i, yi, slot, f] = tot
        f += 1
    for src in range(2):
        for j in range(stage.shape[2]):
            tot = 0
            for r in range(R):
                tot += stage[r, src, j]
            out_pipe[i, yi, slot, f] = tot
            f += 1
    tot = 0
    for r in range(R):
        tot += held[r, 0] + held[r, 1]
    out_pipe[i, yi, slot, f] = tot


class Funnel(NamedTuple):
    """A replication's pipeline, carried from week to week (R reps, Km marketing stages, Ks sales
    stages, A age buckets of the follow-up queue; counts int64, money float64)."""

    mstage: np.ndarray  # (Km,) leads in each marketing stage
    queue: np.ndarray  # (R, 2, A) appointments waiting for follow-up: genuine / not, by weeks waited
    stage: np.ndarray  # (R, 2, Ks) prospects in each sales stage by source (0 marketing's, 1 self-prospected)
    held: np.ndarray  # (R, 2) deals held back into the next period, by source
    held_val: np.ndarray  # (R, 2) float64, their value
    ring: np.ndarray  # (R, 52) float64, bookings of the last 52 weeks (margin is recognised over a year)
    roll: np.ndarray  # (R,) float64, sum of ``ring`` per rep
    incoming: np.ndarray  # (R, 2) prospects passed to each rep this week, by source
    flags: np.ndarray  # (2,) int64: appointments recycled to marketing this week; 1 once any deal was held


class Week(NamedTuple):
    """What each rep does and achieves in the week (``(R,)`` unless noted; rewritten every week)."""

    effort: np.ndarray  # float64, expected effort chosen (before quantising)
    act: np.ndarray  # effort quantum (index into the action tables)
    follow: np.ndarray  # float64, share of handed-over appointments followed up
    team: np.ndarray  # float64, share of the week spent on the team (helping, events)
    timing: np.ndarray  # deal timing at the period's ends (``TIMING_*``)
    lift: np.ndarray  # float64, lift of the rep's quote conversion from colleagues' help
    worked: np.ndarray  # handed-over appointments worked (after passing)
    ignored: np.ndarray  # handed-over appointments ignored
    selfa: np.ndarray  # self-prospected appointments (after passing)
    won: np.ndarray  # (R, 2) deals won in the last sales stage, by source
    booked: np.ndarray  # float64, value booked
    margin: np.ndarray  # float64, margin recognised
    wins: np.ndarray  # deals booked
    totals: np.ndarray  # (N_Y,) float64, the company's week in the ``Y_*`` layout


class Pay(NamedTuple):
    """Where each person stands on each pay component (C components, NP persons per role)."""

    period_acc: np.ndarray  # (C, NP) measure so far in the current period
    year_acc: np.ndarray  # (C, NP) measure so far in the year
    year_paid: np.ndarray  # (C, NP) paid so far in the year
    tscale: np.ndarray  # (C, NP) target scale (ratchets, targets by ability)


class Choice(NamedTuple):
    """Marketing's choice of the week and the choice state's pipeline forecasts (:func:`_forecast_axis`)."""

    mkt: np.ndarray  # (3, 1) marketing's effort, quality focus, (unused) team time
    mkt_level: np.ndarray  # (1,) int64 marketing's ability level (one level; one person chooses for the team)
    mkt_timing: np.ndarray  # (1,) int64 (unused)
    ahead_sales: np.ndarray  # (2, NP) forecast of each state axis per rep, then its grid coordinate
    ahead_mkt: np.ndarray  # (2, 1) the same for marketing
    own: np.ndarray  # (NP,) each rep's expected deals from its pipeline within own_steps[0] weekly steps
    own_steps: np.ndarray  # (1,) int64 the steps ``own`` holds (-1: none yet this week)
    row: np.ndarray  # (NP,) int64 each person's row of its policy in this reading (:func:`_choose_roles`)
    blend: np.ndarray  # (3, NP) a person's forecasts before its first reading, and the second one's weight


class Year(NamedTuple):
    """The replication-year being recorded, written out at year end."""

    company: np.ndarray  # (N_Y,) float64 in the ``Y_*`` layout
    month_bk: np.ndarray  # (12,) bookings by month
    person: np.ndarray  # (R + 1, N_P) per rep, marketing last, in the ``P_*`` layout


@helper
def _seed_streams(root, prefix, rep, n_reps, states, ent, pool):
    """Seed the replication's streams into ``states``: row ``agent * N_PURPOSES + purpose``, agent 0
    the company and marketing, 1..R the reps (model page, "Randomness")."""
    for agent in range(n_reps + 1):
        for purpose in range(N_PURPOSES):
            # The company draws abilities, leads and allocations; reps draw arrivals, conversions,
            # deal values and timing: seed only the streams that are used.
            if agent == 0 and (purpose == PURPOSE_VALUES or purpose == PURPOSE_TIMING):
                continue
            if agent > 0 and (purpose == PURPOSE_ABILITY or purpose == PURPOSE_ALLOCATION):
                continue
            _seed_stream_into(root, prefix, rep, purpose, agent, states, agent * N_PURPOSES + purpose, ent, pool)


@helper
def _draw_abilities(states, model, sch, atype, pass_to):
    """Each rep's ability level for the whole replication (``atype``), and the colleague each rep
    passes prospects to (``pass_to``, -1: none): the strongest colleague, when the scheme makes
    passing pay (the colleague's chance to win beyond the scheme's threshold times one's own)."""
    R = atype.shape[0]
    K = model.ability_levels.shape[0]
    for r in range(R):
        u = _uniform(states, np.int64(PURPOSE_ABILITY))
        k = 0
        while k < K - 1 and u >= model.ability_cum[k]:
            k += 1
        atype[r] = k
    for r in range(R):
        pass_to[r] = -1
    if model.passing > 0.0 and R > 1:
        for r in range(R):
            best = -1
            for c in range(R):
                if c != r and (best < 0 or model.ability_levels[atype[c]] > model.ability_levels[atype[best]]):
                    best = c
            if model.close_rate[atype[best]] > sch.pass_threshold * model.close_rate[atype[r]]:
                pass_to[r] = best


@helper
def _start_pipeline(states, model, atype, fn):
    """The pipeline at its stationary distribution (Poisson stocks at normal effort), so that the
    burn-in does not start from an empty funnel."""
    s_arr0 = np.int64(PURPOSE_ARRIVALS)
    for kk in range(fn.mstage.shape[0]):
        fn.mstage[kk] = _poisson(states, s_arr0, model.init_mkt[kk])
    A = fn.queue.shape[2]
    for r in range(atype.shape[0]):
        s_arr = (r + 1) * N_PURPOSES + PURPOSE_ARRIVALS
        for kind in range(2):
            for age in range(A):
                fn.queue[r, kind, age] = _poisson(states, s_arr, model.init_queue[kind, age])
        for src in range(2):
            for j in range(fn.stage.shape[2]):
                fn.stage[r, src, j] = _poisson(states, s_arr, model.init_sales[atype[r], src, j])


@helper
def _choose_role(
    ap, n_persons, levels, ahead, first, second, third, timing, w, land_sales, hold_loss, land_mkt, land_queue,
    land_lead, weeks_left, annual_target, target, week_period, stage, held, atype, mstage, queue, follow, work_base,
    ring, period_acc, year_acc, year_paid, tscale, own, own_steps, row, blend,
):  # fmt: skip
    """One role's choices of the week (policy ``ap``; ``n_persons`` persons at ability ``levels``)
    into ``first``, ``second``, ``third`` and ``timing``, after the pipeline forecasts behind each
    measure axis of its state (:func:`_forecast_axis`, into ``ahead``)."""
    for a in range(2):
        if ap.choice.shape[3 + a] > 1:  # a measure axis the policy uses
            _forecast_axis(
                ap, a, n_persons, w, land_sales, hold_loss, land_mkt, land_queue, land_lead, weeks_left, stage,
                held, atype, mstage, queue, follow, work_base, ring, ahead, own, own_steps,
            )  # fmt: skip
    NS = ap.scales.shape[0]
    # One reading of the policy per person, at the person's level; where a ratchet has moved a
    # person's target (NS > 1), two: the policies solved at the two target scales around the
    # person's, blended (the timing of the nearer). Each reading computes everyone's grid
    # coordinates first, then everyone's choices: each person's coordinates end in two
    # dependent divisions, and the table reads wait for them; in separate loops the processor
    # works on several persons' divisions (and reads) at once. (One call site of each: numba
    # compiles an inlined function once per site, and the second reading's own sites cost the
    # kernel's first compile about 2 s.)
    for side in range(1 if NS == 1 else 2):
        for p in range(n_persons):
            if NS > 1:
                if side == 0:
                    j, f = _scale_bracket(ap.scales, tscale[ap.scale_comp[0], p] / ap.base_scale[levels[p]])
                    row[p] = levels[p] * NS + j
                    blend[0, p] = ahead[0, p]  # (the forecasts: the coordinates overwrite them)
                    blend[1, p] = ahead[1, p]
                    blend[2, p] = f
                else:
                    if blend[2, p] == 0.0:
                        continue
                    row[p] += 1
                    ahead[0, p] = blend[0, p]
                    ahead[1, p] = blend[1, p]
            else:
                row[p] = levels[p]
            _grid_coordinates(
                ap, ap.group[p], row[p], w, p, annual_target, target, week_period, period_acc, year_acc, tscale,
                ahead,
            )  # fmt: skip
        for p in range(n_persons):
            if side == 1 and blend[2, p] == 0.0:
                continue
            e, s2, t3, tm = _choose(ap, ap.group[p], row[p], w, p, year_paid, ahead)
            if side == 0:
                first[p], second[p], third[p], timing[p] = e, s2, t3, tm
            else:
                f = blend[2, p]
                first[p] = (1.0 - f) * first[p] + f * e
                second[p] = (1.0 - f) * second[p] + f * s2
                third[p] = (1.0 - f) * third[p] + f * t3
                if f >= 0.5:
                    timing[p] = tm


@helper
def _choose_roles(
    pol_sales, pol_mkt, w, land_sales, hold_loss, land_mkt, land_queue, land_lead, weeks_left, annual_target, target,
    week_period, stage, held, atype, mstage, queue, work_base, ring, period_acc, year_acc, year_paid, tscale, own,
    own_steps, mkt_level, ahead_mkt, mkt,
    mkt_timing, ahead_sales, effort, follow, team, timing_sales, row, blend,
):  # fmt: skip
    """Marketing's and sales' choices of the week (:func:`_choose_role`; every choice of the week is
    made from the same state, so the forecasts are computed once a week). Marketing's into ``mkt``
    (``(3, 1)``: effort, quality focus, unused) and ``mkt_timing``; sales' into ``effort``,
    ``follow``, ``team`` and ``timing_sales`` (each ``(R,)``). ``row`` and ``blend`` are working space
    (:class:`Choice`).

    One call a week (a call copies its arguments; with the forecasts and choices as eight calls a
    week the kernel was up to 17 % slower per replication), and in it one call per role. The roles
    were one loop body whose policy switched from marketing's to sales' (``ap = pol_mkt if role ==
    0 else pol_sales``): that variable held all of a policy's fields (11 arrays of up to 7
    dimensions), which the compiler kept on the stack and copied at each switch. As two calls of
    :func:`_choose_role` each reads the fields it needs: 2-3 % less per replication
    (``benchmarks.kernel_ab``; the kernel's compile the same within the host's noise)."""
    own_steps[0] = -1  # the pipeline moved since last week
    # (marketing first: a forecast it computes into ``own`` is sales' too)
    _choose_role(
        pol_mkt, mkt_level.shape[0], mkt_level, ahead_mkt, mkt[0], mkt[1], mkt[2], mkt_timing, w, land_sales,
        hold_loss, land_mkt, land_queue, land_lead, weeks_left, annual_target, target, week_period, stage, held, atype,
        mstage, queue, follow, work_base, ring, period_acc, year_acc, year_paid, tscale, own, own_steps, row, blend,
    )  # fmt: skip
    _choose_role(
        pol_sales, atype.shape[0], atype, ahead_sales, effort, follow, team, timing_sales, w, land_sales, hold_loss,
        land_mkt, land_queue, land_lead, weeks_left, annual_target, target, week_period, stage, held, atype, mstage,
        queue, follow, work_base, ring, period_acc, year_acc, year_paid, tscale, own, own_steps, row, blend,
    )  # fmt: skip


@helper
def _same_every_week(ap):
    """Whether a role's policy chooses the same whatever its state and the week (the fixed policy,
    or an unpaid role): one reading of the policy at a replication's start then holds for all its
    weeks. Checked once per kernel call (a few hundred comparisons)."""
    if ap.choice.shape[3] * ap.choice.shape[4] * ap.choice.shape[5] != 1 or ap.scales.shape[0] != 1:
        return False
    for g in range(ap.choice.shape[0]):
        for k in range(ap.choice.shape[1]):
            for w in range(1, ap.choice.shape[2]):
                if ap.timing[g, k, w, 0, 0, 0] != ap.timing[g, k, 0, 0, 0, 0]:
                    return False
                for c in range(3):
                    if ap.choice[g, k, w, 0, 0, 0, c] != ap.choice[g, k, 0, 0, 0, 0, c]:
                        return False
    return True


@stage
def _choices(model, sch, pol_sales, pol_mkt, w, atype, fn, pay, ch, wk):
    """Everyone's choices at the week's start, from their state (the policies, read by
    :func:`_choose_roles`): sales' effort (quantised to the action tables), follow-up share, team
    time and deal timing into ``wk``; marketing's effort and quality focus into ``ch.mkt``."""
    _choose_roles(
        pol_sales, pol_mkt, w, model.land_sales, model.hold_loss, model.land_mkt, model.land_queue, model.land_lead,
        sch.weeks_left, sch.annual_target, sch.target, sch.week_period, fn.stage, fn.held, atype, fn.mstage, fn.queue,
        1.0 - model.ignored_share, fn.ring, pay.period_acc, pay.year_acc, pay.year_paid, pay.tscale, ch.own,
        ch.own_steps, ch.mkt_level, ch.ahead_mkt, ch.mkt, ch.mkt_timing, ch.ahead_sales, wk.effort, wk.follow,
        wk.team, wk.timing, ch.row, ch.blend,
    )  # fmt: skip
    for r in range(atype.shape[0]):
        ei = int(wk.effort[r] / EFFORT_STEP + 0.5)
        if ei > N_EFFORT - 1:
            ei = N_EFFORT - 1
        wk.act[r] = ei


@stage
def _team_lift(model, atype, team, lift):
    """Team work: each rep's lift of quote conversion from colleagues' help (into ``lift``), and
    the lift of the genuine share from sales at marketing's events (returned, a multiplier).

    A rep's help is worth ability^2 (knowledge), goes to colleagues by need (their chance to lose
    a quote), and lifts a quote's chance to close with diminishing returns.
    """
    R = atype.shape[0]
    events = 0.0
    need_total = 0.0
    for r in range(R):
        need_total += model.need[atype[r]]
    for r in range(R):
        lift[r] = 0.0
    for j in range(R):
        a = model.ability_levels[atype[j]]
        events += team[j] * model.event_share * a
        help_j = team[j] * (1.0 - model.event_share) * a * a
        rest = need_total - model.need[atype[j]]
        if help_j > 0.0 and rest > 0.0:
            for r in range(R):
                if r != j:
                    lift[r] += help_j * model.need[atype[r]] / rest
    # No help received (none is given under pay for one's own results) is no lift, exactly as the
    # formula gives it (exp(0) = 1), without an exponential per rep and week.
    for r in range(R):
        if model.help_scale > 0 and lift[r] > 0.0:
            lift[r] = model.help_gain * (1.0 - np.exp(-lift[r] / model.help_scale))
        else:
            lift[r] = 0.0
    if model.event_gain > 0.0 and model.event_scale > 0.0 and events > 0.0:
        return 1.0 + model.event_gain * (1.0 - np.exp(-events / model.event_scale))
    return 1.0


@stage
def _marketing_stages(states, model, w, e_m, vol_q, fn):
    """New leads (the week's lead rate times marketing's effort) and a week of the marketing
    stages, last first; appointments recycled last week rejoin the first stage.

    Returns
    -------
    (new_leads, appointments) : tuple of int
        Appointments are those handed over to sales this week.
    """
    s_arr0 = np.int64(PURPOSE_ARRIVALS)
    s_conv0 = np.int64(PURPOSE_CONVERSIONS)
    mstage = fn.mstage
    Km = mstage.shape[0]
    new_leads = _poisson(states, s_arr0, model.lead_rate_week[w] * e_m)
    appts = 0
    for kk in range(Km - 1, -1, -1):
        n = mstage[kk]
        if n == 0:
            continue
        p = model.mkt_conv[kk]
        if kk == Km - 1:
            p *= vol_q
        leave, adv = _leave_advance(states, s_conv0, n, model.mkt_hazard[kk], min(1.0, p))
        mstage[kk] -= leave
        if kk == Km - 1:
            appts = adv
        else:
            mstage[kk + 1] += adv
    mstage[0] += new_leads + fn.flags[0]
    fn.flags[0] = 0
    return new_leads, appts


@stage
def _hand_off(states, appts, p_gen, queue):
    """Split the week's appointments among reps (equal shares), each genuine with chance ``p_gen``,
    into the first age bucket of ``queue``. One uniform does both (floor(u R) picks the rep; the
    fractional part of u R is an independent uniform). Returns the number of genuine ones."""
    s_alloc = np.int64(PURPOSE_ALLOCATION)
    R = queue.shape[0]
    genuine = 0
    s0, s1, s2, s3 = _words(states, s_alloc)
    for _ in range(appts):
        x, s0, s1, s2, s3 = _step(s0, s1, s2, s3)
        ur = _unit(x) * R
        r = int(ur)
        if r >= R:
            r = R - 1
        g = ur - r < p_gen  # genuine: the first kind (without a branch, as in rng._leave_advance)
        queue[r, 1 - g, 0] += 1
        genuine += g
    _keep(states, s_alloc, s0, s1, s2, s3)
    return genuine


@stage
def _follow_up(states, model, fn, wk):
    """Each rep's week of follow-up of handed-over appointments (genuine ones, then the others:
    sales cannot tell them apart before the visit, so both take time; only genuine ones convert).

    Fills ``wk.worked`` (genuine ones worked) and ``wk.ignored``; ignored ones recycled to marketing
    are counted in ``fn.flags[0]``; the week's worked, ignored and gone-cold totals go to
    ``wk.totals``. Under a service level, what still waits in the oldest bucket is followed up.
    """
    queue = fn.queue
    R = queue.shape[0]
    A = queue.shape[2]
    work_base = 1.0 - model.ignored_share
    worked_total = 0
    ignored_total = 0
    cold_total = 0
    recycled = 0
    for r in range(R):
        s_conv = (r + 1) * N_PURPOSES + PURPOSE_CONVERSIONS
        work_p = work_base * wk.follow[r]
        n0 = queue[r, 0, 0]
        n1 = queue[r, 1, 0]
        if A == 1 and n0 <= 8 and n1 <= 8:
            # The usual week: one bucket of each kind, both small: their appointments in one loop,
            # the genuine ones first (the same uniforms, in the same order, as a loop per kind).
            s0, s1, s2, s3 = _words(states, s_conv)
            wkd, worked, ign, rc, done, done0, s0, s1, s2, s3 = _follow_items(
                s0, s1, s2, s3, n0 + n1, n0, _follow_hazard(model, 0, A), model.decay, work_p, model.recycle_share
            )
            _keep(states, s_conv, s0, s1, s2, s3)
            queue[r, 0, 0] = n0 - done0
            queue[r, 1, 0] = n1 - (done - done0)
            worked_total += wkd
            recycled += rc
            cold_total += done - wkd - ign
            ignored_total += ign
            wk.worked[r] = worked
            wk.ignored[r] = ign
            continue
        worked = 0
        ign = 0
        for kind in range(2):
            for age in range(A - 1, -1, -1):
                n = queue[r, kind, age]
                if n == 0:
                    continue
                queue[r, kind, age] = 0
                wkd, ig, rc, cold, wait = _followup(
                    states, s_conv, n, _follow_hazard(model, age, A), model.decay, work_p, model.recycle_share
                )
                if kind == 0:
                    worked += wkd
                worked_total += wkd
                ign += ig
                recycled += rc
                cold_total += cold
                if A == 1:
                    queue[r, kind, 0] = wait
                else:
                    queue[r, kind, age + 1] += wait
        ignored_total += ign
        wk.worked[r] = worked
        wk.ignored[r] = ign
    fn.flags[0] += recycled
    wk.totals[Y_WORKED] = worked_total
    wk.totals[Y_IGNORED] = ignored_total
    wk.totals[Y_COLD] = cold_total


@stage
def _self_prospect(states, model, tab, atype, wk):
    """Each rep's self-prospected appointments (``wk.selfa``): its own prospecting at its effort,
    plus cold calls in the time freed by ignored appointments, less the time spent on the team."""
    self_total = 0
    for r in range(atype.shape[0]):
        s_arr = (r + 1) * N_PURPOSES + PURPOSE_ARRIVALS
        ak = atype[r]
        ar = wk.act[r]
        ign = wk.ignored[r]
        if ign == 0 and tab.self_rate[ak, ar] < 10.0 and wk.team[r] == 0.0:
            selfa = _poisson_small_exp(states, s_arr, tab.self_rate[ak, ar], tab.self_exp[ak, ar])
        else:
            lam_self = tab.self_rate[ak, ar] + ign * model.extra_appt_per_ignored * model.ability_levels[ak]
            selfa = _poisson(states, s_arr, lam_self * (1.0 - wk.team[r]))
        self_total += selfa
        wk.selfa[r] = selfa
    wk.totals[Y_SELF_APPTS] = self_total


@stage
def _pass_prospects(states, model, pass_to, fn, wk):
    """Prospects each rep passes to its stronger colleague (when the scheme makes that pay); they
    join the colleague's first stage after everyone's week (``fn.incoming``)."""
    s_alloc = np.int64(PURPOSE_ALLOCATION)
    passed_total = 0
    for r in range(pass_to.shape[0]):
        if pass_to[r] >= 0:
            pw = _binomial(states, s_alloc, wk.worked[r], model.passing)
            ps = _binomial(states, s_alloc, wk.selfa[r], model.passing)
            wk.worked[r] -= pw
            wk.selfa[r] -= ps
            fn.incoming[pass_to[r], 0] += pw
            fn.incoming[pass_to[r], 1] += ps
            passed_total += pw + ps
    wk.totals[Y_PASSED] = passed_total


@stage
def _sales_stages(states, model, tab, atype, fn, wk):
    """A week of each rep's sales stages, last first, per source (0: marketing's, 1: self-prospected):
    deals won in the last stage go to ``wk.won``, and the week's worked and self-prospected
    appointments enter the first stage. Colleagues' help (``wk.lift``) lifts the last stage."""
    stage = fn.stage
    Ks = stage.shape[2]
    helped_total = 0
    helped_won = 0
    for r in range(atype.shape[0]):
        s_conv = (r + 1) * N_PURPOSES + PURPOSE_CONVERSIONS
        ak = atype[r]
        ar = wk.act[r]
        lift_r = wk.lift[r]
        w0 = 0
        w1 = 0
        for src in range(2):
            for j in range(Ks - 1, -1, -1):
                n = stage[r, src, j]
                if n == 0:
                    continue
                p_adv = tab.conv[ak, ar, src, j]
                helped = j == Ks - 1 and lift_r >= HELPED
                if j == Ks - 1 and lift_r > 0.0:
                    p_adv += (1.0 - p_adv) * lift_r
                leave, adv = _leave_advance(states, s_conv, n, model.sales_hazard[j], p_adv)
                if helped:
                    helped_total += leave
                    helped_won += adv
                stage[r, src, j] -= leave
                if j == Ks - 1:
                    if src == 0:
                        w0 += adv
                    else:
                        w1 += adv
                else:
                    stage[r, src, j + 1] += adv
        stage[r, 0, 0] += wk.worked[r]
        stage[r, 1, 0] += wk.selfa[r]
        wk.won[r, 0] = w0
        wk.won[r, 1] = w1
    wk.totals[Y_HELPED] = helped_total
    wk.totals[Y_HELPED_WON] = helped_won


@stage
def _deals(states, model, sch, tab, atype, t, w, first_week, last_week, ct, pay, fn, wk):
    """Each rep's deals of the week, booked: deal timing at the ends of sales' first state axis
    (component ``ct``): in a period's first week deals held back are released (each lost with
    ``hold_loss``); in its last week deals are held back (all, or those that would not raise this
    period's pay on that axis: :func:`_raises_pay`) or quotes about to close are pulled in at a
    discount. Values are drawn at closing; margin is recognised evenly over the 52 weeks after
    booking. Fills ``wk.booked``, ``wk.margin``, ``wk.wins`` and the week's deal totals."""
    Ks = fn.stage.shape[2]
    stage = fn.stage
    held = fn.held
    held_val = fn.held_val
    totals = wk.totals
    sourced = 0.0
    discount_total = 0.0
    mkt_wins = 0
    self_wins = 0
    pulled_total = 0
    held_total = 0
    held_lost_total = 0
    slot = t % WEEKS
    for r in range(atype.shape[0]):
        base = (r + 1) * N_PURPOSES
        s_val = base + PURPOSE_VALUES
        s_tim = base + PURPOSE_TIMING
        ak = atype[r]
        ar = wk.act[r]
        pulled0 = 0
        pulled1 = 0
        hold_mode = TIMING_NONE
        v_rep = 0.0
        released0 = 0
        released1 = 0
        if first_week:
            for src in range(2):
                h = held[r, src]
                if h > 0:
                    lost = _binomial(states, s_tim, h, model.hold_loss)
                    held_lost_total += lost
                    v = held_val[r, src] * (h - lost) / h
                    v_rep += v
                    if src == 0:
                        sourced += v
                        released0 = h - lost
                    else:
                        released1 = h - lost
                    held[r, src] = 0
                    held_val[r, src] = 0.0
        if last_week:
            tim = wk.timing[r]
            if tim == TIMING_HOLD or tim == TIMING_HOLD_EXCESS:
                hold_mode = tim
            elif tim == TIMING_PULL:
                # Quotes that would be won within pull_weeks close now, at a discount.
                last = Ks - 1
                p_last = tab.conv[ak, ar, 1, last]
                p0 = tab.conv[ak, ar, 0, last]
                reach = 1.0 - (1.0 - model.sales_hazard[last]) ** model.pull_weeks
                pulled0 = _binomial(states, s_tim, stage[r, 0, last], reach * p0)
                pulled1 = _binomial(states, s_tim, stage[r, 1, last], reach * p_last)
                stage[r, 0, last] -= pulled0
                stage[r, 1, last] -= pulled1
                pulled_total += pulled0 + pulled1
        n0 = 0
        n1 = 0
        for src in range(2):
            for _ in range(wk.won[r, src]):
                v = _lognormal(states, s_val, model.value_mu, model.value_sigma)
                keep = hold_mode == TIMING_NONE
                if hold_mode == TIMING_HOLD_EXCESS:
                    done = n0 + n1 + released0 + released1
                    keep = _raises_pay(sch, ct, r, w, pay.period_acc, pay.tscale, v_rep, done, v)
                if keep:
                    v_rep += v
                    if src == 0:
                        sourced += v
                        n0 += 1
                    else:
                        n1 += 1
                else:
                    held[r, src] += 1
                    held_val[r, src] += v
                    held_total += 1
                    fn.flags[1] = 1
        for _ in range(pulled0):
            v = _lognormal(states, s_val, model.value_mu, model.value_sigma)
            discount_total += v * model.pull_discount
            v *= 1.0 - model.pull_discount
            v_rep += v
            sourced += v
        for _ in range(pulled1):
            v = _lognormal(states, s_val, model.value_mu, model.value_sigma)
            discount_total += v * model.pull_discount
            v_rep += v * (1.0 - model.pull_discount)
        n_booked = n0 + n1 + released0 + released1 + pulled0 + pulled1
        mkt_wins += n0 + released0 + pulled0
        self_wins += n1 + released1 + pulled1
        wk.margin[r] = fn.roll[r] / WEEKS
        fn.roll[r] += v_rep - fn.ring[r, slot]
        fn.ring[r, slot] = v_rep
        wk.booked[r] = v_rep
        wk.wins[r] = n_booked
    totals[Y_SOURCED] = sourced
    totals[Y_DISCOUNT] = discount_total
    totals[Y_MKT_WINS] = mkt_wins
    totals[Y_SELF_WINS] = self_wins
    totals[Y_PULLED] = pulled_total
    totals[Y_HELD] = held_total
    totals[Y_HELD_LOST] = held_lost_total


@stage
def _record_week(model, rec, i, w, month, e_m, q_m, wk, yr, out_effort_week):
    """Total the team's bookings, margin and deals of the week into ``wk.totals`` (every week: pay
    reads them) and, in recorded years, add the week to the company's and each person's year."""
    R = wk.act.shape[0]
    totals = wk.totals
    person = yr.person
    team_bk = 0.0
    team_mg = 0.0
    team_wn = 0
    effort_total = 0.0
    team_total = 0.0
    for r in range(R):
        effort = wk.act[r] * EFFORT_STEP
        effort_total += effort
        team_total += wk.team[r]
        team_bk += wk.booked[r]
        team_mg += wk.margin[r]
        team_wn += wk.wins[r]
        if rec:
            person[r, P_BOOKINGS] += wk.booked[r]
            person[r, P_WINS] += wk.wins[r]
            person[r, P_EFFORT] += effort / WEEKS
            person[r, P_EFFORT_Q1 + month // 3] += effort / 13.0
            person[r, P_TEAM_TIME] += wk.team[r] / WEEKS
            person[r, P_HELP_LIFT] += wk.lift[r] / WEEKS
            out_effort_week[i, w] += effort / (R * model.horizon_years)
    totals[Y_REVENUE] = team_bk
    totals[Y_MARGIN] = team_mg
    totals[Y_WINS] = team_wn
    totals[Y_QUALITY] = q_m / WEEKS
    totals[Y_MKT_EFFORT] = e_m / WEEKS
    totals[Y_SALES_EFFORT] = effort_total / (R * WEEKS)
    totals[Y_TEAM_TIME] = team_total / (R * WEEKS)
    if not rec:
        return
    ym = yr.company
    for j in range(N_Y):  # (the bonus columns are 0 in a week's totals; written at year end)
        ym[j] += totals[j]
    yr.month_bk[month] += team_bk
    person[R, P_BOOKINGS] += totals[Y_SOURCED]
    person[R, P_WINS] += totals[Y_MKT_WINS]
    person[R, P_EFFORT] += e_m / WEEKS
    person[R, P_EFFORT_Q1 + month // 3] += e_m / 13.0


@stage
def _pay_week(sch, rec, w, wk, pay, person):
    """Pay (the rules: :mod:`incentsim.pay`): add the week's measures to every person's period and
    year, pay each component at its period ends, and at year end the true-up, the attainment
    recorded and the ratchet of next year's targets."""
    R = wk.act.shape[0]
    totals = wk.totals
    appts = int(totals[Y_APPOINTMENTS])
    sourced = totals[Y_SOURCED]
    team_bk = totals[Y_REVENUE]
    team_mg = totals[Y_MARGIN]
    team_wn = int(totals[Y_WINS])
    period_acc = pay.period_acc
    year_acc = pay.year_acc
    year_paid = pay.year_paid
    tscale = pay.tscale
    for c in range(sch.n_comp):
        code = sch.measure[c]
        sales_role = sch.role[c] == 1
        n_pers = R if sales_role else 1
        for p in range(n_pers):
            v = _measure(code, p, appts, sourced, wk.booked, wk.margin, wk.wins, team_bk, team_mg, team_wn)
            period_acc[c, p] += v
            year_acc[c, p] += v
        if sch.week_end[c, w] == 1:
            k = sch.week_period[c, w]
            for p in range(n_pers):
                scale = tscale[c, p]
                att = period_acc[c, p] / (sch.target[c, p, k] * scale)
                mult = _curve(sch, c, att)
                paid = _period_money(sch, c, p, k, scale) * mult
                year_paid[c, p] += paid
                period_acc[c, p] = 0.0
                pi = p if sales_role else R
                if rec:
                    person[pi, P_PAY] += paid
                    if mult >= sch.max_pay[c] - 1e-12:
                        person[pi, P_CAPPED] += 1.0
        if w == WEEKS - 1:
            for p in range(n_pers):
                pi = p if sales_role else R
                scale = tscale[c, p]
                att = year_acc[c, p] / (sch.annual_target[c, p] * scale)
                if sch.true_up[c] == 1:
                    money = sch.annual_bonus[c, p]
                    if sch.bonus_scales_with_target[c] == 1:
                        money *= scale
                    extra = _true_up_extra(money, _curve(sch, c, att), year_paid[c, p])
                    if extra > 0.0 and rec:
                        person[pi, P_PAY] += extra
                if rec and (c == sch.primary_sales or c == sch.primary_mkt):
                    person[pi, P_ATTAIN] = att
                if rec and (sch.ratchet_up[c] > 0.0 or sch.ratchet_down[c] > 0.0):
                    tscale[c, p] = _ratchet_scale(scale, att, sch.ratchet_up[c], sch.ratchet_down[c])
                year_acc[c, p] = 0.0
                year_paid[c, p] = 0.0


@stage
def _write_year(model, rec, i, yi, yr, out_year, out_month, out_person):
    """At year end: write the replication-year's rows (recorded years only) and start the next
    year's record."""
    ym = yr.company
    person = yr.person
    R = person.shape[0] - 1
    if rec:
        bonus_sales = 0.0
        for r in range(R):
            bonus_sales += person[r, P_PAY]
        ym[Y_BONUS_SALES] = bonus_sales
        ym[Y_BONUS_MKT] = person[R, P_PAY] * model.mkt_headcount
        for j in range(ym.shape[0]):
            out_year[i, yi, j] = ym[j]
        for m in range(12):
            out_month[i, yi, m] = yr.month_bk[m]
        for pp in range(R + 1):
            person[pp, P_ZERO] = 1.0 if person[pp, P_PAY] <= 0.0 else 0.0
            for j in range(person.shape[1]):
                out_person[i, yi, pp, j] = person[pp, j]
    for j in range(ym.shape[0]):
        ym[j] = 0.0
    for m in range(12):
        yr.month_bk[m] = 0.0
    for pp in range(person.shape[0]):
        for j in range(person.shape[1]):
            person[pp, j] = 0.0


def work_arrays(model, sch, root, prefix, n_year, n_person):
    """A thread's working arrays for :func:`_simulate`, allocated once (by numpy, in Python: compiled,
    the allocations cost a first run ~5 s of compile) and started afresh by every replication:
    ``(states, ent, pool, atype, pass_to, fn, pay, wk, ch, yr)``, the random streams' states
    (``(R + 1) * N_PURPOSES`` rows), the seeding's scratch words, each rep's ability level and
    passing partner, and the :class:`Funnel`, :class:`Pay`, :class:`Week`, :class:`Choice` and
    :class:`Year` tuples. ``n_year``, ``n_person``: columns of the company's and a person's yearly
    rows. Every array is C-contiguous with the dtype the kernel was compiled for (one signature)."""
    R = int(model.n_reps)
    Km = model.mkt_hazard.shape[0]
    Ks = model.sales_hazard.shape[0]
    C = int(sch.n_comp)
    NPp = max(R, 1)
    A = model.init_queue.shape[1]  # under a service level of s weeks, s + 1 age buckets
    i64 = np.int64

    def z(shape, dtype=np.float64):
        return np.zeros(shape, dtype=dtype)

    states = z(((R + 1) * N_PURPOSES, 4), np.uint64)
    ent = z(root.shape[0] + prefix.shape[0] + 3, np.uint64)
    pool = z(4, np.uint64)
    fn = Funnel(
        z(Km, i64), z((R, 2, A), i64), z((R, 2, Ks), i64), z((R, 2), i64), z((R, 2)), z((R, WEEKS)), z(R),
        z((R, 2), i64), z(2, i64),
    )  # fmt: skip
    pay = Pay(z((C, NPp)), z((C, NPp)), z((C, NPp)), np.ones((C, NPp)))
    wk = Week(
        z(R), z(R, i64), np.ones(R), z(R), z(R, i64), z(R), z(R, i64), z(R, i64), z(R, i64), z((R, 2), i64), z(R),
        z(R), z(R, i64), z(N_Y),
    )  # fmt: skip
    ch = Choice(
        z((3, 1)), z(1, i64), z(1, i64), z((2, NPp)), z((2, 1)), z(NPp), np.full(1, -1, dtype=i64), z(NPp, i64),
        z((3, NPp)),
    )  # fmt: skip
    yr = Year(z(n_year), z(12), z((R + 1, n_person)))
    return states, ent, pool, z(R, i64), np.full(R, -1, dtype=i64), fn, pay, wk, ch, yr


@helper
def _reset(fn, pay, wk, ch, yr):
    """Start a replication's working arrays afresh (as :func:`work_arrays` allocates them), so
    that a replication's results never depend on the one before it in the same call.

    (Not ``ndarray.fill`` or a reshape: numba compiles either as a function of its array module,
    and loading a kernel that calls one from the disk cache imports that module and its string
    types, 30-40 ms of every run.)"""
    fn.mstage[...] = 0
    fn.queue[...] = 0
    fn.stage[...] = 0
    fn.held[...] = 0
    fn.held_val[...] = 0.0
    fn.ring[...] = 0.0
    fn.roll[...] = 0.0
    fn.incoming[...] = 0
    fn.flags[...] = 0
    pay.period_acc[...] = 0.0
    pay.year_acc[...] = 0.0
    pay.year_paid[...] = 0.0
    pay.tscale[...] = 1.0
    wk.effort[...] = 0.0
    wk.act[...] = 0
    wk.follow[...] = 1.0
    wk.team[...] = 0.0
    wk.timing[...] = 0
    wk.lift[...] = 0.0
    wk.worked[...] = 0
    wk.ignored[...] = 0
    wk.selfa[...] = 0
    wk.won[...] = 0
    wk.booked[...] = 0.0
    wk.margin[...] = 0.0
    wk.wins[...] = 0
    wk.totals[...] = 0.0
    ch.mkt[...] = 0.0
    ch.mkt_level[...] = 0
    ch.mkt_timing[...] = 0
    ch.ahead_sales[...] = 0.0
    ch.ahead_mkt[...] = 0.0
    ch.own[...] = 0.0
    ch.own_steps[...] = -1
    ch.row[...] = 0
    ch.blend[...] = 0.0
    yr.company[...] = 0.0
    yr.month_bk[...] = 0.0
    yr.person[...] = 0.0


@njit(cache=True, nogil=True, _nrt=False)
def _simulate(
    model, sch, pol_sales, pol_mkt, any_timing, tab, root, prefix, work, first_rep, out_year, out_person, out_month,
    out_effort_week, out_ability, out_pipe,
):  # fmt: skip
    """Simulate ``out_year.shape[0]`` replications starting at global index ``first_rep``, serially.

    Runs without the GIL: :func:`incentsim.simulation.simulate` runs it in several threads at once,
    each on its own slice of replications and with its own copies of the inputs. (A parallel loop
    here shared the inputs' arrays between threads, and the reference counts numba keeps on them
    bounced between the cores: two threads gained 1.0-1.2x over one, 1.2-1.4x now. Its compile also cost
    a third of the kernel's.)

    Parameters
    ----------
    model : CompiledModel
    sch : CompiledScheme
    pol_sales, pol_mkt : AgentPolicy
        What sales and marketing do by state (``CompiledPolicy.sales`` / ``.marketing``; passed
        apart: each thread gets its own copy of every array).
    any_timing : bool
        Whether the sales policy ever holds or pulls deals.
    tab : ActionTables
        Conversion probabilities and prospecting rates per ability level and sales action.
    root : ndarray(uint64, ndim=1)
        Root-seed entropy words (``rng.root_words``).
    prefix : ndarray(uint64, ndim=1)
        Spawn-key prefix words (``rng.key_words``; empty for a plain run).
    work : tuple
        The calling thread's working arrays (:func:`work_arrays`; started afresh by every
        replication). The kernel allocates nothing, so it keeps no reference counts (numba's
        ``_nrt=False``, as :data:`kernels.jit.helper`).
    first_rep : int
        Global index of the first replication (its seed key).
    out_year : ndarray(float64, (n, horizon_years, N_Y))
        Company metrics per replication-year (filled).
    out_person : ndarray(float64, (n, horizon_years, reps + 1, N_P))
        Person metrics (filled).
    out_month : ndarray(float64, (n, horizon_years, 12))
        Bookings by month (filled).
    out_effort_week : ndarray(float32, (n, 52))
        Mean rep effort by week of the year, averaged over recorded years (filled).
    out_ability : ndarray(int8, (n, reps))
        Ability level index of each rep (filled).
    out_pipe : ndarray(float64, (n, horizon_years, 13, F)) or an empty (0, 0, 0, 0) array
        Pipeline snapshots (``layout.pipeline_fields``): slot 0 at the start of the year, slot
        m at the end of month m (1-12); filled when not empty.
    """
    n = out_year.shape[0]
    states, ent, pool, atype, pass_to, fn, pay, wk, ch, yr = work
    R = atype.shape[0]
    burn = model.burn_in_years
    n_years = burn + model.horizon_years
    team_on = model.help_gain > 0.0 or model.event_gain > 0.0
    ct = pol_sales.axis_comp[0]  # deals are held or pulled at the ends of sales' first state axis
    # Policies that choose the same every week (fixed behaviour) are read in a replication's first
    # week only: the choices stay in ``wk`` and ``ch`` (nothing else writes them).
    same_choices = _same_every_week(pol_sales) and _same_every_week(pol_mkt)
    totals = wk.totals
    for i in range(n):
        # One replication (docs/model/funnel.md, "The week in the kernel"): its working arrays
        # started afresh, its streams seeded (from its global index ``rep``), its reps' abilities
        # and starting pipeline drawn; then its weeks, burn-in years first (not recorded), each as
        # the funnel's stages in order.
        rep = np.int64(first_rep) + i
        _reset(fn, pay, wk, ch, yr)
        _seed_streams(root, prefix, rep, R, states, ent, pool)
        _draw_abilities(states, model, sch, atype, pass_to)
        for r in range(R):
            out_ability[i, r] = atype[r]
        _start_pipeline(states, model, atype, fn)
        _start_scales(sch, atype, pay.tscale)
        for w in range(WEEKS):
            out_effort_week[i, w] = 0.0
        for t in range(n_years * WEEKS):
            y = t // WEEKS
            w = t - y * WEEKS
            rec = y >= burn
            if w == 0 and y == burn:
                # Ratchets start from the base targets (by ability level, with targets by ability) in the
                # first recorded year.
                _start_scales(sch, atype, pay.tscale)
            month = model.week_month[w]
            if rec and w == 0 and out_pipe.shape[0] > 0:
                _snapshot(out_pipe, i, y - burn, np.int64(0), np.float64(0.0), fn.mstage, fn.queue, fn.stage, fn.held)

            if t == 0 or not same_choices:
                _choices(model, sch, pol_sales, pol_mkt, w, atype, fn, pay, ch, wk)
            e_m = ch.mkt[0, 0]
            q_m = ch.mkt[1, 0]
            vol_q = _through(q_m, model.quality[0], model.quality[1], model.quality[2])
            gen_q = _through(q_m, model.quality[0], model.quality[3], model.quality[4]) / model.conv_max
            if team_on:
                gen_q *= _team_lift(model, atype, wk.team, wk.lift)

            new_leads, appts = _marketing_stages(states, model, w, e_m, vol_q, fn)
            totals[Y_LEADS] = new_leads
            totals[Y_APPOINTMENTS] = appts
            totals[Y_GENUINE] = _hand_off(states, appts, min(1.0, gen_q * model.genuine_mult[t]), fn.queue)
            _follow_up(states, model, fn, wk)
            _self_prospect(states, model, tab, atype, wk)
            if model.passing > 0.0:
                _pass_prospects(states, model, pass_to, fn, wk)
            else:
                totals[Y_PASSED] = 0.0
            _sales_stages(states, model, tab, atype, fn, wk)

            # Deal timing happens at the primary sales period's boundaries (and only when the policy
            # ever holds or pulls deals, or deals are still held from the last period).
            timing_on = ct >= 0 and (any_timing or fn.flags[1] == 1)
            if ct >= 0 and pol_sales.axis_year[0] == 1:
                first_week = w == 0
                last_week = w == WEEKS - 1
            else:
                first_week = ct >= 0 and (w == 0 or sch.week_end[ct, w - 1] == 1)
                last_week = ct >= 0 and sch.week_end[ct, w] == 1
            _deals(states, model, sch, tab, atype, t, w, timing_on and first_week, timing_on and last_week, ct, pay, fn,
                   wk)  # fmt: skip

            # Prospects passed this week join their new owner's first stage (after everyone's week).
            if model.passing > 0.0:
                for r in range(R):
                    fn.stage[r, 0, 0] += fn.incoming[r, 0]
                    fn.stage[r, 1, 0] += fn.incoming[r, 1]
                    fn.incoming[r, 0] = 0
                    fn.incoming[r, 1] = 0

            _record_week(model, rec, i, w, month, e_m, q_m, wk, yr, out_effort_week)
            # Pipeline snapshot at month ends (only when the caller asked for it).
            if rec and out_pipe.shape[0] > 0 and (w == WEEKS - 1 or model.week_month[w + 1] != month):
                _snapshot(out_pipe, i, y - burn, month + 1, yr.company[Y_REVENUE], fn.mstage, fn.queue, fn.stage,
                          fn.held)  # fmt: skip
            _pay_week(sch, rec, w, wk, pay, yr.person)
            if w == WEEKS - 1:
                _write_year(model, rec, i, y - burn, yr, out_year, out_month, out_person)
