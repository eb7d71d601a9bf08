"""Tier: reliability, caches that heal. Each kind of cache entry (a solved policy, a calibration, a
compiled kernel) is corrupted in each way of issue 13 (truncated, bit-flipped, empty, reshaped,
NaN values, wrong keys); the rerun must equal a clean run, report exactly one warning, and leave
a valid entry behind.

Deterministic: seed 1, 60 replications, optimising behaviour on the small test company (grid of 41
points); results are compared for equality, not within a tolerance.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import small

from incentsim import _cache, scenario_from_dict
from incentsim.comparison import compare


def _scenario():
    d = small(behaviour={"grid_points": 41})
    d["simulation"] = {"replications": 60, "seed": 1, "behaviour": "optimising"}
    return scenario_from_dict(d)


def _run(folder: Path, monkeypatch) -> dict:
    """A comparison with the policy and calibration caches in ``folder`` (nothing kept in memory)."""
    from incentsim.model import policy

    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(folder))
    policy._CALIBRATION_CACHE.clear()
    _cache._warned.clear()
    out = compare(_scenario()).to_json()
    out.pop("solver", None)  # diagnostics only (identical anyway)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        folder = tmp_path_factory.mktemp("cache-clean")
        result = _run(folder, mp)
        entries = sorted((folder / _version()).iterdir())
        assert {e.suffix for e in entries} == {".npz", ".json"}, entries
        again = _run(folder, mp)  # from the cache
        assert again == result
        yield folder, result
    finally:
        mp.undo()


def _version() -> str:
    from incentsim import __version__

    return __version__


def _restamp_npz(path: Path, edit) -> None:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    edit(arrays)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _restamp_json(path: Path, edit) -> None:
    entry = json.loads(path.read_text())
    entry["data"] = edit(entry["data"])
    try:
        entry["sha256"] = _cache._digest(entry["data"])
    except ValueError:  # NaN: no digest can be made, the parser refuses it first
        pass
    path.write_text(json.dumps(entry))


def _flip(path: Path) -> None:
    b = bytearray(path.read_bytes())
    b[len(b) // 2] ^= 0x08
    path.write_bytes(bytes(b))


def _largest(a: dict, kinds: str = "iuf") -> str:
    """The key of the largest array of these dtype kinds (the policy grids)."""
    keys = [k for k, v in a.items() if v.dtype.kind in kinds and v.size > 1]
    return max(keys, key=lambda k: (a[k].size, k))


def _nan_policy(a):
    k = _largest(a, "f")
    a[k] = a[k] * np.nan


def _reshape_policy(a):
    k = _largest(a)
    a[k] = a[k].reshape(-1, a[k].shape[-1]) if a[k].ndim > 2 else a[k].reshape(-1)


def _wrong_key_policy(a):
    k = _largest(a)
    a[k + "_renamed"] = a.pop(k)


def _out_of_range_policy(a):
    ints = [k for k, v in a.items() if v.dtype.kind in "iu" and v.size > 1]
    if not ints:
        pytest.skip("this policy format has no index arrays")
    k = max(ints, key=lambda k: (a[k].size, k))
    a[k] = np.full_like(a[k], np.iinfo(a[k].dtype).max)  # indices past their table (a crash in the kernel)


def _nan_calibration(d):
    d["sales"] = float("nan")
    return d


def _wrong_key_calibration(d):
    d["sale"] = d.pop("sales")
    return d


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "bit-flipped": _flip,
    "empty": lambda p: p.write_bytes(b""),
    "reshaped-policy": lambda p: _restamp_npz(p, _reshape_policy) if p.suffix == ".npz" else _restamp_json(p, list),
    "nan-values": lambda p: _restamp_npz(p, _nan_policy) if p.suffix == ".npz" else _restamp_json(p, _nan_calibration),
    "wrong-keys": lambda p: (
        _restamp_npz(p, _wrong_key_policy) if p.suffix == ".npz" else _restamp_json(p, _wrong_key_calibration)
    ),
    "out-of-range": lambda p: (
        _restamp_npz(p, _out_of_range_policy)
        if p.suffix == ".npz"
        else _restamp_json(p, lambda d: {**d, "marketing": "x"})
    ),
    "not-json-or-zip": lambda p: p.write_bytes(b"\x00garbage" * 10),
}


@pytest.mark.parametrize("kind", ["policy", "calibration"])
@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_a_corrupt_entry_is_reported_once_deleted_and_recomputed(clean, tmp_path, monkeypatch, caplog, kind, how):
    folder, expected = clean
    work = tmp_path / "cache"
    shutil.copytree(folder, work)
    entries = sorted((work / _version()).glob("policy-*.npz" if kind == "policy" else "calibration-*.json"))
    target = entries[0]
    CORRUPTIONS[how](target)
    from incentsim.model import policy

    if kind == "calibration":
        # The calibration is read only when a policy has to be solved: drop the policies too.
        for p in (work / _version()).glob("policy-*.npz"):
            p.unlink()
    with caplog.at_level(logging.WARNING, logger="incentsim"):
        result = _run(work, monkeypatch)
    assert result == expected
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert target.name in warnings[0].getMessage() and "deleted" in warnings[0].getMessage()
    # The entry was written again, valid: a third run reads it silently.
    assert target.exists()
    caplog.clear()
    policy._CALIBRATION_CACHE.clear()
    with caplog.at_level(logging.WARNING, logger="incentsim"):
        assert _run(work, monkeypatch) == expected
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_entries_of_other_code_are_stale_not_damaged(clean, tmp_path, monkeypatch, caplog):
    folder, expected = clean
    work = tmp_path / "cache"
    shutil.copytree(folder, work)
    for p in (work / _version()).glob("calibration-*.json"):
        entry = json.loads(p.read_text())
        entry["code"] = "0" * 12
        p.write_text(json.dumps(entry))
    for p in (work / _version()).glob("policy-*.npz"):
        p.unlink()
    with caplog.at_level(logging.WARNING, logger="incentsim"):
        assert _run(work, monkeypatch) == expected
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_non_finite_results_are_never_cached(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("INCENTSIM_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="incentsim"):
        _cache.save_json("x.json", {"sales": float("nan")})
        _cache.save_arrays("y.npz", {"a": np.array([1.0, np.inf])})
    assert not list((tmp_path / _version()).iterdir())
    assert len(caplog.records) == 2


# -- compiled kernels (numba's cache) ---------------------------------------------------------------

_KERNEL = textwrap.dedent(
    """
    from numba import njit

    @njit(cache=True)
    def triple_plus_one(x):
        return 3 * x + 1
    """
)
_RUN = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    import incentsim  # installs the guard before numba loads
    import tiny_kernel
    print(tiny_kernel.triple_plus_one(14))
    """
)


def _numba_run(folder: Path, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-c", _RUN, str(folder)], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "empty", "not-json-or-zip"])
def test_a_corrupt_compiled_kernel_is_recompiled(tmp_path, suffix, how):
    """numba's index (.nbi) and data (.nbc) files: a damaged one is a cache miss with one warning."""
    (tmp_path / "tiny_kernel.py").write_text(_KERNEL)
    cache = tmp_path / "numba"
    first = _numba_run(tmp_path, cache)
    assert first.returncode == 0 and first.stdout.strip() == "43", first.stderr
    files = sorted(cache.rglob(f"*{suffix}"))
    assert files, list(cache.rglob("*"))
    CORRUPTIONS[how](files[0])
    second = _numba_run(tmp_path, cache)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "43"
    lines = [x for x in second.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "compiled-kernel cache file" in lines[0] and "deleted" in lines[0], second.stderr
    third = _numba_run(tmp_path, cache)  # rewritten: read silently
    assert third.returncode == 0 and third.stdout.strip() == "43" and not third.stderr.strip(), third.stderr
