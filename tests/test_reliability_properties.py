"""Tier: reliability, property tests over the schema. Any scenario the loader accepts gives finite
results: every numeric key is drawn anywhere in its plausible range (its ends included) from the
limits table, and a comparison of the schemes must give finite money, counts and efforts, and
strict JSON. A wrong number with exit status 0 is the worst bug we can ship; NaN or inf from an
accepted input is that bug.

Hypothesis runs derandomized (the same examples every run), 50 examples of 16 replications with
fixed behaviour, and at most 40 reps per company for speed; one explicit test puts every key at
the top of its range at once (10,000 reps).
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from conftest import small
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from incentsim import ScenarioError, scenario_from_dict
from incentsim.comparison import compare
from incentsim.scenario.limits import LIMITS

#: Figures that must be finite for any accepted scenario (ratios may be undefined: NaN, shown n/a).
MUST_BE_FINITE = (
    "revenue", "margin_in_year", "profit_after_bonus", "bonus_cost", "wins", "leads", "appointments",
    "bonus_sales", "bonus_marketing", "mean_effort", "marketing_quality", "deals_pulled_in", "deals_held_back",
)  # fmt: skip

#: (path in the dict, row of LIMITS) for every numeric key of the test company's file.
KEYS = [
    *[((("funnel", s, "dwell_weeks")), "funnel.<stage>.dwell_weeks") for s in ("lead", "appointment", "quote")],
    *[((("funnel", s, "conversion")), "funnel.<stage>.conversion") for s in ("lead", "appointment", "quote")],
    (("marketing", "headcount"), "marketing.headcount"),
    (("marketing", "leads_per_week"), "marketing.leads_per_week"),
    (("marketing", "bonus_at_target"), "marketing.bonus_at_target"),
    (("marketing", "base_salary"), "marketing.base_salary"),
    (("marketing", "quality", "baseline"), "marketing.quality.baseline"),
    (("marketing", "quality", "volume_at_zero"), "marketing.quality.volume_at_zero"),
    (("marketing", "quality", "conversion_at_one"), "marketing.quality.conversion_at_one"),
    (("sales", "reps"), "sales.reps"),
    (("sales", "calls_per_week"), "sales.calls_per_week"),
    (("sales", "call_to_appointment"), "sales.call_to_appointment"),
    (("sales", "calls_per_followup"), "sales.calls_per_followup"),
    (("sales", "bonus_at_target"), "sales.bonus_at_target"),
    (("sales", "base_salary"), "sales.base_salary"),
    (("sales", "ability", "cv"), "sales.ability.cv"),
    (("handoff", "delay_weeks"), "handoff.delay_weeks"),
    (("handoff", "response_decay_per_week"), "handoff.response_decay_per_week"),
    (("handoff", "ignored_share"), "handoff.ignored_share"),
    (("handoff", "recycle_share"), "handoff.recycle_share"),
    (("handoff", "duplicated_share"), "handoff.duplicated_share"),
    (("handoff", "feedback_gain"), "handoff.feedback_gain"),
    (("deals", "value_mean"), "deals.value_mean"),
    (("deals", "value_cv"), "deals.value_cv"),
    (("simulation", "burn_in_years"), "simulation.burn_in_years"),
    (("schemes", "capped", "sales", "target_level"), "schemes.<scheme>.<role>.target_level"),
    (("schemes", "capped", "sales", "threshold"), "schemes.<scheme>.<role>.threshold"),
    (("schemes", "capped", "sales", "cap"), "schemes.<scheme>.<role>.cap"),
    (("schemes", "capped", "sales", "accelerator"), "schemes.<scheme>.<role>.accelerator"),
    (("schemes", "capped", "marketing", "bonus_at_target"), "schemes.<scheme>.<role>.bonus_at_target"),
]
MAX_REPS = 40


def _range(key: str) -> tuple[float, float]:
    row = LIMITS[key]
    lo = row.plausible_lo if row.plausible_lo is not None else row.lo
    hi = row.plausible_hi if row.plausible_hi is not None else row.hi
    assert lo is not None and hi is not None, key
    if row.lo_open and lo == row.lo:
        lo = lo + max(1e-9, 1e-9 * abs(lo))
    if row.hi_open and hi == row.hi:
        hi = hi - max(1e-9, 1e-9 * abs(hi))
    if key == "sales.reps":
        hi = MAX_REPS
    return float(lo), float(hi)


def _value(key: str):
    lo, hi = _range(key)
    if LIMITS[key].kind == "integer":
        return st.integers(int(math.ceil(lo)), int(hi))
    ends = st.sampled_from([lo, hi])
    inside = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if lo >= 0 and hi / max(lo, 1e-9) > 1e4:  # wide ranges: log-uniform too, so every scale is tried
        floor = max(lo, 1e-6)
        inside = st.one_of(
            inside, st.floats(math.log(floor), math.log(hi)).map(lambda v: min(hi, max(lo, math.exp(v))))
        )
    return st.one_of(ends, inside)


def _set(d: dict, path: tuple, value) -> None:
    node = d
    for p in path[:-1]:
        node = node.setdefault(p, {})
    node[path[-1]] = value


def _base() -> dict:
    d = small()
    d["simulation"] = {"replications": 16, "seed": 3, "behaviour": "fixed"}
    d["schemes"]["capped"] = {"preset": "capped"}
    return d


@st.composite
def accepted_scenarios(draw):
    d = _base()
    chosen = draw(st.lists(st.sampled_from(range(len(KEYS))), min_size=1, max_size=8, unique=True))
    for i in chosen:
        path, key = KEYS[i]
        _set(d, path, draw(_value(key)))
    if draw(st.booleans()):
        _set(
            d,
            ("marketing", "seasonality"),
            draw(st.lists(_value("marketing.seasonality[i]"), min_size=12, max_size=12)),
        )
    d["simulation"]["seed"] = draw(st.integers(0, 2**63 - 1))
    try:
        return scenario_from_dict(copy.deepcopy(d), source="prop.toml")
    except ScenarioError:
        assume(False)


#: Metrics of marketing's own choices: with no marketing people nobody chooses them (no value, not
#: a number: ``Results.metrics``).
MARKETING_CHOICES = ("marketing_quality", "marketing_effort")


def _check_finite(cmp) -> None:
    nobody = cmp.scenario.marketing.headcount == 0
    for name, metrics in cmp.summaries.items():
        for metric in MUST_BE_FINITE:
            s = metrics[metric]
            values = (s.mean, s.std, s.p5, s.p50, s.p95)
            if nobody and metric in MARKETING_CHOICES:
                assert all(math.isnan(v) for v in values), (name, metric, s)
                continue
            assert all(math.isfinite(v) for v in values), (name, metric, s)
        for metric, s in metrics.items():
            values = (s.mean, s.std, s.p5, s.p50, s.p95)
            assert not any(math.isinf(v) for v in values), (name, metric, s)
    text = json.dumps(cmp.to_json(), allow_nan=False)  # strict JSON: NaN becomes null, never inf
    assert "Infinity" not in text
    assert "nan" not in cmp.verdict.lower().replace("financ", "")


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(sc=accepted_scenarios())
def test_any_accepted_scenario_gives_finite_results(sc):
    _check_finite(compare(sc))


def test_every_key_at_the_top_of_its_range_at_once():
    """The largest plausible company: 10,000 reps and every amount at 1e9, under the wins bound."""
    d = _base()
    for path, key in KEYS:
        lo, hi = _range(key)
        _set(d, path, LIMITS[key].plausible_hi if LIMITS[key].plausible_hi is not None else hi)
    _set(d, ("sales", "reps"), 10_000)
    _set(d, ("sales", "calls_per_week"), 0.05)
    _set(d, ("marketing", "leads_per_week"), 1000.0)
    _set(d, ("marketing", "quality", "volume_at_zero"), 1.0)
    _set(d, ("marketing", "quality", "conversion_at_one"), 1.0)
    _set(d, ("simulation", "burn_in_years"), 1)
    d["simulation"]["replications"] = 4
    sc = scenario_from_dict(d, source="top.toml")
    _check_finite(compare(sc))


@pytest.mark.parametrize("value", [np.nextafter(1e9, 2e9), 1e10, 1e308])
def test_just_above_the_top_is_refused(value):
    d = _base()
    d["deals"]["value_mean"] = float(value)
    with pytest.raises(ScenarioError, match="plausible range"):
        scenario_from_dict(d)
