"""Tier: reliability, kill and check. Every command that writes files is stopped with SIGINT or
SIGTERM at the worst moment (all its outputs written to temporary files, none renamed yet) and
while it works; the old set of outputs must stay exactly as it was, with no temporary file left.
A SIGKILL leaves a temporary file; the next run of the command removes it.

The moment is made deterministic by a test hook: with ``INCENTSIM_DEBUG_PAUSE_BEFORE_COMMIT`` set,
a command announces on stderr that its outputs are staged and waits before renaming them.
Runs are small (fixed behaviour, 40 replications, seed 3); nothing random is asserted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import interruptible, small

from incentsim.io import PAUSE_BEFORE_COMMIT

pytestmark = pytest.mark.slow


def _scenario(folder: Path) -> Path:
    from test_reliability import write_toml

    d = small(behaviour={"grid_points": 41})
    d["simulation"] = {"replications": 40, "seed": 3, "behaviour": "fixed"}
    return write_toml(d, folder / "s.toml")


def _export(folder: Path, scenario: Path) -> Path:
    path = folder / "export.csv"
    subprocess.run(
        [sys.executable, "-m", "incentsim.cli.main", "synth-crm", str(scenario), "--out", str(path), "--years", "2"],
        check=True,
        capture_output=True,
    )
    return path


#: command -> (arguments after the command, outputs)
COMMANDS = {
    "run": (["{s}", "--out", "o/a.parquet", "--people", "o/b.csv"], ["a.parquet", "b.csv"]),
    "compare": (
        ["{s}", "--json", "o/c.json", "--markdown", "o/c.md", "--plot", "o/c.png"],
        ["c.json", "c.md", "c.png"],
    ),
    "report": (["{s}", "--out", "o/r.html"], ["r.html"]),
    "payout": (["{s}", "--csv", "o/p.csv"], ["p.csv"]),
    "policy": (["{s}", "--png", "o/p.png"], ["p.png"]),
    "forecast": (["{s}", "--png", "o/f.png"], ["f.png"]),
    "synth-crm": (["{s}", "--out", "o/e.csv", "--truth", "o/t.json", "--years", "1"], ["e.csv", "t.json"]),
    "calibrate": (["{e}", "--out", "o/c.toml", "--template", "{s}"], ["c.toml"]),
    "sensitivity": (
        ["{s}", "-n", "20", "--workers", "0", "--method", "none", "--png", "o/t.png", "--json", "o/t.json"],
        ["t.png", "t.json"],
    ),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interrupt")
    scenario = _scenario(folder)
    return scenario, _export(folder, scenario)


def _start(cmd: str, folder: Path, inputs, pause: float | None) -> subprocess.Popen:
    scenario, export = inputs
    args = [a.format(s=scenario, e=export).replace("o/", f"{folder}/") for a in COMMANDS[cmd][0]]
    env = dict(os.environ)
    if pause is not None:
        env[PAUSE_BEFORE_COMMIT] = str(pause)
    else:
        env.pop(PAUSE_BEFORE_COMMIT, None)
    return subprocess.Popen(
        [sys.executable, "-m", "incentsim.cli.main", cmd, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=folder,
        preexec_fn=interruptible,
    )


def _signal_and_wait(proc: subprocess.Popen, sig: int) -> str:
    """Send ``sig`` and wait up to 60 s for the command to end; its stderr. A command still running
    then is killed (never left behind to slow the rest of the suite) and the test fails."""
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the command did not stop within 60 s of {signal.Signals(sig).name}")


def _old_set(folder: Path, names: list[str]) -> dict[str, bytes]:
    old = {}
    for name in names:
        (folder / name).write_bytes(f"old {name}\n".encode())
        old[name] = (folder / name).read_bytes()
    return old


def _wait_staged(proc: subprocess.Popen, timeout: float = 240) -> str:
    """Read stderr until the command says its outputs are staged."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "staged" in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"the command never staged its outputs: {''.join(seen)}{proc.stdout.read()}")


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


#: SIGTERM for every command; SIGINT (the same path through KeyboardInterrupt) for a few.
CASES = [(cmd, signal.SIGTERM) for cmd in COMMANDS] + [(cmd, signal.SIGINT) for cmd in ("run", "compare", "synth-crm")]


@pytest.mark.parametrize("cmd,sig", CASES, ids=[f"{c}-{signal.Signals(s).name}" for c, s in CASES])
def test_a_signal_before_the_renames_leaves_the_old_set(tmp_path, inputs, cmd, sig):
    names = COMMANDS[cmd][1]
    old = _old_set(tmp_path, names)
    proc = _start(cmd, tmp_path, inputs, pause=60)
    _wait_staged(proc)
    staged = _temporaries(tmp_path)
    assert len(staged) == len(names), staged  # every output written, none renamed yet
    err = _signal_and_wait(proc, sig)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert err.strip().splitlines()[-1] == ("terminated" if sig == signal.SIGTERM else "interrupted"), err
    assert "Traceback" not in err
    assert {n: (tmp_path / n).read_bytes() for n in names} == old
    assert _temporaries(tmp_path) == []


def test_without_a_signal_the_new_set_replaces_the_old(tmp_path, inputs):
    names = COMMANDS["compare"][1]
    old = _old_set(tmp_path, names)
    proc = _start("compare", tmp_path, inputs, pause=None)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert all((tmp_path / n).read_bytes() != old[n] for n in names)
    assert json.loads((tmp_path / "c.json").read_text())["replications"] == 40
    assert _temporaries(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_working_leaves_the_old_set(tmp_path, inputs, sig):
    """Stopped mid-simulation (a long streamed run), nothing is written at all."""
    scenario, _ = inputs
    names = ["long.json"]
    old = _old_set(tmp_path, names)
    env = {k: v for k, v in os.environ.items() if k != PAUSE_BEFORE_COMMIT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "incentsim.cli.main", "compare", str(scenario), "-n", "50000000", "--json", "long.json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=interruptible,
    )
    time.sleep(6)
    assert proc.poll() is None, proc.communicate()
    err = _signal_and_wait(proc, sig)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert "Traceback" not in err
    assert (tmp_path / "long.json").read_bytes() == old["long.json"]
    assert _temporaries(tmp_path) == []


def test_sigkill_leaves_a_temporary_that_the_next_run_removes(tmp_path, inputs):
    names = COMMANDS["run"][1]
    old = _old_set(tmp_path, names)
    proc = _start("run", tmp_path, inputs, pause=60)
    _wait_staged(proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert {n: (tmp_path / n).read_bytes() for n in names} == old  # never a half-written output
    assert len(_temporaries(tmp_path)) == 2  # what SIGKILL cannot clean up
    proc = _start("run", tmp_path, inputs, pause=None)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert _temporaries(tmp_path) == []
    assert all((tmp_path / n).read_bytes() != old[n] for n in names)
