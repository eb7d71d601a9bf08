"""Scenario -> flat numeric arrays the kernels take (docs/model/index.md,
"Layers of the code").

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
from .funnel import (
    conversion_max,
    follow_hazard,
    genuine_multiplier,
    lead_landing,
    marketing_landing,
    pipeline_landing,
    pipeline_stock,
    queue_landing,
    stage_conversions,
)
from .kernels.layout import EFFORT_STEP, N_EFFORT
from .pay import headline_component, pass_threshold, scheme_components
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
    quality: np.ndarray  # (5,) baseline, volume at 0 and 1, conversion at 0 and 1 (piecewise linear in q)
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
    land_sales: np.ndarray  # (K, 2, Ks, 53) chance an item in a sales stage is won within w weekly steps
    land_mkt: np.ndarray  # (Km, 53) chance a lead in a marketing stage is handed over within w steps
    land_queue: np.ndarray  # (K, 53) wins within w steps of a genuine appointment waiting, per unit work share
    land_lead: np.ndarray  # (K, Km, 53) wins within w steps a lead in a marketing stage brings, per unit work share
    help_gain: float  # team work: share of a quote's miss chance a colleague's help can remove
    event_gain: float  # relative lift of the genuine share from sales at marketing's events
    event_share: float  # share of team time spent at events
    help_scale: float  # help one average rep gives at full team time (diminishing returns scale)
    event_scale: float  # event presence of the whole team at full team time
    need: np.ndarray  # (K,) chance a quote of a rep of each level is lost at normal effort (help goes by need)
    close_rate: np.ndarray  # (K,) chance a rep of each level wins a self-prospected appointment
    passing: float  # share of new prospects passed to a stronger colleague when it pays


class CompiledScheme(NamedTuple):
    """One scheme as arrays; C components, NP = max(reps, 1) persons per role, 12 periods max."""

    n_comp: int
    role: np.ndarray  # (C,) 0 marketing, 1 sales
    measure: np.ndarray  # (C,) measure codes
    counts: np.ndarray  # (C,) 1 when the measure counts items, not money (pay.PayComponent.counts)
    axis_group: np.ndarray  # (C,) components on one state axis of a role share a number (-1: valued per unit)
    week_period: np.ndarray  # (C, 52) period index of each week
    week_end: np.ndarray  # (C, 52) 1 in the last week of a period
    weeks_left: np.ndarray  # (C, 52) weeks after week w in its period (0 in the last week)
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
    pass_threshold: float  # a rep passes prospects when a colleague is this much likelier to win them
    primary_sales: int  # component driving sales' state and deal timing (-1: none)
    primary_mkt: int  # (-1: none)
    base_sales: float  # base salary per rep per year
    base_mkt: float  # per marketing person per year
    target_scale: np.ndarray  # (C, K) starting target scale of a rep of each ability level (1 unless by ability)


#: Sources of a state axis (what its pipeline forecast adds): own deals, the team's, marketing's
#: appointments, deals from marketing's appointments.
SOURCE_CODE = {"own": 0, "team": 1, "appointments": 2, "sourced": 3}


class AgentPolicy(NamedTuple):
    """How the kernel reads one role's choices (model page, "Behaviour: in the simulation").

    The state is up to two measure axes and the paid-money axis: each axis reads a component's
    period-to-date (or year-to-date) measure plus the person's pipeline expected to land before
    the period ends, in attainment of the component's (ratcheted) target; the paid axis reads
    the money already paid this year by true-up components. NG target groups (reps with the same
    targets), K ability levels (1 for marketing), each solved at NS target scales (a ratchet moves
    the target from year to year: ``scales``, ascending; ``[1.0]`` without one): the second index
    of the tables is ``k * NS + j`` for level k at scale ``scales[j]``, and the kernel blends the
    two scales around a person's current one (log-linear).
    """

    choice: np.ndarray  # (NG, K * NS, 52, G0, G1, L, 3): expected effort; follow-up share / quality; team time
    timing: np.ndarray  # (NG, K * NS, 52, G0, G1, L) int8: 0 none, 1 hold ready deals, 2 pull deals in
    group: np.ndarray  # (persons,) int64 target group of each person
    axis_comp: np.ndarray  # (2,) int64 component index read by each axis (-1: unused)
    axis_year: np.ndarray  # (2,) int64 1: the component's year-to-date
    axis_source: np.ndarray  # (2,) int64 SOURCE_CODE
    axis_unit: np.ndarray  # (2,) float64 value of one won deal in the measure (deal value, or 1)
    axis_margin: np.ndarray  # (2,) int64 1: in-year recognised margin
    grid_max: np.ndarray  # (NG, K * NS, 2) float64 attainment at the top grid point
    paid_comp: np.ndarray  # (C,) int64 1 for components whose payments count on the paid axis
    paid_money: np.ndarray  # (NG, K * NS) float64 currency per paid-axis step
    scales: np.ndarray  # (NS,) float64 ratchet target scales solved at (ascending; [1.0]: no ratchet)
    scale_comp: np.ndarray  # (1,) int64 component whose ratchet scale selects among them (-1: none)
    base_scale: np.ndarray  # (K,) float64 that component's target scale by ability level (before ratchets)


class CompiledPolicy(NamedTuple):
    """What everyone does: sales' and marketing's :class:`AgentPolicy`."""

    sales: AgentPolicy
    marketing: AgentPolicy
    any_timing: bool  # whether any state ever holds or pulls deals


def constant_policy(persons: int, levels: int, first: float, second: float, n_comp: int) -> AgentPolicy:
    """One role always doing the same (the fixed policy, or an unpaid role)."""
    return AgentPolicy(
        choice=np.array([first, second, 0.0], dtype=np.float64).reshape(1, 1, 1, 1, 1, 1, 3).repeat(levels, axis=1)
        .repeat(WEEKS_PER_YEAR, axis=2).copy(),
        timing=np.zeros((1, levels, WEEKS_PER_YEAR, 1, 1, 1), dtype=np.int8),
        group=np.zeros(max(persons, 1), dtype=np.int64),
        axis_comp=np.full(2, -1, dtype=np.int64),
        axis_year=np.zeros(2, dtype=np.int64),
        axis_source=np.zeros(2, dtype=np.int64),
        axis_unit=np.ones(2),
        axis_margin=np.zeros(2, dtype=np.int64),
        grid_max=np.ones((1, levels, 2)),
        paid_comp=np.zeros(max(n_comp, 1), dtype=np.int64),
        paid_money=np.ones((1, levels)),
        scales=np.ones(1),
        scale_comp=np.full(1, -1, dtype=np.int64),
        base_scale=np.ones(levels),
    )  # fmt: skip


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
    qp = m.quality
    stock = pipeline_stock(scenario)
    land_sales = np.array([[pipeline_landing(scenario, lv, src) for src in (0, 1)] for lv in levels])
    # (a genuine appointment's landing from the first sales stage, for the follow-up queue's)
    land_queue = np.array([queue_landing(scenario, lv, first=land_sales[k, 0, 0]) for k, lv in enumerate(levels)])
    land_mkt = marketing_landing(scenario)
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
        quality=np.array(
            [qp.baseline, qp.volume_at_zero, qp.volume_at_one, qp.conversion_at_zero, qp.conversion_at_one]
        ),
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
        land_sales=land_sales,
        land_mkt=land_mkt,
        land_queue=land_queue,
        land_lead=np.array(
            [lead_landing(scenario, lv, queue=q, handed=land_mkt) for lv, q in zip(levels, land_queue, strict=True)]
        ),
        help_gain=b.help_gain,
        event_gain=b.event_gain,
        event_share=b.event_share,
        help_scale=b.team_time * (1.0 - b.event_share),
        event_scale=s.reps * b.team_time * b.event_share,
        need=np.array([1.0 - stage_conversions(scenario, lv)[1][-1] for lv in levels]),
        close_rate=np.array([math.prod(stage_conversions(scenario, lv)[1]) for lv in levels]),
        passing=b.passing,
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
        counts=np.zeros(n, np.int64),
        axis_group=np.full(n, -1, np.int64),
        week_period=np.zeros((n, WEEKS_PER_YEAR), np.int64),
        week_end=np.zeros((n, WEEKS_PER_YEAR), np.int64),
        weeks_left=np.zeros((n, WEEKS_PER_YEAR), np.int64),
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
    out["target_scale"] = np.ones((n, len(scenario.sales.ability.levels)))
    headline = {"marketing": -1, "sales": -1}
    groups: dict[tuple, int] = {}
    for j, pc in enumerate(comps):
        c = pc.component
        out["role"][j] = ROLE_SALES if pc.role == "sales" else ROLE_MARKETING
        out["measure"][j] = MEASURE_CODE[c.measure]
        out["counts"][j] = int(pc.counts)
        if not pc.valued_per_unit:
            # The solver pays these on one state axis (model.state.design_state): deal timing
            # weighs the pay of all of them (kernels.funnel._raises_pay).
            out["axis_group"][j] = groups.setdefault((pc.role, *pc.axis_key()), len(groups))
        out["week_period"][j] = pc.week_period
        out["week_end"][j] = pc.week_end.astype(np.int64)
        ends = np.flatnonzero(pc.week_end)
        out["weeks_left"][j] = ends[pc.week_period] - np.arange(WEEKS_PER_YEAR)
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
        if pc.ability_scale is not None:
            out["target_scale"][j] = pc.ability_scale
        if pc.index == headline_component(scheme.plan(pc.role)):
            headline[pc.role] = j
    return CompiledScheme(
        n_comp=n,
        pass_threshold=pass_threshold([pc for pc in comps if pc.role == "sales"]),
        primary_sales=headline["sales"],
        primary_mkt=headline["marketing"],
        base_sales=scheme.sales.base_salary if scheme.sales else scenario.sales.base_salary,
        base_mkt=scheme.marketing.base_salary if scheme.marketing else scenario.marketing.base_salary,
        **out,
    )


def fixed_policy(scenario: Scenario, n_comp: int = 1) -> CompiledPolicy:
    """Everyone at normal effort, full follow-up, today's quality, no deal timing."""
    k = len(scenario.sales.ability.levels)
    return CompiledPolicy(
        sales=constant_policy(scenario.sales.reps, k, 1.0, 1.0, n_comp),
        marketing=constant_policy(1, 1, 1.0, scenario.marketing.quality.baseline, n_comp),
        any_timing=False,
    )


class ActionTables(NamedTuple):
    """Per ability level and effort quantum (:data:`EFFORT_STEP`), what the kernel would otherwise
    recompute weekly."""

    conv: np.ndarray  # (K, N_EFFORT, 2, Ks) stage conversion; source 0 = marketing's (genuine) appointments
    self_rate: np.ndarray  # (K, N_EFFORT) self-prospected appointments per week
    self_exp: np.ndarray  # (K, N_EFFORT) exp(-self_rate), for the Poisson draw


def action_tables(scenario: Scenario) -> ActionTables:
    """Conversion probabilities (:func:`incentsim.funnel.stage_conversions`) and self-prospecting
    rates for every ability level and effort quantum."""
    levels = scenario.sales.ability.levels
    rate = scenario.sales.calls_per_week * scenario.sales.call_to_appointment
    K, Ks = len(levels), len(scenario.funnel.sales_stages)
    conv = np.zeros((K, N_EFFORT, 2, Ks))
    self_rate = np.zeros((K, N_EFFORT))
    for k, level in enumerate(levels):
        for n in range(N_EFFORT):
            prod = level * (n * EFFORT_STEP)
            mkt, own = stage_conversions(scenario, prod)
            conv[k, n, 0] = mkt
            conv[k, n, 1] = own
            self_rate[k, n] = rate * prod
    return ActionTables(
        conv=conv,
        self_rate=self_rate,
        # math.exp: the same libm function the kernel's own sampler calls (numpy's SIMD exp can
        # differ in the last bit).
        self_exp=np.array([[math.exp(-v) for v in row] for row in self_rate]),
    )


def component_index(scenario: Scenario, scheme: Scheme, role: str, index: int) -> int:
    """Position of a role's component in :class:`CompiledScheme` (marketing's first)."""
    del scenario
    offset = len(scheme.marketing.components) if role == "sales" and scheme.marketing is not None else 0
    return offset + index
