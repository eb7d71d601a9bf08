"""Tier: caches. A cached result is used only by the code that produced it.

Each test fills a fresh cache folder (``INCENTSIM_CACHE_DIR``) on a small optimising scenario,
then rewrites every entry through the cache's own API with values that are valid but wrong
(scaled by 3), so using an entry is visible in the result. With the same code the doctored
entry is used (the test can tell); after a change of the solver's source (simulated by changing
``incentsim._cache.source_hash``, the one home of code hashes) it must be missed and the result
computed afresh. Deterministic: no simulation, the solver on a 3-rep company.
"""

from __future__ import annotations

import pytest
from conftest import small

from incentsim import scenario_from_dict


def _scenario(quote_conversion: float | None = None):
    d = small(simulation={"replications": 20, "seed": 1, "behaviour": "optimising"})
    d["behaviour"] = {"grid_points": 41}
    if quote_conversion is not None:
        d["funnel"]["quote"]["conversion"] = quote_conversion
    return scenario_from_dict(d)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    from incentsim.model import policy

    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("INCENTSIM_NO_CACHE", raising=False)
    memo = getattr(policy, "_CALIBRATION_CACHE", {})
    memo.clear()
    yield tmp_path
    memo.clear()


def _forget_in_memory() -> None:
    from incentsim.model import policy

    getattr(policy, "_CALIBRATION_CACHE", {}).clear()


def _change_solver_source(monkeypatch) -> None:
    import incentsim._cache as cache

    real = cache.source_hash
    monkeypatch.setattr(cache, "source_hash", lambda *paths: "changed-" + real(*paths))


def _arrays(obj) -> list:
    """Every numpy array inside a solved policy (named tuples, dataclasses, dicts), in a fixed order."""
    import dataclasses

    import numpy as np

    if isinstance(obj, np.ndarray):
        return [obj.copy()]
    if dataclasses.is_dataclass(obj):
        obj = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    elif isinstance(obj, dict):
        obj = [obj[k] for k in sorted(obj)]
    if isinstance(obj, (list, tuple)):
        return [a for item in obj for a in _arrays(item)]
    return []


def _same(a: list, b: list) -> bool:
    import numpy as np

    return len(a) == len(b) and all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))


def _entries(folder, suffix: str) -> list[str]:
    return sorted(p.name for p in folder.rglob(f"*{suffix}"))


@pytest.mark.slow  # minutes with the rewritten solver: two solves and calibrations
def test_changed_solver_source_misses_the_old_policy_cache(fresh_cache, monkeypatch):
    from incentsim import _cache
    from incentsim.model.policy import solve_policy

    sc = _scenario()
    scheme = sc.schemes["shared"]
    clean = _arrays(solve_policy(sc, scheme).policy)
    assert clean, "no arrays found in the solved policy"
    names = _entries(fresh_cache, ".npz")
    assert names, "solve_policy wrote no cache entry"
    # Doctored within every range the cache checks on read (a x3 would be refused and recomputed).
    for name in names:
        rel = next(fresh_cache.rglob(name)).relative_to(_cache.cache_dir())
        arrays = _cache.load_arrays(str(rel))
        _cache.save_arrays(str(rel), {k: (v * 0.9 if v.dtype.kind == "f" else v) for k, v in arrays.items()})
    _forget_in_memory()
    doctored = _arrays(solve_policy(sc, scheme).policy)
    assert not _same(doctored, clean), "the doctored entry was not used: the test cannot tell"
    _change_solver_source(monkeypatch)
    _forget_in_memory()
    assert _same(_arrays(solve_policy(sc, scheme).policy), clean)


@pytest.mark.slow
def test_changed_solver_source_misses_the_old_calibration_cache(fresh_cache, monkeypatch):
    from incentsim import _cache
    from incentsim.model.policy import calibrate

    sc = _scenario()
    clean = dict(calibrate(sc))
    names = _entries(fresh_cache, ".json")
    assert names, "calibrate wrote no cache entry"
    for name in names:
        rel = str(next(fresh_cache.rglob(name)).relative_to(_cache.cache_dir()))
        entry = _cache.load_json(rel)
        _cache.save_json(rel, {k: (v * 3 if isinstance(v, float) else v) for k, v in entry.items()})
    _forget_in_memory()
    doctored = dict(calibrate(sc))
    assert doctored != clean, "the doctored entry was not used: the test cannot tell"
    _change_solver_source(monkeypatch)
    _forget_in_memory()
    assert dict(calibrate(sc)) == clean


def test_a_solve_with_given_effort_costs_is_cached_under_those_costs(fresh_cache):
    """The counterfactuals of incentsim.mechanisms solve with the scenario's calibrated effort costs
    given: the second solve with the same costs reads the cache (a new entry, and the same arrays),
    other costs are a different entry, and a warm-started solve with given costs is an entry of its
    start's content: the same start (fresh or read from the cache) reads it, another start does not."""
    from incentsim.model.policy import calibrate, solve_policy

    sc = _scenario()
    kappa = calibrate(sc)
    first = solve_policy(sc, "shared", kappa=kappa)
    names = _entries(fresh_cache, ".npz")
    policies = [n for n in names if n.startswith("policy-") and "-k" in n]
    assert len(policies) == 1, names
    from incentsim import _cache

    rel = next(fresh_cache.rglob(policies[0])).relative_to(_cache.cache_dir())
    arrays = _cache.load_arrays(str(rel))
    _cache.save_arrays(str(rel), {k: (v * 0.9 if v.dtype.kind == "f" else v) for k, v in arrays.items()})
    again = _arrays(solve_policy(sc, "shared", kappa=kappa).policy)
    assert not _same(again, _arrays(first.policy)), "the (doctored) cache entry was not read"
    other = dict(kappa, sales=kappa["sales"] * 1.5)
    solve_policy(sc, "shared", kappa=other)
    after = [n for n in _entries(fresh_cache, ".npz") if n.startswith("policy-") and "-k" in n]
    assert len(after) == 2
    doubled = dict(kappa, sales=kappa["sales"] * 2.0)
    warm = solve_policy(sc, "shared", kappa=doubled, start=first)
    started = [n for n in _entries(fresh_cache, ".npz") if n.startswith("policy-") and "-k" in n]
    assert len(started) == 3 and sum("-w" in n for n in started) == 1, started
    # The same start read back from the cache (``first``'s entry, doctored above, is read again as
    # ``again_solved``: another start) versus ``first`` itself: one entry each, and ``first`` reads its own.
    again_solved = solve_policy(sc, "shared", kappa=kappa)
    assert again_solved.warm is not None
    solve_policy(sc, "shared", kappa=doubled, start=again_solved)
    assert len([n for n in _entries(fresh_cache, ".npz") if n.startswith("policy-") and "-w" in n]) == 2
    assert _same(_arrays(solve_policy(sc, "shared", kappa=doubled, start=first).policy), _arrays(warm.policy))
    assert len([n for n in _entries(fresh_cache, ".npz") if n.startswith("policy-") and "-w" in n]) == 2


def test_a_cached_policy_keeps_its_warm_start_and_a_damaged_one_is_solved_again(fresh_cache):
    """The policy cache keeps a solve's warm start (the equilibrium's fields, each agent's guesses,
    the cost scales) bit for bit, so a policy read back starts a nearby solve as the fresh one
    does; a warm start that is not finite makes the entry unusable: solved again, same arrays."""
    import numpy as np

    from incentsim import _cache
    from incentsim.model.policy import solve_policy, warm_digest

    sc = _scenario()
    fresh = solve_policy(sc, "separate")
    read = solve_policy(sc, "separate")
    assert read is not fresh and read.warm is not None
    assert warm_digest(read.warm) == warm_digest(fresh.warm)
    assert sorted(read.warm.guesses) == sorted(fresh.warm.guesses) and read.warm.kappa == fresh.warm.kappa
    name = next(n for n in _entries(fresh_cache, ".npz") if n.startswith("policy-"))
    rel = next(fresh_cache.rglob(name)).relative_to(_cache.cache_dir())
    arrays = _cache.load_arrays(str(rel))
    arrays["warm_mkt_effort"] = np.full_like(arrays["warm_mkt_effort"], np.nan)
    _cache.save_arrays(str(rel), arrays)
    again = solve_policy(sc, "separate")
    assert warm_digest(again.warm) == warm_digest(fresh.warm)
    assert _same(_arrays(again.policy), _arrays(fresh.policy))
    assert np.all(np.isfinite(_cache.load_arrays(str(rel))["warm_mkt_effort"]))  # rewritten


def test_a_share_a_rounding_above_one_keeps_its_cache_entry(fresh_cache):
    """A follow-up share averaged from choice probabilities can be 1 + 7e-16 (seen in a plausible
    world): the cache's check refused the solver's own entry (a warning, and a solve on every run).
    Rounding is accepted; a share really above 1 (1.01) still makes the entry unusable."""
    from incentsim.model.policy import _from_arrays, _to_arrays, solve_policy

    sc = _scenario()
    arrays = _to_arrays(solve_policy(sc, "separate"))
    assert _from_arrays(dict(arrays), sc) is not None
    for value, usable in ((1.0000000000000007, True), (1.01, False)):
        d = dict(arrays)
        choice = d["sales_choice"].copy()
        choice.reshape(-1, 3)[0, 1] = value
        d["sales_choice"] = choice
        assert (_from_arrays(d, sc) is not None) is usable, value


def test_two_versions_of_a_scheme_of_one_name_are_two_policies(fresh_cache):
    """``incentsim design`` solves every candidate plan under one name against the base scenario,
    which does not hold it: keyed by the scenario's hash and the scheme's name alone, each candidate
    after the first read the first's policy, and people did not respond to the plan searched over
    (every high-quota finalist worked exactly as hard). The scheme's content is in the key
    (``Scheme.hash``): a higher target under a linear bonus lowers the pay per unit of output, and
    the solved effort falls."""
    import copy

    from incentsim.model.policy import calibrate, solve_policy
    from incentsim.scenario.load import scenario_from_dict as load

    d = small(simulation={"replications": 20, "seed": 1, "behaviour": "optimising"})
    d["behaviour"] = {"grid_points": 41}
    sc = load(d)
    kappa = calibrate(sc)
    efforts, hashes = [], []
    for level in (1.0, 1.4):
        data = copy.deepcopy(d)
        data["schemes"]["candidate"] = {"sales": {
            "measure": "own_bookings", "period": "year", "target": "auto", "payout": "linear", "target_level": level,
        }}  # fmt: skip
        candidate = load(data).schemes["candidate"]
        hashes.append(candidate.hash)
        efforts.append(solve_policy(sc, candidate, kappa=kappa).info["mean_sales_effort"])
    assert hashes[0] != hashes[1]
    assert efforts[1] < efforts[0] - 0.005, efforts
    assert len([n for n in _entries(fresh_cache, ".npz") if n.startswith("policy-")]) == 2


def test_a_warm_started_solve_or_calibration_is_never_read_as_the_scenarios_own(fresh_cache, tmp_path, monkeypatch):
    """A calibration or solve from a start agrees with a cold one only to the tolerances (and where a
    scenario has two equilibria it may settle in the other: plausible worlds of the bundled company
    did), so it is cached under its start's content: after a warm-started ``calibrate(sc,
    start=...)`` and ``solve_policy(sc, name, start=...)``, the plain calls give what they give with
    empty caches, to the last bit. Until 2026-11-30 both were cached as the scenario's own, and a
    later cold call read them: its answer depended on what had run before."""
    from incentsim.model.policy import calibrate, solve_policy

    sc = _scenario()
    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(tmp_path / "reference"))
    cold_kappa = dict(calibrate(sc))
    cold = _arrays(solve_policy(sc, "shared").policy)
    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(fresh_cache))
    _forget_in_memory()
    near = _scenario(quote_conversion=0.55)
    warm_kappa = dict(calibrate(sc, start=calibrate(near)))
    warm = _arrays(solve_policy(sc, "shared", start=solve_policy(near, "shared")).policy)
    assert warm_kappa != cold_kappa and not _same(warm, cold), "the starts gave the cold answers: the test cannot tell"
    _forget_in_memory()
    assert dict(calibrate(sc)) == cold_kappa
    assert _same(_arrays(solve_policy(sc, "shared").policy), cold)
