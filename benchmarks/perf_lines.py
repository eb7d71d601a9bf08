"""Where the simulation kernel's time goes, by function and source line: Linux ``perf`` samples.

``benchmarks.kernel_sections`` counts cycles per stage of the week; this samples the kernel as it
runs, so it sees inside the stages and the calls between them (a call's argument copies, a
helper that was not inlined). A first, ad-hoc run of it found the week's choices' call pushing
about 430 words onto the stack every week, 5.4 % of the samples on the call's line at 53409ea
(``kernels.jit._internalize_link_only``; 1.7 % after).

How: a child process compiles the kernel with numba's debug information (``NUMBA_DEBUGINFO=1``,
its own empty numba cache: a first compile, 30-60 s), writes the kernel's object file and the
address it was loaded at, then simulates on one thread under ``perf record`` (a software clock,
``cpu-clock``: this works on virtual machines without hardware counters). Each sample in the
kernel's code is mapped to the object file's function (``nm``) and the nearest line before it in
``objdump``'s line table (lines are approximate: the compiler moves code; a function numba
inlined keeps its own lines). Nothing in ``src/`` is modified; the results are the kernel's.
With debug information LLVM may inline differently: ``_choose_roles`` is a function of its own
here but inlined into ``_simulate`` in the kernel users run, so read a helper's share as that of
its lines, not of a call. ``--instructions N`` lists the N instructions with the most samples
(a sample often lands on the instruction waiting for a slow one's result).

``python -m benchmarks.perf_lines [--scheme separate] [--behaviour fixed] [--replications 6000]
[--top 40] [--function _choose_roles] [--instructions 40]`` (needs ``perf``, ``nm`` and ``objdump``
on the PATH; 1-2 minutes).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "separate-vs-shared.toml"

#: The child: compile (one small run), write the kernel's object and address, then the timed run.
_CHILD = """
import json, sys, time
from pathlib import Path
from incentsim import load_scenario
from incentsim.simulation import simulate
from incentsim.threads import set_thread_count
from incentsim.kernels.funnel import _simulate
scenario, scheme, behaviour, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
sc = load_scenario(scenario)
set_thread_count(1)
if behaviour == "fixed":
    how = {"behaviour": "fixed"}
else:
    from incentsim.model.policy import solve_policy
    how = {"policy": solve_policy(sc, scheme).policy}
simulate(sc, scheme, replications=16, **how)
(compiled,) = _simulate.overloads.values()
library, name = compiled.library, compiled.fndesc.llvm_func_name
(out / "kernel.o").write_bytes(library._get_compiled_object())
(out / "kernel.json").write_text(json.dumps({"name": name, "address": library.get_pointer_to_function(name)}))
t = time.perf_counter()
simulate(sc, scheme, replications=n, **how)
(out / "seconds").write_text(str(time.perf_counter() - t))
"""


def _run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def _symbols(obj: Path) -> tuple[str, list[tuple[int, int, str]]]:
    """The code section of ``obj`` and its functions ``(start, size, name)``, sorted."""
    functions = []
    section = ".text"
    for line in _run(["objdump", "-t", str(obj)]).splitlines():
        # address, flags (F: a function), section, size, name
        parts = line.split()
        flags = parts[1:-3]
        if len(parts) >= 5 and any("F" in f for f in flags) and "text" in parts[-3] and int(parts[-2], 16) > 0:
            functions.append((int(parts[0], 16), int(parts[-2], 16), parts[-1]))
            section = parts[-3]
    return section, sorted(functions)


def _line_table(obj: Path, section: str) -> tuple[list[int], list[str], list[str]]:
    """Every instruction's address in ``section``, the source line ``objdump -l`` gives before it,
    and the instruction."""
    addresses: list[int] = []
    lines: list[str] = []
    texts: list[str] = []
    current = "?"
    for raw in _run(["objdump", "-dl", "--no-show-raw-insn", "-j", section, str(obj)]).splitlines():
        text = raw.strip()
        if text.startswith("/") and ".py:" in text:
            current = text.rsplit("/", 1)[-1].split(" ")[0]
            continue
        head, sep, rest = text.partition(":")
        if sep and raw.startswith(" ") and head and all(c in "0123456789abcdef" for c in head):
            addresses.append(int(head, 16))
            lines.append(current)
            texts.append(" ".join(rest.split()))
    return addresses, lines, texts


def _short(name: str) -> str:
    """``incentsim.kernels.rng._binomial`` from numba's mangled symbol (its module and function)."""
    if not name.startswith("_ZN"):
        return name
    parts, i = [], 3
    while i < len(name) and name[i].isdigit():
        j = i
        while name[j].isdigit():
            j += 1
        n = int(name[i:j])
        parts.append(name[j : j + n])
        i = j + n
    return ".".join(parts) or name


def profile(scheme: str, behaviour: str, replications: int, function: str = "") -> dict:
    """Samples of the kernel by function and by source line (shares of the kernel's samples; with
    ``function``, the lines of the functions whose name ends with it, as shares of their samples)."""
    missing = [tool for tool in ("perf", "nm", "objdump") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"benchmarks.perf_lines needs {', '.join(missing)} on the PATH")
    with tempfile.TemporaryDirectory(prefix="incentsim-perf-") as tmp:
        out = Path(tmp)
        env = dict(os.environ, NUMBA_DEBUGINFO="1", NUMBA_CACHE_DIR=str(out / "numba"), NUMBA_NUM_THREADS="1")
        data = out / "perf.data"
        cmd = [sys.executable, "-c", _CHILD, str(SCENARIO), scheme, behaviour, str(replications), str(out)]
        _run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", str(data), "--", *cmd], env=env)
        meta = json.loads((out / "kernel.json").read_text())
        obj = out / "kernel.o"
        section, functions = _symbols(obj)
        starts = [f[0] for f in functions]
        kernel = next(f for f in functions if f[2] == meta["name"])
        base = meta["address"] - kernel[0]
        end = max(f[0] + f[1] for f in functions)
        ips = []
        for line in _run(["perf", "script", "-i", str(data), "-F", "ip,dso"]).splitlines():
            ip, _, dso = line.strip().partition(" ")
            if "perf-" in dso or "JIT" in dso:
                ips.append(int(ip, 16) - base)
        inside = [o for o in ips if 0 <= o < end]
        addresses, lines, texts = _line_table(obj, section)
        by_function: collections.Counter = collections.Counter()
        by_line: collections.Counter = collections.Counter()
        by_insn: collections.Counter = collections.Counter()
        n_lines = 0
        for o in inside:
            k = bisect.bisect_right(starts, o) - 1
            owner = _short(functions[k][2]) if k >= 0 and o < functions[k][0] + functions[k][1] else "?"
            by_function[owner] += 1
            if function and not owner.endswith(function):
                continue
            k = bisect.bisect_right(addresses, o) - 1
            by_line[lines[k] if k >= 0 else "?"] += 1
            if k >= 0:
                by_insn[k] += 1
            n_lines += 1
        n = max(len(inside), 1)
        return {
            "scheme": scheme,
            "behaviour": behaviour,
            "replications": replications,
            "seconds": float((out / "seconds").read_text()),
            "samples": len(inside),
            "functions": {k: v / n for k, v in by_function.most_common()},
            "function": function,
            "lines": {k: v / max(n_lines, 1) for k, v in by_line.most_common()},
            # (address, line, instruction, share): where the samples land, for reading with a
            # disassembly (a sample often lands just after the instruction that stalled).
            "instructions": [
                (hex(addresses[k]), lines[k], texts[k], v / max(n_lines, 1)) for k, v in by_insn.most_common(200)
            ],
        }


def _source(location: str) -> str:
    """The text of ``file.py:line`` in ``src/incentsim/kernels`` (or ``''``)."""
    file, _, line = location.partition(":")
    path = ROOT / "src" / "incentsim" / "kernels" / file
    if not line.isdigit() or not path.exists():
        return ""
    text = path.read_text().splitlines()
    return text[int(line) - 1].strip() if int(line) <= len(text) else ""


def main(argv: list[str] | None = None) -> int:
    """Print the functions and the lines with the most samples."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf_lines", description=__doc__.splitlines()[0])
    ap.add_argument("--scheme", default="separate")
    ap.add_argument("--behaviour", choices=("fixed", "optimising"), default="fixed")
    ap.add_argument("--replications", type=int, default=6000)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--function", default="", help="lines of this function only (e.g. _choose_roles)")
    ap.add_argument("--instructions", type=int, default=0, help="also the N instructions with the most samples")
    a = ap.parse_args(argv)
    try:
        res = profile(a.scheme, a.behaviour, a.replications, a.function)
    except RuntimeError as exc:
        print(f"python -m benchmarks.perf_lines: {exc}", file=sys.stderr)
        return 2
    print(
        f"kernel samples, scheme {res['scheme']} ({res['behaviour']}), {res['replications']:,} replications, "
        f"1 thread, {res['seconds']:.2f} s, {res['samples']:,} samples at 4 kHz (perf cpu-clock)"
    )
    print("by function:")
    for name, share in list(res["functions"].items())[: a.top // 2]:
        print(f"  {100 * share:5.1f}%  {name}")
    within = f" within {res['function']}" if res["function"] else ""
    print(f"by source line{within} (the nearest line before the sampled instruction):")
    for loc, share in list(res["lines"].items())[: a.top]:
        print(f"  {100 * share:5.1f}%  {loc:<16} {_source(loc)[:90]}")
    if a.instructions:
        print(f"by instruction{within} (address, nearest line, instruction):")
        for address, loc, text, share in res["instructions"][: a.instructions]:
            print(f"  {100 * share:5.1f}%  {address:>8} {loc:<16} {text[:70]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
