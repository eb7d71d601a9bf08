"""How the kernels' functions are compiled: the numba options, in one place.

- :data:`helper`, ``@njit(_nrt=False)``, link-only (below): the small functions the kernels call in
  their hot loops (samplers, pay rules, pipeline forecasts, choices). They allocate nothing, so
  they need no reference counting, and numba's ``_nrt=False`` leaves out the atomic increment and
  decrement of every array they receive (of every member of a tuple of arrays: a call taking the
  compiled model and scheme touched about 60 reference counts). With reference counting, one
  rep's choice of the week cost about 1,700 CPU cycles and the simulation spent 70 % of its time
  in choices and forecasts; without it, and with the forecasts computed once a week, 25 % of a
  replication that takes a third of the cycles (``python -m benchmarks.kernel_sections``).
- The samplers that dispatch between methods (``_binomial``, ``_poisson``, ``_leave_advance``,
  ``_followup``) are helpers too, compiled once, not inlined (``inline="always"``) at every call
  site: each inlined copy was optimised again in every function that contains it, and the cold
  compile of the simulation took 86 s; with one copy each, 55 s, and the kernel runs 3-6 % faster
  (1 thread, bundled scenario, ``separate`` / ``shared`` / ``hybrid`` 463-470 / 474-476 / 550-551 us
  per replication against 484-485 / 506-508 / 580-609). Inlining ``_leave_advance`` and
  ``_followup`` was tried again on 2026-11-30 (the kernel 4-6 % faster, its compile about 1.5 s
  longer); once the follow-up's usual week ran inline (``funnel._follow_items``) the gain was gone.
- No kernel allocates: the simulation's working arrays and the solver's (``dp.bellman_work`` ...)
  come from Python, so the kernels and the solver's inner steps keep no reference counts either
  (``_nrt=False``); numba then compiles none of numpy's allocation routines on a first run (the
  solver's compile and calibration, median of 4 in turns: 19.8 -> 17.0 s). ``inline="always"`` is
  kept for one-line helpers (a uniform, a rotation) and for small functions read in one hot loop
  (a person's choice, one rep's pipeline), whose call would cost more than their body.

- Functions only compiled code calls (:data:`helper`, and the solver's inner steps,
  :data:`inner`) are compiled without the two entry points numba otherwise builds for every
  function: the wrapper that converts Python arguments (``no_cpython_wrapper``; for a helper
  taking the compiled model, ~40 arrays to unbox) and the C-callable one (``no_cfunc_wrapper``).
  Each was lowered and optimised by LLVM on a first run, and never used: the cold compile of the
  simulation kernel's helpers spent 16.3 s in lowering with them and 9.6 s without (the whole
  kernel 60-68 s -> 54-57 s, one process, empty numba cache, measured in turns). Calling such a
  function from Python raises ``TypeError`` (:class:`KernelOnly`) instead of jumping to an entry
  point that does not exist; tests call them through compiled drivers (``rng._draw_one``).
  :data:`entry_helper` is a helper that Python also calls (``pay._curve_many``).
- Those functions are also compiled *link-only* (:func:`_link_only_libraries`): numba optimises
  their IR and makes machine code of it only inside the kernels that call them, not once more on
  their own. The simulation kernel's compile from an empty cache took 25-32 s (median 28.8)
  against 30-38 s (median 29.9), the solver's unchanged (``python -m benchmarks.compile_ab``, in
  turns); a first ``compare`` 39-42 s against 44-47 s (two turns); results bit-identical.
  Inside a kernel's module they are internal (:func:`_internalize_link_only`): LLVM passes each
  only the argument fields it reads, in registers (the week's choices' call copied ~430 words a
  week), and inlines the ones it finds worth it.

``_nrt`` is a numba target option (``numba.core.options``) that numba's public decorators do not
document, as are ``no_cpython_wrapper`` and ``no_cfunc_wrapper`` (numba uses them for its own
``@overload`` implementations); the project pins numba to a minor version range, and
``tests/test_kernel_jit.py`` fails if the options go away or a helper loses them.
"""

from __future__ import annotations

import copy as _copy

from numba import njit
from numba.core import codegen as _codegen
from numba.core.itanium_mangler import mangle_identifier
from numba.core.registry import CPUDispatcher

from .._numba_env import when_imported

#: The functions compiled link-only (:func:`_kernel_only`): numba builds their LLVM IR, and only
#: the kernels that call them optimise it and make machine code of it. By qualified name (which
#: numba names a function's code library after), the start of their symbols' mangled names
#: (module and qualified name: a function of the same name elsewhere is compiled as usual).
_LINK_ONLY: dict[str, str] = {}


def _is_link_only(library) -> bool:
    prefix = _LINK_ONLY.get(library.name)
    if prefix is None:
        return False
    return any(f.name.startswith(prefix) for f in library._final_module.functions if not f.is_declaration)


class KernelOnly(CPUDispatcher):
    """A numba dispatcher compiled without a Python entry point: compiled code calls it, Python
    cannot (a call would jump to a wrapper that was never built; it raises instead)."""

    def __call__(self, *args, **kwargs):
        """Raise ``TypeError``: compiled code calls this function, Python cannot."""
        raise TypeError(
            f"{self.py_func.__module__}.{self.py_func.__qualname__} is compiled for calls from compiled "
            "kernels only (no Python entry point: incentsim.kernels.jit); call it from an @njit function"
        )


def _kernel_only(decorator):
    """``decorator`` (an ``njit(...)``), then the result marked :class:`KernelOnly` and compiled
    link-only (:func:`_link_only_libraries`). Under ``NUMBA_DISABLE_JIT=1`` numba returns the plain
    function, which stays callable."""

    def wrap(fn):
        dispatcher = decorator(fn)
        if isinstance(dispatcher, CPUDispatcher):
            dispatcher.__class__ = KernelOnly
            # numba's symbol for module.qualname: _ZN<len><part>...<abi tags>E<argument types>
            _LINK_ONLY[fn.__qualname__] = "_Z" + mangle_identifier(f"{fn.__module__}.{fn.__qualname__}")[:-1]
        return dispatcher

    return wrap


def _internalize_link_only(module) -> None:
    """Give the link-only functions linked into a kernel's module internal linkage.

    numba links a helper's IR into every kernel that calls it as a ``linkonce_odr`` definition
    (one a linker may merge with another module's), so LLVM keeps its calling convention: every
    argument array passed field by field (data pointer, shape, strides, and the fields nothing
    reads), on the stack. The call of the week's choices
    (:func:`incentsim.kernels.funnel._choose_roles`, about 30 arrays and two policies) pushed 427
    words every week, 5.4 % of the simulation's samples (``python -m benchmarks.perf_lines``).
    Nothing outside the kernel refers to a link-only function (it has no entry point), so within
    the kernel's module it is internal: LLVM drops the arguments it never reads, passes the rest
    in registers (1.7 % of the samples now), inlines a helper where that pays (``_binomial`` in
    ``rng._draw_one``), and drops one it has inlined everywhere. What each helper computes is
    unchanged: the results are bit-identical.
    """
    prefixes = tuple(_LINK_ONLY.values())
    if not prefixes:
        return
    for fn in module.functions:
        if not fn.is_declaration and fn.name.startswith(prefixes):
            fn.linkage = "internal"


def _link_only_libraries() -> None:
    """Compile the kernel-only functions' code libraries to LLVM IR only.

    numba finishes every compiled function's library on its own: the whole module pipeline at
    ``-O3`` and machine code. A kernel that calls the function then links the function's IR into
    its own module and runs the module pipeline again over all of it (that is how numba lets
    LLVM inline across functions), and makes its own machine code. For a function only kernels
    call, its own optimised module and machine code are never used. numba compiles its
    ``@overload`` implementations this way (``BaseContext.compile_subroutine``: ``no_compile``);
    a dispatcher cannot ask for it, so numba's library class skips both steps for the functions
    marked here. Their per-function passes still run, so the IR a kernel links is the same as
    before its module passes; the kernels' results are bit-identical. Such a library is never
    written to numba's disk cache (it holds no machine code): the kernels that call it are, with
    its code inside.
    """
    cls = _codegen.CPUCodeLibrary
    needed = (
        (cls, "_optimize_final_module"), (cls, "_finalize_final_module"), (cls, "_finalize_dynamic_globals"),
        (cls, "_verify_declare_only_symbols"), (_codegen.JITCPUCodegen, "set_env"),
    )  # fmt: skip
    if getattr(cls, "_incentsim_link_only", False) or not all(hasattr(c, name) for c, name in needed):
        # (another numba than the pinned range, whose internals moved: every function is then
        # compiled in full, as numba does by default; slower to compile, same results)
        return
    optimize_final_module = cls._optimize_final_module
    finalize_final_module = cls._finalize_final_module

    def _optimize(self):
        if not _is_link_only(self):
            _internalize_link_only(self._final_module)
            optimize_final_module(self)

    def _finalize(self):
        if not _is_link_only(self):
            finalize_final_module(self)
            return
        # What numba's own finalisation checks, without adding the module to the JIT engine:
        # its symbols stay undefined (the Python entry point's address is 0; KernelOnly).
        self._finalize_dynamic_globals()
        self._verify_declare_only_symbols()
        self._finalized = True

    cls._optimize_final_module = _optimize
    cls._finalize_final_module = _finalize
    cls._incentsim_link_only = True

    codegen_cls = _codegen.JITCPUCodegen
    set_env = codegen_cls.set_env

    def _set_env(self, env_name, env):
        # numba stores the address of a function's environment (its Python objects, used by its
        # Python entry point) in the function's module once it is compiled; a link-only module is
        # never compiled, and its functions have no Python entry point.
        if self._engine.get_global_value_address(env_name):
            set_env(self, env_name, env)

    codegen_cls.set_env = _set_env


_link_only_libraries()


class _SharedMemoCopy:
    """numba's ``copy`` module as :meth:`numba.core.inline_closurecall.InlineWorker.inline_ir`
    sees it (:func:`_copy_blocks_once`): a block is deep-copied with one memo per function (per
    scope), so what the function's blocks share is copied once."""

    def __init__(self, ir_block) -> None:
        self._block = ir_block
        self._memos: dict[int, dict] = {}

    def deepcopy(self, x, memo=None):
        if memo is None and isinstance(x, self._block):
            memo = self._memos.setdefault(id(x.scope), {})
        return _copy.deepcopy(x, memo)

    def __getattr__(self, name):
        return getattr(_copy, name)


def _copy_blocks_once(ic) -> None:
    """Make numba's inlining copy a function's IR in time linear in its size.

    To inline a function (``inline="always"``: the stages, the samplers' one-line steps), numba
    deep-copies the callee's IR twice per call site, block by block with a fresh memo for each
    block. Every block refers to the function's one scope, which holds every variable of the
    function, so each block's copy copied the whole scope again: quadratic in the function's size.
    The copies' scopes were then told apart by comparing them field by field (they are equal, and
    numba keeps one). Here the blocks of one function share a memo: the scope is copied once, and
    every block's copy refers to it, as the original blocks refer to theirs. The inlined IR is the
    same; the simulation kernel's first compile does less work. (numba 0.68, the pinned range,
    copies this way; another numba, whose inliner moved, is left as it is: slower to compile, same
    results.)

    ``ic`` is ``numba.core.inline_closurecall``, patched when numba first imports it (a compile):
    importing it here would cost a warm command 40 ms of numba's array module.
    """
    from numba.core import ir

    worker = getattr(ic, "InlineWorker", None)
    if worker is None or getattr(worker, "_incentsim_shared_memo", False) or getattr(ic, "copy", None) is not _copy:
        return
    inline_ir = worker.inline_ir

    def _inline_ir(self, *args, **kwargs):
        before = ic.copy
        ic.copy = _SharedMemoCopy(ir.Block)
        try:
            return inline_ir(self, *args, **kwargs)
        finally:
            ic.copy = before

    worker.inline_ir = _inline_ir
    worker._incentsim_shared_memo = True


def _untyped_ir_once(ic) -> None:
    """Make numba's inliner run a function's untyped passes once per compile options, not once per
    call site.

    For each call of an ``inline="always"`` function, numba ran the whole untyped pipeline on the
    callee (bytecode to IR, its own inlining, rewrites) and inlined a copy of the result; the
    samplers' one-line steps are inlined at dozens of sites (``_rotl`` 28 times in the simulation
    kernel). The pipeline's result depends on the function and the caller's compile options only,
    and the inliner copies it before changing anything, so it is kept and reused. Each use gets a
    new function identity, as a fresh run gives: the inliner names the callee's variables after
    it, so two sites' variables stay apart.
    """
    import inspect

    from numba.core.bytecode import FunctionIdentity

    worker = getattr(ic, "InlineWorker", None)
    if worker is None or getattr(worker, "_incentsim_untyped_once", False) or not hasattr(worker, "run_untyped_passes"):
        return
    expected = ["self", "caller_ir", "block", "i", "function", "arg_typs"]
    if list(inspect.signature(worker.inline_function).parameters) != expected:
        return  # (another numba's inliner: left as it is)
    run_untyped_passes = worker.run_untyped_passes
    kept: dict = {}

    def _inline_function(self, caller_ir, block, i, function, arg_typs=None):
        key = (function, repr(self.flags))
        callee_ir = kept.get(key)
        if callee_ir is None:
            callee_ir = kept[key] = run_untyped_passes(self, function)
        else:
            self.flags.enable_ssa = False  # (as a fresh run leaves the caller's options)
            callee_ir.func_id = FunctionIdentity.from_function(function)
        return self.inline_ir(caller_ir, block, i, callee_ir, function.__code__.co_freevars, arg_typs=arg_typs)

    worker.inline_function = _inline_function
    worker._incentsim_untyped_once = True


def _faster_inlining(ic) -> None:
    """Both inliner changes, each applied only where numba's inliner is as expected."""
    _copy_blocks_once(ic)
    _untyped_ir_once(ic)


when_imported("numba.core.inline_closurecall", _faster_inlining)


_NO_ENTRY_POINTS = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}

#: Decorator for kernel helpers that allocate nothing and only compiled code calls (see the
#: module docstring).
helper = _kernel_only(njit(_nrt=False, **_NO_ENTRY_POINTS))

#: A :data:`helper` that Python calls too (it keeps numba's Python entry point).
entry_helper = njit(cache=True, _nrt=False)

#: Decorator for the solver's inner steps (``kernels.dp``): only its kernels call them. Like the
#: kernels, they allocate nothing (their working arrays come from Python), so they keep no
#: reference counts either.
inner = _kernel_only(njit(_nrt=False, **_NO_ENTRY_POINTS))

#: Decorator for one-line helpers (a uniform, a rotation) and small functions read in one hot loop
#: (a person's choice, one rep's pipeline): numba inlines their IR into every caller, so they are
#: never compiled on their own and need no disk cache. (``cache=True`` made numba set up a cache
#: for each at import, checking and writing its folder: 0.6 ms a function, 20 ms of every command.)
inlined = njit(inline="always")

#: Decorator for the simulation's stages (a week's steps of the funnel, each called once a week
#: from the week loop of :func:`incentsim.kernels.funnel._simulate`): inlined by numba into it
#: (compiled without reference counts, like a :data:`helper`), so that naming the stages costs no
#: calls. Called as functions, they made the kernel 20-25 % slower (each call copies its
#: arguments: the compiled model alone has ~40 fields); inlined by LLVM instead
#: (``forceinline``), the first compile took three times as long.
stage = inlined
