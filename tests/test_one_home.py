"""Tier: structure. One home per pay rule: the kernel, the policy solver, replay and the reports run
the same code, so no two copies can drift.

* Ratchet and year-end true-up: the ``@njit`` helpers of :mod:`incentsim.kernels.pay`; Python
  reaches them through :func:`incentsim.pay.ratchet_scale` / :func:`incentsim.pay.true_up`. Each
  Python entry equals the kernel's helper (called from a compiled driver) on random inputs
  (hypothesis, exact equality), routes through it, and no other module writes the formula.
* Count measures: :data:`incentsim.pay.COUNT_MEASURES`; the kernel reads the compiled
  ``CompiledScheme.counts`` flag, never its own list of measure codes.
* Marginal pay (the slope between 50 % and 150 %): :func:`incentsim.pay.marginal_pay`; the
  calibration's per-unit bonus (``policy.marginal_bonus_value``) calls it.
* Deal timing: the kernel holds back a deal (hold the excess) only when it would not raise the
  summed pay of every component on the solver's deal-timing axis (``CompiledScheme.axis_group``,
  from the same :meth:`incentsim.pay.PayComponent.axis_key` that ``model.state.design_state``
  groups axes by).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numba
import numpy as np
import pytest
from conftest import small
from hypothesis import given, settings
from hypothesis import strategies as st

from incentsim import pay, scenario_from_dict
from incentsim.compile import compile_scheme, component_index
from incentsim.kernels import funnel
from incentsim.kernels import pay as kpay
from incentsim.model.state import design_state
from incentsim.pay import COUNT_MEASURES, marginal_pay, role_components

SRC = Path(pay.__file__).resolve().parent  # the package under test (PYTHONPATH), its source files


@numba.njit
def _ratchet_kernel(scale, attainment, up, down):
    return kpay._ratchet_scale(scale, attainment, up, down)  # (a helper: no Python entry point)


@numba.njit
def _true_up_kernel(money, multiple, paid):
    return kpay._true_up_extra(money, multiple, paid)


@numba.njit
def _raises_kernel(sch, ct, p, w, acc, tscale, booked_value, booked_count, v):
    return funnel._raises_pay(sch, ct, p, w, acc, tscale, booked_value, booked_count, v)


def _scenario(schemes: dict, reps: int = 2):
    d = small(
        simulation={"replications": 10, "seed": 1, "behaviour": "fixed"},
        marketing={"headcount": 0, "leads_per_week": 0.0},
        sales={"reps": reps, "bonus_at_target": 20000.0},
        schemes=schemes,
    )
    return scenario_from_dict(d)


finite = st.floats(-3.0, 5.0, allow_nan=False)
share = st.floats(0.0, 2.0, allow_nan=False)


# -- ratchet --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(scale=st.floats(0.05, 4.0), att=finite, up=share, down=share)
def test_the_ratchet_python_uses_is_the_kernels(scale, att, up, down):
    want = _ratchet_kernel(scale, att, up, down)
    assert pay.ratchet_scale(scale, att, up, down) == want
    got = pay.ratchet_scale(np.full((2, 3), scale), np.full(3, att), up, down)
    assert got.shape == (2, 3) and np.all(got == want)


def test_a_components_next_scale_is_the_kernels_ratchet(monkeypatch):
    sc = _scenario({"r": {"sales": {"measure": "own_bookings", "payout": "linear", "ratchet": {"up": 0.7, "down": 0.2}}}})
    (pc,) = role_components(sc, sc.schemes["r"], "sales")
    att = np.linspace(0.0, 2.5, 26)
    want = np.array([_ratchet_kernel(1.3, a, 0.7, 0.2) for a in att])
    assert np.array_equal(pc.next_scale(att, 1.3), want)
    assert pc.next_scale(1.4) == _ratchet_kernel(1.0, 1.4, 0.7, 0.2)

    def fail(*args):
        raise AssertionError("called")

    monkeypatch.setattr(kpay, "_ratchet_many", fail)
    with pytest.raises(AssertionError, match="called"):
        pc.next_scale(att)  # it goes through the kernel's code, not a copy of it


# -- true-up --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(money=st.floats(0.0, 1e6), multiple=st.floats(0.0, 5.0), paid=st.floats(0.0, 2e6))
def test_the_true_up_python_uses_is_the_kernels(money, multiple, paid):
    want = _true_up_kernel(money, multiple, paid)
    assert pay.true_up(money, multiple, paid) == want
    got = pay.true_up(money, np.full((3, 1), multiple), np.full((1, 2), paid))
    assert got.shape == (3, 2) and np.all(got == want)


def test_a_components_true_up_is_the_kernels(monkeypatch):
    sc = _scenario({"t": {"sales": {"measure": "own_bookings", "period": "quarter", "payout": "linear",
                                    "threshold": 0.5, "cap": 1.5, "true_up": True}}})  # fmt: skip
    (pc,) = role_components(sc, sc.schemes["t"], "sales")
    year = np.linspace(0.0, 2.0, 21) * pc.annual_target[1]
    paid = np.linspace(0.0, 1.5, 21) * pc.annual_money[1]
    multiple = pc.multiple(year / pc.annual_target[1])
    want = np.array([_true_up_kernel(pc.annual_money[1], m, p) for m, p in zip(multiple, paid, strict=True)])
    assert np.array_equal(pc.true_up_extra(year, paid, 1), want)
    assert want.max() > 0 and want.min() == 0.0  # both sides of the rule

    def fail(*args):
        raise AssertionError("called")

    monkeypatch.setattr(kpay, "_true_up_many", fail)
    with pytest.raises(AssertionError, match="called"):
        pc.true_up_extra(year, paid, 1)


# -- no second copy in the source -----------------------------------------------------------------


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _names(node) -> set[str]:
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
    return out


def _is_one_minus_or_minus_one(node) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and any(
        isinstance(s, ast.Constant) and s.value == 1.0 for s in (node.left, node.right)
    )


def test_no_module_but_the_kernels_pay_writes_the_ratchet_or_the_true_up():
    """The formulas' shapes: ``up x (attainment - 1)`` or ``down x (1 - attainment)``, and a
    maximum / clip over something minus what was paid. Only ``kernels/pay.py`` may write them."""
    found = []
    for name, tree in _modules():
        if name == "kernels/pay.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
                for a, b in ((node.left, node.right), (node.right, node.left)):
                    if _names(a) & {"ratchet_up", "ratchet_down", "up", "down"} and _is_one_minus_or_minus_one(b):
                        found.append(f"{name}:{node.lineno} ratchet")
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                # A function that subtracts what was paid and takes a maximum (or clips) at zero.
                parts = list(ast.walk(node))
                clips = any(isinstance(n, ast.Call) and _names(n.func) & {"maximum", "clip", "max"} for n in parts)
                minus_paid = any(
                    isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and any("paid" in x.lower() for x in _names(n))
                    for n in parts
                )
                if clips and minus_paid:
                    found.append(f"{name}:{node.lineno} true-up")
    assert not found, found


def test_the_kernel_keeps_no_list_of_count_measure_codes():
    """``code == 0 or code == 6 or code == 7`` was the kernel's own copy of which measures count
    items; it reads ``CompiledScheme.counts`` (from :data:`incentsim.pay.COUNT_MEASURES`) instead."""
    found = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
                tests = [v for v in node.values if isinstance(v, ast.Compare) and isinstance(v.ops[0], ast.Eq)]
                if sum(isinstance(t.comparators[0], ast.Constant) and isinstance(t.comparators[0].value, int)
                       and "code" in _names(t.left) for t in tests) >= 2:  # fmt: skip
                    found.append(f"{name}:{node.lineno}")
            # A literal collection of two or more count measures' names, outside pay.py.
            if name != "pay.py" and isinstance(node, (ast.Tuple, ast.Set, ast.List)):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(names & COUNT_MEASURES) >= 2 and name not in _KNOWN_COUNT_COPIES:
                    found.append(f"{name}:{node.lineno}")
    assert not found, found


#: Modules allowed to name count measures together (none: every reader asks ``pc.counts``).
_KNOWN_COUNT_COPIES: set[str] = set()


def test_compiled_count_flags_are_the_pay_rules():
    sc = _scenario({"all": {"sales": {"components": [
        {"measure": m, "weight": 0.2, "payout": "linear"}
        for m in ("own_bookings", "team_bookings", "own_margin", "own_wins", "team_wins")
    ]}}})  # fmt: skip
    sch = compile_scheme(sc, sc.schemes["all"])
    comps = role_components(sc, sc.schemes["all"], "sales")
    assert sch.counts.tolist() == [int(pc.measure in COUNT_MEASURES) for pc in comps] == [0, 0, 0, 1, 1]


# -- marginal pay ---------------------------------------------------------------------------------


def test_the_calibrations_marginal_bonus_is_marginal_pay():
    """``policy.marginal_bonus_value`` is :func:`incentsim.pay.marginal_pay` summed (money measures:
    no conversion to bookings), exactly."""
    from incentsim.model.policy import marginal_bonus_value

    sc = _scenario({"m": {"sales": {"components": [
        {"measure": "own_bookings", "period": "quarter", "weight": 0.6, "payout": "linear", "threshold": 0.7, "cap": 1.3},
        {"measure": "team_bookings", "weight": 0.4, "payout": "step", "steps": [[0.9, 0.5], [1.2, 1.5]]},
    ]}}})  # fmt: skip
    comps = role_components(sc, sc.schemes["m"], "sales")
    assert marginal_bonus_value(sc, sc.schemes["m"], "sales") == sum(marginal_pay(pc) for pc in comps)


# -- deal timing ----------------------------------------------------------------------------------

#: Two components on one axis (own bookings per quarter): capped at 100 %, and a step at 150 %;
#: plus a straight commission on the same measure (valued per unit: on no axis).
CAP_STEP = {"sales": {"components": [
    {"measure": "own_bookings", "period": "quarter", "weight": 0.5, "payout": "linear", "cap": 1.0},
    {"measure": "own_bookings", "period": "quarter", "weight": 0.5, "payout": "step", "steps": [[1.5, 1.0]]},
    {"measure": "own_bookings", "period": "month", "payout": "commission", "rate": 0.01},
]}}  # fmt: skip


def _timing_setup(schemes, name):
    sc = _scenario(schemes)
    scheme = sc.schemes[name]
    sch = compile_scheme(sc, scheme)
    design = design_state(role_components(sc, scheme, "sales"))
    ct = component_index(sc, scheme, "sales", design.axes[0].ref.index)  # the policy's axis_comp[0]
    acc = np.zeros((sch.n_comp, 2))
    tscale = np.ones((sch.n_comp, 2))
    return sc, sch, design, ct, acc, tscale


def test_a_deal_that_raises_another_component_on_the_axis_is_not_held_back():
    """Old rule (component ``ct``'s curve only): above the cap every deal was held back, also one
    that reaches the 150 % step of the second component; the solver's hold-the-excess compares the
    axis' summed payout, which that deal raises."""
    sc, sch, design, ct, acc, tscale = _timing_setup({"cs": CAP_STEP}, "cs")
    assert [pc.index for pc in design.axes[0].comps] == [0, 1] and ct == 0
    w = 12  # the first quarter's last week
    target = sch.target[0, 0, 0]
    acc[:2, 0] = 1.3 * target
    v = 0.25 * target
    assert _raises_kernel(sch, ct, 0, w, acc, tscale, 0.0, 0, v)  # 1.30 -> 1.55: the step pays
    assert not _raises_kernel(sch, ct, 0, w, acc, tscale, 0.0, 0, 0.1 * target)  # 1.30 -> 1.40: flat
    assert not _raises_kernel(sch, ct, 0, w, acc, tscale, 0.3 * target, 1, v)  # already past the step
    acc[:2, 0] = 0.8 * target
    assert _raises_kernel(sch, ct, 0, w, acc, tscale, 0.0, 0, 0.1 * target)  # below the cap


@settings(max_examples=60, deadline=None)
@given(
    att=st.floats(0.0, 2.5), booked=st.floats(0.0, 1.0), deal=st.floats(0.0, 0.6), booked_count=st.integers(0, 5),
    scale=st.floats(0.6, 1.6), person=st.integers(0, 1), week=st.sampled_from([12, 25, 38, 51]),
    scheme=st.sampled_from(["cs", "wins", "mixed"]),
)  # fmt: skip
def test_the_kernels_deal_timing_rule_is_the_solvers_axis_payout(
    att, booked, deal, booked_count, scale, person, week, scheme
):
    """The kernel keeps a deal exactly when it raises the summed period pay (money x curve, targets
    and commission money at the ratchet's scale) of the components the solver put on its deal-timing
    axis (design.axes[0].comps), by more than a rounding error."""
    schemes = {
        "cs": CAP_STEP,
        "wins": {"sales": {"components": [
            {"measure": "own_wins", "period": "quarter", "weight": 0.5, "payout": "step", "steps": [[1.0, 1.0]]},
            {"measure": "own_wins", "period": "quarter", "payout": "commission", "rate": 400.0, "cap": 1.2,
             "target_level": 1.2},
            {"measure": "own_bookings", "period": "quarter", "weight": 0.5, "payout": "linear", "cap": 1.0},
        ]}},
        "mixed": {"sales": {"components": [
            {"measure": "own_bookings", "period": "quarter", "weight": 0.4, "payout": "linear", "cap": 1.2,
             "ratchet": {"up": 0.5}},
            {"measure": "team_bookings", "period": "quarter", "weight": 0.3, "payout": "linear", "cap": 1.0},
            {"measure": "own_bookings", "period": "quarter", "weight": 0.3, "payout": "step",
             "steps": [[0.8, 0.5], [1.4, 1.2]], "target_level": 0.9},
        ]}},
    }  # fmt: skip
    sc, sch, design, ct, acc, tscale = _timing_setup(schemes, scheme)
    on_axis = [component_index(sc, sc.schemes[scheme], "sales", pc.index) for pc in design.axes[0].comps]
    group = [c for c in range(sch.n_comp) if sch.axis_group[c] == sch.axis_group[ct]]
    assert group == on_axis  # the kernel's set is the solver's axis
    comps = {component_index(sc, sc.schemes[scheme], "sales", pc.index): pc for pc in design.axes[0].comps}
    k = int(sch.week_period[ct, week])
    ref = comps[ct]
    unit = 1.0 if ref.counts else ref.targets[person, k]
    for c in range(sch.n_comp):
        acc[c, person] = att * sch.target[c, person, k]
        tscale[c, person] = scale
    booked_value = booked * unit
    v = deal * unit
    got = _raises_kernel(sch, ct, person, week, acc, tscale, booked_value, booked_count, v)
    gain = money = 0.0
    for c, pc in comps.items():
        base, inc = (booked_count, 1.0) if pc.counts else (booked_value, v)
        gain += float(pc.period_pay(acc[c, person] + base + inc, person, k, scale)) - float(
            pc.period_pay(acc[c, person] + base, person, k, scale)
        )
        money += pc.money[person, k] * (scale if pc.scales_with_target else 1.0)
    assert got == (gain > 1e-9 * money) or abs(gain) <= 1e-9 * money, (got, gain, money)
