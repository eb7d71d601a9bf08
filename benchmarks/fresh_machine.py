"""``make demo`` as a new user meets it: a fresh clone, an empty home folder, empty caches.

``python -m benchmarks.fresh_machine [--repo PATH] [--keep]`` clones the repository's committed
``HEAD`` (default: this checkout) into a temporary folder and, with ``HOME`` pointing at a new
empty folder (so pip's, numba's and incentsim's caches are all empty) and no cache variables set:

1. times ``make install`` (the virtual environment and every dependency from the package index);
2. times ``make demo`` in a pseudo-terminal, as a user at a terminal sees it (the progress lines and
   bar are shown only to a terminal), recording when each piece of output arrives: the longest
   silence between two outputs says whether the run ever looks stuck;
3. times a second ``incentsim compare`` of the bundled scenario (caches now warm).

Prints one JSON line: ``install_seconds``, ``demo_seconds`` (compile + calibrate + solve + run
after the install), ``demo_first_output_seconds``, ``demo_longest_silence_seconds``,
``demo_replications`` (what ``replications = "auto"`` ran), ``second_compare_seconds``, the load
average before and after, and the demo's last lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Variables that would let the fresh run reuse this machine's caches or environment.
DROP = ("XDG_CACHE_HOME", "NUMBA_CACHE_DIR", "INCENTSIM_CACHE_DIR", "INCENTSIM_NO_CACHE", "VIRTUAL_ENV",
        "PYTHONPATH", "NUMBA_DISABLE_JIT", "PIP_CACHE_DIR")  # fmt: skip


def fresh_env(home: Path) -> dict[str, str]:
    """This process's environment with an empty home folder and no cache settings."""
    env = {k: v for k, v in os.environ.items() if k not in DROP}
    env.update(HOME=str(home), TERM=env.get("TERM", "xterm"), COLUMNS="100", LINES="40")
    return env


def in_terminal(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict:
    """Run ``cmd`` with its output to a pseudo-terminal; time it and every piece of its output.

    Returns
    -------
    dict
        ``seconds``, ``returncode``, ``first_output`` (seconds), ``longest_silence`` (seconds
        between two outputs, or from the start to the first / the last to the end), and
        ``text`` (everything printed, carriage returns kept).
    """
    master, slave = os.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    stamps: list[float] = []
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.25)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not data:
                break
            stamps.append(time.perf_counter() - t0)
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait()
    end = time.perf_counter() - t0
    os.close(master)
    marks = [0.0, *stamps, end]
    return {
        "seconds": end,
        "returncode": proc.returncode,
        "first_output": stamps[0] if stamps else None,
        "longest_silence": max(b - a for a, b in zip(marks, marks[1:], strict=False)),
        "text": b"".join(chunks).decode(errors="replace"),
    }


def measure(repo: Path = ROOT, keep: bool = False) -> dict:
    """Clone, install, run the demo and a second compare; return the figures (see the module doc)."""
    tmp = Path(tempfile.mkdtemp(prefix="incentsim-fresh-"))
    out: dict = {"repo": str(repo), "load_before": list(os.getloadavg()), "cores": os.cpu_count()}
    try:
        home = tmp / "home"
        home.mkdir()
        clone = tmp / "incentsim"
        subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
        out["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
        ).stdout.strip()
        env = fresh_env(home)
        t0 = time.perf_counter()
        inst = subprocess.run(["make", "install"], cwd=clone, env=env, capture_output=True, text=True)
        out["install_seconds"] = time.perf_counter() - t0
        if inst.returncode != 0:
            out["error"] = f"make install failed: {inst.stderr[-2000:]}"
            return out
        demo = in_terminal(["make", "demo"], clone, env)
        text = demo.pop("text")
        out.update({f"demo_{k}": v for k, v in demo.items()})
        m = re.search(r"([\d,]+) replications(?: \(([^)]*)\))? x", text)
        out["demo_replications"] = int(m.group(1).replace(",", "")) if m else None
        out["demo_precision"] = m.group(2) if m else None
        lines = [x for x in re.split(r"[\r\n]+", text) if x.strip()]
        out["demo_progress_lines"] = [x.strip() for x in lines if x.strip().endswith(" s") or "%" in x][:12]
        out["demo_verdict"] = next((x.strip() for x in lines if x.startswith("Verdict:")), None)
        cmd = [str(clone / ".venv" / "bin" / "incentsim"), "compare", "scenarios/separate-vs-shared.toml"]
        t0 = time.perf_counter()
        second = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True)
        out["second_compare_seconds"] = time.perf_counter() - t0
        out["second_compare_ok"] = second.returncode == 0
    finally:
        out["load_after"] = list(os.getloadavg())
        if keep:
            out["folder"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fresh_machine", description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=ROOT, help="repository to clone (its committed HEAD)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary clone and home folder")
    a = ap.parse_args(argv)
    print(json.dumps(measure(a.repo, a.keep)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
