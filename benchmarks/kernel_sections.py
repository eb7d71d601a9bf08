"""Where the simulation kernel's time goes: CPU cycles per stage of the week, measured in the kernel.

The kernel's source (``incentsim/kernels/funnel.py``) is copied into a temporary module in which
every stage of the replication's week (each call of a stage function in the week loop of
``_simulate``: ``_choices``, ``_marketing_stages``, ...) is preceded by a read of the CPU's
cycle counter (LLVM's ``readcyclecounter``), so the cycles from one stage to the next are the
stage's (with the loop's bookkeeping between them). The copy runs serially (one thread) through ``simulate`` (``incentsim.simulation._kernel``
is swapped for the copy's ``_simulate`` during the call). Nothing in ``src/`` is modified, and the
copy draws the same numbers as the kernel, so its results equal the kernel's.

``python -m benchmarks.kernel_sections [--scheme shared] [--replications 2000]`` prints the table
(a minute or two: the copy compiles). The counter ticks at the processor's base frequency.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
import time
from pathlib import Path

import incentsim  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)

_COUNTER = '''
from numba.core import cgutils as _cgutils
from numba.core import types as _types
from numba.core.extending import intrinsic as _intrinsic
from llvmlite import ir as _ir


@_intrinsic
def _cycles(typingctx):
    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.IntType(64), [])
        fn = _cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return _types.uint64(), codegen
'''

#: The functions the week loop calls: each call opens a section (the lines after it, up to the
#: next call, count in its section).
_STAGE_CALL = re.compile(
    r"\b(_choices|_team_lift|_marketing_stages|_hand_off|_follow_up|_self_prospect|_pass_prospects|_sales_stages"
    r"|_deals|_record_week|_snapshot|_pay_week|_write_year|_start_scales)\("
)


def instrumented_source() -> tuple[str, list[str]]:
    """The kernel's source with a cycle read before each stage of the week.

    Returns
    -------
    (str, list of str)
        The module's source, and the section names (index 0: the replication's start).
    """
    from incentsim.kernels import funnel

    src = Path(funnel.__file__).read_text()
    src = re.sub(r"from \.(\w+) import", r"from incentsim.kernels.\1 import", src)
    src = src.replace("@njit(cache=True, nogil=True, _nrt=False)\ndef _simulate(", "@njit(cache=False, _nrt=False)\ndef _simulate(")
    out: list[str] = []
    names = ["start of the replication (seeding, abilities, pipeline)"]
    in_rep = in_loop = False
    for line in src.splitlines():
        if line.startswith("def _simulate("):
            in_rep = True
        elif line.startswith("def ") or line.startswith("@"):
            in_rep = in_loop = False
        text = line.strip()
        if in_rep and text.startswith("for t in range(n_years * WEEKS):"):
            in_loop = True
        call = _STAGE_CALL.search(text) if in_loop and not text.startswith("#") else None
        if call:
            ind = " " * (len(line) - len(text))
            name = call.group(1)
            if name not in names:
                names.append(name)
            out.append(f"{ind}_now = _cycles(); prof[_last] += _now - _tick; _tick = _now; _last = {names.index(name)}")
        out.append(line)
        if in_rep and text.startswith("rep = np.int64(first_rep) + i"):  # a replication starts
            out.append("        _tick = _cycles()\n        _last = 0")
    src = "\n".join(out) + "\n"
    src = src.replace("import numpy as np\n", "import numpy as np\n" + _COUNTER, 1)
    src = src.replace("out_effort_week, out_ability, out_pipe,\n):", "out_effort_week, out_ability, out_pipe, prof,\n):")
    if src.count("prof,") != 1 or len(names) < 12:  # the signature; the stages found
        raise RuntimeError("the kernel's structure changed: update benchmarks/kernel_sections.py")
    return src, names


def run(scheme: str = "shared", replications: int = 2000, behaviour: str = "optimising") -> dict:
    """Cycles per replication by stage, on one thread: optimising behaviour (policy solved first)
    or fixed (``behaviour="fixed"``, as the benchmark report's kernel and random-number bound).

    Returns
    -------
    dict
        ``scheme``, ``behaviour``, ``replications``, ``seconds_per_replication`` (wall, instrumented),
        ``cycles_per_replication`` and ``stages``: name -> cycles per replication.
    """
    import numpy as np

    from incentsim import simulation

    from . import harness as H

    src, names = instrumented_source()
    sc = H.scenario()
    how = {"behaviour": "fixed"} if behaviour == "fixed" else {"policy": H.solved(scheme).policy}
    with tempfile.TemporaryDirectory(prefix="incentsim-sections-") as tmp:
        path = Path(tmp) / "_sections_kernel.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location("_sections_kernel", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        prof = np.zeros(len(names), dtype=np.uint64)
        saved = simulation._kernel, simulation._threads
        simulation._kernel = lambda: (lambda *a: mod._simulate(*a, prof))
        simulation._threads = lambda: 1  # one thread: the counters are not shared safely
        try:
            simulation.simulate(sc, scheme, replications=8, **how)
            prof[:] = 0
            t = time.perf_counter()
            simulation.simulate(sc, scheme, replications=replications, chunk=replications, **how)
            wall = time.perf_counter() - t
        finally:
            simulation._kernel, simulation._threads = saved
    stages: dict[str, float] = {}  # a step that opens at two places counts once
    for k, name in enumerate(names):
        stages[name] = stages.get(name, 0.0) + float(prof[k]) / replications
    return {
        "scheme": scheme,
        "behaviour": behaviour,
        "replications": replications,
        "seconds_per_replication": wall / replications,
        "cycles_per_replication": float(prof.sum()) / replications,
        "stages": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
    }


def main(argv: list[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", default="shared")
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--behaviour", choices=("optimising", "fixed"), default="optimising")
    a = parser.parse_args(argv)
    res = run(a.scheme, a.replications, a.behaviour)
    tot = res["cycles_per_replication"]
    print(
        f"kernel stages, scheme {res['scheme']} ({res['behaviour']}), {res['replications']:,} replications, 1 thread: "
        f"{res['seconds_per_replication'] * 1e6:.0f} us and {tot:,.0f} cycles per replication (instrumented)"
    )
    for name, cyc in res["stages"].items():
        print(f"  {100 * cyc / tot:5.1f}%  {cyc:12,.0f} cycles  {name}")


if __name__ == "__main__":
    main()
