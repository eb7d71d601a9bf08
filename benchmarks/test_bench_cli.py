"""``incentsim compare scenarios/separate-vs-shared.toml --replications 10000`` end to end in
subprocesses: cold (fresh NUMBA_CACHE_DIR and INCENTSIM_CACHE_DIR: everything compiles and the
calibration is computed) and warm (the same folders again). One round each: the cold run
compiles every kernel."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from . import harness as H
from .configurations import CLI_REPLICATIONS, ROOT, SCENARIO


@pytest.fixture(scope="module")
def cache_dirs():
    with tempfile.TemporaryDirectory(prefix="incentsim-bench-") as tmp:
        yield {"NUMBA_CACHE_DIR": str(Path(tmp) / "numba"), "INCENTSIM_CACHE_DIR": str(Path(tmp) / "cache")}


def _compare(env_dirs):
    env = H._env(**env_dirs)
    env.pop("INCENTSIM_NO_CACHE", None)
    cmd = H.incentsim_command() + ["compare", str(SCENARIO), "--replications", str(CLI_REPLICATIONS)]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


@pytest.mark.parametrize("state", ["cold", "warm"])
def test_cli_compare(benchmark, cache_dirs, state):
    if state == "warm":
        _compare(cache_dirs)  # make sure the caches are filled (also when run alone)
    benchmark.group = "cli-compare"
    benchmark.pedantic(_compare, args=(cache_dirs,), rounds=1 if state == "cold" else 2, iterations=1)
    benchmark.extra_info["replications"] = CLI_REPLICATIONS
