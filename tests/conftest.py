"""Shared fixtures: small scenarios built from dicts, the CLI runner, bundled paths."""

from __future__ import annotations

import copy
import os
import signal
import tempfile
from pathlib import Path

# Tests never read or write the user's caches: compiled kernels go to a folder of the checkout's
# own (kept between runs, keyed by kernel source hash, so the suite compiles once), and solved
# policies and calibrations to a fresh folder per session. Set before incentsim is imported.
_ROOT = Path(__file__).resolve().parent.parent
os.environ["XDG_CACHE_HOME"] = str(_ROOT / ".pytest_cache" / "xdg")
os.environ["INCENTSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="incentsim-test-cache-")
os.environ.pop("NUMBA_CACHE_DIR", None)

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

import incentsim  # noqa: E402, F401  (points numba's cache at the folder above before any test imports numba)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

#: A small company: 3 reps, marketing of 2, seed-plan funnel. Tests copy and edit it.
SMALL = {
    "scenario": {"name": "small"},
    "simulation": {"replications": 200, "seed": 42, "behaviour": "fixed"},
    "funnel": {
        "lead": {"dwell_weeks": 2.0, "conversion": 0.25},
        "appointment": {"dwell_weeks": 2.0, "conversion": 0.2},
        "quote": {"dwell_weeks": 3.0, "conversion": 0.5},
    },
    "marketing": {"headcount": 2, "leads_per_week": 20.0, "bonus_at_target": 5000.0},
    "sales": {"reps": 3, "calls_per_week": 6.0, "bonus_at_target": 10000.0},
    "deals": {"value_mean": 5000.0, "value_cv": 0.5},
    "schemes": {"separate": {"preset": "separate"}, "shared": {"preset": "shared"}},
}


def small(**edits) -> dict:
    """A deep copy of SMALL with top-level tables updated (dict values merge one level deep)."""
    d = copy.deepcopy(SMALL)
    for key, value in edits.items():
        if isinstance(value, dict) and isinstance(d.get(key), dict) and key != "schemes":
            d[key].update(value)
        else:
            d[key] = value
    return d


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def small_dict() -> dict:
    return small()


def interruptible() -> None:
    """``preexec_fn`` for a command a test stops with SIGINT: SIGINT handled as at a terminal. A
    shell starts background jobs with SIGINT ignored, children inherit that, and Python then keeps
    ignoring it (as it should: the shell asked for it), so a suite started in the background failed
    the Ctrl-C tests."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
