"""Tier: how the kernels are compiled. The hot-loop helpers and the simulation kernel (the week's
stages inlined into it) are compiled without reference counting (``kernels.jit.helper``: numba's
``_nrt=False``; 70 % of the simulation's time went to counting references before), the working
arrays are allocated once per thread and started afresh by every replication, and a simulation
compiles its kernel once (a second integer type for the replication index compiled it twice and
doubled a first run's compile)."""

from __future__ import annotations

import numba
import pytest

from incentsim.kernels import dp, funnel, jit, pay, rng


def test_numba_still_has_the_option_the_helpers_rely_on():
    import numba.core.cpu

    assert hasattr(numba.core.cpu.CPUTargetOptions, "_nrt")
    assert callable(jit.helper)


@pytest.mark.parametrize(
    "fn",
    [funnel._simulate, funnel._reset, funnel._seed_streams, funnel._draw_abilities, funnel._start_pipeline,
     funnel._snapshot, funnel._choose_roles, funnel._choose_role, funnel._followup, funnel._measure, rng._binomial,
     rng._binomial_inversion, rng._binomial_btpe, rng._leave_advance, rng._poisson, rng._poisson_ptrs, rng._lognormal,
     pay._curve_at],
    ids=lambda f: f.py_func.__name__,
)  # fmt: skip
def test_hot_loop_helpers_count_no_references(fn):
    assert fn.targetoptions.get("_nrt") is False
    # The kernel is compiled once per machine; the helpers inside it (link-only) are not cached
    # on their own: their code is in the kernel's cache entry.
    assert (type(fn._cache).__name__ == "NullCache") == isinstance(fn, jit.KernelOnly)


@pytest.mark.parametrize(
    "fn",
    [funnel._reset, funnel._choose_roles, funnel._choose_role, funnel._followup, rng._leave_advance, rng._binomial,
     rng._poisson, rng._lognormal, pay._curve_at, dp._after_week, dp._expect_axis0, dp._push_axis0, dp._push_axis1, dp._fill3, dp._convolve, dp._panjer_on, dp._support_of],
    ids=lambda f: f.py_func.__name__,
)  # fmt: skip
def test_functions_only_kernels_call_build_no_python_entry_points(fn):
    """Their Python and C wrappers were compiled on every first run and never used (the helpers'
    lowering 16.3 -> 9.6 s); called from Python, they raise instead of crashing."""
    assert fn.targetoptions.get("no_cpython_wrapper") is True
    assert fn.targetoptions.get("no_cfunc_wrapper") is True
    assert isinstance(fn, jit.KernelOnly)
    assert fn.py_func.__qualname__ in jit._LINK_ONLY


def test_a_kernel_only_function_called_from_python_raises_and_names_itself():
    import numpy as np

    states = np.ones((1, 4), np.uint64)
    with pytest.raises(TypeError, match=r"incentsim\.kernels\.rng\._binomial is compiled for calls from compiled"):
        rng._binomial(states, 0, 10, 0.5)
    # ... and its compiled driver draws from it (the same numbers as inside the kernel).
    assert 0 <= rng._draw_one(3, states, 0, 10.0, 0.5) <= 10


def test_kernel_only_functions_are_compiled_link_only_into_the_kernels_that_call_them(tmp_path):
    """A kernel-only function's own library gets no module optimisation and no machine code (the
    kernel calling it optimises the linked IR and makes the machine code; the simulation kernel's
    first compile, median of 3 turns, 29.9 -> 28.8 s, ``benchmarks.compile_ab``). Fails
    without ``jit._link_only_libraries``: the function's own module would be added to numba's JIT
    engine (compiled to machine code).
    A fresh process with its own numba cache, so the functions compile here."""
    import subprocess
    import sys

    code = """
import numpy as np
from numba.core import codegen
added = []
add_module = codegen.JITCPUCodegen._add_module
codegen.JITCPUCodegen._add_module = lambda self, module: added.append(module.name) or add_module(self, module)
from incentsim.kernels import jit, rng
states = np.zeros((1, 4), np.uint64); states[0] = [11, 12, 13, 14]
draws = [rng._draw_one(3, states, 0, 40.0, 0.3) for _ in range(200)]   # Bin(40, 0.3): BTPE
assert 6 < sum(draws) / 200 < 18 and len(set(draws)) > 3, draws
btpe = next(iter(rng._binomial_btpe.overloads.values()))
assert jit._is_link_only(btpe.library)
assert "_draw_one" in added, added   # the driver's module, with the samplers' code linked in
assert not {"_binomial", "_binomial_btpe", "_binomial_inversion"} & set(added), added
print("ok")
"""
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_kernel_only_functions_are_internal_to_the_kernels_that_link_them(tmp_path):
    """numba links a kernel-only function into each kernel that calls it as ``linkonce_odr``; the
    kernel's module makes it internal (``jit._internalize_link_only``), so LLVM passes it only the
    fields it reads (the week's choices' call pushed 427 words before, 5.4 % of the samples) and
    inlines it where that pays. Fails without it: the samplers stay ``linkonce_odr`` and
    ``_binomial`` keeps its own definition in the driver. A fresh process with its own numba
    cache, so the driver compiles here and its LLVM IR is at hand."""
    import subprocess
    import sys

    code = """
import re
import numpy as np
from incentsim.kernels import jit, rng
states = np.zeros((1, 4), np.uint64); states[0] = [11, 12, 13, 14]
draws = [rng._draw_one(3, states, 0, 40.0, 0.3) for _ in range(200)]   # Bin(40, 0.3): BTPE
assert 6 < sum(draws) / 200 < 18 and len(set(draws)) > 3, draws
ir = next(iter(rng._draw_one.overloads.values())).library.get_llvm_str()
defined = {name: head for head, name in re.findall(r'^define ([^@]*)@"?([^("]+)', ir, re.M)}
helpers = {n: h for n, h in defined.items() if n.startswith(tuple(jit._LINK_ONLY.values()))}
assert any("_binomial_btpe" in n for n in helpers), sorted(defined)   # still called from two places
assert all(h.startswith("internal") for h in helpers.values()), helpers
assert not any("9_binomialB" in n for n in defined), sorted(defined)   # called once: inlined
print("ok")
"""
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_function_named_like_a_kernel_only_one_elsewhere_is_compiled_as_usual():
    # numba names a code library after the function's qualified name only; link-only is decided
    # by the symbol's module too, so this function keeps its machine code and runs from Python.
    from numba import njit

    def _binomial(n):
        return n + 1

    _binomial.__qualname__ = "_binomial"
    assert njit(_binomial)(41) == 42


def test_functions_python_calls_keep_their_entry_points():
    for fn in (pay._curve_many, dp._bellman, dp._forward, dp._panjer, dp._timing, funnel._simulate):
        assert not isinstance(fn, jit.KernelOnly)
        assert not fn.targetoptions.get("no_cpython_wrapper")


def test_the_solvers_kernels_allocate_nothing():
    # Their working arrays come from Python (``dp.bellman_work`` ...): allocating inside them made
    # numba compile numpy's allocation routines on every first run (about 1.3 s of the solver's
    # compile). Every compiled function of the module, entry points and helpers alike.
    import inspect

    from numba.core.registry import CPUDispatcher

    kernels = [f for f in vars(dp).values() if isinstance(f, CPUDispatcher)]
    assert {"_bellman", "_forward", "_timing", "_hold_pull_pmfs", "_increments_all", "_panjer", "_drag_steps"} <= {
        f.py_func.__name__ for f in kernels
    }
    for fn in kernels:
        src = inspect.getsource(fn.py_func)
        for call in ("np.zeros", "np.empty", "np.ones", "np.full", ".copy()", "np.array", "np.stack"):
            assert call not in src, (fn.py_func.__name__, call)
        # ... so they keep no reference counts (compiled inside the kernels, or the kernels themselves).
        assert fn.targetoptions.get("_nrt") is False or fn.targetoptions.get("inline") == "always", fn


def test_the_simulation_kernel_allocates_nothing():
    # Without reference counting, an array it created would leak or crash: its working arrays come
    # from the caller (``work_arrays``), numpy-allocated once per thread.
    import inspect

    src = inspect.getsource(funnel._simulate.py_func)
    for call in ("np.zeros", "np.empty", "np.ones", "np.full", ".copy()", "np.array"):
        assert call not in src, call


@pytest.mark.parametrize(
    "stage",
    [funnel._choices, funnel._team_lift, funnel._marketing_stages, funnel._hand_off, funnel._follow_up,
     funnel._self_prospect, funnel._pass_prospects, funnel._sales_stages, funnel._deals, funnel._record_week,
     funnel._pay_week, funnel._write_year],
    ids=lambda f: f.py_func.__name__,
)  # fmt: skip
def test_the_weeks_stages_are_documented_and_inlined(stage):
    # Called as functions, the stages cost the kernel 20-25 % (each call copies its arguments).
    assert stage.targetoptions.get("inline") == "always"
    assert len((stage.py_func.__doc__ or "").split()) >= 12


def test_a_replication_starts_from_the_arrays_as_allocated():
    """Seed 3: every working array filled with noise, then ``_reset``: each equals a fresh
    allocation exactly (a replication's results never depend on the one before it in a call)."""
    import numpy as np
    from conftest import small

    from incentsim import scenario_from_dict
    from incentsim.compile import compile_model, compile_scheme
    from incentsim.kernels.layout import N_P, N_Y
    from incentsim.kernels.rng import key_words, root_words

    sc = scenario_from_dict(small())
    model = compile_model(sc)
    sch = compile_scheme(sc, sc.schemes["shared"])
    root, prefix = root_words(3), key_words(())
    fresh = funnel.work_arrays(model, sch, root, prefix, N_Y, N_P)
    used = funnel.work_arrays(model, sch, root, prefix, N_Y, N_P)
    rng = np.random.default_rng(3)
    groups = used[5:]  # the Funnel, Pay, Week, Choice and Year tuples
    for group in groups:
        for arr in group:
            arr[...] = rng.integers(1, 9, size=arr.shape).astype(arr.dtype)
    reset = numba.njit(lambda a, b, c, d, e: funnel._reset(a, b, c, d, e))  # _reset has no Python entry point
    reset(*groups)
    for got, want in zip(groups, fresh[5:], strict=True):
        for name, a, b in zip(type(got)._fields, got, want, strict=True):
            assert np.array_equal(a, b), (type(got).__name__, name)


def test_a_simulation_compiles_its_replication_function_once(tmp_path):
    """Seed 1, 3 replications of the small scenario, fixed and optimising behaviour: numba's cache
    holds one compiled version of ``_simulate`` (a second integer type for an index, or a literal
    argument, would add a second one and recompile on a first run)."""
    import os
    from pathlib import Path

    from conftest import small

    from incentsim import scenario_from_dict
    from incentsim.simulation import simulate

    sc = scenario_from_dict(small(simulation={"replications": 3, "seed": 1, "behaviour": "fixed"}))
    simulate(sc, "shared", replications=3)
    simulate(sc, "separate", replications=3, behaviour="optimising")
    cache = Path(os.environ["NUMBA_CACHE_DIR"])
    for name in ("_simulate",):
        versions = list(cache.rglob(f"funnel.{name}-*.nbc"))
        assert len(versions) == 1, [v.name for v in versions]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_and_chunks_never_change_a_result(monkeypatch, threads):
    """Seed 5, 37 replications of the small scenario (optimising behaviour, so choices and deal
    timing run): split over 1, 2 or 3 threads in chunks of 7, every output array equals the
    one-thread, one-chunk run exactly (each replication is seeded from its global index, and each
    thread gets its own copy of the inputs)."""
    import numpy as np
    from conftest import small

    from incentsim import scenario_from_dict, simulation

    sc = scenario_from_dict(small(simulation={"replications": 37, "seed": 5, "behaviour": "optimising"}))
    monkeypatch.setattr(simulation, "_threads", lambda: 1)
    ref = simulation.simulate(sc, "shared", chunk=37, record_pipeline=True)
    monkeypatch.setattr(simulation, "_threads", lambda: threads)
    got = simulation.simulate(sc, "shared", chunk=7, record_pipeline=True)
    for name in ("year", "person", "month", "effort_week", "ability", "pipeline"):
        assert np.array_equal(getattr(ref, name), getattr(got, name)), name


def test_threads_take_units_in_turn_and_a_failure_reaches_the_caller(monkeypatch):
    """Seed 5, 40 replications of the small scenario in 2 threads, units of 3: progress hears every
    replication once, from the calling thread; a kernel call that fails in a worker thread raises
    in the caller (no hang) and no unit starts after it."""
    import threading

    import numpy as np
    from conftest import small

    from incentsim import scenario_from_dict, simulation

    sc = scenario_from_dict(small(simulation={"replications": 40, "seed": 5, "behaviour": "fixed"}))
    monkeypatch.setattr(simulation, "_threads", lambda: 2)
    heard, callers = [], set()

    def progress(n):
        heard.append(n)
        callers.add(threading.get_ident())

    ref = simulation.simulate(sc, "separate", chunk=40)
    got = simulation.simulate(sc, "separate", chunk=3, progress=progress)
    assert np.array_equal(ref.year, got.year) and sum(heard) == 40 and len(heard) == 14
    assert callers == {threading.get_ident()}

    real = simulation._kernel()
    calls = []

    def failing(*args):
        calls.append(args[9])  # first replication of the unit
        if len(calls) == 3:
            raise RuntimeError("kernel failed")
        real(*args)

    monkeypatch.setattr(simulation, "_kernel", lambda: failing)
    with pytest.raises(RuntimeError, match="kernel failed"):
        simulation.simulate(sc, "separate", chunk=3)
    assert len(calls) <= 6  # of 14 units: none starts after the failure (the other thread finishes its own)


def test_one_thread_reports_progress_after_every_unit(monkeypatch):
    """Seed 5, 40 replications of the small scenario on one thread in units of 3: progress is heard
    after each kernel call, before the next starts (a bar that moves, not one that jumps at the end)."""
    from conftest import small

    from incentsim import scenario_from_dict, simulation

    sc = scenario_from_dict(small(simulation={"replications": 40, "seed": 5, "behaviour": "fixed"}))
    monkeypatch.setattr(simulation, "_threads", lambda: 1)
    real = simulation._kernel()
    calls, seen = [], []

    def counting(*args):
        calls.append(args[9])
        real(*args)

    monkeypatch.setattr(simulation, "_kernel", lambda: counting)
    simulation.simulate(sc, "separate", chunk=3, progress=lambda n: seen.append(len(calls)))
    assert seen == list(range(1, 15)) and calls == list(range(0, 40, 3))


def test_numba_builds_its_discarded_typing_messages_without_colour():
    """A fresh process importing incentsim, then numba: numba's error highlighting is off (with it
    on, every typing template that did not match set up colorama's stream wrappers, about 0.5 s of
    a first compile), unless the user chose otherwise."""
    import os
    import subprocess
    import sys

    code = "import incentsim.simulation; from numba.core import errors; print(type(errors.termcolor()).__name__)"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "NOPColorScheme"
    pytest.importorskip("colorama")  # numba highlights only with colorama installed
    env["NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING"] = ""  # the user's own setting stands (empty: highlight)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "HighlightColorScheme"


_LOAD_SCRIPT = """
import hashlib, json, sys
sys.path.insert(0, {tests!r})
from conftest import small
from incentsim import scenario_from_dict
from incentsim.kernels import dp, funnel
from incentsim.model.policy import solve_policy
from incentsim.simulation import simulate

d = small()
d["simulation"]["behaviour"] = "optimising"
sc = scenario_from_dict(d)
solved = solve_policy(sc, "shared")  # the solver's kernels
r = simulate(sc, "shared", replications=20, seed=5, policy=solved.policy)
print(json.dumps({{
    "year": hashlib.sha256(r.year.tobytes()).hexdigest(),
    "policy": hashlib.sha256(solved.policy.sales.choice.tobytes()).hexdigest(),
    "refreshed": "numba.np.linalg" in sys.modules,
    "loaded": sum(funnel._simulate._cache_hits.values()) + sum(dp._bellman._cache_hits.values()),
    "compiled": sum(funnel._simulate._cache_misses.values()) + sum(dp._bellman._cache_misses.values()),
}}))
"""


def test_cached_kernels_load_without_numbas_registry_refresh(tmp_path):
    """Seed 5, 20 replications of the small scenario, optimising: a process that finds the
    simulation and solver kernels in numba's cache loads them without importing numba's
    compile-time registries (0.7 s of every warm command), and gets the same policy and results,
    bit for bit, as a process that compiled or loaded them before."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = _LOAD_SCRIPT.format(tests=str(Path(__file__).parent))
    runs = []
    for i in range(2):
        env = dict(os.environ, INCENTSIM_CACHE_DIR=str(tmp_path / f"policies-{i}"))  # solve in each run
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert second["loaded"] == 2 and second["compiled"] == 0
    assert second["refreshed"] is False
    assert (second["year"], second["policy"]) == (first["year"], first["policy"])


_WARM_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from conftest import small
from incentsim import scenario_from_dict
from incentsim.kernels import funnel
from incentsim.simulation import simulate

sc = scenario_from_dict(small())
simulate(sc, "shared", replications=20, seed=5)
from numba.np.ufunc import parallel
print(json.dumps({{
    "loaded": sum(funnel._simulate._cache_hits.values()),
    "array_module": "numba.np.arrayobj" in sys.modules,
    "inliner": "numba.core.inline_closurecall" in sys.modules,
    "thread_pool": parallel._is_initialized,
}}))
"""


def test_a_warm_simulation_imports_no_compile_time_numba_and_starts_no_numba_threads():
    """Seed 5, 20 replications of the small scenario, fixed behaviour, in a fresh process that
    finds the kernel in numba's cache (the second of two runs): loading it imports neither numba's
    array module (a kernel calling ``ndarray.fill`` or a reshape did: 30-40 ms of every run) nor its
    inliner, and the run starts none of numba's threads (reading ``numba.get_num_threads`` did:
    30 ms; the kernels run in Python threads, ``incentsim.threads``)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = _WARM_SCRIPT.format(tests=str(Path(__file__).parent))
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True,
                             check=True)  # fmt: skip
    warm = json.loads(out.stdout.strip().splitlines()[-1])
    assert warm == {"loaded": 1, "array_module": False, "inliner": False, "thread_pool": False}


def test_the_thread_count_is_set_per_calling_thread_and_restored():
    """``incentsim.threads``: the count set in one thread is not another's; ``thread_count_set``
    restores what was set before; a count that is not a positive integer is refused."""
    import threading

    from incentsim import threads

    default = threads.default_thread_count()
    before = threads.thread_count()  # (the default, unless a caller in this thread set one)
    with threads.thread_count_set(1):
        assert threads.thread_count() == 1
        seen = []
        t = threading.Thread(target=lambda: seen.append(threads.thread_count()))
        t.start()
        t.join()
        assert seen == [default] and default >= 1
        with threads.thread_count_set(3):
            assert threads.thread_count() == 3
        assert threads.thread_count() == 1
    assert threads.thread_count() == before
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="thread count"):
            threads.set_thread_count(bad)


def test_inlining_copies_a_functions_scope_once():
    """numba's inliner (patched by ``kernels.jit._copy_blocks_once``) copies a callee's blocks with
    one memo: every block of the copy refers to one scope (numba's own copy made one per block),
    and an inlined function gives the same results. Deterministic."""
    from numba import njit
    from numba.core import inline_closurecall as ic
    from numba.core import ir

    import incentsim.kernels.jit as jit

    assert getattr(ic.InlineWorker, "_incentsim_shared_memo", False)
    scopes = []
    real = ic.InlineWorker.inline_ir

    def spying(self, caller_ir, block, i, callee_ir, *args, **kwargs):
        out = real(self, caller_ir, block, i, callee_ir, *args, **kwargs)
        scopes.append({id(b.scope) for b in out[0].blocks.values()})
        return out

    @njit(inline="always")
    def callee(x):
        total = 0.0
        for k in range(x):
            if k % 3 == 0:
                total += k
            else:
                total -= 0.5
        return total

    @njit
    def caller(x):
        return callee(x) + callee(x + 1)

    try:
        ic.InlineWorker.inline_ir = spying
        assert caller(10) == callee.py_func(10) + callee.py_func(11)
    finally:
        ic.InlineWorker.inline_ir = real
    assert len(scopes) == 2 and all(len(s) == 1 for s in scopes)
    assert isinstance(jit._SharedMemoCopy(ir.Block).deepcopy([1]), list)
