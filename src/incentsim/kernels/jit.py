"""How the kernels' functions are compiled: the numba options, in one place.

- :data:`helper`, ``@njit(cache=True, _nrt=False)``: the small functions the kernels call in
  their hot loops (samplers, pay rules, pipeline forecasts, choices). They allocate nothing, so
  they need no reference counting, and numba's ``_nrt=False`` leaves out the atomic increment and
  decrement of every array they receive (of every member of a tuple of arrays: a call taking the
  compiled model and scheme touched about 60 reference counts). With reference counting, one
  rep's choice of the week cost about 1,700 CPU cycles and the simulation spent 70 % of its time
  in choices and forecasts; without it, 6 % (``python -m benchmarks.kernel_sections``).
- Functions that allocate (a replication's working arrays, the solver's tables) keep the default
  ``@njit(cache=True)``, and ``inline="always"`` is kept for the few one-line helpers whose call
  sites must see through them.

``_nrt`` is a numba target option (``numba.core.options``) that numba's public decorators do not
document; the project pins numba to a minor version range, and ``tests/test_kernel_jit.py`` fails
if the option or its effect ever goes away.
"""

from __future__ import annotations

from numba import njit

#: Decorator for kernel helpers that allocate nothing (see the module docstring).
helper = njit(cache=True, _nrt=False)
