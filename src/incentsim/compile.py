"""Scenario -> flat numeric arrays the kernels take (DESIGN §4).

Three NamedTuples of contiguous arrays and scalars, passed straight into ``@njit`` kernels:

* :class:`CompiledModel`: the company and its funnel (scheme-independent);
* :class:`CompiledScheme`: one scheme's components, targets, bonuses and payout curves;
* :class:`CompiledPolicy`: what each agent does, by week and attainment (from the policy
  solver, or the fixed "everyone at normal effort" policy).

Codes shared with the kernel live here (measure codes follow :data:`MEASURES` order).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .calendar import WEEK_MONTH
from .funnel import conversion_max, follow_hazard, genuine_multiplier, pipeline_stock
from .pay import headline_component, scheme_components
from .scenario.schema import MEASURES, WEEKS_PER_YEAR, Scenario, Scheme

MEASURE_CODE = {name: i for i, name in enumerate(MEASURES)}
ROLE_MARKETING = 0
ROLE_SALES = 1
MAX_PERIODS = 12


class CompiledModel(NamedTuple):
    """The company and funnel as arrays (units: weeks, currency, probabilities)."""

    n_reps: int
    mkt_hazard: np.ndarray  # (Km,) weekly probability of leaving each marketing stage
    mkt_conv: np.ndarray  # (Km,) conversion of each marketing stage
    sales_hazard: np.ndarray  # (Ks,)
    sales_conv: np.ndarray  # (Ks,)
    lead_rate_week: np.ndarray  # (52,) mean new leads per week, seasonality applied
    self_appt_rate: float  # self-prospected appointments per rep-week at productivity 1
    extra_appt_per_ignored: float  # self appointments per ignored appointment (freed time), ability 1
    ability_levels: np.ndarray  # (K,)
    ability_cum: np.ndarray  # (K,) cumulative probabilities
    conv_elasticity: float
    follow_hazard: float
    decay: float
    ignored_share: float
    recycle_share: float
    value_mu: float  # lognormal log-mean of deal value
    value_sigma: float  # lognormal log-sd
    quality_volume: np.ndarray  # (Q,) volume multiplier at each quality level
    quality_genuine: np.ndarray  # (Q,) genuine share conversion(q) / conversion_max
    quality_value: np.ndarray  # (Q,) the quality focus q of each level
    conv_max: float
    pull_discount: float
    pull_weeks: int  # deals closing within this many weeks can be pulled in
    hold_loss: float
    burn_in_years: int
    horizon_years: int
    mkt_headcount: int
    week_month: np.ndarray  # (52,) int64
    init_mkt: np.ndarray  # (Km,) mean starting stock of each marketing stage
    init_queue: np.ndarray  # (2, A) mean starting follow-up queue per rep: genuine / not, by age
    sla: int  # follow-up service level in weeks (-1: none); the queue has sla + 1 age buckets
    genuine_mult: np.ndarray  # (weeks,) genuine-share multiplier (duplication, feedback) per week
    init_sales: np.ndarray  # (K, 2, Ks) mean starting stock per rep by ability, source, stage


class CompiledScheme(NamedTuple):
    """One scheme as arrays; C components, NP = max(reps, 1) persons per role, 12 periods max."""

    n_comp: int
    role: np.ndarray  # (C,) 0 marketing, 1 sales
    measure: np.ndarray  # (C,) measure codes
    week_period: np.ndarray  # (C, 52) period index of each week
    week_end: np.ndarray  # (C, 52) 1 in the last week of a period
    target: np.ndarray  # (C, NP, 12) base target per person and period
    annual_target: np.ndarray  # (C, NP)
    bonus: np.ndarray  # (C, NP, 12) money paid at 100 % attainment per period
    annual_bonus: np.ndarray  # (C, NP)
    bonus_scales_with_target: np.ndarray  # (C,) 1 for commission at an explicit rate
    curve_x: np.ndarray  # (C, KP)
    curve_y: np.ndarray  # (C, KP)
    curve_n: np.ndarray  # (C,)
    curve_extrapolate: np.ndarray  # (C,)
    gate: np.ndarray  # (C,)
    cap: np.ndarray  # (C,) inf when none
    max_pay: np.ndarray  # (C,) highest reachable multiple (inf when unbounded)
    true_up: np.ndarray  # (C,)
    ratchet_up: np.ndarray  # (C,)
    ratchet_down: np.ndarray  # (C,)
    primary_sales: int  # component driving sales' state and deal timing (-1: none)
    primary_mkt: int  # (-1: none)
    base_sales: float  # base salary per rep per year
    base_mkt: float  # per marketing person per year


class CompiledPolicy(NamedTuple):
    """Actions by state. G attainment grid points on [0, grid max] (per sales ability level and for
    marketing, in multiples of the period target); K ability levels."""

    sales_effort: np.ndarray  # (A,) effort of each sales action
    sales_follow: np.ndarray  # (A,) share of followed-up appointments worked
    sales_action: np.ndarray  # (K, 52, G) int64 action index
    sales_timing: np.ndarray  # (K, 52, G) int64: 0 none, 1 hold ready deals, 2 pull deals in
    mkt_effort: np.ndarray  # (B,)
    mkt_quality: np.ndarray  # (B,) quality-level index of each marketing action
    mkt_action: np.ndarray  # (52, G) int64
    sales_grid_max: np.ndarray  # (K,)
    mkt_grid_max: float
    grid_n: int


def compile_model(scenario: Scenario) -> CompiledModel:
    """Compile the company and funnel of a scenario."""
    f, m, s, h, d = scenario.funnel, scenario.marketing, scenario.sales, scenario.handoff, scenario.deals
    b = scenario.behaviour
    mk, sk = f.marketing_stages, f.sales_stages
    sigma2 = math.log1p(d.value_cv**2)
    cmax = conversion_max(scenario)
    levels = np.asarray(s.ability.levels, dtype=np.float64)
    cum = np.cumsum(np.asarray(s.ability.weights, dtype=np.float64))
    cum[-1] = 1.0
    qlev = b.quality_levels
    # The fixed policy uses the baseline quality; make sure it is on the grid (last entry).
    qualities = list(qlev) + [m.quality.baseline]
    stock = pipeline_stock(scenario)
    return CompiledModel(
        n_reps=s.reps,
        mkt_hazard=np.array([1.0 / st.dwell_weeks for st in mk]),
        mkt_conv=np.array([st.conversion for st in mk]),
        sales_hazard=np.array([1.0 / st.dwell_weeks for st in sk]),
        sales_conv=np.array([st.conversion for st in sk]),
        lead_rate_week=np.array([m.leads_per_week * m.seasonality[WEEK_MONTH[w]] for w in range(WEEKS_PER_YEAR)]),
        self_appt_rate=s.calls_per_week * s.call_to_appointment,
        extra_appt_per_ignored=s.calls_per_followup * s.call_to_appointment,
        ability_levels=levels,
        ability_cum=cum,
        conv_elasticity=b.conversion_elasticity,
        follow_hazard=follow_hazard(h.delay_weeks),
        decay=h.response_decay_per_week,
        ignored_share=h.ignored_share,
        recycle_share=h.recycle_share,
        value_mu=math.log(d.value_mean) - 0.5 * sigma2,
        value_sigma=math.sqrt(sigma2),
        quality_volume=np.array([m.quality.volume(q) for q in qualities]),
        quality_genuine=np.array([m.quality.conversion(q) / cmax for q in qualities]),
        quality_value=np.array(qualities, dtype=np.float64),
        conv_max=cmax,
        pull_discount=b.pull_in_discount,
        pull_weeks=b.pull_in_weeks,
        hold_loss=b.hold_back_loss,
        burn_in_years=scenario.simulation.burn_in_years,
        horizon_years=scenario.simulation.horizon_years,
        mkt_headcount=m.headcount,
        week_month=np.asarray(WEEK_MONTH, dtype=np.int64),
        init_mkt=np.asarray(stock.marketing, dtype=np.float64),
        init_queue=np.asarray(stock.queue, dtype=np.float64),
        sla=-1 if h.sla_weeks is None else int(h.sla_weeks),
        genuine_mult=np.array(
            [
                genuine_multiplier(h, w)
                for w in range((scenario.simulation.burn_in_years + scenario.simulation.horizon_years) * WEEKS_PER_YEAR)
            ]
        ),
        init_sales=np.asarray(stock.sales, dtype=np.float64),
    )


def compile_scheme(scenario: Scenario, scheme: Scheme) -> CompiledScheme:
    """Compile one scheme: components of marketing first, then sales."""
    reps = scenario.sales.reps
    np_ = max(reps, 1)
    comps = scheme_components(scenario, scheme)
    n = len(comps)
    kp = max([len(pc.component.curve.points) for pc in comps] + [2])
    out = dict(
        role=np.zeros(n, np.int64),
        measure=np.zeros(n, np.int64),
        week_period=np.zeros((n, WEEKS_PER_YEAR), np.int64),
        week_end=np.zeros((n, WEEKS_PER_YEAR), np.int64),
        target=np.ones((n, np_, MAX_PERIODS)),
        annual_target=np.ones((n, np_)),
        bonus=np.zeros((n, np_, MAX_PERIODS)),
        annual_bonus=np.zeros((n, np_)),
        bonus_scales_with_target=np.zeros(n, np.int64),
        curve_x=np.zeros((n, kp)),
        curve_y=np.zeros((n, kp)),
        curve_n=np.zeros(n, np.int64),
        curve_extrapolate=np.zeros(n, np.int64),
        gate=np.zeros(n),
        cap=np.full(n, np.inf),
        max_pay=np.full(n, np.inf),
        true_up=np.zeros(n, np.int64),
        ratchet_up=np.zeros(n),
        ratchet_down=np.zeros(n),
    )
    headline = {"marketing": -1, "sales": -1}
    for j, pc in enumerate(comps):
        c = pc.component
        out["role"][j] = ROLE_SALES if pc.role == "sales" else ROLE_MARKETING
        out["measure"][j] = MEASURE_CODE[c.measure]
        out["week_period"][j] = pc.week_period
        out["week_end"][j] = pc.week_end.astype(np.int64)
        persons = pc.persons
        out["annual_target"][j, :persons] = pc.annual_target
        out["target"][j, :persons, : pc.n_periods] = pc.targets
        out["annual_bonus"][j, :persons] = pc.annual_money
        out["bonus"][j, :persons, : pc.n_periods] = pc.money
        out["bonus_scales_with_target"][j] = int(pc.scales_with_target)
        cx, cy, npts, ext, gate, cap = pc.curve
        out["curve_n"][j] = npts
        out["curve_x"][j, :npts] = cx
        out["curve_y"][j, :npts] = cy
        out["curve_extrapolate"][j] = ext
        out["gate"][j] = gate
        out["cap"][j] = cap
        out["max_pay"][j] = pc.max_multiple
        out["true_up"][j] = int(c.true_up)
        out["ratchet_up"][j] = c.ratchet_up
        out["ratchet_down"][j] = c.ratchet_down
        if pc.index == headline_component(scheme.plan(pc.role)):
            headline[pc.role] = j
    return CompiledScheme(
        n_comp=n,
        primary_sales=headline["sales"],
        primary_mkt=headline["marketing"],
        base_sales=scheme.sales.base_salary if scheme.sales else scenario.sales.base_salary,
        base_mkt=scheme.marketing.base_salary if scheme.marketing else scenario.marketing.base_salary,
        **out,
    )


def fixed_policy(scenario: Scenario) -> CompiledPolicy:
    """Everyone at normal effort, full follow-up, baseline quality, no deal timing (DESIGN §2.2)."""
    k = len(scenario.sales.ability.levels)
    baseline_q = len(scenario.behaviour.quality_levels)  # index of the appended baseline level
    return CompiledPolicy(
        sales_effort=np.array([1.0]),
        sales_follow=np.array([1.0]),
        sales_action=np.zeros((k, WEEKS_PER_YEAR, 1), np.int64),
        sales_timing=np.zeros((k, WEEKS_PER_YEAR, 1), np.int64),
        mkt_effort=np.array([1.0]),
        mkt_quality=np.array([baseline_q], np.int64),
        mkt_action=np.zeros((WEEKS_PER_YEAR, 1), np.int64),
        sales_grid_max=np.ones(k),
        mkt_grid_max=1.0,
        grid_n=1,
    )


class ActionTables(NamedTuple):
    """Per ability level and sales action, what the kernel would otherwise recompute weekly."""

    conv: np.ndarray  # (K, A, 2, Ks) stage conversion; source 0 = marketing's (genuine) appointments
    self_rate: np.ndarray  # (K, A) self-prospected appointments per week
    self_exp: np.ndarray  # (K, A) exp(-self_rate), for the Poisson draw
    any_timing: bool  # whether the policy ever holds or pulls deals


def action_tables(model: CompiledModel, policy: CompiledPolicy) -> ActionTables:
    """Conversion probabilities min(1, p x (ability x effort)^gamma [x conversion_max]) and
    self-prospecting rates for every ability level and sales action."""
    levels = model.ability_levels
    efforts = policy.sales_effort
    K, A, Ks = len(levels), len(efforts), len(model.sales_conv)
    conv = np.zeros((K, A, 2, Ks))
    self_rate = np.zeros((K, A))
    for k in range(K):
        for a in range(A):
            prod = levels[k] * efforts[a]
            mult = prod**model.conv_elasticity
            self_rate[k, a] = model.self_appt_rate * prod
            for src in range(2):
                for j in range(Ks):
                    p = model.sales_conv[j] * mult
                    if src == 0 and j == 0:
                        p *= model.conv_max
                    conv[k, a, src, j] = min(1.0, p)
    return ActionTables(
        conv=conv,
        self_rate=self_rate,
        # math.exp: the same libm function the kernel's own sampler calls (numpy's SIMD exp can
        # differ in the last bit).
        self_exp=np.array([[math.exp(-v) for v in row] for row in self_rate]),
        any_timing=bool(np.any(policy.sales_timing != 0)),
    )
