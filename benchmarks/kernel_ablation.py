"""Where the kernel's bookkeeping time goes: the kernel timed with parts of it cut out.

The kernel's source (``incentsim/kernels/funnel.py``) is copied into a temporary module with one
or more of its blocks removed (for example the ``# -- pay`` section), compiled (``cache=False``)
and run through ``simulate`` (``incentsim.simulation._kernel`` is swapped for the variant's
``_simulate`` for the call, so the arguments are always the ones ``simulate`` passes). The
removed blocks draw no random numbers, so every variant makes the same draws; the time a removal
saves is what that block costs. Results of the variants are wrong by design; only their time is
used. Nothing in ``src/`` is modified.

``python -m benchmarks.kernel_ablation`` prints the table (about a minute: each variant compiles).
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import incentsim  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)

#: Removable blocks: name -> (header substring, substring of the next non-blank line or "").
#: A header starting with "# --" removes the kernel section up to the next "# --" section at the
#: same indentation (or the end of the week loop); another comment header removes the lines up to
#: the next comment at its indentation (or the end of the enclosing block); any other header
#: removes the statement's indented block.
BLOCKS: dict[str, tuple[str, str]] = {
    "pay (measures, period ends, true-up, ratchet)": ("# -- pay", ""),
    "company metrics (weekly sums into the year row)": ("# -- company metrics", ""),
    "year-end rows (writing the outputs)": ("# -- year end", ""),
    "per-rep person metrics (weekly, recorded years)": ("if rec:", "person[r, P_BOOKINGS]"),
    "deal-timing checks (no draws under fixed behaviour)": ("if cs_p >= 0:", "first_week"),
    "margin ring buffer and per-rep sums": ("# Margin is recognised", ""),
}

#: Variants timed: name -> blocks removed.
VARIANTS: dict[str, tuple[str, ...]] = {
    "full kernel (recompiled copy)": (),
    **{f"without {k}": (k,) for k in list(BLOCKS)[:5]},
    "without all six (only the draws and their loops left)": tuple(BLOCKS),
}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def remove_block(lines: list[str], header: str, next_contains: str = "") -> list[str]:
    """Lines with one block removed (see :data:`BLOCKS`); ``ValueError`` if it is not found."""
    for i, line in enumerate(lines):
        if header not in line:
            continue
        if next_contains:
            nxt = next((ln for ln in lines[i + 1 :] if ln.strip()), "")
            if next_contains not in nxt:
                continue
        ind = _indent(line)
        j = i + 1
        section = line.strip().startswith("# --")
        comment = line.strip().startswith("#") and not section
        while comment and j < len(lines) and lines[j].strip().startswith("#"):
            j += 1  # the header comment's continuation lines
        while j < len(lines):
            ln = lines[j]
            if ln.strip():
                if section and (_indent(ln) < ind or (_indent(ln) == ind and ln.strip().startswith("# --"))):
                    break
                if comment and (_indent(ln) < ind or (_indent(ln) == ind and ln.strip().startswith("#"))):
                    break
                if not section and not comment and _indent(ln) <= ind:
                    break
            j += 1
        return lines[:i] + [" " * ind + "pass  # (removed for timing)"] + lines[j:]
    raise ValueError(f"block {header!r} not found in the kernel source")


def variant_source(removed: tuple[str, ...]) -> str:
    """The kernel's source with the named blocks removed, importable from any folder."""
    from incentsim.kernels import funnel

    src = Path(funnel.__file__).read_text()
    src = re.sub(r"from \.(\w+) import", r"from incentsim.kernels.\1 import", src)
    src = src.replace("cache=True", "cache=False")
    lines = src.splitlines()
    for name in removed:
        header, nxt = BLOCKS[name]
        lines = remove_block(lines, header, nxt)
    return "\n".join(lines) + "\n"


def load_variant(removed: tuple[str, ...], folder: Path, tag: str):
    """Import a variant as a fresh module (compiled on first call)."""
    path = folder / f"_ablated_{tag}.py"
    path.write_text(variant_source(removed))
    spec = importlib.util.spec_from_file_location(f"_ablated_{tag}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@contextlib.contextmanager
def kernel(simulate_fn) -> Iterator[None]:
    """Make ``incentsim.simulation.simulate`` call ``simulate_fn`` instead of the real kernel."""
    from incentsim import simulation

    saved = simulation._kernel
    simulation._kernel = lambda: simulate_fn
    try:
        yield
    finally:
        simulation._kernel = saved


def run(replications: int = 2000, repeat: int = 3, threads: int | None = 1, behaviour: str = "fixed") -> dict:
    """Time every variant in turns (best of ``repeat``), on ``threads`` threads.

    Returns
    -------
    dict
        ``variants``: name -> seconds per replication; ``saved``: name -> share of the full
        kernel's time the removal saves; ``replications``, ``threads``, ``behaviour``.
    """
    from . import harness as H

    sc = H.scenario()
    if behaviour != "fixed":
        H.solved()
    mods = {}
    with tempfile.TemporaryDirectory(prefix="incentsim-ablation-") as tmp:
        for k, (name, removed) in enumerate(VARIANTS.items()):
            mods[name] = load_variant(removed, Path(tmp), str(k))
        cases = {}
        for name, mod in mods.items():

            def fn(mod=mod, n=replications):
                with kernel(mod._simulate):
                    return H.run_kernel(sc, n, behaviour)

            def warm(mod=mod):
                with kernel(mod._simulate):
                    return H.run_kernel(sc, 16, behaviour)

            cases[name] = (fn, threads, warm)
        timings = H.interleaved(cases, repeat)
    full = timings["full kernel (recompiled copy)"][0].best
    return {
        "replications": replications,
        "threads": threads,
        "behaviour": behaviour,
        "variants": {k: t.best / replications for k, (t, _v) in timings.items()},
        "saved": {k: 1.0 - t.best / full for k, (t, _v) in timings.items()},
    }


def main() -> None:
    """Print the table."""
    res = run()
    print(f"kernel variants, {res['replications']} replications, {res['threads']} thread(s), best of 3:")
    for name, per in res["variants"].items():
        print(f"  {name:58s} {per * 1e6:8.1f} us/replication  saves {100 * res['saved'][name]:5.1f}%")


if __name__ == "__main__":
    main()
