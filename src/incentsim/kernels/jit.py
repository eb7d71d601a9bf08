"""How the kernels' functions are compiled: the numba options, in one place.

- :data:`helper`, ``@njit(cache=True, _nrt=False)``: the small functions the kernels call in
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
  per replication against 484-485 / 506-508 / 580-609).
- Functions that allocate (a replication's working arrays, the solver's tables) keep the default
  ``@njit(cache=True)``, and ``inline="always"`` is kept for one-line helpers (a uniform, a
  rotation) and for small functions read in one hot loop (a person's choice, one rep's pipeline),
  whose call would cost more than their body.

``_nrt`` is a numba target option (``numba.core.options``) that numba's public decorators do not
document; the project pins numba to a minor version range, and ``tests/test_kernel_jit.py`` fails
if the option goes away or a helper loses it.
"""

from __future__ import annotations

from numba import njit

#: Decorator for kernel helpers that allocate nothing (see the module docstring).
helper = njit(cache=True, _nrt=False)

#: Decorator for the simulation's stages (a week's steps of the funnel, each called once a week
#: from the week loop of :func:`incentsim.kernels.funnel._simulate`): inlined by numba into it
#: (compiled without reference counts, like a :data:`helper`), so that naming the stages costs no
#: calls. Called as functions, they made the kernel 20-25 % slower (each call copies its
#: arguments: the compiled model alone has ~40 fields); inlined by LLVM instead
#: (``forceinline``), the first compile took three times as long.
stage = njit(cache=True, inline="always")
