"""Scenario loading and validation: every bad value is one ScenarioError naming file and key."""

from __future__ import annotations

import copy

import pytest
from conftest import SCENARIOS, small
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incentsim.scenario import ScenarioError, load_scenario, scenario_from_dict
from incentsim.scenario.bundled import bundled


def test_bundled_scenarios_load():
    names = bundled()
    assert {"separate-vs-shared", "new-business-plan"} <= set(names)
    for path in names.values():
        sc = load_scenario(path)
        assert sc.schemes and sc.funnel.stages


def test_defaults_and_structure(small_dict):
    sc = scenario_from_dict(small_dict)
    assert [s.owner for s in sc.funnel.stages] == ["marketing", "sales", "sales"]
    assert sc.funnel.handoff == "appointment"
    assert sc.schemes["shared"].sales.components[0].measure == "team_bookings"
    assert sc.schemes["separate"].marketing.components[0].measure == "appointments"
    assert abs(sum(sc.marketing.seasonality) - 12) < 1  # normalised around 1 per month
    assert sc.hash == scenario_from_dict(copy.deepcopy(small_dict)).hash


def _error(data) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="x.toml")
    return info.value


@pytest.mark.parametrize(
    "edit,key,fragment",
    [
        (lambda d: d["funnel"]["quote"].update(conversion=1.5), "funnel.quote.conversion", "probability"),
        (lambda d: d["funnel"]["quote"].update(dwell_weeks=0.5), "funnel.quote.dwell_weeks", "at least 1"),
        (lambda d: d["funnel"]["quote"].update(convresion=0.5), "funnel.quote.convresion", 'did you mean "conversion"'),
        (lambda d: d["sales"].update(rep=3), "sales.rep", 'did you mean "reps"'),
        (lambda d: d.update(funnel={}), "funnel", "no stages"),
        (lambda d: d.pop("funnel"), "funnel", "required"),
        (lambda d: d["marketing"].update(leads_per_week=-1.0), "marketing.leads_per_week", ">= 0"),
        (lambda d: d["sales"].update(reps=0), "sales.reps", "at least 1"),
        (lambda d: d["simulation"].update(behaviour="lazy"), "simulation.behaviour", "optimising, fixed"),
        (lambda d: d["marketing"].update(seasonality=[1.0] * 11), "marketing.seasonality", "12 values"),
        (lambda d: d["sales"].update(reps="three"), "sales.reps", "integer"),
        (lambda d: d.update(schemes={}), "schemes", "no schemes"),
        (
            lambda d: d["schemes"]["separate"].update(preset="seperate"),
            "schemes.separate.preset",
            'did you mean "separate"',
        ),
    ],
)
def test_bad_values_name_key_and_reason(small_dict, edit, key, fragment):
    edit(small_dict)
    err = _error(small_dict)
    assert err.key == key
    assert fragment in err.reason
    assert str(err).startswith("x.toml: ")
    assert "\n" not in str(err)


SCHEME_ERRORS = [
    ({"measure": "own_bookings", "payout": "curve", "points": [[0, 0], [1.2, 1], [1.0, 1.5]]}, "points[2]", "sorted"),
    ({"measure": "own_bookings", "payout": "curve", "points": [[0, 0], [1, -1]]}, "points[1][1]", ">= 0"),
    ({"measure": "own_bookings", "period": "quarter", "phasing": [0.5, 0.5]}, "phasing", "needs 4 shares"),
    ({"measure": "own_bookings", "period": "quarter", "phasing": [0.3, 0.3, 0.3, 0.3]}, "phasing", "tile the year"),
    # A period without a target: attainment is measured against it (the kernel divided by zero).
    ({"measure": "own_bookings", "period": "quarter", "phasing": [0, 0.5, 0.5, 0]}, "phasing[0]", "(0, 1]"),
    ({"measure": "own_bookings", "period": "quarter", "targets": [0, 1e5, 1e5, 1e5]}, "targets[0]", "positive"),
    ({"measure": "appointments"}, "measure", "not a sales measure"),
    ({"measure": "own_bookings", "period": "week"}, "period", "month, quarter, half, year"),
    ({"measure": "own_bookings", "target": -5}, "target", "positive"),
    ({"measure": "own_bookings", "target": [1, 2]}, "target", "3 values"),
    ({"measure": "own_bookings", "payout": "step", "steps": [[1.0, 1.0], [0.8, 0.5]]}, "steps[1]", "sorted"),
    ({"measure": "own_bookings", "true_up": True}, "true_up", "shorter than a year"),
    ({"measure": "own_bookings", "ratchet": {"up": 0.5, "dwn": 0.1}}, "ratchet.dwn", 'did you mean "down"'),
    ({"components": [{"measure": "own_bookings", "weight": 0.5}, {"measure": "team_bookings", "weight": 0.4}]},
     "components", "sum to 1"),
    ({"measure": "own_bookings", "components": [{"measure": "own_bookings"}]}, "measure", "not both"),
]  # fmt: skip


@pytest.mark.parametrize("sales,key,fragment", SCHEME_ERRORS)
def test_bad_schemes(sales, key, fragment):
    d = small(schemes={"x": {"sales": sales}})
    err = _error(d)
    assert err.key == f"schemes.x.sales.{key}", err
    assert fragment in err.reason, err


def test_a_season_phasing_that_leaves_a_period_without_target_is_refused():
    d = small(schemes={"x": {"sales": {"measure": "own_bookings", "period": "quarter", "phasing": "season"}}})
    d["marketing"]["seasonality"] = [0.0] * 3 + [1.0] * 9
    err = _error(d)
    assert err.key == "schemes.x.sales.phasing", err
    assert "period 1 of 4" in err.reason and "marketing.seasonality" in err.reason, err


def test_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[funnel\nquote = 1")
    with pytest.raises(ScenarioError, match="bad.toml: is not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "missing.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ScenarioError, match="not a text"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match="directory"):
        load_scenario(tmp_path)


def test_presets_all_load():
    from incentsim.scenario.presets import PRESETS

    d = small(schemes={name: {"preset": name} for name in PRESETS})
    sc = scenario_from_dict(d)
    assert set(sc.schemes) == set(PRESETS)
    assert sc.schemes["hybrid"].sales.components[1].measure == "team_bookings"
    assert sc.schemes["ratchet"].sales.components[0].ratchet_up == 0.5


def test_preset_override_keeps_the_rest():
    d = small(schemes={"q": {"preset": "quarterly-step", "sales": {"target_level": 1.1}}})
    comp = scenario_from_dict(d).schemes["q"].sales.components[0]
    assert comp.period == "quarter" and comp.payout == "step" and comp.target_level == 1.1


# -- property: random corruption of a valid scenario never escapes as anything but ScenarioError


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.lists(st.integers(-3, 3), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_bad_input_is_a_scenario_error(data):
    d = copy.deepcopy(small())
    paths = sorted(_paths(d))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = d
        try:
            for k in path[:-1]:
                node = node[k]
        except (KeyError, TypeError):
            continue
        if not isinstance(node, dict):
            continue
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[path[-1]] = data.draw(JUNK)
        elif action == "delete":
            node.pop(path[-1], None)
        else:
            node[data.draw(st.text(min_size=1, max_size=6))] = data.draw(JUNK)
    try:
        scenario_from_dict(d, source="fuzz.toml")
    except ScenarioError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith("fuzz.toml")


def test_bundled_file_is_in_scenarios_folder():
    assert (SCENARIOS / "separate-vs-shared.toml").exists()


def test_ability_levels_agree_with_scipys_normal_functions():
    """The levels of a lognormal ability spread (the standard library's normal distribution,
    loading no scipy) equal the formula evaluated with scipy.special's ndtri/ndtr to 1e-14
    relative, for cv 0.05-1.5 and 2-12 types; their mean is 1 to 1e-13."""
    import math

    import numpy as np
    from scipy.special import ndtr, ndtri

    from incentsim.scenario.load import ability_levels

    for cv in (0.05, 0.1, 0.25, 0.3, 0.5, 0.8, 1.5):
        sigma = math.sqrt(math.log1p(cv * cv))
        for types in range(2, 13):
            edges = ndtri([i / types for i in range(types + 1)])
            want = [math.exp(-0.5 * sigma**2 + 0.5 * sigma**2) * (ndtr(b - sigma) - ndtr(a - sigma)) * types
                    for a, b in zip(edges[:-1], edges[1:], strict=True)]  # fmt: skip
            got = ability_levels(cv, types)
            np.testing.assert_allclose(got.levels, want, rtol=1e-14, atol=0)
            assert abs(sum(got.levels) / types - 1.0) < 1e-13
            assert list(got.levels) == sorted(got.levels)
